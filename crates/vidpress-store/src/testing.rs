//! Fresh databases for tests: a SQLite file in a temporary directory, or a new database on the
//! PostgreSQL server at `VIDPRESS_TEST_POSTGRES_URL` (default `postgres://postgres@127.0.0.1:5432/postgres`).
//! Both are migrated. PostgreSQL databases are dropped when the handle is dropped.

use crate::Store;
use crate::scratch::ScratchDb;

/// The PostgreSQL server tests create their databases on.
pub fn postgres_admin_url() -> String {
    std::env::var("VIDPRESS_TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".to_owned())
}

/// A migrated database that lives as long as this value.
#[derive(Debug)]
pub struct TestDb {
    pub store: Store,
    pub url: String,
    #[allow(dead_code, reason = "held to keep the database alive")]
    scratch: ScratchDb,
}

impl TestDb {
    /// A new SQLite database file in a fresh temporary directory.
    pub async fn sqlite() -> TestDb {
        let scratch = ScratchDb::sqlite()
            .await
            .expect("open and migrate the SQLite test database");
        TestDb::from(scratch)
    }

    /// A new, empty PostgreSQL database. Panics with setup advice when the server is not running:
    /// the PostgreSQL tests must run, not be skipped.
    pub async fn postgres() -> TestDb {
        let admin_url = postgres_admin_url();
        let scratch = ScratchDb::postgres(&admin_url).await.unwrap_or_else(|e| {
            panic!(
                "PostgreSQL is needed for this test and did not answer at {admin_url}: {e}. \
                 Run `bash scripts/test.sh` (it starts one) or set VIDPRESS_TEST_POSTGRES_URL."
            )
        });
        TestDb::from(scratch)
    }
}

impl From<ScratchDb> for TestDb {
    fn from(scratch: ScratchDb) -> TestDb {
        TestDb {
            store: scratch.store.clone(),
            url: scratch.url.clone(),
            scratch,
        }
    }
}

/// Makes each named `async fn(&TestDb)` two tests, `sqlite::name` and `postgres::name`, on a
/// multi-threaded runtime (`worker_threads = N;` first to choose its size; 2 by default).
#[macro_export]
macro_rules! both_backends {
    (worker_threads = $threads:literal; $($name:ident),* $(,)?) => {
        mod sqlite {
            $(#[tokio::test(flavor = "multi_thread", worker_threads = $threads)]
            async fn $name() {
                super::$name(&$crate::testing::TestDb::sqlite().await).await;
            })*
        }
        mod postgres {
            $(#[tokio::test(flavor = "multi_thread", worker_threads = $threads)]
            async fn $name() {
                super::$name(&$crate::testing::TestDb::postgres().await).await;
            })*
        }
    };
    ($($name:ident),* $(,)?) => {
        $crate::both_backends!(worker_threads = 2; $($name),*);
    };
}
