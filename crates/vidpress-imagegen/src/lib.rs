//! Vidpress header images. [`make_header`] (what the illustrate step calls) draws a picture
//! with a Stable Diffusion model when one is installed ([`diffusion`]); otherwise, or when the
//! model is missing or broken, it takes the header that needs no model, so every draft gets one
//! a person would keep: the creator's thumbnail when the fetch kept one, otherwise the video's
//! best keyframe with the title set over a readable band, otherwise (audio only, or nothing
//! usable) a typographic card. [`make_header`], [`fallback_header`] and [`remake`] never fail;
//! [`save`] writes the 1200×630 header and the square version as JPEG. This crate knows nothing
//! about HTTP or the database.

pub mod color;
pub mod compose;
pub mod diffusion;
pub mod keyframe;
pub mod style;
pub mod text;

use std::path::{Path, PathBuf};

use image::RgbImage;

pub use compose::Titled;
pub use style::Style;

/// The blog header's size.
pub const HEADER_SIZE: (u32, u32) = (1200, 630);
/// The square version's side.
pub const SQUARE_SIZE: u32 = 1080;
/// How many frames of a video the chooser looks at.
const SAMPLES: usize = 24;
/// The width frames are scored at.
const ANALYSIS_WIDTH: u32 = 160;
/// The widest frame decoded for the header itself.
const MAX_SOURCE_WIDTH: u32 = 1920;
/// JPEG quality of the written files.
const JPEG_QUALITY: u8 = 88;

/// What a fallback header is made from.
#[derive(Debug, Clone, Copy)]
pub struct FallbackInput<'a> {
    /// The draft's title, set in type on keyframes and cards.
    pub title: &'a str,
    /// The media file, when it is still there.
    pub media: Option<&'a Path>,
    /// The thumbnail the fetch kept, if any.
    pub thumbnail: Option<&'a Path>,
    /// The card's colours.
    pub style: Style,
}

/// Where a header came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Origin {
    /// The creator's own thumbnail.
    Thumbnail,
    /// The video's frame at this time.
    Keyframe { time_ms: i64 },
    /// A typographic card.
    Card,
    /// A picture drawn by the diffusion model from this seed.
    Diffusion { seed: i64 },
}

/// A header and its square version, with how they were made.
#[derive(Debug, Clone)]
pub struct HeaderImages {
    pub header: RgbImage,
    pub square: RgbImage,
    pub origin: Origin,
    pub style: Style,
    /// Why earlier candidates were passed over, for the job's log.
    pub notes: Vec<String>,
    /// The picture they were made from (a thumbnail or a frame), kept so the header can be
    /// made again in another style after the video's files are gone.
    pub source: Option<RgbImage>,
}

impl HeaderImages {
    /// One line saying how the header was made.
    pub fn describe(&self) -> String {
        let made = match self.origin {
            Origin::Thumbnail => "the video's thumbnail".to_owned(),
            Origin::Keyframe { time_ms } => format!(
                "the video's frame at {}:{:02} with the title",
                time_ms / 60_000,
                time_ms / 1000 % 60
            ),
            Origin::Card => "a title card".to_owned(),
            Origin::Diffusion { seed } => format!("a picture drawn with seed {seed}"),
        };
        let made = format!("{made}, style {}", self.style);
        if self.notes.is_empty() {
            format!("header image from {made}")
        } else {
            format!("header image from {made} ({})", self.notes.join("; "))
        }
    }
}

/// The best header that needs no model: thumbnail, else keyframe with the title, else card.
#[tracing::instrument(skip_all, fields(title = input.title))]
pub fn fallback_header(input: &FallbackInput<'_>) -> HeaderImages {
    let mut notes = Vec::new();
    if let Some(thumbnail) = input.thumbnail {
        match from_thumbnail(thumbnail, input.style) {
            Ok(images) => return images,
            Err(reason) => notes.push(format!("thumbnail not used: {reason}")),
        }
    }
    if let Some(media) = input.media.filter(|m| vidpress_media::has_video(m)) {
        match from_keyframe(media, input.title, input.style) {
            Ok(mut images) => {
                images.notes = notes;
                return images;
            }
            Err(reason) => notes.push(format!("no keyframe used: {reason}")),
        }
    }
    let mut images = title_card(input.title, input.style);
    images.notes = notes;
    images
}

/// What the illustrate step asks for: the draft's words, the video's files (while they are
/// there), the style and seed the user picked, and the process's diffusion model.
#[derive(Debug, Clone, Copy)]
pub struct HeaderRequest<'a> {
    pub title: &'a str,
    /// The draft's keyphrases, which join the title in the prompt.
    pub tags: &'a [String],
    pub media: Option<&'a Path>,
    pub thumbnail: Option<&'a Path>,
    pub style: Style,
    pub seed: i64,
    /// `None`: no picture is drawn.
    pub diffusion: Option<&'a diffusion::DiffusionCache>,
}

/// A new draft's header: drawn by the diffusion model when one is installed and works, else
/// [`fallback_header`]; the notes say which path made it and why diffusion was skipped. Never
/// fails.
#[tracing::instrument(skip_all, fields(title = request.title))]
pub fn make_header(request: &HeaderRequest<'_>) -> HeaderImages {
    let skipped = match draw(request) {
        Ok(images) => return images,
        Err(reason) => format!("diffusion skipped: {reason}"),
    };
    let mut images = fallback_header(&FallbackInput {
        title: request.title,
        media: request.media,
        thumbnail: request.thumbnail,
        style: request.style,
    });
    images.notes.insert(0, skipped);
    images
}

/// A header made again with a new seed or style: drawn again when a diffusion model works,
/// else [`remake`] from the picture an earlier header kept in `dir`.
pub fn remake_header(dir: &Path, request: &HeaderRequest<'_>) -> HeaderImages {
    let skipped = match draw(request) {
        Ok(images) => return images,
        Err(reason) => format!("diffusion skipped: {reason}"),
    };
    let mut images = remake(dir, request.title, request.style);
    images.notes.insert(0, skipped);
    images
}

/// The diffusion model's picture for `request`, cropped to both sizes; `Err` says why not.
fn draw(request: &HeaderRequest<'_>) -> Result<HeaderImages, String> {
    let cache = request
        .diffusion
        .ok_or("diffusion is off in this process")?;
    let prompt = diffusion::prompt(request.title, request.tags, request.style);
    // The seed's bits as they are: a negative seed is as good as any other.
    let seed = request.seed as u64;
    let run = || {
        cache.with_model(|model| {
            let drawn = model.draw(&prompt, diffusion::NEGATIVE_PROMPT, seed)?;
            Ok::<_, diffusion::DiffusionError>((
                drawn,
                format!(
                    "drawn by {} in {} step{}, {} decoder",
                    model.name(),
                    model.steps(),
                    if model.steps() == 1 { "" } else { "s" },
                    if model.tiny_decoder() {
                        "small"
                    } else {
                        "full"
                    },
                ),
            ))
        })
    };
    let (drawn, how) = match std::panic::catch_unwind(std::panic::AssertUnwindSafe(run)) {
        Ok(Ok(Ok(done))) => done,
        Ok(Ok(Err(e))) => return Err(e.to_string()),
        Ok(Err(reason)) => return Err(reason),
        Err(_) => return Err("the diffusion model crashed while drawing".into()),
    };
    if diffusion::is_flat(&drawn.image) {
        return Err("the model drew a flat picture (are its weights real?)".into());
    }
    let (w, h) = HEADER_SIZE;
    Ok(HeaderImages {
        header: compose::cover(&drawn.image, w, h),
        square: compose::cover(&drawn.image, SQUARE_SIZE, SQUARE_SIZE),
        origin: Origin::Diffusion { seed: request.seed },
        style: request.style,
        notes: vec![format!(
            "{how}, {:.1} s; prompt \"{prompt}\"",
            drawn.timings.total().as_secs_f64()
        )],
        source: None,
    })
}

/// A typographic card in both sizes.
pub fn title_card(title: &str, style: Style) -> HeaderImages {
    let (w, h) = HEADER_SIZE;
    HeaderImages {
        header: compose::card(title, style, w, h).image,
        square: compose::card(title, style, SQUARE_SIZE, SQUARE_SIZE).image,
        origin: Origin::Card,
        style,
        notes: Vec::new(),
        source: None,
    }
}

fn from_thumbnail(path: &Path, style: Style) -> Result<HeaderImages, String> {
    let frame =
        vidpress_media::decode_picture(path, MAX_SOURCE_WIDTH).map_err(|e| e.to_string())?;
    let small = vidpress_media::FrameSample {
        frame: downscale(&frame, ANALYSIS_WIDTH).ok_or("the picture is empty")?,
        later: None,
    };
    let score = keyframe::score(&small);
    // A placeholder (grey or black) is no thumbnail; blur is fine for a designed picture.
    if let Some(reason @ ("too dark" | "washed out" | "blank")) = score.refused {
        return Err(format!("it is {reason}"));
    }
    let image = compose::frame_image(frame).ok_or("the picture is empty")?;
    Ok(thumbnail_header(image, style))
}

fn thumbnail_header(image: RgbImage, style: Style) -> HeaderImages {
    let (w, h) = HEADER_SIZE;
    HeaderImages {
        header: compose::cover(&image, w, h),
        square: compose::cover(&image, SQUARE_SIZE, SQUARE_SIZE),
        origin: Origin::Thumbnail,
        style,
        notes: Vec::new(),
        source: Some(image),
    }
}

fn keyframe_header(image: RgbImage, time_ms: i64, title: &str, style: Style) -> HeaderImages {
    let (w, h) = HEADER_SIZE;
    HeaderImages {
        header: compose::title_band(compose::cover(&image, w, h), title, style).image,
        square: compose::title_band(
            compose::cover(&image, SQUARE_SIZE, SQUARE_SIZE),
            title,
            style,
        )
        .image,
        origin: Origin::Keyframe { time_ms },
        style,
        notes: Vec::new(),
        source: Some(image),
    }
}

/// Makes a header again from the picture an earlier header kept in `dir` (see [`save`]), in
/// `style` and with `title`; a card when there is none.
pub fn remake(dir: &Path, title: &str, style: Style) -> HeaderImages {
    let Some((path, origin)) = saved_source(dir) else {
        return title_card(title, style);
    };
    let image = vidpress_media::decode_picture(&path, MAX_SOURCE_WIDTH)
        .ok()
        .and_then(compose::frame_image);
    match (image, origin) {
        (Some(image), Origin::Thumbnail) => thumbnail_header(image, style),
        (Some(image), Origin::Keyframe { time_ms }) => {
            keyframe_header(image, time_ms, title, style)
        }
        (Some(_), Origin::Card | Origin::Diffusion { .. }) | (None, _) => {
            let mut card = title_card(title, style);
            card.notes.push(format!(
                "the saved picture {} is unreadable",
                path.display()
            ));
            card
        }
    }
}

/// The picture kept in `dir` and what it was: `source-thumbnail.jpg` or
/// `source-keyframe-<ms>.jpg`.
fn saved_source(dir: &Path) -> Option<(PathBuf, Origin)> {
    let entries = std::fs::read_dir(dir).ok()?;
    entries.filter_map(Result::ok).find_map(|e| {
        let name = e.file_name().to_string_lossy().into_owned();
        let rest = name.strip_prefix("source-")?.strip_suffix(".jpg")?;
        let origin = match rest {
            "thumbnail" => Origin::Thumbnail,
            other => Origin::Keyframe {
                time_ms: other.strip_prefix("keyframe-")?.parse().ok()?,
            },
        };
        Some((e.path(), origin))
    })
}

fn from_keyframe(media: &Path, title: &str, style: Style) -> Result<HeaderImages, String> {
    let samples =
        vidpress_media::sample_frames(media, SAMPLES, ANALYSIS_WIDTH).map_err(|e| e.to_string())?;
    let (best, scores) = keyframe::choose(&samples);
    let Some(best) = best else {
        let refused: Vec<&str> = scores.iter().filter_map(|s| s.refused).collect();
        return Err(format!(
            "all {} sampled frames were refused ({})",
            scores.len(),
            summarize(&refused)
        ));
    };
    let time_ms = scores[best].time_ms;
    let frame =
        vidpress_media::frame_at(media, time_ms, MAX_SOURCE_WIDTH).map_err(|e| e.to_string())?;
    let image = compose::frame_image(frame).ok_or("the frame is empty")?;
    Ok(keyframe_header(image, time_ms, title, style))
}

/// "3 too dark, 2 blurred".
fn summarize(reasons: &[&str]) -> String {
    let mut counts: Vec<(&str, usize)> = Vec::new();
    for r in reasons {
        match counts.iter_mut().find(|(name, _)| name == r) {
            Some((_, n)) => *n += 1,
            None => counts.push((r, 1)),
        }
    }
    counts
        .iter()
        .map(|(r, n)| format!("{n} {r}"))
        .collect::<Vec<_>>()
        .join(", ")
}

fn downscale(frame: &vidpress_media::RgbFrame, width: u32) -> Option<vidpress_media::RgbFrame> {
    let image = RgbImage::from_raw(frame.width, frame.height, frame.data.clone())?;
    let height = (frame.height * width / frame.width.max(1)).max(1);
    let small =
        image::imageops::resize(&image, width, height, image::imageops::FilterType::Triangle);
    Some(vidpress_media::RgbFrame {
        time_ms: frame.time_ms,
        width,
        height,
        data: small.into_raw(),
    })
}

/// The square version that [`save`] writes beside `header`.
pub fn square_path(header: &Path) -> PathBuf {
    let stem = header
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    header.with_file_name(format!("{stem}-square.jpg"))
}

/// Where [`save`] wrote the two files.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SavedImages {
    pub header: PathBuf,
    pub square: PathBuf,
}

/// Why images could not be written.
#[derive(Debug, thiserror::Error)]
pub enum SaveError {
    #[error("cannot write {}: {source}", path.display())]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot encode {}: {source}", path.display())]
    Encode {
        path: PathBuf,
        source: image::ImageError,
    },
}

/// Writes `images` into `dir` as `<stem>.jpg` (the header) and `<stem>-square.jpg`, and the
/// picture they came from (for [`remake`]) unless `dir` holds one already; each file through a
/// temporary name, so a reader never sees half a file.
pub fn save(images: &HeaderImages, dir: &Path, stem: &str) -> Result<SavedImages, SaveError> {
    std::fs::create_dir_all(dir).map_err(|source| SaveError::Io {
        path: dir.to_path_buf(),
        source,
    })?;
    let header = dir.join(format!("{stem}.jpg"));
    let square = square_path(&header);
    write_jpeg(&images.header, &header)?;
    write_jpeg(&images.square, &square)?;
    let name = match images.origin {
        Origin::Thumbnail => Some("source-thumbnail.jpg".to_owned()),
        Origin::Keyframe { time_ms } => Some(format!("source-keyframe-{time_ms}.jpg")),
        Origin::Card | Origin::Diffusion { .. } => None,
    };
    if let (Some(source), Some(name)) = (&images.source, name)
        && saved_source(dir).is_none()
    {
        write_jpeg(source, &dir.join(name))?;
    }
    Ok(SavedImages { header, square })
}

/// Removes the header files in `dir` other than `keep` and its square version (what earlier
/// headers left); the kept source picture stays.
pub fn remove_other_headers(dir: &Path, keep: &Path) {
    let keep_square = square_path(keep);
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.filter_map(Result::ok) {
        let path = entry.path();
        let name = entry.file_name().to_string_lossy().into_owned();
        if name.starts_with("header-")
            && path != keep
            && path != keep_square
            && let Err(error) = std::fs::remove_file(&path)
        {
            tracing::warn!(path = %path.display(), %error, "could not remove an old header image");
        }
    }
}

fn write_jpeg(image: &RgbImage, path: &Path) -> Result<(), SaveError> {
    let partial = path.with_extension("jpg.part");
    let io = |source| SaveError::Io {
        path: partial.clone(),
        source,
    };
    let file = std::fs::File::create(&partial).map_err(io)?;
    let mut out = std::io::BufWriter::new(file);
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, JPEG_QUALITY)
        .encode_image(image)
        .map_err(|source| SaveError::Encode {
            path: path.to_path_buf(),
            source,
        })?;
    std::io::Write::flush(&mut out).map_err(io)?;
    drop(out);
    std::fs::rename(&partial, path).map_err(|source| SaveError::Io {
        path: path.to_path_buf(),
        source,
    })
}
