//! Exports as files: Markdown with YAML front matter (Hugo and Jekyll read it), a standalone
//! HTML page, and the captions as SRT and VTT ([`crate::captions`]). The front matter is written
//! by a YAML emitter, so any title — colons, quotes, `#`, leading dashes — stays valid YAML.

use std::fmt::Write as _;

use yaml_rust2::yaml::Hash;
use yaml_rust2::{Yaml, YamlEmitter};

/// What a file export needs of a draft.
#[derive(Debug, Clone)]
pub struct FileDraft<'a> {
    pub title: &'a str,
    pub slug: &'a str,
    /// The meta description.
    pub description: &'a str,
    pub tags: &'a [String],
    /// RFC 3339, e.g. `2026-11-30T10:00:00Z`.
    pub date: &'a str,
    /// The draft's Markdown (its first line may be the `# Title` heading).
    pub markdown: &'a str,
    /// The draft's sanitised HTML.
    pub html: &'a str,
    /// The header image's file name, when it is exported beside the post.
    pub image: Option<&'a str>,
}

/// The file formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileFormat {
    Markdown,
    Html,
    Srt,
    Vtt,
}

impl FileFormat {
    /// `markdown`, `html`, `srt` or `vtt`.
    pub fn parse(s: &str) -> Result<FileFormat, String> {
        match s.trim().to_ascii_lowercase().as_str() {
            "markdown" | "md" => Ok(FileFormat::Markdown),
            "html" => Ok(FileFormat::Html),
            "srt" => Ok(FileFormat::Srt),
            "vtt" => Ok(FileFormat::Vtt),
            other => Err(format!(
                "`{other}` is not an export format; use markdown, html, srt or vtt"
            )),
        }
    }

    /// The file name extension.
    pub fn extension(self) -> &'static str {
        match self {
            FileFormat::Markdown => "md",
            FileFormat::Html => "html",
            FileFormat::Srt => "srt",
            FileFormat::Vtt => "vtt",
        }
    }

    /// The `Content-Type` of such a file.
    pub fn content_type(self) -> &'static str {
        match self {
            FileFormat::Markdown => "text/markdown; charset=utf-8",
            FileFormat::Html => "text/html; charset=utf-8",
            FileFormat::Srt => "application/x-subrip; charset=utf-8",
            FileFormat::Vtt => "text/vtt; charset=utf-8",
        }
    }
}

/// The YAML front matter block, `---` to `---`.
pub fn front_matter(draft: &FileDraft<'_>) -> String {
    let mut map = Hash::new();
    let s = |v: &str| Yaml::String(v.to_owned());
    map.insert(s("title"), s(draft.title));
    map.insert(s("date"), s(draft.date));
    map.insert(s("slug"), s(draft.slug));
    if !draft.description.is_empty() {
        map.insert(s("description"), s(draft.description));
    }
    map.insert(
        s("tags"),
        Yaml::Array(draft.tags.iter().map(|t| s(t)).collect()),
    );
    if let Some(image) = draft.image {
        map.insert(s("image"), s(image));
    }
    map.insert(s("draft"), Yaml::Boolean(true));
    let mut out = String::new();
    YamlEmitter::new(&mut out)
        .dump(&Yaml::Hash(map))
        .expect("writing YAML into a String cannot fail");
    // The emitter opens the document with `---`; close it for Hugo and Jekyll.
    out.push_str("\n---\n");
    out
}

/// The post as Markdown with front matter. The title lives in the front matter, so the
/// Markdown's own `# Title` heading is left out.
pub fn markdown(draft: &FileDraft<'_>) -> String {
    let body = draft.markdown.trim_start();
    let body = match body.strip_prefix("# ") {
        Some(rest) => rest.split_once('\n').map_or("", |(_, after)| after),
        None => body,
    };
    format!("{}\n{}\n", front_matter(draft), body.trim())
}

fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// The post as one standalone HTML page (no outside assets).
pub fn html(draft: &FileDraft<'_>) -> String {
    let mut out = String::new();
    let _ = write!(
        out,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <title>{title}</title>\n<meta name=\"description\" content=\"{description}\">\n\
         <meta name=\"keywords\" content=\"{tags}\">\n\
         <style>body{{max-width:42rem;margin:2rem auto;padding:0 1rem;font:1.1rem/1.6 \
         Georgia,serif;color:#222}}img{{max-width:100%;height:auto}}\
         blockquote{{border-left:3px solid #ccc;margin-left:0;padding-left:1rem;color:#555}}</style>\n\
         </head>\n<body>\n<article>\n",
        title = escape(draft.title),
        description = escape(draft.description),
        tags = escape(&draft.tags.join(", ")),
    );
    let body = crate::body_without_title(draft.html);
    let _ = writeln!(out, "<h1>{}</h1>", escape(draft.title));
    if let Some(image) = draft.image {
        let _ = writeln!(out, "<img src=\"{}\" alt=\"\">", escape(image));
    }
    out.push_str(&body);
    out.push_str("\n</article>\n</body>\n</html>\n");
    out
}

/// One file of a draft in `format`. Captions need the transcript; a draft without one (it was
/// never transcribed) has no caption files.
pub fn render(
    format: FileFormat,
    draft: &FileDraft<'_>,
    transcript: Option<&vidpress_core::Transcript>,
) -> Result<String, crate::PublishError> {
    let no_transcript = || {
        crate::PublishError::File(
            "this draft has no transcript, so there are no captions to export".to_owned(),
        )
    };
    Ok(match format {
        FileFormat::Markdown => markdown(draft),
        FileFormat::Html => html(draft),
        FileFormat::Srt => crate::captions::to_srt(transcript.ok_or_else(no_transcript)?),
        FileFormat::Vtt => crate::captions::to_vtt(transcript.ok_or_else(no_transcript)?),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use yaml_rust2::YamlLoader;

    fn parse_front_matter(text: &str) -> Yaml {
        let rest = text.strip_prefix("---\n").expect("opens with ---");
        let (yaml, _) = rest.split_once("\n---\n").expect("closes with ---");
        YamlLoader::load_from_str(yaml).unwrap().remove(0)
    }

    #[test]
    fn any_title_round_trips_through_the_front_matter() {
        let tags = vec!["rust".to_owned(), "yes".to_owned(), "1.0".to_owned()];
        for title in [
            "Plain title",
            "Rust: why \"fearless\" concurrency? #1",
            "- starts like a list item",
            "null",
            "true",
            "'single' & [brackets] {braces} | pipe > fold",
            "Line one\nline two",
            "Ünïcödé — 日本語",
            "---",
        ] {
            let draft = FileDraft {
                title,
                slug: "a-post",
                description: "What: it covers.",
                tags: &tags,
                date: "2026-11-30T10:00:00Z",
                markdown: "# Title\n\nBody text.\n",
                html: "<h1>Title</h1><p>Body text.</p>",
                image: Some("header.png"),
            };
            let text = markdown(&draft);
            let yaml = parse_front_matter(&text);
            assert_eq!(yaml["title"].as_str(), Some(title), "{text}");
            assert_eq!(yaml["date"].as_str(), Some("2026-11-30T10:00:00Z"));
            assert_eq!(yaml["description"].as_str(), Some("What: it covers."));
            let read_tags: Vec<&str> = yaml["tags"]
                .as_vec()
                .unwrap()
                .iter()
                .map(|t| t.as_str().unwrap())
                .collect();
            assert_eq!(read_tags, ["rust", "yes", "1.0"]);
            assert!(text.ends_with("Body text.\n"));
            assert!(!text.contains("# Title"));
        }
    }

    #[test]
    fn standalone_html_escapes_the_title() {
        let draft = FileDraft {
            title: "<script>alert(1)</script> & more",
            slug: "x",
            description: "d",
            tags: &[],
            date: "2026-11-30T10:00:00Z",
            markdown: "",
            html: "<h1>old</h1><p>Body</p>",
            image: None,
        };
        let page = html(&draft);
        assert!(!page.contains("<script>"));
        assert!(page.contains("<h1>&lt;script&gt;alert(1)&lt;/script&gt; &amp; more</h1>"));
        assert!(page.contains("<p>Body</p>") && !page.contains("<h1>old</h1>"));
    }
}
