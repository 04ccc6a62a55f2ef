//! Prints the draft of a transcript file (vidpress-core's `Transcript` JSON), for reading drafts
//! as a reader would: its Markdown, then its tags, description and review marks.
//!
//! Run: `cargo run -p vidpress-draft --example show -- [--embeddings] [--spelling]
//! TRANSCRIPT.json ["Video title"]`. `--embeddings` uses the installed all-MiniLM-L6-v2 model
//! (`$VIDPRESS_MODELS_DIR` or the repository's `models/`), `--spelling` Debian's Hunspell
//! dictionary of the transcript's language from `/usr/share/hunspell`.

use std::path::PathBuf;

use vidpress_core::Transcript;
use vidpress_draft::{Aids, DraftOptions, VideoMeta, VideoSource, format_with};

fn main() {
    let mut embeddings = false;
    let mut spelling = false;
    let mut rest: Vec<String> = Vec::new();
    for arg in std::env::args().skip(1) {
        match arg.as_str() {
            "--embeddings" => embeddings = true,
            "--spelling" => spelling = true,
            _ => rest.push(arg),
        }
    }
    let mut rest = rest.into_iter();
    let Some(path) = rest.next() else {
        eprintln!("usage: show [--embeddings] [--spelling] TRANSCRIPT.json [TITLE]");
        std::process::exit(2);
    };
    let title = rest.next().unwrap_or_default();
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
        chapters: Vec::new(),
    };
    let model = embeddings.then(|| {
        let models = std::env::var_os("VIDPRESS_MODELS_DIR")
            .map(PathBuf::from)
            .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../models"));
        let dir = vidpress_embed::installed(&models)
            .unwrap_or_else(|| panic!("no MiniLM model in {}", models.display()));
        vidpress_embed::MiniLm::load(&dir).expect("the model loads")
    });
    let dictionary = spelling
        .then(|| {
            let stem = match transcript.language()? {
                "en" => "en_US",
                "de" => "de_DE",
                "es" => "es_ES",
                "fr" => "fr_FR",
                _ => return None,
            };
            let read = |ext: &str| {
                std::fs::read_to_string(format!("/usr/share/hunspell/{stem}.{ext}")).ok()
            };
            spellbook::Dictionary::new(&read("aff")?, &read("dic")?).ok()
        })
        .flatten();
    let aids = Aids {
        embedder: model.as_ref().map(|m| m as &dyn vidpress_draft::Embedder),
        dictionary: dictionary.as_ref(),
    };
    let d = format_with(&transcript, &meta, &DraftOptions::default(), &aids);
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
