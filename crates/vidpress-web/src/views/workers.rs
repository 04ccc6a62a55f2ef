//! The admins' workers page: every registered worker process, its state (running, stopped,
//! gone), when it was last seen, its device and job kinds, and the jobs it holds with their
//! progress. Anyone else gets 404, as for anything that is not theirs.

use askama::Template;
use axum::Router;
use axum::extract::State;
use axum::routing::get;
use vidpress_store::WorkerStatus;

use super::{Layout, PageResult, format_time, render};
use crate::auth::CurrentUser;
use crate::{AppError, AppState};

pub(super) fn router() -> Router<AppState> {
    Router::new().route("/admin/workers", get(page))
}

struct JobRow {
    id: i64,
    kind: String,
    video: Option<i64>,
    attempts: u32,
    progress: u8,
    message: String,
}

struct WorkerRow {
    name: String,
    host: String,
    pid: u32,
    version: String,
    concurrency: u32,
    state: &'static str,
    last_seen: String,
    last_seen_ago: String,
    device: String,
    kinds: String,
    jobs: Vec<JobRow>,
}

#[derive(Template)]
#[template(path = "admin_workers.html")]
struct WorkersPage {
    layout: Layout,
    now: String,
    workers: Vec<WorkerRow>,
}

/// "12 s ago", "3 min ago", "2 h ago", "4 days ago".
pub(crate) fn ago(ms: i64) -> String {
    let s = (ms / 1000).max(0);
    match s {
        0..60 => format!("{s} s ago"),
        60..3600 => format!("{} min ago", s / 60),
        3600..86_400 => format!("{} h ago", s / 3600),
        _ => format!("{} days ago", s / 86_400),
    }
}

fn row(worker: WorkerStatus, now: i64, current: &CurrentUser) -> WorkerRow {
    WorkerRow {
        last_seen: format_time(worker.last_seen_at, &current.user),
        last_seen_ago: ago(now - worker.last_seen_at),
        state: worker.state.as_str(),
        kinds: worker.kinds.join(", "),
        jobs: worker
            .jobs
            .into_iter()
            .map(|j| JobRow {
                id: j.id.0,
                kind: j.kind,
                video: j.video_id,
                attempts: j.attempts,
                progress: j.progress,
                message: j.progress_message,
            })
            .collect(),
        name: worker.name,
        host: worker.host,
        pid: worker.pid,
        version: worker.version,
        concurrency: worker.concurrency,
        device: worker.device,
    }
}

#[tracing::instrument(skip_all)]
async fn page(State(state): State<AppState>, current: CurrentUser) -> PageResult {
    if !current.user.is_admin {
        return Err(AppError::NotFound.into());
    }
    let now = vidpress_store::now_ms();
    let workers = state
        .store
        .workers()
        .await?
        .into_iter()
        .map(|w| row(w, now, &current))
        .collect();
    Ok(render(&WorkersPage {
        layout: Layout::new(&current, "Workers", "workers").await?,
        now: format_time(now, &current.user),
        workers,
    }))
}

#[cfg(test)]
mod tests {
    #[test]
    fn ages_read_naturally() {
        assert_eq!(super::ago(12_400), "12 s ago");
        assert_eq!(super::ago(185_000), "3 min ago");
        assert_eq!(super::ago(7_300_000), "2 h ago");
        assert_eq!(super::ago(4 * 86_400_000 + 5), "4 days ago");
        assert_eq!(super::ago(-50), "0 s ago");
    }
}
