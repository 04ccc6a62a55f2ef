//! CSRF protection for the dashboard: a random token per session, put in every form, and a
//! middleware that refuses any state-changing request whose token is missing or wrong. The
//! token may come in the `X-CSRF-Token` header (scripts), the `csrf` query parameter (the upload
//! form, whose multipart body is streamed to disk and not read here), or the `csrf` field of a
//! URL-encoded form.

use axum::body::{Body, to_bytes};
use axum::extract::Request;
use axum::http::{Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use rand::RngCore;
use subtle::ConstantTimeEq;
use tower_sessions::Session;

use crate::views::error_page;

const TOKEN_KEY: &str = "csrf";
/// The header scripts send the token in.
pub const HEADER: &str = "x-csrf-token";
/// The largest URL-encoded form read (a long draft's Markdown fits many times over).
const MAX_FORM_BYTES: usize = 8 * 1024 * 1024;

/// The session's token, made on first use.
pub async fn token(session: &Session) -> Result<String, tower_sessions::session::Error> {
    if let Some(token) = session.get::<String>(TOKEN_KEY).await? {
        return Ok(token);
    }
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    let token = hex::encode(bytes);
    session.insert(TOKEN_KEY, &token).await?;
    Ok(token)
}

fn forbidden() -> Response {
    error_page(
        StatusCode::FORBIDDEN,
        "This form has expired",
        "The page was open too long, or the request did not come from this site. Go back, \
         reload the page and try again.",
    )
}

fn form_field(body: &[u8], name: &str) -> Option<String> {
    url::form_urlencoded::parse(body)
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
}

/// Refuses POST, PUT, PATCH and DELETE requests without the session's token.
pub(crate) async fn require_token(request: Request, next: Next) -> Response {
    if matches!(
        *request.method(),
        Method::GET | Method::HEAD | Method::OPTIONS
    ) {
        return next.run(request).await;
    }
    let Some(session) = request.extensions().get::<Session>().cloned() else {
        return forbidden();
    };
    let expected = match session.get::<String>(TOKEN_KEY).await {
        Ok(Some(token)) => token,
        _ => return forbidden(),
    };
    let matches = |given: &str| bool::from(given.as_bytes().ct_eq(expected.as_bytes()));
    if let Some(given) = request.headers().get(HEADER).and_then(|v| v.to_str().ok()) {
        return if matches(given) {
            next.run(request).await
        } else {
            forbidden()
        };
    }
    if let Some(given) = request
        .uri()
        .query()
        .and_then(|q| form_field(q.as_bytes(), TOKEN_KEY))
    {
        return if matches(&given) {
            next.run(request).await
        } else {
            forbidden()
        };
    }
    let urlencoded = request
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"));
    if !urlencoded {
        return forbidden();
    }
    let (parts, body) = request.into_parts();
    let bytes = match to_bytes(body, MAX_FORM_BYTES).await {
        Ok(bytes) => bytes,
        Err(_) => return (StatusCode::PAYLOAD_TOO_LARGE, "form too large").into_response(),
    };
    match form_field(&bytes, TOKEN_KEY) {
        Some(given) if matches(&given) => {
            next.run(Request::from_parts(parts, Body::from(bytes)))
                .await
        }
        _ => forbidden(),
    }
}
