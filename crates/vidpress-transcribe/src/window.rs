//! Long audio in windows of bounded length: the engine reads samples from an [`AudioSource`]
//! as it goes and hands Whisper one window at a time (10 minutes by default), each cut where
//! nobody speaks, so that memory stays the same whatever the length of the media: the
//! samples, whisper.cpp's spectrogram and its signal energy are held for one window only.

use std::ops::Range;

use crate::engine::SAMPLE_RATE;

/// The default length of a window, in seconds.
pub const DEFAULT_WINDOW_SECONDS: u32 = 600;
/// The shortest window allowed; shorter ones would cut too often to find pauses.
pub const MIN_WINDOW_SECONDS: u32 = 10;

/// Where the engine's samples come from: a decoder, or samples already in memory.
pub trait AudioSource {
    /// Why reading failed.
    type Error;
    /// Appends the next 16 kHz mono samples to `buf` (any number, typically one codec frame);
    /// answers `Ok(false)`, having appended nothing, once the audio has ended.
    fn read(&mut self, buf: &mut Vec<f32>) -> Result<bool, Self::Error>;
    /// How many samples the whole audio is expected to have, when known (for progress).
    fn expected_samples(&self) -> Option<u64> {
        None
    }
}

/// Samples already in memory, read a second at a time.
#[derive(Debug, Clone)]
pub struct Samples<'a> {
    rest: &'a [f32],
    total: u64,
}

impl<'a> Samples<'a> {
    /// A source over `samples`.
    pub fn new(samples: &'a [f32]) -> Self {
        Self {
            rest: samples,
            total: samples.len() as u64,
        }
    }
}

impl AudioSource for Samples<'_> {
    type Error = std::convert::Infallible;

    fn read(&mut self, buf: &mut Vec<f32>) -> Result<bool, Self::Error> {
        if self.rest.is_empty() {
            return Ok(false);
        }
        let n = self.rest.len().min(SAMPLE_RATE as usize);
        buf.extend_from_slice(&self.rest[..n]);
        self.rest = &self.rest[n..];
        Ok(true)
    }

    fn expected_samples(&self) -> Option<u64> {
        Some(self.total)
    }
}

impl<S: AudioSource + ?Sized> AudioSource for &mut S {
    type Error = S::Error;

    fn read(&mut self, buf: &mut Vec<f32>) -> Result<bool, Self::Error> {
        (**self).read(buf)
    }

    fn expected_samples(&self) -> Option<u64> {
        (**self).expected_samples()
    }
}

/// Samples per frame of the quiet-point search (50 ms).
const FRAME: usize = SAMPLE_RATE as usize / 20;

/// Where to end a window of `samples` (the window's length, with at least that many more
/// samples to come): in the second half of the window, at the middle of the longest pause
/// between the `speech` ranges the voice activity detection found (the gap after the last one
/// counts too); without any, or without detection, at the quietest 50 ms of the second half.
/// Answers a position in `samples.len() / 2 ..= samples.len()`.
pub fn cut_point(samples: &[f32], speech: Option<&[Range<usize>]>) -> usize {
    let n = samples.len();
    let lo = n / 2;
    if let Some(speech) = speech {
        let mut gaps: Vec<Range<usize>> = speech
            .windows(2)
            .map(|w| w[0].end.min(n)..w[1].start.min(n))
            .collect();
        if let Some(last) = speech.last() {
            gaps.push(last.end.min(n)..n);
        } else {
            // No speech at all: anywhere will do.
            return n;
        }
        let best = gaps
            .into_iter()
            .filter(|g| g.end > g.start && (g.start + g.end) / 2 >= lo)
            .max_by_key(|g| (g.len(), g.start));
        if let Some(gap) = best {
            return (gap.start + gap.end) / 2;
        }
    }
    quietest(samples, lo)
}

/// The middle of the quietest 50 ms frame of `samples[from..]`.
fn quietest(samples: &[f32], from: usize) -> usize {
    let n = samples.len();
    if n.saturating_sub(from) < FRAME {
        return n;
    }
    let mut best = (f64::INFINITY, n);
    let mut start = from;
    while start + FRAME <= n {
        let energy: f64 = samples[start..start + FRAME]
            .iter()
            .map(|&s| f64::from(s) * f64::from(s))
            .sum();
        if energy < best.0 {
            best = (energy, start + FRAME / 2);
        }
        start += FRAME;
    }
    best.1
}

#[cfg(test)]
mod tests {
    use super::*;

    const S: usize = SAMPLE_RATE as usize;

    fn tone(seconds: usize) -> Vec<f32> {
        (0..seconds * S)
            .map(|i| (i as f32 * 0.05).sin() * 0.3)
            .collect()
    }

    #[test]
    fn cuts_at_the_longest_pause_of_the_second_half() {
        let samples = tone(100);
        // Pauses at 20–30 s (first half: not taken), 60–62 s and 80–83 s.
        let speech = [0..20 * S, 30 * S..60 * S, 62 * S..80 * S, 83 * S..100 * S];
        assert_eq!(cut_point(&samples, Some(&speech)), 81 * S + S / 2);
        // Speech that stops at 90 s: the trailing silence is the longest pause.
        let speech = [0..60 * S, 61 * S..90 * S];
        assert_eq!(cut_point(&samples, Some(&speech)), 95 * S);
        // No speech at all: the whole window.
        assert_eq!(cut_point(&samples, Some(&[])), 100 * S);
    }

    #[test]
    fn without_pauses_cuts_at_the_quietest_moment() {
        let mut samples = tone(100);
        // A near-silent 200 ms at 70 s, quieter still than a dip at 30 s (first half).
        samples[70 * S..70 * S + S / 5]
            .iter_mut()
            .for_each(|s| *s *= 0.01);
        samples[30 * S..30 * S + S / 5].fill(0.0);
        let cut = cut_point(&samples, None);
        assert!((70 * S..70 * S + S / 5).contains(&cut), "cut at {cut}");
        // Speech throughout (one range): the same.
        let cut = cut_point(&samples, Some(std::slice::from_ref(&(0..100 * S))));
        assert!((70 * S..70 * S + S / 5).contains(&cut), "cut at {cut}");
    }

    #[test]
    fn samples_are_read_in_order_and_end() {
        let samples: Vec<f32> = (0..(2 * S + 5)).map(|i| i as f32).collect();
        let mut source = Samples::new(&samples);
        assert_eq!(source.expected_samples(), Some(samples.len() as u64));
        let mut buf = Vec::new();
        while source.read(&mut buf).unwrap() {}
        assert_eq!(buf, samples);
        assert!(!source.read(&mut buf).unwrap());
    }
}
