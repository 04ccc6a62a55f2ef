//! Prints the draft of a transcript file (vidpress-core's `Transcript` JSON), for reading drafts
//! as a reader would: its Markdown, then its tags, description and review marks.
//!
//! Run: `cargo run -p vidpress-draft --example show -- TRANSCRIPT.json ["Video title"]`

use vidpress_core::Transcript;
use vidpress_draft::{DraftOptions, VideoMeta, VideoSource, format};

fn main() {
    let mut args = std::env::args().skip(1);
    let Some(path) = args.next() else {
        eprintln!("usage: show TRANSCRIPT.json [TITLE]");
        std::process::exit(2);
    };
    let title = args.next().unwrap_or_default();
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    let transcript: Transcript =
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("{path}: {e}"));
    let name = std::path::Path::new(&path)
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let meta = VideoMeta {
        title,
        source: VideoSource::File(name),
    };
    let d = format(&transcript, &meta, &DraftOptions::default());
    println!("{}", d.markdown);
    println!("---\ntags: {:?}\ndescription: {}", d.tags, d.description);
    for m in &d.review {
        println!(
            "review: {} ({} %{}{})",
            m.word,
            m.confidence,
            if m.unsure { ", unsure" } else { "" },
            if m.misspelled { ", misspelled" } else { "" }
        );
    }
}
