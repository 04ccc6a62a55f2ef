//! Worker processes as the database sees them: each registers when it starts (host, pid,
//! version, device, the job kinds it takes), heartbeats while it runs, and marks itself stopped
//! on a clean shutdown. One whose heartbeats stop is gone; its jobs come back through their
//! leases, as any crashed worker's do. Readers on any node compute the state from the stored
//! heartbeat interval, so every web node and `vidpress workers` agree.

use std::time::Duration;

use sqlx::Row;
use sqlx::any::AnyRow;
use vidpress_core::JobKind;

use crate::queue::JobId;
use crate::{Store, StoreError, now_ms};

/// Heartbeats a worker may miss before it is shown as gone.
pub const MISSED_HEARTBEATS: i64 = 3;

/// How long rows of stopped and gone workers are kept for the admin view.
pub const KEEP_FINISHED: Duration = Duration::from_secs(24 * 3600);

/// A worker process announcing itself.
#[derive(Debug, Clone)]
pub struct NewWorker<'a> {
    /// Unique per process; the lease owners of its jobs start with `name/`.
    pub name: &'a str,
    pub host: &'a str,
    pub pid: u32,
    pub version: &'a str,
    /// `CPU`, or the GPU's name.
    pub device: &'a str,
    /// The job kinds it claims.
    pub kinds: &'a [JobKind],
    /// Most jobs it runs at once.
    pub concurrency: usize,
    /// How often it heartbeats.
    pub heartbeat: Duration,
}

/// A registered worker's id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct WorkerId(pub i64);

/// Where a worker stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WorkerState {
    /// Heartbeating.
    Running,
    /// Shut down cleanly.
    Stopped,
    /// Missed its heartbeats: crashed, killed, or cut off from the database.
    Gone,
}

impl WorkerState {
    /// The name shown and exported.
    pub fn as_str(self) -> &'static str {
        match self {
            WorkerState::Running => "running",
            WorkerState::Stopped => "stopped",
            WorkerState::Gone => "gone",
        }
    }

    /// Every state, for exporting counts that may be zero.
    pub const ALL: [WorkerState; 3] = [
        WorkerState::Running,
        WorkerState::Stopped,
        WorkerState::Gone,
    ];
}

/// A job a worker holds the lease on.
#[derive(Debug, Clone)]
pub struct WorkerJob {
    pub id: JobId,
    pub kind: String,
    pub video_id: Option<i64>,
    /// 0–100.
    pub progress: u8,
    pub progress_message: String,
    pub attempts: u32,
    pub lease_expires_at: Option<i64>,
}

/// A registered worker, with the jobs it holds.
#[derive(Debug, Clone)]
pub struct WorkerStatus {
    pub id: WorkerId,
    pub name: String,
    pub host: String,
    pub pid: u32,
    pub version: String,
    pub device: String,
    /// Job kind names, as stored.
    pub kinds: Vec<String>,
    pub concurrency: u32,
    pub heartbeat_ms: i64,
    pub started_at: i64,
    pub last_seen_at: i64,
    pub stopped_at: Option<i64>,
    pub state: WorkerState,
    /// Jobs whose lease this worker holds (a gone worker's stay until another worker takes them).
    pub jobs: Vec<WorkerJob>,
}

fn state_at(now: i64, last_seen_at: i64, heartbeat_ms: i64, stopped: bool) -> WorkerState {
    if stopped {
        WorkerState::Stopped
    } else if now - last_seen_at > heartbeat_ms.saturating_mul(MISSED_HEARTBEATS) {
        WorkerState::Gone
    } else {
        WorkerState::Running
    }
}

fn millis(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}

fn worker_from_row(row: &AnyRow, now: i64) -> Result<WorkerStatus, StoreError> {
    let kinds: String = row.try_get("kinds")?;
    let last_seen_at: i64 = row.try_get("last_seen_at")?;
    let heartbeat_ms: i64 = row.try_get("heartbeat_ms")?;
    let stopped_at: Option<i64> = row.try_get("stopped_at")?;
    let number = |name: &str| -> Result<u32, StoreError> {
        let v: i64 = row.try_get(name)?;
        u32::try_from(v).map_err(|_| StoreError::Corrupt(format!("worker {name} = {v}")))
    };
    Ok(WorkerStatus {
        id: WorkerId(row.try_get("id")?),
        name: row.try_get("name")?,
        host: row.try_get("host")?,
        pid: number("pid")?,
        version: row.try_get("version")?,
        device: row.try_get("device")?,
        kinds: kinds
            .split(',')
            .filter(|k| !k.is_empty())
            .map(str::to_owned)
            .collect(),
        concurrency: number("concurrency")?,
        heartbeat_ms,
        started_at: row.try_get("started_at")?,
        last_seen_at,
        stopped_at,
        state: state_at(now, last_seen_at, heartbeat_ms, stopped_at.is_some()),
        jobs: Vec::new(),
    })
}

impl Store {
    /// Records a starting worker and returns its id. Rows of workers stopped or gone for longer
    /// than [`KEEP_FINISHED`] are removed on the way.
    pub async fn register_worker(&self, worker: &NewWorker<'_>) -> Result<WorkerId, StoreError> {
        let now = now_ms();
        let kinds: Vec<&str> = worker.kinds.iter().map(|k| k.as_str()).collect();
        let mut tx = self.begin().await?;
        sqlx::query(
            "DELETE FROM workers WHERE COALESCE(stopped_at, last_seen_at) < $1 \
             AND (stopped_at IS NOT NULL OR last_seen_at < $2 - heartbeat_ms * $3)",
        )
        .bind(now - millis(KEEP_FINISHED))
        .bind(now)
        .bind(MISSED_HEARTBEATS)
        .execute(&mut *tx)
        .await?;
        let row = sqlx::query(
            "INSERT INTO workers (name, host, pid, version, device, kinds, concurrency, \
             heartbeat_ms, started_at, last_seen_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $9) RETURNING id",
        )
        .bind(worker.name)
        .bind(worker.host)
        .bind(i64::from(worker.pid))
        .bind(worker.version)
        .bind(worker.device)
        .bind(kinds.join(","))
        .bind(i64::try_from(worker.concurrency).unwrap_or(i64::MAX))
        .bind(millis(worker.heartbeat).max(1))
        .bind(now)
        .fetch_one(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(WorkerId(row.try_get("id")?))
    }

    /// Records a heartbeat, and the device as the worker now knows it (a GPU is named once the
    /// first model is loaded). False when the row is no longer there, or the worker was marked
    /// stopped: the caller registers again.
    pub async fn heartbeat_worker(&self, id: WorkerId, device: &str) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "UPDATE workers SET last_seen_at = $1, device = $2 WHERE id = $3 AND stopped_at IS NULL",
        )
        .bind(now_ms())
        .bind(device)
        .bind(id.0)
        .execute(self.pool())
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Marks a worker as shut down cleanly.
    pub async fn deregister_worker(&self, id: WorkerId) -> Result<(), StoreError> {
        let now = now_ms();
        sqlx::query("UPDATE workers SET stopped_at = $1, last_seen_at = $1 WHERE id = $2")
            .bind(now)
            .bind(id.0)
            .execute(self.pool())
            .await?;
        Ok(())
    }

    /// Every registered worker with the jobs it holds: running ones first, then the most
    /// recently seen.
    pub async fn workers(&self) -> Result<Vec<WorkerStatus>, StoreError> {
        let now = now_ms();
        let rows = sqlx::query(
            "SELECT id, name, host, pid, version, device, kinds, concurrency, heartbeat_ms, \
             started_at, last_seen_at, stopped_at FROM workers ORDER BY last_seen_at DESC, id DESC",
        )
        .fetch_all(self.pool())
        .await?;
        let mut workers = rows
            .iter()
            .map(|row| worker_from_row(row, now))
            .collect::<Result<Vec<_>, _>>()?;
        let jobs = sqlx::query(
            "SELECT id, kind, video_id, progress, progress_message, attempts, lease_owner, \
             lease_expires_at FROM jobs WHERE state = 'running' ORDER BY id",
        )
        .fetch_all(self.pool())
        .await?;
        for row in &jobs {
            let owner: Option<String> = row.try_get("lease_owner")?;
            let Some(owner) = owner else { continue };
            // A lease owner is `<worker name>/<claim id>`.
            let Some((name, _)) = owner.rsplit_once('/') else {
                continue;
            };
            let Some(worker) = workers.iter_mut().find(|w| w.name == name) else {
                continue;
            };
            let progress: i64 = row.try_get("progress")?;
            let attempts: i64 = row.try_get("attempts")?;
            worker.jobs.push(WorkerJob {
                id: JobId(row.try_get("id")?),
                kind: row.try_get("kind")?,
                video_id: row.try_get("video_id")?,
                progress: progress.clamp(0, 100) as u8,
                progress_message: row.try_get("progress_message")?,
                attempts: u32::try_from(attempts).unwrap_or(0),
                lease_expires_at: row.try_get("lease_expires_at")?,
            });
        }
        workers.sort_by_key(|w| w.state != WorkerState::Running);
        Ok(workers)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_worker_is_gone_after_missed_heartbeats() {
        assert_eq!(state_at(10_000, 9_000, 1_000, false), WorkerState::Running);
        assert_eq!(state_at(13_000, 10_000, 1_000, false), WorkerState::Running);
        assert_eq!(state_at(13_001, 10_000, 1_000, false), WorkerState::Gone);
        assert_eq!(state_at(99_000, 10_000, 1_000, true), WorkerState::Stopped);
    }
}
