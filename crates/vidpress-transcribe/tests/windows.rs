//! Long audio in windows (`crate::window`): the first 48 seconds of the test clip (espeak-ng
//! reading the script, the real Whisper base model) transcribed in windows of at most 20
//! seconds must give the words the one-window run gives, around every cut, with times that keep
//! increasing.

mod support;

use std::sync::atomic::AtomicBool;
use std::sync::{Arc, Mutex};

use vidpress_core::Word;
use vidpress_transcribe::guards::normalize;
use vidpress_transcribe::wer::wer;
use vidpress_transcribe::{Engine, Samples, Streamed, TranscribeOptions};

const WINDOW_SECONDS: u32 = 20;
/// How far either side of a cut the words are compared.
const NEAR_MS: u64 = 4_000;

fn words(t: &Streamed) -> Vec<Word> {
    t.transcript
        .segments()
        .iter()
        .flat_map(|s| s.words.clone())
        .collect()
}

/// The normalised words starting within `NEAR_MS` of `cut`.
fn near(words: &[Word], cut: u64) -> Vec<String> {
    words
        .iter()
        .filter(|w| w.start_ms + NEAR_MS >= cut && w.start_ms <= cut + NEAR_MS)
        .map(|w| normalize(&w.text))
        .filter(|w| !w.is_empty())
        .collect()
}

#[test]
fn windows_keep_every_word_and_the_time_order_across_their_cuts() {
    let engine = Engine::load(&support::model("base")).unwrap();
    let mut samples = support::decode(&support::media("speech.wav"));
    samples.truncate(48 * 16_000);
    let duration_ms = samples.len() as u64 * 1000 / 16_000;
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
    // One thread: whisper.cpp's threads spin at every barrier, and on a busy machine a
    // second thread without a core of its own makes a run several times slower.
    let whole_opts = TranscribeOptions {
        threads: Some(1),
        ..TranscribeOptions::default()
    };
    let whole = run(&whole_opts, Arc::default());
    assert_eq!(whole.windows, vec![0..duration_ms], "one window by default");
    let whole_words = words(&whole);

    for vad in [None, Some(support::vad_model())] {
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

        // No word lost at a cut: around each cut the windows give as many words as the
        // one-window run, give or take one, and mostly the same ones (each window starts
        // without the text before it, so Whisper may hear a word differently).
        let windowed_words = words(&windowed);
        for r in &w[..w.len() - 1] {
            let expected = near(&whole_words, r.end);
            let got = near(&windowed_words, r.end);
            assert!(expected.len() >= 5, "{with}: speech around {} ms", r.end);
            let e = wer(&expected.join(" "), &got.join(" "));
            eprintln!(
                "{with}: cut at {} ms: {} words around it in one window, {} in windows, \
                 WER between them {e:.2}",
                r.end,
                expected.len(),
                got.len()
            );
            assert!(
                got.len() + 1 >= expected.len() && e <= 0.3,
                "{with}: words lost at the cut at {} ms:\n one window: {expected:?}\n windows:    {got:?}",
                r.end
            );
        }
        // Elsewhere the windows may hear a word differently (each starts without the text
        // before it: about one word in eight on this synthetic voice), but lose none.
        let e = wer(&whole.transcript.text(), &windowed.transcript.text());
        eprintln!(
            "{with}: {} words in one window, {} in windows, WER between them {e:.3}",
            whole_words.len(),
            windowed_words.len()
        );
        assert!(e <= 0.2, "{with}: WER against one window {e:.3}");
        assert!(
            windowed_words.len().abs_diff(whole_words.len()) * 20 <= whole_words.len(),
            "{with}: {} words in windows, {} in one window",
            windowed_words.len(),
            whole_words.len()
        );

        // Progress rises to 100 across the windows.
        let seen = progress.lock().unwrap();
        assert!(seen.windows(2).all(|p| p[0] <= p[1]), "{with}: {seen:?}");
        assert_eq!(seen.last(), Some(&100), "{with}: {seen:?}");
    }
}
