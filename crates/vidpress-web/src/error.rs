//! The one error type at the HTTP edge.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use vidpress_store::StoreError;

/// An error a handler returns; each variant says the status it becomes.
#[derive(Debug, thiserror::Error)]
pub enum AppError {
    /// 400: the request is malformed; the message says how.
    #[error("{0}")]
    BadRequest(String),
    /// 401: no valid credentials.
    #[error("authentication required")]
    Unauthorized,
    /// 404: nothing here, or not yours.
    #[error("not found")]
    NotFound,
    /// 413: the body is over the size limit.
    #[error("request body too large")]
    PayloadTooLarge,
    /// 503: a dependency (the database) is not answering.
    #[error("service unavailable: {0}")]
    Unavailable(String),
    /// 500: logged in full, answered as a plain "internal error".
    #[error(transparent)]
    Store(#[from] StoreError),
    /// 500: logged in full, answered as a plain "internal error".
    #[error("{0}")]
    Internal(String),
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        let status = match &self {
            AppError::BadRequest(_) => StatusCode::BAD_REQUEST,
            AppError::Unauthorized => StatusCode::UNAUTHORIZED,
            AppError::NotFound => StatusCode::NOT_FOUND,
            AppError::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            AppError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            AppError::Store(StoreError::NotFound(_)) => StatusCode::NOT_FOUND,
            AppError::Store(_) | AppError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        };
        let body = if status == StatusCode::INTERNAL_SERVER_ERROR {
            tracing::error!(error = %self, "request failed");
            "internal error".to_owned()
        } else {
            self.to_string()
        };
        (status, body).into_response()
    }
}
