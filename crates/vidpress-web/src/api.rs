//! The JSON API: list videos, submit a video URL, upload a media file, follow a video's
//! progress, cancel it, fetch and remake its header image. A bearer token authenticates: a user's own token (made on the settings
//! page), or the configured `api_token`, which acts for the operator account (the admin's
//! bootstrap token).

use std::path::{Path, PathBuf};

use axum::Json;
use axum::Router;
use axum::extract::{DefaultBodyLimit, Multipart, Path as UrlPath, State};
use axum::http::{HeaderMap, StatusCode};
use axum::routing::{get, post};
use serde::{Deserialize, Serialize};
use subtle::ConstantTimeEq;
use tokio::io::AsyncWriteExt;
use vidpress_store::{MediaSource, UserId, VideoKey};

use crate::{AppError, AppState};

/// How the API is reached and what it may do. `Debug` leaves the token out.
#[derive(Clone)]
pub struct ApiConfig {
    /// The bearer token; `None` turns the API off.
    pub token: Option<String>,
    /// The user the token acts for.
    pub user: UserId,
    /// Where uploaded media files are written (the workers' scratch space).
    pub uploads_dir: PathBuf,
    /// The largest upload accepted, in bytes.
    pub max_upload_bytes: usize,
    /// Attempts each pipeline step gets.
    pub max_attempts: u32,
    /// Which addresses submitted video URLs may point at.
    pub addresses: vidpress_core::net::AddressPolicy,
}

impl std::fmt::Debug for ApiConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ApiConfig")
            .field("token", &self.token.as_ref().map(|_| "***"))
            .field("user", &self.user)
            .field("uploads_dir", &self.uploads_dir)
            .field("max_upload_bytes", &self.max_upload_bytes)
            .field("max_attempts", &self.max_attempts)
            .field("addresses", &self.addresses)
            .finish()
    }
}

/// Refuses a video URL whose host is, or resolves to, an address `policy` forbids (loopback,
/// private, link-local, cloud metadata), with a sentence saying why.
pub(crate) async fn check_url_address(
    url: &str,
    policy: vidpress_core::net::AddressPolicy,
) -> Result<(), String> {
    let parsed = url::Url::parse(url.trim()).map_err(|e| format!("`{url}` is not a URL: {e}"))?;
    let port = parsed.port_or_known_default().unwrap_or(443);
    let addresses: Vec<std::net::IpAddr> = match parsed.host() {
        Some(url::Host::Ipv4(ip)) => vec![ip.into()],
        Some(url::Host::Ipv6(ip)) => vec![ip.into()],
        Some(url::Host::Domain(name)) => tokio::net::lookup_host((name, port))
            .await
            .map_err(|e| format!("the host `{name}` cannot be found: {e}"))?
            .map(|a| a.ip())
            .collect(),
        None => return Err(format!("`{url}` has no host")),
    };
    policy
        .check_all(addresses)
        .map_err(|e| format!("`{url}` is refused: {e}"))
}

pub(crate) fn router(max_upload_bytes: usize) -> Router<AppState> {
    Router::new()
        .route("/api/videos", get(list_videos).post(submit_url))
        .route(
            "/api/uploads",
            post(upload).layer(DefaultBodyLimit::max(max_upload_bytes)),
        )
        .route("/api/videos/{id}", get(video_status))
        .route("/api/videos/{id}/cancel", post(cancel))
        .route(
            "/api/videos/{id}/image",
            get(header_image).post(regenerate_image),
        )
        .merge(crate::api_exports::router())
}

/// The user a request's bearer token acts for. As an extractor it runs before the body is
/// read or parsed, so a request without a valid token gets 401 whatever it carries.
#[derive(Debug, Clone, Copy)]
pub(crate) struct ApiUser(pub(crate) UserId);

impl axum::extract::FromRequestParts<AppState> for ApiUser {
    type Rejection = AppError;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        state: &AppState,
    ) -> Result<Self, AppError> {
        authenticate(state, &parts.headers).await.map(ApiUser)
    }
}

/// The longest title accepted, in bytes.
pub(crate) const MAX_TITLE_BYTES: usize = 1000;

/// The longest file name kept from an upload, in characters (the stored name adds a prefix,
/// and file systems allow 255 bytes).
const MAX_FILE_NAME_CHARS: usize = 100;

/// Reads a multipart text field of at most `max` bytes.
pub(crate) async fn read_text_field(
    field: &mut axum::extract::multipart::Field<'_>,
    name: &str,
    max: usize,
) -> Result<String, AppError> {
    let mut bytes = Vec::new();
    loop {
        match field.chunk().await {
            Ok(Some(chunk)) => {
                if bytes.len() + chunk.len() > max {
                    return Err(AppError::BadRequest(format!(
                        "the `{name}` field is longer than {max} bytes"
                    )));
                }
                bytes.extend_from_slice(&chunk);
            }
            Ok(None) => break,
            Err(e) if e.status() == StatusCode::PAYLOAD_TOO_LARGE => {
                return Err(AppError::PayloadTooLarge);
            }
            Err(e) => {
                return Err(AppError::BadRequest(format!(
                    "the upload is not valid multipart form data: {}",
                    e.body_text()
                )));
            }
        }
    }
    String::from_utf8(bytes)
        .map_err(|_| AppError::BadRequest(format!("the `{name}` field is not UTF-8 text")))
}

/// The user a bearer token acts for: the configured token (compared in constant time) acts
/// for the operator account; any other token is looked up by its hash among users' tokens.
pub(crate) async fn authenticate(
    state: &AppState,
    headers: &HeaderMap,
) -> Result<UserId, AppError> {
    let given = headers
        .get(axum::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .ok_or(AppError::Unauthorized)?;
    if let Some(expected) = state.api.token.as_deref()
        && bool::from(given.as_bytes().ct_eq(expected.as_bytes()))
    {
        return Ok(state.api.user);
    }
    state
        .store
        .user_for_api_token(&crate::views::hash_api_token(given))
        .await?
        .ok_or(AppError::Unauthorized)
}

#[derive(Debug, Deserialize)]
struct ListParams {
    #[serde(default)]
    state: Option<String>,
    #[serde(default)]
    channel: Option<i64>,
    #[serde(default)]
    page: Option<u32>,
    #[serde(default)]
    per_page: Option<u32>,
}

/// One video in the list.
#[derive(Debug, Serialize)]
struct VideoItem {
    id: i64,
    title: String,
    state: &'static str,
    error: Option<String>,
    channel_id: Option<i64>,
    youtube_id: Option<String>,
    source_url: Option<String>,
    created_at: i64,
    deleted_at: Option<i64>,
    /// The running (or last) step and its progress, 0–100.
    step: Option<&'static str>,
    progress: u8,
    draft_id: Option<i64>,
}

/// A page of videos.
#[derive(Debug, Serialize)]
struct VideoList {
    videos: Vec<VideoItem>,
    page: u32,
    per_page: u32,
    /// Whether `page + 1` has videos.
    more: bool,
}

/// `GET /api/videos?state=&channel=&page=&per_page=`: the caller's videos, newest first.
#[tracing::instrument(skip_all)]
async fn list_videos(
    ApiUser(user): ApiUser,
    State(state): State<AppState>,
    axum::extract::Query(params): axum::extract::Query<ListParams>,
) -> Result<Json<VideoList>, AppError> {
    let video_state = match params.state.as_deref().filter(|s| !s.is_empty()) {
        None => None,
        Some(name) => Some(vidpress_store::VideoState::from_name(name).ok_or_else(|| {
            AppError::BadRequest(format!(
                "unknown state `{name}`; use one of new, fetching, transcribing, drafting, \
                 illustrating, ready, failed, cancelled"
            ))
        })?),
    };
    let page = params.page.unwrap_or(0);
    let per_page = params.per_page.unwrap_or(50).clamp(1, 200);
    let filter = vidpress_store::library::VideoFilter {
        state: video_state,
        channel: params.channel,
    };
    let mut videos = state
        .store
        .list_videos(user, &filter, page, per_page)
        .await?;
    let more = videos.len() > per_page as usize;
    videos.truncate(per_page as usize);
    Ok(Json(VideoList {
        videos: videos
            .into_iter()
            .map(|v| VideoItem {
                id: v.id.0,
                title: v.title,
                // A video the channel deleted shows as deleted, whatever its last step did.
                state: if v.deleted_at.is_some() {
                    "deleted"
                } else {
                    v.state.as_str()
                },
                error: v.error,
                channel_id: v.channel_id,
                youtube_id: v.youtube_id,
                source_url: v.source_url,
                created_at: v.created_at,
                deleted_at: v.deleted_at,
                step: v.job_kind.map(|k| k.as_str()),
                progress: v.progress,
                draft_id: v.draft_id,
            })
            .collect(),
        page,
        per_page,
        more,
    }))
}

#[derive(Debug, Deserialize)]
struct SubmitUrl {
    url: String,
    title: Option<String>,
}

/// A video accepted into the pipeline.
#[derive(Debug, Serialize)]
struct Accepted {
    video_id: i64,
    job_id: i64,
}

#[tracing::instrument(skip_all, fields(url = %body.url))]
async fn submit_url(
    ApiUser(user): ApiUser,
    State(state): State<AppState>,
    Json(body): Json<SubmitUrl>,
) -> Result<(StatusCode, Json<Accepted>), AppError> {
    let url = body.url.trim();
    let parsed = url::Url::parse(url)
        .map_err(|e| AppError::BadRequest(format!("`{url}` is not a URL: {e}")))?;
    if !matches!(parsed.scheme(), "http" | "https") {
        return Err(AppError::BadRequest(format!(
            "`{url}` is not an http(s) link to a video"
        )));
    }
    check_url_address(url, state.api.addresses)
        .await
        .map_err(AppError::BadRequest)?;
    let title = body.title.as_deref().unwrap_or(url);
    let (video, job) = state
        .store
        .create_video(user, title, MediaSource::Url(url), state.api.max_attempts)
        .await?;
    state.wake_workers();
    Ok((
        StatusCode::ACCEPTED,
        Json(Accepted {
            video_id: video.0,
            job_id: job.0,
        }),
    ))
}

/// Keeps letters, digits, dots, dashes and underscores of an uploaded file's name.
pub(crate) fn safe_file_name(name: &str) -> String {
    let base = Path::new(name)
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let cleaned: String = base
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_') {
                c
            } else {
                '_'
            }
        })
        .collect();
    let cleaned = cleaned.trim_start_matches('.');
    let cleaned = shorten_keeping_extension(cleaned, MAX_FILE_NAME_CHARS);
    if cleaned.is_empty() {
        "upload".to_owned()
    } else {
        cleaned
    }
}

/// `name` cut to `max` characters (all ASCII here), keeping a short extension.
fn shorten_keeping_extension(name: &str, max: usize) -> String {
    if name.len() <= max {
        return name.to_owned();
    }
    match name.rsplit_once('.') {
        Some((stem, ext)) if !ext.is_empty() && ext.len() <= 10 && !stem.is_empty() => {
            format!(
                "{}.{ext}",
                &stem[..max.saturating_sub(ext.len() + 1).min(stem.len())]
            )
        }
        _ => name[..max].to_owned(),
    }
}

#[tracing::instrument(skip_all)]
async fn upload(
    ApiUser(user): ApiUser,
    State(state): State<AppState>,
    mut multipart: Multipart,
) -> Result<(StatusCode, Json<Accepted>), AppError> {
    let bad = |e: axum::extract::multipart::MultipartError| {
        if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
            AppError::PayloadTooLarge
        } else {
            AppError::BadRequest(format!(
                "the upload is not valid multipart form data: {}",
                e.body_text()
            ))
        }
    };
    let mut title = None;
    while let Some(mut field) = multipart.next_field().await.map_err(bad)? {
        match field.name() {
            Some("title") => {
                title = Some(read_text_field(&mut field, "title", MAX_TITLE_BYTES).await?)
            }
            Some("file") => {
                let name = safe_file_name(field.file_name().unwrap_or("upload"));
                tokio::fs::create_dir_all(&state.api.uploads_dir)
                    .await
                    .map_err(|e| {
                        AppError::Internal(format!("cannot create the uploads directory: {e}"))
                    })?;
                let path = state
                    .api
                    .uploads_dir
                    .join(format!("{}-{name}", uuid::Uuid::new_v4().simple()));
                let written = write_field(&mut field, &path).await;
                if let Err(e) = written {
                    let _ = tokio::fs::remove_file(&path).await;
                    return Err(e);
                }
                let title = title.clone().unwrap_or(name);
                let path_text = path.to_string_lossy().into_owned();
                let created = state
                    .store
                    .create_video(
                        user,
                        &title,
                        MediaSource::File(&path_text),
                        state.api.max_attempts,
                    )
                    .await;
                let (video, job) = match created {
                    Ok(ids) => ids,
                    Err(e) => {
                        let _ = tokio::fs::remove_file(&path).await;
                        return Err(e.into());
                    }
                };
                state.wake_workers();
                return Ok((
                    StatusCode::ACCEPTED,
                    Json(Accepted {
                        video_id: video.0,
                        job_id: job.0,
                    }),
                ));
            }
            _ => {}
        }
    }
    Err(AppError::BadRequest(
        "the upload has no `file` field".into(),
    ))
}

pub(crate) async fn write_field(
    field: &mut axum::extract::multipart::Field<'_>,
    path: &Path,
) -> Result<(), AppError> {
    let mut file = tokio::fs::File::create(path)
        .await
        .map_err(|e| AppError::Internal(format!("cannot store the upload: {e}")))?;
    let mut bytes = 0usize;
    loop {
        let chunk = match field.chunk().await {
            Ok(Some(chunk)) => chunk,
            Ok(None) => break,
            Err(e) if e.status() == StatusCode::PAYLOAD_TOO_LARGE => {
                return Err(AppError::PayloadTooLarge);
            }
            Err(e) => {
                return Err(AppError::BadRequest(format!(
                    "the upload was cut off: {}",
                    e.body_text()
                )));
            }
        };
        bytes += chunk.len();
        file.write_all(&chunk)
            .await
            .map_err(|e| AppError::Internal(format!("cannot store the upload: {e}")))?;
    }
    file.flush()
        .await
        .map_err(|e| AppError::Internal(format!("cannot store the upload: {e}")))?;
    if bytes == 0 {
        return Err(AppError::BadRequest("the uploaded file is empty".into()));
    }
    Ok(())
}

/// Cancels a video and removes its uploaded file, which no step will read any more (a running
/// step notices the cancel and removes its own scratch files). Returns whether it was cancelled.
pub(crate) async fn cancel_and_clean(state: &AppState, id: VideoKey) -> Result<bool, AppError> {
    if !state.store.cancel_video(id).await? {
        return Ok(false);
    }
    let video = state.store.video(id).await?;
    if let Some(path) = video.media_path.as_deref().map(Path::new)
        && path.starts_with(&state.api.uploads_dir)
    {
        match tokio::fs::remove_file(path).await {
            Ok(()) => tracing::info!(video = %id, "removed the cancelled upload"),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => {
                tracing::warn!(video = %id, error = %e, "could not remove the cancelled upload")
            }
        }
    }
    Ok(true)
}

/// A video and its jobs, for following progress.
#[derive(Debug, Serialize)]
struct VideoStatus {
    id: i64,
    title: String,
    state: &'static str,
    error: Option<String>,
    jobs: Vec<JobStatus>,
    draft: Option<DraftSummary>,
}

#[derive(Debug, Serialize)]
struct JobStatus {
    id: i64,
    kind: &'static str,
    state: &'static str,
    attempts: u32,
    progress: u8,
    message: String,
    error: Option<String>,
}

#[derive(Debug, Serialize)]
struct DraftSummary {
    title: String,
    slug: String,
    markdown: String,
    html: String,
    header_note: Option<String>,
    /// Where the 1200×630 header image is served (to its owner), when there is one.
    header_image_url: Option<String>,
    /// Where its square version is served.
    header_square_url: Option<String>,
    /// The header's style and the seed last asked for.
    header_style: String,
    header_seed: i64,
}

#[tracing::instrument(skip_all, fields(video = id))]
async fn video_status(
    ApiUser(user): ApiUser,
    State(state): State<AppState>,
    UrlPath(id): UrlPath<i64>,
) -> Result<Json<VideoStatus>, AppError> {
    let video = state.store.video(VideoKey(id)).await?;
    if video.user_id != user {
        return Err(AppError::NotFound);
    }
    let jobs = state.store.jobs_for_video(id).await?;
    let draft = state.store.draft_for_video(video.id).await?;
    Ok(Json(VideoStatus {
        id,
        title: video.title,
        state: if video.deleted_at.is_some() {
            "deleted"
        } else {
            video.state.as_str()
        },
        error: video.error,
        jobs: jobs
            .into_iter()
            .map(|j| JobStatus {
                id: j.id.0,
                kind: j.kind.as_str(),
                state: j.state.as_str(),
                attempts: j.attempts,
                progress: j.progress,
                message: j.progress_message,
                error: j.last_error,
            })
            .collect(),
        draft: draft.map(|d| DraftSummary {
            title: d.title,
            slug: d.slug,
            markdown: d.markdown,
            html: d.html,
            header_note: d.header_note,
            header_image_url: d
                .header_image
                .as_ref()
                .map(|_| format!("/api/videos/{id}/image")),
            header_square_url: d
                .header_image
                .as_ref()
                .map(|_| format!("/api/videos/{id}/image?size=square")),
            header_style: d.header_style,
            header_seed: d.header_seed,
        }),
    }))
}

#[tracing::instrument(skip_all, fields(video = id))]
async fn cancel(
    ApiUser(user): ApiUser,
    State(state): State<AppState>,
    UrlPath(id): UrlPath<i64>,
) -> Result<StatusCode, AppError> {
    let video = state.store.video(VideoKey(id)).await?;
    if video.user_id != user {
        return Err(AppError::NotFound);
    }
    if cancel_and_clean(&state, video.id).await? {
        Ok(StatusCode::ACCEPTED)
    } else {
        Err(AppError::BadRequest(format!(
            "video {id} is already {}",
            video.state.as_str()
        )))
    }
}

#[derive(Debug, Deserialize)]
struct ImageParams {
    #[serde(default)]
    size: Option<String>,
}

/// `GET /api/videos/{id}/image?size=square`: the draft's header image (or its square version).
#[tracing::instrument(skip_all, fields(video = id))]
async fn header_image(
    ApiUser(user): ApiUser,
    State(state): State<AppState>,
    UrlPath(id): UrlPath<i64>,
    axum::extract::Query(params): axum::extract::Query<ImageParams>,
) -> Result<axum::response::Response, AppError> {
    let size = crate::header_images::ImageSize::from_query(params.size.as_deref());
    crate::header_images::image_response(&state, user, VideoKey(id), size).await
}

#[derive(Debug, Default, Deserialize)]
struct RegenerateImage {
    #[serde(default)]
    style: Option<String>,
    #[serde(default)]
    seed: Option<i64>,
}

/// `POST /api/videos/{id}/image` with `{"style": …, "seed": …}` (both optional): makes the
/// header again; the previous one is served until the new one is ready.
#[tracing::instrument(skip_all, fields(video = id))]
async fn regenerate_image(
    ApiUser(user): ApiUser,
    State(state): State<AppState>,
    UrlPath(id): UrlPath<i64>,
    body: Option<Json<RegenerateImage>>,
) -> Result<(StatusCode, Json<crate::header_images::Regeneration>), AppError> {
    let body = body.map(|Json(b)| b).unwrap_or_default();
    let queued = crate::header_images::request_regeneration(
        &state,
        user,
        VideoKey(id),
        body.style.as_deref(),
        body.seed,
    )
    .await?;
    Ok((StatusCode::ACCEPTED, Json(queued)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_output_hides_the_token() {
        let config = ApiConfig {
            token: Some("tok-SECRET".into()),
            user: UserId(1),
            uploads_dir: PathBuf::from("/tmp"),
            max_upload_bytes: 1,
            max_attempts: 1,
            addresses: Default::default(),
        };
        let shown = format!("{config:?}");
        assert!(
            !shown.contains("SECRET") && shown.contains("***"),
            "{shown}"
        );
    }

    #[test]
    fn uploaded_names_are_made_safe() {
        assert_eq!(safe_file_name("talk.mp4"), "talk.mp4");
        assert_eq!(safe_file_name("../../etc/passwd"), "passwd");
        assert_eq!(safe_file_name("my talk (final).mkv"), "my_talk__final_.mkv");
        assert_eq!(safe_file_name(".hidden"), "hidden");
        assert_eq!(safe_file_name(""), "upload");
        let long = format!("{}.mp4", "a".repeat(5000));
        let short = safe_file_name(&long);
        assert_eq!(short.len(), MAX_FILE_NAME_CHARS);
        assert!(short.ends_with("aaa.mp4"), "{short}");
        assert_eq!(safe_file_name(&"b".repeat(300)).len(), MAX_FILE_NAME_CHARS);
    }
}
