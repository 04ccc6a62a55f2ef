//! Scale-out on PostgreSQL with real processes: a web node that runs no jobs and separate
//! `vidpress worker` processes on one database. Each job runs exactly once; the workers register
//! and show in `vidpress workers`; a SIGKILLed worker shows as gone and another finishes its
//! job after the lease; SIGTERM hands a long job back within the grace period; and a worker
//! limited to some job kinds never takes the others. Which worker ran a job is read from the
//! job's last lease owner, `<worker name>/<claim id>`.

mod support;

use std::collections::HashMap;
use std::process::Stdio;
use std::time::Duration;

use support::{Api, Instance, Proc, eventually, signal};
use vidpress_core::JobKind;
use vidpress_store::{JobId, JobState, NewJob};

/// Quick heartbeats and leases, so gone workers and expired leases show within seconds; one
/// secret key, so processes starting together need not race to create it.
const FAST: [(&str, &str); 4] = [
    ("VIDPRESS_WORKER_HEARTBEAT_SECONDS", "1"),
    ("VIDPRESS_JOB_LEASE_SECONDS", "3"),
    (
        "VIDPRESS_SECRET_KEY",
        "4b4b4b4b4b4b4b4b4b4b4b4b4b4b4b4b4b4b4b4b4b4b4b4b4b4b4b4b4b4b4b4b",
    ),
    ("VIDPRESS_DEVICE", "cpu"),
];

/// `vidpress workers --json`, as an operator's script reads it.
fn workers(vp: &Instance) -> Vec<serde_json::Value> {
    let output = vp
        .command(&["workers", "--json"])
        .stdout(Stdio::piped())
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).expect("a JSON array")
}

fn by_pid(list: &[serde_json::Value], pid: u32) -> Option<serde_json::Value> {
    list.iter().find(|w| w["pid"] == pid).cloned()
}

/// Waits until each process is registered and running; returns their worker names by pid.
async fn registered(vp: &Instance, procs: &[&Proc]) -> HashMap<u32, String> {
    eventually("the workers registered", Duration::from_secs(60), || {
        let list = workers(vp);
        let names: Option<HashMap<u32, String>> = procs
            .iter()
            .map(|p| {
                let w = by_pid(&list, p.0.id())?;
                (w["state"] == "running")
                    .then(|| (p.0.id(), w["name"].as_str().unwrap().to_owned()))
            })
            .collect();
        async move { names }
    })
    .await
}

/// The worker name in a job's last lease owner.
fn ran_by(job: &vidpress_store::Job) -> &str {
    let owner = job.last_owner.as_deref().expect("the job ran");
    owner.rsplit_once('/').expect("`name/claim`").0
}

async fn enqueue_probes(vp: &Instance, n: usize, work_ms: u64) -> Vec<JobId> {
    let mut ids = Vec::new();
    for i in 0..n {
        let job = NewJob::new(
            JobKind::Probe,
            serde_json::json!({ "n": i, "work_ms": work_ms }),
        );
        ids.push(vp.store().enqueue(&job).await.unwrap());
    }
    ids
}

async fn wait_succeeded(vp: &Instance, ids: &[JobId]) -> Vec<vidpress_store::Job> {
    eventually("every job succeeded", Duration::from_secs(120), || async {
        let mut jobs = Vec::new();
        for id in ids {
            let job = vp.store().job(*id).await.unwrap();
            assert_ne!(job.state, JobState::Failed, "{job:?}");
            if job.state != JobState::Succeeded {
                return None;
            }
            jobs.push(job);
        }
        Some(jobs)
    })
    .await
}

#[tokio::test]
async fn a_web_node_and_two_workers_turn_each_upload_into_a_draft_exactly_once() {
    let vp = Instance::postgres().await;
    let web = vp.start(&["serve", "--no-workers"], &FAST).await;
    let one = vp.start(&["worker"], &FAST).await;
    let two = vp.start(&["worker"], &FAST).await;
    let names = registered(&vp, &[&one, &two]).await;
    let list = workers(&vp);
    assert_eq!(list.len(), 2, "the web node runs no worker: {list:#?}");
    for w in &list {
        assert_eq!(w["device"], "CPU");
        assert_eq!(w["version"], env!("CARGO_PKG_VERSION"));
        let kinds: Vec<&str> = w["kinds"]
            .as_array()
            .unwrap()
            .iter()
            .map(|k| k.as_str().unwrap())
            .collect();
        for kind in JobKind::ALL {
            assert!(
                kinds.contains(&kind.as_str()),
                "every kind by default: {kinds:?}"
            );
        }
    }

    let api = Api::new(&vp.base());
    let mut videos = Vec::new();
    for _ in 0..3 {
        videos.push(api.upload(&support::media("speech.mkv")).await);
    }
    for &id in &videos {
        let status = api.wait_until_finished(id).await;
        assert_eq!(status["state"], "ready", "{status:#}");
    }
    for &id in &videos {
        let jobs = vp.store().jobs_for_video(id).await.unwrap();
        for kind in [JobKind::Transcribe, JobKind::Draft, JobKind::Illustrate] {
            let of_kind: Vec<_> = jobs.iter().filter(|j| j.kind == kind).collect();
            assert_eq!(of_kind.len(), 1, "one {kind} job for video {id}: {jobs:#?}");
        }
        for job in &jobs {
            assert_eq!(job.state, JobState::Succeeded, "{job:?}");
            assert_eq!(job.attempts, 1, "each step ran once: {job:?}");
            assert!(
                names.values().any(|n| n == ran_by(job)),
                "run by one of the two workers: {job:?}"
            );
        }
    }
    // Both are seen: running, heartbeating, and idle now that the queue is empty.
    let list = workers(&vp);
    for name in names.values() {
        let w = list.iter().find(|w| w["name"] == name.as_str()).unwrap();
        assert_eq!(w["state"], "running", "{w:#}");
        assert!(w["jobs"].as_array().unwrap().is_empty(), "{w:#}");
        assert!(w["last_seen_at"].as_i64().unwrap() > w["started_at"].as_i64().unwrap());
    }

    signal(&one, "-TERM");
    let one_pid = one.0.id();
    let mut one = one;
    eventually(
        "the worker exits on SIGTERM",
        Duration::from_secs(30),
        || {
            let exited = one.0.try_wait().unwrap();
            async move { exited }
        },
    )
    .await;
    let w = by_pid(&workers(&vp), one_pid).unwrap();
    assert_eq!(w["state"], "stopped", "a clean shutdown deregisters: {w:#}");
    signal(&two, "-TERM");
    signal(&web, "-TERM");
}

#[tokio::test]
async fn a_killed_workers_job_is_finished_by_the_other_after_its_lease() {
    let vp = Instance::postgres().await;
    let one = vp.start(&["worker", "--kinds", "probe"], &FAST).await;
    let two = vp.start(&["worker", "--kinds", "probe"], &FAST).await;
    let names = registered(&vp, &[&one, &two]).await;
    let job = enqueue_probes(&vp, 1, 4000).await[0];

    // Whichever worker took the job is killed while it runs.
    let holder = eventually("a worker holds the job", Duration::from_secs(30), || {
        let list = workers(&vp);
        let holder = list
            .iter()
            .find(|w| {
                w["jobs"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .any(|j| j["id"] == job.0)
            })
            .map(|w| w["pid"].as_u64().unwrap() as u32);
        async move { holder }
    })
    .await;
    let (mut victim, survivor) = if holder == one.0.id() {
        (one, two)
    } else {
        (two, one)
    };
    signal(&victim, "-KILL");
    victim.0.wait().unwrap();

    let done = wait_succeeded(&vp, &[job]).await.remove(0);
    assert_eq!(
        done.attempts, 2,
        "the killed run and the one that finished: {done:?}"
    );
    assert_eq!(ran_by(&done), names[&survivor.0.id()]);

    let gone = eventually(
        "the killed worker shows as gone",
        Duration::from_secs(30),
        || {
            let w = by_pid(&workers(&vp), holder).filter(|w| w["state"] == "gone");
            async move { w }
        },
    )
    .await;
    assert_eq!(gone["name"], names[&holder].as_str());
    assert_eq!(
        by_pid(&workers(&vp), survivor.0.id()).unwrap()["state"],
        "running"
    );
    signal(&survivor, "-TERM");
}

#[tokio::test]
async fn sigterm_hands_a_long_job_back_and_exits_within_the_grace_period() {
    let vp = Instance::postgres().await;
    let mut env = FAST.to_vec();
    env.push(("VIDPRESS_SHUTDOWN_GRACE_SECONDS", "1"));
    let mut worker = vp.start(&["worker", "--kinds", "probe"], &env).await;
    registered(&vp, &[&worker]).await;
    let job = enqueue_probes(&vp, 1, 600_000).await[0];
    eventually(
        "the worker runs the job",
        Duration::from_secs(30),
        || async { (vp.store().job(job).await.unwrap().state == JobState::Running).then_some(()) },
    )
    .await;
    signal(&worker, "-TERM");
    let status = eventually("the worker exits", Duration::from_secs(20), || {
        let exited = worker.0.try_wait().unwrap();
        async move { exited }
    })
    .await;
    assert!(status.success(), "{status}");
    let back = vp.store().job(job).await.unwrap();
    assert_eq!(back.state, JobState::Queued, "handed back: {back:?}");
    assert_eq!(back.attempts, 0, "the unfinished run does not count");
    assert_eq!(
        by_pid(&workers(&vp), worker.0.id()).unwrap()["state"],
        "stopped"
    );
}

#[tokio::test]
async fn a_worker_limited_to_some_kinds_never_takes_the_others() {
    let vp = Instance::postgres().await;
    let web = vp.start(&["serve", "--no-workers"], &FAST).await;
    let gpu = vp
        .start(&["worker", "--kinds", "transcribe,illustrate"], &FAST)
        .await;
    let mut cpu_env = FAST.to_vec();
    cpu_env.push(("VIDPRESS_WORKER_KINDS", "fetch,draft,export,probe"));
    let cpu = vp.start(&["worker"], &cpu_env).await;
    let names = registered(&vp, &[&gpu, &cpu]).await;
    let list = workers(&vp);
    assert_eq!(
        by_pid(&list, gpu.0.id()).unwrap()["kinds"],
        serde_json::json!(["transcribe", "illustrate"])
    );
    assert_eq!(
        by_pid(&list, cpu.0.id()).unwrap()["kinds"],
        serde_json::json!(["fetch", "draft", "export", "probe"])
    );

    let api = Api::new(&vp.base());
    let video = api.upload(&support::media("speech.mkv")).await;
    let probes = enqueue_probes(&vp, 20, 50).await;
    let status = api.wait_until_finished(video).await;
    assert_eq!(status["state"], "ready", "{status:#}");
    let mut jobs = wait_succeeded(&vp, &probes).await;
    jobs.extend(vp.store().jobs_for_video(video).await.unwrap());
    for job in &jobs {
        let expected = match job.kind {
            JobKind::Transcribe | JobKind::Illustrate => &names[&gpu.0.id()],
            _ => &names[&cpu.0.id()],
        };
        assert_eq!(
            ran_by(job),
            expected,
            "{} ran on the worker that takes it: {job:?}",
            job.kind
        );
    }
    signal(&gpu, "-TERM");
    signal(&cpu, "-TERM");
    signal(&web, "-TERM");
}

#[tokio::test]
async fn three_workers_run_two_hundred_jobs_each_exactly_once() {
    let vp = Instance::postgres().await;
    let procs = [
        vp.start(&["worker", "--kinds", "probe"], &FAST).await,
        vp.start(&["worker", "--kinds", "probe"], &FAST).await,
        vp.start(&["worker", "--kinds", "probe"], &FAST).await,
    ];
    let names = registered(&vp, &procs.iter().collect::<Vec<_>>()).await;
    let ids = enqueue_probes(&vp, 200, 20).await;
    let jobs = wait_succeeded(&vp, &ids).await;
    assert_eq!(jobs.len(), 200);
    for job in &jobs {
        assert_eq!(job.attempts, 1, "claimed once: {job:?}");
        assert!(names.values().any(|n| n == ran_by(job)), "{job:?}");
    }
    for p in &procs {
        signal(p, "-TERM");
    }
}
