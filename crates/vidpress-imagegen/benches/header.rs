//! What a header image costs on this machine. Prints figures; asserts nothing about speed.
//!
//! - `keyframe`: the header from the best keyframe of a generated 10-minute 640×360 video
//!   (what a draft gets without a diffusion model), median of 3 runs.
//! - `diffusion`: one 512×512 picture with SD-Turbo's full shapes and random weights (time and
//!   memory do not depend on the weights' values), with the full VAE decoder and with the small
//!   TAESD decoder: load time, text encoder, UNet step, decoder, and the process's peak resident
//!   memory. The weights (about 2.6 GB as f16) are written once into `VIDPRESS_BENCH_DIR`
//!   (default `target/bench-sd-turbo`) and reused.
//!
//! Run: `cargo bench --workspace --bench header -- keyframe|full|tiny` (one per process, so each
//! peak memory figure is its own; nothing given runs `keyframe`).

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use vidpress_imagegen::diffusion::random::{Shapes, write_model};
use vidpress_imagegen::diffusion::{self, DecoderChoice, DiffusionModel, DiffusionOptions};
use vidpress_imagegen::{FallbackInput, Origin, Style, fallback_header};

fn peak_rss_mb() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        .map_or(f64::NAN, |kb| kb / 1024.0)
}

fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|l| l.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_default()
}

fn keyframe() {
    let tmp = tempfile::tempdir().unwrap();
    let video = tmp.path().join("ten-minutes.mp4");
    let started = Instant::now();
    let status = Command::new("ffmpeg")
        .args([
            "-hide_banner",
            "-loglevel",
            "error",
            "-y",
            "-f",
            "lavfi",
            "-i",
        ])
        .arg("testsrc2=size=640x360:rate=25:duration=600")
        .args(["-c:v", "libx264", "-preset", "ultrafast", "-g", "50"])
        .arg(&video)
        .status()
        .expect("ffmpeg runs");
    assert!(status.success());
    println!(
        "made a 10-minute 640x360 video in {:.1} s ({:.1} MB)",
        started.elapsed().as_secs_f64(),
        std::fs::metadata(&video).unwrap().len() as f64 / 1e6
    );
    let mut times = Vec::new();
    for _ in 0..3 {
        let started = Instant::now();
        let images = fallback_header(&FallbackInput {
            title: "Ten minutes of test pattern, and the one frame worth a header",
            media: Some(&video),
            thumbnail: None,
            style: Style::Photo,
        });
        times.push(started.elapsed());
        assert!(
            matches!(images.origin, Origin::Keyframe { .. }),
            "{}",
            images.describe()
        );
    }
    times.sort();
    println!(
        "keyframe header, 10-minute video: median {:.2} s (runs: {})",
        times[1].as_secs_f64(),
        times
            .iter()
            .map(|t| format!("{:.2}", t.as_secs_f64()))
            .collect::<Vec<_>>()
            .join(", ")
    );
}

fn bench_dir() -> PathBuf {
    std::env::var_os("VIDPRESS_BENCH_DIR").map_or_else(
        || Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/bench-sd-turbo"),
        PathBuf::from,
    )
}

fn draw(decoder: DecoderChoice) {
    let dir = bench_dir();
    if diffusion::Layout::find(&dir).is_err() || !dir.join("taesd").is_dir() {
        let started = Instant::now();
        let _ = std::fs::remove_dir_all(&dir);
        write_model(&dir, Shapes::SdTurbo, true).expect("the random model is written");
        println!(
            "wrote SD-Turbo-shaped random weights into {} in {:.1} s",
            dir.display(),
            started.elapsed().as_secs_f64()
        );
    }
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let started = Instant::now();
    let model = DiffusionModel::load(
        &dir,
        &DiffusionOptions {
            decoder,
            ..DiffusionOptions::default()
        },
    )
    .expect("the model loads");
    let load = started.elapsed();
    let name = if model.tiny_decoder() { "TAESD" } else { "VAE" };
    let mut totals: Vec<Duration> = Vec::new();
    for seed in 0..2 {
        let drawn = model
            .draw(
                &diffusion::prompt("How to repair a bicycle wheel", &[], Style::Photo),
                diffusion::NEGATIVE_PROMPT,
                seed,
            )
            .expect("a picture");
        let t = drawn.timings;
        println!(
            "512x512, 1 step, {name} decoder, {threads} threads, f32: text {:.2} s, UNet {:.2} s, \
             decode {:.2} s, total {:.2} s",
            t.text.as_secs_f64(),
            t.unet.as_secs_f64(),
            t.decode.as_secs_f64(),
            t.total().as_secs_f64()
        );
        totals.push(t.total());
    }
    println!(
        "{name}: load {:.1} s, best picture {:.2} s, peak resident memory {:.0} MB, load average {}",
        load.as_secs_f64(),
        totals.iter().min().unwrap().as_secs_f64(),
        peak_rss_mb(),
        load_average()
    );
}

fn main() {
    let which: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with('-'))
        .collect();
    println!("load average before: {}", load_average());
    match which.first().map(String::as_str) {
        None | Some("keyframe") => keyframe(),
        Some("full") => draw(DecoderChoice::Full),
        Some("tiny") => draw(DecoderChoice::Tiny),
        Some(other) => panic!("unknown benchmark {other}: keyframe, full or tiny"),
    }
}
