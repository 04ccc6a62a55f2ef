//! The converter against a real faster-whisper model (tiny.en): the GGML output, in every
//! weight type, loads in whisper.cpp with OpenAI's tiny.en dimensions and transcribes speech.

mod support;

use vidpress_transcribe::ggml::{Hparams, WeightType};
use vidpress_transcribe::models::read_ggml_header;
use vidpress_transcribe::wer::wer;
use vidpress_transcribe::{Engine, TranscribeOptions, convert_dir};

/// OpenAI's published dimensions of Whisper tiny.en.
const TINY_EN: Hparams = Hparams {
    n_vocab: 51864,
    n_audio_ctx: 1500,
    n_audio_state: 384,
    n_audio_head: 6,
    n_audio_layer: 4,
    n_text_ctx: 448,
    n_text_state: 384,
    n_text_head: 6,
    n_text_layer: 4,
    n_mels: 80,
};

#[test]
fn converted_tiny_en_loads_with_its_dimensions_and_transcribes_in_every_weight_type() {
    let src = support::ct2_tiny_en();
    let dir = tempfile::tempdir().unwrap();
    let samples = support::decode(&support::media("speech.wav"));
    // The first sentences, about 12 seconds.
    let clip = &samples[..16_000 * 12];
    let mut sizes = Vec::new();
    for wt in WeightType::ALL {
        let out = dir.path().join(format!("tiny.en-{wt}.bin"));
        let hp = convert_dir(&src, &out, wt).unwrap();
        assert_eq!(hp, TINY_EN, "{wt}");
        let header = read_ggml_header(&out).unwrap();
        assert_eq!((header.hparams, header.weight_type), (TINY_EN, wt));
        let engine = Engine::load(&out).unwrap();
        assert_eq!(
            engine.hparams(),
            TINY_EN,
            "whisper.cpp's view of the {wt} file"
        );
        assert!(!engine.is_multilingual());
        let t = engine
            .transcribe(clip, &TranscribeOptions::default(), |_| {})
            .unwrap();
        let expected = "Every morning the old baker opens his shop before the sun comes up. He lights the ovens, mixes the flour with water and salt";
        let text = t.text();
        let hyp: String = text
            .split_whitespace()
            .take(expected.split_whitespace().count())
            .collect::<Vec<_>>()
            .join(" ");
        let e = wer(expected, &hyp);
        assert!(e <= 0.25, "{wt}: WER {e:.2} for {text:?}");
        assert_eq!(t.language(), Some("en"));
        sizes.push(std::fs::metadata(&out).unwrap().len());
    }
    // Quantized files are smaller: f16 > q8_0 > q5_1.
    assert!(sizes[0] > sizes[1] && sizes[1] > sizes[2], "{sizes:?}");
}

#[test]
fn directories_without_a_model_are_refused_with_their_path() {
    let dir = tempfile::tempdir().unwrap();
    let err = convert_dir(dir.path(), &dir.path().join("out.bin"), WeightType::F16).unwrap_err();
    assert!(err.to_string().contains("model.bin"), "{err}");
    std::fs::write(dir.path().join("model.bin"), b"\x06\0\0\0garbage").unwrap();
    std::fs::write(dir.path().join("vocabulary.txt"), "a\n<|endoftext|>\n").unwrap();
    let err = convert_dir(dir.path(), &dir.path().join("out.bin"), WeightType::F16).unwrap_err();
    assert!(err.to_string().contains("model.bin"), "{err}");
    assert!(
        !dir.path().join("out.bin").exists(),
        "a failed conversion left a file behind"
    );
}
