//! Draft posts made from a video's transcript, and the video they link back to.
//!
//! These are plain validated data: `vidpress-draft` builds them, the store keeps them, the
//! dashboard edits them and the exporters send them out.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::VideoId;

/// Why a string is not a valid slug or media link.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DraftError {
    /// A slug is 1–80 lowercase ASCII letters, digits and single inner hyphens.
    #[error(
        "`{0}` is not a slug (expected 1 to 80 lowercase letters, digits and single hyphens, not at either end)"
    )]
    Slug(String),
    /// A media link must be an absolute `http` or `https` URL without spaces or quotes.
    #[error(
        "`{0}` is not a usable video link (expected an http:// or https:// URL without spaces, quotes or angle brackets)"
    )]
    MediaUrl(String),
}

/// The longest slug [`Slug::parse`] accepts, in characters.
pub const SLUG_MAX_LEN: usize = 80;

/// A URL-safe post slug such as `how-to-bake-sourdough-bread`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Slug(String);

impl Slug {
    /// Validates a slug: 1–[`SLUG_MAX_LEN`] characters of `a-z`, `0-9` and `-`, with no hyphen
    /// at either end and no two hyphens in a row.
    pub fn parse(s: &str) -> Result<Self, DraftError> {
        let ok = !s.is_empty()
            && s.len() <= SLUG_MAX_LEN
            && s.bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
            && !s.starts_with('-')
            && !s.ends_with('-')
            && !s.contains("--");
        if ok {
            Ok(Self(s.to_owned()))
        } else {
            Err(DraftError::Slug(s.to_owned()))
        }
    }

    /// The slug as a string slice.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Slug {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl Serialize for Slug {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for Slug {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Self::parse(&s).map_err(serde::de::Error::custom)
    }
}

/// An absolute `http`/`https` link to a video or media file that is not on YouTube.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct MediaUrl(String);

impl MediaUrl {
    /// Validates a link: `http://` or `https://`, a host, at most 2048 characters, and no
    /// whitespace, control characters, quotes or angle brackets (so it is safe in Markdown and
    /// HTML attributes).
    pub fn parse(s: &str) -> Result<Self, DraftError> {
        let s = s.trim();
        let rest = s
            .strip_prefix("https://")
            .or_else(|| s.strip_prefix("http://"))
            .filter(|rest| !rest.is_empty() && !rest.starts_with('/'));
        let clean = s.len() <= 2048
            && s.chars().all(|c| {
                !c.is_whitespace()
                    && !c.is_control()
                    && !matches!(c, '"' | '\'' | '<' | '>' | '`' | '\\')
            });
        if rest.is_some() && clean {
            Ok(Self(s.to_owned()))
        } else {
            Err(DraftError::MediaUrl(s.to_owned()))
        }
    }

    /// The link as a string slice.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl Serialize for MediaUrl {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for MediaUrl {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Self::parse(&s).map_err(serde::de::Error::custom)
    }
}

/// Where a video lives, which decides how a post embeds it and links into it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum VideoSource {
    /// A YouTube video: embedded with the privacy-enhanced player, linked with `&t=…s`.
    Youtube(VideoId),
    /// Any other online video or media file: linked, with a `#t=…` media fragment.
    Link(MediaUrl),
    /// A local file (its display name); a post can neither embed nor link it.
    File(String),
}

impl VideoSource {
    /// A link that plays the video from `start_ms` (whole seconds), when the video is online.
    pub fn watch_url(&self, start_ms: u64) -> Option<String> {
        let secs = start_ms / 1000;
        match self {
            VideoSource::Youtube(id) => {
                Some(format!("https://www.youtube.com/watch?v={id}&t={secs}s"))
            }
            VideoSource::Link(url) => {
                let base = url.as_str().split('#').next().unwrap_or_default();
                Some(format!("{base}#t={secs}"))
            }
            VideoSource::File(_) => None,
        }
    }

    /// The address of an embeddable player, for YouTube videos only.
    pub fn embed_url(&self) -> Option<String> {
        match self {
            VideoSource::Youtube(id) => {
                Some(format!("https://www.youtube-nocookie.com/embed/{id}"))
            }
            VideoSource::Link(_) | VideoSource::File(_) => None,
        }
    }
}

/// What the formatter knows about a video besides its transcript.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VideoMeta {
    /// The title as published (it is cleaned before it becomes the post's title).
    pub title: String,
    /// Where the video can be watched.
    pub source: VideoSource,
    /// The chapters the video declares itself (YouTube's chapter list, the media file's own
    /// chapters), in time order; empty when it declares none.
    #[serde(default)]
    pub chapters: Vec<VideoChapter>,
}

/// A chapter as the video declares it: where it starts and the title its creator gave it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VideoChapter {
    pub start_ms: u64,
    pub title: String,
}

/// A paragraph of cleaned transcript text and the stretch of video it covers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Paragraph {
    pub start_ms: u64,
    pub end_ms: u64,
    pub text: String,
}

/// A part of the post about one topic.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Section {
    /// A short heading drawn from what the section says.
    pub heading: String,
    pub start_ms: u64,
    pub end_ms: u64,
    /// A link that plays this part of the video, when the video is online.
    pub watch_url: Option<String>,
    pub paragraphs: Vec<Paragraph>,
}

/// A chapter of the video, one per section.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Chapter {
    pub start_ms: u64,
    /// `m:ss` or `h:mm:ss`, as YouTube writes chapter times.
    pub timestamp: String,
    pub title: String,
}

/// A sentence worth setting apart in the post.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PullQuote {
    pub text: String,
    pub start_ms: u64,
}

/// A structured blog post made from a video, with its editable Markdown source and the
/// sanitized HTML rendered from it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Draft {
    pub title: String,
    pub slug: Slug,
    /// The meta description: at most 160 characters, ending at a word boundary.
    pub description: String,
    /// A one-paragraph summary drawn from the transcript's most central sentences.
    pub intro: String,
    pub sections: Vec<Section>,
    pub pull_quotes: Vec<PullQuote>,
    pub tags: Vec<String>,
    pub chapters: Vec<Chapter>,
    pub video: VideoSource,
    /// The post as Markdown, the source a person edits.
    pub markdown: String,
    /// The post as sanitized HTML.
    pub html: String,
    /// Words a person should check before publishing, in spoken order.
    #[serde(default)]
    pub review: Vec<ReviewMark>,
}

/// A word of the draft marked for review: Whisper was unsure of it, or it is not a word of the
/// transcript's language.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReviewMark {
    /// The word as it appears in the draft (punctuation removed).
    pub word: String,
    /// Where it is: section and paragraph index, and the word's index in the paragraph's text
    /// split at whitespace.
    pub section: usize,
    pub paragraph: usize,
    pub word_index: usize,
    pub start_ms: u64,
    /// Whisper's confidence in the word, in percent (its mean token probability).
    pub confidence: u8,
    /// Whisper's confidence is below the review threshold.
    pub unsure: bool,
    /// The spell checker of the transcript's language does not know the word.
    pub misspelled: bool,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slugs_are_validated() {
        for good in ["a", "sourdough-bread", "top-10-tips", &"a".repeat(80)] {
            assert!(Slug::parse(good).is_ok(), "{good} refused");
        }
        for bad in [
            "",
            "-a",
            "a-",
            "a--b",
            "A",
            "a b",
            "é",
            "a/b",
            &"a".repeat(81),
        ] {
            assert!(Slug::parse(bad).is_err(), "{bad} accepted");
        }
        assert!(serde_json::from_str::<Slug>("\"Bad Slug\"").is_err());
    }

    #[test]
    fn media_urls_are_validated() {
        assert!(MediaUrl::parse("https://example.org/v.mp4").is_ok());
        for bad in [
            "javascript:alert(1)",
            "ftp://x/y",
            "https://",
            "https:///x",
            "https://a b",
            "https://x/\"y",
        ] {
            assert!(MediaUrl::parse(bad).is_err(), "{bad} accepted");
        }
    }

    #[test]
    fn sources_link_to_a_time() {
        let yt = VideoSource::Youtube(VideoId::parse("dQw4w9WgXcQ").unwrap());
        assert_eq!(
            yt.watch_url(123_900).as_deref(),
            Some("https://www.youtube.com/watch?v=dQw4w9WgXcQ&t=123s")
        );
        assert_eq!(
            yt.embed_url().as_deref(),
            Some("https://www.youtube-nocookie.com/embed/dQw4w9WgXcQ")
        );
        let link = VideoSource::Link(MediaUrl::parse("https://example.org/v.mp4#old").unwrap());
        assert_eq!(
            link.watch_url(5_000).as_deref(),
            Some("https://example.org/v.mp4#t=5")
        );
        assert_eq!(link.embed_url(), None);
        assert_eq!(VideoSource::File("talk.mp4".into()).watch_url(0), None);
        let json = serde_json::to_string(&yt).unwrap();
        assert_eq!(json, r#"{"youtube":"dQw4w9WgXcQ"}"#);
        assert_eq!(serde_json::from_str::<VideoSource>(&json).unwrap(), yt);
    }
}
