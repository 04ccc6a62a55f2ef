//! The job runner: a pool of workers that claim jobs from the durable queue, run the handler
//! registered for each job's kind, keep the job's lease alive while it runs, and record the
//! outcome. It knows nothing of HTTP; the pipeline steps register their handlers here.

pub mod audio;
pub mod export;
pub mod pipeline;
mod pool;
pub mod probe;
mod registry;
mod spelling;
pub mod websub;

pub use export::ExportJobs;
pub use pipeline::{Pipeline, PipelineConfig};
pub use pool::{PoolConfig, WorkerPool, device_label};
pub use registry::{HandlerFuture, JobContext, JobError, Registry};
