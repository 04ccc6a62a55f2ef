//! `vidpress bench`: figures for the README, measured on this machine.

use std::time::{Duration, Instant};

use vidpress_core::JobKind;
use vidpress_store::testing::TestDb;
use vidpress_store::{NewJob, Store, queue};

/// What to measure.
#[derive(Debug, clap::Args)]
pub struct BenchArgs {
    #[command(subcommand)]
    target: BenchTarget,
}

#[derive(Debug, clap::Subcommand)]
enum BenchTarget {
    /// Jobs claimed and completed per second, 1 and 4 concurrent workers, SQLite and PostgreSQL.
    Queue {
        /// Jobs per run.
        #[arg(long, default_value_t = 2000)]
        jobs: usize,
        /// Skip PostgreSQL (it is read from VIDPRESS_TEST_POSTGRES_URL, default the local server).
        #[arg(long)]
        sqlite_only: bool,
    },
}

/// Runs the chosen benchmark and prints its figures.
pub async fn run(_config: &crate::config::Config, args: &BenchArgs) -> anyhow::Result<()> {
    match &args.target {
        BenchTarget::Queue { jobs, sqlite_only } => queue_bench(*jobs, *sqlite_only).await,
    }
}

async fn queue_bench(jobs: usize, sqlite_only: bool) -> anyhow::Result<()> {
    println!("| database | workers | jobs | seconds | jobs/s |");
    println!("|---|---|---|---|---|");
    let backends: &[&str] = if sqlite_only {
        &["sqlite"]
    } else {
        &["sqlite", "postgres"]
    };
    for &backend in backends {
        for workers in [1, 4] {
            let db = match backend {
                "sqlite" => TestDb::sqlite().await,
                _ => TestDb::postgres().await,
            };
            let elapsed = drain(&db.store, jobs, workers).await?;
            println!(
                "| {backend} | {workers} | {jobs} | {:.2} | {:.0} |",
                elapsed.as_secs_f64(),
                jobs as f64 / elapsed.as_secs_f64()
            );
        }
    }
    Ok(())
}

/// Enqueues `jobs` jobs, then times `workers` concurrent claimers claiming and completing them all.
async fn drain(store: &Store, jobs: usize, workers: usize) -> anyhow::Result<Duration> {
    let mut tx = store.begin().await?;
    for n in 0..jobs {
        queue::enqueue(
            &mut tx,
            &NewJob::new(JobKind::Fetch, serde_json::json!({ "n": n })),
        )
        .await?;
    }
    tx.commit().await?;
    let start = Instant::now();
    let tasks: Vec<_> = (0..workers)
        .map(|w| {
            let store = store.clone();
            tokio::spawn(async move {
                let owner = format!("bench-{w}");
                let mut done = 0usize;
                while let Some(job) = store
                    .claim(&owner, &[JobKind::Fetch], Duration::from_secs(60))
                    .await?
                {
                    store.complete(&job).await?;
                    done += 1;
                }
                anyhow::Ok(done)
            })
        })
        .collect();
    let mut total = 0;
    for t in futures::future::join_all(tasks).await {
        total += t??;
    }
    let elapsed = start.elapsed();
    anyhow::ensure!(total == jobs, "ran {total} of {jobs} jobs");
    Ok(elapsed)
}
