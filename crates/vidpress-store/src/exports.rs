//! Connections to WordPress and Ghost sites, and exports of drafts to them. Secrets arrive and
//! leave sealed (the caller seals and opens them); nothing here sees one in the clear. Every
//! function a user's request reaches takes the owner and filters by it.

use sqlx::Row;
use sqlx::any::AnyRow;
use vidpress_core::JobKind;

use crate::queue::{self, NewJob};
use crate::{JobId, Store, StoreError, UserId, now_ms};

/// The kind of site a connection posts to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConnectionKind {
    WordPress,
    Ghost,
}

impl ConnectionKind {
    /// `wordpress` or `ghost`.
    pub fn as_str(self) -> &'static str {
        match self {
            ConnectionKind::WordPress => "wordpress",
            ConnectionKind::Ghost => "ghost",
        }
    }

    /// Parses `wordpress` or `ghost`.
    pub fn parse(s: &str) -> Option<ConnectionKind> {
        match s.trim().to_ascii_lowercase().as_str() {
            "wordpress" | "wp" => Some(ConnectionKind::WordPress),
            "ghost" => Some(ConnectionKind::Ghost),
            _ => None,
        }
    }

    /// `WordPress` or `Ghost`, for people.
    pub fn label(self) -> &'static str {
        match self {
            ConnectionKind::WordPress => "WordPress",
            ConnectionKind::Ghost => "Ghost",
        }
    }
}

/// A stored connection. Its secret stays sealed.
#[derive(Clone)]
pub struct Connection {
    pub id: i64,
    pub user_id: UserId,
    pub kind: ConnectionKind,
    pub name: String,
    pub url: String,
    /// WordPress: the account the Application Password belongs to.
    pub username: Option<String>,
    /// The secret, sealed with the server's key.
    pub sealed_secret: String,
    pub created_at: i64,
    pub tested_at: Option<i64>,
    pub test_ok: Option<bool>,
    pub test_message: Option<String>,
}

impl std::fmt::Debug for Connection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Connection")
            .field("id", &self.id)
            .field("kind", &self.kind)
            .field("name", &self.name)
            .field("url", &self.url)
            .field("username", &self.username)
            .finish_non_exhaustive()
    }
}

/// A connection to add.
#[derive(Clone, Copy)]
pub struct NewConnection<'a> {
    pub kind: ConnectionKind,
    pub name: &'a str,
    pub url: &'a str,
    pub username: Option<&'a str>,
    pub sealed_secret: &'a str,
}

/// Where an export stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExportState {
    /// Waiting for a worker.
    Queued,
    /// A worker is sending it.
    Running,
    /// The remote has the post.
    Succeeded,
    /// It failed; the message says why.
    Failed,
}

impl ExportState {
    pub fn as_str(self) -> &'static str {
        match self {
            ExportState::Queued => "queued",
            ExportState::Running => "running",
            ExportState::Succeeded => "succeeded",
            ExportState::Failed => "failed",
        }
    }

    fn parse(s: &str) -> Result<ExportState, StoreError> {
        Ok(match s {
            "queued" => ExportState::Queued,
            "running" => ExportState::Running,
            "succeeded" => ExportState::Succeeded,
            "failed" => ExportState::Failed,
            other => return Err(StoreError::Corrupt(format!("export state `{other}`"))),
        })
    }

    /// Whether an export is under way.
    pub fn is_active(self) -> bool {
        matches!(self, ExportState::Queued | ExportState::Running)
    }
}

/// One draft on one connection: the latest export and the remote post it left.
#[derive(Debug, Clone)]
pub struct Export {
    pub id: i64,
    pub user_id: UserId,
    pub draft_id: i64,
    pub connection_id: i64,
    pub connection_name: String,
    pub connection_kind: ConnectionKind,
    /// `draft`, `publish` or `schedule`.
    pub post_status: String,
    /// For `schedule`: when the remote publishes the post (ms since the epoch, UTC).
    pub publish_at: Option<i64>,
    pub state: ExportState,
    pub job_id: Option<JobId>,
    pub remote_id: Option<String>,
    pub remote_url: Option<String>,
    pub remote_updated_at: Option<String>,
    /// The uploaded image, as JSON the exporter wrote.
    pub remote_image: Option<String>,
    pub message: Option<String>,
    pub requested_at: i64,
    pub exported_at: Option<i64>,
}

/// What a finished export leaves on its row.
#[derive(Debug, Clone, Copy)]
pub struct ExportDone<'a> {
    pub remote_id: &'a str,
    pub remote_url: &'a str,
    pub remote_updated_at: Option<&'a str>,
    pub remote_image: Option<&'a str>,
    pub message: Option<&'a str>,
}

/// What asking for an export did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ExportRequest {
    /// Queued as this export row and job.
    Queued { export_id: i64, job_id: JobId },
    /// An export of this draft to this connection is already queued or running.
    AlreadyRunning { export_id: i64 },
}

const CONNECTION_COLUMNS: &str = "id, user_id, kind, name, url, username, sealed_secret, \
     created_at, tested_at, test_ok, test_message";

fn connection_from_row(row: &AnyRow) -> Result<Connection, StoreError> {
    let kind: String = row.try_get("kind")?;
    Ok(Connection {
        id: row.try_get("id")?,
        user_id: UserId(row.try_get("user_id")?),
        kind: ConnectionKind::parse(&kind)
            .ok_or_else(|| StoreError::Corrupt(format!("connection kind `{kind}`")))?,
        name: row.try_get("name")?,
        url: row.try_get("url")?,
        username: row.try_get("username")?,
        sealed_secret: row.try_get("sealed_secret")?,
        created_at: row.try_get("created_at")?,
        tested_at: row.try_get("tested_at")?,
        test_ok: row.try_get::<Option<i64>, _>("test_ok")?.map(|v| v != 0),
        test_message: row.try_get("test_message")?,
    })
}

const EXPORT_COLUMNS: &str = "e.id, e.user_id, e.draft_id, e.connection_id, c.name AS connection_name, \
     c.kind AS connection_kind, e.post_status, e.publish_at, e.state, e.job_id, e.remote_id, e.remote_url, \
     e.remote_updated_at, e.remote_image, e.message, e.requested_at, e.exported_at";

fn export_from_row(row: &AnyRow) -> Result<Export, StoreError> {
    let kind: String = row.try_get("connection_kind")?;
    let state: String = row.try_get("state")?;
    Ok(Export {
        id: row.try_get("id")?,
        user_id: UserId(row.try_get("user_id")?),
        draft_id: row.try_get("draft_id")?,
        connection_id: row.try_get("connection_id")?,
        connection_name: row.try_get("connection_name")?,
        connection_kind: ConnectionKind::parse(&kind)
            .ok_or_else(|| StoreError::Corrupt(format!("connection kind `{kind}`")))?,
        post_status: row.try_get("post_status")?,
        publish_at: row.try_get("publish_at")?,
        state: ExportState::parse(&state)?,
        job_id: row.try_get::<Option<i64>, _>("job_id")?.map(JobId),
        remote_id: row.try_get("remote_id")?,
        remote_url: row.try_get("remote_url")?,
        remote_updated_at: row.try_get("remote_updated_at")?,
        remote_image: row.try_get("remote_image")?,
        message: row.try_get("message")?,
        requested_at: row.try_get("requested_at")?,
        exported_at: row.try_get("exported_at")?,
    })
}

impl Store {
    /// Adds a connection; `None` when the user already has one of that name.
    pub async fn create_connection(
        &self,
        user: UserId,
        new: &NewConnection<'_>,
    ) -> Result<Option<i64>, StoreError> {
        if self.connection_by_name(user, new.name).await?.is_some() {
            return Ok(None);
        }
        let row = sqlx::query(
            "INSERT INTO connections (user_id, kind, name, url, username, sealed_secret, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
        )
        .bind(user.0)
        .bind(new.kind.as_str())
        .bind(new.name)
        .bind(new.url)
        .bind(new.username)
        .bind(new.sealed_secret)
        .bind(now_ms())
        .fetch_one(self.pool())
        .await?;
        Ok(Some(row.try_get("id")?))
    }

    /// A user's connections, by name.
    pub async fn connections(&self, user: UserId) -> Result<Vec<Connection>, StoreError> {
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {CONNECTION_COLUMNS} FROM connections WHERE user_id = $1 ORDER BY name, id"
        )))
        .bind(user.0)
        .fetch_all(self.pool())
        .await?;
        rows.iter().map(connection_from_row).collect()
    }

    /// One of the user's connections; `None` when it does not exist or is someone else's.
    pub async fn connection_for_user(
        &self,
        user: UserId,
        id: i64,
    ) -> Result<Option<Connection>, StoreError> {
        let row = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {CONNECTION_COLUMNS} FROM connections WHERE id = $1 AND user_id = $2"
        )))
        .bind(id)
        .bind(user.0)
        .fetch_optional(self.pool())
        .await?;
        row.as_ref().map(connection_from_row).transpose()
    }

    /// One of the user's connections by name.
    pub async fn connection_by_name(
        &self,
        user: UserId,
        name: &str,
    ) -> Result<Option<Connection>, StoreError> {
        let row = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {CONNECTION_COLUMNS} FROM connections WHERE name = $1 AND user_id = $2"
        )))
        .bind(name)
        .bind(user.0)
        .fetch_optional(self.pool())
        .await?;
        row.as_ref().map(connection_from_row).transpose()
    }

    /// Records the outcome of a connection test.
    pub async fn record_connection_test(
        &self,
        user: UserId,
        id: i64,
        ok: bool,
        message: &str,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE connections SET tested_at = $1, test_ok = $2, test_message = $3 \
             WHERE id = $4 AND user_id = $5",
        )
        .bind(now_ms())
        .bind(i64::from(ok))
        .bind(message)
        .bind(id)
        .bind(user.0)
        .execute(self.pool())
        .await?;
        Ok(())
    }

    /// Removes one of the user's connections (and its export records); false when there was none.
    pub async fn delete_connection(&self, user: UserId, id: i64) -> Result<bool, StoreError> {
        let mut tx = self.begin().await?;
        sqlx::query("DELETE FROM exports WHERE connection_id = $1 AND user_id = $2")
            .bind(id)
            .bind(user.0)
            .execute(&mut *tx)
            .await?;
        let done = sqlx::query("DELETE FROM connections WHERE id = $1 AND user_id = $2")
            .bind(id)
            .bind(user.0)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(done.rows_affected() == 1)
    }

    /// Queues an export of the user's draft to the user's connection, keeping the remote post
    /// of earlier exports; refuses while one is already queued or running. The caller has
    /// checked that both belong to `user`.
    pub async fn request_export(
        &self,
        user: UserId,
        draft_id: i64,
        connection_id: i64,
        post_status: &str,
        publish_at: Option<i64>,
        max_attempts: u32,
    ) -> Result<ExportRequest, StoreError> {
        let mut tx = self.begin().await?;
        let existing = sqlx::query(
            "SELECT id, state FROM exports WHERE draft_id = $1 AND connection_id = $2 AND user_id = $3",
        )
        .bind(draft_id)
        .bind(connection_id)
        .bind(user.0)
        .fetch_optional(&mut *tx)
        .await?;
        let now = now_ms();
        let export_id = match existing {
            Some(row) => {
                let id: i64 = row.try_get("id")?;
                let state: String = row.try_get("state")?;
                if ExportState::parse(&state)?.is_active() {
                    return Ok(ExportRequest::AlreadyRunning { export_id: id });
                }
                id
            }
            None => {
                let row = sqlx::query(
                    "INSERT INTO exports (user_id, draft_id, connection_id, post_status, state, \
                     requested_at) VALUES ($1, $2, $3, $4, 'queued', $5) RETURNING id",
                )
                .bind(user.0)
                .bind(draft_id)
                .bind(connection_id)
                .bind(post_status)
                .bind(now)
                .fetch_one(&mut *tx)
                .await?;
                row.try_get("id")?
            }
        };
        let job_id = queue::enqueue(
            &mut tx,
            &NewJob::new(
                JobKind::Export,
                serde_json::json!({ "export_id": export_id }),
            )
            .max_attempts(max_attempts),
        )
        .await?;
        sqlx::query(
            "UPDATE exports SET state = 'queued', post_status = $1, publish_at = $2, job_id = $3, \
             message = NULL, requested_at = $4 WHERE id = $5",
        )
        .bind(post_status)
        .bind(publish_at)
        .bind(job_id.0)
        .bind(now)
        .bind(export_id)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(ExportRequest::Queued { export_id, job_id })
    }

    /// An export by id (for the worker).
    pub async fn export(&self, id: i64) -> Result<Option<Export>, StoreError> {
        let row = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {EXPORT_COLUMNS} FROM exports e JOIN connections c ON c.id = e.connection_id \
             WHERE e.id = $1"
        )))
        .bind(id)
        .fetch_optional(self.pool())
        .await?;
        row.as_ref().map(export_from_row).transpose()
    }

    /// One of the user's exports.
    pub async fn export_for_user(
        &self,
        user: UserId,
        id: i64,
    ) -> Result<Option<Export>, StoreError> {
        Ok(self.export(id).await?.filter(|e| e.user_id == user))
    }

    /// The exports of one of the user's drafts, by connection name.
    pub async fn exports_for_draft(
        &self,
        user: UserId,
        draft_id: i64,
    ) -> Result<Vec<Export>, StoreError> {
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {EXPORT_COLUMNS} FROM exports e JOIN connections c ON c.id = e.connection_id \
             WHERE e.draft_id = $1 AND e.user_id = $2 ORDER BY c.name, e.id"
        )))
        .bind(draft_id)
        .bind(user.0)
        .fetch_all(self.pool())
        .await?;
        rows.iter().map(export_from_row).collect()
    }

    /// The user's exports, latest first.
    pub async fn exports_for_user(&self, user: UserId) -> Result<Vec<Export>, StoreError> {
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {EXPORT_COLUMNS} FROM exports e JOIN connections c ON c.id = e.connection_id \
             WHERE e.user_id = $1 ORDER BY e.requested_at DESC, e.id DESC"
        )))
        .bind(user.0)
        .fetch_all(self.pool())
        .await?;
        rows.iter().map(export_from_row).collect()
    }

    /// Marks an export as being sent, with a message (e.g. a retry's reason).
    pub async fn set_export_state(
        &self,
        id: i64,
        state: ExportState,
        message: Option<&str>,
    ) -> Result<(), StoreError> {
        sqlx::query("UPDATE exports SET state = $1, message = $2 WHERE id = $3")
            .bind(state.as_str())
            .bind(message)
            .bind(id)
            .execute(self.pool())
            .await?;
        Ok(())
    }

    /// Records a finished export on the caller's transaction (with the job's completion).
    pub async fn finish_export(
        conn: &mut sqlx::AnyConnection,
        id: i64,
        done: &ExportDone<'_>,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE exports SET state = 'succeeded', remote_id = $1, remote_url = $2, \
             remote_updated_at = $3, remote_image = $4, message = $5, exported_at = $6 WHERE id = $7",
        )
        .bind(done.remote_id)
        .bind(done.remote_url)
        .bind(done.remote_updated_at)
        .bind(done.remote_image)
        .bind(done.message)
        .bind(now_ms())
        .bind(id)
        .execute(&mut *conn)
        .await?;
        Ok(())
    }
}
