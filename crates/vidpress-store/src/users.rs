//! Accounts. Every channel, video and draft belongs to one user. The first account with a
//! password is the admin; the command line and the configured API token act for the operator
//! account (`owner_email`, or the admin once the first run has claimed it).

use sqlx::Row;
use sqlx::any::AnyRow;

use crate::{Store, StoreError, now_ms};

/// A user's database id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub struct UserId(pub i64);

/// An account.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct User {
    pub id: UserId,
    pub email: String,
    pub is_admin: bool,
    /// An IANA time zone name, `UTC` by default; times are shown in it.
    pub time_zone: String,
    /// False for the operator account the command line created, until a password is set.
    pub has_password: bool,
}

/// What [`Store::create_user`] and friends refuse.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AccountError {
    /// Another account has this email.
    EmailTaken,
    /// An account with a password exists: the first-run setup is over.
    AlreadySetUp,
}

const USER_COLUMNS: &str = "id, email, is_admin, time_zone, password_hash";

pub(crate) fn user_from_row(row: &AnyRow) -> Result<User, StoreError> {
    let hash: Option<String> = row.try_get("password_hash")?;
    Ok(User {
        id: UserId(row.try_get("id")?),
        email: row.try_get("email")?,
        is_admin: row.try_get::<i64, _>("is_admin")? != 0,
        time_zone: row.try_get("time_zone")?,
        has_password: hash.is_some(),
    })
}

impl Store {
    /// Returns the user with this email, creating it (without a password) when absent.
    pub async fn ensure_user(&self, email: &str) -> Result<User, StoreError> {
        sqlx::query(
            "INSERT INTO users (email, created_at) VALUES ($1, $2) ON CONFLICT (email) DO NOTHING",
        )
        .bind(email)
        .bind(now_ms())
        .execute(self.pool())
        .await?;
        self.user_by_email(email)
            .await?
            .ok_or_else(|| StoreError::NotFound(format!("user {email}")))
    }

    /// The account the command line and the configured API token act for: the one with
    /// `owner_email`; when the first run renamed it, the admin; else a new passwordless account.
    pub async fn operator_user(&self, owner_email: &str) -> Result<User, StoreError> {
        if let Some(user) = self.user_by_email(owner_email).await? {
            return Ok(user);
        }
        let admin = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {USER_COLUMNS} FROM users WHERE is_admin = 1 ORDER BY id LIMIT 1"
        )))
        .fetch_optional(self.pool())
        .await?;
        match admin {
            Some(row) => user_from_row(&row),
            None => self.ensure_user(owner_email).await,
        }
    }

    /// One account by id.
    pub async fn user(&self, id: UserId) -> Result<Option<User>, StoreError> {
        let row = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {USER_COLUMNS} FROM users WHERE id = $1"
        )))
        .bind(id.0)
        .fetch_optional(self.pool())
        .await?;
        row.as_ref().map(user_from_row).transpose()
    }

    /// One account by email (emails are stored lower-cased by the callers).
    pub async fn user_by_email(&self, email: &str) -> Result<Option<User>, StoreError> {
        let row = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {USER_COLUMNS} FROM users WHERE email = $1"
        )))
        .bind(email)
        .fetch_optional(self.pool())
        .await?;
        row.as_ref().map(user_from_row).transpose()
    }

    /// The stored password hash of an account, for signing in.
    pub async fn password_hash(&self, email: &str) -> Result<Option<(User, String)>, StoreError> {
        let row = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {USER_COLUMNS} FROM users WHERE email = $1 AND password_hash IS NOT NULL"
        )))
        .bind(email)
        .fetch_optional(self.pool())
        .await?;
        row.map(|row| Ok((user_from_row(&row)?, row.try_get("password_hash")?)))
            .transpose()
    }

    /// True until some account has a password: the dashboard then offers the first-run setup.
    pub async fn needs_first_account(&self) -> Result<bool, StoreError> {
        let row = sqlx::query("SELECT COUNT(*) AS n FROM users WHERE password_hash IS NOT NULL")
            .fetch_one(self.pool())
            .await?;
        Ok(row.try_get::<i64, _>("n")? == 0)
    }

    /// Creates the first account, the admin. The passwordless operator account (`owner_email`)
    /// becomes it, so what the command line and the API token made so far is the admin's; its
    /// email becomes `email`. Refused once any account has a password.
    pub async fn create_first_account(
        &self,
        owner_email: &str,
        email: &str,
        password_hash: &str,
    ) -> Result<Result<User, AccountError>, StoreError> {
        let mut tx = self.begin().await?;
        let set_up = sqlx::query("SELECT COUNT(*) AS n FROM users WHERE password_hash IS NOT NULL")
            .fetch_one(&mut *tx)
            .await?;
        if set_up.try_get::<i64, _>("n")? > 0 {
            return Ok(Err(AccountError::AlreadySetUp));
        }
        let taken = sqlx::query("SELECT id FROM users WHERE email = $1 AND email <> $2")
            .bind(email)
            .bind(owner_email)
            .fetch_optional(&mut *tx)
            .await?;
        if taken.is_some() {
            return Ok(Err(AccountError::EmailTaken));
        }
        let updated = sqlx::query(
            "UPDATE users SET email = $1, password_hash = $2, is_admin = 1 WHERE email = $3 RETURNING id",
        )
        .bind(email)
        .bind(password_hash)
        .bind(owner_email)
        .fetch_optional(&mut *tx)
        .await?;
        let id: i64 = match updated {
            Some(row) => row.try_get("id")?,
            None => sqlx::query(
                "INSERT INTO users (email, password_hash, is_admin, created_at) VALUES ($1, $2, 1, $3) RETURNING id",
            )
            .bind(email)
            .bind(password_hash)
            .bind(now_ms())
            .fetch_one(&mut *tx)
            .await?
            .try_get("id")?,
        };
        tx.commit().await?;
        let user = self
            .user(UserId(id))
            .await?
            .ok_or_else(|| StoreError::NotFound(format!("user {id}")))?;
        Ok(Ok(user))
    }

    /// Creates an account with a password (sign-up, `vidpress user add`). A passwordless
    /// account with this email (the operator's) gets the password instead.
    pub async fn create_user(
        &self,
        email: &str,
        password_hash: &str,
    ) -> Result<Result<User, AccountError>, StoreError> {
        let claimed = sqlx::query(
            "UPDATE users SET password_hash = $1 WHERE email = $2 AND password_hash IS NULL RETURNING id",
        )
        .bind(password_hash)
        .bind(email)
        .fetch_optional(self.pool())
        .await?;
        if claimed.is_none() {
            let inserted = sqlx::query(
                "INSERT INTO users (email, password_hash, created_at) VALUES ($1, $2, $3) \
                 ON CONFLICT (email) DO NOTHING RETURNING id",
            )
            .bind(email)
            .bind(password_hash)
            .bind(now_ms())
            .fetch_optional(self.pool())
            .await?;
            if inserted.is_none() {
                return Ok(Err(AccountError::EmailTaken));
            }
        }
        Ok(Ok(self.user_by_email(email).await?.ok_or_else(|| {
            StoreError::NotFound(format!("user {email}"))
        })?))
    }

    /// Sets an account's password and ends all its sessions. Returns false for an unknown email.
    pub async fn set_password(&self, email: &str, password_hash: &str) -> Result<bool, StoreError> {
        let mut tx = self.begin().await?;
        let row = sqlx::query("UPDATE users SET password_hash = $1 WHERE email = $2 RETURNING id")
            .bind(password_hash)
            .bind(email)
            .fetch_optional(&mut *tx)
            .await?;
        let Some(row) = row else {
            return Ok(false);
        };
        let id: i64 = row.try_get("id")?;
        sqlx::query("DELETE FROM sessions WHERE user_id = $1")
            .bind(id)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(true)
    }

    /// Sets the time zone an account's times are shown in (an IANA name, checked by the caller).
    pub async fn set_time_zone(&self, user: UserId, time_zone: &str) -> Result<(), StoreError> {
        sqlx::query("UPDATE users SET time_zone = $1 WHERE id = $2")
            .bind(time_zone)
            .bind(user.0)
            .execute(self.pool())
            .await?;
        Ok(())
    }
}
