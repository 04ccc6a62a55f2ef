//! The WebSub callback: `GET /websub/{token}` answers the hub's verifications, `POST
//! /websub/{token}` takes signed Atom notifications and records the videos they announce.
//!
//! Refused notifications (unknown token, bad signature, malformed feed) enqueue nothing and are
//! counted in the logs. A bad signature and a malformed feed are still answered 2xx, as the
//! WebSub spec advises, so the hub does not retry content that cannot get better.

use std::sync::atomic::{AtomicU64, Ordering};

use axum::Router;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use vidpress_store::channels::{AnnouncedVideo, DeletedVideo, apply_feed};
use vidpress_store::subscriptions::{Subscription, SubscriptionState};
use vidpress_websub::{
    CallbackToken, HubRequest, Intent, Mode, SIGNATURE_HEADER, check_verification, parse_feed,
    parse_hub_request, renewal_delay, verify_signature,
};

use crate::{AppError, AppState};

/// The largest notification accepted; YouTube's are about 1 KiB. Larger bodies get 413.
pub const MAX_NOTIFICATION_BYTES: usize = 256 * 1024;

/// Notifications refused since start, by reason, for the logs.
static REFUSED_UNKNOWN_TOKEN: AtomicU64 = AtomicU64::new(0);
static REFUSED_SIGNATURE: AtomicU64 = AtomicU64::new(0);
static REFUSED_MALFORMED: AtomicU64 = AtomicU64::new(0);

pub(crate) fn router() -> Router<AppState> {
    Router::new()
        .route("/websub/{token}", get(verify).post(notify))
        .layer(DefaultBodyLimit::max(MAX_NOTIFICATION_BYTES))
}

/// Counts a notification in `vidpress_websub_notifications_total`.
fn count(result: &'static str, reason: &'static str) {
    metrics::counter!("vidpress_websub_notifications_total", "result" => result, "reason" => reason)
        .increment(1);
}

fn count_refused(reason: &'static str) {
    count("rejected", reason);
}

fn intent(state: SubscriptionState) -> Intent {
    match state {
        SubscriptionState::Pending | SubscriptionState::Active => Intent::Subscribed,
        SubscriptionState::Unsubscribed => Intent::Unsubscribed,
        SubscriptionState::Failed => Intent::Nothing,
    }
}

async fn subscription(state: &AppState, token: &str) -> Result<Subscription, AppError> {
    let token = CallbackToken::parse(token).map_err(|_| AppError::NotFound)?;
    state
        .store
        .subscription_by_token(token.as_str())
        .await?
        .ok_or(AppError::NotFound)
}

/// The hub's verification of intent (or denial). 200 with the challenge only for what we asked.
#[tracing::instrument(skip_all)]
async fn verify(
    State(state): State<AppState>,
    Path(token): Path<String>,
    Query(query): Query<Vec<(String, String)>>,
) -> Result<Response, AppError> {
    let subscription = subscription(&state, &token).await?;
    let request = parse_hub_request(query.iter().map(|(k, v)| (k.as_str(), v.as_str())))
        .map_err(|e| AppError::BadRequest(e.to_string()))?;
    let request = match request {
        HubRequest::Verify(request) => request,
        HubRequest::Denied { topic, reason } => {
            if topic == subscription.topic {
                let reason = reason.unwrap_or_else(|| "no reason given".into());
                tracing::warn!(subscription = subscription.id, %reason, "the hub denied the subscription");
                state
                    .store
                    .subscription_failed(
                        subscription.id,
                        &format!("the hub denied the subscription: {reason}"),
                    )
                    .await?;
            }
            return Ok(StatusCode::OK.into_response());
        }
    };
    let confirmation =
        match check_verification(&request, &subscription.topic, intent(subscription.state)) {
            Ok(confirmation) => confirmation,
            Err(refusal) => {
                tracing::info!(subscription = subscription.id, %refusal, "verification refused");
                return Err(AppError::NotFound);
            }
        };
    match confirmation.mode {
        Mode::Subscribe => {
            // The spec makes the lease mandatory here; a hub that omits it gets YouTube's.
            let lease = confirmation
                .lease_seconds
                .unwrap_or(vidpress_websub::DEFAULT_LEASE_SECONDS);
            let renew_at = vidpress_store::now_ms().saturating_add(millis(renewal_delay(lease)));
            let lease = i64::try_from(lease).unwrap_or(i64::MAX);
            state
                .store
                .confirm_subscription(subscription.id, lease, renew_at)
                .await?;
            tracing::info!(
                subscription = subscription.id,
                lease,
                "subscription verified"
            );
        }
        Mode::Unsubscribe => {
            state.store.confirm_unsubscription(subscription.id).await?;
            tracing::info!(subscription = subscription.id, "unsubscription verified");
        }
    }
    Ok((StatusCode::OK, confirmation.challenge).into_response())
}

fn millis(d: std::time::Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}

/// A content notification: verify, parse, record.
#[tracing::instrument(skip_all)]
async fn notify(
    State(state): State<AppState>,
    Path(token): Path<String>,
    headers: HeaderMap,
    body: axum::body::Body,
) -> Result<StatusCode, AppError> {
    // The callback token is looked up before the body is read: an unknown callback costs no
    // more than its headers.
    let subscription = match subscription(&state, &token).await {
        Err(AppError::NotFound) => {
            let count = REFUSED_UNKNOWN_TOKEN.fetch_add(1, Ordering::Relaxed) + 1;
            tracing::warn!(count, "notification for an unknown callback refused");
            count_refused("unknown_callback");
            return Err(AppError::NotFound);
        }
        other => other?,
    };
    let body: Bytes = axum::body::to_bytes(body, MAX_NOTIFICATION_BYTES)
        .await
        .map_err(|_| {
            count_refused("too_large");
            AppError::PayloadTooLarge
        })?;
    let signature = headers.get(SIGNATURE_HEADER).and_then(|v| v.to_str().ok());
    if let Err(e) = verify_signature(subscription.secret.as_bytes(), &body, signature) {
        let count = REFUSED_SIGNATURE.fetch_add(1, Ordering::Relaxed) + 1;
        tracing::warn!(subscription = subscription.id, count, error = %e, "notification with a bad signature ignored");
        count_refused("bad_signature");
        return Ok(StatusCode::ACCEPTED);
    }
    // Deliveries after an unlink: 410 tells the hub to drop the subscription.
    let (Some(channel_id), SubscriptionState::Pending | SubscriptionState::Active) =
        (subscription.channel_id, subscription.state)
    else {
        count_refused("unsubscribed");
        return Ok(StatusCode::GONE);
    };
    let feed = match parse_feed(&body) {
        Ok(feed) => feed,
        Err(e) => {
            let count = REFUSED_MALFORMED.fetch_add(1, Ordering::Relaxed) + 1;
            tracing::warn!(subscription = subscription.id, count, error = %e, "malformed notification ignored");
            count_refused("malformed_feed");
            return Ok(StatusCode::ACCEPTED);
        }
    };
    for rejected in &feed.rejected {
        tracing::warn!(subscription = subscription.id, index = rejected.index, reason = %rejected.reason, "feed entry skipped");
    }
    let Some(channel) = state.store.channel(channel_id).await? else {
        count_refused("unsubscribed");
        return Ok(StatusCode::GONE);
    };
    let entries: Vec<AnnouncedVideo<'_>> = feed
        .entries
        .iter()
        .filter(|e| e.channel_id == channel.youtube_id)
        .map(|entry| AnnouncedVideo {
            youtube_id: &entry.video_id,
            title: &entry.title,
            published_at: entry.published_ms(),
            updated_at: entry.updated_ms(),
        })
        .collect();
    let deleted: Vec<DeletedVideo<'_>> = feed
        .deleted
        .iter()
        .filter(|d| {
            d.channel_id
                .as_ref()
                .is_none_or(|c| *c == channel.youtube_id)
        })
        .map(|d| DeletedVideo {
            youtube_id: &d.video_id,
            deleted_at: d.deleted_ms().unwrap_or_else(vidpress_store::now_ms),
        })
        .collect();
    let mut tx = state.store.begin().await?;
    let applied = apply_feed(
        &mut tx,
        &channel,
        &entries,
        &deleted,
        state.api.max_attempts,
    )
    .await?;
    for (video, job) in &applied.new {
        tracing::info!(video, %job, "new upload queued for fetching");
    }
    if applied.too_old > 0 || applied.retitled > 0 || applied.deleted > 0 {
        tracing::info!(
            too_old = applied.too_old,
            retitled = applied.retitled,
            deleted = applied.deleted,
            "notification applied"
        );
    }
    let queued = !applied.new.is_empty();
    tx.commit()
        .await
        .map_err(vidpress_store::StoreError::from)?;
    count("accepted", "ok");
    if queued {
        state.wake_workers();
    }
    Ok(StatusCode::NO_CONTENT)
}
