//! Vidpress's HTTP side: the axum router (health checks, the WebSub webhook, the JSON API and
//! the server-rendered dashboard), its shared state, and the server's startup and graceful
//! shutdown. Only this crate knows axum and askama; it never touches FFmpeg or Whisper.

mod api;
mod api_exports;
mod assets;
mod auth;
mod csrf;
mod error;
mod exports;
mod header_images;
mod health;
pub mod metrics;
mod security;
mod sessions;
mod startup;
mod views;
mod websub;

pub use api::ApiConfig;
pub use auth::{hash_password, valid_email, valid_password};
pub use error::AppError;
pub use metrics::{MetricsConfig, MetricsServer};
pub use startup::{AppState, Application, Dashboard, WebConfig, router};
pub use websub::MAX_NOTIFICATION_BYTES;
