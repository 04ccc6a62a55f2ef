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
        .layer(axum::middleware::map_response(crate::security::headers))
        .layer(TraceLayer::new_for_http())
        .with_state(state)
}

/// A bound, not yet serving, web server.
#[derive(Debug)]
pub struct Application {
    listener: TcpListener,
    router: Router,
    stopping: tokio_util::sync::CancellationToken,
}

impl Application {
    /// Binds the listener and builds the router.
    pub async fn build(config: &WebConfig, state: AppState) -> std::io::Result<Application> {
        let listener = TcpListener::bind(config.listen).await?;
        let stopping = state.dashboard.stopping.clone();
        Ok(Application {
            listener,
            router: router(state),
            stopping,
        })
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
        let stopping = self.stopping.clone();
        let shutdown = async move {
            shutdown.await;
            stopping.cancel();
        };
        axum::serve(
            self.listener,
            self.router
                .into_make_service_with_connect_info::<SocketAddr>(),
        )
        .with_graceful_shutdown(shutdown)
        .await
    }
}
