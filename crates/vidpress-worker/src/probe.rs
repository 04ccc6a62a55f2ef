//! The `probe` job: waits `work_ms` milliseconds (0 by default) and finishes, touching nothing
//! else. It measures the queue itself with real worker processes (`vidpress bench workers`) and
//! shows that workers take work; a cancel or shutdown stops the wait.

use std::time::Duration;

use vidpress_core::JobKind;

use crate::{JobContext, JobError, Registry};

/// The longest wait a probe job may ask for.
pub const MAX_WORK: Duration = Duration::from_secs(600);

/// Registers the probe handler.
pub fn register(registry: &mut Registry) {
    registry.register(JobKind::Probe, run);
}

async fn run(ctx: JobContext) -> Result<(), JobError> {
    let work_ms = ctx.job().payload["work_ms"].as_u64().unwrap_or(0);
    let work = Duration::from_millis(work_ms).min(MAX_WORK);
    if !work.is_zero() {
        ctx.progress(0, "probing").await?;
        tokio::select! {
            _ = tokio::time::sleep(work) => {}
            _ = ctx.cancelled() => return Err(JobError::Stopped),
        }
    }
    Ok(())
}
