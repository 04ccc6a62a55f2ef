//! `vidpress bench`: figures for the README, measured on this machine.

use std::time::{Duration, Instant};

use vidpress_core::JobKind;
use vidpress_store::scratch::ScratchDb;
use vidpress_store::{NewJob, Store, queue};
use vidpress_transcribe::models::ModelStore;
use vidpress_transcribe::{Device, Engine, TranscribeOptions};

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
        /// Where Whisper runs: auto, cpu or cuda (default: the `device` setting, auto).
        #[arg(long, value_name = "auto|cpu|cuda")]
        device: Option<Device>,
    },
    /// Whisper alone on one media file: model load time, transcription time and real-time
    /// factor, on each device given (`--device cpu --device cuda` compares them).
    Transcribe {
        /// A media file (decoded once, outside the timing).
        input: std::path::PathBuf,
        /// Devices to run on, one run each (default: the `device` setting, auto).
        #[arg(long, value_name = "auto|cpu|cuda")]
        device: Vec<Device>,
        /// Installed model name or GGML file (default: the `model` setting).
        #[arg(long)]
        model: Option<String>,
        /// CPU threads for Whisper (default: the `transcribe_threads` setting, else the cores
        /// idle when each run starts).
        #[arg(long)]
        threads: Option<usize>,
        /// Runs per device; the first includes warm-up, so compare the later ones.
        #[arg(long, default_value_t = 1)]
        reps: usize,
    },
    /// One header picture drawn by a diffusion model (random weights in SD-Turbo's shapes
    /// unless `--model`): text encoder, UNet and decoder times on each device, and peak memory.
    Diffusion(super::bench_diffusion::DiffusionBenchArgs),
    /// Signed WebSub notifications verified, parsed and stored per second, and their latency,
    /// on SQLite, against the real server in its own process.
    Websub(super::bench_websub::WebsubBenchArgs),
    /// Requests per second and latency of the video list (10,000 videos) and the editor (a
    /// 20,000-word draft), 64 connections, SQLite and PostgreSQL.
    Dashboard(super::bench_dashboard::DashboardBenchArgs),
    /// The dashboard benchmark's load generator, run in its own process by `bench dashboard`.
    #[command(hide = true)]
    HttpLoad(super::bench_dashboard::HttpLoadArgs),
    /// Jobs per second through the PostgreSQL queue with 1, 2 and 4 `vidpress worker`
    /// processes, running probe jobs that do no work (the queue's own figure).
    Workers(super::bench_workers::WorkersBenchArgs),
}

/// Runs the chosen benchmark and prints its figures.
pub async fn run(config: &crate::config::Config, args: &BenchArgs) -> anyhow::Result<()> {
    match &args.target {
        BenchTarget::Queue { jobs, sqlite_only } => queue_bench(*jobs, *sqlite_only).await,
        BenchTarget::Pipeline { input, device } => {
            pipeline_bench(config, input, device.unwrap_or(config.device)).await
        }
        BenchTarget::Transcribe {
            input,
            device,
            model,
            threads,
            reps,
        } => {
            let devices = if device.is_empty() {
                vec![config.device]
            } else {
                device.clone()
            };
            let model = model.as_deref().unwrap_or(&config.model);
            let threads = threads.or(config.transcribe_threads);
            transcribe_bench(config, input, &devices, model, threads, *reps).await
        }
        BenchTarget::Diffusion(args) => super::bench_diffusion::run(config, args).await,
        BenchTarget::Websub(args) => super::bench_websub::run(args).await,
        BenchTarget::Dashboard(args) => super::bench_dashboard::run(args).await,
        BenchTarget::HttpLoad(args) => super::bench_dashboard::http_load(args).await,
        BenchTarget::Workers(args) => super::bench_workers::run(args).await,
    }
}

/// Loads the model on each device and transcribes the decoded file `reps` times, printing one
/// table row per run.
async fn transcribe_bench(
    config: &crate::config::Config,
    input: &std::path::Path,
    devices: &[Device],
    model: &str,
    threads: Option<usize>,
    reps: usize,
) -> anyhow::Result<()> {
    for device in devices {
        device.check_supported()?;
    }
    let model_path = ModelStore::new(&config.models_dir).resolve(model)?;
    let path = input.to_owned();
    let samples =
        tokio::task::spawn_blocking(move || vidpress_media::decode_audio(&path, |_| {})).await??;
    let audio_s = samples.len() as f64 / f64::from(vidpress_transcribe::SAMPLE_RATE);
    println!(
        "{}: {audio_s:.1} s of audio, model `{model}`, {} CPU threads",
        input.display(),
        threads.map_or_else(|| "idle-core".to_owned(), |n| n.to_string())
    );
    println!("| device | runs on | run | load s | transcribe s | × real time | words |");
    println!("|---|---|---|---|---|---|---|");
    let samples = std::sync::Arc::new(samples);
    for &device in devices {
        let (path, samples) = (model_path.clone(), samples.clone());
        let rows = tokio::task::spawn_blocking(move || -> anyhow::Result<Vec<String>> {
            let t = Instant::now();
            let engine = Engine::load_on(&path, device)?;
            let load_s = t.elapsed().as_secs_f64();
            let opts = TranscribeOptions {
                threads,
                ..TranscribeOptions::default()
            };
            let mut rows = Vec::new();
            for run in 1..=reps.max(1) {
                let t = Instant::now();
                let transcript = engine.transcribe(&samples, &opts, |_| {})?;
                let wall = t.elapsed().as_secs_f64();
                rows.push(format!(
                    "| {device} | {} | {run} | {load_s:.2} | {wall:.2} | {:.1} | {} |",
                    engine.runs_on(),
                    audio_s / wall,
                    transcript.text().split_whitespace().count()
                ));
            }
            Ok(rows)
        })
        .await??;
        for row in rows {
            println!("{row}");
        }
    }
    Ok(())
}

/// Runs the real pipeline (configured model, workers and limits) on 1, then 2 copies of a video
/// and prints each video's time per step: from the previous step's end to this step's end.
async fn pipeline_bench(
    config: &crate::config::Config,
    input: &str,
    device: Device,
) -> anyhow::Result<()> {
    device.check_supported()?;
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
        "model `{}`, device {device}, {threads} Whisper threads, transcribe_concurrency {}",
        config.model, config.transcribe_concurrency
    );
    println!(
        "| videos at once | video | fetch s | transcribe s | draft s | illustrate s | total s |"
    );
    println!("|---|---|---|---|---|---|---|");
    for videos in [1, 2] {
        let db = ScratchDb::sqlite().await?;
        let work = tempfile::tempdir()?;
        let mut pipeline = super::serve::pipeline_config(config);
        pipeline.work_dir = work.path().to_owned();
        pipeline.device = device;
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
                "sqlite" => ScratchDb::sqlite().await?,
                _ => ScratchDb::postgres(&postgres_server_url()).await?,
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

/// The PostgreSQL server the benchmarks create their throwaway databases on: the one the tests
/// use (`VIDPRESS_TEST_POSTGRES_URL`), by default the local server.
pub fn postgres_server_url() -> String {
    std::env::var("VIDPRESS_TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".to_owned())
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
