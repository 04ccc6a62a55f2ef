//! Memory stays flat while streaming: decoding a long file must not keep its packets.
//! (Alone in its own test binary, so no other test's allocations share the process.)

mod support;

use support::run;
use vidpress_media::{decode_audio, decode_audio_chunks};

/// Peak and current resident set size in MiB.
fn rss_mib() -> (f64, f64) {
    let status = std::fs::read_to_string("/proc/self/status").expect("/proc/self/status");
    let field = |name: &str| {
        status
            .lines()
            .find(|l| l.starts_with(name))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|kb| kb.parse::<f64>().ok())
            .expect("VmHWM/VmRSS in /proc/self/status")
            / 1024.0
    };
    (field("VmHWM:"), field("VmRSS:"))
}

/// Peak RSS growth (MiB) while running `f`.
fn peak_growth(f: impl FnOnce()) -> f64 {
    // Writing 5 to clear_refs resets the peak to the current size (Linux).
    std::fs::write("/proc/self/clear_refs", "5").expect("reset peak RSS");
    let (_, before) = rss_mib();
    f();
    let (peak, _) = rss_mib();
    peak - before
}

#[test]
fn streaming_a_long_file_keeps_memory_flat() {
    let dir = tempfile::tempdir().unwrap();
    let wav = dir.path().join("six-minutes.wav");
    // 6 minutes of 48 kHz stereo 16-bit: 66 MiB of packets that must not pile up.
    run(
        "ffmpeg",
        &[
            "-hide_banner",
            "-loglevel",
            "error",
            "-nostdin",
            "-y",
            "-f",
            "lavfi",
            "-i",
            "sine=frequency=440:duration=360:sample_rate=48000",
            "-ac",
            "2",
            "-c:a",
            "pcm_s16le",
            wav.to_str().unwrap(),
        ],
    );

    // Warm up FFmpeg's one-time allocations before measuring.
    let mut total = 0u64;
    decode_audio_chunks(&wav, |_| {}, |_| {}).unwrap();
    let streamed = peak_growth(|| {
        total = decode_audio_chunks(&wav, |_| {}, |c| assert!(c.len() < 16_000)).unwrap();
    });
    assert_eq!(total, 360 * 16_000);
    assert!(
        streamed < 16.0,
        "streaming grew the peak RSS by {streamed:.1} MiB"
    );

    // Collecting costs the samples themselves (22 MiB) and not much more.
    let samples_mib = (360 * 16_000 * 4) as f64 / (1024.0 * 1024.0);
    let collected = peak_growth(|| {
        let samples = decode_audio(&wav, |_| {}).unwrap();
        assert_eq!(samples.len(), 360 * 16_000);
    });
    assert!(
        collected < samples_mib + 16.0,
        "collecting {samples_mib:.1} MiB of samples grew the peak RSS by {collected:.1} MiB"
    );
}
