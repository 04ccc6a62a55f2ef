//! Transcript → structured blog post, deterministically, with no network and no IO.
//!
//! [`format()`] cleans the spoken words (fillers, stutters, false starts, Whisper's noise tags and
//! repeated lines) in the transcript's language, splits them into sentences, follows the video's
//! own chapters when it declares them and otherwise finds sections at topic shifts (spoken
//! discourse cues, long pauses, lexical cohesion and, through [`format_with`], sentence
//! embeddings), and paragraphs at pauses, then takes the chapter titles as headings or picks them
//! among each section's candidate phrases, keyphrase tags, an intro that says what the video
//! covers and pull quotes, and renders Markdown and sanitized HTML. Transcript text is always
//! data: it is escaped, never interpreted as Markdown or HTML.

mod chapters;
mod clean;
mod doc;
mod lang;
mod render;
mod structure;
mod summary;
mod text;
mod timing;
mod tokens;

use vidpress_core::Transcript;

pub use render::render_html;
pub use vidpress_core::{
    Chapter, Draft, MediaUrl, Paragraph, PullQuote, ReviewMark, Section, Slug, VideoChapter,
    VideoMeta, VideoSource,
};

/// Whisper's confidence below which a word is marked for review.
pub const REVIEW_CONFIDENCE: f32 = 0.5;

/// Tuning for [`format()`]. The defaults suit talks from a minute to a few hours.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DraftOptions {
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
            max_sections: 24,
            max_tags: 8,
            max_pull_quotes: 3,
        }
    }
}

/// A sentence-embedding model, run outside this crate (which does no IO): texts in, one
/// vector each out. Used to find topic changes and to choose headings.
pub trait Embedder {
    /// Whether the model was trained for this Whisper language code; where it was not, the
    /// draft is made from the words alone.
    fn covers(&self, language: &str) -> bool;
    /// One vector per text, all of one length; `None` when the model failed (the draft is then
    /// made from the words alone).
    fn embed(&self, texts: &[&str]) -> Option<Vec<Vec<f32>>>;
}

/// The title used when neither the video nor its transcript gives one.
const UNTITLED: &str = "Untitled video";

/// What [`format_with`] may use beyond the transcript, each loaded by the caller (this crate
/// does no IO); without them the draft is made from the words, pauses and cues alone.
#[derive(Default, Clone, Copy)]
pub struct Aids<'a> {
    /// A sentence-embedding model, for topic changes and headings.
    pub embedder: Option<&'a dyn Embedder>,
    /// The Hunspell dictionary of the transcript's language, to mark words that are not words.
    pub dictionary: Option<&'a spellbook::Dictionary>,
}

/// Formats a transcript and the video's metadata into a draft post with its Markdown source and
/// sanitized HTML, from the words, pauses and spoken cues alone. Never fails: an empty
/// transcript gives a small post with the title and video.
pub fn format(transcript: &Transcript, video: &VideoMeta, options: &DraftOptions) -> Draft {
    format_with(transcript, video, options, &Aids::default())
}

/// Like [`format()`], with sentence embeddings joining the words in finding topic changes and
/// choosing headings (when the model covers the transcript's language), and a dictionary
/// marking words for review.
pub fn format_with(
    transcript: &Transcript,
    video: &VideoMeta,
    options: &DraftOptions,
    aids: &Aids<'_>,
) -> Draft {
    let embedder = aids.embedder;
    let lang = lang::Lang::new(transcript.language());
    let sentences = clean::sentences(tokens::tokens(transcript), &lang);
    let doc = doc::Doc::new(sentences, lang, aids.dictionary);
    let embedder = embedder.filter(|e| e.covers(&doc.lang.code));
    let vectors: Option<Vec<Vec<f32>>> = embedder.and_then(|e| {
        let texts: Vec<&str> = doc.sentences.iter().map(|s| s.text.as_str()).collect();
        e.embed(&texts).filter(|v| v.len() == texts.len())
    });
    let limits = structure::Limits {
        max_sections: options.max_sections.max(1),
    };
    // Where the video declares its own chapters, the post follows them.
    let chapter_starts = chapters::chapter_starts(&doc, &video.chapters, limits.max_sections);
    let layout = match &chapter_starts {
        Some(starts) => structure::layout_at(&doc, starts.iter().map(|c| c.sentence).collect()),
        None => structure::layout(&doc, limits, vectors.as_deref()),
    };
    let ranges: Vec<std::ops::Range<usize>> = layout
        .iter()
        .filter_map(|paragraphs| Some(paragraphs.first()?.start..paragraphs.last()?.end))
        .collect();
    let counts = summary::Counts {
        max_tags: options.max_tags,
        max_pull_quotes: options.max_pull_quotes,
    };
    let embedded = match (embedder, vectors.as_deref()) {
        (Some(embedder), Some(sentences)) => Some(summary::Embedded {
            sentences,
            embedder,
        }),
        _ => None,
    };
    let own_title = render::clean_title(&video.title);
    let own_title = if is_file_name(&own_title, &video.source) {
        String::new()
    } else {
        own_title
    };
    // A chapter's own title heads its section; a placeholder ("Chapter 3") gives way to a
    // heading from the section's words.
    let given: Vec<Option<String>> = chapter_starts
        .iter()
        .flatten()
        .map(|c| c.heading.clone())
        .collect();
    let summary = summary::summarise(&doc, &ranges, &given, &own_title, counts, embedded.as_ref());

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
        .covers
        .iter()
        .map(String::as_str)
        .chain(
            summary
                .intro
                .iter()
                .map(|&i| doc.sentences[i].text.as_str()),
        )
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

    let title = if own_title.is_empty() {
        made_title(&summary.topics, doc.lang.and)
    } else {
        own_title
    };
    let slug = render::slugify(&title)
        .filter(|_| title != UNTITLED)
        .unwrap_or_else(|| render::fallback_slug(&video.source));
    let tags = summary.tags;
    let description = match (&summary.covers, summary.intro.is_empty()) {
        (Some(covers), _) if covers.chars().count() <= render::DESCRIPTION_MAX_CHARS => {
            render::description(&[covers.as_str()])
        }
        (_, false) => {
            let sentences: Vec<&str> = summary
                .intro
                .iter()
                .map(|&i| doc.sentences[i].text.as_str())
                .collect();
            render::description(&sentences)
        }
        _ if !doc.sentences.is_empty() => {
            let sentences: Vec<&str> = doc
                .sentences
                .iter()
                .take(4)
                .map(|s| s.text.as_str())
                .collect();
            render::description(&sentences)
        }
        _ => render::description(&[title.as_str()]),
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
    let review = review_marks(&doc, &layout);
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
        review,
    }
}

/// The words a person should check: those Whisper was unsure of, and those the dictionary does
/// not know (tried as written and in lowercase, for sentence starts).
fn review_marks(doc: &doc::Doc, layout: &[Vec<std::ops::Range<usize>>]) -> Vec<ReviewMark> {
    let mut out = Vec::new();
    for (section, paragraphs) in layout.iter().enumerate() {
        for (paragraph, range) in paragraphs.iter().enumerate() {
            let mut index = 0;
            for sentence in range.clone() {
                let s = &doc.sentences[sentence];
                for (k, word) in s.words.iter().enumerate() {
                    let pieces = word.split_whitespace().count().max(1);
                    let bare = word.trim_matches(|c: char| !c.is_alphanumeric());
                    let confidence = s.confidence.get(k).copied().unwrap_or(1.0);
                    let unsure = confidence < REVIEW_CONFIDENCE && !bare.is_empty();
                    let misspelled = doc.misspelled[sentence][k];
                    if unsure || misspelled {
                        out.push(ReviewMark {
                            word: bare.to_owned(),
                            section,
                            paragraph,
                            word_index: index,
                            start_ms: s.word_start_ms.get(k).copied().unwrap_or(s.start_ms),
                            confidence: (confidence.clamp(0.0, 1.0) * 100.0).round() as u8,
                            unsure,
                            misspelled,
                        });
                    }
                    index += pieces;
                }
            }
        }
    }
    out
}

/// Whether a "title" is only the media file's name (what an upload is called), which never
/// makes a post title.
fn is_file_name(title: &str, source: &VideoSource) -> bool {
    let VideoSource::File(name) = source else {
        return false;
    };
    let stem = std::path::Path::new(name)
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    let title = title.trim();
    title == name || title == stem || render::clean_title(&stem) == title
}

/// A title from the section topics: "Fixing a dripping tap, a squeaky door and painting a wall",
/// at most three topics and about 70 characters.
fn made_title(topics: &[String], and: &str) -> String {
    let topics: Vec<&str> = topics
        .iter()
        .map(String::as_str)
        .filter(|t| !t.is_empty())
        .collect();
    for take in (1..=topics.len().min(3)).rev() {
        let list = &topics[..take];
        let joined = match take {
            1 => list[0].to_owned(),
            n => format!("{} {and} {}", list[..n - 1].join(", "), list[n - 1]),
        };
        if joined.chars().count() <= 70 || take == 1 {
            let mut chars = joined.chars();
            return match chars.next() {
                Some(c) => c.to_uppercase().chain(chars).collect(),
                None => UNTITLED.to_owned(),
            };
        }
    }
    UNTITLED.to_owned()
}
