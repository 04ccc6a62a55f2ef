//! Building the application: state, router, listener, and serving until told to stop.

use std::future::Future;
use std::net::SocketAddr;

use axum::Router;
use tokio::net::TcpListener;
use tower_http::trace::TraceLayer;
use vidpress_store::Store;

/// What the web server needs to know.
#[derive(Debug, Clone)]
pub struct WebConfig {
    /// Address to listen on; port 0 picks a free port (tests).
    pub listen: SocketAddr,
}

/// State shared by every handler.
#[derive(Debug, Clone)]
pub struct AppState {
    pub store: Store,
    /// The JSON API's token, user and upload settings.
    pub api: crate::ApiConfig,
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

/// Every route, merged in one place.
pub fn router(state: AppState) -> Router {
    Router::new()
        .merge(crate::health::router())
        .merge(crate::api::router(state.api.max_upload_bytes))
        .merge(crate::websub::router())
        .layer(TraceLayer::new_for_http())
        .with_state(state)
}

/// A bound, not yet serving, web server.
#[derive(Debug)]
pub struct Application {
    listener: TcpListener,
    router: Router,
}

impl Application {
    /// Binds the listener and builds the router.
    pub async fn build(config: &WebConfig, state: AppState) -> std::io::Result<Application> {
        let listener = TcpListener::bind(config.listen).await?;
        Ok(Application {
            listener,
            router: router(state),
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
        axum::serve(self.listener, self.router)
            .with_graceful_shutdown(shutdown)
            .await
    }
}
