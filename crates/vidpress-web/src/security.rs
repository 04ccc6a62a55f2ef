//! Security headers on every response: a strict Content-Security-Policy (every script and style
//! is served by the binary itself; only YouTube's privacy-enhanced player may be framed), no
//! sniffing, no framing of our pages, and referrers kept to this site.

use axum::http::HeaderValue;
use axum::http::header;
use axum::response::Response;

/// The Content-Security-Policy of every page.
pub const CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
     connect-src 'self'; frame-src https://www.youtube-nocookie.com; form-action 'self'; \
     frame-ancestors 'none'; base-uri 'none'; object-src 'none'";

pub(crate) async fn headers(mut response: Response) -> Response {
    let headers = response.headers_mut();
    let mut set = |name, value: &'static str| {
        headers
            .entry(name)
            .or_insert_with(|| HeaderValue::from_static(value));
    };
    set(header::CONTENT_SECURITY_POLICY, CSP);
    set(header::X_CONTENT_TYPE_OPTIONS, "nosniff");
    set(header::X_FRAME_OPTIONS, "DENY");
    set(header::REFERRER_POLICY, "same-origin");
    set(
        header::HeaderName::from_static("permissions-policy"),
        "camera=(), microphone=(), geolocation=()",
    );
    set(
        header::HeaderName::from_static("cross-origin-opener-policy"),
        "same-origin",
    );
    response
}
