//! The durable job queue against a real SQLite file and a real PostgreSQL server, each test on a
//! fresh database.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::Mutex;
use vidpress_core::JobKind;
use vidpress_store::testing::TestDb;
use vidpress_store::{JobState, LeaseStatus, NewJob, Retry, RetryPolicy, Store, StoreError, queue};

const LEASE: Duration = Duration::from_secs(30);

vidpress_store::both_backends!(
    worker_threads = 4;
    concurrent_claimers_run_every_job_exactly_once,
    an_expired_lease_is_claimed_again,
    failures_back_off_then_stay_failed,
    rolled_back_enqueue_leaves_no_job,
    cancel_stops_queued_and_running_jobs,
    progress_is_stored_on_the_job,
    claim_respects_kinds_and_run_at,
    a_job_abandoned_on_its_last_attempt_fails,
    an_abandoned_step_fails_its_video_with_a_message,
);

async fn an_abandoned_step_fails_its_video_with_a_message(db: &TestDb) {
    let user = db.store.ensure_user("v@example.org").await.unwrap();
    let (video, _) = db
        .store
        .create_video(
            user.id,
            "talk",
            vidpress_store::MediaSource::Url("http://127.0.0.1:9/talk.mp4"),
            1,
        )
        .await
        .unwrap();
    db.store
        .claim("dead-worker", &[JobKind::Fetch], LEASE)
        .await
        .unwrap()
        .expect("first claim");
    expire_leases(&db.store).await;
    let failed = poll(|| async {
        db.store.claim("w", &[JobKind::Fetch], LEASE).await.unwrap();
        let stored = db.store.video(video).await.unwrap();
        Ok::<_, StoreError>((stored.state == vidpress_store::VideoState::Failed).then_some(stored))
    })
    .await;
    let error = failed.error.unwrap_or_default();
    assert!(error.contains("stopped responding"), "{error}");
}

async fn a_job_abandoned_on_its_last_attempt_fails(db: &TestDb) {
    let id = db.store.enqueue(&job(1).max_attempts(1)).await.unwrap();
    db.store
        .claim("dead-worker", &[JobKind::Fetch], LEASE)
        .await
        .unwrap()
        .expect("first claim");
    expire_leases(&db.store).await;
    // The dead worker never renews: once its lease runs out, an idle claim marks the job failed.
    let stored = poll(|| async {
        let claimed = db.store.claim("w", &[JobKind::Fetch], LEASE).await.unwrap();
        assert!(
            claimed.is_none(),
            "a job out of attempts is never claimed again"
        );
        let job = db.store.job(id).await.unwrap();
        Ok::<_, StoreError>((job.state == JobState::Failed).then_some(job))
    })
    .await;
    assert_eq!(stored.state, JobState::Failed);
    assert!(stored.last_error.unwrap().contains("stopped responding"));
}

/// Polls `check` until it yields a value; five seconds at most.
async fn poll<T, E: std::fmt::Debug, F, Fut>(mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<Option<T>, E>>,
{
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    loop {
        if let Some(value) = check().await.unwrap() {
            return value;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "condition not met within 5 s"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

fn job(n: u64) -> NewJob {
    NewJob::new(JobKind::Fetch, serde_json::json!({ "n": n }))
}

async fn concurrent_claimers_run_every_job_exactly_once(db: &TestDb) {
    const JOBS: u64 = 120;
    let mut tx = db.store.begin().await.unwrap();
    for n in 0..JOBS {
        queue::enqueue(&mut tx, &job(n)).await.unwrap();
    }
    tx.commit().await.unwrap();

    let runs: Arc<Mutex<HashMap<i64, u32>>> = Arc::default();
    let mut claimers = Vec::new();
    for w in 0..6 {
        let store: Store = db.store.clone();
        let runs = runs.clone();
        claimers.push(tokio::spawn(async move {
            let owner = format!("worker-{w}");
            let mut mine = 0;
            while let Some(claimed) = store.claim(&owner, &[JobKind::Fetch], LEASE).await.unwrap() {
                *runs.lock().await.entry(claimed.job.id.0).or_default() += 1;
                store.complete(&claimed).await.unwrap();
                mine += 1;
            }
            mine
        }));
    }
    let mut per_worker = Vec::new();
    for c in claimers {
        per_worker.push(c.await.unwrap());
    }
    let runs = runs.lock().await;
    assert_eq!(runs.len() as u64, JOBS, "every job was claimed");
    assert!(runs.values().all(|&n| n == 1), "a job ran twice: {runs:?}");
    assert_eq!(per_worker.iter().sum::<u64>(), JOBS);
    let stats = db.store.queue_stats().await.unwrap();
    assert_eq!((stats.succeeded, stats.queued, stats.running), (JOBS, 0, 0));
}

async fn an_expired_lease_is_claimed_again(db: &TestDb) {
    let id = db.store.enqueue(&job(1)).await.unwrap();
    let dead = db
        .store
        .claim("dead-worker", &[JobKind::Fetch], LEASE)
        .await
        .unwrap()
        .expect("first claim");
    // While the lease is live nobody else gets the job.
    assert!(
        db.store
            .claim("other", &[JobKind::Fetch], LEASE)
            .await
            .unwrap()
            .is_none()
    );
    // The dead worker never renews; once its lease runs out the job is claimed again.
    expire_leases(&db.store).await;
    let taken = db
        .store
        .claim("rescuer", &[JobKind::Fetch], LEASE)
        .await
        .unwrap()
        .expect("the expired lease is claimed again");
    assert_eq!(taken.job.id, id);
    assert_eq!(taken.job.attempts, 2);
    assert_eq!(taken.job.lease_owner.as_deref(), Some("rescuer"));
    // The first worker, if it wakes up, finds it has lost the job and cannot finish it.
    assert_eq!(
        db.store.renew(&dead, LEASE).await.unwrap(),
        LeaseStatus::Lost
    );
    assert!(matches!(
        db.store.complete(&dead).await,
        Err(StoreError::LeaseLost(_))
    ));
    assert_eq!(
        db.store.renew(&taken, LEASE).await.unwrap(),
        LeaseStatus::Held
    );
    db.store.complete(&taken).await.unwrap();
    assert_eq!(db.store.job(id).await.unwrap().state, JobState::Succeeded);
}

/// Moves every running job's lease expiry into the past, standing in for the passing of time.
async fn expire_leases(store: &Store) {
    sqlx::query("UPDATE jobs SET lease_expires_at = 0 WHERE state = 'running'")
        .execute(store.pool())
        .await
        .unwrap();
}

/// Moves a queued job's `run_at` to now, standing in for the passing of its backoff delay.
async fn make_due(store: &Store, id: i64) {
    sqlx::query("UPDATE jobs SET run_at = $1 WHERE id = $2")
        .bind(vidpress_store::now_ms())
        .bind(id)
        .execute(store.pool())
        .await
        .unwrap();
}

async fn failures_back_off_then_stay_failed(db: &TestDb) {
    let policy = RetryPolicy {
        base: Duration::from_secs(2),
        max: Duration::from_secs(3600),
    };
    let id = db.store.enqueue(&job(1).max_attempts(4)).await.unwrap();
    let mut delays = Vec::new();
    for attempt in 1..=4u32 {
        let claimed = db
            .store
            .claim("w", &[JobKind::Fetch], LEASE)
            .await
            .unwrap()
            .unwrap_or_else(|| panic!("attempt {attempt} is claimable"));
        assert_eq!(claimed.job.attempts, attempt);
        let before = vidpress_store::now_ms();
        let state = db
            .store
            .fail(
                &claimed,
                &format!("boom {attempt}"),
                Retry::Backoff,
                &policy,
            )
            .await
            .unwrap();
        let after = vidpress_store::now_ms();
        let stored = db.store.job(id).await.unwrap();
        assert_eq!(
            stored.last_error.as_deref(),
            Some(format!("boom {attempt}").as_str())
        );
        if attempt < 4 {
            assert_eq!(state, JobState::Queued);
            // Not claimable before its backoff has passed.
            assert!(
                db.store
                    .claim("w", &[JobKind::Fetch], LEASE)
                    .await
                    .unwrap()
                    .is_none()
            );
            delays.push((stored.run_at - before, stored.run_at - after));
            make_due(&db.store, id.0).await;
        } else {
            assert_eq!(state, JobState::Failed);
            assert_eq!(stored.state, JobState::Failed);
            assert!(stored.finished_at.is_some());
        }
    }
    // 2 s, 4 s, 8 s after the moment of the failure, which lies between `before` and
    // `after` however slow the machine is.
    for ((from_before, from_after), expected) in delays.iter().zip([2000, 4000, 8000]) {
        assert!(
            *from_after <= expected && expected <= *from_before,
            "delays {delays:?}"
        );
    }
    assert!(
        db.store
            .claim("w", &[JobKind::Fetch], LEASE)
            .await
            .unwrap()
            .is_none()
    );

    // A failure that retrying cannot fix stays failed at once, attempts or not.
    let id = db.store.enqueue(&job(2)).await.unwrap();
    let claimed = db
        .store
        .claim("w", &[JobKind::Fetch], LEASE)
        .await
        .unwrap()
        .unwrap();
    let state = db
        .store
        .fail(
            &claimed,
            "the file has no audio track",
            Retry::Never,
            &policy,
        )
        .await
        .unwrap();
    assert_eq!(state, JobState::Failed);
    assert_eq!(db.store.job(id).await.unwrap().attempts, 1);
}

async fn rolled_back_enqueue_leaves_no_job(db: &TestDb) {
    let mut tx = db.store.begin().await.unwrap();
    let id = queue::enqueue(&mut tx, &job(1)).await.unwrap();
    tx.rollback().await.unwrap();
    assert!(matches!(
        db.store.job(id).await,
        Err(StoreError::NotFound(_))
    ));
    assert!(
        db.store
            .claim("w", &[JobKind::Fetch], LEASE)
            .await
            .unwrap()
            .is_none()
    );
    assert_eq!(db.store.queue_stats().await.unwrap().queued, 0);

    let mut tx = db.store.begin().await.unwrap();
    let id = queue::enqueue(&mut tx, &job(2)).await.unwrap();
    tx.commit().await.unwrap();
    assert_eq!(db.store.job(id).await.unwrap().state, JobState::Queued);
}

async fn cancel_stops_queued_and_running_jobs(db: &TestDb) {
    let queued = db.store.enqueue(&job(1)).await.unwrap();
    let running = db.store.enqueue(&job(2)).await.unwrap();
    let claimed = db
        .store
        .claim("w", &[JobKind::Fetch], LEASE)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(claimed.job.id, queued);

    assert!(db.store.cancel(running).await.unwrap());
    assert!(db.store.cancel(queued).await.unwrap());
    assert_eq!(
        db.store.renew(&claimed, LEASE).await.unwrap(),
        LeaseStatus::Lost
    );
    assert!(
        db.store
            .claim("w", &[JobKind::Fetch], LEASE)
            .await
            .unwrap()
            .is_none()
    );
    assert_eq!(
        db.store.job(running).await.unwrap().state,
        JobState::Cancelled
    );
    // Cancelling a finished job changes nothing.
    assert!(!db.store.cancel(running).await.unwrap());
    // A person can put it back.
    assert!(db.store.retry_now(running).await.unwrap());
    let again = db
        .store
        .claim("w", &[JobKind::Fetch], LEASE)
        .await
        .unwrap()
        .unwrap();
    assert_eq!((again.job.id, again.job.attempts), (running, 1));
}

async fn progress_is_stored_on_the_job(db: &TestDb) {
    let id = db.store.enqueue(&job(1)).await.unwrap();
    let claimed = db
        .store
        .claim("w", &[JobKind::Fetch], LEASE)
        .await
        .unwrap()
        .unwrap();
    db.store
        .set_progress(&claimed, 42, "downloading 42%")
        .await
        .unwrap();
    let stored = db.store.job(id).await.unwrap();
    assert_eq!(
        (stored.progress, stored.progress_message.as_str()),
        (42, "downloading 42%")
    );
    db.store
        .set_progress(&claimed, 250, "clamped")
        .await
        .unwrap();
    assert_eq!(db.store.job(id).await.unwrap().progress, 100);
    db.store.complete(&claimed).await.unwrap();
    assert!(db.store.set_progress(&claimed, 10, "late").await.is_err());
}

async fn claim_respects_kinds_and_run_at(db: &TestDb) {
    let later = vidpress_store::now_ms() + 60_000;
    db.store.enqueue(&job(1).run_at(later)).await.unwrap();
    let draft = db
        .store
        .enqueue(&NewJob::new(JobKind::Draft, serde_json::json!({})))
        .await
        .unwrap();
    assert!(
        db.store
            .claim("w", &[JobKind::Fetch], LEASE)
            .await
            .unwrap()
            .is_none()
    );
    assert_eq!(
        db.store.next_run_at(&[JobKind::Fetch]).await.unwrap(),
        Some(later)
    );
    let claimed = db
        .store
        .claim("w", &[JobKind::Fetch, JobKind::Draft], LEASE)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(claimed.job.id, draft);
}
