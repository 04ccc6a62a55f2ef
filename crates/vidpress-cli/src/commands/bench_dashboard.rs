//! `vidpress bench dashboard`: requests per second and latency of the dashboard's two heaviest
//! pages, the video list (one page of a user's 10,000 videos) and the editor on a 20,000-word
//! draft, signed in, over 64 concurrent keep-alive connections, on SQLite and PostgreSQL. The
//! server runs in this process on its own port; the load generator runs in a second process and
//! shares the cores: `wrk` (Debian's package, one thread, the lightest on two cores) by default,
//! or this binary's hidden `bench http-load` (reqwest) with `--load builtin`.

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, ensure};
use vidpress_store::scratch::ScratchDb;
use vidpress_store::videos::{NewDraft, StoredTranscript, save_draft, save_transcript};
use vidpress_store::{MediaSource, UserId};
use vidpress_web::{ApiConfig, AppState, Application, Dashboard, WebConfig};

/// Options of `vidpress bench dashboard`.
#[derive(Debug, Clone, clap::Args)]
pub struct DashboardBenchArgs {
    /// Videos the user has.
    #[arg(long, default_value_t = 10_000)]
    pub videos: usize,
    /// Words in the edited draft.
    #[arg(long, default_value_t = 20_000)]
    pub words: usize,
    /// Concurrent connections.
    #[arg(long, default_value_t = 64)]
    pub connections: usize,
    /// Requests per page and database (after 200 for warm-up).
    #[arg(long, default_value_t = 5_000)]
    pub requests: usize,
    /// Skip PostgreSQL (it is read from VIDPRESS_TEST_POSTGRES_URL, default the local server).
    #[arg(long)]
    pub sqlite_only: bool,
    /// The load generator: `wrk` (`apt-get install wrk`; it runs for `--seconds` per page
    /// instead of a number of requests) or `builtin` (this program's own, on reqwest).
    #[arg(long, value_enum, default_value_t = Load::Wrk)]
    pub load: Load,
    /// How long wrk loads the list (the editor a fifth of it).
    #[arg(long, default_value_t = 20)]
    pub seconds: u64,
}

/// Which program sends the requests.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Load {
    Wrk,
    Builtin,
}

const EMAIL: &str = "bench@example.org";
const PASSWORD: &str = "benchmark password";
const WORDS: &[&str] = &[
    "the",
    "bread",
    "rises",
    "slowly",
    "when",
    "the",
    "kitchen",
    "is",
    "cool",
    "and",
    "we",
    "wait",
    "patiently",
    "for",
    "the",
    "dough",
    "to",
    "double",
    "before",
    "shaping",
    "it",
    "gently",
];

fn text(words: usize, offset: usize) -> String {
    (0..words)
        .map(|i| WORDS[(i + offset) % WORDS.len()])
        .collect::<Vec<_>>()
        .join(" ")
}

/// Fills the database: the user, its videos (each with a finished job), and one long draft.
async fn fixture(db: &ScratchDb, videos: usize, words: usize) -> anyhow::Result<(UserId, i64)> {
    let store = &db.store;
    let hash = vidpress_web::hash_password(PASSWORD).map_err(|e| anyhow::anyhow!(e))?;
    let user = store
        .create_user(EMAIL, &hash)
        .await?
        .map_err(|e| anyhow::anyhow!("{e:?}"))?;
    db.insert_finished_videos(user.id, videos).await?;
    let (video, _) = store
        .create_video(
            user.id,
            "A two-hour talk",
            MediaSource::Url("https://example.org/long.mp4"),
            3,
        )
        .await?;
    let segments: Vec<serde_json::Value> = (0..words / 20)
        .map(|i| serde_json::json!({ "start_ms": i * 6000, "end_ms": i * 6000 + 5500, "text": text(20, i) }))
        .collect();
    let paragraphs: Vec<String> = (0..words / 100).map(|i| text(100, i)).collect();
    let markdown = format!("# A two-hour talk\n\n{}\n", paragraphs.join("\n\n"));
    let html = vidpress_draft::render_html(&markdown);
    let mut tx = store.begin().await?;
    save_transcript(
        &mut tx,
        video,
        &StoredTranscript {
            language: Some("en".into()),
            model: "base".into(),
            body: serde_json::json!({ "language": "en", "segments": segments }).to_string(),
        },
    )
    .await?;
    save_draft(
        &mut tx,
        video,
        user.id,
        &NewDraft {
            title: "A two-hour talk",
            slug: "a-two-hour-talk",
            body: "{}",
            markdown: &markdown,
            html: &html,
        },
    )
    .await?;
    tx.commit().await?;
    let draft = store
        .draft_for_video(video)
        .await?
        .context("the draft was stored")?
        .id;
    Ok((user.id, draft))
}

/// A client that answers a redirect as it is, so a sign-in page is never taken for the page.
fn without_redirects() -> reqwest::Result<reqwest::Client> {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
}

/// Signs in over HTTP and returns the session cookie.
async fn sign_in(base: &str) -> anyhow::Result<String> {
    let http = without_redirects()?;
    let page = http.get(format!("{base}/sign-in")).send().await?;
    let cookie = session_cookie(&page).context("the sign-in page set no cookie")?;
    let body = page.text().await?;
    let marker = "name=\"csrf\" value=\"";
    let start = body.find(marker).context("no CSRF token")? + marker.len();
    let token = &body[start..start + 64];
    let signed = http
        .post(format!("{base}/sign-in"))
        .header("cookie", format!("vidpress_session={cookie}"))
        .form(&[("csrf", token), ("email", EMAIL), ("password", PASSWORD)])
        .send()
        .await?;
    ensure!(
        signed.status().is_redirection(),
        "sign-in failed: {}",
        signed.status()
    );
    session_cookie(&signed).context("sign-in set no cookie")
}

fn session_cookie(response: &reqwest::Response) -> Option<String> {
    response
        .headers()
        .get_all("set-cookie")
        .iter()
        .find_map(|v| {
            v.to_str()
                .ok()?
                .strip_prefix("vidpress_session=")
                .map(|rest| rest.split(';').next().unwrap_or("").to_owned())
        })
}

/// Options of the hidden `vidpress bench http-load`.
#[derive(Debug, Clone, clap::Args)]
pub struct HttpLoadArgs {
    #[arg(long)]
    url: String,
    /// The session cookie's value.
    #[arg(long)]
    cookie: String,
    #[arg(long)]
    connections: usize,
    #[arg(long)]
    requests: usize,
}

/// Runs the load and prints `requests/s p50 p99 max count` on one line.
pub async fn http_load(args: &HttpLoadArgs) -> anyhow::Result<()> {
    let (rps, times) = load(&args.url, &args.cookie, args.connections, args.requests).await?;
    println!(
        "{rps} {} {} {} {}",
        percentile(&times, 0.5),
        percentile(&times, 0.99),
        percentile(&times, 1.0),
        times.len()
    );
    Ok(())
}

/// What one load run measured.
#[derive(Debug)]
struct LoadFigures {
    rps: f64,
    p50: f64,
    p99: f64,
    max: f64,
    count: usize,
}

/// Runs the load generator in its own process.
async fn load_in_child(
    url: &str,
    cookie: &str,
    connections: usize,
    requests: usize,
) -> anyhow::Result<LoadFigures> {
    let exe = std::env::current_exe().context("cannot find this program to start the load")?;
    let output = tokio::process::Command::new(exe)
        .args(["bench", "http-load", "--url", url, "--cookie", cookie])
        .args(["--connections", &connections.to_string()])
        .args(["--requests", &requests.to_string()])
        .kill_on_drop(true)
        .output()
        .await
        .context("cannot start the load generator")?;
    ensure!(
        output.status.success(),
        "the load generator failed: {}",
        String::from_utf8_lossy(&output.stderr).trim()
    );
    let line = String::from_utf8(output.stdout)?;
    let figures: Vec<f64> = line
        .split_whitespace()
        .map(str::parse)
        .collect::<Result<_, _>>()
        .with_context(|| format!("the load generator printed `{}`", line.trim()))?;
    let [rps, p50, p99, max, count] = figures[..] else {
        anyhow::bail!("the load generator printed `{}`", line.trim());
    };
    Ok(LoadFigures {
        rps,
        p50,
        p99,
        max,
        count: count as usize,
    })
}

/// The size of the page at `url` for the signed-in user, checking that it is the page (not a
/// redirect to the sign-in page).
async fn page_size(url: &str, cookie: &str) -> anyhow::Result<usize> {
    let response = without_redirects()?
        .get(url)
        .header("cookie", format!("vidpress_session={cookie}"))
        .send()
        .await?;
    ensure!(
        response.status().is_success(),
        "GET {url}: {}",
        response.status()
    );
    Ok(response.bytes().await?.len())
}

/// Runs wrk against `url` for `seconds` and reads its figures. wrk counts a redirect as a
/// success, so every response must have been about as large as the page (`page_bytes`).
async fn wrk(
    url: &str,
    cookie: &str,
    connections: usize,
    seconds: u64,
    page_bytes: usize,
) -> anyhow::Result<LoadFigures> {
    let output = tokio::process::Command::new("wrk")
        .args(["--threads", "1", "--latency"])
        .args(["--connections", &connections.to_string()])
        .args(["--duration", &format!("{seconds}s")])
        .args(["--header", &format!("Cookie: vidpress_session={cookie}")])
        .arg(url)
        .kill_on_drop(true)
        .output()
        .await
        .map_err(|e| {
            anyhow::anyhow!(
                "cannot run wrk ({e}): install it (apt-get install wrk) or use --load builtin"
            )
        })?;
    let text = String::from_utf8_lossy(&output.stdout);
    ensure!(
        output.status.success(),
        "wrk failed: {}{}",
        text.trim(),
        String::from_utf8_lossy(&output.stderr).trim()
    );
    let figures = parse_wrk(&text).with_context(|| format!("cannot read wrk's report:\n{text}"))?;
    ensure!(
        figures.bytes >= figures.count as f64 * page_bytes as f64 * 0.9,
        "wrk's responses were smaller than the page ({page_bytes} bytes): not signed in?\n{text}"
    );
    Ok(figures.load)
}

/// What wrk's report says.
#[derive(Debug)]
struct WrkReport {
    load: LoadFigures,
    count: usize,
    bytes: f64,
}

/// Reads wrk's `--latency` report: requests per second, the 50 % and 99 % latencies, the
/// largest, how many requests and how many bytes; an error when any answer was not 2xx/3xx or
/// any request failed.
fn parse_wrk(text: &str) -> anyhow::Result<WrkReport> {
    fn millis(value: &str) -> Option<f64> {
        let (number, unit) = value.split_at(value.find(|c: char| c.is_ascii_alphabetic())?);
        let number: f64 = number.parse().ok()?;
        Some(match unit {
            "us" => number / 1000.0,
            "ms" => number,
            "s" => number * 1000.0,
            "m" => number * 60_000.0,
            _ => return None,
        })
    }
    fn bytes(value: &str) -> Option<f64> {
        let (number, unit) = value.split_at(value.find(|c: char| c.is_ascii_alphabetic())?);
        let number: f64 = number.parse().ok()?;
        let power = ["B", "KB", "MB", "GB", "TB"]
            .iter()
            .position(|u| *u == unit)?;
        Some(number * 1024f64.powi(power as i32))
    }
    let (mut rps, mut p50, mut p99, mut max, mut count, mut read) =
        (None, None, None, None, None, None);
    for line in text.lines() {
        let words: Vec<&str> = line.split_whitespace().collect();
        match words[..] {
            ["Latency", _avg, _stdev, m, ..] => max = millis(m),
            ["50%", v] => p50 = millis(v),
            ["99%", v] => p99 = millis(v),
            ["Requests/sec:", v] => rps = v.parse().ok(),
            [n, "requests", "in", _, b, "read"] => {
                count = n.parse().ok();
                read = bytes(b);
            }
            ["Non-2xx", ..] | ["Socket", "errors:", ..] => anyhow::bail!("{}", line.trim()),
            _ => {}
        }
    }
    let count: usize = count.context("no request count")?;
    Ok(WrkReport {
        load: LoadFigures {
            rps: rps.context("no requests per second")?,
            p50: p50.context("no 50 % latency")?,
            p99: p99.context("no 99 % latency")?,
            max: max.context("no largest latency")?,
            count,
        },
        count,
        bytes: read.context("no bytes read")?,
    })
}

/// Latencies of `requests` GETs of `url` over `connections` connections.
async fn load(
    url: &str,
    cookie: &str,
    connections: usize,
    requests: usize,
) -> anyhow::Result<(f64, Vec<Duration>)> {
    let next = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let started = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..connections {
        let http = reqwest::Client::builder()
            .pool_max_idle_per_host(1)
            .build()?;
        let url = url.to_owned();
        let cookie = format!("vidpress_session={cookie}");
        let next = next.clone();
        tasks.push(tokio::spawn(async move {
            let mut times = Vec::new();
            while next.fetch_add(1, std::sync::atomic::Ordering::Relaxed) < requests {
                let t = Instant::now();
                let response = http.get(&url).header("cookie", &cookie).send().await?;
                let status = response.status();
                let body = response.bytes().await?;
                anyhow::ensure!(
                    status.is_success() && !body.is_empty(),
                    "GET {url}: {status}"
                );
                times.push(t.elapsed());
            }
            Ok::<_, anyhow::Error>(times)
        }));
    }
    let mut all = Vec::with_capacity(requests);
    for task in tasks {
        all.extend(task.await??);
    }
    let seconds = started.elapsed().as_secs_f64();
    all.sort();
    Ok((all.len() as f64 / seconds, all))
}

fn percentile(sorted: &[Duration], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let index = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[index].as_secs_f64() * 1000.0
}

/// Runs the benchmark and prints a Markdown table.
pub async fn run(args: &DashboardBenchArgs) -> anyhow::Result<()> {
    ensure!(args.connections > 0, "--connections must be at least 1");
    println!(
        "| database | page | connections | requests | requests/s | p50 ms | p99 ms | max ms |\n|---|---|---|---|---|---|---|---|"
    );
    let mut backends = vec!["SQLite"];
    if !args.sqlite_only {
        backends.push("PostgreSQL");
    }
    for backend in backends {
        let db = if backend == "SQLite" {
            ScratchDb::sqlite().await?
        } else {
            ScratchDb::postgres(&super::bench::postgres_server_url()).await?
        };
        let (user, draft) = fixture(&db, args.videos, args.words).await?;
        let uploads = tempfile::tempdir()?;
        let state = AppState {
            store: db.store.clone(),
            api: ApiConfig {
                token: None,
                user,
                uploads_dir: uploads.path().to_path_buf(),
                max_upload_bytes: 1 << 20,
                max_attempts: 3,
                addresses: vidpress_core::net::AddressPolicy::ALLOW_PRIVATE,
            },
            dashboard: Dashboard::default(),
            workers: None,
        };
        let app = Application::build(&WebConfig::new("127.0.0.1:0".parse()?), state).await?;
        let base = format!("http://{}", app.local_addr()?);
        let server = tokio::spawn(app.run_until_stopped(std::future::pending()));
        let cookie = sign_in(&base).await?;
        // The editor gets a fifth of the list's load.
        for (page, url, requests, seconds) in [
            (
                format!("video list (page 1 of {})", args.videos),
                format!("{base}/videos"),
                args.requests,
                args.seconds,
            ),
            (
                format!("editor, {}-word draft", args.words),
                format!("{base}/drafts/{draft}"),
                args.requests / 5,
                args.seconds.div_ceil(5),
            ),
        ] {
            load_in_child(&url, &cookie, args.connections, 200).await?;
            let f = match args.load {
                Load::Builtin => load_in_child(&url, &cookie, args.connections, requests).await?,
                Load::Wrk => {
                    let page_bytes = page_size(&url, &cookie).await?;
                    wrk(&url, &cookie, args.connections, seconds, page_bytes).await?
                }
            };
            println!(
                "| {backend} | {page} | {} | {} | {:.0} | {:.2} | {:.2} | {:.2} |",
                args.connections, f.count, f.rps, f.p50, f.p99, f.max,
            );
        }
        server.abort();
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_wrks_report() {
        let report = "Running 20s test @ http://127.0.0.1:41234/videos
  1 threads and 64 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency    14.52ms    3.10ms  61.20ms   88.00%
    Req/Sec     4.41k   210.33     4.80k    71.00%
  Latency Distribution
     50%   13.90ms
     75%   15.40ms
     90%   17.80ms
     99%   24.05ms
  88123 requests in 20.00s, 2.15GB read
Requests/sec:   4406.02
Transfer/sec:    110.10MB
";
        let r = parse_wrk(report).unwrap();
        assert_eq!(r.count, 88123);
        assert_eq!(r.load.count, 88123);
        assert!((r.load.rps - 4406.02).abs() < 1e-9);
        assert!((r.load.p50 - 13.9).abs() < 1e-9);
        assert!((r.load.p99 - 24.05).abs() < 1e-9);
        assert!((r.load.max - 61.2).abs() < 1e-9);
        assert!((r.bytes - 2.15 * 1024f64.powi(3)).abs() < 1.0);

        let fast = report
            .replace("13.90ms", "850.00us")
            .replace("61.20ms", "1.02s");
        let r = parse_wrk(&fast).unwrap();
        assert!((r.load.p50 - 0.85).abs() < 1e-9);
        assert!((r.load.max - 1020.0).abs() < 1e-9);

        let failing = format!("{report}  Non-2xx or 3xx responses: 12\n");
        assert!(
            parse_wrk(&failing)
                .unwrap_err()
                .to_string()
                .contains("Non-2xx")
        );
        assert!(parse_wrk("wrk: connection refused").is_err());
    }
}
