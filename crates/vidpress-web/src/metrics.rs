//! Prometheus metrics: the process's recorder (job, WebSub, transcription and HTTP figures the
//! other modules count with the `metrics` macros), and `/metrics` in the text format. Figures
//! the database holds (the queue per kind, subscriptions per state, workers per state) are read
//! at scrape time, so every web node and worker reports the same queue.
//!
//! `/metrics` is never open on the public listener by default: it is served there only behind
//! a bearer token (`metrics_token`), or on a separate address (`metrics_listen`).

use std::fmt::Write as _;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::OnceLock;
use std::time::Instant;

use axum::Router;
use axum::extract::{MatchedPath, Request, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use subtle::ConstantTimeEq;
use vidpress_core::JobKind;
use vidpress_store::{Store, WorkerState};

/// Where `/metrics` is served and what it asks. `Debug` leaves the token out.
#[derive(Clone)]
pub struct MetricsConfig {
    /// Renders what the process's recorder holds ([`recorder`]).
    pub handle: PrometheusHandle,
    /// A bearer token `/metrics` requires; with one, the public listener serves `/metrics`.
    pub token: Option<String>,
    /// A separate address serving only `/metrics`.
    pub listen: Option<SocketAddr>,
}

impl std::fmt::Debug for MetricsConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MetricsConfig")
            .field("token", &self.token.as_ref().map(|_| "***"))
            .field("listen", &self.listen)
            .finish()
    }
}

/// Seconds: requests and short jobs at the low end, transcriptions and diffusion at the top.
const DURATION_BUCKETS: &[f64] = &[
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0, 600.0,
    1800.0, 3600.0,
];

/// Times faster than real time: a slow CPU at the low end, a large GPU at the top.
const REALTIME_BUCKETS: &[f64] = &[
    0.25, 0.5, 1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0, 128.0, 256.0,
];

/// The process's Prometheus recorder, installed on first use; later calls return the same
/// handle (tests start many servers in one process).
pub fn recorder() -> PrometheusHandle {
    static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();
    HANDLE
        .get_or_init(|| {
            let recorder = PrometheusBuilder::new()
                .set_buckets_for_metric(
                    Matcher::Suffix("duration_seconds".into()),
                    DURATION_BUCKETS,
                )
                .and_then(|b| {
                    b.set_buckets_for_metric(
                        Matcher::Full("vidpress_transcribe_realtime_factor".into()),
                        REALTIME_BUCKETS,
                    )
                })
                .expect("the bucket lists are not empty")
                .build_recorder();
            let handle = recorder.handle();
            if metrics::set_global_recorder(recorder).is_err() {
                tracing::warn!("a metrics recorder was already installed; /metrics shows only the database's figures");
            }
            describe();
            handle
        })
        .clone()
}

fn describe() {
    use metrics::{Unit, describe_counter, describe_histogram};
    describe_counter!(
        "vidpress_jobs_total",
        "Jobs this process ran, by kind and outcome (succeeded, retried, failed, released, stopped)."
    );
    describe_histogram!(
        "vidpress_job_duration_seconds",
        Unit::Seconds,
        "How long each job ran in this process, by kind (the pipeline step) and outcome."
    );
    describe_counter!(
        "vidpress_job_failures_total",
        "Failed job runs by kind and reason class (retryable, scheduled, permanent, panic)."
    );
    describe_counter!(
        "vidpress_job_retries_total",
        "Failed job runs put back on the queue for another attempt, by kind."
    );
    describe_counter!(
        "vidpress_websub_notifications_total",
        "WebSub notifications received, by result (accepted, rejected) and reason."
    );
    describe_histogram!(
        "vidpress_transcribe_realtime_factor",
        "Seconds of audio transcribed per second of work, by device."
    );
    describe_histogram!(
        "vidpress_http_request_duration_seconds",
        Unit::Seconds,
        "HTTP request durations by method, route (the matched path) and status."
    );
}

/// Times each request under its route's pattern (`/videos/{id}`, not the raw URL); requests
/// no route matched share `unmatched`.
pub(crate) async fn track_http(request: Request, next: Next) -> Response {
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_owned(), |p| p.as_str().to_owned());
    let method = request.method().as_str().to_owned();
    let started = Instant::now();
    let response = next.run(request).await;
    metrics::histogram!(
        "vidpress_http_request_duration_seconds",
        "method" => method,
        "route" => route,
        "status" => response.status().as_u16().to_string(),
    )
    .record(started.elapsed().as_secs_f64());
    response
}

#[derive(Clone)]
struct MetricsState {
    store: Store,
    handle: PrometheusHandle,
    token: Option<String>,
}

/// `/metrics` alone, for the public listener (behind the token) or a separate one.
fn endpoint(store: Store, config: &MetricsConfig) -> Router {
    Router::new()
        .route("/metrics", get(scrape))
        .with_state(MetricsState {
            store,
            handle: config.handle.clone(),
            token: config.token.clone(),
        })
}

/// `/metrics` for the public listener: present only when a token guards it.
pub(crate) fn public_router(store: &Store, config: &MetricsConfig) -> Option<Router> {
    config
        .token
        .as_ref()
        .map(|_| endpoint(store.clone(), config))
}

fn authorized(headers: &HeaderMap, token: Option<&str>) -> bool {
    let Some(token) = token else { return true };
    let given = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .unwrap_or("");
    bool::from(given.as_bytes().ct_eq(token.as_bytes()))
}

#[tracing::instrument(skip_all)]
async fn scrape(State(state): State<MetricsState>, headers: HeaderMap) -> Response {
    if !authorized(&headers, state.token.as_deref()) {
        return (
            StatusCode::UNAUTHORIZED,
            [(header::WWW_AUTHENTICATE, "Bearer")],
            "a metrics token is required",
        )
            .into_response();
    }
    let mut text = state.handle.render();
    match database_figures(&state.store).await {
        Ok(figures) => text.push_str(&figures),
        Err(e) => {
            tracing::warn!(error = %e, "metrics: the database's figures could not be read");
            text.push_str(
                "# HELP vidpress_database_up Whether the database answered this scrape.\n\
                 # TYPE vidpress_database_up gauge\nvidpress_database_up 0\n",
            );
        }
    }
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        text,
    )
        .into_response()
}

/// One gauge family in the text format.
fn gauge(out: &mut String, name: &str, help: &str, samples: &[(String, f64)]) {
    let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} gauge");
    for (labels, value) in samples {
        if labels.is_empty() {
            let _ = writeln!(out, "{name} {value}");
        } else {
            let _ = writeln!(out, "{name}{{{labels}}} {value}");
        }
    }
}

/// The queue, subscriptions and workers as the database has them now.
async fn database_figures(store: &Store) -> Result<String, vidpress_store::StoreError> {
    let queue = store.queue_by_kind().await?;
    let subscriptions = store.subscription_stats().await?;
    let workers = store.workers().await?;
    let mut out = String::new();
    gauge(
        &mut out,
        "vidpress_database_up",
        "Whether the database answered this scrape.",
        &[(String::new(), 1.0)],
    );
    let per_kind = |value: &dyn Fn(&vidpress_store::stats::KindStats) -> f64| {
        JobKind::ALL
            .iter()
            .map(|kind| {
                let v = queue
                    .iter()
                    .find(|s| s.kind == kind.as_str())
                    .map_or(0.0, value);
                (format!("kind=\"{}\"", kind.as_str()), v)
            })
            .collect::<Vec<_>>()
    };
    gauge(
        &mut out,
        "vidpress_queue_depth",
        "Jobs queued and due now, by kind.",
        &per_kind(&|s| s.due as f64),
    );
    gauge(
        &mut out,
        "vidpress_queue_scheduled",
        "Jobs queued for later (retries, renewals, feed polls), by kind.",
        &per_kind(&|s| s.scheduled as f64),
    );
    gauge(
        &mut out,
        "vidpress_queue_running",
        "Jobs leased by a worker, by kind.",
        &per_kind(&|s| s.running as f64),
    );
    gauge(
        &mut out,
        "vidpress_queue_oldest_age_seconds",
        "How long the longest-waiting due job has waited, by kind (0 when none waits).",
        &per_kind(&|s| s.oldest_due_ms as f64 / 1000.0),
    );
    let states = ["pending", "active", "failed", "unsubscribed"];
    let by_state: Vec<(String, f64)> = states
        .iter()
        .map(|state| {
            let n = subscriptions
                .iter()
                .find(|s| s.state == *state)
                .map_or(0, |s| s.count);
            (format!("state=\"{state}\""), n as f64)
        })
        .collect();
    gauge(
        &mut out,
        "vidpress_websub_subscriptions",
        "WebSub subscriptions by state.",
        &by_state,
    );
    let soonest = subscriptions
        .iter()
        .find(|s| s.state == "active")
        .and_then(|s| s.soonest_lease_expiry);
    if let Some(at) = soonest {
        gauge(
            &mut out,
            "vidpress_websub_lease_expiry_soonest_timestamp_seconds",
            "When the soonest active subscription lease expires (Unix time); absent with none.",
            &[(String::new(), at as f64 / 1000.0)],
        );
    }
    let by_worker_state: Vec<(String, f64)> = WorkerState::ALL
        .iter()
        .map(|state| {
            let n = workers.iter().filter(|w| w.state == *state).count();
            (format!("state=\"{}\"", state.as_str()), n as f64)
        })
        .collect();
    gauge(
        &mut out,
        "vidpress_workers",
        "Registered worker processes by state (running, stopped, gone).",
        &by_worker_state,
    );
    Ok(out)
}

/// A listener that serves only `/metrics` (`metrics_listen`), for web nodes and worker
/// processes alike.
#[derive(Debug)]
pub struct MetricsServer {
    listener: tokio::net::TcpListener,
    router: Router,
}

impl MetricsServer {
    /// Binds `config.listen`; `None` when no separate address is configured.
    pub async fn bind(store: &Store, config: &MetricsConfig) -> std::io::Result<Option<Self>> {
        let Some(listen) = config.listen else {
            return Ok(None);
        };
        let listener = tokio::net::TcpListener::bind(listen).await?;
        Ok(Some(MetricsServer {
            listener,
            router: endpoint(store.clone(), config),
        }))
    }

    /// The address actually bound.
    pub fn local_addr(&self) -> std::io::Result<SocketAddr> {
        self.listener.local_addr()
    }

    /// Serves until `shutdown` completes.
    pub async fn run_until_stopped(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> std::io::Result<()> {
        axum::serve(self.listener, self.router)
            .with_graceful_shutdown(shutdown)
            .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_token_is_checked_whole() {
        let mut headers = HeaderMap::new();
        assert!(authorized(&headers, None));
        assert!(!authorized(&headers, Some("s3cret")));
        headers.insert(header::AUTHORIZATION, "Bearer s3cre".parse().unwrap());
        assert!(!authorized(&headers, Some("s3cret")));
        headers.insert(header::AUTHORIZATION, "Bearer s3cret".parse().unwrap());
        assert!(authorized(&headers, Some("s3cret")));
    }
}
