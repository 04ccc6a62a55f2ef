//! Vidpress's HTTP side: the axum router (health checks now; webhooks, dashboard and JSON API as
//! they land), its shared state, and the server's startup and graceful shutdown. Only this crate
//! knows axum; it never touches FFmpeg or Whisper.

mod api;
mod error;
mod health;
mod startup;
mod websub;

pub use api::ApiConfig;
pub use error::AppError;
pub use startup::{AppState, Application, WebConfig, router};
pub use websub::MAX_NOTIFICATION_BYTES;
