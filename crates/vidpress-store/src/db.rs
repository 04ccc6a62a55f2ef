//! Opening the database: backend detection from the URL, pool settings, migrations.

use std::ops::{Deref, DerefMut};
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use sqlx::any::{AnyPoolOptions, install_default_drivers};
use sqlx::{AnyConnection, AnyPool, Executor};
use tokio::sync::{Mutex, OwnedMutexGuard};

use crate::StoreError;

static SQLITE_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("../../migrations/sqlite");
static POSTGRES_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("../../migrations/postgres");

/// Which database a [`Store`] talks to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// A single SQLite file in WAL mode: one machine, nothing to install.
    Sqlite,
    /// PostgreSQL: many web nodes and workers share it.
    Postgres,
}

/// Pool settings.
#[derive(Debug, Clone)]
pub struct StoreOptions {
    /// Most connections the pool opens.
    pub max_connections: u32,
    /// How long to wait for a connection before giving up.
    pub connect_timeout: Duration,
}

impl Default for StoreOptions {
    fn default() -> Self {
        Self {
            max_connections: 16,
            connect_timeout: Duration::from_secs(10),
        }
    }
}

/// A handle on the database. Cheap to clone; every clone shares one pool.
#[derive(Debug, Clone)]
pub struct Store {
    pool: AnyPool,
    backend: Backend,
    /// SQLite has one writer at a time, and a writer that finds the lock taken sleeps in
    /// growing steps (up to 100 ms) before trying again. Transactions of one process queue
    /// here instead, in order, so concurrent writers hand the lock on at once.
    write_gate: Option<Arc<Mutex<()>>>,
}

/// How long [`Store::begin`] waits its turn on SQLite before going ahead anyway (SQLite's own
/// busy timeout then applies), so a transaction opened while the same task holds another can
/// never wait forever.
const GATE_TIMEOUT: Duration = Duration::from_secs(10);

/// A transaction opened by [`Store::begin`]; it derefs to the connection that queries take.
/// Dropped without [`Transaction::commit`], it rolls back.
#[derive(Debug)]
pub struct Transaction {
    // Declared first: dropped (rolled back) before the gate opens for the next writer.
    tx: sqlx::Transaction<'static, sqlx::Any>,
    _turn: Option<OwnedMutexGuard<()>>,
}

impl Transaction {
    /// Commits the transaction.
    pub async fn commit(self) -> Result<(), sqlx::Error> {
        self.tx.commit().await
    }

    /// Rolls the transaction back.
    pub async fn rollback(self) -> Result<(), sqlx::Error> {
        self.tx.rollback().await
    }
}

impl Deref for Transaction {
    type Target = AnyConnection;
    fn deref(&self) -> &AnyConnection {
        &self.tx
    }
}

impl DerefMut for Transaction {
    fn deref_mut(&mut self) -> &mut AnyConnection {
        &mut self.tx
    }
}

/// The URL with any password replaced by `***`, safe to log or show.
pub fn redact_url(url: &str) -> String {
    let Ok(mut parsed) = url::Url::parse(url) else {
        // Not a URL: nothing can be told apart from a secret, so nothing of it is shown.
        return "(not a URL)".to_owned();
    };
    if parsed.password().is_some() {
        // Setting a password only fails for URLs that cannot have one, excluded above.
        let _ = parsed.set_password(Some("***"));
    }
    // libpq and sqlx also take the password as a query parameter.
    if parsed
        .query_pairs()
        .any(|(k, _)| k.eq_ignore_ascii_case("password"))
    {
        let pairs: Vec<(String, String)> = parsed
            .query_pairs()
            .map(|(k, v)| {
                let v = if k.eq_ignore_ascii_case("password") {
                    "***".to_owned()
                } else {
                    v.into_owned()
                };
                (k.into_owned(), v)
            })
            .collect();
        parsed.query_pairs_mut().clear().extend_pairs(pairs);
    }
    parsed.to_string()
}

#[cfg(test)]
mod redact_tests {
    use super::redact_url;

    #[test]
    fn passwords_are_hidden_wherever_the_url_carries_them() {
        assert_eq!(
            redact_url("postgres://app:s3cret@db/vidpress"),
            "postgres://app:***@db/vidpress"
        );
        let redacted = redact_url("postgres://app@db/vidpress?sslmode=require&password=s3cret");
        assert!(!redacted.contains("s3cret"), "{redacted}");
        assert!(redacted.contains("sslmode=require"), "{redacted}");
        let redacted = redact_url("postgres://app@db/vidpress?PASSWORD=s3cret");
        assert!(!redacted.contains("s3cret"), "{redacted}");
        assert_eq!(
            redact_url("sqlite://data/vidpress.db"),
            "sqlite://data/vidpress.db"
        );
        assert!(!redact_url("host=db password=s3cret").contains("s3cret"));
    }
}

impl Store {
    /// Connects to `sqlite:…` or `postgres:…`. For SQLite the file and its parent directory
    /// are created when missing, and the database is switched to WAL mode.
    pub async fn connect(url: &str, options: &StoreOptions) -> Result<Store, StoreError> {
        install_default_drivers();
        let backend = if url.starts_with("sqlite:") {
            Backend::Sqlite
        } else if url.starts_with("postgres:") || url.starts_with("postgresql:") {
            Backend::Postgres
        } else {
            return Err(StoreError::UnsupportedUrl(redact_url(url)));
        };
        let url = match backend {
            Backend::Sqlite => prepare_sqlite_url(url)?,
            Backend::Postgres => url.to_owned(),
        };
        let connect_error = |source| StoreError::Connect {
            url: redact_url(&url),
            source,
        };
        let pool_options = AnyPoolOptions::new()
            .max_connections(options.max_connections)
            .acquire_timeout(options.connect_timeout);
        let pool = match backend {
            // A connection to a local file cannot go stale, so it is not pinged before each
            // use (a round trip to its thread, as long as the query itself).
            Backend::Sqlite => {
                pool_options
                    .test_before_acquire(false)
                    .after_connect(|conn, _meta| {
                        Box::pin(async move {
                            // WAL lets readers run beside the one writer; NORMAL sync is safe with WAL.
                            conn.execute(
                                "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; \
                         PRAGMA busy_timeout = 10000; PRAGMA foreign_keys = ON;",
                            )
                            .await?;
                            Ok(())
                        })
                    })
            }
            Backend::Postgres => pool_options,
        }
        .connect(&url)
        .await
        .map_err(connect_error)?;
        let write_gate = (backend == Backend::Sqlite).then(|| Arc::new(Mutex::new(())));
        Ok(Store {
            pool,
            backend,
            write_gate,
        })
    }

    /// Applies every pending migration for this backend.
    pub async fn migrate(&self) -> Result<(), StoreError> {
        match self.backend {
            Backend::Sqlite => SQLITE_MIGRATIONS.run(&self.pool).await?,
            Backend::Postgres => POSTGRES_MIGRATIONS.run(&self.pool).await?,
        }
        Ok(())
    }

    /// Checks that the database answers a trivial query.
    pub async fn ping(&self) -> Result<(), StoreError> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }

    /// The connection pool, for crates that run their own queries in this crate's modules.
    pub fn pool(&self) -> &AnyPool {
        &self.pool
    }

    /// Which database this is.
    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// Starts a transaction; work created inside it (jobs included) appears only on commit.
    pub async fn begin(&self) -> Result<Transaction, StoreError> {
        let turn = match &self.write_gate {
            Some(gate) => tokio::time::timeout(GATE_TIMEOUT, gate.clone().lock_owned())
                .await
                .ok(),
            None => None,
        };
        Ok(Transaction {
            tx: self.pool.begin().await?,
            _turn: turn,
        })
    }

    /// Closes every connection, waiting for those in use to be returned.
    pub async fn close(&self) {
        self.pool.close().await;
    }
}

/// Makes sure a SQLite URL creates its file (`mode=rwc`) and that the directory exists.
fn prepare_sqlite_url(url: &str) -> Result<String, StoreError> {
    let rest = url.trim_start_matches("sqlite:").trim_start_matches("//");
    let (path, query) = rest.split_once('?').unwrap_or((rest, ""));
    if path.is_empty() || path == ":memory:" {
        return Err(StoreError::UnsupportedUrl(format!(
            "{url} (an in-memory database would vanish; give a file path)"
        )));
    }
    if let Some(dir) = Path::new(path)
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
    {
        std::fs::create_dir_all(dir).map_err(|e| StoreError::Connect {
            url: url.to_owned(),
            source: sqlx::Error::Io(e),
        })?;
    }
    let query = if query.split('&').any(|kv| kv.starts_with("mode=")) {
        query.to_owned()
    } else if query.is_empty() {
        "mode=rwc".to_owned()
    } else {
        format!("{query}&mode=rwc")
    };
    Ok(format!("sqlite://{path}?{query}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_are_redacted() {
        assert_eq!(
            redact_url("postgres://bob:secret@db.internal:5432/vidpress"),
            "postgres://bob:***@db.internal:5432/vidpress"
        );
        assert_eq!(
            redact_url("sqlite://data/vidpress.db"),
            "sqlite://data/vidpress.db"
        );
    }

    #[test]
    fn sqlite_urls_create_their_file() {
        assert_eq!(
            prepare_sqlite_url("sqlite:x.db").unwrap(),
            "sqlite://x.db?mode=rwc"
        );
        assert_eq!(
            prepare_sqlite_url("sqlite://x.db?mode=ro").unwrap(),
            "sqlite://x.db?mode=ro"
        );
        assert!(prepare_sqlite_url("sqlite::memory:").is_err());
    }
}
