//! Scratch files after the pipeline stops for a video: a step skipped because its video was
//! cancelled, failed or deleted on YouTube removes the video's scratch folder and its upload,
//! and the periodic sweep removes what a crash left behind, only for videos that are done.

use std::path::{Path, PathBuf};
use std::time::Duration;

use vidpress_store::testing::TestDb;
use vidpress_store::{JobState, MediaSource, Store, VideoKey, VideoState};
use vidpress_worker::pipeline::{Pipeline, PipelineConfig, sweep_orphaned_scratch};
use vidpress_worker::{PoolConfig, Registry, WorkerPool};

fn pipeline(work_dir: &Path) -> std::sync::Arc<Pipeline> {
    Pipeline::new(PipelineConfig {
        work_dir: work_dir.to_path_buf(),
        models_dir: work_dir.join("no-models"),
        youtube_base_url: "https://www.youtube.com/".into(),
        model: "base".into(),
        fetch: vidpress_media::FetchOptions::default(),
        max_media: None,
        transcribe: vidpress_transcribe::engine::TranscribeOptions::default(),
        device: vidpress_transcribe::Device::default(),
        draft: vidpress_draft::DraftOptions::default(),
        embedding_model: None,
        dictionaries_dir: None,
        max_attempts: 3,
        images_dir: work_dir.join("images"),
        diffusion_model: None,
        diffusion: Default::default(),
        diffusion_idle: Duration::from_secs(300),
    })
}

fn pool(store: &Store, work_dir: &Path) -> WorkerPool {
    let mut registry = Registry::new();
    pipeline(work_dir).register(&mut registry);
    WorkerPool::new(
        store.clone(),
        registry,
        PoolConfig {
            name: "scratch-test".into(),
            lease: Duration::from_secs(60),
            poll_interval: Duration::from_millis(50),
            ..PoolConfig::default()
        },
    )
}

/// An uploaded video with its transcription queued, its upload file and a scratch folder with a
/// file in it, as a step that ran before would leave them.
async fn uploaded_video(store: &Store, work_dir: &Path) -> (VideoKey, PathBuf, PathBuf) {
    let user = store.operator_user("owner@localhost").await.unwrap().id;
    let upload = work_dir.join("uploads/0123456789abcdef0123456789abcdef-talk.mp4");
    std::fs::create_dir_all(upload.parent().unwrap()).unwrap();
    std::fs::write(&upload, b"media").unwrap();
    let (video, _) = store
        .create_video(
            user,
            "A talk",
            MediaSource::File(upload.to_str().unwrap()),
            3,
        )
        .await
        .unwrap();
    let scratch = work_dir.join(format!("video-{}", video.0));
    std::fs::create_dir_all(scratch.join("fetch-1-1")).unwrap();
    std::fs::write(scratch.join("fetch-1-1/source.webm"), b"partial").unwrap();
    (video, upload, scratch)
}

async fn mark_deleted(store: &Store, video: VideoKey) {
    sqlx::query("UPDATE videos SET deleted_at = $1 WHERE id = $2")
        .bind(vidpress_store::now_ms())
        .bind(video.0)
        .execute(store.pool())
        .await
        .unwrap();
}

async fn a_skipped_step_leaves_no_scratch(db: &TestDb) {
    let store = &db.store;
    let work = tempfile::tempdir().unwrap();
    let mut cases = Vec::new();
    for how in ["cancelled", "failed", "deleted"] {
        let (video, upload, scratch) = uploaded_video(store, work.path()).await;
        // The video stops while its next step is still queued.
        match how {
            "cancelled" => store
                .set_video_error(video, VideoState::Cancelled, "cancelled by the user")
                .await
                .unwrap(),
            "failed" => store
                .set_video_error(video, VideoState::Failed, "the fetch failed")
                .await
                .unwrap(),
            _ => mark_deleted(store, video).await,
        }
        cases.push((how, video, upload, scratch));
    }
    let ran = pool(store, work.path()).run_until_idle().await;
    assert_eq!(ran, 3, "each queued step was claimed once");
    for (how, video, upload, scratch) in cases {
        assert!(!scratch.exists(), "{how}: scratch folder left behind");
        assert!(!upload.exists(), "{how}: upload left behind");
        let jobs = store.jobs_for_video(video.0).await.unwrap();
        assert_eq!(jobs.len(), 1, "{how}: no further step was enqueued");
        assert_eq!(
            jobs[0].state,
            JobState::Succeeded,
            "{how}: the step was skipped"
        );
        let stored = store.video(video).await.unwrap();
        let expected = match how {
            "cancelled" => VideoState::Cancelled,
            _ => VideoState::Failed,
        };
        assert_eq!(stored.state, expected, "{how}");
        if how == "deleted" {
            assert!(
                stored
                    .error
                    .as_deref()
                    .unwrap()
                    .contains("deleted on YouTube"),
                "{stored:?}"
            );
        }
    }
}

async fn the_sweep_removes_only_finished_videos_scratch(db: &TestDb) {
    let store = &db.store;
    let work = tempfile::tempdir().unwrap();
    let mut finished = Vec::new();
    for state in [VideoState::Ready, VideoState::Failed, VideoState::Cancelled] {
        let (video, _, scratch) = uploaded_video(store, work.path()).await;
        store.set_video_error(video, state, "").await.unwrap();
        finished.push(scratch);
    }
    let (deleted, _, scratch) = uploaded_video(store, work.path()).await;
    mark_deleted(store, deleted).await;
    finished.push(scratch);
    // A folder whose video no longer exists (ids are never reused).
    let gone = work.path().join("video-999999");
    std::fs::create_dir_all(&gone).unwrap();
    finished.push(gone);
    let (_, upload, in_progress) = uploaded_video(store, work.path()).await;
    let unrelated = work.path().join("notes");
    std::fs::create_dir_all(&unrelated).unwrap();

    assert_eq!(sweep_orphaned_scratch(store, work.path()).await, 5);
    for dir in &finished {
        assert!(!dir.exists(), "{} left behind", dir.display());
    }
    assert!(
        in_progress.exists(),
        "a video still in the pipeline keeps its files"
    );
    assert!(
        upload.exists() && unrelated.exists(),
        "other folders are not touched"
    );
    assert_eq!(sweep_orphaned_scratch(store, work.path()).await, 0);
}

macro_rules! both_backends {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(#[tokio::test]
            async fn $name() { super::$name(&super::TestDb::sqlite().await).await; })*
        }
        mod postgres {
            $(#[tokio::test]
            async fn $name() { super::$name(&super::TestDb::postgres().await).await; })*
        }
    };
}

both_backends!(
    a_skipped_step_leaves_no_scratch,
    the_sweep_removes_only_finished_videos_scratch
);
