//! Times `vidpress_draft::format` on a two-hour transcript of about 20,000 words, built by
//! repeating the real Whisper fixtures (with word timings) end to end. Prints the figures.
//!
//! Run: `cargo bench -p vidpress-draft --bench format`

use std::path::PathBuf;
use std::time::{Duration, Instant};

use vidpress_core::{Segment, Transcript, VideoId};
use vidpress_draft::{DraftOptions, VideoMeta, VideoSource, format};

const TARGET_WORDS: usize = 20_000;
const RUNS: usize = 10;

fn fixture(name: &str) -> Transcript {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(format!("{name}.json"));
    let json = std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!(
            "cannot read {}: {e}; run scripts/make-draft-fixtures.sh",
            path.display()
        )
    });
    serde_json::from_str(&json).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Real transcripts laid end to end, times shifted, until the target length is reached.
fn long_transcript() -> Transcript {
    let parts = [fixture("three-topics"), fixture("fillers")];
    let mut segments: Vec<Segment> = Vec::new();
    let mut offset = 0;
    let mut words = 0;
    'outer: loop {
        for part in &parts {
            for s in part.segments() {
                let mut s = s.clone();
                s.start_ms += offset;
                s.end_ms += offset;
                for w in &mut s.words {
                    w.start_ms += offset;
                    w.end_ms += offset;
                }
                words += s.text.split_whitespace().count();
                segments.push(s);
            }
            offset += part.duration_ms() + 2_000;
            if words >= TARGET_WORDS {
                break 'outer;
            }
        }
    }
    Transcript::new(Some("en".into()), segments).expect("shifted fixtures stay in time order")
}

fn main() {
    let transcript = long_transcript();
    let words = transcript.text().split_whitespace().count();
    let meta = VideoMeta {
        title: "Two hours of bread, bikes, stars and coffee".into(),
        source: VideoSource::Youtube(VideoId::parse("dQw4w9WgXcQ").expect("valid id")),
        chapters: Vec::new(),
    };
    let options = DraftOptions::default();
    // One run to warm caches and the sanitizer's lazy set-up.
    let draft = format(&transcript, &meta, &options);
    let mut times: Vec<Duration> = (0..RUNS)
        .map(|_| {
            let start = Instant::now();
            let d = format(&transcript, &meta, &options);
            let elapsed = start.elapsed();
            assert_eq!(d, draft, "formatting must be deterministic");
            elapsed
        })
        .collect();
    times.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    let mean = times.iter().map(|d| ms(*d)).sum::<f64>() / RUNS as f64;
    let paragraphs: usize = draft.sections.iter().map(|s| s.paragraphs.len()).sum();
    println!(
        "format: {words} words, {} segments, {} min of speech -> {} sections, {paragraphs} paragraphs, {} bytes of HTML",
        transcript.segments().len(),
        transcript.duration_ms() / 60_000,
        draft.sections.len(),
        draft.html.len()
    );
    println!(
        "format: {RUNS} runs: min {:.1} ms, median {:.1} ms, mean {mean:.1} ms, max {:.1} ms",
        ms(times[0]),
        ms(times[RUNS / 2]),
        ms(times[RUNS - 1])
    );
}
