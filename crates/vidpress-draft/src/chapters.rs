//! The video's own chapters as the post's sections: where a creator has divided the video
//! (YouTube's chapter list, the chapters of the media file), the post follows that division and
//! takes the creator's titles as headings, rather than guessing topics from the words.

use vidpress_core::VideoChapter;

use crate::doc::Doc;
use crate::render::clean_title;

/// Longest chapter title kept as a heading, in characters; a longer one is a sentence, not a
/// heading, and the section is headed from its words instead.
const HEADING_MAX_CHARS: usize = 90;

/// A section that a chapter opens: its first sentence, and the chapter's title when it names a
/// topic (`None` for a placeholder such as "Chapter 3": the section is headed from its words).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ChapterStart {
    pub sentence: usize,
    pub heading: Option<String>,
}

/// The sections the chapters make, in order, the first opening at the first sentence; `None`
/// when they do not divide the speech into at least two sections, or would make more than
/// `max_sections` (the sections are then found from the words).
///
/// A sentence belongs to the chapter its midpoint falls in, so a chapter mark set a little early
/// or late still opens at the sentence a listener hears as the chapter's start. A chapter with
/// no sentence of its own (two marks in one pause, a mark after the last words) opens nothing;
/// where marks share a sentence, the later one names it.
pub(crate) fn chapter_starts(
    doc: &Doc,
    chapters: &[VideoChapter],
    max_sections: usize,
) -> Option<Vec<ChapterStart>> {
    let n = doc.sentences.len();
    if chapters.len() < 2 || n < 2 {
        return None;
    }
    let mut chapters: Vec<&VideoChapter> = chapters.iter().collect();
    chapters.sort_by_key(|c| c.start_ms);
    let midpoint = |i: usize| {
        let s = &doc.sentences[i];
        s.start_ms + s.end_ms.saturating_sub(s.start_ms) / 2
    };
    let mut starts: Vec<ChapterStart> = Vec::new();
    for (k, chapter) in chapters.iter().enumerate() {
        let sentence = if k == 0 {
            // Whatever is said before the first mark (a greeting) opens the first section.
            0
        } else {
            match (0..n).find(|&i| midpoint(i) >= chapter.start_ms) {
                Some(i) => i,
                None => break,
            }
        };
        let heading = heading(&chapter.title);
        match starts.last_mut() {
            Some(last) if last.sentence == sentence => last.heading = heading,
            _ => starts.push(ChapterStart { sentence, heading }),
        }
    }
    (starts.len() >= 2 && starts.len() <= max_sections).then_some(starts)
}

/// A chapter title made fit for a heading: cleaned as a video title is, with a leading number
/// or time (`1.`, `02 -`, `3)`, `4:05`) removed; `None` when nothing but a placeholder is left
/// ("Chapter 3", "Kapitel 3", "Chapitre 3", "Capítulo 3", a bare number) or it is too long.
pub(crate) fn heading(title: &str) -> Option<String> {
    let cleaned = clean_title(title);
    let mut text = cleaned.as_str();
    // A time at the start, or a number set off by punctuation ("1984 in review" and "3D
    // printing" keep theirs).
    let rest = text.trim_start_matches(|c: char| c.is_ascii_digit() || c == ':');
    let number = &text[..text.len() - rest.len()];
    let punctuation = |c: char| matches!(c, '.' | ')' | '-' | '\u{2013}' | '\u{2014}' | ':' | '|');
    let after = rest.trim_start();
    if !number.is_empty()
        && (rest.is_empty()
            || (number.contains(':') && after.len() < rest.len())
            || after.starts_with(punctuation))
    {
        text = after.trim_start_matches(|c: char| c.is_whitespace() || punctuation(c));
    }
    let text = text.trim();
    if text.is_empty() || text.chars().count() > HEADING_MAX_CHARS || is_placeholder(text) {
        return None;
    }
    Some(text.to_owned())
}

/// "Chapter 3", "Kapitel 3", "Chapitre 3", "Capítulo 3": names that editing tools give
/// chapters nobody named.
fn is_placeholder(text: &str) -> bool {
    let mut words = text.split_whitespace();
    let (Some(first), Some(second), None) = (words.next(), words.next(), words.next()) else {
        return false;
    };
    let first = first.to_lowercase();
    ["chapter", "kapitel", "chapitre", "capítulo", "capitulo"].contains(&first.as_str())
        && second.chars().all(|c| c.is_ascii_digit())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn titles_lose_their_numbers_and_placeholders_give_way() {
        assert_eq!(heading("Fixing the tap").as_deref(), Some("Fixing the tap"));
        assert_eq!(
            heading("1. Fixing the tap").as_deref(),
            Some("Fixing the tap")
        );
        assert_eq!(heading("02 - Painting").as_deref(), Some("Painting"));
        assert_eq!(heading("3) The door").as_deref(), Some("The door"));
        assert_eq!(heading("4:05 Outro").as_deref(), Some("Outro"));
        // A number that is the topic stays.
        assert_eq!(heading("1984 in review").as_deref(), Some("1984 in review"));
        assert_eq!(heading("3D printing").as_deref(), Some("3D printing"));
        assert_eq!(heading("Chapter 3"), None);
        assert_eq!(heading("Kapitel 12"), None);
        assert_eq!(heading("7"), None);
        assert_eq!(heading("   "), None);
        assert_eq!(heading(&"word ".repeat(30)), None);
    }
}
