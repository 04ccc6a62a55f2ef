//! The pipeline steps as job handlers: fetch → transcribe → draft → illustrate → ready.
//!
//! Each step reads its input from the store, does its work, and in one transaction stores its
//! output, moves the video on, enqueues the next step and completes its own job. A retry (or a
//! new worker after a crash) therefore resumes at the step that failed, and a step whose output
//! already exists only moves on. A step that fails for good marks the video failed with a message
//! a person can act on, and scratch files are removed when a video finishes, fails or is cancelled.

use std::future::Future;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{OnceCell, watch};
use tracing::{info, warn};
use vidpress_core::{JobKind, MediaUrl, Transcript, VideoId, VideoMeta, VideoSource};
use vidpress_draft::{Aids, DraftOptions, Embedder};
use vidpress_embed::MiniLm;
use vidpress_imagegen::diffusion::DeviceChoice;
use vidpress_media::{AudioError, DecodeOptions, FetchError, FetchOptions};
use vidpress_store::videos::{self, NewDraft, StoredTranscript};
use vidpress_store::{Video, VideoKey, VideoState, now_ms};
use vidpress_transcribe::Device;
use vidpress_transcribe::engine::{Engine, EngineError, StreamError, TranscribeOptions};
use vidpress_transcribe::models::ModelStore;

use crate::spelling::Dictionaries;
use crate::{JobContext, JobError, Registry};

/// What the pipeline needs to run.
#[derive(Debug, Clone)]
pub struct PipelineConfig {
    /// Scratch space; each video gets `video-<id>/` inside, removed when it is done.
    pub work_dir: PathBuf,
    /// The Whisper models directory.
    pub models_dir: PathBuf,
    /// YouTube's address (setting `youtube_base_url`): a YouTube video is downloaded from its
    /// watch page here, built from its validated id.
    pub youtube_base_url: String,
    /// Which installed model to use (`base`, `tiny.en`, `base:f16`, or a path).
    pub model: String,
    /// How yt-dlp runs, with its length, size, disk and site limits.
    pub fetch: FetchOptions,
    /// The longest media transcribed (setting `max_media_minutes`); longer media fails its
    /// job at once, whether the file says so or decoding finds out.
    pub max_media: Option<Duration>,
    pub transcribe: TranscribeOptions,
    /// Where Whisper runs, and where diffusion draws (overriding `diffusion.device`).
    pub device: Device,
    pub draft: DraftOptions,
    /// The sentence-embedding model's folder (`vidpress models install minilm`), loaded on the
    /// first draft; without it drafts are made from the words, pauses and cues alone.
    pub embedding_model: Option<PathBuf>,
    /// Where the Hunspell dictionaries are (`/usr/share/hunspell` on Debian); a transcript
    /// whose language has no dictionary there is not spell-checked.
    pub dictionaries_dir: Option<PathBuf>,
    /// Attempts each step gets.
    pub max_attempts: u32,
    /// Where header images are kept (`video-<id>/header-<job>.jpg` and its square version);
    /// unlike the scratch space, this stays with the draft.
    pub images_dir: PathBuf,
    /// The diffusion model's folder (`models/sd-turbo`); `None`: headers come from the video.
    pub diffusion_model: Option<PathBuf>,
    /// How pictures are drawn (steps, guidance, size, decoder).
    pub diffusion: vidpress_imagegen::diffusion::DiffusionOptions,
    /// How long the diffusion model stays in memory after its last picture.
    pub diffusion_idle: Duration,
}

/// Where the diffusion model draws for a `device` setting (the same choices as Whisper's).
pub fn diffusion_device(device: Device) -> DeviceChoice {
    match device {
        Device::Auto => DeviceChoice::Auto,
        Device::Cpu => DeviceChoice::Cpu,
        Device::Cuda => DeviceChoice::Cuda,
    }
}

/// The pipeline's handlers and the state they share (the loaded Whisper model, the
/// sentence-embedding model, the spelling dictionaries and the diffusion model), each loaded
/// once per process.
#[derive(Debug)]
pub struct Pipeline {
    config: PipelineConfig,
    engine: OnceCell<Arc<Engine>>,
    embedder: OnceCell<Option<Arc<MiniLm>>>,
    dictionaries: Dictionaries,
    /// Draws one picture at a time; loaded on the first and released after the idle time.
    diffusion: Arc<vidpress_imagegen::diffusion::DiffusionCache>,
}

impl Pipeline {
    /// A pipeline; the models are loaded on first use.
    pub fn new(config: PipelineConfig) -> Arc<Pipeline> {
        let dictionaries = Dictionaries::new(config.dictionaries_dir.clone());
        // Pictures are drawn where Whisper runs: one `device` setting for the worker.
        let mut options = config.diffusion.clone();
        options.device = diffusion_device(config.device);
        let diffusion = Arc::new(vidpress_imagegen::diffusion::DiffusionCache::new(
            config.diffusion_model.clone(),
            options,
            config.diffusion_idle,
        ));
        Arc::new(Pipeline {
            config,
            engine: OnceCell::new(),
            embedder: OnceCell::new(),
            dictionaries,
            diffusion,
        })
    }

    /// Whether the diffusion model is in memory now.
    pub fn diffusion_loaded(&self) -> bool {
        self.diffusion.is_loaded()
    }

    /// Releases the diffusion model once it has been idle for its time; runs until the pipeline
    /// is dropped. Started by [`Pipeline::register`] inside a Tokio runtime.
    fn watch_diffusion_idle(&self) {
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            return;
        };
        if self.config.diffusion_model.is_none() {
            return;
        }
        let cache = Arc::downgrade(&self.diffusion);
        let period = (self.config.diffusion_idle / 4)
            .clamp(Duration::from_millis(100), Duration::from_secs(30));
        runtime.spawn(async move {
            loop {
                tokio::time::sleep(period).await;
                let Some(cache) = cache.upgrade() else {
                    return;
                };
                cache.release_if_idle();
            }
        });
    }

    /// The sentence-embedding model, loaded on first use; `None` (with one warning) when it is
    /// not installed or does not load.
    async fn embedder(&self) -> Option<Arc<MiniLm>> {
        self.embedder
            .get_or_init(|| async {
                let dir = self.config.embedding_model.clone()?;
                let shown = dir.display().to_string();
                match tokio::task::spawn_blocking(move || MiniLm::load(&dir)).await {
                    Ok(Ok(model)) => {
                        info!(model = %shown, "sentence-embedding model loaded");
                        Some(Arc::new(model))
                    }
                    Ok(Err(e)) => {
                        warn!(error = %e, "sentence embeddings are off: drafts use the words alone");
                        None
                    }
                    Err(e) => {
                        warn!(error = %e, "loading the sentence-embedding model crashed; drafts use the words alone");
                        None
                    }
                }
            })
            .await
            .clone()
    }

    /// Registers the four steps (and, in a Tokio runtime, the diffusion model's idle release).
    pub fn register(self: &Arc<Self>, registry: &mut Registry) {
        self.watch_diffusion_idle();
        let steps: [(JobKind, StepFn); 4] = [
            (JobKind::Fetch, |p, c, v| Box::pin(p.fetch(c, v))),
            (JobKind::Transcribe, |p, c, v| Box::pin(p.transcribe(c, v))),
            (JobKind::Draft, |p, c, v| Box::pin(p.draft(c, v))),
            (JobKind::Illustrate, |p, c, v| Box::pin(p.illustrate(c, v))),
        ];
        for (kind, step) in steps {
            let pipeline = self.clone();
            registry.register(kind, move |ctx| pipeline.clone().run_step(ctx, step));
        }
    }

    /// The scratch directory of a video.
    pub fn scratch_dir(&self, video: VideoKey) -> PathBuf {
        self.config.work_dir.join(format!("video-{}", video.0))
    }

    async fn run_step(self: Arc<Self>, ctx: JobContext, step: StepFn) -> Result<(), JobError> {
        let id = ctx.job().payload["video_id"]
            .as_i64()
            .map(VideoKey)
            .ok_or_else(|| JobError::Permanent("the job does not name a video".into()))?;
        let video = ctx.store.video(id).await?;
        if matches!(video.state, VideoState::Cancelled | VideoState::Failed)
            || video.deleted_at.is_some()
        {
            info!(video = %id, state = video.state.as_str(), "video is no longer in the pipeline; skipping");
            // Nothing more will read its files.
            self.remove_scratch(&ctx.store, id).await;
            if video.deleted_at.is_some() && !video.state.is_finished() {
                ctx.store
                    .set_video_error(
                        id,
                        VideoState::Failed,
                        "the video was deleted on YouTube before it was processed",
                    )
                    .await?;
            }
            return Ok(());
        }
        let result = step(self.clone(), ctx.clone(), video).await;
        // A header made again for a ready draft is no pipeline step: its failure leaves the
        // video as it is.
        if let Err(error) = &result
            && !videos::is_regeneration(&ctx.job().payload)
        {
            self.after_failure(&ctx, id, error).await;
        }
        result
    }

    async fn after_failure(&self, ctx: &JobContext, id: VideoKey, error: &JobError) {
        let job = ctx.job();
        let final_failure = match error {
            JobError::Permanent(_) => true,
            JobError::Retryable(_) | JobError::RetryAt { .. } => job.attempts >= job.max_attempts,
            JobError::Stopped => false,
        };
        let recorded = if final_failure {
            self.remove_scratch(&ctx.store, id).await;
            ctx.store
                .set_video_error(id, VideoState::Failed, &error.to_string())
                .await
        } else if let JobError::Stopped = error {
            if ctx
                .store
                .video(id)
                .await
                .is_ok_and(|v| v.state == VideoState::Cancelled)
            {
                self.remove_scratch(&ctx.store, id).await;
            }
            Ok(())
        } else {
            let message = format!(
                "{error} (attempt {} of {}; it will be retried)",
                job.attempts, job.max_attempts
            );
            ctx.store
                .set_video_error(id, VideoState::during(job.kind), &message)
                .await
        };
        if let Err(e) = recorded {
            warn!(video = %id, error = %e, "could not record the failure on the video");
        }
    }

    /// Removes the video's files when it was cancelled (a lost lease also stops a step, and
    /// then another worker may be using them).
    async fn remove_scratch_if_cancelled(&self, ctx: &JobContext, id: VideoKey) {
        if ctx
            .store
            .video(id)
            .await
            .is_ok_and(|v| v.state == VideoState::Cancelled)
        {
            self.remove_scratch(&ctx.store, id).await;
        }
    }

    /// Removes the video's scratch directory, and its media file when that lies in the scratch
    /// space (an upload); a file the user pointed at is never touched.
    async fn remove_scratch(&self, store: &vidpress_store::Store, id: VideoKey) {
        if let Ok(Video {
            media_path: Some(path),
            ..
        }) = store.video(id).await
        {
            let path = PathBuf::from(path);
            if path.starts_with(&self.config.work_dir)
                && path.is_file()
                && let Err(e) = tokio::fs::remove_file(&path).await
            {
                warn!(file = %path.display(), error = %e, "could not remove the uploaded file");
            }
        }
        let dir = self.scratch_dir(id);
        match tokio::fs::remove_dir_all(&dir).await {
            Ok(()) => info!(dir = %dir.display(), "removed scratch files"),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => warn!(dir = %dir.display(), error = %e, "could not remove scratch files"),
        }
    }

    /// Commits a step's outcome: `store_output` writes on the transaction, then the video moves
    /// to `next`'s state, `next` is enqueued, and this job completes, all together.
    async fn advance<F>(
        &self,
        ctx: &JobContext,
        id: VideoKey,
        next: JobKind,
        store_output: F,
    ) -> Result<(), JobError>
    where
        F: for<'c> FnOnce(
            &'c mut vidpress_store::AnyConnection,
        ) -> std::pin::Pin<
            Box<dyn Future<Output = Result<(), vidpress_store::StoreError>> + Send + 'c>,
        >,
    {
        let mut tx = ctx.store.begin().await?;
        store_output(&mut tx).await?;
        videos::set_video_state(&mut tx, id, VideoState::during(next)).await?;
        videos::enqueue_step(&mut tx, next, id, self.config.max_attempts).await?;
        ctx.complete_in(&mut tx).await?;
        tx.commit()
            .await
            .map_err(vidpress_store::StoreError::from)?;
        Ok(())
    }

    async fn fetch(self: Arc<Self>, ctx: JobContext, video: Video) -> Result<(), JobError> {
        let (path, title) = match video
            .media_path
            .as_deref()
            .filter(|p| Path::new(p).is_file())
        {
            Some(path) => (PathBuf::from(path), None),
            None => {
                let url = download_url(&self.config.youtube_base_url, &video).ok_or_else(|| {
                    JobError::Permanent("the video has neither a URL nor a media file".into())
                })?;
                // A folder per attempt: a worker that lost its lease but runs on can never
                // share (or clean away) the files of the worker that took the job over.
                let job = ctx.job();
                let dir = self
                    .scratch_dir(video.id)
                    .join(format!("fetch-{}-{}", job.id, job.attempts));
                tokio::fs::create_dir_all(&dir).await.map_err(|e| {
                    JobError::Retryable(format!("cannot create {}: {e}", dir.display()))
                })?;
                let fetched = download(&ctx, "downloading", |report| {
                    vidpress_media::fetch_video(&url, &dir, "source", &self.config.fetch, report)
                })
                .await?
                .map_err(fetch_error)?;
                // The job's last word says what was fetched, not the last download's progress.
                let done = if self.wants_frames(&fetched.path).await {
                    self.fetch_frames(&ctx, &url, &dir).await?
                } else {
                    "downloaded".to_owned()
                };
                ctx.progress(100, &done).await?;
                (fetched.path, fetched.title)
            }
        };
        let path = path.to_string_lossy().into_owned();
        // The site's own title replaces the placeholder a pasted URL was stored under; a title
        // a person or the WebSub feed gave stays.
        let title = title.filter(|_| given_title(&video).is_none());
        self.advance(&ctx, video.id, JobKind::Transcribe, |tx| {
            Box::pin(async move {
                if let Some(title) = &title {
                    videos::set_title(tx, video.id, title).await?;
                }
                videos::set_media_path(tx, video.id, &path).await
            })
        })
        .await
    }

    /// Whether the header will want a keyframe that the download cannot give: the site gave
    /// no thumbnail, the download is sound only, and no diffusion model is installed.
    async fn wants_frames(&self, media: &Path) -> bool {
        if self.diffusion.dir().is_some() || vidpress_media::thumbnail_of(media).is_some() {
            return false;
        }
        let media = media.to_path_buf();
        tokio::task::spawn_blocking(move || !vidpress_media::has_video(&media))
            .await
            .unwrap_or(false)
    }

    /// Downloads a small copy of the video's pictures beside its sound, for the header's
    /// keyframe, and says how that went. Fails only when the job is stopped: without the
    /// pictures the header is a title card.
    async fn fetch_frames(
        &self,
        ctx: &JobContext,
        url: &str,
        dir: &Path,
    ) -> Result<String, JobError> {
        let fetched = download(ctx, "downloading pictures for the header", |report| {
            vidpress_media::fetch_frames(url, dir, "source", &self.config.fetch, report)
        })
        .await?;
        Ok(match fetched {
            Ok(path) => {
                info!(path = %path.display(), "pictures for the header image downloaded");
                "downloaded, with pictures for the header".to_owned()
            }
            Err(e) => {
                warn!(error = %e, "no pictures for the header image: it will be a title card");
                format!("downloaded; no pictures for the header, it will be a title card ({e})")
            }
        })
    }

    async fn engine(&self) -> Result<Arc<Engine>, JobError> {
        let engine = self
            .engine
            .get_or_try_init(|| async {
                let models = ModelStore::new(&self.config.models_dir);
                let path = models
                    .resolve(&self.config.model)
                    .map_err(|e| JobError::Retryable(e.to_string()))?;
                let device = self.config.device;
                let engine = tokio::task::spawn_blocking(move || Engine::load_on(&path, device))
                    .await
                    .map_err(|e| JobError::Retryable(format!("loading the model failed: {e}")))?
                    .map_err(|e| JobError::Retryable(e.to_string()))?;
                Ok::<_, JobError>(Arc::new(engine))
            })
            .await?;
        Ok(engine.clone())
    }

    async fn transcribe(self: Arc<Self>, ctx: JobContext, video: Video) -> Result<(), JobError> {
        if ctx.store.transcript(video.id).await?.is_none() {
            let media = video.media_path.clone().ok_or_else(|| {
                JobError::Permanent("the video has no media file to transcribe".into())
            })?;
            let (progress, reporter) = Progress::start(&ctx);
            let engine = self.engine().await?;
            let opts = self.config.transcribe.clone();
            let model = engine
                .path()
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            progress.report(0, "transcribing".into());
            // The decoder checks this flag between packets and whisper.cpp between its steps; a
            // cancelled job waits for the thread to return, so it holds its concurrency slot
            // until the CPU is free.
            let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
            let stop_work = stop.clone();
            let decode = DecodeOptions {
                max_duration: self.config.max_media,
                stop: None,
            };
            let runs_on = engine.runs_on().to_owned();
            let started = std::time::Instant::now();
            // The audio is decoded as Whisper goes, a window at a time (10 minutes by default),
            // so memory stays flat whatever the length of the video. The progress sender goes
            // with the work, so the reporter stops as soon as the work is done.
            let mut running = tokio::task::spawn_blocking(move || {
                let report = move |p: u8| {
                    let pct = (u32::from(p) * 98 / 100) as u8;
                    progress.report(pct, format!("transcribing {p}%"));
                };
                crate::audio::transcribe_file(
                    &engine,
                    Path::new(&media),
                    &decode,
                    &opts,
                    report,
                    stop_work,
                )
            });
            let streamed = tokio::select! {
                r = &mut running => r.map_err(|e| JobError::Retryable(format!("transcription crashed: {e}")))?,
                _ = ctx.cancelled() => {
                    stop.store(true, std::sync::atomic::Ordering::Relaxed);
                    // The files first: the pool stops waiting for a cancelled step after its
                    // grace period, and the decoder needs no file it has not opened already.
                    self.remove_scratch_if_cancelled(&ctx, video.id).await;
                    // Hold the slot until the decoder and whisper.cpp have let go of the CPU
                    // (or the pool's grace period for cancelled steps ends).
                    let _ = running.await;
                    return Err(JobError::Stopped);
                }
            }
            .map_err(transcribe_error)?;
            let audio_s = streamed.samples as f64 / f64::from(vidpress_transcribe::SAMPLE_RATE);
            info!(
                video = %video.id,
                minutes = format!("{:.1}", audio_s / 60.0),
                windows = streamed.windows.len(),
                "transcribed"
            );
            let transcript = streamed.transcript;
            // Seconds of audio per second of work: how much faster than real time this device is.
            let wall_s = started.elapsed().as_secs_f64();
            if wall_s > 0.0 {
                metrics::histogram!("vidpress_transcribe_realtime_factor", "device" => runs_on)
                    .record(audio_s / wall_s);
            }
            reporter.finish().await;
            let stored = StoredTranscript {
                language: transcript.language().map(str::to_owned),
                model,
                body: serde_json::to_string(&transcript)
                    .map_err(|e| JobError::Permanent(e.to_string()))?,
            };
            return self
                .advance(&ctx, video.id, JobKind::Draft, |tx| {
                    Box::pin(async move { videos::save_transcript(tx, video.id, &stored).await })
                })
                .await;
        }
        self.advance(&ctx, video.id, JobKind::Draft, |_| {
            Box::pin(async { Ok(()) })
        })
        .await
    }

    async fn draft(self: Arc<Self>, ctx: JobContext, video: Video) -> Result<(), JobError> {
        if ctx.store.draft_for_video(video.id).await?.is_none() {
            let stored = ctx.store.transcript(video.id).await?.ok_or_else(|| {
                JobError::Permanent("the video has no transcript to draft from".into())
            })?;
            let transcript: Transcript = serde_json::from_str(&stored.body).map_err(|e| {
                JobError::Permanent(format!("the stored transcript is unreadable: {e}"))
            })?;
            let source = video_source(&video);
            let given = given_title(&video);
            let media = video.media_path.clone();
            let options = self.config.draft.clone();
            let embedder = self.embedder().await;
            let dictionaries = self.dictionaries.clone();
            let draft = tokio::task::spawn_blocking(move || {
                // A placeholder title gives way to the one the file carries; with neither, the
                // draft makes one from its topics.
                let media = media.as_deref().map(Path::new);
                let title = given
                    .or_else(|| media.and_then(vidpress_media::media_title))
                    .unwrap_or_default();
                // The sections follow the chapters the site listed or the file declares.
                let chapters = media
                    .map(vidpress_media::video_chapters)
                    .unwrap_or_default();
                let meta = VideoMeta {
                    title,
                    source,
                    chapters,
                };
                let dictionary = dictionaries.for_language(transcript.language());
                let aids = Aids {
                    embedder: embedder.as_deref().map(|e| e as &dyn Embedder),
                    dictionary: dictionary.as_deref(),
                };
                vidpress_draft::format_with(&transcript, &meta, &options, &aids)
            })
            .await
            .map_err(|e| JobError::Retryable(format!("formatting crashed: {e}")))?;
            let body =
                serde_json::to_string(&draft).map_err(|e| JobError::Permanent(e.to_string()))?;
            let user = video.user_id;
            return self
                .advance(&ctx, video.id, JobKind::Illustrate, |tx| {
                    Box::pin(async move {
                        let new = NewDraft {
                            title: &draft.title,
                            slug: draft.slug.as_str(),
                            body: &body,
                            markdown: &draft.markdown,
                            html: &draft.html,
                        };
                        videos::save_draft(tx, video.id, user, &new).await
                    })
                })
                .await;
        }
        self.advance(&ctx, video.id, JobKind::Illustrate, |_| {
            Box::pin(async { Ok(()) })
        })
        .await
    }

    async fn illustrate(self: Arc<Self>, ctx: JobContext, video: Video) -> Result<(), JobError> {
        let draft =
            ctx.store.draft_for_video(video.id).await?.ok_or_else(|| {
                JobError::Permanent("the video has no draft to illustrate".into())
            })?;
        if videos::is_regeneration(&ctx.job().payload) {
            return self.remake_header(&ctx, &video, &draft).await;
        }
        // The picture comes from the scratch files (the media, the thumbnail), so it is made
        // before they go. Making it can never fail the draft: the worst case is a title card,
        // and if even that cannot be written, a draft without an image and the reason.
        let existing = draft
            .header_image
            .as_deref()
            .filter(|p| Path::new(p).is_file());
        let (image, note) = match existing {
            // A retried step keeps the image an earlier attempt stored.
            Some(existing) => (
                Some(existing.to_owned()),
                draft.header_note.clone().unwrap_or_default(),
            ),
            None => self.make_header(&ctx, &video, &draft).await,
        };
        // A ready video has no scratch left: the files go before the state says "ready", so
        // whoever sees "ready" (the API, the dashboard, a test) never sees them. Should the commit
        // below fail, the retried step needs nothing from the scratch directory.
        self.remove_scratch(&ctx.store, video.id).await;
        let mut tx = ctx.store.begin().await?;
        videos::set_header(&mut tx, video.id, image.as_deref(), &note).await?;
        videos::set_video_state(&mut tx, video.id, VideoState::Ready).await?;
        ctx.complete_in(&mut tx).await?;
        tx.commit()
            .await
            .map_err(vidpress_store::StoreError::from)?;
        info!(video = %video.id, "draft ready");
        Ok(())
    }

    /// Makes the header and its square version from what the video left in the scratch space
    /// and answers the header's path (or none) with a note for the draft and the job's log.
    async fn make_header(
        &self,
        ctx: &JobContext,
        video: &Video,
        draft: &videos::StoredDraft,
    ) -> (Option<String>, String) {
        let media = video
            .media_path
            .as_deref()
            .map(PathBuf::from)
            .filter(|p| p.is_file());
        let thumbnail = media.as_deref().and_then(vidpress_media::thumbnail_of);
        // A download that is sound only may have its pictures beside it.
        let media = media
            .as_deref()
            .and_then(vidpress_media::frames_of)
            .or(media);
        let title = draft.title.clone();
        let tags = draft_tags(draft);
        let style = vidpress_imagegen::Style::parse(&draft.header_style).unwrap_or_default();
        let seed = draft.header_seed;
        let diffusion = self.diffusion.clone();
        self.write_header(ctx, video.id, move || {
            vidpress_imagegen::make_header(&vidpress_imagegen::HeaderRequest {
                title: &title,
                tags: &tags,
                media: media.as_deref(),
                thumbnail: thumbnail.as_deref(),
                style,
                seed,
                diffusion: Some(&diffusion),
            })
        })
        .await
    }

    /// A ready draft's header made again in the style (and with the seed) the user asked for;
    /// the previous image stays in place until the new one is stored.
    async fn remake_header(
        &self,
        ctx: &JobContext,
        video: &Video,
        draft: &videos::StoredDraft,
    ) -> Result<(), JobError> {
        let title = draft.title.clone();
        let tags = draft_tags(draft);
        let style = vidpress_imagegen::Style::parse(&draft.header_style).unwrap_or_default();
        let seed = draft.header_seed;
        let dir = self.images_dir(video.id);
        let diffusion = self.diffusion.clone();
        let (image, note) = self
            .write_header(ctx, video.id, move || {
                vidpress_imagegen::remake_header(
                    &dir,
                    &vidpress_imagegen::HeaderRequest {
                        title: &title,
                        tags: &tags,
                        media: None,
                        thumbnail: None,
                        style,
                        seed,
                        diffusion: Some(&diffusion),
                    },
                )
            })
            .await;
        let Some(image) = image else {
            // Nothing new was written: the draft keeps its image, and the job says why.
            return Err(JobError::Permanent(note));
        };
        let mut tx = ctx.store.begin().await?;
        videos::set_header(&mut tx, video.id, Some(&image), &note).await?;
        ctx.complete_in(&mut tx).await?;
        tx.commit()
            .await
            .map_err(vidpress_store::StoreError::from)?;
        vidpress_imagegen::remove_other_headers(&self.images_dir(video.id), Path::new(&image));
        info!(video = %video.id, "header image made again");
        Ok(())
    }

    /// Runs `make` on a blocking thread and saves its pictures under a name of this job's own.
    async fn write_header(
        &self,
        ctx: &JobContext,
        video: VideoKey,
        make: impl FnOnce() -> vidpress_imagegen::HeaderImages + Send + 'static,
    ) -> (Option<String>, String) {
        let dir = self.images_dir(video);
        let stem = format!("header-{}", ctx.job().id);
        let made = tokio::task::spawn_blocking(move || {
            let images = make();
            let saved = vidpress_imagegen::save(&images, &dir, &stem)?;
            Ok::<_, vidpress_imagegen::SaveError>((saved, images.describe()))
        })
        .await;
        match made {
            Ok(Ok((saved, note))) => {
                info!(video = %video, image = %saved.header.display(), "{note}");
                // The job's message says which path made the picture (and why diffusion was
                // skipped), for `vidpress workers` and the dashboard.
                let short: String = note.chars().take(500).collect();
                if let Err(e) = ctx.progress(100, &short).await {
                    warn!(video = %video, error = %e, "could not record the header note on the job");
                }
                (Some(saved.header.to_string_lossy().into_owned()), note)
            }
            Ok(Err(e)) => {
                warn!(video = %video, error = %e, "no header image was written");
                (None, format!("no header image was made: {e}"))
            }
            Err(e) => {
                warn!(video = %video, error = %e, "making the header image crashed");
                (
                    None,
                    format!("no header image was made: the image step crashed ({e})"),
                )
            }
        }
    }

    /// The folder holding a video's header images.
    pub fn images_dir(&self, video: VideoKey) -> PathBuf {
        self.config.images_dir.join(format!("video-{}", video.0))
    }
}

/// The draft's keyphrases (its tags), for the picture's prompt; none when the stored body is
/// unreadable.
fn draft_tags(draft: &videos::StoredDraft) -> Vec<String> {
    serde_json::from_str::<vidpress_core::Draft>(&draft.body)
        .map(|d| d.tags)
        .unwrap_or_default()
}

/// Removes scratch folders (`video-<id>`) whose video has finished, failed, been cancelled or
/// deleted, or no longer exists: what a crash or an abandoned job left behind. Run at start and
/// periodically; returns how many folders were removed.
pub async fn sweep_orphaned_scratch(store: &vidpress_store::Store, work_dir: &Path) -> usize {
    let Ok(mut entries) = tokio::fs::read_dir(work_dir).await else {
        return 0;
    };
    let mut removed = 0;
    while let Ok(Some(entry)) = entries.next_entry().await {
        let name = entry.file_name().to_string_lossy().into_owned();
        let Some(id) = name
            .strip_prefix("video-")
            .and_then(|id| id.parse::<i64>().ok())
        else {
            continue;
        };
        let orphaned = match store.video(VideoKey(id)).await {
            Ok(video) => {
                video.deleted_at.is_some()
                    || matches!(
                        video.state,
                        VideoState::Ready | VideoState::Failed | VideoState::Cancelled
                    )
            }
            Err(vidpress_store::StoreError::NotFound(_)) => true,
            Err(e) => {
                warn!(error = %e, "could not check a scratch folder's video");
                false
            }
        };
        if orphaned {
            match tokio::fs::remove_dir_all(entry.path()).await {
                Ok(()) => {
                    removed += 1;
                    info!(dir = %entry.path().display(), "removed orphaned scratch files");
                }
                Err(e) => {
                    warn!(dir = %entry.path().display(), error = %e, "could not remove orphaned scratch files")
                }
            }
        }
    }
    removed
}

type StepFn = fn(
    Arc<Pipeline>,
    JobContext,
    Video,
) -> std::pin::Pin<Box<dyn Future<Output = Result<(), JobError>> + Send>>;

/// The title a person or YouTube gave the video; `None` when it is only a placeholder the
/// video was stored under: the URL it was submitted as, or the name of its media file (an
/// upload's, whose stored copy carries a unique prefix, or the file given to `convert`).
fn given_title(video: &Video) -> Option<String> {
    let title = video.title.trim();
    if title.is_empty() || video.source_url.as_deref().map(str::trim) == Some(title) {
        return None;
    }
    if let Some(name) = video
        .media_path
        .as_deref()
        .and_then(|p| Path::new(p).file_name())
        .map(|n| n.to_string_lossy().into_owned())
    {
        let original = original_file_name(&name);
        let stem = Path::new(original)
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default();
        if title == name || title == original || title == stem {
            return None;
        }
    }
    Some(video.title.clone())
}

/// An upload's name as the person chose it: the stored copy is `<32 hex digits>-<name>`.
fn original_file_name(stored: &str) -> &str {
    match stored.split_once('-') {
        Some((prefix, rest))
            if prefix.len() == 32
                && prefix.bytes().all(|b| b.is_ascii_hexdigit())
                && !rest.is_empty() =>
        {
            rest
        }
        _ => stored,
    }
}

/// Where the media is downloaded from: a YouTube video's watch page built from its validated id
/// (a feed's `<link>` is never fetched, nor a stored address an older version took from one),
/// otherwise the URL the user submitted.
fn download_url(youtube_base_url: &str, video: &Video) -> Option<String> {
    match video
        .youtube_id
        .as_deref()
        .and_then(|id| VideoId::parse(id).ok())
    {
        Some(id) => Some(format!(
            "{}/watch?v={id}",
            youtube_base_url.trim_end_matches('/')
        )),
        None => video.source_url.clone(),
    }
}

/// Where the post links and embeds the video.
fn video_source(video: &Video) -> VideoSource {
    if let Some(id) = video
        .youtube_id
        .as_deref()
        .and_then(|id| VideoId::parse(id).ok())
    {
        return VideoSource::Youtube(id);
    }
    if let Some(url) = video
        .source_url
        .as_deref()
        .and_then(|u| MediaUrl::parse(u).ok())
    {
        return VideoSource::Link(url);
    }
    let name = video
        .media_path
        .as_deref()
        .and_then(|p| Path::new(p).file_name())
        .map(|n| original_file_name(&n.to_string_lossy()).to_owned())
        .unwrap_or_else(|| video.title.clone());
    VideoSource::File(name)
}

/// Turns a decoding failure into a job error; a length over the limit names the setting.
/// Turns a failed transcription into a job error: the file's problems are permanent, the
/// engine's are worth another attempt.
fn transcribe_error(e: StreamError<AudioError>) -> JobError {
    match e {
        StreamError::Source(e) => decode_error(e),
        StreamError::Engine(EngineError::Stopped) => JobError::Stopped,
        StreamError::Engine(EngineError::NoAudio) => {
            JobError::Permanent("the file's audio track is empty".into())
        }
        StreamError::Engine(e) => JobError::Retryable(e.to_string()),
    }
}

fn decode_error(e: AudioError) -> JobError {
    match e {
        AudioError::TooLong { .. } => {
            JobError::Permanent(format!("{e} (setting `max_media_minutes`)"))
        }
        AudioError::Stopped { .. } => JobError::Stopped,
        other => JobError::Permanent(other.to_string()),
    }
}

/// Runs one of the fetch step's downloads with its percentage on the job (`{what} N%`); the
/// job's cancellation stops it.
async fn download<T, F: Future<Output = T>>(
    ctx: &JobContext,
    what: &str,
    run: impl FnOnce(Box<dyn FnMut(vidpress_media::FetchProgress) + Send>) -> F,
) -> Result<T, JobError> {
    let (progress, reporter) = Progress::start(ctx);
    let what = what.to_owned();
    let report = Box::new(move |p: vidpress_media::FetchProgress| {
        let pct = p.percent.unwrap_or(0.0).clamp(0.0, 100.0) as u8;
        progress.report(pct, format!("{what} {pct}%"));
    });
    let result = tokio::select! {
        r = run(report) => r,
        _ = ctx.cancelled() => return Err(JobError::Stopped),
    };
    reporter.finish().await;
    Ok(result)
}

/// Turns a fetch failure into a job error with a message a person can act on.
fn fetch_error(e: FetchError) -> JobError {
    let hint = match &e {
        FetchError::TooLong { .. } => " (setting `max_media_minutes`)",
        FetchError::TooLarge { .. } => " (setting `max_download_mb`)",
        FetchError::LowDisk { .. } | FetchError::DiskFull { .. } => " (setting `min_free_disk_mb`)",
        FetchError::Unsupported { .. } => {
            " (only YouTube links are fetched unless the setting `video_extractors` allows others)"
        }
        _ => "",
    };
    let message = format!("{e}{hint}");
    match e.retry_after() {
        Some(wait) if e.is_retryable() => {
            let at_ms = now_ms() + i64::try_from(wait.as_millis()).unwrap_or(i64::MAX / 2);
            JobError::RetryAt {
                message: format!("{message}; retrying at {}", clock_time(at_ms)),
                at_ms,
            }
        }
        _ if e.is_retryable() => JobError::Retryable(message),
        _ => JobError::Permanent(message),
    }
}

/// `18:00 UTC` for an epoch-milliseconds time.
fn clock_time(at_ms: i64) -> String {
    let secs_of_day = (at_ms / 1000).rem_euclid(86_400);
    format!(
        "{:02}:{:02} UTC",
        secs_of_day / 3600,
        secs_of_day % 3600 / 60
    )
}

/// Progress from synchronous callbacks (yt-dlp's output, whisper.cpp's thread), written to the
/// job at most twice a second so the database is not flooded.
#[derive(Clone)]
struct Progress(watch::Sender<(u8, String)>);

struct Reporter(tokio::task::JoinHandle<()>, Progress);

impl Progress {
    fn start(ctx: &JobContext) -> (Progress, Reporter) {
        let (tx, mut rx) = watch::channel((0u8, String::new()));
        let ctx = ctx.clone();
        let task = tokio::spawn(async move {
            while rx.changed().await.is_ok() {
                let (pct, message) = rx.borrow_and_update().clone();
                if let Err(e) = ctx.progress(pct, &message).await {
                    warn!(error = %e, "could not record progress");
                }
                tokio::time::sleep(Duration::from_millis(500)).await;
            }
        });
        let progress = Progress(tx);
        (progress.clone(), Reporter(task, progress))
    }

    fn report(&self, percent: u8, message: String) {
        self.0.send_if_modified(|current| {
            let changed = current.0 != percent;
            if changed {
                *current = (percent, message);
            }
            changed
        });
    }
}

impl Reporter {
    /// Stops reporting once the last value has been written.
    async fn finish(self) {
        let Reporter(task, progress) = self;
        drop(progress);
        let _ = tokio::time::timeout(Duration::from_secs(2), task).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn upload_names_lose_their_unique_prefix_only() {
        assert_eq!(
            original_file_name("0123456789abcdef0123456789abcdef-holiday.mp4"),
            "holiday.mp4"
        );
        assert_eq!(original_file_name("my-holiday.mp4"), "my-holiday.mp4");
        assert_eq!(
            original_file_name("0123456789abcdef0123456789abcdeg-x.mp4"),
            "0123456789abcdef0123456789abcdeg-x.mp4"
        );
    }

    #[test]
    fn retry_times_read_as_clock_times() {
        assert_eq!(clock_time(18 * 3_600_000), "18:00 UTC");
        assert_eq!(
            clock_time(86_400_000 + 9 * 3_600_000 + 5 * 60_000),
            "09:05 UTC"
        );
    }
}
