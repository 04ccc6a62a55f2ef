//! The worker pool: claims due jobs within the concurrency limits, runs them, renews their
//! leases, records outcomes, and on shutdown lets running jobs finish or hands them back. While
//! it runs it is registered in the database and heartbeats, so operators see it
//! (`vidpress workers`, the dashboard's workers page); each job's outcome and duration go to
//! the process's metrics.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::Notify;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;
use tracing::{Instrument, info, info_span, warn};
use vidpress_core::JobKind;
use vidpress_store::{
    ClaimedJob, JobState, LeaseStatus, NewWorker, Retry, RetryPolicy, Store, StoreError, WorkerId,
};
use vidpress_transcribe::Device;

use crate::{JobContext, JobError, Registry};

/// How a pool runs.
#[derive(Debug, Clone)]
pub struct PoolConfig {
    /// Names this pool's leases (host and process), so operators can see who holds a job. The
    /// pool adds a random suffix, so a restarted process with the same pid (pid 1 in a
    /// container) is told apart.
    pub name: String,
    /// The machine, as operators know it.
    pub host: String,
    /// Where transcription runs, as configured; the registration names the CPU or the GPU.
    pub device: Device,
    /// How often a running pool heartbeats; it is shown as gone after three missed beats.
    pub heartbeat: Duration,
    /// Most jobs running at once, all kinds together.
    pub concurrency: usize,
    /// Most jobs of a kind running at once; kinds not listed are limited only by `concurrency`.
    pub per_kind: HashMap<JobKind, usize>,
    /// How long a claim lasts without renewal; a dead worker's jobs return after this.
    pub lease: Duration,
    /// How often a running job's lease is renewed (and cancellation noticed).
    pub renew_every: Duration,
    /// How often an idle pool looks for due jobs.
    pub poll_interval: Duration,
    /// Backoff for failed jobs.
    pub retry: RetryPolicy,
    /// How long shutdown waits for running jobs before handing them back to the queue.
    pub shutdown_grace: Duration,
    /// How long a cancelled handler gets to stop and clean up before it is abandoned.
    pub cancel_grace: Duration,
}

impl Default for PoolConfig {
    fn default() -> Self {
        Self {
            name: format!("worker-{}", std::process::id()),
            host: "localhost".into(),
            device: Device::Auto,
            heartbeat: Duration::from_secs(10),
            concurrency: 4,
            // Transcription and image generation saturate the CPU or GPU on their own.
            per_kind: HashMap::from([(JobKind::Transcribe, 1), (JobKind::Illustrate, 1)]),
            lease: Duration::from_secs(60),
            renew_every: Duration::from_secs(3),
            poll_interval: Duration::from_secs(1),
            retry: RetryPolicy::default(),
            shutdown_grace: Duration::from_secs(30),
            cancel_grace: Duration::from_secs(5),
        }
    }
}

/// Runs registered handlers for due jobs.
#[derive(Debug, Clone)]
pub struct WorkerPool {
    store: Store,
    registry: Registry,
    config: PoolConfig,
    /// `config.name` with this pool's random suffix: the prefix of its lease owners.
    name: String,
    wake: Arc<Notify>,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Until {
    Shutdown,
    Idle,
}

struct Finished {
    kind: JobKind,
}

/// Where the CPU or GPU transcription runs on, as shown to operators: `CPU`, or the GPU's name
/// once whisper.cpp has named it (at the first model load of a CUDA build).
pub fn device_label(device: Device) -> String {
    if !vidpress_transcribe::CUDA_BUILD || device == Device::Cpu {
        return "CPU".into();
    }
    match vidpress_transcribe::device::cuda_probe() {
        Some(probe) => match probe.devices.first() {
            Some(card) => format!("GPU: {card}"),
            None => "CPU (no usable GPU)".into(),
        },
        None => "GPU (CUDA build; named at the first transcription)".into(),
    }
}

/// The class of a failure, for the failure counter.
fn reason_class(error: &JobError) -> &'static str {
    match error {
        JobError::Retryable(_) => "retryable",
        JobError::RetryAt { .. } => "scheduled",
        JobError::Permanent(_) => "permanent",
        JobError::Stopped => "stopped",
    }
}

impl WorkerPool {
    /// A pool over `store` running `registry`'s handlers.
    pub fn new(store: Store, registry: Registry, config: PoolConfig) -> Self {
        let suffix = uuid::Uuid::new_v4().simple().to_string();
        Self {
            name: format!("{}-{}", config.name, &suffix[..6]),
            store,
            registry,
            config,
            wake: Arc::new(Notify::new()),
        }
    }

    /// This pool's name: the prefix of its lease owners and its name in the workers list.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The job kinds this pool claims.
    pub fn kinds(&self) -> Vec<JobKind> {
        self.registry.kinds()
    }

    /// Wakes an idle pool at once (call after enqueueing in the same process).
    pub fn wake(&self) {
        self.wake.notify_one();
    }

    /// A handle that wakes this pool, for code that enqueues jobs.
    pub fn waker(&self) -> Arc<Notify> {
        self.wake.clone()
    }

    /// Runs jobs until `shutdown` fires, then waits up to the grace period for running jobs and
    /// hands back the rest.
    /// The pool is registered while it runs and heartbeats; it marks itself stopped at the end.
    pub async fn run(&self, shutdown: CancellationToken) {
        info!(pool = %self.name, kinds = ?self.registry.kinds(), "worker pool started");
        let beating = CancellationToken::new();
        let heart = tokio::spawn(self.clone().heartbeat(beating.clone()));
        self.run_loop(Until::Shutdown, shutdown).await;
        beating.cancel();
        if let Ok(Some(id)) = heart.await
            && let Err(e) = self.store.deregister_worker(id).await
        {
            warn!(error = %e, "could not mark this worker stopped; it will show as gone");
        }
        info!(pool = %self.name, "worker pool stopped");
    }

    async fn register(&self) -> Option<WorkerId> {
        let kinds = self.registry.kinds();
        let device = device_label(self.config.device);
        let worker = NewWorker {
            name: &self.name,
            host: &self.config.host,
            pid: std::process::id(),
            version: env!("CARGO_PKG_VERSION"),
            device: &device,
            kinds: &kinds,
            concurrency: self.config.concurrency,
            heartbeat: self.config.heartbeat,
        };
        match self.store.register_worker(&worker).await {
            Ok(id) => {
                info!(worker = id.0, name = %self.name, %device, "worker registered");
                Some(id)
            }
            Err(e) => {
                warn!(error = %e, "could not register this worker; trying again at the next heartbeat");
                None
            }
        }
    }

    /// Registers, then heartbeats until `stop` fires (registering again when the row went
    /// missing); returns the registration for the caller to end.
    async fn heartbeat(self, stop: CancellationToken) -> Option<WorkerId> {
        let mut id = self.register().await;
        let mut tick = tokio::time::interval(self.config.heartbeat);
        tick.tick().await;
        loop {
            tokio::select! {
                _ = stop.cancelled() => return id,
                _ = tick.tick() => {}
            }
            id = match id {
                Some(current) => {
                    match self
                        .store
                        .heartbeat_worker(current, &device_label(self.config.device))
                        .await
                    {
                        Ok(true) => Some(current),
                        Ok(false) => self.register().await,
                        Err(e) => {
                            warn!(error = %e, "heartbeat failed; will try again");
                            Some(current)
                        }
                    }
                }
                None => self.register().await,
            };
        }
    }

    /// Runs jobs until none is due and none is running; returns how many it ran. Tests and
    /// `vidpress convert` drive the queue with it.
    pub async fn run_until_idle(&self) -> usize {
        self.run_loop(Until::Idle, CancellationToken::new()).await
    }

    async fn run_loop(&self, until: Until, shutdown: CancellationToken) -> usize {
        let jobs_stop = CancellationToken::new();
        let mut running: JoinSet<Finished> = JoinSet::new();
        let mut in_flight: HashMap<JobKind, usize> = HashMap::new();
        let mut started = 0;
        loop {
            while let Some(done) = running.try_join_next() {
                finish(&mut in_flight, done);
            }
            if shutdown.is_cancelled() {
                break;
            }
            let kinds = self.claimable_kinds(&in_flight, running.len());
            if !kinds.is_empty() {
                match self.claim(&kinds).await {
                    Ok(Some(claimed)) => {
                        *in_flight.entry(claimed.job.kind).or_default() += 1;
                        started += 1;
                        running.spawn(self.clone().run_job(claimed, jobs_stop.child_token()));
                        continue;
                    }
                    Ok(None) => {}
                    Err(e) => warn!(error = %e, "claiming a job failed; retrying"),
                }
            }
            if until == Until::Idle && running.is_empty() {
                break;
            }
            tokio::select! {
                Some(done) = running.join_next(), if !running.is_empty() => finish(&mut in_flight, done),
                _ = self.wake.notified() => {}
                _ = tokio::time::sleep(self.config.poll_interval), if until == Until::Shutdown => {}
                _ = shutdown.cancelled() => {}
            }
        }
        if !running.is_empty() {
            info!(running = running.len(), grace = ?self.config.shutdown_grace, "waiting for running jobs");
            let drained = tokio::time::timeout(self.config.shutdown_grace, async {
                while running.join_next().await.is_some() {}
            })
            .await;
            if drained.is_err() {
                // Handlers see the cancellation, stop, and hand their jobs back to the queue.
                jobs_stop.cancel();
                while running.join_next().await.is_some() {}
            }
        }
        started
    }

    fn claimable_kinds(&self, in_flight: &HashMap<JobKind, usize>, running: usize) -> Vec<JobKind> {
        if running >= self.config.concurrency {
            return Vec::new();
        }
        self.registry
            .kinds()
            .into_iter()
            .filter(|kind| {
                let limit = self
                    .config
                    .per_kind
                    .get(kind)
                    .copied()
                    .unwrap_or(usize::MAX);
                in_flight.get(kind).copied().unwrap_or(0) < limit
            })
            .collect()
    }

    async fn claim(&self, kinds: &[JobKind]) -> Result<Option<ClaimedJob>, StoreError> {
        let owner = format!("{}/{}", self.name, uuid::Uuid::new_v4().simple());
        self.store.claim(&owner, kinds, self.config.lease).await
    }

    async fn run_job(self, claimed: ClaimedJob, stop: CancellationToken) -> Finished {
        let kind = claimed.job.kind;
        let span =
            info_span!("job", id = %claimed.job.id, kind = %kind, attempt = claimed.job.attempts);
        async move {
            let claimed = Arc::new(claimed);
            let cancel = CancellationToken::new();
            let ctx = JobContext::new(self.store.clone(), claimed.clone(), cancel.clone());
            let renewer = tokio::spawn(self.clone().keep_lease(claimed.clone(), cancel.clone(), stop.clone()));
            let handler = self.registry.get(kind).expect("claimed only registered kinds");
            let started = Instant::now();
            let mut panicked = false;
            let mut task = tokio::spawn(handler(ctx.clone()));
            let outcome = tokio::select! {
                joined = &mut task => match joined {
                    Ok(result) => result,
                    Err(e) if e.is_panic() => {
                        panicked = true;
                        Err(JobError::Retryable("internal error: the job's handler panicked".into()))
                    }
                    Err(_) => Err(JobError::Stopped),
                },
                _ = cancel.cancelled() => {
                    // Give the handler a moment to notice and clean up after itself.
                    match tokio::time::timeout(self.config.cancel_grace, &mut task).await {
                        Ok(Ok(result)) => result,
                        _ => {
                            task.abort();
                            Err(JobError::Stopped)
                        }
                    }
                }
            };
            renewer.abort();
            let class = match &outcome {
                Err(_) if panicked => Some("panic"),
                Err(error) => Some(reason_class(error)),
                Ok(()) => None,
            };
            let result = self.record(&ctx, &claimed, outcome, stop.is_cancelled()).await;
            let outcome = match (class, result) {
                (None, _) => "succeeded",
                (Some("stopped"), _) if stop.is_cancelled() => "released",
                (Some("stopped"), _) => "stopped",
                (Some(class), Some(JobState::Queued)) => {
                    metrics::counter!("vidpress_job_failures_total", "kind" => kind.as_str(), "reason" => class).increment(1);
                    metrics::counter!("vidpress_job_retries_total", "kind" => kind.as_str()).increment(1);
                    "retried"
                }
                (Some(class), _) => {
                    metrics::counter!("vidpress_job_failures_total", "kind" => kind.as_str(), "reason" => class).increment(1);
                    "failed"
                }
            };
            metrics::counter!("vidpress_jobs_total", "kind" => kind.as_str(), "outcome" => outcome).increment(1);
            metrics::histogram!("vidpress_job_duration_seconds", "kind" => kind.as_str(), "outcome" => outcome)
                .record(started.elapsed().as_secs_f64());
            Finished { kind }
        }
        .instrument(span)
        .await
    }

    /// Renews the lease until the job ends; fires `cancel` when the lease is lost (the job was
    /// cancelled or taken over) or the pool stops waiting for it.
    async fn keep_lease(
        self,
        claimed: Arc<ClaimedJob>,
        cancel: CancellationToken,
        stop: CancellationToken,
    ) {
        let mut tick = tokio::time::interval(self.config.renew_every);
        tick.tick().await;
        loop {
            tokio::select! {
                _ = tick.tick() => {}
                _ = stop.cancelled() => { cancel.cancel(); return; }
            }
            match self.store.renew(&claimed, self.config.lease).await {
                Ok(LeaseStatus::Held) => {}
                Ok(LeaseStatus::Lost) => {
                    info!("job was cancelled or taken over; stopping it");
                    cancel.cancel();
                    return;
                }
                Err(e) => warn!(error = %e, "renewing the lease failed; will try again"),
            }
        }
    }

    async fn record(
        &self,
        ctx: &JobContext,
        claimed: &ClaimedJob,
        outcome: Result<(), JobError>,
        shutting_down: bool,
    ) -> Option<JobState> {
        let result = match outcome {
            Ok(()) if ctx.completed_by_handler() => Ok(JobState::Succeeded),
            Ok(()) => self
                .store
                .complete(claimed)
                .await
                .map(|()| JobState::Succeeded),
            Err(JobError::Stopped) if shutting_down => {
                info!("handing the job back to the queue");
                self.store.release(claimed).await.map(|()| JobState::Queued)
            }
            Err(JobError::Stopped) => Ok(JobState::Cancelled),
            Err(error) => {
                let retry = match &error {
                    JobError::Retryable(_) => Retry::Backoff,
                    JobError::RetryAt { at_ms, .. } => Retry::At(*at_ms),
                    _ => Retry::Never,
                };
                let message = error.to_string();
                self.store
                    .fail(claimed, &message, retry, &self.config.retry)
                    .await
                    .inspect(|state| warn!(error = %message, next = state.as_str(), "job failed"))
            }
        };
        match result {
            Ok(state) => Some(state),
            Err(StoreError::LeaseLost(_)) => {
                info!("the job's lease was lost before its outcome was recorded");
                None
            }
            Err(e) => {
                warn!(error = %e, "recording the job's outcome failed; its lease will expire and it will run again");
                None
            }
        }
    }
}

fn finish(in_flight: &mut HashMap<JobKind, usize>, done: Result<Finished, tokio::task::JoinError>) {
    if let Ok(Finished { kind }) = done
        && let Some(n) = in_flight.get_mut(&kind)
    {
        *n = n.saturating_sub(1);
    }
}
