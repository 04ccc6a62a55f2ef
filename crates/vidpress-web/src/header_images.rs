//! Header images over HTTP, shared by the JSON API and the dashboard: serving a draft's image
//! to its owner only (anyone else gets 404), and asking for it to be made again in another
//! style or with a new seed (the worker keeps the previous image until the new one is stored).

use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use vidpress_core::HeaderStyle;
use vidpress_store::{UserId, VideoKey};

use crate::{AppError, AppState};

/// Which of a draft's two pictures.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ImageSize {
    /// The 1200×630 blog header.
    Header,
    /// The square version.
    Square,
}

impl ImageSize {
    /// `square` selects the square version; anything else (or nothing) the header.
    pub(crate) fn from_query(size: Option<&str>) -> ImageSize {
        match size {
            Some("square") => ImageSize::Square,
            _ => ImageSize::Header,
        }
    }
}

/// The square version's path beside a header: the image step writes `<stem>-square.jpg` next
/// to `<stem>.jpg`.
fn square_path(header: &std::path::Path) -> std::path::PathBuf {
    let stem = header
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    header.with_file_name(format!("{stem}-square.jpg"))
}

/// The header image of `user`'s video `video`, as a response; 404 when the video is not
/// theirs or has no image.
pub(crate) async fn image_response(
    state: &AppState,
    user: UserId,
    video: VideoKey,
    size: ImageSize,
) -> Result<Response, AppError> {
    state
        .store
        .video_for_user(user, video)
        .await?
        .ok_or(AppError::NotFound)?;
    let draft = state
        .store
        .draft_for_video(video)
        .await?
        .ok_or(AppError::NotFound)?;
    let header = draft
        .header_image
        .map(std::path::PathBuf::from)
        .ok_or(AppError::NotFound)?;
    let path = match size {
        ImageSize::Header => header,
        ImageSize::Square => square_path(&header),
    };
    let bytes = match tokio::fs::read(&path).await {
        Ok(bytes) => bytes,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Err(AppError::NotFound),
        Err(e) => {
            return Err(AppError::Internal(format!(
                "cannot read the header image {}: {e}",
                path.display()
            )));
        }
    };
    let content_type = match path.extension().and_then(|e| e.to_str()) {
        Some("png") => "image/png",
        Some("webp") => "image/webp",
        _ => "image/jpeg",
    };
    Ok((
        [
            (header::CONTENT_TYPE, HeaderValue::from_static(content_type)),
            // Only its owner may see it, and a new picture replaces it at the same address.
            (
                header::CACHE_CONTROL,
                HeaderValue::from_static("private, no-cache"),
            ),
        ],
        bytes,
    )
        .into_response())
}

/// A header image asked for again.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct Regeneration {
    pub job_id: i64,
    pub style: &'static str,
    pub seed: i64,
}

/// Asks for `user`'s video's header to be made again, in `style` (default: the draft's current
/// one) with `seed` (default: a new random one). 404 when the video is not theirs or has no
/// draft yet; 400 for an unknown style.
pub(crate) async fn request_regeneration(
    state: &AppState,
    user: UserId,
    video: VideoKey,
    style: Option<&str>,
    seed: Option<i64>,
) -> Result<Regeneration, AppError> {
    state
        .store
        .video_for_user(user, video)
        .await?
        .ok_or(AppError::NotFound)?;
    let draft = state
        .store
        .draft_for_video(video)
        .await?
        .ok_or(AppError::NotFound)?;
    let style = match style.map(str::trim).filter(|s| !s.is_empty()) {
        Some(name) => HeaderStyle::parse(name).ok_or_else(|| {
            AppError::BadRequest(format!(
                "unknown style `{name}`; use one of {}",
                HeaderStyle::ALL.map(|s| s.as_str()).join(", ")
            ))
        })?,
        None => HeaderStyle::parse(&draft.header_style).unwrap_or_default(),
    };
    // Seeds stay within what every database and JSON reader holds exactly.
    let seed = seed.unwrap_or_else(|| i64::from(rand::random::<u32>()));
    let job = state
        .store
        .request_header(user, video, style.as_str(), seed, state.api.max_attempts)
        .await?
        .ok_or(AppError::NotFound)?;
    state.wake_workers();
    Ok(Regeneration {
        job_id: job.0,
        style: style.as_str(),
        seed,
    })
}
