//! `vidpress convert FILE|URL --out DIR`: the whole pipeline on the command line, no server.
//! The video goes through the same jobs as a WebSub notification or an upload, on a throwaway
//! SQLite database, and the draft is written as `post.md`, `post.html` and `draft.json`.

use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use vidpress_store::testing::TestDb;
use vidpress_store::{MediaSource, VideoState};
use vidpress_worker::{PoolConfig, Registry, WorkerPool};

use crate::config::Config;

/// Arguments of `vidpress convert`.
#[derive(Debug, clap::Args)]
pub struct ConvertArgs {
    /// A media file, or the URL of a video to fetch with yt-dlp.
    pub input: String,
    /// Directory to write post.md, post.html and draft.json into (created when missing).
    #[arg(long, default_value = ".", value_name = "DIR")]
    pub out: PathBuf,
    /// Title of the video (default: the site's title for a URL, the file's title tag, or one
    /// made from the topics).
    #[arg(long)]
    pub title: Option<String>,
    /// Where Whisper runs: auto, cpu or cuda (default: the `device` setting, auto).
    #[arg(long, value_name = "auto|cpu|cuda")]
    pub device: Option<vidpress_transcribe::Device>,
}

/// Runs the pipeline on one video and writes its draft.
pub async fn run(config: &Config, args: &ConvertArgs) -> anyhow::Result<()> {
    let device = args.device.unwrap_or(config.device);
    device.check_supported()?;
    let source = if vidpress_media::is_url(&args.input) {
        args.input.clone()
    } else {
        let path = Path::new(&args.input);
        anyhow::ensure!(path.is_file(), "{} is not a file or a URL", path.display());
        path.canonicalize()?.to_string_lossy().into_owned()
    };
    // Without `--title` the video is stored under a placeholder (the URL, or the file's name),
    // which the site's own title, the file's title tag or the topics replace in the draft.
    let title = args.title.clone().unwrap_or_else(|| {
        if vidpress_media::is_url(&source) {
            return source.clone();
        }
        Path::new(&args.input)
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_else(|| args.input.clone())
    });

    let db = TestDb::sqlite().await;
    let work = tempfile::tempdir().context("Failed to create a scratch directory")?;
    let mut pipeline = super::serve::pipeline_config(config);
    pipeline.work_dir = work.path().to_owned();
    pipeline.device = device;
    let mut registry = Registry::new();
    vidpress_worker::Pipeline::new(pipeline).register(&mut registry);
    let pool = WorkerPool::new(db.store.clone(), registry, PoolConfig::default());

    let owner = db.store.ensure_user(&config.owner_email).await?;
    let media = if vidpress_media::is_url(&source) {
        MediaSource::Url(&source)
    } else {
        MediaSource::File(&source)
    };
    // One attempt per step: a person at the terminal sees the failure at once.
    let (video, _) = db.store.create_video(owner.id, &title, media, 1).await?;
    pool.run_until_idle().await;

    let stored = db.store.video(video).await?;
    if stored.state != VideoState::Ready {
        bail!(
            "converting {} failed: {}",
            args.input,
            stored.error.as_deref().unwrap_or("unknown error")
        );
    }
    let draft = db
        .store
        .draft_for_video(video)
        .await?
        .context("the pipeline finished without a draft")?;
    std::fs::create_dir_all(&args.out)
        .with_context(|| format!("Failed to create {}", args.out.display()))?;
    let body: serde_json::Value = serde_json::from_str(&draft.body)?;
    for (name, contents) in [
        ("post.md", draft.markdown.clone()),
        ("post.html", draft.html.clone()),
        ("draft.json", serde_json::to_string_pretty(&body)?),
    ] {
        let path = args.out.join(name);
        std::fs::write(&path, contents)
            .with_context(|| format!("Failed to write {}", path.display()))?;
        println!("wrote {}", path.display());
    }
    Ok(())
}
