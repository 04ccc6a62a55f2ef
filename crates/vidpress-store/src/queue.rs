//! The durable job queue. A job is a row in `jobs`: enqueued inside the caller's transaction,
//! claimed by one worker at a time under a lease the worker keeps renewing, completed, or failed
//! and retried with exponential backoff until it runs out of attempts. A worker that dies stops
//! renewing, its lease runs out, and another worker claims the job again.

use std::fmt;
use std::time::Duration;

use sqlx::any::AnyRow;
use sqlx::{AnyConnection, Row};
use vidpress_core::JobKind;

use crate::{Backend, Store, StoreError, now_ms};

/// A job's database id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct JobId(pub i64);

impl fmt::Display for JobId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// Where a job is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JobState {
    /// Waiting for `run_at` and a free worker.
    Queued,
    /// Leased by a worker.
    Running,
    /// Finished.
    Succeeded,
    /// Ran out of attempts, or failed in a way retrying cannot fix; `last_error` says why.
    Failed,
    /// Stopped by a person.
    Cancelled,
}

impl JobState {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            JobState::Queued => "queued",
            JobState::Running => "running",
            JobState::Succeeded => "succeeded",
            JobState::Failed => "failed",
            JobState::Cancelled => "cancelled",
        }
    }

    fn parse(s: &str) -> Result<Self, StoreError> {
        Ok(match s {
            "queued" => JobState::Queued,
            "running" => JobState::Running,
            "succeeded" => JobState::Succeeded,
            "failed" => JobState::Failed,
            "cancelled" => JobState::Cancelled,
            other => return Err(StoreError::Corrupt(format!("unknown job state `{other}`"))),
        })
    }
}

/// How many times a job runs before it stays failed, unless its creator says otherwise.
pub const DEFAULT_MAX_ATTEMPTS: u32 = 5;

/// Work to put on the queue.
#[derive(Debug, Clone)]
pub struct NewJob {
    pub kind: JobKind,
    pub payload: serde_json::Value,
    /// The video this job works on, so the dashboard can show and cancel a video's jobs.
    pub video_id: Option<i64>,
    /// Earliest start, in epoch milliseconds; `None` means now.
    pub run_at: Option<i64>,
    pub max_attempts: u32,
}

impl NewJob {
    /// A job to run now, with [`DEFAULT_MAX_ATTEMPTS`].
    pub fn new(kind: JobKind, payload: serde_json::Value) -> Self {
        Self {
            kind,
            payload,
            video_id: None,
            run_at: None,
            max_attempts: DEFAULT_MAX_ATTEMPTS,
        }
    }

    /// Ties the job to a video.
    pub fn for_video(mut self, video_id: i64) -> Self {
        self.video_id = Some(video_id);
        self
    }

    /// Delays the job until `run_at_ms` (epoch milliseconds).
    pub fn run_at(mut self, run_at_ms: i64) -> Self {
        self.run_at = Some(run_at_ms);
        self
    }

    /// Sets how many times the job may run before it stays failed.
    pub fn max_attempts(mut self, attempts: u32) -> Self {
        self.max_attempts = attempts.max(1);
        self
    }
}

/// A stored job.
#[derive(Debug, Clone)]
pub struct Job {
    pub id: JobId,
    pub kind: JobKind,
    pub payload: serde_json::Value,
    pub video_id: Option<i64>,
    pub state: JobState,
    /// How many times the job has been claimed, this run included.
    pub attempts: u32,
    pub max_attempts: u32,
    pub run_at: i64,
    pub lease_owner: Option<String>,
    /// The lease owner of the latest run, kept after it ends: `<worker name>/<claim id>`.
    pub last_owner: Option<String>,
    pub lease_expires_at: Option<i64>,
    /// 0–100.
    pub progress: u8,
    pub progress_message: String,
    pub last_error: Option<String>,
    pub created_at: i64,
    pub finished_at: Option<i64>,
}

/// A job this worker holds the lease on.
#[derive(Debug, Clone)]
pub struct ClaimedJob {
    pub job: Job,
    /// The lease owner the worker claimed it as; every later call must present it.
    pub owner: String,
}

/// What renewing a lease found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LeaseStatus {
    /// The lease is extended; keep working.
    Held,
    /// The job was cancelled, or the lease expired and another worker took it: stop.
    Lost,
}

/// When a failed job runs again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Retry {
    /// After the queue's exponential backoff, while attempts remain.
    Backoff,
    /// At this time (epoch ms), while attempts remain: e.g. when a premiere starts.
    At(i64),
    /// Never: the job stays failed (bad input that retrying cannot fix).
    Never,
}

/// Exponential backoff: `base × 2^(attempt-1)`, capped.
#[derive(Debug, Clone, Copy)]
pub struct RetryPolicy {
    pub base: Duration,
    pub max: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            base: Duration::from_secs(10),
            max: Duration::from_secs(3600),
        }
    }
}

impl RetryPolicy {
    /// The delay before the next try after `attempt` (1-based) failed.
    pub fn delay(&self, attempt: u32) -> Duration {
        let factor = 2u32.saturating_pow(attempt.saturating_sub(1).min(30));
        self.base.saturating_mul(factor).min(self.max)
    }
}

/// Counts of jobs by state.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct QueueStats {
    pub queued: u64,
    pub running: u64,
    pub succeeded: u64,
    pub failed: u64,
    pub cancelled: u64,
}

/// The columns [`job_from_row`] reads, as a literal so queries stay `&'static str`.
macro_rules! job_columns {
    () => {
        "id, kind, payload, video_id, state, attempts, max_attempts, run_at, lease_owner, \
         last_owner, lease_expires_at, progress, progress_message, last_error, created_at, \
         finished_at"
    };
}

fn job_from_row(row: &AnyRow) -> Result<Job, StoreError> {
    let kind: String = row.try_get("kind")?;
    let payload: String = row.try_get("payload")?;
    let state: String = row.try_get("state")?;
    let small = |name: &str| -> Result<u32, StoreError> {
        let v: i64 = row.try_get(name)?;
        u32::try_from(v).map_err(|_| StoreError::Corrupt(format!("job {name} = {v}")))
    };
    Ok(Job {
        id: JobId(row.try_get("id")?),
        kind: JobKind::parse(&kind).map_err(|e| StoreError::Corrupt(e.to_string()))?,
        payload: serde_json::from_str(&payload)
            .map_err(|e| StoreError::Corrupt(format!("job payload: {e}")))?,
        video_id: row.try_get("video_id")?,
        state: JobState::parse(&state)?,
        attempts: small("attempts")?,
        max_attempts: small("max_attempts")?,
        run_at: row.try_get("run_at")?,
        lease_owner: row.try_get("lease_owner")?,
        last_owner: row.try_get("last_owner")?,
        lease_expires_at: row.try_get("lease_expires_at")?,
        progress: small("progress")?.min(100) as u8,
        progress_message: row.try_get("progress_message")?,
        last_error: row.try_get("last_error")?,
        created_at: row.try_get("created_at")?,
        finished_at: row.try_get("finished_at")?,
    })
}

fn millis(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}

/// Puts a job on the queue using the caller's connection or transaction, so the job exists
/// exactly when the caller's other rows do: a rolled-back transaction leaves no job.
pub async fn enqueue(conn: &mut AnyConnection, job: &NewJob) -> Result<JobId, StoreError> {
    let now = now_ms();
    let row = sqlx::query(
        "INSERT INTO jobs (kind, payload, video_id, state, attempts, max_attempts, run_at, \
         progress, progress_message, created_at, updated_at) \
         VALUES ($1, $2, $3, 'queued', 0, $4, $5, 0, '', $6, $6) RETURNING id",
    )
    .bind(job.kind.as_str())
    .bind(job.payload.to_string())
    .bind(job.video_id)
    .bind(i64::from(job.max_attempts.max(1)))
    .bind(job.run_at.unwrap_or(now))
    .bind(now)
    .fetch_one(&mut *conn)
    .await?;
    Ok(JobId(row.try_get("id")?))
}

impl Store {
    /// Enqueues one job in its own transaction.
    pub async fn enqueue(&self, job: &NewJob) -> Result<JobId, StoreError> {
        let mut conn = self.pool().acquire().await?;
        enqueue(&mut conn, job).await
    }

    /// Claims the next due job of one of `kinds` for `owner`, leasing it for `lease`.
    ///
    /// A job is due when it is queued and its `run_at` has passed, or when it is running but its
    /// lease has expired (its worker died). Exactly one caller gets each job: PostgreSQL skips
    /// rows other claimers have locked, SQLite serialises the single claiming statement.
    pub async fn claim(
        &self,
        owner: &str,
        kinds: &[JobKind],
        lease: Duration,
    ) -> Result<Option<ClaimedJob>, StoreError> {
        if kinds.is_empty() {
            return Ok(None);
        }
        let now = now_ms();
        let kind_params: Vec<String> = (0..kinds.len()).map(|i| format!("${}", i + 4)).collect();
        let lock = match self.backend() {
            Backend::Postgres => "FOR UPDATE SKIP LOCKED",
            Backend::Sqlite => "",
        };
        let sql = format!(
            "UPDATE jobs SET state = 'running', attempts = attempts + 1, lease_owner = $1, \
             last_owner = $1, lease_expires_at = $2, updated_at = $3 \
             WHERE id = (SELECT id FROM jobs WHERE kind IN ({kinds}) AND attempts < max_attempts \
               AND ((state = 'queued' AND run_at <= $3) OR (state = 'running' AND lease_expires_at < $3)) \
               ORDER BY run_at, id LIMIT 1 {lock}) \
             RETURNING {columns}",
            kinds = kind_params.join(", "),
            columns = job_columns!(),
        );
        // Only numbered placeholders are interpolated; the kinds themselves are bound.
        let mut query = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(owner)
            .bind(now + millis(lease))
            .bind(now);
        for kind in kinds {
            query = query.bind(kind.as_str());
        }
        let row = query.fetch_optional(self.pool()).await?;
        if row.is_none() {
            // Sweep only when idle: it is bookkeeping, not on the hot path of a busy queue.
            self.fail_abandoned(now).await?;
        }
        row.map(|row| {
            Ok(ClaimedJob {
                job: job_from_row(&row)?,
                owner: owner.to_owned(),
            })
        })
        .transpose()
    }

    /// Jobs whose worker died on their last attempt cannot be claimed again: mark them failed,
    /// and their videos failed with a message (the workers' scratch sweep removes their files).
    async fn fail_abandoned(&self, now: i64) -> Result<(), StoreError> {
        const MESSAGE: &str = "the worker running it stopped responding on its last attempt";
        let mut tx = self.begin().await?;
        sqlx::query(
            "UPDATE videos SET state = 'failed', error = $2, updated_at = $1 \
             WHERE state NOT IN ('ready', 'failed', 'cancelled') AND id IN (SELECT video_id FROM jobs \
               WHERE state = 'running' AND lease_expires_at < $1 AND attempts >= max_attempts \
               AND video_id IS NOT NULL)",
        )
        .bind(now)
        .bind(format!("{MESSAGE}; try it again from the dashboard"))
        .execute(&mut *tx)
        .await?;
        sqlx::query(
            "UPDATE jobs SET state = 'failed', lease_owner = NULL, lease_expires_at = NULL, \
             finished_at = $1, updated_at = $1, last_error = $2 \
             WHERE state = 'running' AND lease_expires_at < $1 AND attempts >= max_attempts",
        )
        .bind(now)
        .bind(MESSAGE)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Extends the lease of a job this worker holds.
    pub async fn renew(
        &self,
        job: &ClaimedJob,
        lease: Duration,
    ) -> Result<LeaseStatus, StoreError> {
        let now = now_ms();
        let done = sqlx::query(
            "UPDATE jobs SET lease_expires_at = $1, updated_at = $2 \
             WHERE id = $3 AND lease_owner = $4 AND state = 'running'",
        )
        .bind(now + millis(lease))
        .bind(now)
        .bind(job.job.id.0)
        .bind(&job.owner)
        .execute(self.pool())
        .await?;
        Ok(if done.rows_affected() == 1 {
            LeaseStatus::Held
        } else {
            LeaseStatus::Lost
        })
    }

    /// Records progress (0–100, clamped) and a short message on a job this worker holds.
    pub async fn set_progress(
        &self,
        job: &ClaimedJob,
        percent: u8,
        message: &str,
    ) -> Result<(), StoreError> {
        let done = sqlx::query(
            "UPDATE jobs SET progress = $1, progress_message = $2, updated_at = $3 \
             WHERE id = $4 AND lease_owner = $5 AND state = 'running'",
        )
        .bind(i64::from(percent.min(100)))
        .bind(message)
        .bind(now_ms())
        .bind(job.job.id.0)
        .bind(&job.owner)
        .execute(self.pool())
        .await?;
        lease_held(done.rows_affected(), job)
    }

    /// Marks a job this worker holds as succeeded.
    pub async fn complete(&self, job: &ClaimedJob) -> Result<(), StoreError> {
        let mut conn = self.pool().acquire().await?;
        complete(&mut conn, job).await
    }

    /// Records a failure of a job this worker holds. While attempts remain and `retry` allows,
    /// the job goes back to the queue at the retry time; otherwise it stays failed with `error`.
    /// Returns the job's new state.
    pub async fn fail(
        &self,
        job: &ClaimedJob,
        error: &str,
        retry: Retry,
        policy: &RetryPolicy,
    ) -> Result<JobState, StoreError> {
        let now = now_ms();
        let attempts = job.job.attempts;
        let retry_at = match retry {
            Retry::Never => None,
            _ if attempts >= job.job.max_attempts => None,
            Retry::Backoff => Some(now + millis(policy.delay(attempts))),
            Retry::At(at) => Some(at.max(now)),
        };
        let (state, finished_at) = match retry_at {
            Some(_) => (JobState::Queued, None),
            None => (JobState::Failed, Some(now)),
        };
        let done = sqlx::query(
            "UPDATE jobs SET state = $1, run_at = COALESCE($2, run_at), finished_at = $3, \
             last_error = $4, lease_owner = NULL, lease_expires_at = NULL, updated_at = $5 \
             WHERE id = $6 AND lease_owner = $7 AND state = 'running'",
        )
        .bind(state.as_str())
        .bind(retry_at)
        .bind(finished_at)
        .bind(error)
        .bind(now)
        .bind(job.job.id.0)
        .bind(&job.owner)
        .execute(self.pool())
        .await?;
        lease_held(done.rows_affected(), job)?;
        Ok(state)
    }

    /// Gives a held job back to the queue without counting the attempt (graceful shutdown).
    pub async fn release(&self, job: &ClaimedJob) -> Result<(), StoreError> {
        let done = sqlx::query(
            "UPDATE jobs SET state = 'queued', attempts = attempts - 1, lease_owner = NULL, \
             lease_expires_at = NULL, updated_at = $1 \
             WHERE id = $2 AND lease_owner = $3 AND state = 'running'",
        )
        .bind(now_ms())
        .bind(job.job.id.0)
        .bind(&job.owner)
        .execute(self.pool())
        .await?;
        lease_held(done.rows_affected(), job)
    }

    /// Cancels a queued or running job. A running job's worker finds out at its next lease
    /// renewal and stops. Returns whether anything was cancelled.
    pub async fn cancel(&self, id: JobId) -> Result<bool, StoreError> {
        let now = now_ms();
        let done = sqlx::query(
            "UPDATE jobs SET state = 'cancelled', lease_owner = NULL, lease_expires_at = NULL, \
             finished_at = $1, updated_at = $1 WHERE id = $2 AND state IN ('queued', 'running')",
        )
        .bind(now)
        .bind(id.0)
        .execute(self.pool())
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Puts a failed or cancelled job back on the queue with fresh attempts.
    pub async fn retry_now(&self, id: JobId) -> Result<bool, StoreError> {
        let now = now_ms();
        let done = sqlx::query(
            "UPDATE jobs SET state = 'queued', attempts = 0, run_at = $1, finished_at = NULL, \
             updated_at = $1 WHERE id = $2 AND state IN ('failed', 'cancelled')",
        )
        .bind(now)
        .bind(id.0)
        .execute(self.pool())
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Reads one job.
    pub async fn job(&self, id: JobId) -> Result<Job, StoreError> {
        let row = sqlx::query(concat!(
            "SELECT ",
            job_columns!(),
            " FROM jobs WHERE id = $1"
        ))
        .bind(id.0)
        .fetch_optional(self.pool())
        .await?
        .ok_or_else(|| StoreError::NotFound(format!("job {id}")))?;
        job_from_row(&row)
    }

    /// Every job of a video, oldest first.
    pub async fn jobs_for_video(&self, video_id: i64) -> Result<Vec<Job>, StoreError> {
        let rows = sqlx::query(concat!(
            "SELECT ",
            job_columns!(),
            " FROM jobs WHERE video_id = $1 ORDER BY id"
        ))
        .bind(video_id)
        .fetch_all(self.pool())
        .await?;
        rows.iter().map(job_from_row).collect()
    }

    /// How many jobs of `kind` exist, whatever their state.
    pub async fn count_jobs(&self, kind: JobKind) -> Result<i64, StoreError> {
        let row = sqlx::query("SELECT COUNT(*) AS n FROM jobs WHERE kind = $1")
            .bind(kind.as_str())
            .fetch_one(self.pool())
            .await?;
        Ok(row.try_get("n")?)
    }

    /// How many videos exist, of every user.
    pub async fn count_videos(&self) -> Result<i64, StoreError> {
        let row = sqlx::query("SELECT COUNT(*) AS n FROM videos")
            .fetch_one(self.pool())
            .await?;
        Ok(row.try_get("n")?)
    }

    /// The earliest `run_at` among queued jobs of these kinds, to know how long to sleep.
    pub async fn next_run_at(&self, kinds: &[JobKind]) -> Result<Option<i64>, StoreError> {
        if kinds.is_empty() {
            return Ok(None);
        }
        let params: Vec<String> = (1..=kinds.len()).map(|i| format!("${i}")).collect();
        let sql = format!(
            "SELECT MIN(run_at) AS next FROM jobs WHERE state = 'queued' AND kind IN ({})",
            params.join(", ")
        );
        // Only numbered placeholders are interpolated; the kinds themselves are bound.
        let mut query = sqlx::query(sqlx::AssertSqlSafe(sql));
        for kind in kinds {
            query = query.bind(kind.as_str());
        }
        let row = query.fetch_one(self.pool()).await?;
        Ok(row.try_get("next")?)
    }

    /// How many jobs are in each state.
    pub async fn queue_stats(&self) -> Result<QueueStats, StoreError> {
        let rows = sqlx::query("SELECT state, COUNT(*) AS n FROM jobs GROUP BY state")
            .fetch_all(self.pool())
            .await?;
        let mut stats = QueueStats::default();
        for row in rows {
            let state: String = row.try_get("state")?;
            let n = u64::try_from(row.try_get::<i64, _>("n")?).unwrap_or(0);
            match JobState::parse(&state)? {
                JobState::Queued => stats.queued = n,
                JobState::Running => stats.running = n,
                JobState::Succeeded => stats.succeeded = n,
                JobState::Failed => stats.failed = n,
                JobState::Cancelled => stats.cancelled = n,
            }
        }
        Ok(stats)
    }
}

/// Marks a held job as succeeded on the caller's connection or transaction, so a step's output
/// and the next step's job can be committed together with its completion.
pub async fn complete(conn: &mut AnyConnection, job: &ClaimedJob) -> Result<(), StoreError> {
    let now = now_ms();
    let done = sqlx::query(
        "UPDATE jobs SET state = 'succeeded', progress = 100, lease_owner = NULL, \
         lease_expires_at = NULL, finished_at = $1, updated_at = $1 \
         WHERE id = $2 AND lease_owner = $3 AND state = 'running'",
    )
    .bind(now)
    .bind(job.job.id.0)
    .bind(&job.owner)
    .execute(&mut *conn)
    .await?;
    lease_held(done.rows_affected(), job)
}

fn lease_held(rows: u64, job: &ClaimedJob) -> Result<(), StoreError> {
    if rows == 1 {
        Ok(())
    } else {
        Err(StoreError::LeaseLost(job.job.id.0))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_and_is_capped() {
        let p = RetryPolicy {
            base: Duration::from_secs(1),
            max: Duration::from_secs(60),
        };
        let delays: Vec<u64> = (1..=8).map(|a| p.delay(a).as_secs()).collect();
        assert_eq!(delays, [1, 2, 4, 8, 16, 32, 60, 60]);
        assert_eq!(p.delay(1000).as_secs(), 60);
    }
}
