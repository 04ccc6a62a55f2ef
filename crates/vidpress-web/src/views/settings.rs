//! The settings page: the time zone times are shown in, and per-user API tokens (made and
//! revoked here; only a hash is stored, the token is shown once).

use askama::Template;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect};
use axum::routing::{get, post};
use axum::{Form, Router};
use rand::RngCore;
use serde::Deserialize;
use sha2::{Digest, Sha256};

use super::{Layout, PageResult, flash, format_time, render_with};
use crate::auth::CurrentUser;
use crate::{AppError, AppState};

pub(super) fn router() -> Router<AppState> {
    Router::new()
        .route("/settings", get(page))
        .route("/settings/time-zone", post(set_time_zone))
        .route("/settings/tokens", post(create_token))
        .route("/settings/tokens/{id}/revoke", post(revoke_token))
}

/// The hash an API token is stored and looked up by.
pub fn hash_api_token(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// Every time zone name the system knows, sorted.
fn time_zones() -> Vec<String> {
    let mut zones: Vec<String> = jiff::tz::db()
        .available()
        .map(|name| name.to_string())
        .filter(|name| name.contains('/'))
        .collect();
    zones.push("UTC".into());
    zones.sort();
    zones.dedup();
    zones
}

struct TokenRow {
    id: i64,
    name: String,
    prefix: String,
    created: String,
    last_used: String,
}

#[derive(Template)]
#[template(path = "settings.html")]
struct SettingsPage {
    layout: Layout,
    time_zone: String,
    time_zones: Vec<String>,
    time_zone_error: Option<String>,
    now: String,
    tokens: Vec<TokenRow>,
    token_name: String,
    token_error: Option<String>,
    new_token: Option<String>,
}

#[derive(Default)]
struct Outcome {
    time_zone_error: Option<String>,
    token_name: String,
    token_error: Option<String>,
    new_token: Option<String>,
}

async fn show(state: &AppState, current: &CurrentUser, outcome: Outcome) -> PageResult {
    let user = &current.user;
    let tokens = state
        .store
        .api_tokens(user.id)
        .await?
        .into_iter()
        .map(|t| TokenRow {
            id: t.id,
            name: t.name,
            prefix: t.prefix,
            created: format_time(t.created_at, user),
            last_used: t
                .last_used_at
                .map(|at| format_time(at, user))
                .unwrap_or_else(|| "never".into()),
        })
        .collect();
    let status = if outcome.time_zone_error.is_some() || outcome.token_error.is_some() {
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        StatusCode::OK
    };
    Ok(render_with(
        status,
        &SettingsPage {
            layout: Layout::new(current, "Settings", "settings").await?,
            time_zone: user.time_zone.clone(),
            time_zones: time_zones(),
            time_zone_error: outcome.time_zone_error,
            now: format_time(vidpress_store::now_ms(), user),
            tokens,
            token_name: outcome.token_name,
            token_error: outcome.token_error,
            new_token: outcome.new_token,
        },
    ))
}

async fn page(State(state): State<AppState>, current: CurrentUser) -> PageResult {
    show(&state, &current, Outcome::default()).await
}

#[derive(Debug, Deserialize)]
struct TimeZoneForm {
    time_zone: String,
}

async fn set_time_zone(
    State(state): State<AppState>,
    current: CurrentUser,
    Form(form): Form<TimeZoneForm>,
) -> PageResult {
    let name = form.time_zone.trim();
    if jiff::tz::TimeZone::get(name).is_err() {
        let outcome = Outcome {
            time_zone_error: Some(format!("“{name}” is not a time zone this server knows.")),
            ..Outcome::default()
        };
        return show(&state, &current, outcome).await;
    }
    state.store.set_time_zone(current.user.id, name).await?;
    flash(
        &current.session,
        "ok",
        format!("Times are now shown in {name}."),
    )
    .await;
    Ok(Redirect::to("/settings").into_response())
}

#[derive(Debug, Deserialize)]
struct TokenForm {
    name: String,
}

/// Makes a token and shows it once, on this response only.
async fn create_token(
    State(state): State<AppState>,
    current: CurrentUser,
    Form(form): Form<TokenForm>,
) -> PageResult {
    let name = form.name.trim();
    let error = if name.is_empty() {
        Some("Name the token after what will use it, like “publishing script”.".to_owned())
    } else if name.chars().count() > 100 {
        Some("Keep the name to 100 characters.".to_owned())
    } else {
        None
    };
    if error.is_some() {
        let outcome = Outcome {
            token_name: form.name.clone(),
            token_error: error,
            ..Outcome::default()
        };
        return show(&state, &current, outcome).await;
    }
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    let token = format!("vpt_{}", hex::encode(bytes));
    state
        .store
        .create_api_token(current.user.id, name, &hash_api_token(&token), &token[..12])
        .await?;
    let outcome = Outcome {
        new_token: Some(token),
        ..Outcome::default()
    };
    show(&state, &current, outcome).await
}

async fn revoke_token(
    State(state): State<AppState>,
    current: CurrentUser,
    Path(id): Path<i64>,
) -> PageResult {
    if !state.store.revoke_api_token(current.user.id, id).await? {
        return Err(AppError::NotFound.into());
    }
    flash(
        &current.session,
        "ok",
        "The token is revoked; it no longer works.",
    )
    .await;
    Ok(Redirect::to("/settings").into_response())
}
