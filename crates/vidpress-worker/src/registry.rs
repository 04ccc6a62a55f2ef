//! Handlers by job kind, and what a running handler may do: report progress, notice
//! cancellation, and fail in a way that says whether to retry.

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use tokio_util::sync::CancellationToken;
use vidpress_core::JobKind;
use vidpress_store::{ClaimedJob, Job, Store, StoreError};

/// How a handler failed.
#[derive(Debug, thiserror::Error)]
pub enum JobError {
    /// Worth trying again after the queue's backoff (network trouble, a busy server).
    #[error("{0}")]
    Retryable(String),
    /// Worth trying again at a known time (epoch ms), e.g. when a premiere starts.
    #[error("{message}")]
    RetryAt { message: String, at_ms: i64 },
    /// Retrying cannot help (the file has no audio track): the job stays failed.
    #[error("{0}")]
    Permanent(String),
    /// The job was cancelled or its lease lost; the handler stopped early.
    #[error("stopped: the job was cancelled or taken over")]
    Stopped,
}

impl From<StoreError> for JobError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::LeaseLost(_) => JobError::Stopped,
            other => JobError::Retryable(other.to_string()),
        }
    }
}

/// What a running handler gets besides its job.
#[derive(Debug, Clone)]
pub struct JobContext {
    pub store: Store,
    claimed: Arc<ClaimedJob>,
    cancel: CancellationToken,
    completed: Arc<AtomicBool>,
}

impl JobContext {
    pub(crate) fn new(store: Store, claimed: Arc<ClaimedJob>, cancel: CancellationToken) -> Self {
        Self {
            store,
            claimed,
            cancel,
            completed: Arc::default(),
        }
    }

    /// The job being run.
    pub fn job(&self) -> &Job {
        &self.claimed.job
    }

    /// The lease this worker holds, for store calls that check it.
    pub fn claimed(&self) -> &ClaimedJob {
        &self.claimed
    }

    /// Records progress (0–100) and a short message on the job.
    pub async fn progress(&self, percent: u8, message: &str) -> Result<(), JobError> {
        Ok(self
            .store
            .set_progress(&self.claimed, percent, message)
            .await?)
    }

    /// Fires when the job is cancelled, its lease is lost, or the worker shuts down: long steps
    /// select on it and stop.
    pub fn cancelled(&self) -> tokio_util::sync::WaitForCancellationFuture<'_> {
        self.cancel.cancelled()
    }

    /// Whether the job should stop now.
    pub fn is_cancelled(&self) -> bool {
        self.cancel.is_cancelled()
    }

    /// A token that fires with [`JobContext::cancelled`], for blocking work on other threads.
    pub fn cancel_token(&self) -> CancellationToken {
        self.cancel.clone()
    }

    /// Marks the job succeeded inside the caller's transaction, so a step's output, the next
    /// step's job and this completion are committed together. The pool then leaves it alone.
    pub async fn complete_in(
        &self,
        conn: &mut vidpress_store::AnyConnection,
    ) -> Result<(), JobError> {
        vidpress_store::queue::complete(conn, &self.claimed).await?;
        self.completed.store(true, Ordering::SeqCst);
        Ok(())
    }

    pub(crate) fn completed_by_handler(&self) -> bool {
        self.completed.load(Ordering::SeqCst)
    }
}

/// The future a handler returns.
pub type HandlerFuture = Pin<Box<dyn Future<Output = Result<(), JobError>> + Send>>;
type Handler = Arc<dyn Fn(JobContext) -> HandlerFuture + Send + Sync>;

/// Handlers by job kind.
#[derive(Clone, Default)]
pub struct Registry {
    handlers: HashMap<JobKind, Handler>,
}

impl std::fmt::Debug for Registry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Registry")
            .field("kinds", &self.kinds())
            .finish()
    }
}

impl Registry {
    /// An empty registry.
    pub fn new() -> Self {
        Self::default()
    }

    /// Registers the handler for a kind, replacing any earlier one.
    pub fn register<F, Fut>(&mut self, kind: JobKind, handler: F) -> &mut Self
    where
        F: Fn(JobContext) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<(), JobError>> + Send + 'static,
    {
        self.handlers
            .insert(kind, Arc::new(move |ctx| Box::pin(handler(ctx))));
        self
    }

    /// The kinds that have a handler, in a stable order.
    pub fn kinds(&self) -> Vec<JobKind> {
        let mut kinds: Vec<JobKind> = self.handlers.keys().copied().collect();
        kinds.sort();
        kinds
    }

    /// Keeps only the handlers of `kinds`, so the pool claims nothing else (a GPU worker that
    /// takes only `transcribe` and `illustrate`). Fails, changing nothing, naming the kinds this
    /// registry has no handler for.
    pub fn retain_kinds(&mut self, kinds: &[JobKind]) -> Result<(), Vec<JobKind>> {
        let missing: Vec<JobKind> = kinds
            .iter()
            .copied()
            .filter(|k| !self.handlers.contains_key(k))
            .collect();
        if !missing.is_empty() {
            return Err(missing);
        }
        self.handlers.retain(|kind, _| kinds.contains(kind));
        Ok(())
    }

    pub(crate) fn get(&self, kind: JobKind) -> Option<Handler> {
        self.handlers.get(&kind).cloned()
    }
}
