//! The kinds of work the job queue carries.

use std::fmt;

/// A step of work the durable job queue runs. Stored in the database by [`JobKind::as_str`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum JobKind {
    /// Download a video's audio.
    Fetch,
    /// Turn audio into a timed transcript.
    Transcribe,
    /// Format a transcript into a draft post.
    Draft,
    /// Make the draft's header image.
    Illustrate,
    /// Send a draft to WordPress or Ghost.
    Export,
    /// Subscribe (or renew a subscription) to a channel's upload notifications.
    Subscribe,
    /// Unsubscribe from a channel's upload notifications.
    Unsubscribe,
    /// Poll a channel's Atom feed for videos the pushes missed.
    PollFeed,
    /// Wait a moment (`{"work_ms": N}`) and finish: measures the queue with real worker
    /// processes (`vidpress bench workers`) and checks that workers take work. Touches nothing.
    Probe,
}

/// A job kind name that Vidpress does not know.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown job kind `{0}`")]
pub struct UnknownJobKind(pub String);

impl JobKind {
    /// Every job kind, in pipeline order first.
    pub const ALL: [JobKind; 9] = [
        JobKind::Fetch,
        JobKind::Transcribe,
        JobKind::Draft,
        JobKind::Illustrate,
        JobKind::Export,
        JobKind::Subscribe,
        JobKind::Unsubscribe,
        JobKind::PollFeed,
        JobKind::Probe,
    ];

    /// The stable name stored in the `jobs.kind` column.
    pub fn as_str(self) -> &'static str {
        match self {
            JobKind::Fetch => "fetch",
            JobKind::Transcribe => "transcribe",
            JobKind::Draft => "draft",
            JobKind::Illustrate => "illustrate",
            JobKind::Export => "export",
            JobKind::Subscribe => "subscribe",
            JobKind::Unsubscribe => "unsubscribe",
            JobKind::PollFeed => "poll_feed",
            JobKind::Probe => "probe",
        }
    }

    /// Parses a stored job kind name.
    pub fn parse(s: &str) -> Result<Self, UnknownJobKind> {
        Self::ALL
            .into_iter()
            .find(|k| k.as_str() == s)
            .ok_or_else(|| UnknownJobKind(s.to_owned()))
    }
}

impl fmt::Display for JobKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for kind in JobKind::ALL {
            assert_eq!(JobKind::parse(kind.as_str()), Ok(kind));
        }
        assert!(JobKind::parse("nope").is_err());
    }
}
