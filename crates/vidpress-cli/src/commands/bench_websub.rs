//! `vidpress bench websub`: signed WebSub notifications verified, parsed and stored per second,
//! with latency percentiles. The real server (`vidpress serve --no-workers`, this binary) runs
//! as its own process on SQLite and then on PostgreSQL; this process is the load generator, over
//! loopback HTTP/1.1 keep-alive connections, like a hub's deliveries.

use std::process::Stdio;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, bail, ensure};
use vidpress_core::ChannelId;
use vidpress_store::channels::NewSubscription;
use vidpress_store::scratch::ScratchDb;
use vidpress_websub::{Algorithm, CallbackToken, Secret, sign};

const CHANNEL: &str = "UCuAXFkgsw1L7xaCfnd5JJOw";

/// Options of `vidpress bench websub`.
#[derive(Debug, Clone, clap::Args)]
pub struct WebsubBenchArgs {
    /// Notifications per phase (each announces a new video in the first phase, and is a repeat
    /// in the second).
    #[arg(long, default_value_t = 20_000)]
    pub notifications: usize,
    /// Concurrent connections.
    #[arg(long, default_value_t = 16)]
    pub connections: usize,
    /// Skip PostgreSQL (it is read from VIDPRESS_TEST_POSTGRES_URL, default the local server).
    #[arg(long)]
    pub sqlite_only: bool,
}

/// A YouTube-style push for one upload (about 1 KiB, like the hub's).
fn notification(n: usize) -> Vec<u8> {
    let id = format!("v{n:010}");
    format!(
        "<?xml version='1.0' encoding='UTF-8'?>\n<feed xmlns:yt=\"http://www.youtube.com/xml/schemas/2015\" \
         xmlns=\"http://www.w3.org/2005/Atom\"><link rel=\"hub\" href=\"https://pubsubhubbub.appspot.com\"/>\
         <link rel=\"self\" href=\"https://www.youtube.com/xml/feeds/videos.xml?channel_id={CHANNEL}\"/>\
         <title>YouTube video feed</title><updated>2026-11-20T17:02:11.104536597+00:00</updated><entry>\n\
         <id>yt:video:{id}</id>\n<yt:videoId>{id}</yt:videoId>\n<yt:channelId>{CHANNEL}</yt:channelId>\n\
         <title>Upload number {n}: what we learned this week</title>\n\
         <link rel=\"alternate\" href=\"https://www.youtube.com/watch?v={id}\"/>\n\
         <author>\n<name>Vidpress Bench Channel</name>\n<uri>https://www.youtube.com/channel/{CHANNEL}</uri>\n</author>\n\
         <published>2099-01-01T00:00:00+00:00</published>\n<updated>2099-01-01T00:00:00+00:00</updated>\n\
         </entry></feed>\n"
    )
    .into_bytes()
}

/// Kills the server when the benchmark ends, however it ends.
struct Server(tokio::process::Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.start_kill();
    }
}

/// Runs the benchmark and prints a Markdown table.
pub async fn run(args: &WebsubBenchArgs) -> anyhow::Result<()> {
    ensure!(args.connections > 0, "--connections must be at least 1");
    println!(
        "Server `vidpress serve --no-workers` in its own process, {} connections, {} \
         notifications per phase, sha1 signatures",
        args.connections, args.notifications
    );
    println!("| database | phase | notifications/s | p50 ms | p99 ms | max ms |");
    println!("|---|---|---|---|---|---|");
    run_on(args, "SQLite (WAL)", ScratchDb::sqlite().await?).await?;
    if !args.sqlite_only {
        let db = ScratchDb::postgres(&super::bench::postgres_server_url()).await?;
        run_on(args, "PostgreSQL", db).await?;
    }
    Ok(())
}

/// Both phases against one database.
async fn run_on(args: &WebsubBenchArgs, database: &str, db: ScratchDb) -> anyhow::Result<()> {
    let store = &db.store;
    let dir = tempfile::tempdir().context("Failed to create a temporary directory")?;
    let owner = store.ensure_user("bench@localhost").await?;
    let channel = ChannelId::parse(CHANNEL)?;
    let token = CallbackToken::generate();
    let secret = Secret::generate();
    let linked = store
        .link_channel(
            owner.id,
            &channel,
            "Bench",
            &NewSubscription {
                topic: "https://www.youtube.com/xml/feeds/videos.xml?channel_id=UCuAXFkgsw1L7xaCfnd5JJOw",
                callback_token: token.as_str(),
                secret: secret.expose(),
            },
            i64::MAX / 2,
        )
        .await?;
    store
        .confirm_subscription(linked.subscription_id, 432_000, i64::MAX / 2)
        .await?;

    let port = std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port();
    let exe = std::env::current_exe().context("Failed to find this program")?;
    let mut child = tokio::process::Command::new(exe);
    child
        .args(["serve", "--no-workers"])
        .env_remove("VIDPRESS_CONFIG")
        .env("VIDPRESS_DATABASE_URL", &db.url)
        .env("VIDPRESS_DATA_DIR", dir.path())
        .env("VIDPRESS_LISTEN", format!("127.0.0.1:{port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .kill_on_drop(true);
    let _server = Server(child.spawn().context("Failed to start the server")?);
    let base = format!("http://127.0.0.1:{port}");
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(args.connections)
        .build()?;
    let started = Instant::now();
    loop {
        if let Ok(r) = http.get(format!("{base}/readyz")).send().await
            && r.status().is_success()
        {
            break;
        }
        if started.elapsed() > Duration::from_secs(30) {
            bail!("the server did not become ready within 30 s");
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let url = format!("{base}/websub/{}", token.as_str());

    let bodies: Arc<Vec<(Vec<u8>, String)>> = Arc::new(
        (0..args.notifications)
            .map(|n| {
                let body = notification(n);
                let signature = sign(Algorithm::Sha1, secret.expose().as_bytes(), &body);
                (body, signature)
            })
            .collect(),
    );
    // Warm up connections and the server's caches on other videos.
    let warmup: Arc<Vec<(Vec<u8>, String)>> = Arc::new(
        (0..200)
            .map(|n| {
                let body = notification(args.notifications + n);
                let signature = sign(Algorithm::Sha1, secret.expose().as_bytes(), &body);
                (body, signature)
            })
            .collect(),
    );
    drive(&http, &url, warmup, args.connections).await?;

    for phase in ["new video each", "repeat (deduplicated)"] {
        let stats = drive(&http, &url, bodies.clone(), args.connections).await?;
        println!(
            "| {database} | {phase} | {:.0} | {:.2} | {:.2} | {:.2} |",
            stats.per_second, stats.p50_ms, stats.p99_ms, stats.max_ms
        );
    }

    let expected = (args.notifications + 200) as i64;
    let videos = store.count_videos().await?;
    let jobs = store.count_jobs(vidpress_core::JobKind::Fetch).await?;
    ensure!(
        videos == expected && jobs == expected,
        "expected {expected} videos and fetch jobs, found {videos} videos and {jobs} jobs"
    );
    println!("{database}: stored {videos} videos, {jobs} fetch jobs (one each, as expected)");
    Ok(())
}

struct Stats {
    per_second: f64,
    p50_ms: f64,
    p99_ms: f64,
    max_ms: f64,
}

/// Posts every body once over `connections` concurrent connections; every answer must be 204.
async fn drive(
    http: &reqwest::Client,
    url: &str,
    bodies: Arc<Vec<(Vec<u8>, String)>>,
    connections: usize,
) -> anyhow::Result<Stats> {
    let next = Arc::new(AtomicUsize::new(0));
    let start = Instant::now();
    let tasks: Vec<_> = (0..connections)
        .map(|_| {
            let (http, url, bodies, next) =
                (http.clone(), url.to_owned(), bodies.clone(), next.clone());
            tokio::spawn(async move {
                let mut latencies = Vec::new();
                loop {
                    let n = next.fetch_add(1, Ordering::Relaxed);
                    let Some((body, signature)) = bodies.get(n) else {
                        break;
                    };
                    let sent = Instant::now();
                    let response = http
                        .post(&url)
                        .header("content-type", "application/atom+xml")
                        .header(vidpress_websub::SIGNATURE_HEADER, signature)
                        .body(body.clone())
                        .send()
                        .await?;
                    let status = response.status();
                    response.bytes().await?;
                    latencies.push(sent.elapsed());
                    ensure!(status.as_u16() == 204, "notification {n} answered {status}");
                }
                anyhow::Ok(latencies)
            })
        })
        .collect();
    let mut latencies = Vec::with_capacity(bodies.len());
    for task in futures::future::join_all(tasks).await {
        latencies.extend(task??);
    }
    let elapsed = start.elapsed();
    latencies.sort();
    let at = |q: f64| {
        let i = ((latencies.len() as f64 * q).ceil() as usize).clamp(1, latencies.len()) - 1;
        latencies[i].as_secs_f64() * 1000.0
    };
    Ok(Stats {
        per_second: latencies.len() as f64 / elapsed.as_secs_f64(),
        p50_ms: at(0.50),
        p99_ms: at(0.99),
        max_ms: at(1.0),
    })
}
