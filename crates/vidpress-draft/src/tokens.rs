//! From a transcript's segments to one timed word stream, without Whisper's artefacts: noise tags
//! such as `[Music]` or `(applause)`, music notes, special tokens and repeated lines.

use vidpress_core::{Segment, Transcript};

use crate::text::core;

/// A word as spoken, with the punctuation Whisper attached to it.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Token {
    pub text: String,
    pub start_ms: u64,
    pub end_ms: u64,
    /// Time taken just before this word by fillers that were removed; it is no pause.
    pub hesitation_ms: u64,
    /// Whisper's confidence in the word (mean token probability; 1 when it gave none).
    pub probability: f32,
}

/// What bracketed noise tags say; a parenthesised aside is dropped only when every word is one.
const NOISE_WORDS: &[&str] = &[
    "applause",
    "background",
    "beep",
    "bell",
    "birds",
    "blank_audio",
    "chatter",
    "cheering",
    "chuckles",
    "chuckling",
    "clapping",
    "coughing",
    "coughs",
    "crowd",
    "foreign",
    "gasps",
    "inaudible",
    "indistinct",
    "instrumental",
    "language",
    "laughing",
    "laughs",
    "laughter",
    "music",
    "noise",
    "playing",
    "sighs",
    "silence",
    "sniffs",
    "speaking",
    "static",
    "upbeat",
    "wind",
];

/// The transcript's words in time order, artefacts removed. Consecutive segments that say the
/// same thing (Whisper's repetition loops) are kept once.
pub(crate) fn tokens(transcript: &Transcript) -> Vec<Token> {
    let mut out = Vec::new();
    let mut previous_line = String::new();
    for segment in transcript.segments() {
        let words = strip_noise(segment_words(segment));
        let line: Vec<String> = words
            .iter()
            .map(|w| core(&w.text))
            .filter(|w| !w.is_empty())
            .collect();
        if line.is_empty() {
            continue;
        }
        let line = line.join(" ");
        if line == previous_line {
            continue;
        }
        previous_line = line;
        out.extend(words);
    }
    out
}

/// Whisper and whisper.cpp markers that are not speech: `[_BEG_]`, `[_TT_150]`, `<|endoftext|>`.
fn is_special_token(text: &str) -> bool {
    let t = text.trim();
    (t.starts_with("[_") && t.ends_with(']')) || (t.starts_with("<|") && t.ends_with("|>"))
}

/// A segment's words with times. Each word entry is a whole word (leading spaces, as
/// faster-whisper writes them, are ignored); an entry of punctuation alone belongs to the word
/// before it. Without word entries, the text is split and the segment's time shared out by length.
fn segment_words(segment: &Segment) -> Vec<Token> {
    let mut out: Vec<Token> = Vec::new();
    let usable: Vec<_> = segment
        .words
        .iter()
        .filter(|w| !is_special_token(&w.text))
        .collect();
    if usable.iter().any(|w| !w.text.trim().is_empty()) {
        for w in usable {
            let text = clean_chars(&w.text);
            let punctuation_only = !text.trim().is_empty()
                && text
                    .trim()
                    .chars()
                    .all(|c| c.is_ascii_punctuation() && !matches!(c, '(' | '[' | '"' | '\''));
            let starts_word = !punctuation_only || out.is_empty();
            let mut pieces = text.split_whitespace();
            let Some(first) = pieces.next() else { continue };
            let end_ms = w.end_ms.max(w.start_ms);
            match out.last_mut() {
                Some(last) if !starts_word => {
                    last.text.push_str(first);
                    last.end_ms = last.end_ms.max(end_ms);
                }
                _ => out.push(Token {
                    text: first.to_owned(),
                    start_ms: w.start_ms,
                    end_ms,
                    hesitation_ms: 0,
                    probability: w.probability,
                }),
            }
            for piece in pieces {
                out.push(Token {
                    text: piece.to_owned(),
                    start_ms: w.start_ms,
                    end_ms,
                    hesitation_ms: 0,
                    probability: w.probability,
                });
            }
        }
        return out;
    }
    let text = clean_chars(&segment.text);
    let pieces: Vec<&str> = text.split_whitespace().collect();
    let total: u64 = pieces.iter().map(|p| p.chars().count() as u64 + 1).sum();
    let span = segment.end_ms.saturating_sub(segment.start_ms);
    let mut offset = 0;
    for piece in pieces {
        let len = piece.chars().count() as u64 + 1;
        let start_ms = segment.start_ms + span * offset / total.max(1);
        offset += len;
        let end_ms = segment.start_ms + span * offset / total.max(1);
        out.push(Token {
            text: piece.to_owned(),
            start_ms,
            end_ms,
            hesitation_ms: 0,
            probability: 1.0,
        });
    }
    out
}

/// Drops control and zero-width characters and turns odd spaces into plain ones.
fn clean_chars(text: &str) -> String {
    text.chars()
        .filter(|c| !matches!(c, '\u{200B}'..='\u{200D}' | '\u{2060}' | '\u{FEFF}'))
        .map(|c| if c.is_whitespace() { ' ' } else { c })
        .filter(|c| !c.is_control())
        .collect()
}

fn is_music_note(c: char) -> bool {
    matches!(c, '♪' | '♫' | '♬' | '♩' | '🎵' | '🎶')
}

/// Removes `[...]` spans, `(...)`/`*...*` spans made only of noise words, music notes, and
/// whole sung lines (between music notes).
fn strip_noise(words: Vec<Token>) -> Vec<Token> {
    let sung = words
        .first()
        .is_some_and(|w| w.text.starts_with(is_music_note))
        && words.last().is_some_and(|w| {
            w.text
                .trim_end_matches(|c: char| !c.is_alphanumeric() && !is_music_note(c))
                .ends_with(is_music_note)
        })
        && words.len() > 1;
    if sung {
        return Vec::new();
    }
    // Square brackets: everything inside goes, even across words.
    let mut out: Vec<Token> = Vec::with_capacity(words.len());
    let mut depth = 0usize;
    for mut w in words {
        let mut kept = String::new();
        for c in w.text.chars() {
            match c {
                '[' => depth += 1,
                ']' if depth > 0 => depth -= 1,
                _ if depth == 0 && !is_music_note(c) => kept.push(c),
                _ => {}
            }
        }
        if kept.chars().any(char::is_alphanumeric) {
            w.text = kept;
            out.push(w);
        } else if !kept.is_empty() {
            // Punctuation left after a tag (`[Music].`) belongs to the word before it.
            if let Some(last) = out.last_mut() {
                let trailing: String = kept.chars().filter(|c| ".?!".contains(*c)).collect();
                if !trailing.is_empty() && !last.text.ends_with(['.', '?', '!']) {
                    last.text.push_str(&trailing);
                }
            }
        }
    }
    drop_noise_asides(out)
}

/// Drops `(laughs)`, `(upbeat music)`, `*coughs*`: short asides whose every word is a noise word.
fn drop_noise_asides(words: Vec<Token>) -> Vec<Token> {
    let mut out = Vec::with_capacity(words.len());
    let mut i = 0;
    while i < words.len() {
        let open = words[i].text.starts_with(['(', '*']);
        if open {
            let closer = if words[i].text.starts_with('(') {
                ')'
            } else {
                '*'
            };
            let end = (i..words.len().min(i + 4)).find(|&j| {
                let t = words[j].text.trim_end_matches(['.', ',', '?', '!']);
                t.ends_with(closer) && (j > i || t.len() > 1)
            });
            if let Some(end) = end {
                let all_noise = words[i..=end].iter().all(|w| {
                    let c = core(&w.text);
                    NOISE_WORDS.contains(&c.as_str())
                });
                if all_noise {
                    i = end + 1;
                    continue;
                }
            }
        }
        out.push(words[i].clone());
        i += 1;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use vidpress_core::Word;

    fn seg(start_ms: u64, end_ms: u64, text: &str) -> Segment {
        Segment {
            start_ms,
            end_ms,
            text: text.into(),
            words: vec![],
        }
    }

    fn texts(t: &[Token]) -> Vec<&str> {
        t.iter().map(|w| w.text.as_str()).collect()
    }

    #[test]
    fn noise_words_are_sorted() {
        assert!(NOISE_WORDS.windows(2).all(|p| p[0] < p[1]));
    }

    #[test]
    fn text_only_segments_get_interpolated_times() {
        let t = Transcript::new(None, vec![seg(1000, 2000, " one two three four")]).unwrap();
        let words = tokens(&t);
        assert_eq!(texts(&words), ["one", "two", "three", "four"]);
        assert_eq!(words[0].start_ms, 1000);
        assert_eq!(words[3].end_ms, 2000);
        assert!(words.windows(2).all(|p| p[0].end_ms <= p[1].start_ms));
    }

    #[test]
    fn words_stay_apart_punctuation_joins_and_special_tokens_drop() {
        let w = |text: &str, start_ms, end_ms| Word {
            text: text.into(),
            start_ms,
            end_ms,
            probability: 0.9,
        };
        let segment = Segment {
            start_ms: 0,
            end_ms: 900,
            text: " Sourdough rocks.".into(),
            words: vec![
                w("[_BEG_]", 0, 0),
                w(" Sourdough", 0, 400),
                w("rocks", 400, 800),
                w(".", 800, 900),
            ],
        };
        let t = Transcript::new(None, vec![segment]).unwrap();
        let words = tokens(&t);
        assert_eq!(texts(&words), ["Sourdough", "rocks."]);
        assert_eq!((words[0].start_ms, words[0].end_ms), (0, 400));
        assert_eq!((words[1].start_ms, words[1].end_ms), (400, 900));
    }

    #[test]
    fn noise_tags_music_and_repeated_lines_go() {
        let t = Transcript::new(
            None,
            vec![
                seg(0, 1000, " [Music]"),
                seg(1000, 2000, " Hello there. (laughs) [ Applause ]"),
                seg(2000, 3000, " Hello there."),
                seg(3000, 4000, " ♪ la la la ♪"),
                seg(4000, 5000, " We saw (a big storm) today ♪"),
            ],
        )
        .unwrap();
        assert_eq!(
            texts(&tokens(&t)),
            [
                "Hello", "there.", "We", "saw", "(a", "big", "storm)", "today"
            ]
        );
    }
}
