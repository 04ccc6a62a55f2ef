//! The dashboard's stylesheet and script, embedded in the binary and served under a URL that
//! carries a hash of their content, with a year-long immutable cache: a new build changes the
//! URL, so browsers never run a stale copy and never ask twice.

use std::sync::LazyLock;

use axum::Router;
use axum::extract::Path;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use sha2::{Digest, Sha256};

use crate::AppState;

struct Asset {
    /// `/assets/NAME.HASH.EXT`
    url: String,
    content_type: &'static str,
    body: &'static str,
}

fn asset(stem: &str, ext: &str, content_type: &'static str, body: &'static str) -> Asset {
    let hash = hex::encode(&Sha256::digest(body.as_bytes())[..6]);
    Asset {
        url: format!("/assets/{stem}.{hash}.{ext}"),
        content_type,
        body,
    }
}

static CSS: LazyLock<Asset> = LazyLock::new(|| {
    asset(
        "app",
        "css",
        "text/css; charset=utf-8",
        include_str!("../../../templates/assets/app.css"),
    )
});
static JS: LazyLock<Asset> = LazyLock::new(|| {
    asset(
        "app",
        "js",
        "text/javascript; charset=utf-8",
        include_str!("../../../templates/assets/app.js"),
    )
});

/// The stylesheet's URL.
pub fn css_url() -> &'static str {
    &CSS.url
}

/// The script's URL.
pub fn js_url() -> &'static str {
    &JS.url
}

pub(crate) fn router() -> Router<AppState> {
    Router::new().route("/assets/{name}", get(serve))
}

async fn serve(Path(name): Path<String>) -> Response {
    let path = format!("/assets/{name}");
    for asset in [&*CSS, &*JS] {
        if asset.url == path {
            return (
                [
                    (header::CONTENT_TYPE, asset.content_type),
                    (header::CACHE_CONTROL, "public, max-age=31536000, immutable"),
                ],
                asset.body,
            )
                .into_response();
        }
    }
    StatusCode::NOT_FOUND.into_response()
}
