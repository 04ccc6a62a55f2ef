//! Worker registrations and the queue's per-kind claims, against a real SQLite file and a real
//! PostgreSQL server: a worker is listed with the jobs it holds, goes from running to gone when
//! its heartbeats stop and to stopped when it deregisters, and a claim takes only its kinds.

use std::time::{Duration, Instant};

use vidpress_core::JobKind;
use vidpress_store::testing::TestDb;
use vidpress_store::{NewJob, NewWorker, WorkerState};

vidpress_store::both_backends!(
    a_worker_is_listed_with_its_jobs_and_stops_cleanly,
    a_worker_that_stops_heartbeating_is_gone,
    a_claim_takes_only_the_kinds_asked_for,
);

fn worker<'a>(name: &'a str, kinds: &'a [JobKind], heartbeat: Duration) -> NewWorker<'a> {
    NewWorker {
        name,
        host: "box-1",
        pid: 4242,
        version: "0.1.0",
        device: "CPU",
        kinds,
        concurrency: 3,
        heartbeat,
    }
}

async fn a_worker_is_listed_with_its_jobs_and_stops_cleanly(db: &TestDb) {
    let store = &db.store;
    assert!(store.workers().await.unwrap().is_empty());
    let kinds = [JobKind::Transcribe, JobKind::Illustrate];
    let id = store
        .register_worker(&worker(
            "box-1-4242-a1b2c3",
            &kinds,
            Duration::from_secs(10),
        ))
        .await
        .unwrap();
    let other = store
        .register_worker(&worker(
            "box-2-7-d4e5f6",
            &[JobKind::Fetch],
            Duration::from_secs(10),
        ))
        .await
        .unwrap();
    let job = store
        .enqueue(&NewJob::new(JobKind::Transcribe, serde_json::json!({})))
        .await
        .unwrap();
    let claimed = store
        .claim("box-1-4242-a1b2c3/claim-1", &kinds, Duration::from_secs(60))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(claimed.job.id, job);
    store
        .set_progress(&claimed, 30, "transcribing 25%")
        .await
        .unwrap();
    assert!(
        store
            .heartbeat_worker(id, "GPU: NVIDIA H200")
            .await
            .unwrap()
    );

    let workers = store.workers().await.unwrap();
    assert_eq!(workers.len(), 2);
    let w = workers.iter().find(|w| w.id == id).unwrap();
    assert_eq!(w.state, WorkerState::Running);
    assert_eq!((w.host.as_str(), w.pid, w.concurrency), ("box-1", 4242, 3));
    assert_eq!(
        w.device, "GPU: NVIDIA H200",
        "the heartbeat updates the device"
    );
    assert_eq!(w.kinds, ["transcribe", "illustrate"]);
    assert_eq!(w.jobs.len(), 1);
    assert_eq!(w.jobs[0].id, job);
    assert_eq!(
        (w.jobs[0].progress, w.jobs[0].progress_message.as_str()),
        (30, "transcribing 25%")
    );
    let idle = workers.iter().find(|w| w.id == other).unwrap();
    assert!(
        idle.jobs.is_empty(),
        "a job belongs to the worker named in its lease owner"
    );

    store.complete(&claimed).await.unwrap();
    let done = store.job(job).await.unwrap();
    assert_eq!(done.lease_owner, None);
    assert_eq!(
        done.last_owner.as_deref(),
        Some("box-1-4242-a1b2c3/claim-1"),
        "the job remembers which worker ran it"
    );

    store.deregister_worker(id).await.unwrap();
    let workers = store.workers().await.unwrap();
    let w = workers.iter().find(|w| w.id == id).unwrap();
    assert_eq!(w.state, WorkerState::Stopped);
    assert!(w.stopped_at.is_some());
    assert!(w.jobs.is_empty());
    assert_eq!(workers[0].id, other, "running workers come first");
    assert!(
        !store.heartbeat_worker(id, "CPU").await.unwrap(),
        "a stopped worker's heartbeat tells it to register again"
    );
}

async fn a_worker_that_stops_heartbeating_is_gone(db: &TestDb) {
    let store = &db.store;
    let heartbeat = Duration::from_millis(100);
    let id = store
        .register_worker(&worker("box-1-99-000000", &[JobKind::Probe], heartbeat))
        .await
        .unwrap();
    assert_eq!(
        store.workers().await.unwrap()[0].state,
        WorkerState::Running
    );
    // Three missed heartbeats: 300 ms without one.
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let state = store.workers().await.unwrap()[0].state;
        if state == WorkerState::Gone {
            break;
        }
        assert_eq!(state, WorkerState::Running);
        assert!(Instant::now() < deadline, "the worker is shown as gone");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(store.heartbeat_worker(id, "CPU").await.unwrap());
    assert_eq!(
        store.workers().await.unwrap()[0].state,
        WorkerState::Running,
        "a heartbeat brings it back"
    );
}

async fn a_claim_takes_only_the_kinds_asked_for(db: &TestDb) {
    let store = &db.store;
    let fetch = store
        .enqueue(&NewJob::new(JobKind::Fetch, serde_json::json!({})))
        .await
        .unwrap();
    let probe = store
        .enqueue(&NewJob::new(JobKind::Probe, serde_json::json!({})))
        .await
        .unwrap();
    let lease = Duration::from_secs(60);
    let gpu = [JobKind::Transcribe, JobKind::Illustrate];
    assert!(store.claim("gpu/1", &gpu, lease).await.unwrap().is_none());
    let claimed = store
        .claim("probe/1", &[JobKind::Probe], lease)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(claimed.job.id, probe);
    assert!(
        store
            .claim("probe/2", &[JobKind::Probe], lease)
            .await
            .unwrap()
            .is_none()
    );
    let claimed = store
        .claim("cpu/1", &[JobKind::Fetch], lease)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(claimed.job.id, fetch);

    let stats = store.queue_by_kind().await.unwrap();
    assert_eq!(stats.len(), 2);
    assert!(stats.iter().all(|s| s.running == 1 && s.due == 0));
}
