//! Vidpress storage: connection pools for SQLite (the default) and PostgreSQL, migrations, the
//! queries every other crate uses, and the durable job queue. Nothing here knows HTTP or templates.
//!
//! One set of SQL serves both databases through sqlx's `Any` driver: times are stored as
//! milliseconds since the epoch, ids as 64-bit integers, JSON as text.

pub mod api_tokens;
pub mod channels;
mod db;
pub mod draft_edits;
mod error;
pub mod exports;
pub mod library;
pub mod queue;
pub mod scratch;
pub mod sessions;
pub mod stats;
pub mod subscriptions;
#[cfg(feature = "test-support")]
pub mod testing;
mod users;
pub mod videos;
pub mod workers;

pub use db::{Backend, Store, StoreOptions, redact_url};
pub use error::StoreError;
pub use queue::{
    ClaimedJob, Job, JobId, JobState, LeaseStatus, NewJob, QueueStats, Retry, RetryPolicy,
};
pub use users::{AccountError, User, UserId};
pub use videos::{
    MediaSource, NewDraft, StoredDraft, StoredTranscript, Video, VideoKey, VideoState,
};
pub use workers::{NewWorker, WorkerId, WorkerJob, WorkerState, WorkerStatus};

pub use db::Transaction;
/// A connection callers pass to functions that must run inside their transaction.
pub use sqlx::AnyConnection;

/// Milliseconds since the Unix epoch, the time unit of every stored timestamp.
pub fn now_ms() -> i64 {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    i64::try_from(now.as_millis()).unwrap_or(i64::MAX)
}
