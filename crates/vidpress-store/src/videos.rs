//! Videos as the pipeline sees them: created by an entry point together with their first job,
//! moved from step to step, and their stored outputs (transcript, draft with revisions).

use sqlx::Row;
use sqlx::any::AnyRow;
use vidpress_core::JobKind;

use crate::queue::{self, NewJob};
use crate::{AnyConnection, JobId, Store, StoreError, UserId, now_ms};

/// A video's database id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct VideoKey(pub i64);

impl std::fmt::Display for VideoKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// Where a video is in the pipeline.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VideoState {
    New,
    Fetching,
    Transcribing,
    Drafting,
    Illustrating,
    /// The draft is ready to edit.
    Ready,
    /// A step failed for good; `error` says why.
    Failed,
    Cancelled,
}

impl VideoState {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            VideoState::New => "new",
            VideoState::Fetching => "fetching",
            VideoState::Transcribing => "transcribing",
            VideoState::Drafting => "drafting",
            VideoState::Illustrating => "illustrating",
            VideoState::Ready => "ready",
            VideoState::Failed => "failed",
            VideoState::Cancelled => "cancelled",
        }
    }

    fn parse(s: &str) -> Result<Self, StoreError> {
        Ok(match s {
            "new" => VideoState::New,
            "fetching" => VideoState::Fetching,
            "transcribing" => VideoState::Transcribing,
            "drafting" => VideoState::Drafting,
            "illustrating" => VideoState::Illustrating,
            "ready" => VideoState::Ready,
            "failed" => VideoState::Failed,
            "cancelled" => VideoState::Cancelled,
            other => {
                return Err(StoreError::Corrupt(format!(
                    "unknown video state `{other}`"
                )));
            }
        })
    }

    /// The state a video is in while a job of `kind` works on it.
    pub fn during(kind: JobKind) -> VideoState {
        match kind {
            JobKind::Fetch => VideoState::Fetching,
            JobKind::Transcribe => VideoState::Transcribing,
            JobKind::Draft => VideoState::Drafting,
            JobKind::Illustrate => VideoState::Illustrating,
            _ => VideoState::New,
        }
    }
}

/// A stored video.
#[derive(Debug, Clone)]
pub struct Video {
    pub id: VideoKey,
    pub user_id: UserId,
    pub channel_id: Option<i64>,
    /// The YouTube id, when the video came from YouTube.
    pub youtube_id: Option<String>,
    /// The URL it is fetched from, when it is fetched.
    pub source_url: Option<String>,
    /// The local media file its audio is decoded from, once known.
    pub media_path: Option<String>,
    pub title: String,
    pub state: VideoState,
    /// The last failure or retry message, for people.
    pub error: Option<String>,
    pub deleted_at: Option<i64>,
    pub created_at: i64,
}

/// How a new video enters the pipeline.
#[derive(Debug, Clone)]
pub enum MediaSource<'a> {
    /// Fetched from a URL with yt-dlp; the pipeline starts at the fetch step.
    Url(&'a str),
    /// A file already on this machine (an upload, or `vidpress convert FILE`); the pipeline
    /// starts at the transcription step.
    File(&'a str),
}

/// A stored transcript, as JSON in the `Transcript` format.
#[derive(Debug, Clone)]
pub struct StoredTranscript {
    pub language: Option<String>,
    pub model: String,
    pub body: String,
}

/// A draft as first written by the pipeline.
#[derive(Debug, Clone)]
pub struct NewDraft<'a> {
    pub title: &'a str,
    pub slug: &'a str,
    /// The structured draft, as JSON.
    pub body: &'a str,
    pub markdown: &'a str,
    pub html: &'a str,
}

/// A stored draft.
#[derive(Debug, Clone)]
pub struct StoredDraft {
    pub id: i64,
    pub video_id: VideoKey,
    pub title: String,
    pub slug: String,
    pub body: String,
    pub markdown: String,
    pub html: String,
    pub header_image: Option<String>,
    pub header_note: Option<String>,
    /// The header image style the user picked (`photo` unless changed).
    pub header_style: String,
    /// The seed of the header image last asked for.
    pub header_seed: i64,
    pub revisions: i64,
}

const VIDEO_COLUMNS: &str = "id, user_id, channel_id, youtube_id, source_url, media_path, title, \
     state, error, deleted_at, created_at";

fn video_from_row(row: &AnyRow) -> Result<Video, StoreError> {
    let state: String = row.try_get("state")?;
    Ok(Video {
        id: VideoKey(row.try_get("id")?),
        user_id: UserId(row.try_get("user_id")?),
        channel_id: row.try_get("channel_id")?,
        youtube_id: row.try_get("youtube_id")?,
        source_url: row.try_get("source_url")?,
        media_path: row.try_get("media_path")?,
        title: row.try_get("title")?,
        state: VideoState::parse(&state)?,
        error: row.try_get("error")?,
        deleted_at: row.try_get("deleted_at")?,
        created_at: row.try_get("created_at")?,
    })
}

/// The payload of every pipeline job: which video it works on.
pub fn step_payload(video: VideoKey) -> serde_json::Value {
    serde_json::json!({ "video_id": video.0 })
}

/// Whether an illustrate job's payload asks to make a ready draft's header image again
/// (rather than being the pipeline's last step).
pub fn is_regeneration(payload: &serde_json::Value) -> bool {
    payload["regenerate"].as_bool() == Some(true)
}

/// Enqueues a pipeline step for a video on the caller's transaction.
pub async fn enqueue_step(
    conn: &mut AnyConnection,
    kind: JobKind,
    video: VideoKey,
    max_attempts: u32,
) -> Result<JobId, StoreError> {
    let job = NewJob::new(kind, step_payload(video))
        .for_video(video.0)
        .max_attempts(max_attempts);
    queue::enqueue(conn, &job).await
}

/// Moves a video to `state` on the caller's transaction, clearing any earlier error.
pub async fn set_video_state(
    conn: &mut AnyConnection,
    video: VideoKey,
    state: VideoState,
) -> Result<(), StoreError> {
    sqlx::query("UPDATE videos SET state = $1, error = NULL, updated_at = $2 WHERE id = $3")
        .bind(state.as_str())
        .bind(now_ms())
        .bind(video.0)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// Records where a video's media file is, on the caller's transaction.
pub async fn set_media_path(
    conn: &mut AnyConnection,
    video: VideoKey,
    path: &str,
) -> Result<(), StoreError> {
    sqlx::query("UPDATE videos SET media_path = $1, updated_at = $2 WHERE id = $3")
        .bind(path)
        .bind(now_ms())
        .bind(video.0)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// Replaces a video's title, on the caller's transaction: the title the site gives a video that
/// was stored under a placeholder (the URL it was pasted as).
pub async fn set_title(
    conn: &mut AnyConnection,
    video: VideoKey,
    title: &str,
) -> Result<(), StoreError> {
    sqlx::query("UPDATE videos SET title = $1, updated_at = $2 WHERE id = $3")
        .bind(title)
        .bind(now_ms())
        .bind(video.0)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// Stores a video's transcript on the caller's transaction; a second store for the same video
/// keeps the first (steps are idempotent).
pub async fn save_transcript(
    conn: &mut AnyConnection,
    video: VideoKey,
    transcript: &StoredTranscript,
) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO transcripts (video_id, language, model, body, created_at) \
         VALUES ($1, $2, $3, $4, $5) ON CONFLICT (video_id) DO NOTHING",
    )
    .bind(video.0)
    .bind(transcript.language.as_deref())
    .bind(&transcript.model)
    .bind(&transcript.body)
    .bind(now_ms())
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Stores a video's first draft and its revision 1 on the caller's transaction; a video that
/// already has a draft keeps it.
pub async fn save_draft(
    conn: &mut AnyConnection,
    video: VideoKey,
    user: UserId,
    draft: &NewDraft<'_>,
) -> Result<(), StoreError> {
    let now = now_ms();
    let inserted = sqlx::query(
        "INSERT INTO drafts (video_id, user_id, title, slug, body, markdown, html, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8) ON CONFLICT (video_id) DO NOTHING RETURNING id",
    )
    .bind(video.0)
    .bind(user.0)
    .bind(draft.title)
    .bind(draft.slug)
    .bind(draft.body)
    .bind(draft.markdown)
    .bind(draft.html)
    .bind(now)
    .fetch_optional(&mut *conn)
    .await?;
    if let Some(row) = inserted {
        let id: i64 = row.try_get("id")?;
        sqlx::query(
            "INSERT INTO draft_revisions (draft_id, revision, author, markdown, created_at) \
             VALUES ($1, 1, 'vidpress', $2, $3)",
        )
        .bind(id)
        .bind(draft.markdown)
        .bind(now)
        .execute(&mut *conn)
        .await?;
    }
    Ok(())
}

/// Records the outcome of the header image step on the caller's transaction.
pub async fn set_header(
    conn: &mut AnyConnection,
    video: VideoKey,
    image: Option<&str>,
    note: &str,
) -> Result<(), StoreError> {
    sqlx::query("UPDATE drafts SET header_image = $1, header_note = $2, updated_at = $3 WHERE video_id = $4")
        .bind(image)
        .bind(note)
        .bind(now_ms())
        .bind(video.0)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

impl Store {
    /// Creates a video for `user` and enqueues its first step in one transaction: fetching for
    /// a URL, transcription for a local file.
    pub async fn create_video(
        &self,
        user: UserId,
        title: &str,
        source: MediaSource<'_>,
        max_attempts: u32,
    ) -> Result<(VideoKey, JobId), StoreError> {
        let now = now_ms();
        let (url, path, first) = match source {
            MediaSource::Url(url) => (Some(url), None, JobKind::Fetch),
            MediaSource::File(path) => (None, Some(path), JobKind::Transcribe),
        };
        let mut tx = self.begin().await?;
        let row = sqlx::query(
            "INSERT INTO videos (user_id, source_url, media_path, title, state, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $6) RETURNING id",
        )
        .bind(user.0)
        .bind(url)
        .bind(path)
        .bind(title)
        .bind(VideoState::during(first).as_str())
        .bind(now)
        .fetch_one(&mut *tx)
        .await?;
        let video = VideoKey(row.try_get("id")?);
        let job = enqueue_step(&mut tx, first, video, max_attempts).await?;
        tx.commit().await?;
        Ok((video, job))
    }

    /// Reads one video.
    pub async fn video(&self, id: VideoKey) -> Result<Video, StoreError> {
        let row = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {VIDEO_COLUMNS} FROM videos WHERE id = $1"
        )))
        .bind(id.0)
        .fetch_optional(self.pool())
        .await?
        .ok_or_else(|| StoreError::NotFound(format!("video {id}")))?;
        video_from_row(&row)
    }

    /// Records a failure or retry message a person can act on; `state` is the video's new state.
    pub async fn set_video_error(
        &self,
        id: VideoKey,
        state: VideoState,
        message: &str,
    ) -> Result<(), StoreError> {
        sqlx::query("UPDATE videos SET state = $1, error = $2, updated_at = $3 WHERE id = $4")
            .bind(state.as_str())
            .bind(message)
            .bind(now_ms())
            .bind(id.0)
            .execute(self.pool())
            .await?;
        Ok(())
    }

    /// Cancels a video: every queued or running job of it stops, and it is marked cancelled.
    /// Returns whether the video exists and was not finished already.
    pub async fn cancel_video(&self, id: VideoKey) -> Result<bool, StoreError> {
        let now = now_ms();
        let mut tx = self.begin().await?;
        let done = sqlx::query(
            "UPDATE videos SET state = 'cancelled', updated_at = $1 \
             WHERE id = $2 AND state NOT IN ('ready', 'failed', 'cancelled')",
        )
        .bind(now)
        .bind(id.0)
        .execute(&mut *tx)
        .await?;
        sqlx::query(
            "UPDATE jobs SET state = 'cancelled', lease_owner = NULL, lease_expires_at = NULL, \
             finished_at = $1, updated_at = $1 WHERE video_id = $2 AND state IN ('queued', 'running')",
        )
        .bind(now)
        .bind(id.0)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(done.rows_affected() == 1)
    }

    /// A video's transcript, once transcribed.
    pub async fn transcript(&self, id: VideoKey) -> Result<Option<StoredTranscript>, StoreError> {
        let row = sqlx::query("SELECT language, model, body FROM transcripts WHERE video_id = $1")
            .bind(id.0)
            .fetch_optional(self.pool())
            .await?;
        row.map(|row| {
            Ok(StoredTranscript {
                language: row.try_get("language")?,
                model: row.try_get("model")?,
                body: row.try_get("body")?,
            })
        })
        .transpose()
    }

    /// A video's draft, once drafted.
    pub async fn draft_for_video(&self, id: VideoKey) -> Result<Option<StoredDraft>, StoreError> {
        let row = sqlx::query(
            "SELECT d.id, d.video_id, d.title, d.slug, d.body, d.markdown, d.html, d.header_image, \
             d.header_note, d.header_style, d.header_seed, (SELECT COUNT(*) FROM draft_revisions r WHERE r.draft_id = d.id) AS revisions \
             FROM drafts d WHERE d.video_id = $1",
        )
        .bind(id.0)
        .fetch_optional(self.pool())
        .await?;
        row.map(|row| {
            Ok(StoredDraft {
                id: row.try_get("id")?,
                video_id: VideoKey(row.try_get("video_id")?),
                title: row.try_get("title")?,
                slug: row.try_get("slug")?,
                body: row.try_get("body")?,
                markdown: row.try_get("markdown")?,
                html: row.try_get("html")?,
                header_image: row.try_get("header_image")?,
                header_note: row.try_get("header_note")?,
                header_style: row.try_get("header_style")?,
                header_seed: row.try_get("header_seed")?,
                revisions: row.try_get("revisions")?,
            })
        })
        .transpose()
    }

    /// Asks for a new header image for one of `user`'s videos: records the style and seed on
    /// its draft and enqueues an illustrate job marked as a regeneration, in one transaction.
    /// `None` when the video is not the user's or has no draft yet.
    pub async fn request_header(
        &self,
        user: UserId,
        video: VideoKey,
        style: &str,
        seed: i64,
        max_attempts: u32,
    ) -> Result<Option<JobId>, StoreError> {
        let mut tx = self.begin().await?;
        let updated = sqlx::query(
            "UPDATE drafts SET header_style = $1, header_seed = $2 WHERE video_id = $3 AND user_id = $4",
        )
        .bind(style)
        .bind(seed)
        .bind(video.0)
        .bind(user.0)
        .execute(&mut *tx)
        .await?;
        if updated.rows_affected() == 0 {
            return Ok(None);
        }
        let payload = serde_json::json!({ "video_id": video.0, "regenerate": true });
        let job = NewJob::new(JobKind::Illustrate, payload)
            .for_video(video.0)
            .max_attempts(max_attempts);
        let id = queue::enqueue(&mut tx, &job).await?;
        tx.commit().await?;
        Ok(Some(id))
    }
}
