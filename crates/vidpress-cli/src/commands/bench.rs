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
    /// End-to-end wall time of the pipeline on one video, split by step, then two at once.
    Pipeline {
        /// A media file, or a video URL (fetched with yt-dlp, so the fetch step is timed too).
        input: String,
    },
    /// Signed WebSub notifications verified, parsed and stored per second, and their latency,
    /// on SQLite, against the real server in its own process.
    Websub(super::bench_websub::WebsubBenchArgs),
}

/// Runs the chosen benchmark and prints its figures.
pub async fn run(config: &crate::config::Config, args: &BenchArgs) -> anyhow::Result<()> {
    match &args.target {
        BenchTarget::Queue { jobs, sqlite_only } => queue_bench(*jobs, *sqlite_only).await,
        BenchTarget::Pipeline { input } => pipeline_bench(config, input).await,
        BenchTarget::Websub(args) => super::bench_websub::run(args).await,
    }
}

/// Runs the real pipeline (configured model, workers and limits) on 1, then 2 copies of a video
/// and prints each video's time per step: from the previous step's end to this step's end.
async fn pipeline_bench(config: &crate::config::Config, input: &str) -> anyhow::Result<()> {
    let source = if vidpress_media::is_url(input) {
        input.to_owned()
    } else {
        std::path::Path::new(input)
            .canonicalize()?
            .to_string_lossy()
            .into_owned()
    };
    let threads = config
        .transcribe_threads
        .map_or_else(|| "idle-core".to_owned(), |n| n.to_string());
    println!(
        "model `{}`, {threads} Whisper threads, transcribe_concurrency {}",
        config.model, config.transcribe_concurrency
    );
    println!(
        "| videos at once | video | fetch s | transcribe s | draft s | illustrate s | total s |"
    );
    println!("|---|---|---|---|---|---|---|");
    for videos in [1, 2] {
        let db = TestDb::sqlite().await;
        let work = tempfile::tempdir()?;
        let mut pipeline = super::serve::pipeline_config(config);
        pipeline.work_dir = work.path().to_owned();
        let mut registry = vidpress_worker::Registry::new();
        vidpress_worker::Pipeline::new(pipeline).register(&mut registry);
        let pool = vidpress_worker::WorkerPool::new(
            db.store.clone(),
            registry,
            super::serve::pool_config(config, config.worker_concurrency),
        );
        let owner = db.store.ensure_user(&config.owner_email).await?;
        let start = vidpress_store::now_ms();
        let mut ids = Vec::new();
        for n in 0..videos {
            let media = if vidpress_media::is_url(&source) {
                vidpress_store::MediaSource::Url(&source)
            } else {
                vidpress_store::MediaSource::File(&source)
            };
            ids.push(
                db.store
                    .create_video(owner.id, &format!("bench {n}"), media, 1)
                    .await?
                    .0,
            );
        }
        pool.run_until_idle().await;
        for (n, id) in ids.into_iter().enumerate() {
            let video = db.store.video(id).await?;
            anyhow::ensure!(
                video.state == vidpress_store::VideoState::Ready,
                "video {n} ended {}: {}",
                video.state.as_str(),
                video.error.unwrap_or_default()
            );
            let mut previous = start;
            let mut cells = Vec::new();
            for kind in [
                JobKind::Fetch,
                JobKind::Transcribe,
                JobKind::Draft,
                JobKind::Illustrate,
            ] {
                let jobs = db.store.jobs_for_video(id.0).await?;
                match jobs
                    .iter()
                    .find(|j| j.kind == kind)
                    .and_then(|j| j.finished_at)
                {
                    Some(done) => {
                        cells.push(format!("{:.1}", (done - previous) as f64 / 1000.0));
                        previous = done;
                    }
                    None => cells.push("–".into()),
                }
            }
            println!(
                "| {videos} | {n} | {} | {:.1} |",
                cells.join(" | "),
                (previous - start) as f64 / 1000.0
            );
        }
    }
    Ok(())
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
