//! What a media file says about itself: the `title` tag its container carries (Matroska's
//! `TITLE`, MP4's `©nam`, an MP3's ID3 `TIT2`, as FFmpeg names them all `title`), and the
//! chapters it declares (Matroska's and MP4's chapter lists).

use std::path::Path;

use ffmpeg_next::format;
use vidpress_core::VideoChapter;

/// Opens a media file to read what it says about itself; `None` when it cannot be opened.
fn open(path: &Path) -> Option<format::context::Input> {
    crate::audio::init().ok()?;
    let text = path.to_str().filter(|p| !p.contains('\0'))?;
    if !path.is_file() {
        return None;
    }
    // The `file:` prefix keeps a name like `http:…` from being read as a protocol.
    format::input(&format!("file:{text}")).ok()
}

/// The title the file's container declares, trimmed; `None` when it has none, when the title is
/// blank, or when the file cannot be opened (decoding reports that with its own error).
pub fn media_title(path: &Path) -> Option<String> {
    let input = open(path)?;
    let metadata = input.metadata();
    let title = metadata
        .iter()
        .find(|(key, _)| key.eq_ignore_ascii_case("title"))
        .map(|(_, value)| value.trim().to_owned())?;
    (!title.is_empty()).then_some(title)
}

/// The chapters the file's container declares, in time order, each with its title (blank when
/// the chapter has none); empty when it declares none or cannot be opened.
pub fn media_chapters(path: &Path) -> Vec<VideoChapter> {
    let Some(input) = open(path) else {
        return Vec::new();
    };
    let mut chapters: Vec<VideoChapter> = input
        .chapters()
        .filter_map(|chapter| {
            let base = chapter.time_base();
            let (num, den) = (i128::from(base.numerator()), i128::from(base.denominator()));
            if den <= 0 || chapter.start() < 0 {
                return None;
            }
            let start_ms = i128::from(chapter.start()) * num * 1000 / den;
            let title = chapter
                .metadata()
                .iter()
                .find(|(key, _)| key.eq_ignore_ascii_case("title"))
                .map(|(_, value)| value.trim().to_owned())
                .unwrap_or_default();
            Some(VideoChapter {
                start_ms: u64::try_from(start_ms).ok()?,
                title,
            })
        })
        .collect();
    chapters.sort_by_key(|c| c.start_ms);
    chapters
}
