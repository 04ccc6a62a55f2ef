//! The real all-MiniLM-L6-v2 model, as `scripts/install-model.sh` installs it
//! (`vidpress models install minilm`) into `$VIDPRESS_MODELS_DIR` or the repository's `models/`:
//! its vectors, and the sections a draft gets with them.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use vidpress_core::{Segment, Transcript, Word};
use vidpress_draft::{Aids, DraftOptions, Embedder, VideoMeta, VideoSource, format, format_with};
use vidpress_embed::MiniLm;

fn models_dir() -> PathBuf {
    std::env::var_os("VIDPRESS_MODELS_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../models"))
}

/// The installed model, loaded once for all tests.
fn model() -> &'static MiniLm {
    static MODEL: OnceLock<MiniLm> = OnceLock::new();
    MODEL.get_or_init(|| {
        let dir = vidpress_embed::installed(&models_dir()).unwrap_or_else(|| {
            panic!(
                "the MiniLM model is not installed in {}; run scripts/install-model.sh \
                 (or `vidpress models install minilm`)",
                models_dir().display()
            )
        });
        MiniLm::load(&dir).expect("the installed model loads")
    })
}

fn dot(a: &[f32], b: &[f32]) -> f32 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

#[test]
fn related_sentences_are_closer_than_unrelated_ones() {
    let m = model();
    let texts = [
        "Knead the dough for ten minutes, then let the bread rise.",
        "Bake the loaf in a hot oven until the crust is brown.",
        "Oil the bicycle chain after every muddy ride.",
        "A small telescope shows the rings of Saturn.",
    ];
    let v = m.embed(&texts).unwrap();
    assert_eq!(v.len(), 4);
    for x in &v {
        assert_eq!(x.len(), 384);
        assert!((dot(x, x) - 1.0).abs() < 1e-4, "vectors have unit length");
    }
    let bread = dot(&v[0], &v[1]);
    for other in [&v[2], &v[3]] {
        assert!(bread > dot(&v[0], other) + 0.1, "bread {bread}");
        assert!(bread > dot(&v[1], other) + 0.1, "bread {bread}");
    }
    // The same text gives the same vector whatever it is batched with.
    let alone = m.embed(&[texts[3]]).unwrap();
    assert!(dot(&alone[0], &v[3]) > 0.9999);
    // A paraphrase is closer than a sentence that shares words but not meaning.
    let v = m
        .embed(&[
            "The tap in the kitchen keeps dripping.",
            "Water leaks from the kitchen faucet.",
            "The kitchen keeps a record of every recipe.",
        ])
        .unwrap();
    assert!(dot(&v[0], &v[1]) > dot(&v[0], &v[2]));
}

#[test]
fn the_model_covers_english_only_and_empty_input_is_fine() {
    let m = model();
    assert!(Embedder::covers(m, "en"));
    for language in ["de", "es", "fr", "ja"] {
        assert!(!Embedder::covers(m, language), "{language}");
    }
    assert!(m.embed(&[]).unwrap().is_empty());
    let v = m.embed(&[""]).unwrap();
    assert_eq!(v[0].len(), 384);
}

/// Three topics, five sentences each, 4 s a sentence with the same short pause everywhere and no
/// spoken cue, and few words said twice (the topic's name, as a speaker says it again): what the
/// sentences mean says where a topic ends.
const SILENT_TOPICS: [&str; 15] = [
    "Good bread needs only flour, water, salt and a little yeast.",
    "Knead it for ten minutes until it feels smooth and springy.",
    "Leave the dough somewhere warm for about an hour to rise.",
    "Shape the loaf gently so the air bubbles stay inside.",
    "Bake the bread in a hot oven until the crust turns dark brown.",
    "A bicycle chain wears out much faster when it is dirty.",
    "Wipe the links with an old rag after every muddy ride.",
    "Put one small drop of lubricant on each roller of the chain.",
    "Spin the pedals backwards so the oil spreads everywhere.",
    "Replace a stretched chain before it damages the gears.",
    "On a clear night far from the city the sky is full of stars.",
    "Planets shine with a steady light while the stars seem to twinkle.",
    "Even a small telescope shows the rings of Saturn and the moons of Jupiter.",
    "Give your eyes twenty minutes to get used to the darkness.",
    "A red torch lets you read a map of the constellations without losing your night vision.",
];

fn transcript(sentences: &[&str]) -> Transcript {
    let segments = sentences
        .iter()
        .enumerate()
        .map(|(k, text)| {
            let start = k as u64 * 4_000;
            let spoken: Vec<&str> = text.split_whitespace().collect();
            let per = 3_600 / spoken.len() as u64;
            let words = spoken
                .iter()
                .enumerate()
                .map(|(i, w)| Word {
                    text: (*w).to_owned(),
                    start_ms: start + i as u64 * per,
                    end_ms: start + (i as u64 + 1) * per,
                    probability: 0.95,
                })
                .collect();
            Segment {
                start_ms: start,
                end_ms: start + 3_600,
                text: (*text).to_owned(),
                words,
            }
        })
        .collect();
    Transcript::new(Some("en".into()), segments).unwrap()
}

fn meta() -> VideoMeta {
    VideoMeta {
        title: String::new(),
        source: VideoSource::File("talk.mp4".into()),
        chapters: Vec::new(),
    }
}

#[test]
fn a_one_minute_video_with_three_silent_topics_gets_three_sections() {
    let t = transcript(&SILENT_TOPICS);
    assert_eq!(t.duration_ms(), 59_600);
    let aids = Aids {
        embedder: Some(model()),
        dictionary: None,
    };
    let d = format_with(&t, &meta(), &DraftOptions::default(), &aids);
    let starts: Vec<u64> = d.sections.iter().map(|s| s.start_ms).collect();
    let headings: Vec<&str> = d.sections.iter().map(|s| s.heading.as_str()).collect();
    assert_eq!(starts, [0, 20_000, 40_000], "{headings:?}");
    for (heading, topic) in headings.iter().zip(["bread", "chain", "star"]) {
        let lower = heading.to_lowercase();
        let related: &[&str] = match topic {
            "bread" => &["bread", "dough", "loaf", "flour", "yeast", "oven", "crust"],
            "chain" => &[
                "chain",
                "bicycle",
                "link",
                "pedal",
                "gear",
                "oil",
                "lubricant",
            ],
            _ => &[
                "star",
                "sky",
                "telescope",
                "night",
                "planet",
                "saturn",
                "jupiter",
            ],
        };
        assert!(
            related.iter().any(|w| lower.contains(w)),
            "heading {heading:?} does not name {topic}: {headings:?}"
        );
    }
    // For comparison: the words alone, which barely repeat here.
    let lexical = format(&t, &meta(), &DraftOptions::default());
    eprintln!(
        "words alone: {:?}; with embeddings: {headings:?}",
        lexical
            .sections
            .iter()
            .map(|s| s.heading.as_str())
            .collect::<Vec<_>>()
    );
}

#[test]
fn a_language_the_model_does_not_cover_is_drafted_from_the_words_alone() {
    let german = [
        "Zuerst geht es um das Brot, das wir heute backen.",
        "Der Teig braucht Mehl, Wasser, Salz und etwas Hefe.",
        "Als Nächstes sprechen wir über das Fahrrad.",
        "Die Kette sollte nach jeder Fahrt im Regen geölt werden.",
    ];
    let t = Transcript::new(Some("de".into()), transcript(&german).segments().to_vec()).unwrap();
    let with = format_with(
        &t,
        &meta(),
        &DraftOptions::default(),
        &Aids {
            embedder: Some(model()),
            dictionary: None,
        },
    );
    let without = format(&t, &meta(), &DraftOptions::default());
    assert_eq!(with, without);
}
