//! The videos page: a user's videos newest first, paginated, filtered by state and channel, with
//! live progress (server-sent events; without JavaScript the state and a refresh link), retry
//! and cancel, a video URL to paste and a file to upload.

use std::collections::HashMap;
use std::convert::Infallible;
use std::time::Duration;

use askama::Template;
use axum::extract::{DefaultBodyLimit, Multipart, Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Redirect};
use axum::routing::{get, post};
use axum::{Form, Router};
use futures::Stream;
use serde::Deserialize;
use vidpress_store::library::{VideoFilter, VideoSummary};
use vidpress_store::{MediaSource, User, VideoKey, VideoState};

use super::{Layout, PageError, PageResult, flash, format_time, is_partial, render, render_with};
use crate::auth::CurrentUser;
use crate::{AppError, AppState};

/// Videos per page.
pub const PER_PAGE: u32 = 25;

pub(super) fn router(max_upload_bytes: usize) -> Router<AppState> {
    Router::new()
        .route("/videos", get(list).post(submit_url))
        .route(
            "/videos/upload",
            post(upload).layer(DefaultBodyLimit::max(max_upload_bytes)),
        )
        .route("/videos/live", get(live))
        .route("/videos/{id}/row", get(row))
        .route("/videos/{id}/retry", post(retry))
        .route("/videos/{id}/cancel", post(cancel))
}

/// The share of the whole pipeline done, 0–100, from the state and the running step's progress.
pub fn overall_progress(state: VideoState, step: u8) -> u8 {
    let step = u32::from(step.min(100));
    let (from, span) = match state {
        VideoState::New => (0, 0),
        VideoState::Fetching => (0, 20),
        VideoState::Transcribing => (20, 70),
        VideoState::Drafting => (90, 5),
        VideoState::Illustrating => (95, 5),
        VideoState::Ready => (100, 0),
        VideoState::Failed | VideoState::Cancelled => (0, 0),
    };
    u8::try_from(from + span * step / 100).unwrap_or(100)
}

/// The state in words, as a person reads it.
pub fn state_label(state: VideoState) -> &'static str {
    match state {
        VideoState::New => "Queued",
        VideoState::Fetching => "Downloading",
        VideoState::Transcribing => "Transcribing",
        VideoState::Drafting => "Writing the draft",
        VideoState::Illustrating => "Making the header image",
        VideoState::Ready => "Draft ready",
        VideoState::Failed => "Failed",
        VideoState::Cancelled => "Cancelled",
    }
}

/// One row of the list.
#[derive(Debug, Clone)]
pub struct VideoRow {
    pub id: i64,
    pub title: String,
    pub state: &'static str,
    pub label: &'static str,
    pub progress: u8,
    /// Still moving through the pipeline: the page follows it live.
    pub live: bool,
    pub error: Option<String>,
    pub channel: Option<(i64, String)>,
    pub added: String,
    pub draft_id: Option<i64>,
    pub can_retry: bool,
    pub deleted: bool,
}

/// How a video is named on every page: once there is a draft, by the draft's title (a person
/// may have edited it; the video's own may be a placeholder such as an upload's file name).
pub(crate) fn video_name(draft_title: Option<&str>, video_title: &str) -> String {
    match draft_title.filter(|t| !t.trim().is_empty()) {
        Some(title) => title.to_owned(),
        None if video_title.is_empty() => "(untitled)".into(),
        None => video_title.to_owned(),
    }
}

impl VideoRow {
    pub fn new(v: &VideoSummary, user: &User) -> VideoRow {
        VideoRow {
            id: v.id.0,
            title: video_name(v.draft_title.as_deref(), &v.title),
            state: v.state.as_str(),
            label: state_label(v.state),
            progress: overall_progress(v.state, v.progress),
            live: !v.state.is_finished(),
            error: v.error.clone(),
            channel: v
                .channel_id
                .map(|id| (id, v.channel_title.clone().unwrap_or_default())),
            added: format_time(v.created_at, user),
            draft_id: v.draft_id,
            can_retry: v.state == VideoState::Failed,
            deleted: v.deleted_at.is_some(),
        }
    }
}

/// One choice of a filter's menu.
struct FilterOption {
    value: String,
    label: String,
    selected: bool,
}

#[derive(Template)]
#[template(path = "videos.html")]
struct VideosPage {
    layout: Layout,
    rows: Vec<VideoRow>,
    states: Vec<FilterOption>,
    channels: Vec<FilterOption>,
    filtered: bool,
    page: u32,
    prev_url: Option<String>,
    next_url: Option<String>,
    live_ids: String,
    url: String,
    url_error: Option<String>,
    max_upload_mb: usize,
}

#[derive(Template)]
#[template(path = "video_row_partial.html")]
struct RowPartial {
    row: VideoRow,
    csrf: String,
}

#[derive(Debug, Default, Deserialize)]
pub(crate) struct ListQuery {
    #[serde(default)]
    pub state: String,
    #[serde(default)]
    pub channel: String,
    #[serde(default)]
    pub page: Option<u32>,
}

impl ListQuery {
    pub fn filter(&self) -> VideoFilter {
        VideoFilter {
            state: VideoState::from_name(&self.state),
            channel: self.channel.parse().ok(),
        }
    }

    fn url(&self, page: u32) -> String {
        let mut query = url::form_urlencoded::Serializer::new(String::new());
        if !self.state.is_empty() {
            query.append_pair("state", &self.state);
        }
        if !self.channel.is_empty() {
            query.append_pair("channel", &self.channel);
        }
        if page > 0 {
            query.append_pair("page", &page.to_string());
        }
        let query = query.finish();
        if query.is_empty() {
            "/videos".into()
        } else {
            format!("/videos?{query}")
        }
    }
}

async fn page(
    state: &AppState,
    current: &CurrentUser,
    query: &ListQuery,
    url: String,
    url_error: Option<String>,
) -> PageResult {
    let filter = query.filter();
    let page = query.page.unwrap_or(0);
    let mut videos = state
        .store
        .list_videos(current.user.id, &filter, page, PER_PAGE)
        .await?;
    let has_next = videos.len() > PER_PAGE as usize;
    videos.truncate(PER_PAGE as usize);
    let rows: Vec<VideoRow> = videos
        .iter()
        .map(|v| VideoRow::new(v, &current.user))
        .collect();
    let live_ids = rows
        .iter()
        .filter(|r| r.live)
        .map(|r| r.id.to_string())
        .collect::<Vec<_>>()
        .join(",");
    let channels = state
        .store
        .channel_titles(current.user.id)
        .await?
        .into_iter()
        .map(|(id, title, youtube_id)| FilterOption {
            value: id.to_string(),
            label: super::channels::channel_name(&title, &youtube_id),
            selected: filter.channel == Some(id),
        })
        .collect();
    let status = if url_error.is_some() {
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        StatusCode::OK
    };
    Ok(render_with(
        status,
        &VideosPage {
            layout: Layout::new(current, "Videos", "videos").await?,
            rows,
            states: VideoState::ALL
                .iter()
                .map(|s| FilterOption {
                    value: s.as_str().to_owned(),
                    label: state_label(*s).to_owned(),
                    selected: filter.state == Some(*s),
                })
                .collect(),
            channels,
            filtered: filter.state.is_some() || filter.channel.is_some(),
            page,
            prev_url: (page > 0).then(|| query.url(page - 1)),
            next_url: has_next.then(|| query.url(page + 1)),
            live_ids,
            url,
            url_error,
            max_upload_mb: state.api.max_upload_bytes / (1024 * 1024),
        },
    ))
}

#[tracing::instrument(skip_all)]
async fn list(
    State(state): State<AppState>,
    current: CurrentUser,
    Query(query): Query<ListQuery>,
) -> PageResult {
    page(&state, &current, &query, String::new(), None).await
}

#[derive(Debug, Deserialize)]
struct UrlForm {
    url: String,
}

/// Checks a pasted video URL: an absolute http(s) link.
pub fn check_video_url(url: &str) -> Result<&str, String> {
    let url = url.trim();
    if url.is_empty() {
        return Err("Paste the address of a video, like https://www.youtube.com/watch?v=….".into());
    }
    match url::Url::parse(url) {
        Ok(parsed) if matches!(parsed.scheme(), "http" | "https") && parsed.host().is_some() => {
            Ok(url)
        }
        Ok(_) => Err("Only http and https links to a video can be fetched.".into()),
        Err(_) => {
            Err("That is not a web address. Paste the whole link, starting with https://.".into())
        }
    }
}

#[tracing::instrument(skip_all)]
async fn submit_url(
    State(state): State<AppState>,
    current: CurrentUser,
    Form(form): Form<UrlForm>,
) -> PageResult {
    let checked = match check_video_url(&form.url) {
        Ok(url) => crate::api::check_url_address(url, state.api.addresses)
            .await
            .map(|()| url),
        Err(error) => Err(error),
    };
    let url = match checked {
        Ok(url) => url,
        Err(error) => {
            return page(
                &state,
                &current,
                &ListQuery::default(),
                form.url,
                Some(error),
            )
            .await;
        }
    };
    let (video, _) = state
        .store
        .create_video(
            current.user.id,
            url,
            MediaSource::Url(url),
            state.api.max_attempts,
        )
        .await?;
    state.wake_workers();
    flash(
        &current.session,
        "ok",
        format!("Video {} is queued; its progress shows below.", video.0),
    )
    .await;
    Ok(Redirect::to("/videos").into_response())
}

/// Stores an uploaded file and queues it. Scripts get 201 with the list's address; forms a
/// redirect to it.
#[tracing::instrument(skip_all)]
async fn upload(
    State(state): State<AppState>,
    current: CurrentUser,
    headers: HeaderMap,
    mut multipart: Multipart,
) -> PageResult {
    let bad = |e: axum::extract::multipart::MultipartError| {
        if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
            AppError::PayloadTooLarge
        } else {
            AppError::BadRequest(format!("The upload was cut off: {}", e.body_text()))
        }
    };
    let mut title = None;
    let mut created = None;
    while let Some(mut field) = multipart.next_field().await.map_err(bad)? {
        match field.name() {
            Some("title") => {
                title = Some(
                    crate::api::read_text_field(&mut field, "title", crate::api::MAX_TITLE_BYTES)
                        .await?,
                )
                .filter(|t| !t.trim().is_empty())
            }
            Some("file") => {
                let original = field.file_name().unwrap_or("").to_owned();
                if original.is_empty() {
                    break;
                }
                let name = crate::api::safe_file_name(&original);
                tokio::fs::create_dir_all(&state.api.uploads_dir)
                    .await
                    .map_err(|e| {
                        AppError::Internal(format!("cannot create the uploads directory: {e}"))
                    })?;
                let path = state
                    .api
                    .uploads_dir
                    .join(format!("{}-{name}", uuid::Uuid::new_v4().simple()));
                if let Err(e) = crate::api::write_field(&mut field, &path).await {
                    let _ = tokio::fs::remove_file(&path).await;
                    return Err(e.into());
                }
                let title = title.clone().unwrap_or(original);
                let path_text = path.to_string_lossy().into_owned();
                match state
                    .store
                    .create_video(
                        current.user.id,
                        &title,
                        MediaSource::File(&path_text),
                        state.api.max_attempts,
                    )
                    .await
                {
                    Ok((video, _)) => created = Some(video),
                    Err(e) => {
                        let _ = tokio::fs::remove_file(&path).await;
                        return Err(e.into());
                    }
                }
                break;
            }
            _ => {}
        }
    }
    let Some(video) = created else {
        flash(&current.session, "error", "Choose a media file to upload.").await;
        return Ok(Redirect::to("/videos").into_response());
    };
    state.wake_workers();
    flash(
        &current.session,
        "ok",
        format!("Uploaded; video {} is queued.", video.0),
    )
    .await;
    if headers.contains_key(crate::csrf::HEADER) {
        return Ok((StatusCode::CREATED, [("location", "/videos")], "/videos").into_response());
    }
    Ok(Redirect::to("/videos").into_response())
}

async fn owned_summary(
    state: &AppState,
    current: &CurrentUser,
    id: i64,
) -> Result<VideoSummary, PageError> {
    state
        .store
        .video_summaries(current.user.id, &[id])
        .await?
        .pop()
        .ok_or(PageError::from(AppError::NotFound))
}

/// One row, for the script that swaps it in place when a video's state changes.
async fn row(
    State(state): State<AppState>,
    current: CurrentUser,
    headers: HeaderMap,
    Path(id): Path<i64>,
) -> PageResult {
    if !is_partial(&headers) {
        return Ok(Redirect::to("/videos").into_response());
    }
    let summary = owned_summary(&state, &current, id).await?;
    Ok(render(&RowPartial {
        row: VideoRow::new(&summary, &current.user),
        csrf: crate::csrf::token(&current.session).await?,
    }))
}

async fn retry(
    State(state): State<AppState>,
    current: CurrentUser,
    Path(id): Path<i64>,
) -> PageResult {
    let summary = owned_summary(&state, &current, id).await?;
    if state
        .store
        .retry_video(current.user.id, summary.id, state.api.max_attempts)
        .await?
    {
        state.wake_workers();
        flash(
            &current.session,
            "ok",
            format!("“{}” is being tried again.", summary.title),
        )
        .await;
    } else {
        flash(
            &current.session,
            "error",
            format!(
                "“{}” has not failed, so there is nothing to retry.",
                summary.title
            ),
        )
        .await;
    }
    Ok(Redirect::to("/videos").into_response())
}

async fn cancel(
    State(state): State<AppState>,
    current: CurrentUser,
    Path(id): Path<i64>,
) -> PageResult {
    let summary = owned_summary(&state, &current, id).await?;
    if crate::api::cancel_and_clean(&state, VideoKey(summary.id.0)).await? {
        flash(
            &current.session,
            "ok",
            format!("“{}” is cancelled.", summary.title),
        )
        .await;
    } else {
        flash(
            &current.session,
            "error",
            format!("“{}” has already finished.", summary.title),
        )
        .await;
    }
    Ok(Redirect::to("/videos").into_response())
}

#[derive(Debug, Deserialize)]
struct LiveQuery {
    #[serde(default)]
    ids: String,
}

/// How often the live stream looks at the database.
const LIVE_INTERVAL: Duration = Duration::from_millis(500);
/// Most videos one stream follows (a page's worth, with room).
const LIVE_MAX: usize = 100;

/// Server-sent events: a `video` event (JSON: id, state, label, progress, message) whenever one
/// of the listed videos changes, until all of them are finished.
async fn live(
    State(state): State<AppState>,
    current: CurrentUser,
    Query(query): Query<LiveQuery>,
) -> Sse<impl Stream<Item = Result<Event, Infallible>>> {
    let ids: Vec<i64> = query
        .ids
        .split(',')
        .filter_map(|id| id.trim().parse().ok())
        .take(LIVE_MAX)
        .collect();
    let user = current.user.clone();
    let store = state.store.clone();
    let stopping = state.dashboard.stopping.clone();
    let stream = futures::stream::unfold(
        (ids, HashMap::<i64, (VideoState, u8, String)>::new(), false),
        move |(ids, mut seen, done)| {
            let store = store.clone();
            let user = user.clone();
            let stopping = stopping.clone();
            async move {
                if done || ids.is_empty() || stopping.is_cancelled() {
                    return None;
                }
                if !seen.is_empty() {
                    tokio::select! {
                        _ = tokio::time::sleep(LIVE_INTERVAL) => {}
                        _ = stopping.cancelled() => return None,
                    }
                }
                let summaries = match store.video_summaries(user.id, &ids).await {
                    Ok(s) => s,
                    Err(e) => {
                        tracing::warn!(error = %e, "live progress could not read the videos");
                        tokio::time::sleep(LIVE_INTERVAL).await;
                        return Some((Vec::new(), (ids, seen, false)));
                    }
                };
                let mut events = Vec::new();
                let mut all_finished = true;
                for v in &summaries {
                    all_finished &= v.state.is_finished();
                    let now = (v.state, v.progress, v.progress_message.clone());
                    if seen.get(&v.id.0) != Some(&now) {
                        let data = serde_json::json!({
                            "id": v.id.0,
                            "state": v.state.as_str(),
                            "label": state_label(v.state),
                            "progress": overall_progress(v.state, v.progress),
                            "message": v.progress_message,
                        });
                        events.push(Ok(Event::default().event("video").data(data.to_string())));
                        seen.insert(v.id.0, now);
                    }
                }
                if all_finished {
                    events.push(Ok(Event::default().event("done").data("{}")));
                }
                Some((events, (ids, seen, all_finished)))
            }
        },
    );
    use futures::StreamExt;
    Sse::new(stream.flat_map(futures::stream::iter)).keep_alive(KeepAlive::default())
}
