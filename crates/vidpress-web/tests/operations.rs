//! Operations as an operator meets them: the admins' workers page (and the 404 everyone else
//! gets), and `/metrics` — off by default, behind its token on the public listener, alone on
//! its own listener — parsed with a Prometheus text-format parser, its job counters moving when
//! a real worker pool runs jobs.

mod support;

use std::time::Duration;

use reqwest::StatusCode;
use support::App;
use vidpress_core::JobKind;
use vidpress_store::testing::TestDb;
use vidpress_store::{NewJob, NewWorker, Store};
use vidpress_worker::{PoolConfig, Registry, WorkerPool};

const METRICS_TOKEN: &str = "scrape-token-5678";

#[tokio::test]
async fn the_workers_page_lists_workers_with_their_jobs_for_admins_only() {
    let app = App::start().await;
    let mut admin = app.admin().await;
    let page = admin.get("/admin/workers").await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert!(
        page.body.contains("No worker has registered yet"),
        "{}",
        page.body
    );
    assert!(
        page.body.contains("href=\"/admin/workers\""),
        "the admin's navigation links it"
    );

    let kinds = [JobKind::Transcribe, JobKind::Illustrate];
    app.store
        .register_worker(&NewWorker {
            name: "gpu-box-7-abc123",
            host: "gpu-box",
            pid: 7,
            version: "0.1.0",
            device: "GPU: NVIDIA H200, compute capability 9.0",
            kinds: &kinds,
            concurrency: 2,
            heartbeat: Duration::from_secs(10),
        })
        .await
        .unwrap();
    app.store
        .enqueue(&NewJob::new(JobKind::Transcribe, serde_json::json!({})))
        .await
        .unwrap();
    let claimed = app
        .store
        .claim("gpu-box-7-abc123/claim1", &kinds, Duration::from_secs(60))
        .await
        .unwrap()
        .expect("the job is claimed");
    app.store
        .set_progress(&claimed, 42, "transcribing 47%")
        .await
        .unwrap();

    let page = admin.get("/admin/workers").await;
    assert_eq!(page.status, StatusCode::OK);
    for shown in [
        "gpu-box-7-abc123",
        "gpu-box, pid 7",
        "running",
        "NVIDIA H200",
        "transcribe, illustrate",
        &format!("job {}", claimed.job.id),
        "42%",
        "transcribing 47%",
    ] {
        assert!(
            page.body.contains(shown),
            "the page shows {shown:?}: {}",
            page.body
        );
    }

    let mut user = app.user("someone@example.org").await;
    let page = user.get("/admin/workers").await;
    assert_eq!(page.status, StatusCode::NOT_FOUND);
    assert!(!page.body.contains("gpu-box"));
    let videos = user.get("/videos").await;
    assert!(
        !videos.body.contains("/admin/workers"),
        "a non-admin's navigation has no workers link"
    );
}

/// A parsed scrape: each sample's name and labels, and its value.
struct Scrape(prometheus_parse::Scrape);

/// A sample line with the braces inside its label set's quoted values turned into angle brackets.
fn angle_parameters(line: &str) -> String {
    if line.starts_with('#') {
        return line.to_owned();
    }
    let mut out = String::with_capacity(line.len());
    let mut quoted = false;
    for c in line.chars() {
        match c {
            '"' => {
                quoted = !quoted;
                out.push(c);
            }
            '{' if quoted => out.push('<'),
            '}' if quoted => out.push('>'),
            _ => out.push(c),
        }
    }
    out
}

impl Scrape {
    async fn fetch(base: &str, token: &str) -> Scrape {
        let response = reqwest::Client::new()
            .get(format!("{base}/metrics"))
            .bearer_auth(token)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        let content_type = response.headers()["content-type"]
            .to_str()
            .unwrap()
            .to_owned();
        assert!(
            content_type.starts_with("text/plain; version=0.0.4"),
            "{content_type}"
        );
        let text = response.text().await.unwrap();
        // prometheus-parse drops sample lines whose label values hold braces (valid in the text
        // format, and in every axum route with a parameter, `/drafts/{id}`): read `{`/`}` inside
        // a sample's label values as `<`/`>` before parsing.
        let lines = text.lines().map(|l| Ok(angle_parameters(l)));
        Scrape(prometheus_parse::Scrape::parse(lines).expect("the Prometheus text format"))
    }

    /// The value of the sample named `name` whose labels include `labels`; 0 when absent.
    fn value(&self, name: &str, labels: &[(&str, &str)]) -> f64 {
        self.0
            .samples
            .iter()
            .filter(|s| s.metric == name)
            .find(|s| labels.iter().all(|(k, v)| s.labels.get(k) == Some(*v)))
            .map_or(0.0, |s| match &s.value {
                prometheus_parse::Value::Counter(v)
                | prometheus_parse::Value::Gauge(v)
                | prometheus_parse::Value::Untyped(v) => *v,
                prometheus_parse::Value::Histogram(buckets) => {
                    buckets.last().map_or(0.0, |b| b.count)
                }
                prometheus_parse::Value::Summary(_) => f64::NAN,
            })
    }

    fn has(&self, name: &str, labels: &[(&str, &str)]) -> bool {
        self.0
            .samples
            .iter()
            .any(|s| s.metric == name && labels.iter().all(|(k, v)| s.labels.get(k) == Some(*v)))
    }

    /// Whether the family `name` with `labels` came as a histogram (buckets, not a summary).
    fn is_histogram(&self, name: &str, labels: &[(&str, &str)]) -> bool {
        self.0.samples.iter().any(|s| {
            s.metric == name
                && labels.iter().all(|(k, v)| s.labels.get(k) == Some(*v))
                && matches!(&s.value, prometheus_parse::Value::Histogram(b) if b.len() > 3)
        })
    }
}

/// The status of a GET, redirects not followed.
async fn status(url: &str, token: Option<&str>) -> StatusCode {
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let mut request = client.get(url);
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    request.send().await.unwrap().status()
}

fn probe_pool(store: &Store) -> WorkerPool {
    let mut registry = Registry::new();
    vidpress_worker::probe::register(&mut registry);
    WorkerPool::new(
        store.clone(),
        registry,
        PoolConfig {
            name: "metrics-test".into(),
            poll_interval: Duration::from_millis(50),
            ..PoolConfig::default()
        },
    )
}

/// The recorder is the process's: the two scraping tests take turns, so each sees only its own
/// jobs move the counters (when the runner puts tests in threads of one process).
static ONE_AT_A_TIME: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

async fn metrics_move_when_jobs_run(db: TestDb) {
    let _turn = ONE_AT_A_TIME.lock().await;
    let app = App::start_with_metrics(
        db,
        vidpress_web::MetricsConfig {
            handle: vidpress_web::metrics::recorder(),
            token: Some(METRICS_TOKEN.into()),
            listen: Some("127.0.0.1:0".parse().unwrap()),
        },
    )
    .await;
    let public = format!("{}/metrics", app.base);
    assert_eq!(status(&public, None).await, StatusCode::UNAUTHORIZED);
    assert_eq!(
        status(&public, Some("scrape-token-567")).await,
        StatusCode::UNAUTHORIZED
    );
    let own = app
        .metrics_base
        .clone()
        .expect("a separate metrics listener");
    assert_eq!(
        status(&format!("{own}/metrics"), None).await,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        status(&format!("{own}/videos"), Some(METRICS_TOKEN)).await,
        StatusCode::NOT_FOUND,
        "the metrics listener serves nothing else"
    );

    let before = Scrape::fetch(&app.base, METRICS_TOKEN).await;
    let succeeded = [("kind", "probe"), ("outcome", "succeeded")];
    let ran_before = before.value("vidpress_jobs_total", &succeeded);
    for n in 0..3 {
        app.store
            .enqueue(&NewJob::new(
                JobKind::Probe,
                serde_json::json!({ "n": n, "work_ms": 20 }),
            ))
            .await
            .unwrap();
    }
    let queued = Scrape::fetch(&own, METRICS_TOKEN).await;
    assert_eq!(
        queued.value("vidpress_queue_depth", &[("kind", "probe")]),
        3.0
    );
    assert_eq!(
        queued.value("vidpress_queue_depth", &[("kind", "fetch")]),
        0.0
    );
    assert!(queued.value("vidpress_queue_oldest_age_seconds", &[("kind", "probe")]) >= 0.0);
    assert!(queued.has("vidpress_queue_oldest_age_seconds", &[("kind", "probe")]));
    assert_eq!(queued.value("vidpress_database_up", &[]), 1.0);

    assert_eq!(probe_pool(&app.store).run_until_idle().await, 3);
    // A route with a parameter, and a path no route has.
    assert_eq!(
        status(&format!("{}/drafts/12345", app.base), None)
            .await
            .as_u16()
            / 100,
        3
    );
    assert_eq!(
        status(&format!("{}/no/such/page", app.base), None).await,
        StatusCode::NOT_FOUND
    );
    // A notification for a callback that does not exist is refused and counted.
    let refused = reqwest::Client::new()
        .post(format!("{}/websub/{}", app.base, "a".repeat(43)))
        .body("<feed/>")
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), StatusCode::NOT_FOUND);

    let after = Scrape::fetch(&app.base, METRICS_TOKEN).await;
    assert_eq!(
        after.value("vidpress_jobs_total", &succeeded) - ran_before,
        3.0
    );
    assert_eq!(
        after.value("vidpress_queue_depth", &[("kind", "probe")]),
        0.0
    );
    assert_eq!(
        after.value("vidpress_job_duration_seconds_count", &succeeded)
            - before.value("vidpress_job_duration_seconds_count", &succeeded),
        3.0
    );
    assert!(after.is_histogram("vidpress_job_duration_seconds", &succeeded));
    assert!(
        after.is_histogram(
            "vidpress_http_request_duration_seconds",
            &[("route", "/drafts/<id>"), ("method", "GET")]
        ),
        "{:?}",
        after
            .0
            .samples
            .iter()
            .filter(|s| s.metric.starts_with("vidpress_http"))
            .map(|s| (&s.metric, &s.labels))
            .collect::<Vec<_>>()
    );
    assert!(
        !after
            .0
            .samples
            .iter()
            .any(|s| s.labels.get("route") == Some("/drafts/12345")),
        "routes are labelled by their pattern, not the raw URL"
    );
    assert!(
        after.is_histogram(
            "vidpress_http_request_duration_seconds",
            &[("route", "unmatched"), ("status", "404")]
        ),
        "{:?}",
        after
            .0
            .samples
            .iter()
            .filter(|s| s.metric == "vidpress_http_request_duration_seconds")
            .map(|s| &s.labels)
            .collect::<Vec<_>>()
    );
    assert!(
        after.value(
            "vidpress_websub_notifications_total",
            &[("result", "rejected"), ("reason", "unknown_callback")]
        ) >= 1.0
    );
    assert_eq!(
        after.value("vidpress_websub_subscriptions", &[("state", "active")]),
        0.0
    );
    assert!(after.has("vidpress_workers", &[("state", "gone")]));
}

#[tokio::test]
async fn metrics_on_sqlite() {
    metrics_move_when_jobs_run(TestDb::sqlite().await).await;
}

#[tokio::test]
async fn metrics_on_postgres() {
    metrics_move_when_jobs_run(TestDb::postgres().await).await;
}

#[tokio::test]
async fn without_configuration_the_public_listener_has_no_metrics() {
    let app = App::start().await;
    assert_eq!(
        status(&format!("{}/metrics", app.base), Some(METRICS_TOKEN)).await,
        StatusCode::NOT_FOUND
    );
}
