//! A user's videos and channels as the dashboard and the JSON API list them. Every function
//! here takes the owner and filters by it, so another user's id finds nothing.

use sqlx::Row;
use sqlx::any::AnyRow;
use vidpress_core::JobKind;

use crate::channels::Channel;
use crate::videos::{enqueue_step, set_video_state};
use crate::{Store, StoreError, UserId, Video, VideoKey, VideoState};

impl VideoState {
    /// Every state, in pipeline order.
    pub const ALL: [VideoState; 8] = [
        VideoState::New,
        VideoState::Fetching,
        VideoState::Transcribing,
        VideoState::Drafting,
        VideoState::Illustrating,
        VideoState::Ready,
        VideoState::Failed,
        VideoState::Cancelled,
    ];

    /// The state with this stored name.
    pub fn from_name(name: &str) -> Option<VideoState> {
        VideoState::ALL.into_iter().find(|s| s.as_str() == name)
    }

    /// Whether the pipeline is done with the video (nothing more will change by itself).
    pub fn is_finished(self) -> bool {
        matches!(
            self,
            VideoState::Ready | VideoState::Failed | VideoState::Cancelled
        )
    }
}

/// Which of a user's videos to list.
#[derive(Debug, Clone, Copy, Default)]
pub struct VideoFilter {
    pub state: Option<VideoState>,
    pub channel: Option<i64>,
}

/// One video in a listing, with its latest job's progress.
#[derive(Debug, Clone)]
pub struct VideoSummary {
    pub id: VideoKey,
    pub title: String,
    pub state: VideoState,
    /// The message of a failed (or retrying) step.
    pub error: Option<String>,
    pub channel_id: Option<i64>,
    pub channel_title: Option<String>,
    pub youtube_id: Option<String>,
    pub source_url: Option<String>,
    pub created_at: i64,
    pub deleted_at: Option<i64>,
    /// The kind of the video's latest job.
    pub job_kind: Option<JobKind>,
    /// The latest job's progress, 0–100.
    pub progress: u8,
    pub progress_message: String,
    pub draft_id: Option<i64>,
    /// The draft's title, once there is a draft: what the video is called from then on (the
    /// video's own title may be a placeholder, such as an upload's file name).
    pub draft_title: Option<String>,
}

/// The listing query around `selection`, a `SELECT * FROM videos v WHERE …` that picks and
/// orders the videos (with its own `LIMIT`). The latest job is found per listed video only:
/// joining `jobs` on a correlated `MAX(id)` made PostgreSQL compare every video with every job
/// (70 s for a page of a user's 10,000 videos).
fn summary_sql(selection: &str) -> String {
    format!(
        "SELECT v.id, v.title, v.state, v.error, v.channel_id, c.title AS channel_title, \
         v.youtube_id, v.source_url, v.created_at, v.deleted_at, j.kind AS job_kind, j.progress, \
         j.progress_message, d.id AS draft_id, d.title AS draft_title \
         FROM (SELECT s.*, (SELECT MAX(id) FROM jobs WHERE jobs.video_id = s.id) AS last_job_id \
               FROM ({selection}) s) v \
         LEFT JOIN channels c ON c.id = v.channel_id \
         LEFT JOIN drafts d ON d.video_id = v.id \
         LEFT JOIN jobs j ON j.id = v.last_job_id \
         ORDER BY v.id DESC"
    )
}

/// One row of [`summary_sql`], as read from the database or from the JSON array SQLite
/// answers a list page with (the same columns in the same order).
#[derive(Debug, serde::Deserialize, sqlx::FromRow)]
struct SummaryRow {
    id: i64,
    title: String,
    state: String,
    error: Option<String>,
    channel_id: Option<i64>,
    channel_title: Option<String>,
    youtube_id: Option<String>,
    source_url: Option<String>,
    created_at: i64,
    deleted_at: Option<i64>,
    job_kind: Option<String>,
    progress: Option<i64>,
    progress_message: Option<String>,
    draft_id: Option<i64>,
    draft_title: Option<String>,
}

/// [`summary_sql`]'s columns, in [`SummaryRow`]'s order.
const SUMMARY_COLUMNS: &str = "id, title, state, error, channel_id, channel_title, youtube_id, \
     source_url, created_at, deleted_at, job_kind, progress, progress_message, draft_id, draft_title";

impl SummaryRow {
    fn into_summary(self) -> Result<VideoSummary, StoreError> {
        let state = self.state;
        Ok(VideoSummary {
            id: VideoKey(self.id),
            title: self.title,
            state: VideoState::from_name(&state)
                .ok_or_else(|| StoreError::Corrupt(format!("unknown video state `{state}`")))?,
            error: self.error,
            channel_id: self.channel_id,
            channel_title: self.channel_title,
            youtube_id: self.youtube_id,
            source_url: self.source_url,
            created_at: self.created_at,
            deleted_at: self.deleted_at,
            job_kind: self
                .job_kind
                .as_deref()
                .and_then(|k| JobKind::parse(k).ok()),
            progress: u8::try_from(self.progress.unwrap_or(0).clamp(0, 100)).unwrap_or(0),
            progress_message: self.progress_message.unwrap_or_default(),
            draft_id: self.draft_id,
            draft_title: self.draft_title,
        })
    }
}

fn summary_from_row(row: &AnyRow) -> Result<VideoSummary, StoreError> {
    <SummaryRow as sqlx::FromRow<AnyRow>>::from_row(row)?.into_summary()
}

/// A channel with what its page shows.
#[derive(Debug, Clone)]
pub struct ChannelDetail {
    pub channel: Channel,
    /// When the channel's feed was last read (the backstop poll), epoch milliseconds.
    pub last_poll_at: Option<i64>,
    pub video_count: i64,
}

impl Store {
    /// A user's videos, newest first, `per_page` at a time (`page` counts from 0). Returns one
    /// more than `per_page` when a further page exists.
    pub async fn list_videos(
        &self,
        user: UserId,
        filter: &VideoFilter,
        page: u32,
        per_page: u32,
    ) -> Result<Vec<VideoSummary>, StoreError> {
        let mut sql = String::from("SELECT * FROM videos v WHERE v.user_id = $1");
        let mut n = 1;
        if filter.state.is_some() {
            n += 1;
            sql.push_str(&format!(" AND v.state = ${n}"));
        }
        if filter.channel.is_some() {
            n += 1;
            sql.push_str(&format!(" AND v.channel_id = ${n}"));
        }
        let (limit, offset) = (
            i64::from(per_page) + 1,
            i64::from(page) * i64::from(per_page),
        );
        // On SQLite the page's bounds are written into the statement as numbers: SQLite
        // compiles a statement again on every run whose LIMIT or OFFSET is a bound parameter
        // (its planner reads their values), which took a fifth of the list page's time; one
        // cached statement per page number viewed. PostgreSQL plans the bound form well and,
        // before it has statistics on a table just filled, the literal one badly.
        let postgres = self.backend() == crate::Backend::Postgres;
        if postgres {
            sql.push_str(&format!(
                " ORDER BY v.id DESC LIMIT ${} OFFSET ${}",
                n + 1,
                n + 2
            ));
        } else {
            sql.push_str(&format!(
                " ORDER BY v.id DESC LIMIT {limit} OFFSET {offset}"
            ));
        }
        let mut sql = summary_sql(&sql);
        if !postgres {
            // The SQLite driver runs each connection on a thread of its own and hands every row
            // across to the caller's task, a thread wake-up each; the page comes back as one row
            // instead, a JSON array of its rows. With 64 connections on 2 cores the list page
            // went from 3,382 to 5,507 pages/s and its p99 from 25.6 to 17.0 ms (README,
            // `vidpress bench dashboard`). PostgreSQL streams rows over one socket: no hand-off.
            sql = format!(
                "SELECT json_group_array(json_array({SUMMARY_COLUMNS})) AS page FROM ({sql})"
            );
        }
        // Only numbered placeholders and integers are interpolated; every other value is bound.
        let mut query = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(user.0);
        if let Some(state) = filter.state {
            query = query.bind(state.as_str());
        }
        if let Some(channel) = filter.channel {
            query = query.bind(channel);
        }
        let rows: Vec<SummaryRow> = if postgres {
            let rows = query
                .bind(limit)
                .bind(offset)
                .fetch_all(self.pool())
                .await?;
            rows.iter()
                .map(sqlx::FromRow::from_row)
                .collect::<Result<_, _>>()?
        } else {
            let page: String = query.fetch_one(self.pool()).await?.try_get("page")?;
            let mut rows: Vec<SummaryRow> = serde_json::from_str(&page)
                .map_err(|e| StoreError::Corrupt(format!("the video list's rows: {e}")))?;
            // An aggregate's order is not promised without an ORDER BY of its own.
            rows.sort_by_key(|r| std::cmp::Reverse(r.id));
            rows
        };
        rows.into_iter().map(SummaryRow::into_summary).collect()
    }

    /// Some of a user's videos by id (for live progress); ids of other users are left out.
    pub async fn video_summaries(
        &self,
        user: UserId,
        ids: &[i64],
    ) -> Result<Vec<VideoSummary>, StoreError> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let params: Vec<String> = (2..ids.len() + 2).map(|i| format!("${i}")).collect();
        let sql = summary_sql(&format!(
            "SELECT * FROM videos v WHERE v.user_id = $1 AND v.id IN ({})",
            params.join(", ")
        ));
        // Only numbered placeholders are interpolated; every value is bound.
        let mut query = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(user.0);
        for id in ids {
            query = query.bind(*id);
        }
        let rows = query.fetch_all(self.pool()).await?;
        rows.iter().map(summary_from_row).collect()
    }

    /// One of the user's videos; `None` when it does not exist or belongs to someone else.
    pub async fn video_for_user(
        &self,
        user: UserId,
        id: VideoKey,
    ) -> Result<Option<Video>, StoreError> {
        match self.video(id).await {
            Ok(video) if video.user_id == user => Ok(Some(video)),
            Ok(_) | Err(StoreError::NotFound(_)) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Puts a failed video back into the pipeline at the step that failed (at the download
    /// for a video with a URL whose transcription failed, since its scratch media is gone).
    /// Returns false when the user has no such failed video.
    pub async fn retry_video(
        &self,
        user: UserId,
        id: VideoKey,
        max_attempts: u32,
    ) -> Result<bool, StoreError> {
        let mut tx = self.begin().await?;
        let Some(row) = sqlx::query(
            "SELECT source_url FROM videos WHERE id = $1 AND user_id = $2 AND state = 'failed'",
        )
        .bind(id.0)
        .bind(user.0)
        .fetch_optional(&mut *tx)
        .await?
        else {
            return Ok(false);
        };
        let source_url: Option<String> = row.try_get("source_url")?;
        let last = sqlx::query(
            "SELECT kind FROM jobs WHERE video_id = $1 AND kind IN ('fetch', 'transcribe', 'draft', 'illustrate') \
             ORDER BY id DESC LIMIT 1",
        )
        .bind(id.0)
        .fetch_optional(&mut *tx)
        .await?;
        let kind = match last {
            Some(row) => {
                let kind: String = row.try_get("kind")?;
                JobKind::parse(&kind).map_err(|e| StoreError::Corrupt(e.to_string()))?
            }
            None => JobKind::Fetch,
        };
        let kind = match (kind, source_url) {
            (JobKind::Transcribe, Some(_)) | (JobKind::Fetch, _) => JobKind::Fetch,
            (kind, _) => kind,
        };
        set_video_state(&mut tx, id, VideoState::during(kind)).await?;
        enqueue_step(&mut tx, kind, id, max_attempts).await?;
        tx.commit().await?;
        Ok(true)
    }

    /// One of the user's channels with its last feed poll and video count.
    pub async fn channel_for_user(
        &self,
        user: UserId,
        id: i64,
    ) -> Result<Option<ChannelDetail>, StoreError> {
        let Some(channel) = self.channel(id).await?.filter(|c| c.user_id == user) else {
            return Ok(None);
        };
        let polls = self.last_polls(user).await?;
        let count =
            sqlx::query("SELECT COUNT(*) AS n FROM videos WHERE channel_id = $1 AND user_id = $2")
                .bind(id)
                .bind(user.0)
                .fetch_one(self.pool())
                .await?;
        Ok(Some(ChannelDetail {
            last_poll_at: polls.iter().find(|(c, _)| *c == id).map(|(_, at)| *at),
            channel,
            video_count: count.try_get("n")?,
        }))
    }

    /// When each of the user's channels' feeds was last read: (channel id, epoch ms).
    pub async fn last_polls(&self, user: UserId) -> Result<Vec<(i64, i64)>, StoreError> {
        let channels = sqlx::query("SELECT id FROM channels WHERE user_id = $1")
            .bind(user.0)
            .fetch_all(self.pool())
            .await?;
        let mut polls = Vec::new();
        for row in channels {
            let id: i64 = row.try_get("id")?;
            let payload = crate::channels::poll_payload(id).to_string();
            let last = sqlx::query(
                "SELECT MAX(finished_at) AS last_at FROM jobs WHERE kind = 'poll_feed' AND payload = $1 \
                 AND state = 'succeeded'",
            )
            .bind(payload)
            .fetch_one(self.pool())
            .await?;
            if let Some(at) = last.try_get::<Option<i64>, _>("last_at")? {
                polls.push((id, at));
            }
        }
        Ok(polls)
    }

    /// Unlinks one of the user's channels by its row id; false when the user has no such channel.
    pub async fn unlink_channel_by_id(&self, user: UserId, id: i64) -> Result<bool, StoreError> {
        match self.channel(id).await? {
            Some(channel) if channel.user_id == user => {
                self.unlink_channel(user, &channel.youtube_id).await
            }
            _ => Ok(false),
        }
    }
}
