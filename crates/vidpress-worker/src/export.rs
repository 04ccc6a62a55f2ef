//! The export job: sends one draft to one WordPress or Ghost connection. It reads the export
//! row (which remembers the remote post of earlier exports), opens the connection's secret,
//! uploads the header image and creates or updates the post, then stores the remote id, URL and
//! time together with the job's completion. Busy or unreachable remotes are retried (at the time
//! `Retry-After` names, when it does); refusals fail at once with the remote's own message.

use std::path::Path;
use std::sync::Arc;

use tracing::info;
use vidpress_core::JobKind;
use vidpress_publish::{Exporters, Image, Post, PostStatus, Previous, PublishError, SiteKind};
use vidpress_store::exports::{ConnectionKind, Export, ExportDone, ExportState};
use vidpress_store::{Store, now_ms};

use crate::{JobContext, JobError, Registry};

/// The export job's handler.
#[derive(Debug)]
pub struct ExportJobs {
    exporters: Exporters,
}

/// The publish crate's name for a stored connection kind.
pub fn site_kind(kind: ConnectionKind) -> SiteKind {
    match kind {
        ConnectionKind::WordPress => SiteKind::WordPress,
        ConnectionKind::Ghost => SiteKind::Ghost,
    }
}

impl ExportJobs {
    pub fn new(exporters: Exporters) -> Arc<ExportJobs> {
        Arc::new(ExportJobs { exporters })
    }

    /// Registers the export handler.
    pub fn register(self: &Arc<Self>, registry: &mut Registry) {
        let jobs = self.clone();
        registry.register(JobKind::Export, move |ctx| jobs.clone().run(ctx));
    }

    #[tracing::instrument(skip_all, fields(job = ctx.job().id.0))]
    async fn run(self: Arc<Self>, ctx: JobContext) -> Result<(), JobError> {
        let id = ctx.job().payload["export_id"]
            .as_i64()
            .ok_or_else(|| JobError::Permanent("the job does not name an export".into()))?;
        let Some(export) = ctx.store.export(id).await? else {
            info!(
                export = id,
                "the export is gone (its connection was removed); nothing to do"
            );
            return Ok(());
        };
        ctx.store
            .set_export_state(id, ExportState::Running, None)
            .await?;
        let result = tokio::select! {
            r = self.send(&ctx, &export) => r,
            _ = ctx.cancelled() => Err(JobError::Stopped),
        };
        if let Err(error) = &result {
            record_failure(&ctx, &export, error).await;
        }
        result
    }

    async fn send(&self, ctx: &JobContext, export: &Export) -> Result<(), JobError> {
        let store = &ctx.store;
        let user = export.user_id;
        let connection = store
            .connection_for_user(user, export.connection_id)
            .await?
            .ok_or_else(|| JobError::Permanent("the connection was removed".into()))?;
        let draft = store
            .draft_for_user(user, export.draft_id)
            .await?
            .ok_or_else(|| JobError::Permanent("the draft was deleted".into()))?;
        let secret = self
            .exporters
            .open(&connection.sealed_secret, user.0)
            .map_err(|e| JobError::Permanent(e.to_string()))?;
        let publisher = self
            .exporters
            .connect(
                site_kind(connection.kind),
                &connection.url,
                connection.username.as_deref(),
                &secret,
            )
            .map_err(publish_error)?;
        let image = match draft.header_image.as_deref() {
            Some(path) if Path::new(path).is_file() => {
                Some(Image::read(Path::new(path)).map_err(publish_error)?)
            }
            _ => None,
        };
        let post = Post {
            title: draft.title.clone(),
            slug: draft.slug.clone(),
            html: vidpress_publish::body_without_title(&draft.html),
            excerpt: draft.description.clone(),
            tags: draft.tags.clone(),
            status: PostStatus::from_stored(&export.post_status, export.publish_at)
                .map_err(JobError::Permanent)?,
            image,
        };
        let previous = export.remote_id.as_ref().map(|remote_id| Previous {
            remote_id: remote_id.clone(),
            updated_at: export.remote_updated_at.clone(),
            image: export
                .remote_image
                .as_deref()
                .and_then(|json| serde_json::from_str(json).ok()),
        });
        ctx.progress(
            10,
            &format!(
                "sending “{}” to {} ({})",
                post.title,
                connection.name,
                connection.kind.label()
            ),
        )
        .await?;
        let published = publisher
            .publish(&post, previous.as_ref())
            .await
            .map_err(publish_error)?;
        let image_json = published
            .image
            .as_ref()
            .map(|i| serde_json::to_string(i).unwrap_or_default());
        let mut tx = store.begin().await?;
        Store::finish_export(
            &mut tx,
            export.id,
            &ExportDone {
                remote_id: &published.remote_id,
                remote_url: &published.url,
                remote_updated_at: published.updated_at.as_deref(),
                remote_image: image_json.as_deref(),
                message: published.note.as_deref(),
            },
        )
        .await?;
        ctx.complete_in(&mut tx).await?;
        tx.commit()
            .await
            .map_err(vidpress_store::StoreError::from)?;
        info!(export = export.id, remote = %published.url, "exported");
        Ok(())
    }
}

/// A publishing error as a job error: retry what may pass, fail the rest at once.
fn publish_error(error: PublishError) -> JobError {
    let message = error.to_string();
    match error.retry_after() {
        Some(wait) => JobError::RetryAt {
            message,
            at_ms: now_ms() + i64::try_from(wait.as_millis()).unwrap_or(i64::MAX / 2),
        },
        None if error.is_retryable() => JobError::Retryable(message),
        None => JobError::Permanent(message),
    }
}

/// Writes the failure on the export row: failed for good, or waiting for the retry.
async fn record_failure(ctx: &JobContext, export: &Export, error: &JobError) {
    let job = ctx.job();
    let (state, message) = match error {
        JobError::Permanent(_) => (ExportState::Failed, error.to_string()),
        JobError::Retryable(_) | JobError::RetryAt { .. } if job.attempts >= job.max_attempts => {
            (ExportState::Failed, error.to_string())
        }
        JobError::Retryable(_) | JobError::RetryAt { .. } => (
            ExportState::Queued,
            format!(
                "{error} (attempt {} of {}; it will be retried)",
                job.attempts, job.max_attempts
            ),
        ),
        JobError::Stopped => (ExportState::Failed, "the export was stopped".to_owned()),
    };
    if let Err(e) = ctx
        .store
        .set_export_state(export.id, state, Some(&message))
        .await
    {
        tracing::warn!(export = export.id, error = %e, "could not record the export's failure");
    }
}
