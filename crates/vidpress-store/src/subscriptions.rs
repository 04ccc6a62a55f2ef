//! WebSub subscriptions as stored: one per linked channel, found by its callback token, moved
//! through pending → active (→ renewed) or failed, and unsubscribed on unlink. Renewal is a
//! queued `subscribe` job with a `run_at`, so it survives restarts.

use sqlx::Row;
use sqlx::any::AnyRow;
use vidpress_core::{ChannelId, JobKind};

use crate::queue::{NewJob, enqueue};
use crate::{Store, StoreError, UserId, now_ms};

/// Where a subscription stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SubscriptionState {
    /// Asked of the hub, not yet verified.
    Pending,
    /// Verified; notifications flow until the lease expires.
    Active,
    /// The hub refused or denied it; `last_error` says why.
    Failed,
    /// We asked the hub to end it (the channel was unlinked).
    Unsubscribed,
}

impl SubscriptionState {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            SubscriptionState::Pending => "pending",
            SubscriptionState::Active => "active",
            SubscriptionState::Failed => "failed",
            SubscriptionState::Unsubscribed => "unsubscribed",
        }
    }

    pub(crate) fn parse(s: &str) -> Result<Self, StoreError> {
        Ok(match s {
            "pending" => SubscriptionState::Pending,
            "active" => SubscriptionState::Active,
            "failed" => SubscriptionState::Failed,
            "unsubscribed" => SubscriptionState::Unsubscribed,
            other => {
                return Err(StoreError::Corrupt(format!(
                    "unknown subscription state `{other}`"
                )));
            }
        })
    }
}

/// A stored subscription, with the channel it serves while that is still linked. Its `Debug`
/// output leaves out the callback token and the secret.
#[derive(Clone)]
pub struct Subscription {
    pub id: i64,
    /// The `channels` row; `None` once the channel was unlinked.
    pub channel_id: Option<i64>,
    /// The owner of that channel.
    pub user_id: Option<UserId>,
    /// The YouTube channel, while linked.
    pub youtube_channel: Option<ChannelId>,
    pub topic: String,
    pub callback_token: String,
    pub secret: String,
    pub state: SubscriptionState,
    pub lease_seconds: Option<i64>,
    pub lease_expires_at: Option<i64>,
    pub verified_at: Option<i64>,
    pub last_error: Option<String>,
}

impl std::fmt::Debug for Subscription {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Subscription")
            .field("id", &self.id)
            .field("channel_id", &self.channel_id)
            .field("user_id", &self.user_id)
            .field("youtube_channel", &self.youtube_channel)
            .field("topic", &self.topic)
            .field("callback_token", &"***")
            .field("secret", &"***")
            .field("state", &self.state)
            .field("lease_seconds", &self.lease_seconds)
            .field("lease_expires_at", &self.lease_expires_at)
            .field("verified_at", &self.verified_at)
            .field("last_error", &self.last_error)
            .finish()
    }
}

/// The payload of `subscribe` and `unsubscribe` jobs.
pub fn subscription_payload(id: i64) -> serde_json::Value {
    serde_json::json!({ "subscription_id": id })
}

const COLUMNS: &str = "s.id, s.channel_id, c.user_id, c.youtube_id, s.topic, s.callback_token, s.secret, \
     s.state, s.lease_seconds, s.lease_expires_at, s.verified_at, s.last_error \
     FROM subscriptions s LEFT JOIN channels c ON c.id = s.channel_id";

fn from_row(row: &AnyRow) -> Result<Subscription, StoreError> {
    let state: String = row.try_get("state")?;
    let youtube: Option<String> = row.try_get("youtube_id")?;
    Ok(Subscription {
        id: row.try_get("id")?,
        channel_id: row.try_get("channel_id")?,
        user_id: row.try_get::<Option<i64>, _>("user_id")?.map(UserId),
        youtube_channel: youtube
            .map(|y| ChannelId::parse(&y).map_err(|e| StoreError::Corrupt(e.to_string())))
            .transpose()?,
        topic: row.try_get("topic")?,
        callback_token: row.try_get("callback_token")?,
        secret: row.try_get("secret")?,
        state: SubscriptionState::parse(&state)?,
        lease_seconds: row.try_get("lease_seconds")?,
        lease_expires_at: row.try_get("lease_expires_at")?,
        verified_at: row.try_get("verified_at")?,
        last_error: row.try_get("last_error")?,
    })
}

impl Store {
    /// The subscription whose callback URL ends in `token`.
    pub async fn subscription_by_token(
        &self,
        token: &str,
    ) -> Result<Option<Subscription>, StoreError> {
        let sql = format!("SELECT {COLUMNS} WHERE s.callback_token = $1");
        let row = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(token)
            .fetch_optional(self.pool())
            .await?;
        row.as_ref().map(from_row).transpose()
    }

    /// A subscription by id.
    pub async fn subscription(&self, id: i64) -> Result<Option<Subscription>, StoreError> {
        let sql = format!("SELECT {COLUMNS} WHERE s.id = $1");
        let row = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(id)
            .fetch_optional(self.pool())
            .await?;
        row.as_ref().map(from_row).transpose()
    }

    /// Records the hub's verification of a subscription: active, with the granted lease, and a
    /// renewal (`subscribe` job) due at `renew_at`, unless one is already queued.
    pub async fn confirm_subscription(
        &self,
        id: i64,
        lease_seconds: i64,
        renew_at: i64,
    ) -> Result<(), StoreError> {
        let now = now_ms();
        let mut tx = self.begin().await?;
        sqlx::query(
            "UPDATE subscriptions SET state = 'active', lease_seconds = $2, lease_expires_at = $3, \
             verified_at = $4, last_error = NULL, updated_at = $4 WHERE id = $1",
        )
        .bind(id)
        .bind(lease_seconds)
        .bind(now.saturating_add(lease_seconds.saturating_mul(1000)))
        .bind(now)
        .execute(&mut *tx)
        .await?;
        let payload = subscription_payload(id);
        let queued = sqlx::query(
            "SELECT id FROM jobs WHERE kind = $1 AND state = 'queued' AND payload = $2",
        )
        .bind(JobKind::Subscribe.as_str())
        .bind(payload.to_string())
        .fetch_optional(&mut *tx)
        .await?;
        if queued.is_none() {
            enqueue(
                &mut tx,
                &NewJob::new(JobKind::Subscribe, payload).run_at(renew_at),
            )
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// Records the hub's verification of an unsubscription.
    pub async fn confirm_unsubscription(&self, id: i64) -> Result<(), StoreError> {
        let now = now_ms();
        sqlx::query(
            "UPDATE subscriptions SET lease_expires_at = NULL, verified_at = $2, updated_at = $2 WHERE id = $1",
        )
        .bind(id)
        .bind(now)
        .execute(self.pool())
        .await?;
        Ok(())
    }

    /// The hub accepted our request: clear the last error.
    pub async fn subscription_requested(&self, id: i64) -> Result<(), StoreError> {
        self.set_subscription_error(id, None, None).await
    }

    /// Asking the hub failed in a way worth retrying: keep the state, show the error.
    pub async fn subscription_retrying(&self, id: i64, error: &str) -> Result<(), StoreError> {
        self.set_subscription_error(id, Some(error), None).await
    }

    /// The hub refused or denied the subscription: it stays failed until linked again.
    pub async fn subscription_failed(&self, id: i64, error: &str) -> Result<(), StoreError> {
        self.set_subscription_error(id, Some(error), Some(SubscriptionState::Failed))
            .await
    }

    async fn set_subscription_error(
        &self,
        id: i64,
        error: Option<&str>,
        state: Option<SubscriptionState>,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE subscriptions SET last_error = $2, state = COALESCE($3, state), updated_at = $4 WHERE id = $1",
        )
        .bind(id)
        .bind(error)
        .bind(state.map(SubscriptionState::as_str))
        .bind(now_ms())
        .execute(self.pool())
        .await?;
        Ok(())
    }
}
