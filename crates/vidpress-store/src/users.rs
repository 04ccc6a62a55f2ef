//! Accounts. Every channel, video and draft belongs to one user.

use sqlx::Row;

use crate::{Store, StoreError, now_ms};

/// A user's database id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct UserId(pub i64);

/// An account.
#[derive(Debug, Clone)]
pub struct User {
    pub id: UserId,
    pub email: String,
}

impl Store {
    /// Returns the user with this email, creating it (without a password) when absent.
    /// The command line acts as this user before the dashboard's sign-up exists.
    pub async fn ensure_user(&self, email: &str) -> Result<User, StoreError> {
        sqlx::query(
            "INSERT INTO users (email, created_at) VALUES ($1, $2) ON CONFLICT (email) DO NOTHING",
        )
        .bind(email)
        .bind(now_ms())
        .execute(self.pool())
        .await?;
        let row = sqlx::query("SELECT id, email FROM users WHERE email = $1")
            .bind(email)
            .fetch_one(self.pool())
            .await?;
        Ok(User {
            id: UserId(row.try_get("id")?),
            email: row.try_get("email")?,
        })
    }
}
