//! Decoding benchmark: a long spoken file (espeak-ng speech looped, generated on first run)
//! decoded to 16 kHz mono, collected into a vector and streamed. Prints wall time, the
//! real-time factor and peak RSS for each.
//!
//! `cargo bench -p vidpress-media --bench decode`; `VIDPRESS_BENCH_MINUTES=10,60` picks the
//! lengths (default 10).

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

const SCRIPT: &str = "Vidpress turns a creator's videos into blog posts. It fetches each new \
video, extracts the audio, and transcribes it locally. The transcript becomes a draft with \
sections, paragraphs and pull quotes, which the creator edits and exports. Audio is decoded \
with FFmpeg and resampled to sixteen kilohertz mono, one packet at a time, so that memory does \
not grow with the length of the video.";

fn ffmpeg(args: &[&str]) {
    let status = Command::new("ffmpeg")
        .args(["-hide_banner", "-loglevel", "error", "-nostdin", "-y"])
        .args(args)
        .status()
        .expect("ffmpeg CLI (scripts/test.sh installs it)");
    assert!(status.success(), "ffmpeg {args:?} failed");
}

/// Generates (once, cached in the temp folder) `minutes` of looped speech in `ext`.
fn long_file(minutes: u32, ext: &str, codec_args: &[&str]) -> PathBuf {
    let dir = std::env::temp_dir().join("vidpress-media-bench");
    std::fs::create_dir_all(&dir).unwrap();
    let out = dir.join(format!("speech-{minutes}min.{ext}"));
    if out.is_file() {
        return out;
    }
    let speech = dir.join("speech.wav");
    if !speech.is_file() {
        let status = Command::new("espeak-ng")
            .args(["-w", speech.to_str().unwrap(), SCRIPT])
            .status()
            .expect("espeak-ng (scripts/test.sh installs it)");
        assert!(status.success());
    }
    let seconds = (minutes * 60).to_string();
    let partial = dir.join(format!("partial-{minutes}min.{ext}"));
    let mut args = vec!["-stream_loop", "-1", "-i", speech.to_str().unwrap()];
    args.extend(["-t", &seconds, "-ar", "48000", "-ac", "2"]);
    args.extend_from_slice(codec_args);
    args.push(partial.to_str().unwrap());
    ffmpeg(&args);
    std::fs::rename(&partial, &out).unwrap();
    out
}

/// Resets the kernel's peak-RSS counter for this process (Linux `clear_refs` value 5).
fn reset_peak_rss() {
    let _ = std::fs::write("/proc/self/clear_refs", "5");
}

/// Peak and current resident set size in MiB.
fn rss_mib() -> (f64, f64) {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let field = |name: &str| {
        status
            .lines()
            .find(|l| l.starts_with(name))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|kb| kb.parse::<f64>().ok())
            .map_or(f64::NAN, |kb| kb / 1024.0)
    };
    (field("VmHWM:"), field("VmRSS:"))
}

fn measure(label: &str, path: &Path, collect: bool) {
    reset_peak_rss();
    let (_, before) = rss_mib();
    let start = Instant::now();
    let samples = if collect {
        let samples = vidpress_media::decode_audio(path, |_| {}).expect("decode");
        let n = samples.len() as u64;
        std::hint::black_box(&samples);
        drop(samples);
        n
    } else {
        let mut energy = 0.0f64;
        let n = vidpress_media::decode_audio_chunks(
            path,
            |_| {},
            |chunk| energy += chunk.iter().map(|s| f64::from(*s).powi(2)).sum::<f64>(),
        )
        .expect("decode");
        std::hint::black_box(energy);
        n
    };
    let wall = start.elapsed().as_secs_f64();
    let (peak, _) = rss_mib();
    let audio = samples as f64 / f64::from(vidpress_media::SAMPLE_RATE);
    println!(
        "| {label:<28} | {:>7.1} | {:>7.2} | {:>6.0}x | {:>8.1} | {:>8.1} |",
        audio / 60.0,
        wall,
        audio / wall,
        peak,
        peak - before
    );
}

fn main() {
    let minutes: Vec<u32> = std::env::var("VIDPRESS_BENCH_MINUTES")
        .unwrap_or_else(|_| "10".into())
        .split(',')
        .filter_map(|m| m.trim().parse().ok())
        .collect();
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    println!("vidpress-media decode benchmark ({cores} cores visible)");
    println!();
    println!(
        "| file, mode                   | minutes |  wall s |    RTF  | peak MiB | +RSS MiB |"
    );
    println!(
        "|------------------------------|---------|---------|---------|----------|----------|"
    );
    for m in minutes {
        let files = [
            (
                "aac 128k .m4a",
                long_file(m, "m4a", &["-c:a", "aac", "-b:a", "128k"]),
            ),
            (
                "opus 96k .webm",
                long_file(m, "webm", &["-c:a", "libopus", "-b:a", "96k"]),
            ),
        ];
        for (name, path) in &files {
            measure(&format!("{m}min {name}, Vec"), path, true);
            measure(&format!("{m}min {name}, stream"), path, false);
        }
    }
    println!();
    println!("RTF: audio duration / wall time. +RSS: peak minus resident size before the run.");
}
