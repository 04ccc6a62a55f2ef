//! WebSub jobs: `subscribe` (also the renewal, queued with a `run_at` at 80 % of the lease, so
//! it survives restarts), `unsubscribe`, and `poll_feed`, the periodic read of a channel's
//! feed that enqueues uploads the pushes missed through the same insert-once path.

use std::sync::Arc;
use std::time::Duration;

use url::Url;
use vidpress_core::JobKind;
use vidpress_store::channels::{
    AnnouncedVideo, DeletedVideo, Linked, NewSubscription, apply_feed, poll_payload,
};
use vidpress_store::subscriptions::{Subscription, SubscriptionState};
use vidpress_store::{NewJob, Store, StoreError, UserId, now_ms};
use vidpress_websub::{
    CallbackToken, ChannelRef, ChannelRefError, HubClient, HubError, Secret, SubscribeRequest,
    YouTube, YouTubeError, callback_url,
};

use crate::{JobContext, JobError, Registry};

/// What the WebSub jobs need.
#[derive(Debug, Clone)]
pub struct WebsubJobs {
    /// The hub subscriptions are made with.
    pub hub: HubClient,
    /// YouTube (its feeds, for polling).
    pub youtube: YouTube,
    /// The server's public URL; callbacks are `<public_url>/websub/<token>`.
    pub public_url: Url,
    /// The lease asked of the hub.
    pub lease_seconds: u64,
    /// Time between two polls of a channel's feed.
    pub poll_interval: Duration,
    /// Attempts each new video's pipeline steps get.
    pub max_attempts: u32,
}

/// Why a channel could not be linked.
#[derive(Debug, thiserror::Error)]
pub enum LinkError {
    /// What was typed names no channel.
    #[error(transparent)]
    Reference(#[from] ChannelRefError),
    /// YouTube could not say which channel it is.
    #[error(transparent)]
    YouTube(#[from] YouTubeError),
    /// The database failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Links the channel a person typed (URL, `@handle` or id) to `user`: resolves it to its id,
/// creates its subscription with a fresh secret and callback token, and queues the `subscribe`
/// job and the first feed poll (one poll interval from now). Linking a channel twice is one
/// channel; a failed subscription is tried again.
pub async fn link_channel(
    store: &Store,
    youtube: &YouTube,
    user: UserId,
    input: &str,
    poll_interval: Duration,
) -> Result<Linked, LinkError> {
    let reference = ChannelRef::parse(input)?;
    let resolved = youtube.resolve(&reference).await?;
    let topic = youtube.topic_url(&resolved.id);
    let token = CallbackToken::generate();
    let secret = Secret::generate();
    let first_poll_at =
        now_ms().saturating_add(i64::try_from(poll_interval.as_millis()).unwrap_or(i64::MAX));
    let linked = store
        .link_channel(
            user,
            &resolved.id,
            resolved.title.as_deref().unwrap_or(""),
            &NewSubscription {
                topic: topic.as_str(),
                callback_token: token.as_str(),
                secret: secret.expose(),
            },
            first_poll_at,
        )
        .await?;
    Ok(linked)
}

/// Registers the `subscribe`, `unsubscribe` and `poll_feed` handlers.
pub fn register(registry: &mut Registry, jobs: WebsubJobs) {
    let jobs = Arc::new(jobs);
    let j = jobs.clone();
    registry.register(JobKind::Subscribe, move |ctx| subscribe(ctx, j.clone()));
    let j = jobs.clone();
    registry.register(JobKind::Unsubscribe, move |ctx| unsubscribe(ctx, j.clone()));
    registry.register(JobKind::PollFeed, move |ctx| poll_feed(ctx, jobs.clone()));
}

fn payload_id(ctx: &JobContext, key: &str) -> Result<i64, JobError> {
    ctx.job()
        .payload
        .get(key)
        .and_then(serde_json::Value::as_i64)
        .ok_or_else(|| JobError::Permanent(format!("the job's payload has no `{key}`")))
}

/// The callback and topic URLs of a stored subscription.
fn urls(jobs: &WebsubJobs, subscription: &Subscription) -> Result<(Url, Url), JobError> {
    let token = CallbackToken::parse(&subscription.callback_token)
        .map_err(|e| JobError::Permanent(e.to_string()))?;
    let callback =
        callback_url(&jobs.public_url, &token).map_err(|e| JobError::Permanent(e.to_string()))?;
    let topic = Url::parse(&subscription.topic).map_err(|e| {
        JobError::Permanent(format!(
            "stored topic `{}` is not a URL: {e}",
            subscription.topic
        ))
    })?;
    Ok((callback, topic))
}

/// Turns a hub error into the job's outcome, recording it on the subscription first.
async fn hub_failed(ctx: &JobContext, id: i64, error: HubError) -> JobError {
    let message = error.to_string();
    let recorded = if error.is_transient() {
        ctx.store.subscription_retrying(id, &message).await
    } else {
        ctx.store.subscription_failed(id, &message).await
    };
    if let Err(e) = recorded {
        tracing::warn!(error = %e, "could not record the hub's error on the subscription");
    }
    if error.is_transient() {
        JobError::Retryable(message)
    } else {
        JobError::Permanent(message)
    }
}

#[tracing::instrument(skip_all, fields(job = %ctx.job().id))]
async fn subscribe(ctx: JobContext, jobs: Arc<WebsubJobs>) -> Result<(), JobError> {
    let id = payload_id(&ctx, "subscription_id")?;
    let Some(subscription) = ctx.store.subscription(id).await? else {
        return Ok(());
    };
    // Unlinked since the job was queued (or refused for good): nothing to subscribe.
    if subscription.channel_id.is_none()
        || matches!(
            subscription.state,
            SubscriptionState::Unsubscribed | SubscriptionState::Failed
        )
    {
        return Ok(());
    }
    let (callback, topic) = urls(&jobs, &subscription)?;
    let secret = Secret::from_stored(subscription.secret.clone());
    let request = SubscribeRequest {
        topic: &topic,
        callback: &callback,
        secret: &secret,
        lease_seconds: jobs.lease_seconds,
    };
    match jobs.hub.subscribe(&request).await {
        Ok(()) => {
            ctx.store.subscription_requested(id).await?;
            tracing::info!(
                subscription = id,
                "subscription requested; waiting for the hub's verification"
            );
            Ok(())
        }
        Err(e) => Err(hub_failed(&ctx, id, e).await),
    }
}

#[tracing::instrument(skip_all, fields(job = %ctx.job().id))]
async fn unsubscribe(ctx: JobContext, jobs: Arc<WebsubJobs>) -> Result<(), JobError> {
    let id = payload_id(&ctx, "subscription_id")?;
    let Some(subscription) = ctx.store.subscription(id).await? else {
        return Ok(());
    };
    let (callback, topic) = urls(&jobs, &subscription)?;
    match jobs.hub.unsubscribe(&topic, &callback).await {
        Ok(()) => Ok(()),
        Err(e) => Err(hub_failed(&ctx, id, e).await),
    }
}

#[tracing::instrument(skip_all, fields(job = %ctx.job().id))]
async fn poll_feed(ctx: JobContext, jobs: Arc<WebsubJobs>) -> Result<(), JobError> {
    let channel_id = payload_id(&ctx, "channel_id")?;
    // An unlinked channel ends its chain of polls.
    let Some(channel) = ctx.store.channel(channel_id).await? else {
        return Ok(());
    };
    let feed = match jobs.youtube.fetch_feed(&channel.youtube_id).await {
        Ok(feed) => Some(feed),
        Err(e) => {
            // A failed poll must not end the chain: warn and try at the next interval.
            tracing::warn!(channel = %channel.youtube_id, error = %e, "polling the channel's feed failed");
            None
        }
    };
    let entries: Vec<AnnouncedVideo<'_>> = feed
        .iter()
        .flat_map(|f| &f.entries)
        .filter(|e| e.channel_id == channel.youtube_id)
        .map(|entry| AnnouncedVideo {
            youtube_id: &entry.video_id,
            title: &entry.title,
            published_at: entry.published_ms(),
            updated_at: entry.updated_ms(),
        })
        .collect();
    let deleted: Vec<DeletedVideo<'_>> = feed
        .iter()
        .flat_map(|f| &f.deleted)
        .filter(|d| {
            d.channel_id
                .as_ref()
                .is_none_or(|c| *c == channel.youtube_id)
        })
        .map(|d| DeletedVideo {
            youtube_id: &d.video_id,
            deleted_at: d.deleted_ms().unwrap_or_else(now_ms),
        })
        .collect();
    let mut tx = ctx.store.begin().await?;
    // The same rules as a push: only uploads since the channel was linked.
    let new = apply_feed(&mut tx, &channel, &entries, &deleted, jobs.max_attempts)
        .await?
        .new
        .len();
    if new > 0 {
        tracing::info!(channel = %channel.youtube_id, new, "the poll found uploads the pushes missed");
    }
    let next =
        now_ms().saturating_add(i64::try_from(jobs.poll_interval.as_millis()).unwrap_or(i64::MAX));
    vidpress_store::queue::enqueue(
        &mut tx,
        &NewJob::new(JobKind::PollFeed, poll_payload(channel.id)).run_at(next),
    )
    .await?;
    ctx.complete_in(&mut tx).await?;
    tx.commit()
        .await
        .map_err(vidpress_store::StoreError::from)?;
    Ok(())
}
