//! Per-user API tokens. Only a hash of each token is stored (the caller hashes); the token
//! itself is shown once, when it is made.

use sqlx::Row;

use crate::{Store, StoreError, UserId, now_ms};

/// A token as its owner's settings page lists it.
#[derive(Debug, Clone)]
pub struct ApiToken {
    pub id: i64,
    pub name: String,
    /// The token's first characters, to tell tokens apart.
    pub prefix: String,
    pub created_at: i64,
    pub last_used_at: Option<i64>,
}

impl Store {
    /// Stores a new token for `user`.
    pub async fn create_api_token(
        &self,
        user: UserId,
        name: &str,
        token_hash: &str,
        prefix: &str,
    ) -> Result<i64, StoreError> {
        let row = sqlx::query(
            "INSERT INTO api_tokens (user_id, name, token_hash, prefix, created_at) \
             VALUES ($1, $2, $3, $4, $5) RETURNING id",
        )
        .bind(user.0)
        .bind(name)
        .bind(token_hash)
        .bind(prefix)
        .bind(now_ms())
        .fetch_one(self.pool())
        .await?;
        Ok(row.try_get("id")?)
    }

    /// A user's tokens, newest first.
    pub async fn api_tokens(&self, user: UserId) -> Result<Vec<ApiToken>, StoreError> {
        let rows = sqlx::query(
            "SELECT id, name, prefix, created_at, last_used_at FROM api_tokens \
             WHERE user_id = $1 ORDER BY id DESC",
        )
        .bind(user.0)
        .fetch_all(self.pool())
        .await?;
        rows.iter()
            .map(|row| {
                Ok(ApiToken {
                    id: row.try_get("id")?,
                    name: row.try_get("name")?,
                    prefix: row.try_get("prefix")?,
                    created_at: row.try_get("created_at")?,
                    last_used_at: row.try_get("last_used_at")?,
                })
            })
            .collect()
    }

    /// Revokes one of the user's tokens; false when the user has no such token.
    pub async fn revoke_api_token(&self, user: UserId, id: i64) -> Result<bool, StoreError> {
        let done = sqlx::query("DELETE FROM api_tokens WHERE id = $1 AND user_id = $2")
            .bind(id)
            .bind(user.0)
            .execute(self.pool())
            .await?;
        Ok(done.rows_affected() == 1)
    }

    /// The user a token (by hash) acts for. Its last use is recorded at most once a minute,
    /// so API reads do not each become a write.
    pub async fn user_for_api_token(&self, token_hash: &str) -> Result<Option<UserId>, StoreError> {
        let Some(row) =
            sqlx::query("SELECT id, user_id, last_used_at FROM api_tokens WHERE token_hash = $1")
                .bind(token_hash)
                .fetch_optional(self.pool())
                .await?
        else {
            return Ok(None);
        };
        let now = now_ms();
        let last: Option<i64> = row.try_get("last_used_at")?;
        if last.is_none_or(|at| now - at > 60_000) {
            sqlx::query("UPDATE api_tokens SET last_used_at = $1 WHERE id = $2")
                .bind(now)
                .bind(row.try_get::<i64, _>("id")?)
                .execute(self.pool())
                .await?;
        }
        Ok(Some(UserId(row.try_get("user_id")?)))
    }
}
