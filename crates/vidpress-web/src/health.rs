//! Liveness and readiness probes.

use axum::Router;
use axum::extract::State;
use axum::routing::get;

use crate::{AppError, AppState};

pub(crate) fn router() -> Router<AppState> {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
}

/// The process is up.
async fn healthz() -> &'static str {
    "ok"
}

/// The process can serve: the database answers.
#[tracing::instrument(skip_all)]
async fn readyz(State(state): State<AppState>) -> Result<&'static str, AppError> {
    state.store.ping().await.map_err(|e| {
        tracing::warn!(error = %e, "readiness check failed");
        AppError::Unavailable("database is not answering".into())
    })?;
    Ok("ready")
}
