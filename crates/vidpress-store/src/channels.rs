//! Linked channels and the videos their feeds announce. Linking is idempotent per user and
//! creates the channel's subscription and its first jobs in the same transaction; a video is
//! inserted once per channel, with its fetch job in the same transaction, however often it
//! is announced.

use sqlx::any::AnyRow;
use sqlx::{AnyConnection, Row};
use vidpress_core::{ChannelId, JobKind, VideoId};

use crate::queue::{JobId, NewJob, enqueue};
use crate::subscriptions::{SubscriptionState, subscription_payload};
use crate::{Store, StoreError, UserId, now_ms};

/// A channel a user linked.
#[derive(Debug, Clone)]
pub struct Channel {
    pub id: i64,
    pub user_id: UserId,
    pub youtube_id: ChannelId,
    pub title: String,
    pub created_at: i64,
}

/// A channel with its subscription's state, for listings.
#[derive(Debug, Clone)]
pub struct ChannelStatus {
    pub channel: Channel,
    pub subscription_id: Option<i64>,
    pub state: Option<SubscriptionState>,
    pub lease_expires_at: Option<i64>,
    pub last_error: Option<String>,
}

/// The subscription to create for a newly linked channel.
#[derive(Debug, Clone, Copy)]
pub struct NewSubscription<'a> {
    pub topic: &'a str,
    pub callback_token: &'a str,
    pub secret: &'a str,
}

/// What [`Store::link_channel`] did.
#[derive(Debug, Clone)]
pub struct Linked {
    pub channel: Channel,
    pub subscription_id: i64,
    /// False when the user had already linked this channel.
    pub newly_linked: bool,
}

/// A video as a feed announces it.
#[derive(Debug, Clone, Copy)]
pub struct AnnouncedVideo<'a> {
    pub youtube_id: &'a VideoId,
    pub title: &'a str,
    /// Epoch milliseconds.
    pub published_at: Option<i64>,
    /// The feed's `updated`, epoch milliseconds.
    pub updated_at: Option<i64>,
}

/// What recording an announced video did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Recorded {
    /// A new video row and its fetch job.
    New { video_id: i64, job: JobId },
    /// A known video whose title changed (a later `updated`).
    TitleUpdated { video_id: i64 },
    /// A repeat of what is stored.
    Unchanged,
}

/// The payload of `poll_feed` jobs.
pub fn poll_payload(channel_id: i64) -> serde_json::Value {
    serde_json::json!({ "channel_id": channel_id })
}

fn channel_from_row(row: &AnyRow) -> Result<Channel, StoreError> {
    let youtube: String = row.try_get("youtube_id")?;
    Ok(Channel {
        id: row.try_get("id")?,
        user_id: UserId(row.try_get("user_id")?),
        youtube_id: ChannelId::parse(&youtube).map_err(|e| StoreError::Corrupt(e.to_string()))?,
        title: row.try_get("title")?,
        created_at: row.try_get("created_at")?,
    })
}

impl Store {
    /// Links a channel to a user. The first time, creates its pending subscription and enqueues
    /// a `subscribe` job and the first `poll_feed` (at `first_poll_at`), all in one transaction.
    /// Linking again changes nothing, except that a failed subscription is tried again.
    pub async fn link_channel(
        &self,
        user: UserId,
        youtube_id: &ChannelId,
        title: &str,
        subscription: &NewSubscription<'_>,
        first_poll_at: i64,
    ) -> Result<Linked, StoreError> {
        let now = now_ms();
        let mut tx = self.begin().await?;
        let inserted = sqlx::query(
            "INSERT INTO channels (user_id, youtube_id, title, created_at) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (user_id, youtube_id) DO NOTHING RETURNING id",
        )
        .bind(user.0)
        .bind(youtube_id.as_str())
        .bind(title)
        .bind(now)
        .fetch_optional(&mut *tx)
        .await?;
        let row = sqlx::query(
            "SELECT id, user_id, youtube_id, title, created_at FROM channels WHERE user_id = $1 AND youtube_id = $2",
        )
        .bind(user.0)
        .bind(youtube_id.as_str())
        .fetch_one(&mut *tx)
        .await?;
        let channel = channel_from_row(&row)?;
        let existing = sqlx::query("SELECT id, state FROM subscriptions WHERE channel_id = $1")
            .bind(channel.id)
            .fetch_optional(&mut *tx)
            .await?;
        let subscription_id = match existing {
            Some(row) => {
                let id: i64 = row.try_get("id")?;
                let state: String = row.try_get("state")?;
                if state == SubscriptionState::Failed.as_str() {
                    sqlx::query(
                        "UPDATE subscriptions SET state = 'pending', updated_at = $2 WHERE id = $1",
                    )
                    .bind(id)
                    .bind(now)
                    .execute(&mut *tx)
                    .await?;
                    enqueue(
                        &mut tx,
                        &NewJob::new(JobKind::Subscribe, subscription_payload(id)),
                    )
                    .await?;
                }
                id
            }
            None => {
                let row = sqlx::query(
                    "INSERT INTO subscriptions (channel_id, topic, callback_token, secret, state, created_at, \
                     updated_at) VALUES ($1, $2, $3, $4, 'pending', $5, $5) RETURNING id",
                )
                .bind(channel.id)
                .bind(subscription.topic)
                .bind(subscription.callback_token)
                .bind(subscription.secret)
                .bind(now)
                .fetch_one(&mut *tx)
                .await?;
                let id: i64 = row.try_get("id")?;
                enqueue(
                    &mut tx,
                    &NewJob::new(JobKind::Subscribe, subscription_payload(id)),
                )
                .await?;
                enqueue(
                    &mut tx,
                    &NewJob::new(JobKind::PollFeed, poll_payload(channel.id)).run_at(first_poll_at),
                )
                .await?;
                id
            }
        };
        tx.commit().await?;
        Ok(Linked {
            channel,
            subscription_id,
            newly_linked: inserted.is_some(),
        })
    }

    /// A user's channels with their subscriptions, oldest first.
    pub async fn channels(&self, user: UserId) -> Result<Vec<ChannelStatus>, StoreError> {
        let rows = sqlx::query(
            "SELECT c.id, c.user_id, c.youtube_id, c.title, c.created_at, s.id AS subscription_id, \
             s.state, s.lease_expires_at, s.last_error \
             FROM channels c LEFT JOIN subscriptions s ON s.channel_id = c.id \
             WHERE c.user_id = $1 ORDER BY c.id",
        )
        .bind(user.0)
        .fetch_all(self.pool())
        .await?;
        rows.iter()
            .map(|row| {
                let state: Option<String> = row.try_get("state")?;
                Ok(ChannelStatus {
                    channel: channel_from_row(row)?,
                    subscription_id: row.try_get("subscription_id")?,
                    state: state.as_deref().map(SubscriptionState::parse).transpose()?,
                    lease_expires_at: row.try_get("lease_expires_at")?,
                    last_error: row.try_get("last_error")?,
                })
            })
            .collect()
    }

    /// A user's channels for the video list's filter, in the order they were linked: id, title
    /// (empty until known) and YouTube id, without their subscriptions.
    pub async fn channel_titles(
        &self,
        user: UserId,
    ) -> Result<Vec<(i64, String, String)>, StoreError> {
        let rows = sqlx::query(
            "SELECT id, title, youtube_id FROM channels WHERE user_id = $1 ORDER BY id",
        )
        .bind(user.0)
        .fetch_all(self.pool())
        .await?;
        rows.iter()
            .map(|row| {
                Ok((
                    row.try_get("id")?,
                    row.try_get("title")?,
                    row.try_get("youtube_id")?,
                ))
            })
            .collect()
    }

    /// A channel by id.
    pub async fn channel(&self, id: i64) -> Result<Option<Channel>, StoreError> {
        let row = sqlx::query(
            "SELECT id, user_id, youtube_id, title, created_at FROM channels WHERE id = $1",
        )
        .bind(id)
        .fetch_optional(self.pool())
        .await?;
        row.as_ref().map(channel_from_row).transpose()
    }

    /// Unlinks a channel: its subscription is marked unsubscribed and an `unsubscribe` job
    /// enqueued, and the channel row is removed (its videos and drafts stay), in one
    /// transaction. Returns false when the user had no such channel.
    pub async fn unlink_channel(
        &self,
        user: UserId,
        youtube_id: &ChannelId,
    ) -> Result<bool, StoreError> {
        let now = now_ms();
        let mut tx = self.begin().await?;
        let Some(row) =
            sqlx::query("SELECT id FROM channels WHERE user_id = $1 AND youtube_id = $2")
                .bind(user.0)
                .bind(youtube_id.as_str())
                .fetch_optional(&mut *tx)
                .await?
        else {
            return Ok(false);
        };
        let channel_id: i64 = row.try_get("id")?;
        let subscription = sqlx::query(
            "UPDATE subscriptions SET state = 'unsubscribed', updated_at = $2 WHERE channel_id = $1 RETURNING id",
        )
        .bind(channel_id)
        .bind(now)
        .fetch_optional(&mut *tx)
        .await?;
        if let Some(row) = subscription {
            let id: i64 = row.try_get("id")?;
            enqueue(
                &mut tx,
                &NewJob::new(JobKind::Unsubscribe, subscription_payload(id)),
            )
            .await?;
        }
        // Its queued feed polls end here: none may run for a later link of the channel.
        sqlx::query(
            "UPDATE jobs SET state = 'cancelled', finished_at = $1, updated_at = $1 \
             WHERE kind = $2 AND state = 'queued' AND payload = $3",
        )
        .bind(now)
        .bind(JobKind::PollFeed.as_str())
        .bind(poll_payload(channel_id).to_string())
        .execute(&mut *tx)
        .await?;
        sqlx::query("DELETE FROM channels WHERE id = $1")
            .bind(channel_id)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(true)
    }
}

/// A video a feed says was deleted.
#[derive(Debug, Clone, Copy)]
pub struct DeletedVideo<'a> {
    pub youtube_id: &'a VideoId,
    /// When, epoch milliseconds.
    pub deleted_at: i64,
}

/// What [`apply_feed`] did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Applied {
    /// New videos and their fetch jobs.
    pub new: Vec<(i64, JobId)>,
    /// Known videos whose title changed.
    pub retitled: usize,
    /// Entries published before the channel was linked (or undated), left alone.
    pub too_old: usize,
    /// Videos newly marked deleted.
    pub deleted: usize,
}

/// Applies what a feed (a push or a poll) says about a channel, inside the caller's
/// transaction, by the same rules on every path: only videos published since the channel was
/// linked are recorded (a push about an old video's title edit enqueues nothing), each new
/// video's fetch job gets `max_attempts`, and tombstones mark known videos deleted.
pub async fn apply_feed(
    conn: &mut AnyConnection,
    channel: &Channel,
    entries: &[AnnouncedVideo<'_>],
    deleted: &[DeletedVideo<'_>],
    max_attempts: u32,
) -> Result<Applied, StoreError> {
    let mut applied = Applied::default();
    for entry in entries {
        if entry
            .published_at
            .is_none_or(|published| published < channel.created_at)
        {
            applied.too_old += 1;
            continue;
        }
        match record_announced_video(conn, channel, entry, max_attempts).await? {
            Recorded::New { video_id, job } => applied.new.push((video_id, job)),
            Recorded::TitleUpdated { .. } => applied.retitled += 1,
            Recorded::Unchanged => {}
        }
    }
    for gone in deleted {
        if mark_video_deleted(conn, channel, gone.youtube_id, gone.deleted_at).await? {
            applied.deleted += 1;
        }
    }
    Ok(applied)
}

/// Records a video a feed announced, inside the caller's transaction: one video per YouTube id
/// and owner, whatever happened to the channel link (a video seen under an earlier link of the
/// same channel is taken over by this one, not copied), inserted with its `fetch` job; a later
/// announcement with a newer `updated` changes only the title; anything else is a repeat.
pub async fn record_announced_video(
    conn: &mut AnyConnection,
    channel: &Channel,
    video: &AnnouncedVideo<'_>,
    max_attempts: u32,
) -> Result<Recorded, StoreError> {
    let now = now_ms();
    // A video recorded under an earlier link of this channel belongs to this link now.
    sqlx::query(
        "UPDATE videos SET channel_id = $1 WHERE user_id = $2 AND youtube_id = $3 \
         AND (channel_id IS NULL OR channel_id <> $1)",
    )
    .bind(channel.id)
    .bind(channel.user_id.0)
    .bind(video.youtube_id.as_str())
    .execute(&mut *conn)
    .await?;
    let known = sqlx::query("SELECT id FROM videos WHERE user_id = $1 AND youtube_id = $2")
        .bind(channel.user_id.0)
        .bind(video.youtube_id.as_str())
        .fetch_optional(&mut *conn)
        .await?;
    let inserted = if known.is_some() {
        None
    } else {
        sqlx::query(
        "INSERT INTO videos (user_id, channel_id, youtube_id, source_url, title, state, published_at, \
         feed_updated_at, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, 'new', $6, $7, $8, $8) \
         ON CONFLICT (channel_id, youtube_id) DO NOTHING RETURNING id",
    )
    .bind(channel.user_id.0)
    .bind(channel.id)
    .bind(video.youtube_id.as_str())
    // The feed's `<link>` is not trusted as a download address.
    .bind(video.youtube_id.watch_url())
    .bind(video.title)
    .bind(video.published_at)
    .bind(video.updated_at)
    .bind(now)
    .fetch_optional(&mut *conn)
    .await?
    };
    if let Some(row) = inserted {
        let video_id: i64 = row.try_get("id")?;
        // The same first step, payload and attempts as every other entry point.
        let job = crate::videos::enqueue_step(
            conn,
            JobKind::Fetch,
            crate::VideoKey(video_id),
            max_attempts,
        )
        .await?;
        return Ok(Recorded::New { video_id, job });
    }
    // Only a strictly newer announcement may change the title, so a late, out-of-order
    // delivery of the original push cannot undo an edit.
    let updated = sqlx::query(
        "UPDATE videos SET title = $1, feed_updated_at = $2, updated_at = $3 \
         WHERE channel_id = $4 AND youtube_id = $5 AND title <> $1 \
         AND (feed_updated_at IS NULL OR $2 IS NULL OR feed_updated_at < $2) RETURNING id",
    )
    .bind(video.title)
    .bind(video.updated_at)
    .bind(now)
    .bind(channel.id)
    .bind(video.youtube_id.as_str())
    .fetch_optional(&mut *conn)
    .await?;
    match updated {
        Some(row) => Ok(Recorded::TitleUpdated {
            video_id: row.try_get("id")?,
        }),
        None => Ok(Recorded::Unchanged),
    }
}

/// Marks a channel's video deleted (its draft is kept). Returns false for an unknown video.
pub async fn mark_video_deleted(
    conn: &mut AnyConnection,
    channel: &Channel,
    youtube_id: &VideoId,
    deleted_at: i64,
) -> Result<bool, StoreError> {
    let result = sqlx::query(
        "UPDATE videos SET deleted_at = $1, updated_at = $2 WHERE user_id = $3 AND youtube_id = $4 \
         AND deleted_at IS NULL",
    )
    .bind(deleted_at)
    .bind(now_ms())
    .bind(channel.user_id.0)
    .bind(youtube_id.as_str())
    .execute(conn)
    .await?;
    Ok(result.rows_affected() > 0)
}
