//! The connections page: add a WordPress or Ghost site (tested at once; its secret is sealed and
//! never shown again), test it again, remove it; and the draft editor's export actions (send to a
//! connection, download as a file). Another user's connection or draft answers 404.

use askama::Template;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use serde::Deserialize;
use vidpress_publish::PostStatus;

use super::{Layout, PageError, PageResult, flash, format_time, render_with};
use crate::auth::CurrentUser;
use crate::exports::{ConnectionErrors, ConnectionInput};
use crate::{AppError, AppState};

pub(super) fn router() -> Router<AppState> {
    Router::new()
        .route("/connections", get(list).post(add))
        .route("/connections/{id}/test", post(test))
        .route("/connections/{id}/remove", post(remove))
        .route("/drafts/{id}/exports", post(export))
        .route("/drafts/{id}/files/{format}", get(download))
}

struct ConnectionRow {
    id: i64,
    name: String,
    kind: &'static str,
    url: String,
    username: Option<String>,
    test: String,
    problem: bool,
}

#[derive(Template)]
#[template(path = "connections.html")]
struct ConnectionsPage {
    layout: Layout,
    enabled: bool,
    connections: Vec<ConnectionRow>,
    kind: String,
    name: String,
    url: String,
    username: String,
    errors: ConnectionErrors,
}

async fn page(
    state: &AppState,
    current: &CurrentUser,
    input: &ConnectionInput,
    errors: ConnectionErrors,
) -> PageResult {
    let user = &current.user;
    let connections = state
        .store
        .connections(user.id)
        .await?
        .into_iter()
        .map(|c| {
            let test = match (c.test_ok, c.tested_at, c.test_message) {
                (Some(true), Some(at), Some(message)) => {
                    format!("Works (tested {}): {message}", format_time(at, user))
                }
                (Some(false), Some(at), Some(message)) => {
                    format!(
                        "Does not work (tested {}): {message}",
                        format_time(at, user)
                    )
                }
                _ => "Not tested yet.".to_owned(),
            };
            ConnectionRow {
                id: c.id,
                name: c.name,
                kind: c.kind.label(),
                url: c.url,
                username: c.username,
                test,
                problem: c.test_ok == Some(false),
            }
        })
        .collect();
    let status = if errors.any() {
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        StatusCode::OK
    };
    Ok(render_with(
        status,
        &ConnectionsPage {
            layout: Layout::new(current, "Connections", "connections").await?,
            enabled: state.dashboard.exporters.is_some(),
            connections,
            kind: if input.kind.is_empty() {
                "wordpress".to_owned()
            } else {
                input.kind.clone()
            },
            name: input.name.clone(),
            url: input.url.clone(),
            username: input.username.clone(),
            errors,
        },
    ))
}

async fn list(State(state): State<AppState>, current: CurrentUser) -> PageResult {
    page(
        &state,
        &current,
        &ConnectionInput::default(),
        ConnectionErrors::default(),
    )
    .await
}

/// Adds the connection and tests it; the form comes back with the errors beside the fields.
#[tracing::instrument(skip_all)]
async fn add(
    State(state): State<AppState>,
    current: CurrentUser,
    Form(input): Form<ConnectionInput>,
) -> PageResult {
    let user = current.user.id;
    let id = match crate::exports::add_connection(&state, user, &input).await? {
        Ok(id) => id,
        Err(errors) => return page(&state, &current, &input, errors).await,
    };
    let connection = state
        .store
        .connection_for_user(user, id)
        .await?
        .ok_or(PageError::from(AppError::NotFound))?;
    let (ok, message) = crate::exports::test_connection(&state, &connection).await?;
    let (kind, text) = if ok {
        ("ok", format!("Added “{}”. {message}", connection.name))
    } else {
        (
            "error",
            format!(
                "Added “{}”, but it does not work yet: {message}",
                connection.name
            ),
        )
    };
    flash(&current.session, kind, text).await;
    Ok(Redirect::to("/connections").into_response())
}

#[tracing::instrument(skip_all, fields(connection = id))]
async fn test(
    State(state): State<AppState>,
    current: CurrentUser,
    Path(id): Path<i64>,
) -> PageResult {
    let connection = state
        .store
        .connection_for_user(current.user.id, id)
        .await?
        .ok_or(PageError::from(AppError::NotFound))?;
    let (ok, message) = crate::exports::test_connection(&state, &connection).await?;
    let kind = if ok { "ok" } else { "error" };
    flash(
        &current.session,
        kind,
        format!("“{}”: {message}", connection.name),
    )
    .await;
    Ok(Redirect::to("/connections").into_response())
}

#[tracing::instrument(skip_all, fields(connection = id))]
async fn remove(
    State(state): State<AppState>,
    current: CurrentUser,
    Path(id): Path<i64>,
) -> PageResult {
    let connection = state
        .store
        .connection_for_user(current.user.id, id)
        .await?
        .ok_or(PageError::from(AppError::NotFound))?;
    state
        .store
        .delete_connection(current.user.id, connection.id)
        .await?;
    flash(
        &current.session,
        "ok",
        format!(
            "Removed “{}”. The posts it made stay on the site.",
            connection.name
        ),
    )
    .await;
    Ok(Redirect::to("/connections").into_response())
}

#[derive(Debug, Deserialize)]
struct ExportForm {
    connection: i64,
    #[serde(default)]
    status: String,
    /// For `schedule`: a local date and time (`2026-12-03T09:00`, the `datetime-local` input) in
    /// the user's time zone.
    #[serde(default)]
    publish_at: String,
}

/// The status the export form asks for; a scheduled time is read in the user's time zone.
fn form_status(form: &ExportForm, time_zone: &str) -> Result<PostStatus, String> {
    let status = if form.status.is_empty() {
        "draft"
    } else {
        form.status.as_str()
    };
    if status != "schedule" {
        return PostStatus::parse(status);
    }
    let local = form.publish_at.trim();
    if local.is_empty() {
        return Err("choose the date and time to publish at".into());
    }
    let tz = jiff::tz::TimeZone::get(time_zone).unwrap_or(jiff::tz::TimeZone::UTC);
    let at = local
        .parse::<jiff::civil::DateTime>()
        .ok()
        .and_then(|civil| civil.to_zoned(tz).ok())
        .ok_or_else(|| {
            format!("“{local}” is not a date and time; pick one, e.g. 2026-12-03 09:00")
        })?;
    let at = time::OffsetDateTime::from_unix_timestamp(at.timestamp().as_second())
        .map_err(|e| e.to_string())?;
    PostStatus::with_time(status, Some(at))
}

/// Queues an export of the draft and goes back to the editor, where its state shows.
#[tracing::instrument(skip_all, fields(draft = id))]
async fn export(
    State(state): State<AppState>,
    current: CurrentUser,
    Path(id): Path<i64>,
    Form(form): Form<ExportForm>,
) -> PageResult {
    let back = format!("/drafts/{id}#exports");
    let status = match form_status(&form, &current.user.time_zone) {
        Ok(status) => status,
        Err(message) => {
            flash(&current.session, "error", message).await;
            return Ok(Redirect::to(&back).into_response());
        }
    };
    match crate::exports::request_export(&state, current.user.id, id, form.connection, status).await
    {
        Ok(_) => {
            flash(
                &current.session,
                "ok",
                "Export queued. Its state shows below; reload to follow it.",
            )
            .await;
        }
        Err(AppError::BadRequest(message)) => flash(&current.session, "error", message).await,
        Err(e) => return Err(e.into()),
    }
    Ok(Redirect::to(&back).into_response())
}

#[tracing::instrument(skip_all, fields(draft = id))]
async fn download(
    State(state): State<AppState>,
    current: CurrentUser,
    Path((id, format)): Path<(i64, String)>,
) -> Result<Response, PageError> {
    Ok(crate::exports::download(&state, current.user.id, id, &format).await?)
}
