//! The oracle for the encoder's padded attention (third_party/whisper-rs-sys/VIDPRESS.md, 2):
//! the encoder's output on one 30-second window of the test clip, computed with the padding
//! and with the unpadded attention whisper.cpp ships, must agree within the computation's own
//! rounding noise, and the decoder's logits for the first token of the transcript with it.
//!
//! The padding adds key and value positions whose softmax weights are exactly zero, so the two
//! computations differ only in the order of the sums (the padded product runs through the tiled
//! GEMM, the unpadded one through one dot product per element), a relative difference of about
//! 10^-7 in that product. The default weights are q8_0, and each matrix product with them
//! rounds its input to 8 bits per value (in blocks of 32 with one scale): a difference of 10^-7
//! flips some of those roundings, each worth up to 1/254 of its block's largest value, and six
//! layers spread it. What the encoder does with a difference of that size is measured here, on
//! the same window: the unpadded computation on the samples scaled by 1 + 2^-20 (a change far
//! below what any recording resolves) gives the noise floor, and the padded output must lie
//! within twice that floor of the unpadded one. A padding that let the padded positions into
//! the softmax or shifted a position moves the output by far more.
//!
//! `VIDPRESS_WHISPER_ATTN_PAD=0` turns the padding off; whisper.cpp reads it each time it
//! builds the encoder, so each side runs in a child process of this test (setting the
//! environment of a running test is not sound). The encoder's output is read through
//! `whisper_vidpress_encoder_output`, an accessor the vendored whisper.cpp adds for this test
//! (`whisper_rs_sys::vidpress`).

mod support;

use std::path::Path;
use std::process::Command;

/// Set in the child: the file to write its results to.
const CHILD_OUT: &str = "VIDPRESS_PADDING_ORACLE_OUT";
/// Set in the child: the factor the samples are scaled by.
const CHILD_SCALE: &str = "VIDPRESS_PADDING_ORACLE_SCALE";
const TEST: &str = "padded_attention_matches_the_unpadded_encoder";

/// How far the padded output may be from the unpadded one, in multiples of the noise floor
/// (the RMS difference the perturbed input makes).
const NOISE_FLOORS: f32 = 2.0;
/// And at most this RMS difference relative to the output's RMS, whatever the floor.
const ENCODER_RMS_REL: f32 = 0.03;
/// The same comparison for the first token's logits (their RMS difference), with room for the
/// noise of a single window.
const LOGITS_NOISE_FLOORS: f32 = 3.0;

/// What one side computed.
#[derive(Debug)]
struct Run {
    /// The attention's key and value positions: 1500, or 1504 when padded.
    positions: i32,
    /// The encoder's output, 1500 positions of n_audio_state values.
    encoder: Vec<f32>,
    /// The decoder's logits for the first text token after the prompt.
    logits: Vec<f32>,
}

/// The child's side: encode the first 30 seconds of the clip, decode the first token and
/// write the results to `out`.
fn encode_and_write(out: &Path) {
    let scale: f32 = std::env::var(CHILD_SCALE).unwrap().parse().unwrap();
    let samples: Vec<f32> = support::decode(&support::media("speech.wav"))
        .into_iter()
        .map(|s| s * scale)
        .collect();
    let run = whisper_rs_sys::vidpress::encode_first_window(&support::model("base"), &samples, 2)
        .unwrap();
    let mut bytes = Vec::new();
    bytes.extend_from_slice(&run.attn_positions.to_le_bytes());
    for part in [&run.output, &run.first_token_logits] {
        bytes.extend_from_slice(&(part.len() as u32).to_le_bytes());
        part.iter()
            .for_each(|v| bytes.extend_from_slice(&v.to_le_bytes()));
    }
    std::fs::write(out, bytes).unwrap();
}

fn read_run(bytes: &[u8]) -> Run {
    let (head, mut rest) = bytes.split_at(4);
    let positions = i32::from_le_bytes(head.try_into().unwrap());
    let mut part = || {
        let (n, r) = rest.split_at(4);
        let n = u32::from_le_bytes(n.try_into().unwrap()) as usize;
        let (values, r) = r.split_at(n * 4);
        rest = r;
        values
            .chunks_exact(4)
            .map(|c| f32::from_le_bytes(c.try_into().unwrap()))
            .collect::<Vec<f32>>()
    };
    let encoder = part();
    let logits = part();
    Run {
        positions,
        encoder,
        logits,
    }
}

/// Runs this test in a child process with the padding on (`"1"`) or off (`"0"`), on the
/// samples scaled by `scale`.
fn run_with_padding(pad: &str, scale: f32) -> Run {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("run.bin");
    let child = Command::new(std::env::current_exe().unwrap())
        .args(["--exact", TEST, "--nocapture", "--test-threads=1"])
        .env(CHILD_OUT, &out)
        .env(CHILD_SCALE, scale.to_string())
        .env("VIDPRESS_WHISPER_ATTN_PAD", pad)
        .output()
        .unwrap();
    assert!(
        child.status.success() && out.is_file(),
        "the child (padding {pad}) failed:\n{}\n{}",
        String::from_utf8_lossy(&child.stdout),
        String::from_utf8_lossy(&child.stderr)
    );
    read_run(&std::fs::read(&out).unwrap())
}

fn rms(v: impl Iterator<Item = f32>) -> f32 {
    let (sum, n) = v.fold((0f64, 0usize), |(s, n), x| {
        (s + f64::from(x).powi(2), n + 1)
    });
    (sum / n.max(1) as f64).sqrt() as f32
}

fn argmax(v: &[f32]) -> usize {
    v.iter()
        .enumerate()
        .max_by(|a, b| a.1.total_cmp(b.1))
        .map_or(0, |(i, _)| i)
}

/// The RMS of `a - b`.
fn rms_diff(a: &[f32], b: &[f32]) -> f32 {
    rms(a.iter().zip(b).map(|(x, y)| x - y))
}

#[test]
fn padded_attention_matches_the_unpadded_encoder() {
    if let Some(out) = std::env::var_os(CHILD_OUT) {
        encode_and_write(Path::new(&out));
        return;
    }
    let padded = run_with_padding("1", 1.0);
    let unpadded = run_with_padding("0", 1.0);
    let nudged = run_with_padding("0", 1.0 + 2f32.powi(-20));

    // Each side really ran the computation it names.
    assert_eq!(padded.positions, 1504, "the padding did not apply");
    assert_eq!(unpadded.positions, 1500, "the padding was not turned off");
    assert_eq!(nudged.positions, 1500);
    assert_eq!(padded.encoder.len(), unpadded.encoder.len());
    assert_eq!(padded.encoder.len() % 1500, 0, "1500 positions");
    for run in [&padded, &unpadded, &nudged] {
        assert!(
            run.encoder.iter().chain(&run.logits).all(|v| v.is_finite()),
            "not finite"
        );
    }
    let out_rms = rms(unpadded.encoder.iter().copied());
    assert!(out_rms > 0.1, "a real encoder output (RMS {out_rms})");
    let spread = unpadded.logits.iter().fold(f32::MIN, |m, v| m.max(*v))
        - unpadded.logits.iter().fold(f32::MAX, |m, v| m.min(*v));
    assert!(spread > 1.0, "real logits (spread {spread})");

    let padding = rms_diff(&padded.encoder, &unpadded.encoder);
    let floor = rms_diff(&nudged.encoder, &unpadded.encoder);
    let max_abs = padded
        .encoder
        .iter()
        .zip(&unpadded.encoder)
        .fold(0f32, |m, (a, b)| m.max((a - b).abs()));
    let max_floor = nudged
        .encoder
        .iter()
        .zip(&unpadded.encoder)
        .fold(0f32, |m, (a, b)| m.max((a - b).abs()));
    let logits = rms_diff(&padded.logits, &unpadded.logits);
    let logits_floor = rms_diff(&nudged.logits, &unpadded.logits);
    eprintln!(
        "encoder output: {} values, RMS {out_rms:.4}; padded − unpadded: RMS {padding:.3e} \
         ({:.2e} of the output), largest {max_abs:.3e}; noise floor (input × (1 + 2^-20)): \
         RMS {floor:.3e}, largest {max_floor:.3e}; first-token logits: RMS difference \
         {logits:.3e}, noise floor {logits_floor:.3e}",
        padded.encoder.len(),
        padding / out_rms,
    );
    assert!(
        floor > 0.0,
        "the nudged input changed nothing: no noise floor"
    );
    assert!(
        padding <= NOISE_FLOORS * floor,
        "the padded encoder output is off by an RMS of {padding}, {:.1}× the noise floor {floor}",
        padding / floor
    );
    assert!(
        padding <= ENCODER_RMS_REL * out_rms,
        "the padded encoder output is off by an RMS of {padding} (allowed {})",
        ENCODER_RMS_REL * out_rms
    );
    assert!(
        logits <= LOGITS_NOISE_FLOORS * logits_floor.max(1e-3),
        "the first token's logits moved by an RMS of {logits} (noise floor {logits_floor})"
    );
    assert_eq!(
        argmax(&padded.logits),
        argmax(&unpadded.logits),
        "the first token changed"
    );
}
