//! `vidpress workers`: the worker processes registered in the database, their state (running,
//! stopped, gone), when each was last seen, its device and job kinds, and the jobs it holds.

use vidpress_store::WorkerStatus;

use crate::config::Config;

/// Options of `vidpress workers`.
#[derive(Debug, clap::Args)]
pub struct WorkersArgs {
    /// Print one JSON array instead of a table, for scripts.
    #[arg(long)]
    json: bool,
}

fn ago(ms: i64) -> String {
    let s = (ms / 1000).max(0);
    match s {
        0..60 => format!("{s}s ago"),
        60..3600 => format!("{}m ago", s / 60),
        3600..86_400 => format!("{}h ago", s / 3600),
        _ => format!("{}d ago", s / 86_400),
    }
}

fn jobs_cell(worker: &WorkerStatus) -> String {
    if worker.jobs.is_empty() {
        return "idle".into();
    }
    worker
        .jobs
        .iter()
        .map(|j| {
            let message = if j.progress_message.is_empty() {
                String::new()
            } else {
                format!(" {}", j.progress_message)
            };
            format!("#{} {} {}%{message}", j.id, j.kind, j.progress)
        })
        .collect::<Vec<_>>()
        .join("; ")
}

fn json(worker: &WorkerStatus) -> serde_json::Value {
    serde_json::json!({
        "name": worker.name,
        "host": worker.host,
        "pid": worker.pid,
        "version": worker.version,
        "device": worker.device,
        "kinds": worker.kinds,
        "concurrency": worker.concurrency,
        "state": worker.state.as_str(),
        "started_at": worker.started_at,
        "last_seen_at": worker.last_seen_at,
        "stopped_at": worker.stopped_at,
        "jobs": worker.jobs.iter().map(|j| serde_json::json!({
            "id": j.id.0,
            "kind": j.kind,
            "video_id": j.video_id,
            "progress": j.progress,
            "message": j.progress_message,
            "attempts": j.attempts,
        })).collect::<Vec<_>>(),
    })
}

/// Prints the registered workers.
pub async fn run(config: &Config, args: &WorkersArgs) -> anyhow::Result<()> {
    let store = super::serve::open_store(config).await?;
    let workers = store.workers().await?;
    store.close().await;
    if args.json {
        let all: Vec<serde_json::Value> = workers.iter().map(json).collect();
        println!("{}", serde_json::to_string_pretty(&all)?);
        return Ok(());
    }
    if workers.is_empty() {
        println!(
            "No worker has registered yet: start `vidpress serve` (with workers) or `vidpress worker`."
        );
        return Ok(());
    }
    let now = vidpress_store::now_ms();
    let rows: Vec<[String; 6]> = workers
        .iter()
        .map(|w| {
            [
                format!("{} (pid {}, v{})", w.name, w.pid, w.version),
                w.state.as_str().to_owned(),
                ago(now - w.last_seen_at),
                w.device.clone(),
                w.kinds.join(","),
                jobs_cell(w),
            ]
        })
        .collect();
    let header = ["WORKER", "STATE", "LAST SEEN", "DEVICE", "KINDS", "JOBS"];
    let mut widths = header.map(str::len);
    for row in &rows {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.chars().count());
        }
    }
    let line = |cells: [&str; 6]| {
        let mut out = String::new();
        for (i, (cell, width)) in cells.iter().zip(widths).enumerate() {
            if i == 5 {
                out.push_str(cell);
            } else {
                out.push_str(&format!("{cell:<width$}  "));
            }
        }
        out
    };
    println!("{}", line(header));
    for row in &rows {
        println!("{}", line(row.each_ref().map(String::as_str)));
    }
    Ok(())
}
