//! Benchmark of the Whisper engine alone: loads a model and transcribes one audio file (decoded
//! up front by the ffmpeg CLI, outside the timing), printing wall time, real-time factor, peak
//! memory and, given the reference text, the word error rate. One configuration per process,
//! so the peak memory is this configuration's. `scripts/bench-transcribe.sh` drives it.
//!
//! cargo bench -p vidpress-transcribe --bench engine -- AUDIO MODEL [--threads N] [--beam N]
//!     [--reps N] [--reference TEXT-FILE] [--device auto|cpu|cuda]

use std::path::Path;
use std::process::Command;
use std::time::Instant;

use vidpress_transcribe::wer::wer;
use vidpress_transcribe::{Device, Engine, TranscribeOptions, default_threads};

/// Length of one espeak-ng reading of `tests/fixtures/speech-script.txt`.
const SCRIPT_SECONDS: f64 = 78.53;

fn peak_rss_mib() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        .map_or(f64::NAN, |kb| kb / 1024.0)
}

fn decode(path: &Path) -> Vec<f32> {
    let out = Command::new("ffmpeg")
        .args(["-nostdin", "-loglevel", "error", "-i"])
        .arg(path)
        .args(["-ac", "1", "-ar", "16000", "-f", "f32le", "-"])
        .output()
        .expect("ffmpeg is needed to decode the benchmark audio");
    assert!(out.status.success(), "ffmpeg failed on {}", path.display());
    out.stdout
        .chunks_exact(4)
        .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
        .collect()
}

fn main() {
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| a != "--bench")
        .collect();
    let positional: Vec<&String> = args
        .iter()
        .enumerate()
        .filter(|(i, a)| !a.starts_with("--") && (*i == 0 || !args[i - 1].starts_with("--")))
        .map(|(_, a)| a)
        .collect();
    let flag = |name: &str| {
        args.iter()
            .position(|a| a == name)
            .and_then(|i| args.get(i + 1))
    };
    let (Some(audio), Some(model)) = (positional.first(), positional.get(1)) else {
        eprintln!(
            "usage: engine AUDIO MODEL [--threads N] [--beam N] [--reps N] [--reference FILE] [--device D]"
        );
        return;
    };
    let threads = flag("--threads")
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(default_threads);
    let beam = flag("--beam").and_then(|v| v.parse().ok()).unwrap_or(1);
    let reps: usize = flag("--reps").and_then(|v| v.parse().ok()).unwrap_or(1);
    let reference =
        flag("--reference").map(|p| std::fs::read_to_string(p).expect("reference text"));
    let device: Device = flag("--device").map_or(Device::Auto, |d| d.parse().expect("--device"));

    let samples = decode(Path::new(audio));
    let audio_s = samples.len() as f64 / 16_000.0;
    let t = Instant::now();
    let engine = Engine::load_on(Path::new(model), device).expect("model loads");
    let load_s = t.elapsed().as_secs_f64();
    let opts = TranscribeOptions {
        threads: Some(threads),
        beam_size: beam,
        ..TranscribeOptions::default()
    };
    for rep in 0..reps {
        let t = Instant::now();
        let transcript = engine
            .transcribe(&samples, &opts, |_| {})
            .expect("transcribes");
        let wall = t.elapsed().as_secs_f64();
        let e = reference.as_deref().map(|r| {
            // Long files loop the script (78.5 s a reading); compare against the words read.
            let words: Vec<&str> = r.split_whitespace().collect();
            let copies = audio_s / SCRIPT_SECONDS;
            let n = ((copies * words.len() as f64).round() as usize).max(1);
            let expected: Vec<&str> = words.iter().copied().cycle().take(n).collect();
            wer(&expected.join(" "), &transcript.text())
        });
        println!(
            "{{\"audio\":\"{audio}\",\"model\":\"{model}\",\"device\":\"{}\",\"threads\":{threads},\"beam\":{beam},\"rep\":{rep},\"audio_s\":{audio_s:.1},\"load_s\":{load_s:.2},\"wall_s\":{wall:.2},\"rtf\":{:.4},\"peak_rss_mib\":{:.0},\"wer\":{}}}",
            engine.runs_on(),
            wall / audio_s,
            peak_rss_mib(),
            e.map_or("null".to_owned(), |e| format!("{e:.4}"))
        );
    }
}
