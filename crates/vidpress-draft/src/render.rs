//! Turning the pieces of a draft into text: the cleaned title, the slug, the meta description,
//! the Markdown source (transcript text escaped, never markup) and its sanitized HTML.

use std::borrow::Cow;
use std::sync::LazyLock;

use vidpress_core::{Chapter, PullQuote, SLUG_MAX_LEN, Section, Slug, VideoSource};

/// Where the only iframe a post may contain must point.
const EMBED_PREFIX: &str = "https://www.youtube-nocookie.com/embed/";

/// The longest meta description, in characters.
pub(crate) const DESCRIPTION_MAX_CHARS: usize = 160;

/// Bracketed title decorations that say nothing about the content: `(Official Video)`, `[4K]`.
const TITLE_NOISE: &[&str] = &[
    "1080p",
    "4k",
    "720p",
    "8k",
    "audio",
    "full",
    "hd",
    "hq",
    "lyric",
    "lyrics",
    "music",
    "new",
    "official",
    "remastered",
    "uhd",
    "uncut",
    "version",
    "video",
];

/// Small words that stay lowercase inside a title rewritten from all capitals.
const SMALL_WORDS: &[&str] = &[
    "a", "an", "and", "as", "at", "but", "by", "for", "in", "of", "on", "or", "the", "to", "with",
];

fn is_pictograph(c: char) -> bool {
    matches!(c, '\u{1F000}'..='\u{1FAFF}' | '\u{2600}'..='\u{27BF}' | '\u{FE0F}' | '\u{200D}' | '\u{2B50}' | '\u{2B06}' | '\u{2194}'..='\u{21FF}')
}

/// A video title made fit for a post: emoji, hashtags, decorations such as `(Official Video)`,
/// repeated `!!!` and shouting capitals removed; whitespace collapsed.
pub(crate) fn clean_title(title: &str) -> String {
    let text: String = title
        .chars()
        .filter(|c| !c.is_control() && !is_pictograph(*c))
        .collect();
    let mut words: Vec<String> = text.split_whitespace().map(str::to_owned).collect();
    // Trailing hashtags (#shorts #vlog).
    while words
        .last()
        .is_some_and(|w| w.starts_with('#') && w.len() > 1)
    {
        words.pop();
    }
    let text = drop_noise_brackets(&words.join(" "));
    let mut text = collapse_repeated_punctuation(&text);
    let letters: Vec<char> = text.chars().filter(|c| c.is_alphabetic()).collect();
    let upper = letters.iter().filter(|c| c.is_uppercase()).count();
    if letters.len() >= 6 && upper * 10 >= letters.len() * 9 {
        text = title_case(&text);
    }
    text.trim_matches(|c: char| {
        c.is_whitespace() || matches!(c, '|' | '-' | '\u{2013}' | '\u{2014}' | ':' | ',')
    })
    .to_owned()
}

fn drop_noise_brackets(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(open) = rest.find(['(', '[']) {
        let close_char = if rest[open..].starts_with('(') {
            ')'
        } else {
            ']'
        };
        let Some(len) = rest[open..].find(close_char) else {
            break;
        };
        let inner = &rest[open + 1..open + len];
        let noise = !inner.trim().is_empty()
            && inner
                .split(|c: char| !c.is_alphanumeric())
                .filter(|w| !w.is_empty())
                .all(|w| TITLE_NOISE.contains(&w.to_lowercase().as_str()));
        out.push_str(&rest[..open]);
        if !noise {
            out.push_str(&rest[open..=open + len]);
        }
        rest = &rest[open + len + 1..];
    }
    out.push_str(rest);
    out.split_whitespace().collect::<Vec<_>>().join(" ")
}

fn collapse_repeated_punctuation(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if matches!(c, '!' | '?') && out.ends_with(['!', '?']) {
            continue;
        }
        out.push(c);
    }
    out
}

fn title_case(text: &str) -> String {
    text.split(' ')
        .enumerate()
        .map(|(i, w)| {
            let lower = w.to_lowercase();
            if lower == "i" || (i > 0 && SMALL_WORDS.contains(&lower.as_str())) {
                return if lower == "i" { "I".to_owned() } else { lower };
            }
            let mut chars = lower.chars();
            match chars.next() {
                Some(c) => c.to_uppercase().chain(chars).collect(),
                None => String::new(),
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// Folds a character to lowercase ASCII for a slug, or `None` when it has no ASCII form.
fn fold(c: char) -> Option<&'static str> {
    const TABLE: &[(&str, &str)] = &[
        ("àáâãäåāăą", "a"),
        ("æ", "ae"),
        ("çćĉċč", "c"),
        ("ďđð", "d"),
        ("èéêëēĕėęě", "e"),
        ("ĝğġģ", "g"),
        ("ĥħ", "h"),
        ("ìíîïĩīĭįı", "i"),
        ("ĵ", "j"),
        ("ķ", "k"),
        ("ĺļľŀł", "l"),
        ("ñńņňŉ", "n"),
        ("òóôõöøōŏő", "o"),
        ("œ", "oe"),
        ("ŕŗř", "r"),
        ("śŝşš", "s"),
        ("ß", "ss"),
        ("ţťŧ", "t"),
        ("þ", "th"),
        ("ùúûüũūŭůűų", "u"),
        ("ŵ", "w"),
        ("ýÿŷ", "y"),
        ("źżž", "z"),
    ];
    let lower = c.to_lowercase().next().unwrap_or(c);
    TABLE
        .iter()
        .find(|(from, _)| from.contains(lower))
        .map(|(_, to)| *to)
}

/// A URL-safe slug from a title: ASCII letters and digits (accents folded), words joined by
/// hyphens, at most [`SLUG_MAX_LEN`] characters cut at a word boundary. `None` when nothing
/// usable remains.
pub(crate) fn slugify(title: &str) -> Option<Slug> {
    let mut raw = String::with_capacity(title.len());
    for c in title.chars() {
        if c.is_ascii_alphanumeric() {
            raw.push(c.to_ascii_lowercase());
        } else if c == '\'' || c == '\u{2019}' {
            // "don't" → "dont", not "don-t".
        } else if let Some(f) = fold(c) {
            raw.push_str(f);
        } else {
            raw.push('-');
        }
    }
    let mut slug = String::with_capacity(raw.len());
    for part in raw.split('-').filter(|p| !p.is_empty()) {
        let extra = if slug.is_empty() {
            part.len()
        } else {
            part.len() + 1
        };
        if slug.len() + extra > SLUG_MAX_LEN {
            if slug.is_empty() {
                slug.push_str(&part[..SLUG_MAX_LEN]);
            }
            break;
        }
        if !slug.is_empty() {
            slug.push('-');
        }
        slug.push_str(part);
    }
    Slug::parse(&slug).ok()
}

/// A slug for a video whose title gives none: from its id, link or file name.
pub(crate) fn fallback_slug(source: &VideoSource) -> Slug {
    let fallback = match source {
        VideoSource::Youtube(id) => format!("video-{}", id.as_str().to_ascii_lowercase()),
        VideoSource::Link(url) => format!("video-{:016x}", fnv1a(url.as_str())),
        VideoSource::File(name) => format!("video-{:016x}", fnv1a(name)),
    };
    slugify(&fallback).unwrap_or_else(|| {
        Slug::parse("video").unwrap_or_else(|_| unreachable!("`video` is a valid slug"))
    })
}

/// FNV-1a: a hash that is the same on every machine and every run, unlike std's.
fn fnv1a(text: &str) -> u64 {
    text.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

/// A meta description from sentences: as many whole sentences as fit in 160 characters, or,
/// when even the first is longer, its words up to the limit followed by an ellipsis.
pub(crate) fn description(sentences: &[&str]) -> String {
    let mut out = String::new();
    for s in sentences {
        let s = s.trim();
        let len = out.chars().count() + usize::from(!out.is_empty()) + s.chars().count();
        if len > DESCRIPTION_MAX_CHARS {
            break;
        }
        if !out.is_empty() {
            out.push(' ');
        }
        out.push_str(s);
    }
    if !out.is_empty() || sentences.is_empty() {
        return out;
    }
    // The first sentence alone is too long: cut it at the last word that fits with "…".
    let mut cut = String::new();
    for word in sentences[0].split_whitespace() {
        let len = cut.chars().count() + usize::from(!cut.is_empty()) + word.chars().count() + 1;
        if len > DESCRIPTION_MAX_CHARS {
            break;
        }
        if !cut.is_empty() {
            cut.push(' ');
        }
        cut.push_str(word);
    }
    let trimmed =
        cut.trim_end_matches(|c: char| !c.is_alphanumeric() && !matches!(c, ')' | '"' | '\''));
    if trimmed.is_empty() {
        // A single "word" longer than the limit: cut it at a character boundary.
        let mut s: String = sentences[0]
            .chars()
            .take(DESCRIPTION_MAX_CHARS - 1)
            .collect();
        s.push('\u{2026}');
        return s;
    }
    format!("{trimmed}\u{2026}")
}

/// `m:ss`, or `h:mm:ss` from an hour on, as YouTube writes chapter times.
pub(crate) fn timestamp(ms: u64) -> String {
    let secs = ms / 1000;
    let (h, m, s) = (secs / 3600, secs / 60 % 60, secs % 60);
    if h > 0 {
        format!("{h}:{m:02}:{s:02}")
    } else {
        format!("{m}:{s:02}")
    }
}

/// Escapes text so Markdown shows it literally: no emphasis, links, images, HTML, code, headings
/// or lists. A `!` stays as it is: with every `[` escaped it cannot open an image.
pub(crate) fn escape_markdown(text: &str) -> String {
    let text = text.split_whitespace().collect::<Vec<_>>().join(" ");
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        if matches!(
            c,
            '\\' | '`' | '*' | '_' | '[' | ']' | '<' | '>' | '&' | '#' | '|' | '~'
        ) {
            out.push('\\');
        }
        out.push(c);
    }
    // What would start a list or a block at the beginning of a line.
    if out.starts_with(['-', '+', '=']) {
        out.insert(0, '\\');
    }
    let digits = out.chars().take_while(char::is_ascii_digit).count();
    if digits > 0 && out[digits..].starts_with(['.', ')']) {
        out.insert(digits, '\\');
    }
    out
}

/// Escapes text for an HTML attribute value in double quotes.
fn escape_attribute(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(c),
        }
    }
    out
}

/// The parts of a post, in the order Markdown shows them.
pub(crate) struct Post<'a> {
    pub title: &'a str,
    pub video: &'a VideoSource,
    pub intro: &'a str,
    pub chapters: &'a [Chapter],
    pub sections: &'a [Section],
    pub pull_quotes: &'a [PullQuote],
}

/// The post as Markdown: title, the video (embedded or linked), intro, chapter list, and the
/// sections with their "watch this part" links, paragraphs and pull quotes.
pub(crate) fn markdown(post: &Post<'_>) -> String {
    let mut md = String::with_capacity(
        post.sections
            .iter()
            .flat_map(|s| &s.paragraphs)
            .map(|p| p.text.len() + 4)
            .sum::<usize>()
            + 1024,
    );
    md.push_str(&format!("# {}\n\n", escape_markdown(post.title)));
    match (post.video.embed_url(), post.video.watch_url(0)) {
        (Some(embed), _) => md.push_str(&format!(
            "<div class=\"video-embed\"><iframe src=\"{embed}\" title=\"{}\" width=\"560\" height=\"315\" \
             allow=\"accelerometer; autoplay; clipboard-write; encrypted-media; gyroscope; picture-in-picture\" \
             referrerpolicy=\"strict-origin-when-cross-origin\" allowfullscreen></iframe></div>\n\n",
            escape_attribute(post.title)
        )),
        (None, Some(link)) => md.push_str(&format!("[Watch the video](<{link}>)\n\n")),
        (None, None) => {}
    }
    if !post.intro.is_empty() {
        md.push_str(&format!("{}\n\n", escape_markdown(post.intro)));
    }
    if post.chapters.len() >= 2 {
        md.push_str("## Chapters\n\n");
        for c in post.chapters {
            let label = format!("{} {}", c.timestamp, escape_markdown(&c.title));
            match post.video.watch_url(c.start_ms) {
                Some(url) => md.push_str(&format!("- [{label}](<{url}>)\n")),
                None => md.push_str(&format!("- {label}\n")),
            }
        }
        md.push('\n');
    }
    let mut quotes = post.pull_quotes.iter().peekable();
    for section in post.sections {
        md.push_str(&format!("## {}\n\n", escape_markdown(&section.heading)));
        if let Some(url) = &section.watch_url {
            md.push_str(&format!(
                "[\u{25B6} Watch this part ({})](<{url}>)\n\n",
                timestamp(section.start_ms)
            ));
        }
        for p in &section.paragraphs {
            md.push_str(&escape_markdown(&p.text));
            md.push_str("\n\n");
            while let Some(q) = quotes.next_if(|q| q.start_ms <= p.end_ms) {
                md.push_str(&format!("> {}\n\n", escape_markdown(&q.text)));
            }
        }
    }
    while md.ends_with("\n\n") {
        md.pop();
    }
    md
}

static SANITIZER: LazyLock<ammonia::Builder<'static>> = LazyLock::new(|| {
    let mut b = ammonia::Builder::default();
    b.add_tags(["iframe"])
        .add_tag_attributes(
            "iframe",
            [
                "src",
                "title",
                "width",
                "height",
                "allow",
                "allowfullscreen",
                "referrerpolicy",
                "loading",
            ],
        )
        .add_allowed_classes("div", ["video-embed"])
        .attribute_filter(|element, attribute, value| {
            if element == "iframe" && attribute == "src" && !value.starts_with(EMBED_PREFIX) {
                None
            } else {
                Some(Cow::Borrowed(value))
            }
        });
    b
});

/// Renders Markdown to HTML with pulldown-cmark and sanitizes it with ammonia: only ordinary
/// post markup survives, plus the privacy-enhanced YouTube player.
pub fn render_html(markdown: &str) -> String {
    let parser = pulldown_cmark::Parser::new_ext(markdown, pulldown_cmark::Options::empty());
    let mut html = String::with_capacity(markdown.len() * 5 / 4 + 64);
    pulldown_cmark::html::push_html(&mut html, parser);
    SANITIZER.clean(&html).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn titles_lose_decoration_but_keep_meaning() {
        assert_eq!(
            clean_title("  My   Trip (Official Video) [4K] 🚀 #shorts #vlog"),
            "My Trip"
        );
        assert_eq!(
            clean_title("Baking Bread (Part 2)!!!"),
            "Baking Bread (Part 2)!"
        );
        assert_eq!(
            clean_title("HOW I BUILT A TINY HOUSE"),
            "How I Built a Tiny House"
        );
        assert_eq!(clean_title("NASA and the Moon"), "NASA and the Moon");
        assert_eq!(clean_title("🔥🔥"), "");
    }

    #[test]
    fn slugs_are_url_safe() {
        assert_eq!(
            slugify("Crème Brûlée: Don't Panic!").unwrap().as_str(),
            "creme-brulee-dont-panic"
        );
        assert_eq!(slugify("日本語").map(|s| s.to_string()), None);
        let long = slugify(&"word ".repeat(40)).unwrap();
        assert!(long.as_str().len() <= SLUG_MAX_LEN && long.as_str().ends_with("word"));
        assert_eq!(
            slugify(&"x".repeat(200)).unwrap().as_str().len(),
            SLUG_MAX_LEN
        );
    }

    #[test]
    fn descriptions_fit_and_end_at_words() {
        assert_eq!(
            description(&["Short one.", "Another."]),
            "Short one. Another."
        );
        let long = "word ".repeat(60);
        let d = description(&[long.as_str()]);
        assert!(d.chars().count() <= DESCRIPTION_MAX_CHARS);
        assert!(d.ends_with("word\u{2026}"), "{d}");
        assert_eq!(description(&[]), "");
    }

    #[test]
    fn timestamps_read_like_youtube() {
        assert_eq!(timestamp(0), "0:00");
        assert_eq!(timestamp(83_999), "1:23");
        assert_eq!(timestamp(3_723_000), "1:02:03");
    }

    #[test]
    fn markdown_escaping_keeps_text_literal() {
        let html = render_html(&escape_markdown(
            "1. **bold** <b>x</b> [a](javascript:alert(1)) `c` # h & co",
        ));
        assert_eq!(
            html.trim(),
            "<p>1. **bold** &lt;b&gt;x&lt;/b&gt; [a](javascript:alert(1)) `c` # h &amp; co</p>"
        );
        assert_eq!(
            render_html(&escape_markdown("- item")).trim(),
            "<p>- item</p>"
        );
        // Exclamation marks read as written, and still open no image.
        let md = escape_markdown("Hello and welcome! ![x](https://evil/x.png)");
        assert!(md.starts_with("Hello and welcome! !"), "{md}");
        assert_eq!(
            render_html(&md).trim(),
            "<p>Hello and welcome! ![x](https://evil/x.png)</p>"
        );
    }

    #[test]
    fn sanitizer_keeps_only_the_nocookie_player() {
        let ok = render_html(
            "<div class=\"video-embed\"><iframe src=\"https://www.youtube-nocookie.com/embed/dQw4w9WgXcQ\"></iframe></div>",
        );
        assert!(
            ok.contains("src=\"https://www.youtube-nocookie.com/embed/dQw4w9WgXcQ\""),
            "{ok}"
        );
        let bad = render_html(
            "<iframe src=\"https://evil.example/x\"></iframe><script>alert(1)</script><img src=x onerror=alert(1)>",
        );
        assert!(
            !bad.contains("evil") && !bad.contains("<script") && !bad.contains("onerror"),
            "{bad}"
        );
    }
}
