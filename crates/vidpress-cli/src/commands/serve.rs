//! `vidpress serve`, `vidpress worker` and `vidpress migrate`.

use std::collections::HashMap;
use std::time::Duration;

use anyhow::Context;
use tokio_util::sync::CancellationToken;
use tracing::info;
use vidpress_core::JobKind;
use vidpress_draft::DraftOptions;
use vidpress_media::FetchOptions;
use vidpress_store::{RetryPolicy, Store, StoreOptions};
use vidpress_transcribe::engine::TranscribeOptions;
use vidpress_web::{ApiConfig, AppState, Application, Dashboard, WebConfig};
use vidpress_websub::{HubClient, YouTube};
use vidpress_worker::websub::WebsubJobs;
use vidpress_worker::{Pipeline, PipelineConfig, PoolConfig, Registry, WorkerPool};

use crate::config::Config;

/// Options of `vidpress serve`.
#[derive(Debug, clap::Args)]
pub struct ServeArgs {
    /// Serve HTTP only; leave the jobs to separate `vidpress worker` processes.
    #[arg(long)]
    no_workers: bool,
}

/// Options of `vidpress worker`.
#[derive(Debug, clap::Args)]
pub struct WorkerArgs {
    /// Most jobs this worker runs at once (overrides `worker_concurrency`).
    #[arg(long)]
    concurrency: Option<usize>,
    /// The job kinds this worker takes, comma-separated, e.g. `transcribe,illustrate` on a GPU
    /// machine (overrides `worker_kinds`; default: every kind).
    #[arg(long, value_name = "KIND,…")]
    kinds: Option<crate::config::KindList>,
}

/// Opens the configured database and applies pending migrations.
pub async fn open_store(config: &Config) -> anyhow::Result<Store> {
    let scratch = config.data_dir.join("work");
    std::fs::create_dir_all(&scratch).with_context(|| {
        format!(
            "Failed to create the scratch directory {} (setting `data_dir`)",
            scratch.display()
        )
    })?;
    let store = Store::connect(&config.database_url, &StoreOptions::default()).await?;
    store.migrate().await.with_context(|| {
        format!(
            "Failed to migrate the database at {}",
            vidpress_store::redact_url(&config.database_url)
        )
    })?;
    Ok(store)
}

/// The pipeline's settings from the configuration.
pub fn pipeline_config(config: &Config) -> PipelineConfig {
    PipelineConfig {
        work_dir: config.data_dir.join("work"),
        images_dir: std::path::absolute(config.data_dir.join("images"))
            .unwrap_or_else(|_| config.data_dir.join("images")),
        models_dir: config.models_dir.clone(),
        youtube_base_url: config.youtube_base_url.to_string(),
        model: config.model.clone(),
        fetch: fetch_options(config),
        max_media: Some(max_media(config)),
        transcribe: TranscribeOptions {
            threads: config.transcribe_threads,
            vad_model: vad_model(&config.models_dir),
            ..TranscribeOptions::default()
        },
        device: config.device,
        draft: DraftOptions::default(),
        embedding_model: embedding_model(&config.models_dir),
        dictionaries_dir: Some(config.dictionaries_dir.clone()),
        max_attempts: config.job_max_attempts,
        diffusion_model: diffusion_model(config),
        diffusion: vidpress_imagegen::diffusion::DiffusionOptions {
            steps: config.diffusion_steps,
            guidance: config.diffusion_guidance,
            decoder: config.diffusion_decoder,
            ..Default::default()
        },
        diffusion_idle: std::time::Duration::from_secs(config.diffusion_idle_seconds),
    }
}

/// The diffusion model's folder from the setting `diffusion_model` (a name under `models_dir`
/// or a path; `off` turns drawing off). A folder that is not there means no drawing, with one
/// line saying how to install it; an incomplete one is reported by each header job.
pub fn diffusion_model(config: &Config) -> Option<std::path::PathBuf> {
    let setting = config.diffusion_model.trim();
    if setting == "off" {
        return None;
    }
    let path = std::path::Path::new(setting);
    let dir = if path.components().count() > 1 || path.is_absolute() {
        path.to_path_buf()
    } else {
        config.models_dir.join(setting)
    };
    if dir.is_dir() {
        Some(dir)
    } else {
        tracing::info!(
            model = %dir.display(),
            "header images come from the video: no diffusion model is installed \
             (`vidpress models install sd-turbo --from DIR`)"
        );
        None
    }
}

/// The installed sentence-embedding model; without it drafts are still made, from the words
/// alone, with one warning.
pub fn embedding_model(models_dir: &std::path::Path) -> Option<std::path::PathBuf> {
    let found = vidpress_embed::installed(models_dir);
    if found.is_none() {
        tracing::warn!(
            models_dir = %models_dir.display(),
            "sentence embeddings are off: the MiniLM model is not installed \
             (`vidpress models install minilm`), so drafts find topics and headings from the \
             words, pauses and spoken cues alone"
        );
    }
    found
}

/// The installed voice-activity model; without it transcription still runs, with one warning.
pub fn vad_model(models_dir: &std::path::Path) -> Option<std::path::PathBuf> {
    let found = vidpress_transcribe::ModelStore::new(models_dir).vad_model();
    if found.is_none() {
        tracing::warn!(
            models_dir = %models_dir.display(),
            "voice activity detection is off: the Silero VAD model is not installed \
             (`vidpress models install silero-vad`), so times after a long silence or music \
             may be early"
        );
    }
    found
}

/// Which addresses user-supplied URLs may reach (`allow_private_addresses`).
pub fn address_policy(config: &Config) -> vidpress_core::net::AddressPolicy {
    if config.allow_private_addresses {
        vidpress_core::net::AddressPolicy::ALLOW_PRIVATE
    } else {
        vidpress_core::net::AddressPolicy::PUBLIC_ONLY
    }
}

/// The longest media accepted (`max_media_minutes`).
pub fn max_media(config: &Config) -> Duration {
    Duration::from_secs(config.max_media_minutes.saturating_mul(60))
}

/// How yt-dlp runs, from the configuration.
pub fn fetch_options(config: &Config) -> FetchOptions {
    FetchOptions {
        ytdlp: config.ytdlp.clone(),
        timeout: Duration::from_secs(config.fetch_timeout_seconds),
        max_duration: Some(max_media(config)),
        max_filesize: Some(config.max_download_mb.saturating_mul(1024 * 1024)),
        min_free_bytes: config.min_free_disk_mb.saturating_mul(1024 * 1024),
        extractors: config.video_extractors.clone(),
        addresses: address_policy(config),
        ..FetchOptions::default()
    }
}

/// Stops a worker from starting with a `device` this build cannot use.
fn check_device(config: &Config) -> anyhow::Result<()> {
    config
        .device
        .check_supported()
        .with_context(|| format!("invalid configuration: `device` = {}", config.device))
}

/// The HTTP client for the hub and YouTube.
pub fn http_client() -> anyhow::Result<reqwest::Client> {
    reqwest::Client::builder()
        .user_agent(concat!("vidpress/", env!("CARGO_PKG_VERSION")))
        .connect_timeout(Duration::from_secs(10))
        .timeout(Duration::from_secs(30))
        .build()
        .context("Failed to set up the HTTP client")
}

/// YouTube's pages and feeds, at the configured base URL.
pub fn youtube(config: &Config, http: reqwest::Client) -> YouTube {
    YouTube::new(http, config.youtube_base_url.clone())
}

/// The WebSub jobs' settings from the configuration.
pub fn websub_jobs(config: &Config, http: reqwest::Client) -> WebsubJobs {
    WebsubJobs {
        hub: HubClient::new(http.clone(), config.websub_hub_url.clone()),
        youtube: youtube(config, http),
        public_url: config.public_url.clone(),
        lease_seconds: config.websub_lease_seconds,
        poll_interval: Duration::from_secs(config.feed_poll_seconds),
        max_attempts: config.job_max_attempts,
    }
}

/// The job handlers this build runs: the pipeline's steps, the WebSub jobs, exports and the
/// queue's probe.
pub fn registry(config: &Config) -> anyhow::Result<Registry> {
    let mut registry = Registry::new();
    Pipeline::new(pipeline_config(config)).register(&mut registry);
    vidpress_worker::websub::register(&mut registry, websub_jobs(config, http_client()?));
    vidpress_worker::ExportJobs::new(crate::commands::export::exporters(config)?)
        .register(&mut registry);
    vidpress_worker::probe::register(&mut registry);
    Ok(registry)
}

/// The handlers of the kinds this worker process takes (`kinds`; empty: every kind).
fn registry_for(config: &Config, kinds: &[JobKind]) -> anyhow::Result<Registry> {
    let mut registry = registry(config)?;
    if !kinds.is_empty() {
        registry.retain_kinds(kinds).map_err(|missing| {
            anyhow::anyhow!(
                "invalid configuration: `worker_kinds` names kinds this build has no handler for: {missing:?}"
            )
        })?;
    }
    Ok(registry)
}

/// `/metrics` as configured: behind `metrics_token` on the public listener, and/or alone on
/// `metrics_listen`; `None` (and no recorder) when neither is set.
pub fn metrics_config(config: &Config) -> Option<vidpress_web::MetricsConfig> {
    if config.metrics_token.is_none() && config.metrics_listen.is_none() {
        return None;
    }
    Some(vidpress_web::MetricsConfig {
        handle: vidpress_web::metrics::recorder(),
        token: config.metrics_token.clone(),
        listen: config.metrics_listen,
    })
}

/// The JSON API's settings; the operator account (which the configured token acts for) is
/// created on first start.
async fn api_config(config: &Config, store: &Store) -> anyhow::Result<ApiConfig> {
    let owner = store
        .operator_user(&config.owner_email)
        .await
        .context("Failed to create the owner account")?;
    Ok(ApiConfig {
        token: config.api_token.clone(),
        user: owner.id,
        uploads_dir: config.data_dir.join("work").join("uploads"),
        max_upload_bytes: config.max_upload_mb.saturating_mul(1024 * 1024),
        max_attempts: config.job_max_attempts,
        addresses: address_policy(config),
    })
}

/// The dashboard's settings from the configuration.
pub fn dashboard(config: &Config) -> anyhow::Result<Dashboard> {
    Ok(Dashboard {
        owner_email: config.owner_email.clone(),
        allow_signup: config.allow_signup,
        secure_cookies: config.public_url.scheme() == "https",
        youtube: Some(youtube(config, http_client()?)),
        feed_poll: Duration::from_secs(config.feed_poll_seconds),
        exporters: Some(crate::commands::export::exporters(config)?),
        ..Dashboard::default()
    })
}

/// This machine's name: `HOSTNAME`, else the kernel's, else `vidpress`.
fn host_name() -> String {
    std::env::var("HOSTNAME")
        .ok()
        .or_else(|| std::fs::read_to_string("/proc/sys/kernel/hostname").ok())
        .map(|h| h.trim().replace('/', "-"))
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "vidpress".into())
}

pub fn pool_config(config: &Config, concurrency: usize) -> PoolConfig {
    let host = host_name();
    PoolConfig {
        name: format!("{host}-{}", std::process::id()),
        host,
        device: config.device,
        heartbeat: Duration::from_secs(config.worker_heartbeat_seconds),
        concurrency,
        per_kind: HashMap::from([
            (JobKind::Transcribe, config.transcribe_concurrency),
            (JobKind::Illustrate, 1),
        ]),
        lease: Duration::from_secs(config.job_lease_seconds),
        // Renew well inside the lease, and often enough that a cancel is noticed in seconds.
        renew_every: (Duration::from_secs(config.job_lease_seconds) / 3)
            .min(Duration::from_secs(3)),
        retry: RetryPolicy::default(),
        shutdown_grace: Duration::from_secs(config.shutdown_grace_seconds),
        ..PoolConfig::default()
    }
}

/// Completes on Ctrl-C or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {}
        _ = terminate => {}
    }
    info!("shutdown requested");
}

/// Runs the web server and, unless disabled, an embedded worker pool, until a signal.
pub async fn serve(config: &Config, args: &ServeArgs) -> anyhow::Result<()> {
    if !args.no_workers {
        check_device(config)?;
    }
    let store = open_store(config).await?;
    let web = WebConfig {
        listen: config.listen,
        header_timeout: Duration::from_secs(config.http_header_timeout_seconds),
        request_timeout: Duration::from_secs(config.http_request_timeout_seconds),
        max_connections: config.http_max_connections,
        metrics: metrics_config(config),
    };
    let pool = if args.no_workers {
        None
    } else {
        Some(WorkerPool::new(
            store.clone(),
            registry_for(config, &config.worker_kinds)?,
            pool_config(config, config.worker_concurrency),
        ))
    };
    let state = AppState {
        store: store.clone(),
        api: api_config(config, &store).await?,
        dashboard: dashboard(config)?,
        workers: pool.as_ref().map(WorkerPool::waker),
    };
    let app = Application::build(&web, state)
        .await
        .with_context(|| format!("Failed to listen on {} (setting `listen`)", config.listen))?;
    info!(address = %app.local_addr()?, public_url = %config.public_url, database = %vidpress_store::redact_url(&config.database_url), "vidpress is serving");
    if let Some(metrics) = app.metrics_addr() {
        info!(address = %metrics, "metrics are served at /metrics");
    }
    let address = app.local_addr()?;
    let first_step = if store.needs_first_account().await? {
        "create the first account (the administrator), then link a YouTube channel or paste a video URL"
    } else {
        "sign in"
    };
    // Printed for the person who just started the server, whatever the log settings.
    println!("Vidpress is running: open http://{address}/ in a browser and {first_step}.");

    let stop = CancellationToken::new();
    let workers = pool.map(|pool| {
        let stop = stop.clone();
        tokio::spawn(async move { pool.run(stop).await })
    });
    // Expired dashboard sessions are deleted at start and hourly.
    let sweeper_store = store.clone();
    let sweeper_stop = stop.clone();
    tokio::spawn(async move {
        let mut hourly = tokio::time::interval(Duration::from_secs(3600));
        loop {
            tokio::select! {
                _ = sweeper_stop.cancelled() => break,
                _ = hourly.tick() => {
                    if let Err(e) = sweeper_store.delete_expired_sessions().await {
                        tracing::warn!(error = %e, "could not delete expired sessions");
                    }
                }
            }
        }
    });
    if !args.no_workers {
        spawn_scratch_sweeper(&store, config, stop.clone());
    }
    let web_stop = stop.clone();
    let server = app.run_until_stopped(async move { web_stop.cancelled().await });
    let signal = stop.clone();
    tokio::spawn(async move {
        shutdown_signal().await;
        signal.cancel();
    });
    server.await.context("the web server failed")?;
    stop.cancel();
    if let Some(workers) = workers {
        workers.await.context("the worker pool failed")?;
    }
    store.close().await;
    info!("stopped cleanly");
    Ok(())
}

/// Removes scratch files left by crashed or abandoned work, at start and hourly.
fn spawn_scratch_sweeper(store: &Store, config: &Config, stop: CancellationToken) {
    let store = store.clone();
    let work_dir = config.data_dir.join("work");
    tokio::spawn(async move {
        let mut hourly = tokio::time::interval(Duration::from_secs(3600));
        loop {
            tokio::select! {
                _ = stop.cancelled() => break,
                _ = hourly.tick() => {
                    vidpress_worker::pipeline::sweep_orphaned_scratch(&store, &work_dir).await;
                }
            }
        }
    });
}

/// Runs a worker pool until a signal.
pub async fn worker(config: &Config, args: &WorkerArgs) -> anyhow::Result<()> {
    check_device(config)?;
    let store = open_store(config).await?;
    let concurrency = args.concurrency.unwrap_or(config.worker_concurrency).max(1);
    let kinds = args
        .kinds
        .as_ref()
        .map_or(config.worker_kinds.as_slice(), |k| k.0.as_slice());
    let pool = WorkerPool::new(
        store.clone(),
        registry_for(config, kinds)?,
        pool_config(config, concurrency),
    );
    let stop = CancellationToken::new();
    let metrics = match metrics_config(config) {
        Some(metrics) => vidpress_web::MetricsServer::bind(&store, &metrics)
            .await
            .with_context(|| {
                format!(
                    "Failed to listen on {:?} (setting `metrics_listen`)",
                    config.metrics_listen
                )
            })?,
        None => None,
    };
    let metrics = match metrics {
        Some(server) => {
            info!(address = %server.local_addr()?, "metrics are served at /metrics");
            let stop = stop.clone();
            Some(tokio::spawn(
                server.run_until_stopped(async move { stop.cancelled().await }),
            ))
        }
        None => None,
    };
    spawn_scratch_sweeper(&store, config, stop.clone());
    let signal = stop.clone();
    tokio::spawn(async move {
        shutdown_signal().await;
        signal.cancel();
    });
    info!(worker = pool.name(), kinds = ?pool.kinds(), "vidpress worker is running");
    pool.run(stop.clone()).await;
    stop.cancel();
    if let Some(metrics) = metrics {
        metrics.await.context("the metrics listener failed")??;
    }
    store.close().await;
    info!("stopped cleanly");
    Ok(())
}

/// Applies migrations and exits.
pub async fn migrate(config: &Config) -> anyhow::Result<()> {
    open_store(config).await?;
    println!(
        "database at {} is up to date",
        vidpress_store::redact_url(&config.database_url)
    );
    Ok(())
}
