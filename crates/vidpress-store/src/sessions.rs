//! Dashboard sessions, stored in the database so any web node can answer any request. Rows are
//! keyed by a hash of the cookie's session id (the caller hashes), and carry the signed-in user
//! so a password reset can end that user's sessions.

use sqlx::Row;

use crate::users::user_from_row;
use crate::{Store, StoreError, User, UserId, now_ms};

/// A stored session.
#[derive(Debug, Clone)]
pub struct StoredSession {
    /// The session's data as JSON text.
    pub data: String,
    /// Epoch milliseconds.
    pub expires_at: i64,
    /// The account signed in with it, read in the same query (every dashboard request needs
    /// both).
    pub user: Option<User>,
}

impl Store {
    /// Inserts a new session; false when the key is taken (the caller picks another id).
    pub async fn create_session(
        &self,
        key: &str,
        user: Option<UserId>,
        data: &str,
        expires_at: i64,
    ) -> Result<bool, StoreError> {
        let inserted = sqlx::query(
            "INSERT INTO sessions (id_hash, user_id, data, expires_at) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (id_hash) DO NOTHING",
        )
        .bind(key)
        .bind(user.map(|u| u.0))
        .bind(data)
        .bind(expires_at)
        .execute(self.pool())
        .await?;
        Ok(inserted.rows_affected() == 1)
    }

    /// Inserts or replaces a session.
    pub async fn save_session(
        &self,
        key: &str,
        user: Option<UserId>,
        data: &str,
        expires_at: i64,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO sessions (id_hash, user_id, data, expires_at) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (id_hash) DO UPDATE SET user_id = excluded.user_id, data = excluded.data, \
             expires_at = excluded.expires_at",
        )
        .bind(key)
        .bind(user.map(|u| u.0))
        .bind(data)
        .bind(expires_at)
        .execute(self.pool())
        .await?;
        Ok(())
    }

    /// A session that has not expired.
    pub async fn load_session(&self, key: &str) -> Result<Option<StoredSession>, StoreError> {
        let row = sqlx::query(
            "SELECT s.data, s.expires_at, u.id, u.email, u.is_admin, u.time_zone, u.password_hash \
             FROM sessions s LEFT JOIN users u ON u.id = s.user_id \
             WHERE s.id_hash = $1 AND s.expires_at > $2",
        )
        .bind(key)
        .bind(now_ms())
        .fetch_optional(self.pool())
        .await?;
        row.map(|row| {
            let user = match row.try_get::<Option<i64>, _>("id")? {
                Some(_) => Some(user_from_row(&row)?),
                None => None,
            };
            Ok(StoredSession {
                data: row.try_get("data")?,
                expires_at: row.try_get("expires_at")?,
                user,
            })
        })
        .transpose()
    }

    /// Deletes a session (sign-out, or the old id after a new one is issued).
    pub async fn delete_session(&self, key: &str) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM sessions WHERE id_hash = $1")
            .bind(key)
            .execute(self.pool())
            .await?;
        Ok(())
    }

    /// Deletes expired sessions; returns how many.
    pub async fn delete_expired_sessions(&self) -> Result<u64, StoreError> {
        let done = sqlx::query("DELETE FROM sessions WHERE expires_at <= $1")
            .bind(now_ms())
            .execute(self.pool())
            .await?;
        Ok(done.rows_affected())
    }
}
