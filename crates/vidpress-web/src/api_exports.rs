//! The JSON API of exports: the caller's connections (add, list, test, remove; secrets are
//! accepted, never returned), exports of a draft to a connection, and a draft as a file.
//! Another user's ids answer 404.

use axum::extract::{Path as UrlPath, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use vidpress_publish::PostStatus;
use vidpress_store::exports::{Connection, Export};

use crate::api::authenticate;
use crate::exports::ConnectionInput;
use crate::{AppError, AppState};

pub(crate) fn router() -> Router<AppState> {
    Router::new()
        .route(
            "/api/connections",
            get(list_connections).post(add_connection),
        )
        .route(
            "/api/connections/{id}",
            get(connection).delete(remove_connection),
        )
        .route("/api/connections/{id}/test", post(test_connection))
        .route(
            "/api/drafts/{id}/exports",
            get(draft_exports).post(export_draft),
        )
        .route("/api/exports/{id}", get(export_status))
        .route("/api/drafts/{id}/files/{format}", get(file))
}

/// A connection as the API shows it: never its secret.
#[derive(Debug, Serialize)]
struct ConnectionItem {
    id: i64,
    kind: &'static str,
    name: String,
    url: String,
    username: Option<String>,
    created_at: i64,
    tested_at: Option<i64>,
    test_ok: Option<bool>,
    test_message: Option<String>,
}

impl From<Connection> for ConnectionItem {
    fn from(c: Connection) -> Self {
        ConnectionItem {
            id: c.id,
            kind: c.kind.as_str(),
            name: c.name,
            url: c.url,
            username: c.username,
            created_at: c.created_at,
            tested_at: c.tested_at,
            test_ok: c.test_ok,
            test_message: c.test_message,
        }
    }
}

#[derive(Debug, Serialize)]
struct TestResult {
    ok: bool,
    message: String,
}

#[derive(Debug, Serialize)]
struct Added {
    connection: ConnectionItem,
    test: TestResult,
}

#[derive(Debug, Serialize)]
struct ExportItem {
    id: i64,
    draft_id: i64,
    connection_id: i64,
    connection: String,
    kind: &'static str,
    post_status: String,
    /// For `schedule`: when the remote publishes the post (RFC 3339, UTC).
    publish_at: Option<String>,
    state: &'static str,
    remote_id: Option<String>,
    remote_url: Option<String>,
    message: Option<String>,
    requested_at: i64,
    exported_at: Option<i64>,
}

impl From<Export> for ExportItem {
    fn from(e: Export) -> Self {
        ExportItem {
            id: e.id,
            draft_id: e.draft_id,
            connection_id: e.connection_id,
            connection: e.connection_name,
            kind: e.connection_kind.as_str(),
            publish_at: PostStatus::from_stored(&e.post_status, e.publish_at)
                .ok()
                .and_then(PostStatus::publish_at)
                .map(vidpress_publish::format_utc),
            post_status: e.post_status,
            state: e.state.as_str(),
            remote_id: e.remote_id,
            remote_url: e.remote_url,
            message: e.message,
            requested_at: e.requested_at,
            exported_at: e.exported_at,
        }
    }
}

#[tracing::instrument(skip_all)]
async fn list_connections(
    State(state): State<AppState>,
    headers: HeaderMap,
) -> Result<Json<Vec<ConnectionItem>>, AppError> {
    let user = authenticate(&state, &headers).await?;
    let connections = state.store.connections(user).await?;
    Ok(Json(connections.into_iter().map(Into::into).collect()))
}

/// `POST /api/connections` with `{kind, name, url, username, secret}`: stores it, then tests it.
#[tracing::instrument(skip_all)]
async fn add_connection(
    State(state): State<AppState>,
    headers: HeaderMap,
    Json(input): Json<ConnectionInput>,
) -> Result<(StatusCode, Json<Added>), AppError> {
    let user = authenticate(&state, &headers).await?;
    let id = crate::exports::add_connection(&state, user, &input)
        .await?
        .map_err(|errors| AppError::BadRequest(errors.summary()))?;
    let connection = state
        .store
        .connection_for_user(user, id)
        .await?
        .ok_or(AppError::NotFound)?;
    let (ok, message) = crate::exports::test_connection(&state, &connection).await?;
    let connection = state
        .store
        .connection_for_user(user, id)
        .await?
        .ok_or(AppError::NotFound)?;
    Ok((
        StatusCode::CREATED,
        Json(Added {
            connection: connection.into(),
            test: TestResult { ok, message },
        }),
    ))
}

async fn owned_connection(
    state: &AppState,
    headers: &HeaderMap,
    id: i64,
) -> Result<Connection, AppError> {
    let user = authenticate(state, headers).await?;
    state
        .store
        .connection_for_user(user, id)
        .await?
        .ok_or(AppError::NotFound)
}

#[tracing::instrument(skip_all, fields(connection = id))]
async fn connection(
    State(state): State<AppState>,
    headers: HeaderMap,
    UrlPath(id): UrlPath<i64>,
) -> Result<Json<ConnectionItem>, AppError> {
    Ok(Json(owned_connection(&state, &headers, id).await?.into()))
}

#[tracing::instrument(skip_all, fields(connection = id))]
async fn test_connection(
    State(state): State<AppState>,
    headers: HeaderMap,
    UrlPath(id): UrlPath<i64>,
) -> Result<Json<TestResult>, AppError> {
    let connection = owned_connection(&state, &headers, id).await?;
    let (ok, message) = crate::exports::test_connection(&state, &connection).await?;
    Ok(Json(TestResult { ok, message }))
}

#[tracing::instrument(skip_all, fields(connection = id))]
async fn remove_connection(
    State(state): State<AppState>,
    headers: HeaderMap,
    UrlPath(id): UrlPath<i64>,
) -> Result<StatusCode, AppError> {
    let connection = owned_connection(&state, &headers, id).await?;
    state
        .store
        .delete_connection(connection.user_id, connection.id)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, Deserialize)]
struct ExportBody {
    connection_id: i64,
    #[serde(default = "draft_status")]
    status: String,
    /// For `schedule`: when the remote publishes the post, RFC 3339.
    #[serde(default)]
    publish_at: Option<String>,
}

fn draft_status() -> String {
    "draft".to_owned()
}

/// `POST /api/drafts/{id}/exports` with `{connection_id, status, publish_at}`: queues the
/// export (`status` is draft, publish or schedule; `publish_at`, RFC 3339, goes with schedule).
#[tracing::instrument(skip_all, fields(draft = id))]
async fn export_draft(
    State(state): State<AppState>,
    headers: HeaderMap,
    UrlPath(id): UrlPath<i64>,
    Json(body): Json<ExportBody>,
) -> Result<(StatusCode, Json<ExportItem>), AppError> {
    let user = authenticate(&state, &headers).await?;
    let at = body
        .publish_at
        .as_deref()
        .map(PostStatus::parse_time)
        .transpose()
        .map_err(AppError::BadRequest)?;
    let status = PostStatus::with_time(&body.status, at).map_err(AppError::BadRequest)?;
    let export_id =
        crate::exports::request_export(&state, user, id, body.connection_id, status).await?;
    let export = state
        .store
        .export_for_user(user, export_id)
        .await?
        .ok_or(AppError::NotFound)?;
    Ok((StatusCode::ACCEPTED, Json(export.into())))
}

#[tracing::instrument(skip_all, fields(draft = id))]
async fn draft_exports(
    State(state): State<AppState>,
    headers: HeaderMap,
    UrlPath(id): UrlPath<i64>,
) -> Result<Json<Vec<ExportItem>>, AppError> {
    let user = authenticate(&state, &headers).await?;
    if state.store.draft_for_user(user, id).await?.is_none() {
        return Err(AppError::NotFound);
    }
    let exports = state.store.exports_for_draft(user, id).await?;
    Ok(Json(exports.into_iter().map(Into::into).collect()))
}

#[tracing::instrument(skip_all, fields(export = id))]
async fn export_status(
    State(state): State<AppState>,
    headers: HeaderMap,
    UrlPath(id): UrlPath<i64>,
) -> Result<Json<ExportItem>, AppError> {
    let user = authenticate(&state, &headers).await?;
    let export = state
        .store
        .export_for_user(user, id)
        .await?
        .ok_or(AppError::NotFound)?;
    Ok(Json(export.into()))
}

#[tracing::instrument(skip_all, fields(draft = id))]
async fn file(
    State(state): State<AppState>,
    headers: HeaderMap,
    UrlPath((id, format)): UrlPath<(i64, String)>,
) -> Result<Response, AppError> {
    let user = authenticate(&state, &headers).await?;
    crate::exports::download(&state, user, id, &format).await
}
