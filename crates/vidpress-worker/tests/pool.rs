//! The worker pool against real databases: outcomes are recorded, per-kind limits hold,
//! cancellation stops a running handler, and shutdown hands unfinished jobs back.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;
use vidpress_core::JobKind;
use vidpress_store::testing::TestDb;
use vidpress_store::{JobState, NewJob, RetryPolicy};
use vidpress_worker::{JobError, PoolConfig, Registry, WorkerPool};

vidpress_store::both_backends!(
    worker_threads = 4;
    outcomes_are_recorded,
    per_kind_limits_hold_while_other_kinds_run_alongside,
    cancelling_stops_a_running_job,
    shutdown_hands_unfinished_jobs_back,
);

fn config() -> PoolConfig {
    PoolConfig {
        name: "test".into(),
        concurrency: 8,
        lease: Duration::from_secs(30),
        renew_every: Duration::from_millis(100),
        poll_interval: Duration::from_millis(50),
        retry: RetryPolicy {
            base: Duration::from_secs(600),
            max: Duration::from_secs(600),
        },
        shutdown_grace: Duration::from_millis(300),
        cancel_grace: Duration::from_millis(200),
        ..PoolConfig::default()
    }
}

fn job(kind: JobKind, n: u64) -> NewJob {
    NewJob::new(kind, serde_json::json!({ "n": n }))
}

async fn outcomes_are_recorded(db: &TestDb) {
    let mut registry = Registry::new();
    registry.register(JobKind::Fetch, |ctx| async move {
        ctx.progress(50, "half way").await?;
        match ctx.job().payload["n"].as_u64() {
            Some(0) => Ok(()),
            Some(1) => Err(JobError::Retryable("network down".into())),
            Some(2) => Err(JobError::Permanent("the file has no audio track".into())),
            _ => panic!("handler bug"),
        }
    });
    let ids: Vec<_> = futures_ids(db, JobKind::Fetch, 4).await;
    let pool = WorkerPool::new(db.store.clone(), registry, config());
    assert_eq!(pool.run_until_idle().await, 4);

    let ok = db.store.job(ids[0]).await.unwrap();
    assert_eq!((ok.state, ok.progress), (JobState::Succeeded, 100));
    let retry = db.store.job(ids[1]).await.unwrap();
    assert_eq!(
        retry.state,
        JobState::Queued,
        "retryable failures go back to the queue"
    );
    assert_eq!(retry.last_error.as_deref(), Some("network down"));
    assert!(
        retry.run_at > vidpress_store::now_ms() + 500_000,
        "after the backoff"
    );
    let bad = db.store.job(ids[2]).await.unwrap();
    assert_eq!(bad.state, JobState::Failed);
    assert_eq!(
        bad.last_error.as_deref(),
        Some("the file has no audio track")
    );
    let panicked = db.store.job(ids[3]).await.unwrap();
    assert_eq!(panicked.state, JobState::Queued);
    assert!(panicked.last_error.unwrap().contains("panicked"));
}

async fn futures_ids(db: &TestDb, kind: JobKind, n: u64) -> Vec<vidpress_store::JobId> {
    let mut ids = Vec::new();
    for i in 0..n {
        ids.push(db.store.enqueue(&job(kind, i)).await.unwrap());
    }
    ids
}

/// How many handlers of one kind run now, at most, and have started.
#[derive(Default)]
struct Gauge {
    now: AtomicUsize,
    max: AtomicUsize,
    started: AtomicUsize,
}

/// The longest any wait in these tests may take before it fails the test.
const DEADLINE: Duration = Duration::from_secs(30);

impl Gauge {
    /// Runs until `release` says so: the test decides when, not a timer.
    async fn hold(&self, mut release: tokio::sync::watch::Receiver<bool>) {
        let now = self.now.fetch_add(1, Ordering::SeqCst) + 1;
        self.max.fetch_max(now, Ordering::SeqCst);
        self.started.fetch_add(1, Ordering::SeqCst);
        tokio::time::timeout(DEADLINE, release.wait_for(|released| *released))
            .await
            .expect("the test released the handlers in time")
            .unwrap();
        self.now.fetch_sub(1, Ordering::SeqCst);
    }
}

async fn per_kind_limits_hold_while_other_kinds_run_alongside(db: &TestDb) {
    let transcribe = Arc::new(Gauge::default());
    let fetch = Arc::new(Gauge::default());
    let (release, released) = tokio::sync::watch::channel(false);
    let mut registry = Registry::new();
    for (kind, gauge) in [
        (JobKind::Transcribe, transcribe.clone()),
        (JobKind::Fetch, fetch.clone()),
    ] {
        let released = released.clone();
        registry.register(kind, move |_| {
            let (gauge, released) = (gauge.clone(), released.clone());
            async move {
                gauge.hold(released).await;
                Ok(())
            }
        });
    }
    // The transcriptions come first in the queue: a pool that broke the limit would claim a
    // second one before any fetch job.
    let transcriptions = futures_ids(db, JobKind::Transcribe, 3).await;
    futures_ids(db, JobKind::Fetch, 4).await;
    let pool = WorkerPool::new(db.store.clone(), registry, config());
    let store = db.store.clone();
    let fetch_seen = fetch.clone();
    let controller = tokio::spawn(async move {
        // Every fetch job runs at once (8 slots); by then every claim the pool would make
        // has been made.
        let deadline = std::time::Instant::now() + DEADLINE;
        while fetch_seen.started.load(Ordering::SeqCst) < 4 {
            assert!(
                std::time::Instant::now() < deadline,
                "the fetch jobs did not all run alongside"
            );
            tokio::task::yield_now().await;
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        let mut running = 0;
        for id in &transcriptions {
            if store.job(*id).await.unwrap().state == JobState::Running {
                running += 1;
            }
        }
        release.send(true).unwrap();
        running
    });
    assert_eq!(pool.run_until_idle().await, 7);
    let running_transcriptions = controller.await.unwrap();
    assert_eq!(
        running_transcriptions, 1,
        "transcription is limited to one at a time"
    );
    assert_eq!(transcribe.max.load(Ordering::SeqCst), 1);
    assert_eq!(
        fetch.max.load(Ordering::SeqCst),
        4,
        "fetch jobs run alongside"
    );
    assert_eq!(db.store.queue_stats().await.unwrap().succeeded, 7);
}

async fn cancelling_stops_a_running_job(db: &TestDb) {
    let (started_tx, mut started) = mpsc::unbounded_channel();
    let (stopped_tx, mut stopped) = mpsc::unbounded_channel::<()>();
    let mut registry = Registry::new();
    registry.register(JobKind::Transcribe, move |ctx| {
        let started_tx = started_tx.clone();
        let stopped_tx = stopped_tx.clone();
        async move {
            // Dropped when the pool abandons the handler: that is how we see it stop.
            let _guard = DropSignal(stopped_tx);
            started_tx.send(ctx.job().id).unwrap();
            std::future::pending::<()>().await;
            Ok(())
        }
    });
    let id = db
        .store
        .enqueue(&job(JobKind::Transcribe, 0))
        .await
        .unwrap();
    let pool = WorkerPool::new(db.store.clone(), registry, config());
    let stop = CancellationToken::new();
    let running = tokio::spawn({
        let pool = pool.clone();
        let stop = stop.clone();
        async move { pool.run(stop).await }
    });
    assert_eq!(within(started.recv()).await, Some(id));
    assert!(db.store.cancel(id).await.unwrap());
    tokio::time::timeout(Duration::from_secs(5), stopped.recv())
        .await
        .expect("the cancelled handler stops within seconds");
    assert_eq!(db.store.job(id).await.unwrap().state, JobState::Cancelled);

    // The worker is free again: a new job runs.
    let next = db
        .store
        .enqueue(&job(JobKind::Transcribe, 1))
        .await
        .unwrap();
    pool.wake();
    assert_eq!(within(started.recv()).await, Some(next));
    stop.cancel();
    running.await.unwrap();
}

/// Awaits `future`, failing the test after [`DEADLINE`] instead of hanging it.
async fn within<T>(future: impl std::future::Future<Output = T>) -> T {
    tokio::time::timeout(DEADLINE, future)
        .await
        .expect("waited past the test's deadline")
}

struct DropSignal(mpsc::UnboundedSender<()>);
impl Drop for DropSignal {
    fn drop(&mut self) {
        let _ = self.0.send(());
    }
}

async fn shutdown_hands_unfinished_jobs_back(db: &TestDb) {
    let (started_tx, mut started) = mpsc::unbounded_channel();
    let mut registry = Registry::new();
    registry.register(JobKind::Fetch, move |ctx| {
        let started_tx = started_tx.clone();
        async move {
            started_tx.send(()).unwrap();
            if ctx.job().payload["n"] == 0 {
                return Ok(());
            }
            ctx.cancelled().await;
            Err(JobError::Stopped)
        }
    });
    let quick = db.store.enqueue(&job(JobKind::Fetch, 0)).await.unwrap();
    let slow = db.store.enqueue(&job(JobKind::Fetch, 1)).await.unwrap();
    let pool = WorkerPool::new(db.store.clone(), registry, config());
    let stop = CancellationToken::new();
    let running = tokio::spawn({
        let stop = stop.clone();
        async move { pool.run(stop).await }
    });
    within(started.recv()).await.unwrap();
    within(started.recv()).await.unwrap();
    stop.cancel();
    tokio::time::timeout(Duration::from_secs(5), running)
        .await
        .expect("the pool stops after its grace period")
        .unwrap();
    assert_eq!(
        db.store.job(quick).await.unwrap().state,
        JobState::Succeeded
    );
    let handed_back = db.store.job(slow).await.unwrap();
    assert_eq!(handed_back.state, JobState::Queued);
    assert_eq!(
        handed_back.attempts, 0,
        "a handed-back run does not count as an attempt"
    );
    assert!(handed_back.lease_owner.is_none());
}
