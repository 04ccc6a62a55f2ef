//! Caption files from a timed transcript: SubRip (`.srt`) and WebVTT (`.vtt`).
//!
//! Long segments are split into cues of at most two lines of [`MAX_LINE`] characters, at word
//! boundaries and with word times where Whisper gave them, so players can show them.

use vidpress_core::{Segment, Transcript};

/// Longest caption line, in characters (the usual broadcast limit).
pub const MAX_LINE: usize = 42;
const MAX_CUE: usize = MAX_LINE * 2;

/// One caption on screen.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cue {
    /// When it appears, in milliseconds.
    pub start_ms: u64,
    /// When it disappears, in milliseconds.
    pub end_ms: u64,
    /// One or two lines of text.
    pub lines: Vec<String>,
}

fn wrap(text: &str) -> Vec<String> {
    let mut lines: Vec<String> = vec![String::new()];
    for word in text.split_whitespace() {
        let last = lines.last_mut().expect("lines is never empty");
        if !last.is_empty() && last.chars().count() + 1 + word.chars().count() > MAX_LINE {
            lines.push(word.to_owned());
        } else {
            if !last.is_empty() {
                last.push(' ');
            }
            last.push_str(word);
        }
    }
    lines.retain(|l| !l.is_empty());
    lines
}

fn segment_cues(seg: &Segment, out: &mut Vec<Cue>) {
    let text = seg.text.split_whitespace().collect::<Vec<_>>().join(" ");
    if text.is_empty() {
        return;
    }
    if text.chars().count() <= MAX_CUE || seg.words.is_empty() {
        if text.chars().count() <= MAX_CUE {
            out.push(Cue {
                start_ms: seg.start_ms,
                end_ms: seg.end_ms,
                lines: wrap(&text),
            });
            return;
        }
        // No word times: share the segment's time among chunks by their length.
        let chunks = chunk_words(text.split_whitespace());
        let total: usize = chunks
            .iter()
            .map(|c| c.chars().count())
            .sum::<usize>()
            .max(1);
        let span = seg.end_ms - seg.start_ms;
        let mut at = seg.start_ms;
        let mut done = 0usize;
        for c in chunks {
            done += c.chars().count();
            let end = seg.start_ms + span * done as u64 / total as u64;
            out.push(Cue {
                start_ms: at,
                end_ms: end,
                lines: wrap(&c),
            });
            at = end;
        }
        return;
    }
    // Split at word boundaries using the words' own times.
    let mut start = 0;
    let mut len = 0;
    for (i, w) in seg.words.iter().enumerate() {
        let wl = w.text.chars().count() + usize::from(len > 0);
        if len > 0 && len + wl > MAX_CUE {
            push_words(seg, start, i, out);
            start = i;
            len = w.text.chars().count();
        } else {
            len += wl;
        }
    }
    push_words(seg, start, seg.words.len(), out);
}

fn push_words(seg: &Segment, from: usize, to: usize, out: &mut Vec<Cue>) {
    let words = &seg.words[from..to];
    let (Some(first), Some(last)) = (words.first(), words.last()) else {
        return;
    };
    let text = words
        .iter()
        .map(|w| w.text.trim())
        .collect::<Vec<_>>()
        .join(" ");
    let start_ms = if from == 0 {
        seg.start_ms
    } else {
        first.start_ms
    };
    let end_ms = if to == seg.words.len() {
        seg.end_ms
    } else {
        last.end_ms
    };
    out.push(Cue {
        start_ms,
        end_ms: end_ms.max(start_ms),
        lines: wrap(&text),
    });
}

fn chunk_words<'a>(words: impl Iterator<Item = &'a str>) -> Vec<String> {
    let mut chunks: Vec<String> = Vec::new();
    let mut cur = String::new();
    for w in words {
        if !cur.is_empty() && cur.chars().count() + 1 + w.chars().count() > MAX_CUE {
            chunks.push(std::mem::take(&mut cur));
        }
        if !cur.is_empty() {
            cur.push(' ');
        }
        cur.push_str(w);
    }
    if !cur.is_empty() {
        chunks.push(cur);
    }
    chunks
}

/// The transcript's cues in time order; cues never overlap the next one.
pub fn cues(transcript: &Transcript) -> Vec<Cue> {
    let mut out = Vec::new();
    for seg in transcript.segments() {
        segment_cues(seg, &mut out);
    }
    for i in 1..out.len() {
        let next_start = out[i].start_ms;
        let prev = &mut out[i - 1];
        if prev.end_ms > next_start {
            prev.end_ms = next_start.max(prev.start_ms);
        }
    }
    out
}

fn timestamp(ms: u64, fraction_sep: char) -> String {
    format!(
        "{:02}:{:02}:{:02}{}{:03}",
        ms / 3_600_000,
        ms / 60_000 % 60,
        ms / 1000 % 60,
        fraction_sep,
        ms % 1000
    )
}

/// The transcript as a SubRip file: numbered cues, `HH:MM:SS,mmm` times, CRLF-free.
pub fn to_srt(transcript: &Transcript) -> String {
    let mut out = String::new();
    for (i, cue) in cues(transcript).iter().enumerate() {
        out.push_str(&format!(
            "{}\n{} --> {}\n{}\n\n",
            i + 1,
            timestamp(cue.start_ms, ','),
            timestamp(cue.end_ms, ','),
            cue.lines.join("\n")
        ));
    }
    out
}

/// Escapes the characters WebVTT cue text reserves.
fn vtt_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// The transcript as a WebVTT file, with the language in the header when known.
pub fn to_vtt(transcript: &Transcript) -> String {
    let mut out = String::from("WEBVTT\n");
    if let Some(lang) = transcript.language() {
        out.push_str(&format!("Language: {lang}\n"));
    }
    out.push('\n');
    for cue in cues(transcript) {
        let lines: Vec<String> = cue
            .lines
            .iter()
            .map(|l| vtt_escape(l).replace("-->", "--&gt;"))
            .collect();
        out.push_str(&format!(
            "{} --> {}\n{}\n\n",
            timestamp(cue.start_ms, '.'),
            timestamp(cue.end_ms, '.'),
            lines.join("\n")
        ));
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

    #[test]
    fn srt_numbers_cues_and_uses_commas() {
        let t = Transcript::new(
            Some("en".into()),
            vec![
                seg(0, 1500, " Hello there."),
                seg(3_723_004, 3_725_000, " Second <b> & more"),
            ],
        )
        .unwrap();
        assert_eq!(
            to_srt(&t),
            "1\n00:00:00,000 --> 00:00:01,500\nHello there.\n\n2\n01:02:03,004 --> 01:02:05,000\nSecond <b> & more\n\n"
        );
    }

    #[test]
    fn vtt_has_header_dots_and_escapes() {
        let t = Transcript::new(Some("en".into()), vec![seg(0, 1500, " a < b & c --> d")]).unwrap();
        assert_eq!(
            to_vtt(&t),
            "WEBVTT\nLanguage: en\n\n00:00:00.000 --> 00:00:01.500\na &lt; b &amp; c --&gt; d\n\n"
        );
        let empty = Transcript::new(None, vec![]).unwrap();
        assert_eq!(to_vtt(&empty), "WEBVTT\n\n");
        assert_eq!(to_srt(&empty), "");
    }

    #[test]
    fn long_segments_split_at_word_times_into_two_line_cues() {
        let text = "one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen sixteen seventeen";
        let words: Vec<Word> = text
            .split(' ')
            .enumerate()
            .map(|(i, w)| Word {
                text: w.into(),
                start_ms: 1000 + i as u64 * 500,
                end_ms: 1000 + i as u64 * 500 + 400,
                probability: 0.9,
            })
            .collect();
        let s = Segment {
            start_ms: 1000,
            end_ms: 9500,
            text: text.into(),
            words,
        };
        let t = Transcript::new(None, vec![s]).unwrap();
        let c = cues(&t);
        assert_eq!(c.len(), 2);
        assert!(
            c.iter().all(
                |c| c.lines.len() <= 2 && c.lines.iter().all(|l| l.chars().count() <= MAX_LINE)
            )
        );
        assert_eq!(c[0].start_ms, 1000);
        assert_eq!(c[1].start_ms, c[0].end_ms.max(c[1].start_ms));
        assert_eq!(c[1].end_ms, 9500);
        let rejoined: Vec<String> = c.iter().map(|c| c.lines.join(" ")).collect();
        assert_eq!(rejoined.join(" "), text);
    }

    #[test]
    fn overlapping_segments_are_trimmed() {
        let t = Transcript::new(None, vec![seg(0, 2000, "a"), seg(1500, 3000, "b")]).unwrap();
        let c = cues(&t);
        assert_eq!((c[0].end_ms, c[1].start_ms), (1500, 1500));
    }
}
