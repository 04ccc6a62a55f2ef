//! Choosing a video's best frame for its header: each sampled frame is measured on a small
//! copy (brightness, contrast, sharpness, colourfulness, change over the next moment); black,
//! blank, washed-out, blurred and mid-transition frames are refused, and among the rest the
//! sharp, well-exposed, colourful ones win.

use vidpress_media::{FrameSample, RgbFrame};

/// Below this mean brightness (0–1) a frame is black.
const DARK: f32 = 0.08;
/// Above this mean brightness a frame is washed out or white.
const BRIGHT: f32 = 0.92;
/// Below this spread of brightness a frame is blank (a flat colour, a slate).
const FLAT: f32 = 0.035;
/// Below this sharpness (variance of the Laplacian of brightness, on the 0–1 scale) a frame
/// is blurred.
const BLURRED: f32 = 0.0015;
/// Above this mean change of brightness to the frame a moment later, a cut or fade is in
/// progress.
const CHANGING: f32 = 0.12;

/// What the chooser measured in one frame.
#[derive(Debug, Clone, PartialEq)]
pub struct FrameScore {
    pub time_ms: i64,
    /// Mean brightness, 0–1.
    pub brightness: f32,
    /// Standard deviation of brightness, 0–1.
    pub spread: f32,
    /// Variance of the Laplacian of brightness.
    pub sharpness: f32,
    /// Hasler and Süsstrunk's colourfulness (0 grey, ~100 very colourful).
    pub colourfulness: f32,
    /// Mean absolute change of brightness to the frame a moment later (0 when none).
    pub change: f32,
    /// Why the frame cannot be a header, if it cannot.
    pub refused: Option<&'static str>,
    /// Higher is better; 0 for a refused frame.
    pub score: f32,
}

/// Measures one sample.
pub fn score(sample: &FrameSample) -> FrameScore {
    let frame = &sample.frame;
    let luma = luma(frame);
    let n = luma.len().max(1) as f32;
    let brightness = luma.iter().sum::<f32>() / n;
    let spread = (luma.iter().map(|l| (l - brightness).powi(2)).sum::<f32>() / n).sqrt();
    let sharpness = laplacian_variance(&luma, frame.width as usize, frame.height as usize);
    let colourfulness = colourfulness(frame);
    let change = sample
        .later
        .as_ref()
        .filter(|l| l.width == frame.width && l.height == frame.height)
        .map(|later| {
            let other = luma_of(later);
            luma.iter()
                .zip(&other)
                .map(|(a, b)| (a - b).abs())
                .sum::<f32>()
                / n
        })
        .unwrap_or(0.0);
    let refused = if brightness < DARK {
        Some("too dark")
    } else if brightness > BRIGHT {
        Some("washed out")
    } else if spread < FLAT {
        Some("blank")
    } else if sharpness < BLURRED {
        Some("blurred")
    } else if change > CHANGING {
        Some("mid-transition")
    } else {
        None
    };
    // Sharpness counts with diminishing returns (noise is "sharp" too), colour adds to it,
    // exposure near the middle and a steady picture keep it.
    let exposure = (1.0 - (brightness - 0.45).abs() * 1.4).clamp(0.2, 1.0);
    let steadiness = 1.0 - (change / CHANGING).min(1.0) * 0.5;
    let score = match refused {
        Some(_) => 0.0,
        None => {
            (1.0 + sharpness * 400.0).ln()
                * (0.5 + (colourfulness / 60.0).min(1.5))
                * exposure
                * steadiness
        }
    };
    FrameScore {
        time_ms: frame.time_ms,
        brightness,
        spread,
        sharpness,
        colourfulness,
        change,
        refused,
        score,
    }
}

/// The best frame among `samples` and every frame's score, or `None` when all were refused.
pub fn choose(samples: &[FrameSample]) -> (Option<usize>, Vec<FrameScore>) {
    let scores: Vec<FrameScore> = samples.iter().map(score).collect();
    let best = scores
        .iter()
        .enumerate()
        .filter(|(_, s)| s.refused.is_none())
        .max_by(|a, b| a.1.score.total_cmp(&b.1.score))
        .map(|(i, _)| i);
    (best, scores)
}

fn luma_of(frame: &RgbFrame) -> Vec<f32> {
    luma(frame)
}

/// Brightness of each pixel, 0–1 (Rec. 601 weights on the encoded values).
fn luma(frame: &RgbFrame) -> Vec<f32> {
    frame
        .data
        .chunks_exact(3)
        .map(|p| {
            (0.299 * f32::from(p[0]) + 0.587 * f32::from(p[1]) + 0.114 * f32::from(p[2])) / 255.0
        })
        .collect()
}

/// Variance of the 4-neighbour Laplacian: large where edges are crisp, near zero when blurred.
fn laplacian_variance(luma: &[f32], width: usize, height: usize) -> f32 {
    if width < 3 || height < 3 || luma.len() < width * height {
        return 0.0;
    }
    let mut values = Vec::with_capacity((width - 2) * (height - 2));
    for y in 1..height - 1 {
        for x in 1..width - 1 {
            let i = y * width + x;
            values.push(
                luma[i - 1] + luma[i + 1] + luma[i - width] + luma[i + width] - 4.0 * luma[i],
            );
        }
    }
    let n = values.len() as f32;
    let mean = values.iter().sum::<f32>() / n;
    values.iter().map(|v| (v - mean).powi(2)).sum::<f32>() / n
}

/// Hasler and Süsstrunk (2003): spread and mean of the opponent colours rg and yb.
fn colourfulness(frame: &RgbFrame) -> f32 {
    let mut rg = Vec::with_capacity(frame.data.len() / 3);
    let mut yb = Vec::with_capacity(frame.data.len() / 3);
    for p in frame.data.chunks_exact(3) {
        let (r, g, b) = (f32::from(p[0]), f32::from(p[1]), f32::from(p[2]));
        rg.push(r - g);
        yb.push(0.5 * (r + g) - b);
    }
    let stats = |v: &[f32]| {
        let n = v.len().max(1) as f32;
        let mean = v.iter().sum::<f32>() / n;
        let var = v.iter().map(|x| (x - mean).powi(2)).sum::<f32>() / n;
        (mean, var)
    };
    let (m_rg, v_rg) = stats(&rg);
    let (m_yb, v_yb) = stats(&yb);
    (v_rg + v_yb).sqrt() + 0.3 * (m_rg * m_rg + m_yb * m_yb).sqrt()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame(width: u32, height: u32, pixel: impl Fn(u32, u32) -> [u8; 3]) -> FrameSample {
        let mut data = Vec::new();
        for y in 0..height {
            for x in 0..width {
                data.extend_from_slice(&pixel(x, y));
            }
        }
        FrameSample {
            frame: RgbFrame {
                time_ms: 0,
                width,
                height,
                data,
            },
            later: None,
        }
    }

    #[test]
    fn flat_and_dark_frames_are_refused_and_a_pattern_is_not() {
        assert_eq!(
            score(&frame(64, 36, |_, _| [0, 0, 0])).refused,
            Some("too dark")
        );
        assert_eq!(
            score(&frame(64, 36, |_, _| [120, 120, 120])).refused,
            Some("blank")
        );
        let checks = score(&frame(64, 36, |x, y| {
            if (x / 4 + y / 4) % 2 == 0 {
                [220, 40, 40]
            } else {
                [30, 60, 200]
            }
        }));
        assert_eq!(checks.refused, None, "{checks:?}");
        assert!(checks.score > 0.0);
        // A smooth gradient has contrast but no edges.
        let smooth = score(&frame(64, 36, |x, _| [(x * 4) as u8, (x * 4) as u8, 90]));
        assert_eq!(smooth.refused, Some("blurred"), "{smooth:?}");
    }
}
