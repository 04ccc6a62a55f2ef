//! Vidpress domain types. Every type here validates on construction, so a value in hand is
//! always valid; this crate does no IO of any kind.

mod draft;
mod header_style;
mod ids;
mod job;
pub mod net;
mod transcript;

pub use draft::{
    Chapter, Draft, DraftError, MediaUrl, Paragraph, PullQuote, ReviewMark, SLUG_MAX_LEN, Section,
    Slug, VideoChapter, VideoMeta, VideoSource,
};
pub use header_style::HeaderStyle;
pub use ids::{ChannelId, IdError, VideoId};
pub use job::{JobKind, UnknownJobKind};
pub use transcript::{Segment, Transcript, TranscriptError, Word};
