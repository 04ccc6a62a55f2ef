//! Fresh databases for tests: a SQLite file in a temporary directory, or a new database on the
//! PostgreSQL server at `VIDPRESS_TEST_POSTGRES_URL` (default `postgres://postgres@127.0.0.1:5432/postgres`).
//! Both are migrated. PostgreSQL databases are dropped when the handle is dropped.

use sqlx::{Connection, Executor};

use crate::{Store, StoreOptions};

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
    cleanup: Cleanup,
}

#[derive(Debug)]
enum Cleanup {
    Sqlite(#[allow(dead_code, reason = "held to keep the directory alive")] tempfile::TempDir),
    Postgres { admin_url: String, name: String },
}

impl TestDb {
    /// A new SQLite database file in a fresh temporary directory.
    pub async fn sqlite() -> TestDb {
        let dir = tempfile::tempdir().expect("create a temporary directory");
        let url = format!("sqlite://{}", dir.path().join("vidpress.db").display());
        let store = Store::connect(&url, &StoreOptions::default())
            .await
            .expect("open the SQLite test database");
        store
            .migrate()
            .await
            .expect("migrate the SQLite test database");
        TestDb {
            store,
            url,
            cleanup: Cleanup::Sqlite(dir),
        }
    }

    /// A new, empty PostgreSQL database. Panics with setup advice when the server is not running:
    /// the PostgreSQL tests must run, not be skipped.
    pub async fn postgres() -> TestDb {
        let admin_url = postgres_admin_url();
        let name = format!("vidpress_test_{}", uuid::Uuid::new_v4().simple());
        let mut admin = sqlx::PgConnection::connect(&admin_url)
            .await
            .unwrap_or_else(|e| {
                panic!(
                    "PostgreSQL is needed for this test and did not answer at {admin_url}: {e}. \
                 Run `bash scripts/test.sh` (it starts one) or set VIDPRESS_TEST_POSTGRES_URL."
                )
            });
        admin
            // The name is ours: a fixed prefix and a UUID.
            .execute(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
            .await
            .expect("create a test database");
        let mut url = url::Url::parse(&admin_url).expect("VIDPRESS_TEST_POSTGRES_URL is a URL");
        url.set_path(&name);
        let url = url.to_string();
        let store = Store::connect(&url, &StoreOptions::default())
            .await
            .expect("connect to the PostgreSQL test database");
        store
            .migrate()
            .await
            .expect("migrate the PostgreSQL test database");
        TestDb {
            store,
            url,
            cleanup: Cleanup::Postgres { admin_url, name },
        }
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        if let Cleanup::Postgres { admin_url, name } = &self.cleanup {
            let (admin_url, name) = (admin_url.clone(), name.clone());
            // Drop runs outside any runtime we may block, so use a short-lived thread of its own.
            let _ = std::thread::spawn(move || {
                let rt = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build();
                if let Ok(rt) = rt {
                    rt.block_on(async {
                        if let Ok(mut admin) = sqlx::PgConnection::connect(&admin_url).await {
                            let sql = format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)");
                            let _ = admin.execute(sqlx::AssertSqlSafe(sql)).await;
                        }
                    });
                }
            })
            .join();
        }
    }
}
