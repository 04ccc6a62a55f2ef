//! Transcript → structured blog post, deterministically, with no network and no model.
//!
//! [`format`] cleans the spoken words (fillers, stutters, false starts, Whisper's noise tags and
//! repeated lines), splits them into sentences, finds sections at topic shifts by lexical
//! cohesion (TextTiling) and paragraphs at pauses, then picks headings, tags, an extractive
//! intro and pull quotes, and renders Markdown and sanitized HTML. Transcript text is always
//! data: it is escaped, never interpreted as Markdown or HTML.

mod clean;
mod doc;
mod render;
mod structure;
mod summary;
mod text;
mod tokens;

use vidpress_core::Transcript;

pub use render::render_html;
pub use vidpress_core::{
    Chapter, Draft, MediaUrl, Paragraph, PullQuote, Section, Slug, VideoMeta, VideoSource,
};

/// Tuning for [`format`]. The defaults suit talks from a minute to a few hours.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DraftOptions {
    /// No section is shorter than this many words (so short videos get one section).
    pub min_section_words: usize,
    /// At most this many sections, however long the video.
    pub max_sections: usize,
    /// At most this many tags (3–8 is what blogs expect).
    pub max_tags: usize,
    /// At most this many pull quotes.
    pub max_pull_quotes: usize,
}

impl Default for DraftOptions {
    fn default() -> Self {
        Self {
            min_section_words: 120,
            max_sections: 24,
            max_tags: 8,
            max_pull_quotes: 3,
        }
    }
}

/// The title used when neither the video nor its transcript gives one.
const UNTITLED: &str = "Untitled video";

/// Formats a transcript and the video's metadata into a draft post with its Markdown source and
/// sanitized HTML. Never fails: an empty transcript gives a small post with the title and video.
pub fn format(transcript: &Transcript, video: &VideoMeta, options: &DraftOptions) -> Draft {
    let sentences = clean::sentences(tokens::tokens(transcript));
    let doc = doc::Doc::new(sentences);
    let limits = structure::Limits {
        min_section_words: options.min_section_words.max(1),
        max_sections: options.max_sections.max(1),
    };
    let layout = structure::layout(&doc, limits);
    let ranges: Vec<std::ops::Range<usize>> = layout
        .iter()
        .filter_map(|paragraphs| Some(paragraphs.first()?.start..paragraphs.last()?.end))
        .collect();
    let counts = summary::Counts {
        max_tags: options.max_tags,
        max_pull_quotes: options.max_pull_quotes,
    };
    let summary = summary::summarise(&doc, &ranges, counts);

    let sentence_text = |range: std::ops::Range<usize>| {
        doc.sentences[range]
            .iter()
            .map(|s| s.text.as_str())
            .collect::<Vec<_>>()
            .join(" ")
    };
    let sections: Vec<Section> = layout
        .iter()
        .zip(&summary.headings)
        .map(|(paragraphs, heading)| {
            let paragraphs: Vec<Paragraph> = paragraphs
                .iter()
                .map(|r| Paragraph {
                    start_ms: doc.sentences[r.start].start_ms,
                    end_ms: doc.sentences[r.end - 1].end_ms,
                    text: sentence_text(r.clone()),
                })
                .collect();
            let start_ms = paragraphs.first().map_or(0, |p| p.start_ms);
            let end_ms = paragraphs.last().map_or(start_ms, |p| p.end_ms);
            Section {
                heading: heading.clone(),
                start_ms,
                end_ms,
                watch_url: video.source.watch_url(start_ms),
                paragraphs,
            }
        })
        .collect();
    let intro = summary
        .intro
        .iter()
        .map(|&i| doc.sentences[i].text.as_str())
        .collect::<Vec<_>>()
        .join(" ");
    let pull_quotes: Vec<PullQuote> = summary
        .quotes
        .iter()
        .map(|&i| PullQuote {
            text: doc.sentences[i].text.clone(),
            start_ms: doc.sentences[i].start_ms,
        })
        .collect();
    let chapters: Vec<Chapter> = sections
        .iter()
        .enumerate()
        .map(|(k, s)| {
            // YouTube chapter lists start at 0:00.
            let start_ms = if k == 0 { 0 } else { s.start_ms };
            Chapter {
                start_ms,
                timestamp: render::timestamp(start_ms),
                title: s.heading.clone(),
            }
        })
        .collect();

    let mut title = render::clean_title(&video.title);
    if title.is_empty() {
        title = sections
            .first()
            .map_or_else(|| UNTITLED.to_owned(), |s| s.heading.clone());
    }
    let slug = render::slugify(&title)
        .filter(|_| title != UNTITLED)
        .unwrap_or_else(|| render::fallback_slug(&video.source));
    let tags = with_title_tags(summary.tags, &title, options.max_tags);
    let description_source: Vec<&str> = if summary.intro.is_empty() {
        doc.sentences
            .iter()
            .take(4)
            .map(|s| s.text.as_str())
            .collect()
    } else {
        summary
            .intro
            .iter()
            .map(|&i| doc.sentences[i].text.as_str())
            .collect()
    };
    let description = if description_source.is_empty() {
        render::description(&[title.as_str()])
    } else {
        render::description(&description_source)
    };

    let markdown = render::markdown(&render::Post {
        title: &title,
        video: &video.source,
        intro: &intro,
        chapters: &chapters,
        sections: &sections,
        pull_quotes: &pull_quotes,
    });
    let html = render_html(&markdown);
    Draft {
        title,
        slug,
        description,
        intro,
        sections,
        pull_quotes,
        tags,
        chapters,
        video: video.source.clone(),
        markdown,
        html,
    }
}

/// Tops the tags up to three from the title's content words when the transcript gives too few.
fn with_title_tags(mut tags: Vec<String>, title: &str, max: usize) -> Vec<String> {
    for word in title.split_whitespace() {
        if tags.len() >= 3.min(max) {
            break;
        }
        let c = text::core(word);
        if text::is_content_word(&c) && !tags.iter().any(|t| text::stem(t) == text::stem(&c)) {
            tags.push(c);
        }
    }
    tags
}
