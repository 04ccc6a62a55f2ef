//! Building the application: state, router, listener, and serving until told to stop.

use std::future::Future;
use std::net::SocketAddr;
use std::time::Duration;

use axum::Router;
use tokio::net::TcpListener;
use tower_http::trace::TraceLayer;
use vidpress_store::Store;
use vidpress_websub::YouTube;

/// What the web server needs to know.
#[derive(Debug, Clone)]
pub struct WebConfig {
    /// Address to listen on; port 0 picks a free port (tests).
    pub listen: SocketAddr,
    /// How long a client may take to send a request's headers before the connection is closed.
    pub header_timeout: Duration,
    /// How long a request may take to be answered (uploads excepted: their size limit and
    /// the body timeout bound them), and the longest pause within a request body.
    pub request_timeout: Duration,
    /// Most connections served at once; further clients wait in the listen queue.
    pub max_connections: usize,
    /// `/metrics`: behind a token on this listener, and/or on an address of its own; `None`
    /// serves no metrics.
    pub metrics: Option<crate::MetricsConfig>,
}

impl WebConfig {
    /// Listening on `listen` with the default limits: 30 s for headers, 300 s per request,
    /// 1024 connections.
    pub fn new(listen: SocketAddr) -> WebConfig {
        WebConfig {
            listen,
            header_timeout: Duration::from_secs(30),
            request_timeout: Duration::from_secs(300),
            max_connections: 1024,
            metrics: None,
        }
    }
}

/// The dashboard's settings and its per-process state.
#[derive(Debug, Clone)]
pub struct Dashboard {
    /// The operator account's email: the first-run setup turns that account into the admin.
    pub owner_email: String,
    /// Whether people may create their own accounts (the first account is always possible).
    pub allow_signup: bool,
    /// Session cookies carry `Secure` (the public URL is https).
    pub secure_cookies: bool,
    /// Where channel pages and feeds are read, to link channels; `None` turns linking off.
    pub youtube: Option<YouTube>,
    /// How long after linking a channel its feed is first polled.
    pub feed_poll: Duration,
    /// Failed sign-ins per account and per address.
    pub limiter: crate::auth::SignInLimiter,
    /// Cancelled when the server starts shutting down, so live-progress streams end and the
    /// graceful shutdown does not wait for them.
    pub stopping: tokio_util::sync::CancellationToken,
    /// Seals connection secrets and makes WordPress/Ghost clients; `None` turns exporting off.
    pub exporters: Option<vidpress_publish::Exporters>,
}

impl Default for Dashboard {
    fn default() -> Self {
        Dashboard {
            owner_email: "owner@localhost".into(),
            allow_signup: false,
            secure_cookies: false,
            youtube: None,
            feed_poll: Duration::from_secs(3600),
            limiter: crate::auth::SignInLimiter::default(),
            stopping: tokio_util::sync::CancellationToken::new(),
            exporters: None,
        }
    }
}

/// State shared by every handler.
#[derive(Debug, Clone)]
pub struct AppState {
    pub store: Store,
    /// The JSON API's token, user and upload settings.
    pub api: crate::ApiConfig,
    /// The dashboard's settings.
    pub dashboard: Dashboard,
    /// Wakes the embedded worker pool after a job is enqueued (absent with `--no-workers`).
    pub workers: Option<std::sync::Arc<tokio::sync::Notify>>,
}

impl AppState {
    /// Tells the embedded worker pool that new work is queued.
    pub fn wake_workers(&self) {
        if let Some(workers) = &self.workers {
            workers.notify_one();
        }
    }
}

/// Every route, merged in one place. The dashboard's routes carry sessions and CSRF checks;
/// every response carries the security headers.
pub fn router(state: AppState) -> Router {
    Router::new()
        .merge(crate::health::router())
        .merge(crate::api::router(state.api.max_upload_bytes))
        .merge(crate::websub::router())
        .merge(crate::views::router(&state))
        .merge(crate::assets::router())
        // A route of its own, so an unknown path passes through the layers below like any page
        // (security headers, metrics) instead of axum's bare default.
        .fallback(not_found)
        .layer(axum::middleware::from_fn(crate::metrics::track_http))
        .layer(axum::middleware::map_response(crate::security::headers))
        .layer(TraceLayer::new_for_http())
        .with_state(state)
}

/// The page for a path no route has.
async fn not_found() -> axum::response::Response {
    crate::views::error_page(
        axum::http::StatusCode::NOT_FOUND,
        "Page not found",
        "There is nothing at this address. Check the link, or go back to your videos.",
    )
}

/// Whether a path takes a media upload, which may rightly take longer than any fixed time.
fn is_upload(path: &str) -> bool {
    matches!(path, "/api/uploads" | "/videos/upload")
}

/// Answers 503 when a request takes longer than the limit (uploads excepted).
async fn time_limit(
    axum::extract::State(limit): axum::extract::State<Duration>,
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    use axum::response::IntoResponse;
    if is_upload(request.uri().path()) {
        return next.run(request).await;
    }
    match tokio::time::timeout(limit, next.run(request)).await {
        Ok(response) => response,
        Err(_) => (
            axum::http::StatusCode::SERVICE_UNAVAILABLE,
            "the request took too long to answer",
        )
            .into_response(),
    }
}

/// Whether the client sends enough of its request within `limit` to tell HTTP/1 from HTTP/2
/// (the first byte that differs from the HTTP/2 preface, or the whole preface); the bytes stay
/// in the socket for the server to read.
async fn request_starts_in_time(stream: &tokio::net::TcpStream, limit: Duration) -> bool {
    const PREFACE: &[u8] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";
    let enough = async {
        let mut buffer = [0u8; PREFACE.len()];
        loop {
            match stream.peek(&mut buffer).await {
                Ok(0) | Err(_) => return false,
                Ok(n) if n == PREFACE.len() || buffer[..n] != PREFACE[..n] => return true,
                // A part of the preface: the rest is on its way.
                Ok(_) => tokio::time::sleep(Duration::from_millis(20)).await,
            }
        }
    };
    tokio::time::timeout(limit, enough).await.unwrap_or(false)
}

/// A bound, not yet serving, web server.
#[derive(Debug)]
pub struct Application {
    listener: TcpListener,
    router: Router,
    stopping: tokio_util::sync::CancellationToken,
    header_timeout: Duration,
    max_connections: usize,
    metrics: Option<crate::MetricsServer>,
}

impl Application {
    /// Binds the listener and builds the router with the request time limits.
    pub async fn build(config: &WebConfig, state: AppState) -> std::io::Result<Application> {
        let listener = TcpListener::bind(config.listen).await?;
        let stopping = state.dashboard.stopping.clone();
        let (public_metrics, metrics) = match &config.metrics {
            Some(metrics) => (
                crate::metrics::public_router(&state.store, metrics),
                crate::MetricsServer::bind(&state.store, metrics).await?,
            ),
            None => (None, None),
        };
        let mut router = router(state);
        if let Some(public_metrics) = public_metrics {
            router = router.merge(public_metrics);
        }
        let router = router
            .layer(axum::middleware::from_fn_with_state(
                config.request_timeout,
                time_limit,
            ))
            .layer(tower_http::timeout::RequestBodyTimeoutLayer::new(
                config.request_timeout,
            ));
        Ok(Application {
            listener,
            router,
            stopping,
            header_timeout: config.header_timeout,
            max_connections: config.max_connections.max(1),
            metrics,
        })
    }

    /// The address of the separate metrics listener, when one is configured.
    pub fn metrics_addr(&self) -> Option<SocketAddr> {
        self.metrics.as_ref().and_then(|m| m.local_addr().ok())
    }

    /// The address actually bound (useful with port 0).
    pub fn local_addr(&self) -> std::io::Result<SocketAddr> {
        self.listener.local_addr()
    }

    /// Serves until `shutdown` completes, then finishes in-flight requests and returns.
    pub async fn run_until_stopped(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> std::io::Result<()> {
        use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
        use hyper_util::server::graceful::GracefulShutdown;

        let mut builder = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new());
        builder
            .http1()
            .timer(TokioTimer::new())
            .header_read_timeout(self.header_timeout);
        builder.http2().timer(TokioTimer::new());
        let graceful = GracefulShutdown::new();
        let metrics_stop = tokio_util::sync::CancellationToken::new();
        let metrics = self.metrics.map(|server| {
            let stop = metrics_stop.clone();
            tokio::spawn(server.run_until_stopped(async move { stop.cancelled().await }))
        });
        let slots = std::sync::Arc::new(tokio::sync::Semaphore::new(self.max_connections));
        tokio::pin!(shutdown);
        loop {
            // A free slot first, then a connection: past the limit, clients wait in the
            // listen queue instead of being served half-way.
            let slot = tokio::select! {
                slot = slots.clone().acquire_owned() => match slot {
                    Ok(slot) => slot,
                    Err(_) => break,
                },
                () = &mut shutdown => break,
            };
            let (stream, peer) = tokio::select! {
                accepted = self.listener.accept() => match accepted {
                    Ok(accepted) => accepted,
                    Err(error) => {
                        // Out of file descriptors, or a connection reset before accept:
                        // wait a moment rather than spin.
                        tracing::warn!(%error, "accepting a connection failed");
                        tokio::time::sleep(Duration::from_millis(50)).await;
                        continue;
                    }
                },
                () = &mut shutdown => break,
            };
            let router = self.router.clone();
            let service = hyper::service::service_fn(
                move |mut request: hyper::Request<hyper::body::Incoming>| {
                    request
                        .extensions_mut()
                        .insert(axum::extract::ConnectInfo(peer));
                    tower::ServiceExt::oneshot(router.clone(), request)
                },
            );
            let (builder, watcher) = (builder.clone(), graceful.watcher());
            let header_timeout = self.header_timeout;
            tokio::spawn(async move {
                // Telling HTTP/1 from HTTP/2 waits for the first bytes with no time limit of
                // its own, so a client that connects and sends nothing would hold its slot
                // for ever: it gets the header timeout too.
                if !request_starts_in_time(&stream, header_timeout).await {
                    tracing::debug!(%peer, "closed a connection that sent no request in time");
                    drop(slot);
                    return;
                }
                let connection = builder
                    .serve_connection_with_upgrades(TokioIo::new(stream), service)
                    .into_owned();
                if let Err(error) = watcher.watch(connection).await {
                    tracing::debug!(%peer, %error, "connection ended with an error");
                }
                drop(slot);
            });
        }
        self.stopping.cancel();
        drop(self.listener);
        graceful.shutdown().await;
        metrics_stop.cancel();
        if let Some(metrics) = metrics {
            metrics.await.map_err(std::io::Error::other)??;
        }
        Ok(())
    }
}
