//! Caption files parse back: SRT cues numbered from 1 with `HH:MM:SS,mmm` times, WebVTT with
//! its header and `HH:MM:SS.mmm` times, every cue's start before its end and cues in order.

use vidpress_core::{Segment, Transcript};
use vidpress_publish::captions::{to_srt, to_vtt};

fn transcript() -> Transcript {
    let texts = [
        "Welcome back to the channel.",
        "Today we look at ownership in Rust, which is the idea that every value has exactly one owner at a time, and what that means for you.",
        "Borrowing lets you use a value without taking it.",
        "That is all for today.",
    ];
    let mut start = 0;
    let segments = texts
        .iter()
        .map(|text| {
            let end = start + 1500 + text.len() as u64 * 40;
            let segment = Segment {
                start_ms: start,
                end_ms: end,
                text: format!(" {text}"),
                words: Vec::new(),
            };
            start = end + 3_600_000 / 2;
            segment
        })
        .collect();
    Transcript::new(Some("en".into()), segments).unwrap()
}

/// Milliseconds of `HH:MM:SS<sep>mmm`, or `None` when malformed.
fn parse_time(text: &str, sep: char) -> Option<u64> {
    let (hms, ms) = text.split_once(sep)?;
    let parts: Vec<&str> = hms.split(':').collect();
    if parts.len() != 3 || ms.len() != 3 || parts.iter().any(|p| p.len() != 2) {
        return None;
    }
    let n = |s: &str| s.parse::<u64>().ok();
    let (h, m, s) = (n(parts[0])?, n(parts[1])?, n(parts[2])?);
    (m < 60 && s < 60).then_some(((h * 60 + m) * 60 + s) * 1000 + n(ms)?)
}

fn check_cues(blocks: &[&str], sep: char) -> usize {
    let mut last_start = 0;
    let mut cues = 0;
    for block in blocks {
        let mut lines = block.lines();
        let mut timing = lines.next().unwrap();
        if sep == ',' {
            assert_eq!(
                timing.parse::<usize>().unwrap(),
                cues + 1,
                "numbered in order"
            );
            timing = lines.next().unwrap();
        }
        let (start, end) = timing.split_once(" --> ").expect("a timing line");
        let start = parse_time(start, sep).unwrap_or_else(|| panic!("bad time {start}"));
        let end = parse_time(end, sep).unwrap_or_else(|| panic!("bad time {end}"));
        assert!(start < end, "{timing}");
        assert!(start >= last_start, "cues in order: {timing}");
        last_start = start;
        let text: Vec<&str> = lines.collect();
        assert!((1..=2).contains(&text.len()), "one or two lines: {block}");
        cues += 1;
    }
    cues
}

#[test]
fn srt_parses_back() {
    let srt = to_srt(&transcript());
    let blocks: Vec<&str> = srt.trim().split("\n\n").collect();
    assert!(check_cues(&blocks, ',') >= 4);
    assert!(
        srt.contains("01:"),
        "times past an hour are written as hours: {srt}"
    );
}

#[test]
fn vtt_parses_back() {
    let vtt = to_vtt(&transcript());
    let (header, body) = vtt.split_once("\n\n").unwrap();
    assert_eq!(header.lines().next(), Some("WEBVTT"));
    assert!(
        header.lines().skip(1).all(|l| l.contains(": ")),
        "header fields: {header}"
    );
    let blocks: Vec<&str> = body.trim().split("\n\n").collect();
    assert!(check_cues(&blocks, '.') >= 4);
}
