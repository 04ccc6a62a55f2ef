//! Voice activity detection: Silero VAD (v5, 16 kHz) run by whisper.cpp, so that Whisper
//! transcribes only the stretches where someone speaks and its times hold after a long silence
//! or music. Also converts Silero's safetensors weights (the PyPI package `silero-vad`) into
//! the GGML file whisper.cpp reads (the layout of its `models/convert-silero-vad-to-ggml.py`).
//!
//! Why not whisper.cpp's own `vad` flag: `whisper_full` applies it, but whisper-rs 0.16's
//! `WhisperState::full` calls `whisper_full_with_state`, which never runs the VAD (so the flag
//! has no effect), and even through `whisper_full` only segment times are mapped back through
//! the VAD segments, not token (word) times. Transcribing each speech stretch on its own and
//! adding its offset keeps both right.

use std::collections::HashMap;
use std::io::Write;
use std::ops::Range;
use std::path::Path;

use whisper_rs::{WhisperVadContext, WhisperVadContextParams, WhisperVadParams};

use crate::engine::SAMPLE_RATE;

/// The file name of the converted model in the models directory.
pub const VAD_FILE: &str = "silero-vad-v6.2.3.ggml.bin";
/// The Python package (pinned) that ships the weights.
pub const VAD_PACKAGE: &str = "silero-vad==6.2.3";
/// The name `vidpress models install` knows the VAD model by.
pub const VAD_NAME: &str = "silero-vad";

/// Non-speech shorter than this stays inside one stretch; Whisper's own timestamps handle
/// ordinary pauses, and each stretch costs at least one 30-second window.
pub const MERGE_GAP_MS: u64 = 2_000;
/// Audio kept before and after each stretch, so no word's edge is cut.
pub const PAD_MS: u64 = 300;

/// Why the VAD could not run or its weights could not be converted.
#[derive(Debug, thiserror::Error)]
pub enum VadError {
    /// whisper.cpp refused the VAD model file.
    #[error(
        "whisper.cpp could not load the VAD model {0} (run `vidpress models install silero-vad`)"
    )]
    Load(String),
    /// whisper.cpp failed while detecting speech.
    #[error("voice activity detection failed: {0}")]
    Detect(String),
    /// The safetensors file is not Silero VAD's.
    #[error("{path}: not Silero VAD's 16 kHz safetensors: {detail}")]
    Weights { path: String, detail: String },
    /// Reading or writing a file failed.
    #[error("{path}: {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
}

/// A loaded Silero VAD model.
pub struct Vad {
    ctx: WhisperVadContext,
}

impl std::fmt::Debug for Vad {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Vad").finish_non_exhaustive()
    }
}

impl Vad {
    /// Loads a converted Silero VAD file (see [`convert_silero`]).
    pub fn load(path: &Path, threads: usize) -> Result<Self, VadError> {
        let text = path.to_string_lossy().into_owned();
        if !path.is_file() || text.contains('\0') {
            return Err(VadError::Load(text));
        }
        crate::engine::route_whisper_log();
        let mut params = WhisperVadContextParams::new();
        params.set_n_threads(threads.max(1) as i32);
        params.set_use_gpu(false);
        let ctx = WhisperVadContext::new(&text, params).map_err(|_| VadError::Load(text))?;
        Ok(Self { ctx })
    }

    /// The sample ranges of 16 kHz mono `samples` where someone speaks, in order.
    pub fn speech(&mut self, samples: &[f32]) -> Result<Vec<Range<usize>>, VadError> {
        if samples.is_empty() {
            return Ok(Vec::new());
        }
        let mut params = WhisperVadParams::new();
        params.set_threshold(0.5);
        params.set_min_speech_duration(250);
        params.set_min_silence_duration(300);
        params.set_speech_pad(30);
        let segments = self
            .ctx
            .segments_from_samples(params, samples)
            .map_err(|e| VadError::Detect(e.to_string()))?;
        // Times come in centiseconds.
        let to_sample = |cs: f32| ((cs.max(0.0) as f64 / 100.0) * f64::from(SAMPLE_RATE)) as usize;
        Ok(segments
            .map(|s| to_sample(s.start).min(samples.len())..to_sample(s.end).min(samples.len()))
            .filter(|r| r.end > r.start)
            .collect())
    }
}

/// The stretches to transcribe: speech ranges closer than [`MERGE_GAP_MS`] joined, each
/// widened by [`PAD_MS`] (never past the neighbours or the audio's ends).
pub fn stretches(speech: &[Range<usize>], n_samples: usize) -> Vec<Range<usize>> {
    let ms = |v: u64| (v * u64::from(SAMPLE_RATE) / 1000) as usize;
    let mut merged: Vec<Range<usize>> = Vec::new();
    for r in speech {
        let r = r.start.min(n_samples)..r.end.min(n_samples);
        if r.is_empty() {
            continue;
        }
        match merged.last_mut() {
            Some(last) if r.start <= last.end + ms(MERGE_GAP_MS) => last.end = last.end.max(r.end),
            _ => merged.push(r),
        }
    }
    let bounds: Vec<(usize, usize)> = merged.iter().map(|r| (r.start, r.end)).collect();
    merged.iter_mut().enumerate().for_each(|(i, r)| {
        let floor = if i == 0 { 0 } else { bounds[i - 1].1 };
        let ceiling = bounds.get(i + 1).map_or(n_samples, |b| b.0);
        r.start = r.start.saturating_sub(ms(PAD_MS)).max(floor);
        r.end = (r.end + ms(PAD_MS)).min(ceiling);
    });
    merged
}

/// Converts Silero VAD's 16 kHz safetensors (`silero_vad/data/silero_vad_16k.safetensors` in
/// the `silero-vad` package) into the GGML file whisper.cpp's VAD loads.
pub fn convert_silero(safetensors: &Path, out: &Path) -> Result<(), VadError> {
    let shown = safetensors.display().to_string();
    let bytes = std::fs::read(safetensors).map_err(|source| VadError::Io {
        path: shown.clone(),
        source,
    })?;
    let bad = |detail: String| VadError::Weights {
        path: shown.clone(),
        detail,
    };
    let tensors = read_safetensors(&bytes).map_err(&bad)?;
    let get = |name: &str, shape: &[usize]| -> Result<&Tensor, VadError> {
        let t = tensors
            .get(name)
            .ok_or_else(|| bad(format!("the tensor `{name}` is missing")))?;
        if t.shape != shape {
            return Err(bad(format!(
                "`{name}` has shape {:?}, expected {shape:?}",
                t.shape
            )));
        }
        Ok(t)
    };

    let mut file = Vec::with_capacity(bytes.len());
    let put = |file: &mut Vec<u8>, v: i32| file.extend_from_slice(&v.to_le_bytes());
    put(&mut file, 0x6767_6d6c);
    let model_type = b"silero-16k";
    put(&mut file, model_type.len() as i32);
    file.extend_from_slice(model_type);
    for v in [6, 2, 3] {
        put(&mut file, v); // the package's version
    }
    put(&mut file, 512); // window
    put(&mut file, 64); // context
    let channels = [(129, 128), (128, 64), (64, 64), (64, 128)];
    put(&mut file, channels.len() as i32);
    for (i, o) in channels {
        put(&mut file, i);
        put(&mut file, o);
        put(&mut file, 3);
    }
    for v in [128, 128, 128, 1] {
        put(&mut file, v); // LSTM input and hidden size, final conv in and out
    }

    // (GGML name, safetensors name, shape there, store as f16)
    let mut plan: Vec<(String, &str, Vec<usize>, bool)> = Vec::new();
    let conv_names = ["conv1", "conv2", "conv3", "conv4"];
    let weight_names: Vec<String> = conv_names.iter().map(|c| format!("{c}.weight")).collect();
    let bias_names: Vec<String> = conv_names.iter().map(|c| format!("{c}.bias")).collect();
    for (i, (cin, cout)) in channels.iter().enumerate() {
        plan.push((
            format!("_model.encoder.{i}.reparam_conv.weight"),
            &weight_names[i],
            vec![*cout as usize, *cin as usize, 3],
            true,
        ));
        plan.push((
            format!("_model.encoder.{i}.reparam_conv.bias"),
            &bias_names[i],
            vec![*cout as usize],
            false,
        ));
    }
    for (ggml, st, shape) in [
        ("weight_ih", "lstm_cell.weight_ih", vec![512, 128]),
        ("weight_hh", "lstm_cell.weight_hh", vec![512, 128]),
        ("bias_ih", "lstm_cell.bias_ih", vec![512]),
        ("bias_hh", "lstm_cell.bias_hh", vec![512]),
    ] {
        plan.push((format!("_model.decoder.rnn.{ggml}"), st, shape, false));
    }
    plan.push((
        "_model.decoder.decoder.2.weight".into(),
        "final_conv.weight",
        vec![1, 128, 1],
        true,
    ));
    plan.push((
        "_model.decoder.decoder.2.bias".into(),
        "final_conv.bias",
        vec![1],
        false,
    ));
    plan.push((
        "_model.stft.forward_basis_buffer".into(),
        "stft_conv.weight",
        vec![258, 1, 256],
        true,
    ));

    for (name, source, shape, half) in &plan {
        let t = get(source, shape)?;
        // GGML lists dimensions innermost first. The converter squeezes unit dimensions, except
        // for the STFT basis, which keeps all three.
        let mut dims: Vec<usize> = if name.contains("stft") {
            shape.clone()
        } else {
            shape.iter().copied().filter(|&d| d != 1).collect()
        };
        dims.reverse();
        put(&mut file, dims.len() as i32);
        put(&mut file, name.len() as i32);
        put(&mut file, i32::from(*half));
        for d in &dims {
            put(&mut file, *d as i32);
        }
        file.extend_from_slice(name.as_bytes());
        for v in &t.data {
            if *half {
                file.extend_from_slice(&half::f16::from_f32(*v).to_le_bytes());
            } else {
                file.extend_from_slice(&v.to_le_bytes());
            }
        }
    }

    let dir = out.parent().unwrap_or(Path::new("."));
    let io = |source| VadError::Io {
        path: out.display().to_string(),
        source,
    };
    let mut tmp = tempfile::NamedTempFile::new_in(dir).map_err(io)?;
    tmp.write_all(&file).map_err(io)?;
    tmp.persist(out).map_err(|e| io(e.error))?;
    Ok(())
}

struct Tensor {
    shape: Vec<usize>,
    data: Vec<f32>,
}

/// The f32 tensors of a safetensors file: an 8-byte little-endian header length, a JSON header
/// naming each tensor's dtype, shape and byte range, then the data.
fn read_safetensors(bytes: &[u8]) -> Result<HashMap<String, Tensor>, String> {
    let len = bytes
        .get(..8)
        .map(|b| u64::from_le_bytes(b.try_into().unwrap_or_default()) as usize)
        .ok_or("the file is shorter than its header")?;
    let header = bytes
        .get(8..8usize.saturating_add(len))
        .ok_or("the header runs past the end of the file")?;
    let data = &bytes[8 + len..];
    let header: serde_json::Map<String, serde_json::Value> =
        serde_json::from_slice(header).map_err(|e| format!("the header is not JSON: {e}"))?;
    let mut out = HashMap::new();
    for (name, entry) in header {
        if name == "__metadata__" {
            continue;
        }
        if entry["dtype"] != "F32" {
            return Err(format!("`{name}` is {}, expected F32", entry["dtype"]));
        }
        let shape: Vec<usize> = entry["shape"]
            .as_array()
            .ok_or_else(|| format!("`{name}` has no shape"))?
            .iter()
            .map(|d| d.as_u64().map(|d| d as usize))
            .collect::<Option<_>>()
            .ok_or_else(|| format!("`{name}` has a bad shape"))?;
        let offsets = entry["data_offsets"]
            .as_array()
            .and_then(|o| Some((o.first()?.as_u64()? as usize, o.get(1)?.as_u64()? as usize)))
            .ok_or_else(|| format!("`{name}` has no data offsets"))?;
        let raw = data
            .get(offsets.0..offsets.1)
            .ok_or_else(|| format!("`{name}`'s data runs past the end of the file"))?;
        if raw.len() != shape.iter().product::<usize>() * 4 {
            return Err(format!("`{name}`'s data does not match its shape"));
        }
        let values = raw
            .chunks_exact(4)
            .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
            .collect();
        out.insert(
            name,
            Tensor {
                shape,
                data: values,
            },
        );
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    const S: usize = SAMPLE_RATE as usize;

    #[test]
    fn close_speech_joins_and_long_silence_splits() {
        // Speech at 20–22 s, 23–25 s (a 1 s pause) and 40–41 s, in 60 s of audio.
        let speech = [20 * S..22 * S, 23 * S..25 * S, 40 * S..41 * S];
        let pad = PAD_MS as usize * S / 1000;
        assert_eq!(
            stretches(&speech, 60 * S),
            vec![20 * S - pad..25 * S + pad, 40 * S - pad..41 * S + pad]
        );
        // Padding stops at the audio's ends.
        assert_eq!(
            stretches(&[0..S, 59 * S..60 * S], 60 * S),
            vec![0..S + pad, 59 * S - pad..60 * S]
        );
        assert!(stretches(&[], 60 * S).is_empty());
    }

    #[test]
    fn safetensors_that_are_not_silero_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("x.safetensors");
        let header = br#"{"conv1.weight":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}"#;
        let mut bytes = (header.len() as u64).to_le_bytes().to_vec();
        bytes.extend_from_slice(header);
        bytes.extend_from_slice(&1f32.to_le_bytes());
        std::fs::write(&path, &bytes).unwrap();
        let err = convert_silero(&path, &dir.path().join("out.bin"))
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("conv1.weight") && err.contains("shape"),
            "{err}"
        );
        std::fs::write(&path, b"junk").unwrap();
        assert!(convert_silero(&path, &dir.path().join("out.bin")).is_err());
        assert!(!dir.path().join("out.bin").exists());
    }
}
