//! The channels page: link a YouTube channel by URL, `@handle` or id (resolved as `vidpress
//! channels add` does), each channel's subscription state in words, its last feed poll and its
//! videos, and unlinking after a confirmation.

use askama::Template;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect};
use axum::routing::get;
use axum::{Form, Router};
use serde::Deserialize;
use vidpress_store::User;
use vidpress_store::channels::{ChannelStatus, NewSubscription};
use vidpress_store::library::VideoFilter;
use vidpress_store::subscriptions::SubscriptionState;
use vidpress_websub::{CallbackToken, ChannelRef, Secret};

use super::videos::VideoRow;
use super::{Layout, PageError, PageResult, flash, format_day, format_time, render, render_with};
use crate::auth::CurrentUser;
use crate::{AppError, AppState};

pub(super) fn router() -> Router<AppState> {
    Router::new()
        .route("/channels", get(list).post(link))
        .route("/channels/{id}", get(detail))
        .route("/channels/{id}/unlink", get(confirm_unlink).post(unlink))
}

/// A channel's subscription in words: "subscribed until 3 Dec 2026", "retrying: …".
pub fn subscription_words(status: &ChannelStatus, user: &User) -> String {
    match status.state {
        Some(SubscriptionState::Active) => match status.lease_expires_at {
            Some(at) => format!("subscribed until {}", format_day(at, user)),
            None => "subscribed".into(),
        },
        Some(SubscriptionState::Pending) => match &status.last_error {
            Some(e) => format!("retrying: {e}"),
            None => "subscribing: waiting for the hub to confirm".into(),
        },
        Some(SubscriptionState::Failed) => format!(
            "subscription failed: {} (link it again to retry)",
            status.last_error.as_deref().unwrap_or("no reason given")
        ),
        Some(SubscriptionState::Unsubscribed) => "unsubscribed".into(),
        None => "not subscribed".into(),
    }
}

/// How a channel is named: its title, or its YouTube id while the title is unknown.
pub(crate) fn channel_name(title: &str, id: &str) -> String {
    if title.is_empty() {
        id.to_owned()
    } else {
        title.to_owned()
    }
}

struct ChannelRow {
    id: i64,
    name: String,
    youtube_id: String,
    subscription: String,
    problem: bool,
    last_poll: String,
}

#[derive(Template)]
#[template(path = "channels.html")]
struct ChannelsPage {
    layout: Layout,
    channels: Vec<ChannelRow>,
    channel: String,
    error: Option<String>,
    linking_enabled: bool,
}

async fn page(
    state: &AppState,
    current: &CurrentUser,
    input: String,
    error: Option<String>,
) -> PageResult {
    let user = &current.user;
    let polls = state.store.last_polls(user.id).await?;
    let channels = state
        .store
        .channels(user.id)
        .await?
        .iter()
        .map(|c| ChannelRow {
            id: c.channel.id,
            name: channel_name(&c.channel.title, c.channel.youtube_id.as_str()),
            youtube_id: c.channel.youtube_id.as_str().to_owned(),
            subscription: subscription_words(c, user),
            problem: c.last_error.is_some() || c.state == Some(SubscriptionState::Failed),
            last_poll: polls
                .iter()
                .find(|(id, _)| *id == c.channel.id)
                .map(|(_, at)| format_time(*at, user))
                .unwrap_or_else(|| "not yet".into()),
        })
        .collect();
    let status = if error.is_some() {
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        StatusCode::OK
    };
    Ok(render_with(
        status,
        &ChannelsPage {
            layout: Layout::new(current, "Channels", "channels").await?,
            channels,
            channel: input,
            error,
            linking_enabled: state.dashboard.youtube.is_some(),
        },
    ))
}

async fn list(State(state): State<AppState>, current: CurrentUser) -> PageResult {
    page(&state, &current, String::new(), None).await
}

#[derive(Debug, Deserialize)]
struct LinkForm {
    channel: String,
}

/// Links the channel: resolves what was typed to a channel id, then stores the channel, its
/// subscription and first jobs in one transaction (the running workers subscribe).
#[tracing::instrument(skip_all)]
async fn link(
    State(state): State<AppState>,
    current: CurrentUser,
    Form(form): Form<LinkForm>,
) -> PageResult {
    let Some(youtube) = &state.dashboard.youtube else {
        return page(
            &state,
            &current,
            form.channel,
            Some("Linking channels is not set up on this server.".into()),
        )
        .await;
    };
    let input = form.channel.trim();
    let reference = match ChannelRef::parse(input) {
        Ok(r) => r,
        Err(e) => {
            let error = format!(
                "That is not a YouTube channel ({e}). Paste the channel's address \
                 (https://www.youtube.com/@name), its @handle, or its id (UC…)."
            );
            return page(&state, &current, form.channel, Some(error)).await;
        }
    };
    let resolved = match youtube.resolve(&reference).await {
        Ok(r) => r,
        Err(e) => {
            let error = format!("Could not find that channel on YouTube: {e}");
            return page(&state, &current, form.channel, Some(error)).await;
        }
    };
    let topic = youtube.topic_url(&resolved.id);
    let token = CallbackToken::generate();
    let secret = Secret::generate();
    let first_poll = vidpress_store::now_ms()
        .saturating_add(i64::try_from(state.dashboard.feed_poll.as_millis()).unwrap_or(i64::MAX));
    let linked = state
        .store
        .link_channel(
            current.user.id,
            &resolved.id,
            resolved.title.as_deref().unwrap_or(""),
            &NewSubscription {
                topic: topic.as_str(),
                callback_token: token.as_str(),
                secret: secret.expose(),
            },
            first_poll,
        )
        .await?;
    state.wake_workers();
    let name = channel_name(&linked.channel.title, linked.channel.youtube_id.as_str());
    let message = if linked.newly_linked {
        format!("Linked {name}. Its new uploads will become drafts.")
    } else {
        format!("{name} was already linked.")
    };
    flash(&current.session, "ok", message).await;
    Ok(Redirect::to("/channels").into_response())
}

#[derive(Template)]
#[template(path = "channel.html")]
struct ChannelPage {
    layout: Layout,
    id: i64,
    name: String,
    youtube_id: String,
    subscription: String,
    last_poll: String,
    video_count: i64,
    rows: Vec<VideoRow>,
}

async fn status_of(
    state: &AppState,
    current: &CurrentUser,
    id: i64,
) -> Result<ChannelStatus, PageError> {
    state
        .store
        .channels(current.user.id)
        .await?
        .into_iter()
        .find(|c| c.channel.id == id)
        .ok_or(PageError::from(AppError::NotFound))
}

async fn detail(
    State(state): State<AppState>,
    current: CurrentUser,
    Path(id): Path<i64>,
) -> PageResult {
    let Some(detail) = state.store.channel_for_user(current.user.id, id).await? else {
        return Err(AppError::NotFound.into());
    };
    let status = status_of(&state, &current, id).await?;
    let filter = VideoFilter {
        channel: Some(id),
        state: None,
    };
    let videos = state
        .store
        .list_videos(current.user.id, &filter, 0, 50)
        .await?;
    let user = &current.user;
    let name = channel_name(&detail.channel.title, detail.channel.youtube_id.as_str());
    Ok(render(&ChannelPage {
        layout: Layout::new(&current, name.clone(), "channels").await?,
        id,
        name,
        youtube_id: detail.channel.youtube_id.as_str().to_owned(),
        subscription: subscription_words(&status, user),
        last_poll: detail
            .last_poll_at
            .map(|at| format_time(at, user))
            .unwrap_or_else(|| "not yet".into()),
        video_count: detail.video_count,
        rows: videos
            .iter()
            .take(50)
            .map(|v| VideoRow::new(v, user))
            .collect(),
    }))
}

#[derive(Template)]
#[template(path = "channel_unlink.html")]
struct UnlinkPage {
    layout: Layout,
    id: i64,
    name: String,
}

async fn confirm_unlink(
    State(state): State<AppState>,
    current: CurrentUser,
    Path(id): Path<i64>,
) -> PageResult {
    let Some(detail) = state.store.channel_for_user(current.user.id, id).await? else {
        return Err(AppError::NotFound.into());
    };
    let name = channel_name(&detail.channel.title, detail.channel.youtube_id.as_str());
    Ok(render(&UnlinkPage {
        layout: Layout::new(&current, format!("Unlink {name}"), "channels").await?,
        id,
        name,
    }))
}

async fn unlink(
    State(state): State<AppState>,
    current: CurrentUser,
    Path(id): Path<i64>,
) -> PageResult {
    if !state
        .store
        .unlink_channel_by_id(current.user.id, id)
        .await?
    {
        return Err(AppError::NotFound.into());
    }
    state.wake_workers();
    flash(
        &current.session,
        "ok",
        "Unlinked. Its videos and drafts stay.",
    )
    .await;
    Ok(Redirect::to("/channels").into_response())
}
