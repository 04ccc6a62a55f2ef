//! Figures read from the database for operators: the queue per job kind and the WebSub
//! subscriptions per state. Any node computes them at scrape time, so every web node reports
//! the same queue.

use sqlx::Row;

use vidpress_core::JobKind;

use crate::{Store, StoreError, now_ms};

/// The succeeded jobs of one kind: how many, and when the first and the last finished.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct FinishedSpan {
    pub succeeded: u64,
    /// Epoch ms.
    pub first: Option<i64>,
    /// Epoch ms.
    pub last: Option<i64>,
}

/// The queue's figures for one job kind.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct KindStats {
    /// The job kind's stored name.
    pub kind: String,
    /// Queued and due now.
    pub due: u64,
    /// Queued for later (retries after backoff, renewals, feed polls).
    pub scheduled: u64,
    /// Leased by a worker.
    pub running: u64,
    /// Milliseconds the longest-waiting due job has waited since its `run_at`; 0 with none.
    pub oldest_due_ms: i64,
}

/// Subscriptions in one state.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SubscriptionStats {
    /// The state's stored name.
    pub state: String,
    pub count: u64,
    /// The soonest lease expiry among them (epoch ms), when any has a lease.
    pub soonest_lease_expiry: Option<i64>,
}

fn count(row: &sqlx::any::AnyRow, name: &str) -> Result<u64, StoreError> {
    let n: i64 = row.try_get(name)?;
    Ok(u64::try_from(n).unwrap_or(0))
}

impl Store {
    /// The queue per job kind, for kinds that have queued or running jobs.
    pub async fn queue_by_kind(&self) -> Result<Vec<KindStats>, StoreError> {
        let now = now_ms();
        let rows = sqlx::query(
            "SELECT kind, \
               SUM(CASE WHEN state = 'queued' AND run_at <= $1 THEN 1 ELSE 0 END) AS due, \
               SUM(CASE WHEN state = 'queued' AND run_at > $1 THEN 1 ELSE 0 END) AS scheduled, \
               SUM(CASE WHEN state = 'running' THEN 1 ELSE 0 END) AS running, \
               MIN(CASE WHEN state = 'queued' AND run_at <= $1 THEN run_at END) AS oldest \
             FROM jobs WHERE state IN ('queued', 'running') GROUP BY kind ORDER BY kind",
        )
        .bind(now)
        .fetch_all(self.pool())
        .await?;
        rows.iter()
            .map(|row| {
                let oldest: Option<i64> = row.try_get("oldest")?;
                Ok(KindStats {
                    kind: row.try_get("kind")?,
                    due: count(row, "due")?,
                    scheduled: count(row, "scheduled")?,
                    running: count(row, "running")?,
                    oldest_due_ms: oldest.map_or(0, |at| (now - at).max(0)),
                })
            })
            .collect()
    }

    /// How many jobs of `kind` succeeded and the span of their finish times (benchmarks).
    pub async fn finished_span(&self, kind: JobKind) -> Result<FinishedSpan, StoreError> {
        let row = sqlx::query(
            "SELECT COUNT(*) AS n, MIN(finished_at) AS first, MAX(finished_at) AS last \
             FROM jobs WHERE kind = $1 AND state = 'succeeded'",
        )
        .bind(kind.as_str())
        .fetch_one(self.pool())
        .await?;
        Ok(FinishedSpan {
            succeeded: count(&row, "n")?,
            first: row.try_get("first")?,
            last: row.try_get("last")?,
        })
    }

    /// WebSub subscriptions per state, with the soonest lease expiry in each.
    pub async fn subscription_stats(&self) -> Result<Vec<SubscriptionStats>, StoreError> {
        let rows = sqlx::query(
            "SELECT state, COUNT(*) AS n, MIN(lease_expires_at) AS soonest \
             FROM subscriptions GROUP BY state ORDER BY state",
        )
        .fetch_all(self.pool())
        .await?;
        rows.iter()
            .map(|row| {
                Ok(SubscriptionStats {
                    state: row.try_get("state")?,
                    count: count(row, "n")?,
                    soonest_lease_expiry: row.try_get("soonest")?,
                })
            })
            .collect()
    }
}
