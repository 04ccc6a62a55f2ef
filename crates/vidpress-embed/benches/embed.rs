//! What sentence embeddings cost a draft: the first 10 minutes of speech of the draft corpus's
//! long English transcript (real Whisper output) formatted from the words alone and with the
//! installed all-MiniLM-L6-v2 model, and the model's load time. Prints the figures.
//!
//! Run: `cargo bench -p vidpress-embed --bench embed` (needs `vidpress models install minilm`).

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use vidpress_core::Transcript;
use vidpress_draft::{Aids, DraftOptions, VideoMeta, VideoSource, format, format_with};
use vidpress_embed::MiniLm;

const RUNS: usize = 5;
const SPEECH_MS: u64 = 10 * 60_000;

fn models_dir() -> PathBuf {
    std::env::var_os("VIDPRESS_MODELS_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../models"))
}

fn ten_minutes() -> Transcript {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../vidpress-draft/tests/fixtures/corpus/en-long.json");
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    let long: Transcript = serde_json::from_str(&text).expect("a transcript");
    let segments = long
        .segments()
        .iter()
        .take_while(|s| s.end_ms <= SPEECH_MS)
        .cloned()
        .collect();
    Transcript::new(long.language().map(str::to_owned), segments).expect("a prefix stays in order")
}

fn median(mut times: Vec<Duration>) -> f64 {
    times.sort();
    times[times.len() / 2].as_secs_f64()
}

fn main() {
    let dir = vidpress_embed::installed(&models_dir()).unwrap_or_else(|| {
        panic!(
            "the MiniLM model is not installed in {}; run `vidpress models install minilm`",
            models_dir().display()
        )
    });
    let started = Instant::now();
    let model = MiniLm::load(&dir).expect("the model loads");
    let load = started.elapsed().as_secs_f64();
    let t = ten_minutes();
    let words = t.text().split_whitespace().count();
    let meta = VideoMeta {
        title: String::new(),
        source: VideoSource::File("talk.mp4".into()),
        chapters: Vec::new(),
    };
    let options = DraftOptions::default();
    let aids = Aids {
        embedder: Some(&model),
        dictionary: None,
    };
    // Warm up both paths once.
    let lexical = format(&t, &meta, &options);
    let embedded = format_with(&t, &meta, &options, &aids);
    let time = |f: &dyn Fn()| {
        (0..RUNS)
            .map(|_| {
                let s = Instant::now();
                f();
                s.elapsed()
            })
            .collect::<Vec<_>>()
    };
    let alone = median(time(&|| {
        format(&t, &meta, &options);
    }));
    let with = median(time(&|| {
        format_with(&t, &meta, &options, &aids);
    }));
    let sentences: Vec<String> = t.segments().iter().map(|s| s.text.clone()).collect();
    let refs: Vec<&str> = sentences.iter().map(String::as_str).collect();
    let raw = median(time(&|| {
        model.embed(&refs).expect("embeds");
    }));
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    println!(
        "embed: {:.1} min of speech, {words} words, {} segments; {threads} cores; model load {load:.2} s",
        t.duration_ms() as f64 / 60_000.0,
        t.segments().len()
    );
    println!(
        "embed: format from the words alone {:.3} s ({} sections), with embeddings {:.3} s ({} sections): embeddings add {:.2} s per 10 minutes of speech (median of {RUNS})",
        alone,
        lexical.sections.len(),
        with,
        embedded.sections.len(),
        (with - alone) * SPEECH_MS as f64 / t.duration_ms() as f64
    );
    println!(
        "embed: the model alone on the {} segments: {raw:.3} s",
        refs.len()
    );
}
