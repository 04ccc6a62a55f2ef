//! Whisper's mel filterbank: Slaney mel scale and area normalisation, as librosa computes it
//! (`librosa.filters.mel(sr=16000, n_fft=400, n_mels=…)`), which OpenAI ships as `mel_filters.npz`.

/// Whisper's sample rate.
pub const SAMPLE_RATE: f64 = 16_000.0;
/// Whisper's FFT size.
pub const N_FFT: usize = 400;

const F_SP: f64 = 200.0 / 3.0;
const MIN_LOG_HZ: f64 = 1000.0;
const MIN_LOG_MEL: f64 = MIN_LOG_HZ / F_SP;

fn logstep() -> f64 {
    6.4f64.ln() / 27.0
}

fn hz_to_mel(hz: f64) -> f64 {
    if hz >= MIN_LOG_HZ {
        MIN_LOG_MEL + (hz / MIN_LOG_HZ).ln() / logstep()
    } else {
        hz / F_SP
    }
}

fn mel_to_hz(mel: f64) -> f64 {
    if mel >= MIN_LOG_MEL {
        MIN_LOG_HZ * (logstep() * (mel - MIN_LOG_MEL)).exp()
    } else {
        F_SP * mel
    }
}

/// The filterbank as `n_mels` rows of `N_FFT / 2 + 1` weights, row-major.
pub fn filters(n_mels: usize) -> Vec<f32> {
    let n_freqs = N_FFT / 2 + 1;
    let nyquist = SAMPLE_RATE / 2.0;
    let fft_freqs: Vec<f64> = (0..n_freqs)
        .map(|i| nyquist * i as f64 / (n_freqs - 1) as f64)
        .collect();
    let max_mel = hz_to_mel(nyquist);
    let mel_f: Vec<f64> = (0..n_mels + 2)
        .map(|i| mel_to_hz(max_mel * i as f64 / (n_mels + 1) as f64))
        .collect();
    let mut out = Vec::with_capacity(n_mels * n_freqs);
    for i in 0..n_mels {
        let (lo, mid, hi) = (mel_f[i], mel_f[i + 1], mel_f[i + 2]);
        let enorm = 2.0 / (hi - lo);
        for &f in &fft_freqs {
            let lower = (f - lo) / (mid - lo);
            let upper = (hi - f) / (hi - mid);
            out.push((lower.min(upper).max(0.0) * enorm) as f32);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slaney_scale_is_linear_below_1_khz_and_continuous() {
        assert!((hz_to_mel(500.0) - 7.5).abs() < 1e-9);
        assert!((hz_to_mel(1000.0) - 15.0).abs() < 1e-9);
        for hz in [10.0, 700.0, 999.0, 1000.0, 4321.0, 8000.0] {
            assert!((mel_to_hz(hz_to_mel(hz)) - hz).abs() < 1e-6);
        }
    }

    #[test]
    fn filters_are_normalised_triangles() {
        let f = filters(80);
        assert_eq!(f.len(), 80 * 201);
        assert!(f.iter().all(|&w| w >= 0.0));
        // Every filter has some weight; the first one starts at 0 Hz.
        for row in f.chunks(201) {
            assert!(row.iter().any(|&w| w > 0.0));
        }
        assert_eq!(f[0], 0.0);
        assert!(f[1] > 0.0);
        // Slaney normalisation: 2 / bandwidth. The first filter spans 0 Hz to 74.48 Hz (two
        // mel steps of 45.25 / 81), peaks at 37.24 Hz; the 40 Hz bin sits on its falling edge.
        let expected = (74.478_420_5 - 40.0) / 37.239_210_3 * 2.0 / 74.478_420_5;
        assert!(
            (f64::from(f[1]) - expected).abs() < 1e-6,
            "{} vs {expected}",
            f[1]
        );
        assert_eq!(filters(128).len(), 128 * 201);
    }
}
