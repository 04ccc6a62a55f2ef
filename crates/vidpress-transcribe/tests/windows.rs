//! Long audio in windows (`crate::window`): the 78-second test clip (espeak-ng reading the
//! script, the real Whisper base model) transcribed in windows of at most 25 seconds must give
//! the words the one-window run gives, around every cut, with times that keep increasing.

mod support;

use std::sync::atomic::AtomicBool;
use std::sync::{Arc, Mutex};

use vidpress_core::Word;
use vidpress_transcribe::guards::normalize;
use vidpress_transcribe::wer::wer;
use vidpress_transcribe::{Engine, Samples, Streamed, TranscribeOptions};

const WINDOW_SECONDS: u32 = 25;
/// How far either side of a cut the words are compared.
const NEAR_MS: u64 = 4_000;

fn vad_model() -> std::path::PathBuf {
    vidpress_transcribe::ModelStore::new(&support::models_dir())
        .vad_model()
        .unwrap_or_else(|| {
            panic!(
                "the Silero VAD model is not installed in {}: run `scripts/install-model.sh`",
                support::models_dir().display()
            )
        })
}

fn words(t: &Streamed) -> Vec<Word> {
    t.transcript
        .segments()
        .iter()
        .flat_map(|s| s.words.clone())
        .collect()
}

/// The normalised words starting within `NEAR_MS` (plus `slack`) of `cut`.
fn near(words: &[Word], cut: u64, slack: u64) -> Vec<String> {
    let reach = NEAR_MS + slack;
    words
        .iter()
        .filter(|w| w.start_ms + reach >= cut && w.start_ms <= cut + reach)
        .map(|w| normalize(&w.text))
        .filter(|w| !w.is_empty())
        .collect()
}

/// Whether `needle` occurs in `hay` in order (not necessarily next to each other).
fn in_order(needle: &[String], hay: &[String]) -> bool {
    let mut rest = hay.iter();
    needle.iter().all(|n| rest.any(|h| h == n))
}

#[test]
fn windows_keep_every_word_and_the_time_order_across_their_cuts() {
    let engine = Engine::load(&support::model("base")).unwrap();
    let samples = support::decode(&support::media("speech.wav"));
    let duration_ms = samples.len() as u64 * 1000 / 16_000;
    let script = support::script();
    let run = |opts: &TranscribeOptions, progress: Arc<Mutex<Vec<u8>>>| {
        engine
            .transcribe_stream(
                Samples::new(&samples),
                opts,
                move |p| progress.lock().unwrap().push(p),
                Arc::new(AtomicBool::new(false)),
            )
            .unwrap()
    };
    let whole_opts = TranscribeOptions {
        threads: Some(2),
        ..TranscribeOptions::default()
    };
    let whole = run(&whole_opts, Arc::default());
    assert_eq!(whole.windows, vec![0..duration_ms], "one window by default");
    let whole_words = words(&whole);

    for vad in [None, Some(vad_model())] {
        let with = if vad.is_some() {
            "with VAD"
        } else {
            "without VAD"
        };
        let opts = TranscribeOptions {
            window_seconds: WINDOW_SECONDS,
            vad_model: vad,
            ..whole_opts.clone()
        };
        let progress = Arc::new(Mutex::new(Vec::new()));
        let windowed = run(&opts, progress.clone());
        eprintln!("{with}: windows {:?}", windowed.windows);

        // Windows end to end over the whole clip, none longer than asked, and each but the last
        // at least half that (cut in the second half).
        let w = &windowed.windows;
        assert!(w.len() >= 3, "{with}: {w:?}");
        assert_eq!(w[0].start, 0);
        assert_eq!(w.last().unwrap().end, duration_ms, "{with}: {w:?}");
        assert_eq!(windowed.samples, samples.len() as u64);
        for (i, r) in w.iter().enumerate() {
            let len = r.end - r.start;
            assert!(len <= u64::from(WINDOW_SECONDS) * 1000, "{with}: {w:?}");
            if i + 1 < w.len() {
                assert_eq!(r.end, w[i + 1].start, "{with}: {w:?}");
                assert!(len >= u64::from(WINDOW_SECONDS) * 500 - 1, "{with}: {w:?}");
            }
        }

        // Times keep increasing across the cuts, each word inside its segment.
        let segments = windowed.transcript.segments();
        assert!(!segments.is_empty());
        let mut last_start = 0;
        for s in segments {
            assert!(s.start_ms >= last_start, "{with}: out of order at {s:?}");
            assert!(
                s.start_ms <= s.end_ms && s.end_ms <= duration_ms,
                "{with}: {s:?}"
            );
            for word in &s.words {
                assert!(
                    word.start_ms >= last_start
                        && word.start_ms >= s.start_ms
                        && word.end_ms <= s.end_ms,
                    "{with}: {word:?} out of order in {s:?}"
                );
                last_start = word.start_ms;
            }
        }

        // No word lost at a cut: the one-window run's words around each cut are all there, in
        // order, around the same place (a little slack for times that moved).
        let windowed_words = words(&windowed);
        for r in &w[..w.len() - 1] {
            let expected = near(&whole_words, r.end, 0);
            let got = near(&windowed_words, r.end, 1_000);
            assert!(expected.len() >= 5, "{with}: speech around {} ms", r.end);
            assert!(
                in_order(&expected, &got),
                "{with}: words lost at the cut at {} ms:\n one window: {expected:?}\n windows:    {got:?}",
                r.end
            );
        }
        let (e_whole, e_windowed) = (
            wer(&script, &whole.transcript.text()),
            wer(&script, &windowed.transcript.text()),
        );
        eprintln!(
            "{with}: WER one window {e_whole:.3}, windows {e_windowed:.3}; {} and {} words",
            whole_words.len(),
            windowed_words.len()
        );
        assert!(e_windowed <= 0.15, "{with}: WER {e_windowed:.3}");

        // Progress rises to 100 across the windows.
        let seen = progress.lock().unwrap();
        assert!(seen.windows(2).all(|p| p[0] <= p[1]), "{with}: {seen:?}");
        assert_eq!(seen.last(), Some(&100), "{with}: {seen:?}");
    }
}
