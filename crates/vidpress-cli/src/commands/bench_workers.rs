//! `vidpress bench workers`: jobs per second through the PostgreSQL queue with 1, 2 and 4
//! `vidpress worker` processes (real processes, not tasks in one). The jobs are `probe` jobs
//! that do no work by default, so the figure is the queue's own: claim, lease, complete.

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::Context;
use vidpress_core::JobKind;
use vidpress_store::scratch::ScratchDb;
use vidpress_store::{NewJob, queue};

/// Options of `vidpress bench workers`.
#[derive(Debug, clap::Args)]
pub struct WorkersBenchArgs {
    /// Jobs per run.
    #[arg(long, default_value_t = 2000)]
    jobs: usize,
    /// Worker process counts to measure, comma-separated.
    #[arg(long, value_delimiter = ',', default_value = "1,2,4")]
    processes: Vec<usize>,
    /// Jobs each process runs at once (`--concurrency` of each worker).
    #[arg(long, default_value_t = 4)]
    concurrency: usize,
    /// Milliseconds each job waits before it finishes (0: the queue alone).
    #[arg(long, default_value_t = 0)]
    work_ms: u64,
}

/// Worker processes, stopped with SIGTERM (and reaped) however the run ends.
struct Workers(Vec<Child>);

impl Drop for Workers {
    fn drop(&mut self) {
        for child in &self.0 {
            let _ = Command::new("kill")
                .args(["-TERM", &child.id().to_string()])
                .status();
        }
        for child in &mut self.0 {
            let _ = child.wait();
        }
    }
}

/// Runs the benchmark and prints one table row per process count.
pub async fn run(args: &WorkersBenchArgs) -> anyhow::Result<()> {
    let exe = std::env::current_exe().context("Failed to find the vidpress binary")?;
    println!(
        "{} probe jobs ({} ms of work each) on PostgreSQL, {} at once per process",
        args.jobs, args.work_ms, args.concurrency
    );
    println!(
        "| worker processes | jobs | first to last finish s | jobs/s | wall s (incl. start) |"
    );
    println!("|---|---|---|---|---|");
    for &processes in &args.processes {
        let db = ScratchDb::postgres(&super::bench::postgres_server_url()).await?;
        let mut tx = db.store.begin().await?;
        for n in 0..args.jobs {
            queue::enqueue(
                &mut tx,
                &NewJob::new(
                    JobKind::Probe,
                    serde_json::json!({ "n": n, "work_ms": args.work_ms }),
                ),
            )
            .await?;
        }
        tx.commit().await?;
        let dir = tempfile::tempdir()?;
        let started = Instant::now();
        let mut workers = Workers(Vec::new());
        for _ in 0..processes.max(1) {
            workers.0.push(
                Command::new(&exe)
                    .args(["worker", "--kinds", "probe", "--concurrency"])
                    .arg(args.concurrency.max(1).to_string())
                    .current_dir(dir.path())
                    .env_remove("VIDPRESS_CONFIG")
                    .env("RUST_LOG", "warn")
                    .env("VIDPRESS_DATABASE_URL", &db.url)
                    .env("VIDPRESS_DATA_DIR", dir.path())
                    .env("VIDPRESS_SECRET_KEY", "5a".repeat(32))
                    .env("VIDPRESS_DEVICE", "cpu")
                    .stdout(Stdio::null())
                    .stderr(Stdio::null())
                    .spawn()
                    .context("Failed to start a worker process")?,
            );
        }
        let deadline = started + Duration::from_secs(600);
        let span = loop {
            let span = db.store.finished_span(JobKind::Probe).await?;
            if span.succeeded as usize >= args.jobs {
                break span;
            }
            for child in &mut workers.0 {
                if let Some(status) = child.try_wait()? {
                    anyhow::bail!("a worker process exited early: {status}");
                }
            }
            anyhow::ensure!(
                Instant::now() < deadline,
                "only {} of {} jobs ran within 10 minutes",
                span.succeeded,
                args.jobs
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        };
        let wall = started.elapsed().as_secs_f64();
        drop(workers);
        let finish_s = match (span.first, span.last) {
            (Some(first), Some(last)) => ((last - first) as f64 / 1000.0).max(0.001),
            _ => wall,
        };
        println!(
            "| {processes} | {} | {finish_s:.2} | {:.0} | {wall:.2} |",
            args.jobs,
            (args.jobs.saturating_sub(1)) as f64 / finish_s
        );
    }
    Ok(())
}
