//! The engine with the real Whisper base model on espeak-ng speech in several containers and
//! codecs (decoded by the real FFmpeg), and on silence and a music-like tone.

mod support;

use vidpress_transcribe::wer::wer;
use vidpress_transcribe::{Engine, TranscribeOptions};

fn engine() -> Engine {
    Engine::load(&support::model("base")).unwrap()
}

#[test]
fn speech_in_every_container_transcribes_within_15_percent_wer() {
    let engine = engine();
    let script = support::script();
    for file in ["speech.wav", "speech.mp4", "speech.mkv", "speech.webm"] {
        let samples = support::decode(&support::media(file));
        assert!(
            samples.len() > 16_000 * 60,
            "{file} is shorter than a minute"
        );
        let t = engine
            .transcribe(&samples, &TranscribeOptions::default(), |_| {})
            .unwrap();
        let e = wer(&script, &t.text());
        eprintln!("{file}: WER {e:.3}");
        assert!(e <= 0.15, "{file}: WER {e:.3}\n{}", t.text());
        assert_eq!(t.language(), Some("en"), "{file}: language detection");
        let duration_ms = samples.len() as u64 / 16;
        let mut last_word_start = 0;
        for s in t.segments() {
            assert!(
                s.end_ms <= duration_ms + 1000,
                "{file}: segment past the end: {s:?}"
            );
            assert!(!s.words.is_empty(), "{file}: segment without words: {s:?}");
            for w in &s.words {
                assert!(
                    w.start_ms >= s.start_ms && w.end_ms <= s.end_ms && w.start_ms <= w.end_ms,
                    "{file}: {w:?} outside {s:?}"
                );
                assert!(
                    w.start_ms >= last_word_start,
                    "{file}: words out of order at {w:?}"
                );
                assert!((0.0..=1.0).contains(&w.probability));
                last_word_start = w.start_ms;
            }
        }
    }
}

/// With the language left to detection, the detection's encoding of the first window is reused
/// for transcribing it (third_party/whisper-rs-sys/VIDPRESS.md); naming the language encodes
/// that window in the transcription itself. Both must give the very same transcript.
#[test]
fn detected_language_transcribes_exactly_as_the_named_language() {
    let engine = engine();
    let samples = support::decode(&support::media("speech.wav"));
    let run = |language: Option<&str>| {
        let opts = TranscribeOptions {
            threads: Some(2),
            language: language.map(str::to_owned),
            ..TranscribeOptions::default()
        };
        engine.transcribe(&samples, &opts, |_| {}).unwrap()
    };
    let detected = run(None);
    let named = run(Some("en"));
    assert_eq!(detected.language(), Some("en"));
    assert!(!named.segments().is_empty());
    assert_eq!(detected.text(), named.text());
    let times = |t: &vidpress_core::Transcript| {
        t.segments()
            .iter()
            .map(|s| (s.start_ms, s.end_ms, s.words.len()))
            .collect::<Vec<_>>()
    };
    assert_eq!(times(&detected), times(&named));
}

#[test]
fn silence_and_a_music_like_tone_invent_no_sentences() {
    let engine = engine();
    for file in ["silence.wav", "tone.wav"] {
        let samples = support::decode(&support::media(file));
        assert_eq!(samples.len(), 16_000 * 30, "{file}");
        let t = engine
            .transcribe(&samples, &TranscribeOptions::default(), |_| {})
            .unwrap();
        assert!(t.segments().is_empty(), "{file}: invented {:?}", t.text());
    }
}

#[test]
fn progress_is_reported_and_bad_requests_fail_clearly() {
    let engine = engine();
    let samples = support::decode(&support::media("speech.wav"));
    let seen = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let seen2 = seen.clone();
    let opts = TranscribeOptions {
        threads: Some(1),
        ..TranscribeOptions::default()
    };
    engine
        .transcribe(&samples[..16_000 * 40], &opts, move |p| {
            seen2.lock().unwrap().push(p)
        })
        .unwrap();
    let seen = seen.lock().unwrap();
    assert!(
        !seen.is_empty() && seen.windows(2).all(|w| w[0] <= w[1]),
        "{seen:?}"
    );
    assert!(*seen.last().unwrap() >= 50, "{seen:?}");

    let err = engine.transcribe(&[], &opts, |_| {}).unwrap_err();
    assert!(err.to_string().contains("no audio"), "{err}");
    let bad = TranscribeOptions {
        language: Some("klingon".into()),
        ..opts
    };
    let err = engine
        .transcribe(&samples[..16_000], &bad, |_| {})
        .unwrap_err();
    assert!(err.to_string().contains("klingon"), "{err}");
    let err = Engine::load(std::path::Path::new("/nonexistent/model.bin")).unwrap_err();
    assert!(err.to_string().contains("/nonexistent/model.bin"), "{err}");
}

/// The first segment holding `word`, and that word's start.
fn find(t: &vidpress_core::Transcript, word: &str) -> (u64, u64) {
    for s in t.segments() {
        for w in &s.words {
            let bare: String = w
                .text
                .chars()
                .filter(|c| c.is_alphanumeric())
                .collect::<String>()
                .to_lowercase();
            if bare == word {
                return (s.start_ms, w.start_ms);
            }
        }
    }
    panic!("no `{word}` in {:?}", t.text());
}

#[test]
fn a_sentence_after_a_pause_starts_where_it_is_spoken() {
    let samples = support::decode(&support::media("pause-speech.wav"));
    // Where the second sentence is heard: the first sound after the 1.2 s of digital silence.
    let rate = vidpress_transcribe::SAMPLE_RATE as usize;
    let quiet = |x: &f32| x.abs() < 1e-3;
    let mut run = 0;
    let mut spoken = None;
    for (i, x) in samples.iter().enumerate() {
        if quiet(x) {
            run += 1;
        } else {
            if run >= rate {
                spoken = Some((i * 1000 / rate) as u64);
            }
            run = 0;
        }
    }
    let spoken = spoken.expect("a second of silence between the sentences");
    let engine = engine();
    let opts = TranscribeOptions {
        vad_model: Some(support::vad_model()),
        ..TranscribeOptions::default()
    };
    let t = engine.transcribe(&samples, &opts, |_| {}).unwrap();
    let second = t
        .segments()
        .iter()
        .find(|s| s.text.trim_start().starts_with("Finally"))
        .unwrap_or_else(|| panic!("no segment opens with `Finally`: {:?}", t.segments()));
    // Whisper alone stamps it 1.2 s early, at the start of the pause.
    for (what, at) in [
        ("the segment", second.start_ms),
        ("its first word", second.words[0].start_ms),
    ] {
        assert!(
            at.abs_diff(spoken) <= 300,
            "{what} is stamped at {at} ms, spoken at {spoken} ms: {second:?}"
        );
    }
    // The words before the pause keep their times, in order.
    let starts: Vec<u64> = t
        .segments()
        .iter()
        .flat_map(|s| s.words.iter().map(|w| w.start_ms))
        .collect();
    assert!(starts.windows(2).all(|w| w[0] <= w[1]), "{starts:?}");
    assert!(starts[0] < 500, "{starts:?}");
}

#[test]
fn times_hold_after_long_silence_and_music_with_voice_activity_detection() {
    let engine = engine();
    let opts = TranscribeOptions {
        vad_model: Some(support::vad_model()),
        ..TranscribeOptions::default()
    };
    let within = |what: &str, got: u64, expected: u64| {
        assert!(
            got.abs_diff(expected) <= 1000,
            "{what}: stamped at {got} ms, spoken at {expected} ms"
        );
    };
    // 20 s of silence, then the only sentence.
    let samples = support::decode(&support::media("late-speech.wav"));
    let t = engine.transcribe(&samples, &opts, |_| {}).unwrap();
    assert_eq!(t.segments().len(), 1, "{:?}", t.segments());
    within(
        "the sentence after 20 s of silence",
        t.segments()[0].start_ms,
        20_000,
    );
    within("its first word", t.segments()[0].words[0].start_ms, 20_000);
    let (_, baker) = find(&t, "baker");
    assert!((20_000..24_000).contains(&baker), "`baker` at {baker} ms");

    // 15 s of music, a sentence, 20 s of music, a sentence.
    let samples = support::decode(&support::media("music-speech.wav"));
    let t = engine.transcribe(&samples, &opts, |_| {}).unwrap();
    // Whisper base mishears a few of espeak-ng's words here; these two it gets.
    let (segment, word) = find(&t, "shop");
    within("the sentence after the music intro", segment, 15_000);
    assert!((15_000..20_000).contains(&word), "`shop` at {word} ms");
    let (segment, word) = find(&t, "river");
    within("the sentence after music in the middle", segment, 40_000);
    assert!((40_000..45_000).contains(&word), "`river` at {word} ms");
    assert_eq!(t.language(), Some("en"));
    for s in t.segments() {
        assert!(
            !(20_500..39_500).contains(&s.start_ms),
            "nothing is transcribed from the music: {s:?}"
        );
    }
}
