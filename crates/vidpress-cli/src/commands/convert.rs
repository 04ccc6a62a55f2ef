//! `vidpress convert FILE|URL --out DIR`: the whole pipeline on the command line, no server.
//! The video goes through the same jobs as a WebSub notification or an upload, on a throwaway
//! SQLite database, and the draft is written as `post.md` (with front matter), `post.html`,
//! `draft.json`, and its header image as `header.jpg` (1200×630) and `header-square.jpg`.

use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use vidpress_store::scratch::ScratchDb;
use vidpress_store::{MediaSource, VideoState};
use vidpress_worker::{PoolConfig, Registry, WorkerPool};

use crate::config::Config;

/// Arguments of `vidpress convert`.
#[derive(Debug, clap::Args)]
pub struct ConvertArgs {
    /// A media file, or the URL of a video to fetch with yt-dlp.
    pub input: String,
    /// Directory to write post.md, post.html, draft.json and the header images into (created
    /// when missing).
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

    // A database for this one conversion; the configured one is not touched.
    let db = ScratchDb::sqlite()
        .await
        .context("Failed to create the conversion's database")?;
    let work = tempfile::tempdir().context("Failed to create a scratch directory")?;
    let mut pipeline = super::serve::pipeline_config(config);
    pipeline.work_dir = work.path().to_owned();
    pipeline.images_dir = work.path().join("images");
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
    let image = copy_header(draft.header_image.as_deref(), &args.out)?;
    if let Some(note) = &draft.header_note {
        println!("{note}");
    }
    let structured: vidpress_core::Draft =
        serde_json::from_str(&draft.body).context("the stored draft is unreadable")?;
    let date = super::export::rfc3339(vidpress_store::now_ms());
    let file_draft = vidpress_publish::files::FileDraft {
        title: &draft.title,
        slug: &draft.slug,
        description: &structured.description,
        tags: &structured.tags,
        date: &date,
        markdown: &draft.markdown,
        html: &draft.html,
        image: image.as_deref(),
    };
    for (name, contents) in [
        ("post.md", vidpress_publish::files::markdown(&file_draft)),
        ("post.html", vidpress_publish::files::html(&file_draft)),
        ("draft.json", serde_json::to_string_pretty(&body)?),
    ] {
        let path = args.out.join(name);
        std::fs::write(&path, contents)
            .with_context(|| format!("Failed to write {}", path.display()))?;
        println!("wrote {}", path.display());
    }
    Ok(())
}

/// Copies the header image and its square version beside the post as `header.jpg` and
/// `header-square.jpg`; answers the header's file name, for the post to reference.
fn copy_header(image: Option<&str>, out: &Path) -> anyhow::Result<Option<String>> {
    let Some(source) = image.map(Path::new).filter(|p| p.is_file()) else {
        return Ok(None);
    };
    let pairs = [
        (source.to_path_buf(), "header.jpg"),
        (vidpress_imagegen::square_path(source), "header-square.jpg"),
    ];
    for (from, name) in pairs {
        if !from.is_file() {
            continue;
        }
        let to = out.join(name);
        std::fs::copy(&from, &to)
            .with_context(|| format!("Failed to copy the header image {}", from.display()))?;
        println!("wrote {}", to.display());
    }
    Ok(Some("header.jpg".to_owned()))
}
