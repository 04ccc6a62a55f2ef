//! The JSON API that starts the pipeline: submit a video URL, upload a media file, follow a
//! video's progress, cancel it. Until accounts land it is guarded by one bearer token from the
//! configuration, which acts for one configured user.

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

/// How the API is reached and what it may do.
#[derive(Debug, Clone)]
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
}

pub(crate) fn router(max_upload_bytes: usize) -> Router<AppState> {
    Router::new()
        .route("/api/videos", post(submit_url))
        .route(
            "/api/uploads",
            post(upload).layer(DefaultBodyLimit::max(max_upload_bytes)),
        )
        .route("/api/videos/{id}", get(video_status))
        .route("/api/videos/{id}/cancel", post(cancel))
}

/// Checks the bearer token in constant time and returns the user it acts for.
fn authenticate(state: &AppState, headers: &HeaderMap) -> Result<UserId, AppError> {
    let expected = state.api.token.as_deref().ok_or(AppError::Unauthorized)?;
    let given = headers
        .get(axum::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .ok_or(AppError::Unauthorized)?;
    if bool::from(given.as_bytes().ct_eq(expected.as_bytes())) {
        Ok(state.api.user)
    } else {
        Err(AppError::Unauthorized)
    }
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
    State(state): State<AppState>,
    headers: HeaderMap,
    Json(body): Json<SubmitUrl>,
) -> Result<(StatusCode, Json<Accepted>), AppError> {
    let user = authenticate(&state, &headers)?;
    let url = body.url.trim();
    let parsed = url::Url::parse(url)
        .map_err(|e| AppError::BadRequest(format!("`{url}` is not a URL: {e}")))?;
    if !matches!(parsed.scheme(), "http" | "https") {
        return Err(AppError::BadRequest(format!(
            "`{url}` is not an http(s) link to a video"
        )));
    }
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
fn safe_file_name(name: &str) -> String {
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
    let cleaned = cleaned.trim_start_matches('.').to_owned();
    if cleaned.is_empty() {
        "upload".to_owned()
    } else {
        cleaned
    }
}

#[tracing::instrument(skip_all)]
async fn upload(
    State(state): State<AppState>,
    headers: HeaderMap,
    mut multipart: Multipart,
) -> Result<(StatusCode, Json<Accepted>), AppError> {
    let user = authenticate(&state, &headers)?;
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
            Some("title") => title = Some(field.text().await.map_err(bad)?),
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

async fn write_field(
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
}

#[tracing::instrument(skip_all, fields(video = id))]
async fn video_status(
    State(state): State<AppState>,
    headers: HeaderMap,
    UrlPath(id): UrlPath<i64>,
) -> Result<Json<VideoStatus>, AppError> {
    let user = authenticate(&state, &headers)?;
    let video = state.store.video(VideoKey(id)).await?;
    if video.user_id != user {
        return Err(AppError::NotFound);
    }
    let jobs = state.store.jobs_for_video(id).await?;
    let draft = state.store.draft_for_video(video.id).await?;
    Ok(Json(VideoStatus {
        id,
        title: video.title,
        state: video.state.as_str(),
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
        }),
    }))
}

#[tracing::instrument(skip_all, fields(video = id))]
async fn cancel(
    State(state): State<AppState>,
    headers: HeaderMap,
    UrlPath(id): UrlPath<i64>,
) -> Result<StatusCode, AppError> {
    let user = authenticate(&state, &headers)?;
    let video = state.store.video(VideoKey(id)).await?;
    if video.user_id != user {
        return Err(AppError::NotFound);
    }
    if state.store.cancel_video(video.id).await? {
        Ok(StatusCode::ACCEPTED)
    } else {
        Err(AppError::BadRequest(format!(
            "video {id} is already {}",
            video.state.as_str()
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uploaded_names_are_made_safe() {
        assert_eq!(safe_file_name("talk.mp4"), "talk.mp4");
        assert_eq!(safe_file_name("../../etc/passwd"), "passwd");
        assert_eq!(safe_file_name("my talk (final).mkv"), "my_talk__final_.mkv");
        assert_eq!(safe_file_name(".hidden"), "hidden");
        assert_eq!(safe_file_name(""), "upload");
    }
}
