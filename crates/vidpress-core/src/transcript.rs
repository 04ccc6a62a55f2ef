//! Timed transcripts as Whisper produces them: segments with words and millisecond times.

use serde::{Deserialize, Serialize};

/// Why a transcript is not well formed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TranscriptError {
    /// A segment or word ends before it starts.
    #[error("segment {index} ends ({end_ms} ms) before it starts ({start_ms} ms)")]
    NegativeDuration {
        index: usize,
        start_ms: u64,
        end_ms: u64,
    },
    /// Segments must be in time order.
    #[error("segment {index} starts at {start_ms} ms, before the previous one ({previous_ms} ms)")]
    OutOfOrder {
        index: usize,
        start_ms: u64,
        previous_ms: u64,
    },
}

/// One word with its time span and the model's confidence (0–1).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Word {
    pub text: String,
    pub start_ms: u64,
    pub end_ms: u64,
    pub probability: f32,
}

/// A stretch of speech, usually a sentence or phrase, with its words.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Segment {
    pub start_ms: u64,
    pub end_ms: u64,
    pub text: String,
    #[serde(default)]
    pub words: Vec<Word>,
}

/// A whole timed transcript. Built by [`Transcript::new`], which checks the times.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Transcript {
    language: Option<String>,
    segments: Vec<Segment>,
}

impl Transcript {
    /// Builds a transcript, checking that every segment has a non-negative duration and that
    /// segments are in time order.
    pub fn new(language: Option<String>, segments: Vec<Segment>) -> Result<Self, TranscriptError> {
        let mut previous_ms = 0;
        for (index, s) in segments.iter().enumerate() {
            if s.end_ms < s.start_ms {
                return Err(TranscriptError::NegativeDuration {
                    index,
                    start_ms: s.start_ms,
                    end_ms: s.end_ms,
                });
            }
            if s.start_ms < previous_ms {
                return Err(TranscriptError::OutOfOrder {
                    index,
                    start_ms: s.start_ms,
                    previous_ms,
                });
            }
            previous_ms = s.start_ms;
        }
        Ok(Self { language, segments })
    }

    /// The detected or requested language code (`en`, `de`…), when known.
    pub fn language(&self) -> Option<&str> {
        self.language.as_deref()
    }

    /// The segments in time order.
    pub fn segments(&self) -> &[Segment] {
        &self.segments
    }

    /// The whole text, segments joined by single spaces.
    pub fn text(&self) -> String {
        let parts: Vec<&str> = self.segments.iter().map(|s| s.text.trim()).collect();
        parts.join(" ")
    }

    /// Where the speech ends, in milliseconds.
    pub fn duration_ms(&self) -> u64 {
        self.segments.iter().map(|s| s.end_ms).max().unwrap_or(0)
    }
}

impl<'de> Deserialize<'de> for Transcript {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        struct Raw {
            language: Option<String>,
            segments: Vec<Segment>,
        }
        let raw = Raw::deserialize(d)?;
        Transcript::new(raw.language, raw.segments).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn seg(start_ms: u64, end_ms: u64, text: &str) -> Segment {
        Segment {
            start_ms,
            end_ms,
            text: text.into(),
            words: vec![],
        }
    }

    #[test]
    fn valid_transcripts_build_and_join_text() {
        let t = Transcript::new(
            Some("en".into()),
            vec![seg(0, 900, " Hello"), seg(1000, 2500, "world. ")],
        )
        .unwrap();
        assert_eq!(t.text(), "Hello world.");
        assert_eq!(t.duration_ms(), 2500);
    }

    #[test]
    fn bad_times_are_refused_also_when_deserializing() {
        assert!(matches!(
            Transcript::new(None, vec![seg(10, 5, "x")]),
            Err(TranscriptError::NegativeDuration { index: 0, .. })
        ));
        assert!(matches!(
            Transcript::new(None, vec![seg(10, 20, "a"), seg(5, 30, "b")]),
            Err(TranscriptError::OutOfOrder { index: 1, .. })
        ));
        let json = r#"{"language":null,"segments":[{"start_ms":9,"end_ms":1,"text":"x"}]}"#;
        assert!(serde_json::from_str::<Transcript>(json).is_err());
    }
}
