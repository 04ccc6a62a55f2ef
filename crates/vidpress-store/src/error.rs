//! The store's error type.

/// What went wrong talking to the database.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The database could not be reached or opened; the URL is shown without its password.
    #[error("could not connect to the database at {url}: {source}")]
    Connect {
        url: String,
        #[source]
        source: sqlx::Error,
    },
    /// The database URL names a database Vidpress does not support.
    #[error("unsupported database URL `{0}`: use sqlite://PATH or postgres://USER@HOST/DB")]
    UnsupportedUrl(String),
    /// Applying migrations failed.
    #[error("failed to apply database migrations: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    /// A query failed.
    #[error("database error: {0}")]
    Query(#[from] sqlx::Error),
    /// A stored value could not be read back (corrupt row or unknown enum value).
    #[error("stored data is invalid: {0}")]
    Corrupt(String),
    /// The job's lease is no longer held by this worker (it expired, or the job was cancelled).
    #[error("job {0} is no longer leased by this worker")]
    LeaseLost(i64),
    /// No row with that id.
    #[error("{0} not found")]
    NotFound(String),
}
