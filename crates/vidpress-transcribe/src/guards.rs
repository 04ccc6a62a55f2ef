//! Guards against Whisper's known failures on silence and music: segments over silent audio,
//! non-speech captions (`[Music]`), the stock phrases it invents for silence ("Thank you."),
//! low-confidence segments the model itself thinks hold no speech, and repetition loops.

use vidpress_core::{Segment, Word};

/// Thresholds for dropping segments. The defaults follow OpenAI's `transcribe()`.
#[derive(Debug, Clone, PartialEq)]
pub struct GuardConfig {
    /// A segment is dropped when Whisper's no-speech probability is above this and its average
    /// token log-probability is below [`GuardConfig::logprob_threshold`].
    pub no_speech_threshold: f32,
    /// See [`GuardConfig::no_speech_threshold`]; also makes whisper.cpp retry a window at a higher
    /// temperature.
    pub logprob_threshold: f32,
    /// Step by which whisper.cpp raises the temperature when a window fails its checks
    /// (0 turns the fallback off).
    pub temperature_increment: f32,
    /// Entropy below which whisper.cpp considers a window repetitive and retries it.
    pub entropy_threshold: f32,
    /// Audio quieter than this root-mean-square level (full scale 1.0) counts as silence.
    pub silence_rms: f32,
    /// A consecutive word sequence repeated more than this many times is cut to one.
    pub max_repeats: usize,
}

impl Default for GuardConfig {
    fn default() -> Self {
        Self {
            no_speech_threshold: 0.6,
            logprob_threshold: -1.0,
            temperature_increment: 0.2,
            entropy_threshold: 2.4,
            silence_rms: 0.003,
            max_repeats: 3,
        }
    }
}

/// A segment as Whisper produced it, with the statistics the guards look at.
#[derive(Debug, Clone, PartialEq)]
pub struct RawSegment {
    /// The segment with its words.
    pub segment: Segment,
    /// Whisper's probability that the window held no speech.
    pub no_speech_prob: f32,
    /// Mean log-probability of the segment's text tokens.
    pub avg_logprob: f32,
}

/// Why a segment was dropped, for logging.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DropReason {
    /// No words, only punctuation.
    Empty,
    /// A caption for a sound, not speech: `[Music]`, `(applause)`, `♪`.
    NonSpeech,
    /// The audio under the segment is silent.
    Silent,
    /// The model thinks there is no speech and is unsure of the text.
    NoSpeech,
    /// One of the phrases Whisper invents for silence and music, said with little confidence.
    StockPhrase,
    /// The same text as one of the two segments before.
    Repeated,
}

const SAMPLES_PER_MS: usize = 16;

/// Phrases Whisper produces for silence and music, normalised (lower case, letters and digits).
const STOCK_PHRASES: &[&str] = &[
    "you",
    "thank you",
    "thank you very much",
    "thanks for watching",
    "thank you for watching",
    "thanks for watching and see you next time",
    "please subscribe",
    "subscribe to my channel",
    "like and subscribe",
    "bye",
    "bye bye",
    "so",
    "okay",
    "oh",
    "music",
    "applause",
    "silence",
    "subtitles by the amaraorg community",
    "transcription by castingwords",
    "well be right back",
    "i",
];

/// Lower case, letters and digits only, single spaces.
pub fn normalize(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for word in text.split_whitespace() {
        let w: String = word
            .chars()
            .filter(|c| c.is_alphanumeric())
            .flat_map(char::to_lowercase)
            .collect();
        if !w.is_empty() {
            if !out.is_empty() {
                out.push(' ');
            }
            out.push_str(&w);
        }
    }
    out
}

fn is_non_speech_caption(text: &str) -> bool {
    let t = text.trim();
    let pairs = [('[', ']'), ('(', ')'), ('*', '*'), ('♪', '♪'), ('♫', '♫')];
    if t.chars().all(|c| "♪♫♬♩ ".contains(c)) {
        return true;
    }
    pairs.iter().any(|&(open, close)| {
        t.len() >= 2
            && t.starts_with(open)
            && t.ends_with(close)
            && !t[1..t.len() - 1].contains(close)
    })
}

fn rms(samples: &[f32], start_ms: u64, end_ms: u64) -> f32 {
    let start = (start_ms as usize)
        .saturating_mul(SAMPLES_PER_MS)
        .min(samples.len());
    let end = (end_ms as usize)
        .saturating_mul(SAMPLES_PER_MS)
        .min(samples.len());
    let span = &samples[start..end];
    if span.is_empty() {
        return 0.0;
    }
    let sum: f64 = span.iter().map(|&s| f64::from(s) * f64::from(s)).sum();
    (sum / span.len() as f64).sqrt() as f32
}

/// How soon after an identical segment a repeat counts as a decoding loop rather than speech
/// said again: loops follow each other end to end, while a speaker who says the same sentence
/// again minutes later (a refrain, a sign-off) is transcribed both times.
pub const REPEAT_WITHIN_MS: i64 = 10_000;

/// Why `raw` should be dropped, if it should; `previous` holds the normalised texts of the
/// segments kept so far, each with its end time (on `raw`'s clock, so possibly before zero).
pub fn check(
    raw: &RawSegment,
    samples: &[f32],
    previous: &[(String, i64)],
    cfg: &GuardConfig,
) -> Option<DropReason> {
    let seg = &raw.segment;
    let norm = normalize(&seg.text);
    if is_non_speech_caption(&seg.text) {
        return Some(DropReason::NonSpeech);
    }
    if norm.is_empty() {
        return Some(DropReason::Empty);
    }
    if rms(samples, seg.start_ms, seg.end_ms) < cfg.silence_rms {
        return Some(DropReason::Silent);
    }
    if raw.no_speech_prob > cfg.no_speech_threshold && raw.avg_logprob < cfg.logprob_threshold {
        return Some(DropReason::NoSpeech);
    }
    // Stock phrases are real speech too; drop them only when the model doubts them.
    let doubtful = raw.no_speech_prob > cfg.no_speech_threshold / 2.0
        || raw.avg_logprob < cfg.logprob_threshold / 2.0;
    if doubtful && STOCK_PHRASES.contains(&norm.as_str()) {
        return Some(DropReason::StockPhrase);
    }
    let start = i64::try_from(seg.start_ms).unwrap_or(i64::MAX);
    if previous
        .iter()
        .rev()
        .take(2)
        .any(|(p, end)| *p == norm && start <= end.saturating_add(REPEAT_WITHIN_MS))
    {
        return Some(DropReason::Repeated);
    }
    None
}

/// Cuts runs of a word sequence repeated more than `max_repeats` times down to one occurrence.
/// Returns whether anything was cut.
pub fn collapse_loops(words: &mut Vec<Word>, max_repeats: usize) -> bool {
    let mut changed = false;
    let mut i = 0;
    while i < words.len() {
        let mut cut = false;
        for n in 1..=8usize {
            if i + n * (max_repeats + 1) > words.len() {
                break;
            }
            let key = |k: usize| normalize(&words[k].text);
            let mut reps = 1;
            while i + (reps + 1) * n <= words.len()
                && (0..n).all(|k| key(i + k) == key(i + reps * n + k))
            {
                reps += 1;
            }
            if reps > max_repeats {
                words.drain(i + n..i + reps * n);
                changed = true;
                cut = true;
                break;
            }
        }
        if !cut {
            i += 1;
        }
    }
    changed
}

/// Applies every guard in order, returning the segments to keep.
pub fn filter(raw: Vec<RawSegment>, samples: &[f32], cfg: &GuardConfig) -> Vec<Segment> {
    let mut guards = Guards::new(cfg);
    raw.into_iter()
        .filter_map(|r| guards.check(r, samples))
        .collect()
}

/// The guards over a transcription that comes a window at a time: each window's segments are
/// checked against that window's samples, and the repetition check spans the windows.
#[derive(Debug, Clone)]
pub struct Guards<'a> {
    cfg: &'a GuardConfig,
    /// The normalised texts of the last segments kept, with their end times on the clock of
    /// the samples being checked.
    texts: Vec<(String, i64)>,
}

impl<'a> Guards<'a> {
    /// Guards with nothing kept yet.
    pub fn new(cfg: &'a GuardConfig) -> Self {
        Self {
            cfg,
            texts: Vec::new(),
        }
    }

    /// Applies every guard in order to `raw`, whose times count from the start of `samples`;
    /// answers the segment when it is kept.
    pub fn check(&mut self, mut r: RawSegment, samples: &[f32]) -> Option<Segment> {
        if collapse_loops(&mut r.segment.words, self.cfg.max_repeats) {
            let text: String = r
                .segment
                .words
                .iter()
                .map(|w| w.text.as_str())
                .collect::<Vec<_>>()
                .join(" ");
            r.segment.text = text;
            if let Some(last) = r.segment.words.last() {
                r.segment.end_ms = r.segment.end_ms.min(last.end_ms.max(r.segment.start_ms));
            }
        }
        match check(&r, samples, &self.texts, self.cfg) {
            Some(reason) => {
                tracing::debug!(?reason, text = %r.segment.text, start_ms = r.segment.start_ms, "dropped segment");
                None
            }
            None => {
                if self.texts.len() == 2 {
                    self.texts.remove(0);
                }
                let end = i64::try_from(r.segment.end_ms).unwrap_or(i64::MAX);
                self.texts.push((normalize(&r.segment.text), end));
                Some(r.segment)
            }
        }
    }

    /// The next samples start `ms` after the current ones did: the times kept so far move onto
    /// their clock.
    pub fn advance(&mut self, ms: u64) {
        let ms = i64::try_from(ms).unwrap_or(i64::MAX);
        for (_, end) in &mut self.texts {
            *end = end.saturating_sub(ms);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn raw(
        start_ms: u64,
        end_ms: u64,
        text: &str,
        no_speech_prob: f32,
        avg_logprob: f32,
    ) -> RawSegment {
        RawSegment {
            segment: Segment {
                start_ms,
                end_ms,
                text: text.into(),
                words: text
                    .split_whitespace()
                    .enumerate()
                    .map(|(i, w)| Word {
                        text: w.into(),
                        start_ms: start_ms + i as u64 * 100,
                        end_ms: start_ms + i as u64 * 100 + 90,
                        probability: 0.9,
                    })
                    .collect(),
            },
            no_speech_prob,
            avg_logprob,
        }
    }

    fn loud(ms: usize) -> Vec<f32> {
        (0..ms * SAMPLES_PER_MS)
            .map(|i| (i as f32 * 0.05).sin() * 0.3)
            .collect()
    }

    #[test]
    fn speech_over_sound_is_kept() {
        let samples = loud(5000);
        let kept = filter(
            vec![
                raw(0, 2000, " The quick brown fox.", 0.01, -0.2),
                raw(2000, 4000, " Thank you.", 0.02, -0.1),
            ],
            &samples,
            &GuardConfig::default(),
        );
        assert_eq!(kept.len(), 2);
    }

    #[test]
    fn silence_captions_stock_phrases_and_repeats_are_dropped() {
        let mut samples = loud(10_000);
        samples[..2000 * SAMPLES_PER_MS].fill(0.0);
        let cfg = GuardConfig::default();
        let prev = vec![("hello there".to_owned(), 1500)];
        let check1 = |r: &RawSegment| check(r, &samples, &prev, &cfg);
        assert_eq!(
            check1(&raw(0, 1900, " Hello world", 0.0, -0.1)),
            Some(DropReason::Silent)
        );
        assert_eq!(
            check1(&raw(2000, 3000, " [Music]", 0.0, -0.1)),
            Some(DropReason::NonSpeech)
        );
        assert_eq!(
            check1(&raw(2000, 3000, " ♪ ♪", 0.0, -0.1)),
            Some(DropReason::NonSpeech)
        );
        assert_eq!(
            check1(&raw(2000, 3000, " ...", 0.0, -0.1)),
            Some(DropReason::Empty)
        );
        assert_eq!(
            check1(&raw(2000, 3000, " Words here", 0.8, -1.5)),
            Some(DropReason::NoSpeech)
        );
        assert_eq!(
            check1(&raw(2000, 3000, " Thank you.", 0.4, -0.3)),
            Some(DropReason::StockPhrase)
        );
        assert_eq!(
            check1(&raw(2000, 3000, " Hello, there!", 0.0, -0.1)),
            Some(DropReason::Repeated)
        );
        assert_eq!(check1(&raw(2000, 3000, " Hello, world!", 0.0, -0.1)), None);
    }

    #[test]
    fn a_sentence_said_again_later_is_kept() {
        let samples = loud(200_000);
        let cfg = GuardConfig::default();
        let mut guards = Guards::new(&cfg);
        let said = |start: u64| raw(start, start + 2000, " Subscribe for more.", 0.0, -0.1);
        assert!(guards.check(said(1000), &samples).is_some());
        assert!(
            guards.check(said(3000), &samples).is_none(),
            "end to end: a decoding loop"
        );
        assert!(
            guards.check(said(90_000), &samples).is_some(),
            "a minute and a half later: said again"
        );
        // Across windows: the next window starts 100 s later, so its second 1 is 9 s after the
        // last one ended (at 92 s), and second 3 is 11 s after.
        guards.advance(100_000);
        assert!(guards.check(said(1000), &samples).is_none());
        let mut guards = Guards::new(&cfg);
        assert!(guards.check(said(90_000), &samples).is_some());
        guards.advance(100_000);
        assert!(guards.check(said(3000), &samples).is_some());
    }

    #[test]
    fn repetition_loops_are_cut_to_one() {
        let samples = loud(10_000);
        let r = raw(
            0,
            5000,
            "I said go go go go go go now and then and then",
            0.0,
            -0.1,
        );
        let kept = filter(vec![r], &samples, &GuardConfig::default());
        assert_eq!(kept[0].text, "I said go now and then and then");
        assert_eq!(kept[0].words.len(), 8);
        let mut words = raw(0, 5000, "a b a b a b a b c", 0.0, 0.0).segment.words;
        assert!(collapse_loops(&mut words, 3));
        let texts: Vec<_> = words.iter().map(|w| w.text.as_str()).collect();
        assert_eq!(texts, ["a", "b", "c"]);
    }
}
