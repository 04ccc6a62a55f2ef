//! The server-rendered dashboard: one module per area, each page an askama template (in the
//! workspace's `templates/`) with exactly the fields it shows, all extending `base.html`. Pages
//! work without JavaScript; `app.js` only enhances (live progress, preview, upload progress).
//! Every route here runs with a database-backed session and the CSRF check.

mod channels;
mod connections;
mod drafts;
mod login;
mod settings;
mod videos;
mod workers;

pub(crate) use settings::hash_api_token;

use askama::Template;
use axum::Router;
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use serde::{Deserialize, Serialize};
use tower_sessions::cookie::SameSite;
use tower_sessions::{Expiry, Session, SessionManagerLayer};
use vidpress_store::{StoreError, User};

use crate::auth::CurrentUser;
use crate::sessions::DbSessionStore;
use crate::{AppError, AppState};

/// How long a session lasts without use.
pub(crate) const SESSION_LIFETIME: time::Duration = time::Duration::days(14);

/// Every dashboard route, behind sessions and the CSRF check.
pub(crate) fn router(state: &AppState) -> Router<AppState> {
    let sessions = SessionManagerLayer::new(DbSessionStore::new(state.store.clone()))
        .with_name("vidpress_session")
        .with_http_only(true)
        .with_same_site(SameSite::Lax)
        .with_secure(state.dashboard.secure_cookies)
        .with_expiry(Expiry::OnInactivity(SESSION_LIFETIME));
    Router::new()
        .merge(login::router())
        .merge(videos::router(state.api.max_upload_bytes))
        .merge(channels::router())
        .merge(drafts::router())
        .merge(connections::router())
        .merge(settings::router())
        .merge(workers::router())
        .layer(axum::middleware::from_fn(crate::csrf::require_token))
        .layer(sessions)
}

/// A message shown once on the next page (after a redirect).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Flash {
    /// `ok` or `error`, a CSS class.
    pub kind: String,
    pub message: String,
}

const FLASH_KEY: &str = "flash";

/// Leaves a message for the next page.
pub(crate) async fn flash(session: &Session, kind: &str, message: impl Into<String>) {
    let flash = Flash {
        kind: kind.into(),
        message: message.into(),
    };
    if let Err(e) = session.insert(FLASH_KEY, flash).await {
        tracing::warn!(error = %e, "could not store a flash message");
    }
}

/// What `base.html` shows around every page.
#[derive(Debug, Clone)]
pub struct Layout {
    pub title: String,
    /// The signed-in user's email; `None` on the sign-in pages.
    pub user: Option<String>,
    pub csrf: String,
    pub flash: Option<Flash>,
    pub css: &'static str,
    pub js: &'static str,
    /// The navigation entry of this page: `videos`, `channels`, `settings`, `workers` or empty.
    pub nav: &'static str,
    /// The signed-in user is an admin: the navigation shows the admin pages.
    pub admin: bool,
}

impl Layout {
    /// The layout of a page for a signed-in user (takes the pending flash message).
    pub async fn new(
        current: &CurrentUser,
        title: impl Into<String>,
        nav: &'static str,
    ) -> Result<Layout, PageError> {
        let mut layout = Layout::anonymous(&current.session, title).await?;
        layout.user = Some(current.user.email.clone());
        layout.nav = nav;
        layout.admin = current.user.is_admin;
        Ok(layout)
    }

    /// The layout of a page without a signed-in user.
    pub async fn anonymous(
        session: &Session,
        title: impl Into<String>,
    ) -> Result<Layout, PageError> {
        let csrf = crate::csrf::token(session)
            .await
            .map_err(PageError::session)?;
        // Removing marks the session changed (a write), so only when there is a message.
        let flash = session.get::<Flash>(FLASH_KEY).await.ok().flatten();
        if flash.is_some() {
            session
                .remove_value(FLASH_KEY)
                .await
                .map_err(PageError::session)?;
        }
        Ok(Layout {
            title: title.into(),
            user: None,
            csrf,
            flash,
            css: crate::assets::css_url(),
            js: crate::assets::js_url(),
            nav: "",
            admin: false,
        })
    }

    /// A bare layout for error pages, which may have no session.
    fn bare(title: &str) -> Layout {
        Layout {
            title: title.into(),
            user: None,
            csrf: String::new(),
            flash: None,
            css: crate::assets::css_url(),
            js: crate::assets::js_url(),
            nav: "",
            admin: false,
        }
    }
}

/// Renders a page as HTML.
pub(crate) fn render(template: &impl Template) -> Response {
    render_with(StatusCode::OK, template)
}

/// Renders a page as HTML with a status (a form with errors is 422).
pub(crate) fn render_with(status: StatusCode, template: &impl Template) -> Response {
    match template.render() {
        Ok(html) => (status, Html(html)).into_response(),
        Err(e) => {
            tracing::error!(error = %e, "a template failed to render");
            (StatusCode::INTERNAL_SERVER_ERROR, "internal error").into_response()
        }
    }
}

#[derive(Template)]
#[template(path = "error.html")]
struct ErrorPage<'a> {
    layout: Layout,
    heading: &'a str,
    message: &'a str,
}

/// An error page: what happened and what to do, nothing internal.
pub(crate) fn error_page(status: StatusCode, heading: &str, message: &str) -> Response {
    render_with(
        status,
        &ErrorPage {
            layout: Layout::bare(heading),
            heading,
            message,
        },
    )
}

/// A dashboard handler's error, answered with an error page.
#[derive(Debug)]
pub struct PageError(AppError);

impl PageError {
    fn session(e: tower_sessions::session::Error) -> PageError {
        PageError(AppError::Internal(format!("session: {e}")))
    }
}

impl From<AppError> for PageError {
    fn from(e: AppError) -> Self {
        PageError(e)
    }
}

impl From<StoreError> for PageError {
    fn from(e: StoreError) -> Self {
        PageError(AppError::Store(e))
    }
}

impl From<tower_sessions::session::Error> for PageError {
    fn from(e: tower_sessions::session::Error) -> Self {
        PageError::session(e)
    }
}

impl IntoResponse for PageError {
    fn into_response(self) -> Response {
        match self.0 {
            AppError::NotFound | AppError::Store(StoreError::NotFound(_)) => error_page(
                StatusCode::NOT_FOUND,
                "Not found",
                "There is nothing here, or it belongs to another account.",
            ),
            AppError::BadRequest(message) => {
                error_page(StatusCode::BAD_REQUEST, "That did not work", &message)
            }
            AppError::PayloadTooLarge => error_page(
                StatusCode::PAYLOAD_TOO_LARGE,
                "Too large",
                "The file is larger than this server accepts (setting `max_upload_mb`).",
            ),
            AppError::Unauthorized => error_page(
                StatusCode::UNAUTHORIZED,
                "Sign in first",
                "Your session has ended. Sign in again.",
            ),
            other => {
                tracing::error!(error = %other, "request failed");
                error_page(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "Something went wrong",
                    "The server could not complete the request. Try again in a moment.",
                )
            }
        }
    }
}

/// A handler's result.
pub type PageResult = Result<Response, PageError>;

/// Formats epoch milliseconds in a user's time zone, like `3 Dec 2026, 14:05 CET`.
pub fn format_time(ms: i64, user: &User) -> String {
    let tz = jiff::tz::TimeZone::get(&user.time_zone).unwrap_or(jiff::tz::TimeZone::UTC);
    jiff::Timestamp::from_millisecond(ms)
        .map(|t| t.to_zoned(tz).strftime("%-d %b %Y, %H:%M %Z").to_string())
        .unwrap_or_else(|_| ms.to_string())
}

/// Formats a date only, like `3 Dec`.
pub fn format_day(ms: i64, user: &User) -> String {
    let tz = jiff::tz::TimeZone::get(&user.time_zone).unwrap_or(jiff::tz::TimeZone::UTC);
    jiff::Timestamp::from_millisecond(ms)
        .map(|t| t.to_zoned(tz).strftime("%-d %b %Y").to_string())
        .unwrap_or_else(|_| ms.to_string())
}

/// Whether a request came from a script asking for a fragment (`X-Partial`).
pub(crate) fn is_partial(headers: &axum::http::HeaderMap) -> bool {
    headers.contains_key("x-partial")
}
