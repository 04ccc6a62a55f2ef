//! What a media file says about itself: the `title` tag its container carries (Matroska's
//! `TITLE`, MP4's `©nam`, an MP3's ID3 `TIT2`, as FFmpeg names them all `title`).

use std::path::Path;

use ffmpeg_next::format;

/// The title the file's container declares, trimmed; `None` when it has none, when the title is
/// blank, or when the file cannot be opened (decoding reports that with its own error).
pub fn media_title(path: &Path) -> Option<String> {
    crate::audio::init().ok()?;
    let text = path.to_str().filter(|p| !p.contains('\0'))?;
    if !path.is_file() {
        return None;
    }
    // The `file:` prefix keeps a name like `http:…` from being read as a protocol.
    let input = format::input(&format!("file:{text}")).ok()?;
    let metadata = input.metadata();
    let title = metadata
        .iter()
        .find(|(key, _)| key.eq_ignore_ascii_case("title"))
        .map(|(_, value)| value.trim().to_owned())?;
    (!title.is_empty()).then_some(title)
}
