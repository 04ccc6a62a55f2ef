//! Throwaway databases for one run of a command that must not touch the configured database
//! (`vidpress convert`, the benchmarks): a migrated SQLite file in a temporary folder, or a new
//! migrated database on a PostgreSQL server, dropped with the handle.

use sqlx::{Connection, Executor};

use crate::{Store, StoreError, StoreOptions};

/// A migrated database that lives as long as this value.
#[derive(Debug)]
pub struct ScratchDb {
    pub store: Store,
    /// Its URL, for processes of the same run.
    pub url: String,
    cleanup: Cleanup,
}

#[derive(Debug)]
enum Cleanup {
    Sqlite(#[allow(dead_code, reason = "held to keep the folder alive")] tempfile::TempDir),
    Postgres { server_url: String, name: String },
}

impl ScratchDb {
    /// A new SQLite database file in a fresh temporary folder.
    pub async fn sqlite() -> Result<ScratchDb, StoreError> {
        let dir = tempfile::tempdir().map_err(|e| StoreError::Connect {
            url: "a temporary SQLite file".into(),
            source: sqlx::Error::Io(e),
        })?;
        let url = format!("sqlite://{}", dir.path().join("vidpress.db").display());
        let store = Store::connect(&url, &StoreOptions::default()).await?;
        store.migrate().await?;
        Ok(ScratchDb {
            store,
            url,
            cleanup: Cleanup::Sqlite(dir),
        })
    }

    /// A new database with a unique name on the PostgreSQL server at `server_url` (whose own
    /// database is only used to create and drop it).
    pub async fn postgres(server_url: &str) -> Result<ScratchDb, StoreError> {
        let connect_error = |source| StoreError::Connect {
            url: crate::redact_url(server_url),
            source,
        };
        let mut server = sqlx::PgConnection::connect(server_url)
            .await
            .map_err(connect_error)?;
        let name = format!("vidpress_scratch_{}", uuid::Uuid::new_v4().simple());
        // The name is ours: a fixed prefix and a UUID.
        server
            .execute(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
            .await?;
        let mut url = url::Url::parse(server_url)
            .map_err(|_| StoreError::UnsupportedUrl(crate::redact_url(server_url)))?;
        url.set_path(&name);
        let url = url.to_string();
        let scratch = ScratchDb {
            store: Store::connect(&url, &StoreOptions::default()).await?,
            url,
            cleanup: Cleanup::Postgres {
                server_url: server_url.to_owned(),
                name,
            },
        };
        scratch.store.migrate().await?;
        Ok(scratch)
    }
}

impl ScratchDb {
    /// Adds `count` finished videos of `user`, each with its last step succeeded, as a
    /// benchmark's fixture: numbered titles, newest last.
    pub async fn insert_finished_videos(
        &self,
        user: crate::UserId,
        count: usize,
    ) -> Result<(), StoreError> {
        let now = crate::now_ms();
        let mut tx = self.store.begin().await?;
        for n in 0..count {
            let n = i64::try_from(n).unwrap_or(i64::MAX);
            let row = sqlx::query(
                "INSERT INTO videos (user_id, source_url, title, state, created_at, updated_at) \
                 VALUES ($1, $2, $3, 'ready', $4, $4) RETURNING id",
            )
            .bind(user.0)
            .bind(format!("https://example.org/video-{n}.mp4"))
            .bind(format!("Upload number {n}: what we learned this week"))
            .bind(now - 10_000_000 + n)
            .fetch_one(&mut *tx)
            .await?;
            let id: i64 = sqlx::Row::try_get(&row, "id")?;
            sqlx::query(
                "INSERT INTO jobs (kind, payload, video_id, state, attempts, max_attempts, run_at, \
                 progress, created_at, updated_at, finished_at) \
                 VALUES ('illustrate', $1, $2, 'succeeded', 1, 5, $3, 100, $3, $3, $3)",
            )
            .bind(serde_json::json!({ "video_id": id }).to_string())
            .bind(id)
            .bind(now)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }
}

impl Drop for ScratchDb {
    fn drop(&mut self) {
        if let Cleanup::Postgres { server_url, name } = &self.cleanup {
            let (server_url, name) = (server_url.clone(), name.clone());
            // Drop may run inside a runtime it must not block: a short-lived thread of its own.
            let _ = std::thread::spawn(move || {
                let rt = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build();
                if let Ok(rt) = rt {
                    rt.block_on(async {
                        if let Ok(mut server) = sqlx::PgConnection::connect(&server_url).await {
                            let sql = format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)");
                            let _ = server.execute(sqlx::AssertSqlSafe(sql)).await;
                        }
                    });
                }
            })
            .join();
        }
    }
}
