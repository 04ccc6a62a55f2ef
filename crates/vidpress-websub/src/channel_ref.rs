//! What a person types to name a channel: a channel URL (`/channel/UC…`, `/@handle`, `/c/…`,
//! `/user/…`), an `@handle`, or a bare channel id. Only ids can be used without asking YouTube.

use std::fmt;

use percent_encoding::percent_decode_str;
use url::Url;
use vidpress_core::{ChannelId, IdError};

/// A channel named by a person, before resolution to a [`ChannelId`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ChannelRef {
    /// A channel id, usable as it is.
    Id(ChannelId),
    /// A handle, without its `@`.
    Handle(String),
    /// A legacy custom URL name (`/c/NAME`).
    Custom(String),
    /// A legacy user name (`/user/NAME`).
    User(String),
}

/// Why some text does not name a channel.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ChannelRefError {
    /// Nothing was given.
    #[error("no channel given")]
    Empty,
    /// The text looks like a channel id but is not a valid one.
    #[error(transparent)]
    InvalidId(#[from] IdError),
    /// The handle has characters or a length YouTube does not allow.
    #[error("`@{0}` is not a valid YouTube handle (3–30 letters, digits, `_`, `-` or `.`)")]
    InvalidHandle(String),
    /// A `/c/` or `/user/` name has characters YouTube does not allow.
    #[error("`{0}` is not a valid YouTube channel name")]
    InvalidName(String),
    /// The URL is not on YouTube.
    #[error("`{0}` is not a YouTube URL")]
    NotYouTube(String),
    /// The URL is on YouTube but names a video, playlist or page rather than a channel.
    #[error("`{0}` is not a channel URL (expected /channel/UC…, /@handle, /c/NAME or /user/NAME)")]
    NotAChannelUrl(String),
    /// The text is none of the accepted forms.
    #[error("`{0}` is not a channel URL, @handle or channel id (a handle needs its `@`)")]
    Unrecognised(String),
}

impl ChannelRef {
    /// Reads a channel URL, `@handle` or channel id.
    pub fn parse(input: &str) -> Result<Self, ChannelRefError> {
        let input = input.trim();
        if input.is_empty() {
            return Err(ChannelRefError::Empty);
        }
        if let Some(handle) = input.strip_prefix('@') {
            return handle_ref(handle);
        }
        if input.contains('/') || input.contains("youtube.") {
            return parse_url(input);
        }
        if input.len() == 24 && input.starts_with("UC") {
            return Ok(ChannelRef::Id(ChannelId::parse(input)?));
        }
        Err(ChannelRefError::Unrecognised(shorten(input)))
    }

    /// The path of the channel's page on YouTube, percent-encoded: `/channel/UC…`, `/@handle`,
    /// `/c/NAME` or `/user/NAME`.
    pub fn page_path(&self) -> String {
        let encode = |s: &str| percent_encoding::utf8_percent_encode(s, SEGMENT).to_string();
        match self {
            ChannelRef::Id(id) => format!("/channel/{id}"),
            ChannelRef::Handle(h) => format!("/@{}", encode(h)),
            ChannelRef::Custom(c) => format!("/c/{}", encode(c)),
            ChannelRef::User(u) => format!("/user/{}", encode(u)),
        }
    }
}

impl fmt::Display for ChannelRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ChannelRef::Id(id) => write!(f, "{id}"),
            ChannelRef::Handle(h) => write!(f, "@{h}"),
            ChannelRef::Custom(c) => write!(f, "/c/{c}"),
            ChannelRef::User(u) => write!(f, "/user/{u}"),
        }
    }
}

/// Characters escaped in a path segment: controls, space, and URL delimiters.
const SEGMENT: &percent_encoding::AsciiSet = &percent_encoding::CONTROLS
    .add(b' ')
    .add(b'"')
    .add(b'#')
    .add(b'%')
    .add(b'/')
    .add(b'<')
    .add(b'>')
    .add(b'?')
    .add(b'`')
    .add(b'{')
    .add(b'}');

fn shorten(s: &str) -> String {
    s.chars().take(120).collect()
}

fn name_chars_ok(s: &str) -> bool {
    s.chars()
        .all(|c| c.is_alphanumeric() || matches!(c, '_' | '-' | '.'))
}

fn handle_ref(handle: &str) -> Result<ChannelRef, ChannelRefError> {
    let length = handle.chars().count();
    if (3..=30).contains(&length) && name_chars_ok(handle) {
        Ok(ChannelRef::Handle(handle.to_owned()))
    } else {
        Err(ChannelRefError::InvalidHandle(shorten(handle)))
    }
}

fn name_ref(name: &str, make: fn(String) -> ChannelRef) -> Result<ChannelRef, ChannelRefError> {
    let length = name.chars().count();
    if (1..=100).contains(&length) && name_chars_ok(name) {
        Ok(make(name.to_owned()))
    } else {
        Err(ChannelRefError::InvalidName(shorten(name)))
    }
}

fn parse_url(input: &str) -> Result<ChannelRef, ChannelRefError> {
    let with_scheme = if input.contains("://") {
        input.to_owned()
    } else {
        format!("https://{input}")
    };
    let url =
        Url::parse(&with_scheme).map_err(|_| ChannelRefError::Unrecognised(shorten(input)))?;
    let host = url.host_str().unwrap_or_default().to_ascii_lowercase();
    let on_youtube = host == "youtube.com" || host.ends_with(".youtube.com");
    if !on_youtube || !matches!(url.scheme(), "http" | "https") {
        return Err(ChannelRefError::NotYouTube(shorten(input)));
    }
    let segments: Vec<String> = url
        .path_segments()
        .into_iter()
        .flatten()
        .filter(|s| !s.is_empty())
        .map(|s| percent_decode_str(s).decode_utf8_lossy().into_owned())
        .collect();
    let not_channel = || ChannelRefError::NotAChannelUrl(shorten(input));
    match segments.as_slice() {
        // Channel tabs (`/@name/videos`) still name the channel.
        [first, ..] if first.starts_with('@') => handle_ref(&first[1..]),
        [kind, value, ..] => match kind.as_str() {
            "channel" => Ok(ChannelRef::Id(ChannelId::parse(value)?)),
            "c" => name_ref(value, ChannelRef::Custom),
            "user" => name_ref(value, ChannelRef::User),
            _ => Err(not_channel()),
        },
        _ => Err(not_channel()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ID: &str = "UCuAXFkgsw1L7xaCfnd5JJOw";

    fn id() -> ChannelRef {
        ChannelRef::Id(ChannelId::parse(ID).unwrap())
    }

    #[test]
    fn ids_and_channel_urls_need_no_lookup() {
        for input in [
            ID.to_owned(),
            format!("  {ID}\n"),
            format!("https://www.youtube.com/channel/{ID}"),
            format!("https://youtube.com/channel/{ID}/videos?view=0"),
            format!("http://m.youtube.com/channel/{ID}"),
            format!("www.youtube.com/channel/{ID}"),
            format!("youtube.com/channel/{ID}/"),
        ] {
            assert_eq!(ChannelRef::parse(&input), Ok(id()), "{input}");
        }
    }

    #[test]
    fn handles_and_legacy_names_are_recognised() {
        let handle = ChannelRef::Handle("LinusTechTips".into());
        for input in [
            "@LinusTechTips",
            "https://www.youtube.com/@LinusTechTips",
            "youtube.com/@LinusTechTips/videos",
        ] {
            assert_eq!(ChannelRef::parse(input), Ok(handle.clone()), "{input}");
        }
        assert_eq!(
            ChannelRef::parse("https://www.youtube.com/c/LinusTechTips"),
            Ok(ChannelRef::Custom("LinusTechTips".into()))
        );
        assert_eq!(
            ChannelRef::parse("https://www.youtube.com/user/LinusTechTips"),
            Ok(ChannelRef::User("LinusTechTips".into()))
        );
        // Unicode handles arrive percent-encoded in URLs.
        assert_eq!(
            ChannelRef::parse("https://www.youtube.com/@%E3%81%82%E3%81%84%E3%81%86"),
            Ok(ChannelRef::Handle("あいう".into()))
        );
    }

    #[test]
    fn bad_input_says_what_is_wrong() {
        assert_eq!(ChannelRef::parse("  "), Err(ChannelRefError::Empty));
        assert!(matches!(
            ChannelRef::parse("@a"),
            Err(ChannelRefError::InvalidHandle(_))
        ));
        assert!(matches!(
            ChannelRef::parse("@bad handle"),
            Err(ChannelRefError::InvalidHandle(_))
        ));
        assert!(matches!(
            ChannelRef::parse("https://www.youtube.com/channel/UCshort"),
            Err(ChannelRefError::InvalidId(_))
        ));
        assert!(matches!(
            ChannelRef::parse("UCuAXFkgsw1L7xaCfnd5JJ/w"),
            Err(ChannelRefError::NotYouTube(_))
        ));
        assert!(matches!(
            ChannelRef::parse("UCuAXFkgsw1L7xaCfnd5JJ!w"),
            Err(ChannelRefError::InvalidId(_))
        ));
        assert!(matches!(
            ChannelRef::parse("https://vimeo.com/channel/x"),
            Err(ChannelRefError::NotYouTube(_))
        ));
        assert!(matches!(
            ChannelRef::parse("https://evil-youtube.com/@handle"),
            Err(ChannelRefError::NotYouTube(_))
        ));
        assert!(matches!(
            ChannelRef::parse("https://www.youtube.com/watch?v=dQw4w9WgXcQ"),
            Err(ChannelRefError::NotAChannelUrl(_))
        ));
        assert!(matches!(
            ChannelRef::parse("LinusTechTips"),
            Err(ChannelRefError::Unrecognised(_))
        ));
    }

    #[test]
    fn page_paths_are_percent_encoded() {
        assert_eq!(id().page_path(), format!("/channel/{ID}"));
        assert_eq!(
            ChannelRef::Handle("あ.b".into()).page_path(),
            "/@%E3%81%82.b"
        );
        assert_eq!(ChannelRef::Custom("x".into()).page_path(), "/c/x");
        assert_eq!(ChannelRef::User("y".into()).page_path(), "/user/y");
    }
}
