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

use vidpress_core::{Segment, Word};
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

/// How far before a silence Whisper may start the word that opens the speech after it:
/// whisper.cpp starts it where the word before it ends, which the VAD (with its padding and the
/// time Silero takes to call the speech over) hears end later.
const OPENING_BEFORE_SILENCE_MS: u64 = 500;
/// The latest after the speech resumes that a word may start and still open that speech.
const OPENING_AFTER_RESUME_MS: u64 = 300;
/// A word that starts this close to where the speech resumes, or later, is in place.
const IN_PLACE_MS: u64 = 100;

/// Moves the words Whisper stamped inside a pause to where the speech resumes.
///
/// whisper.cpp gives a pause inside a segment no time of its own: the word after it starts
/// where the word before it ended, and the silence is spread over the next few words, or
/// (after a long enough pause) a whole opening phrase is stamped in the silence. A section,
/// chapter, subtitle cue or "watch this part" link that starts at such a time starts early.
/// The VAD hears the pause, so for each silence between `speech` ranges (milliseconds, in the
/// same time base as the words; also the padding before the first range) this finds the word
/// that opens the speech after it: the word that opens a sentence (else a clause) nearest the
/// silence, from a little before it to a little after the speech resumes. When Whisper starts
/// that word early, the times from its start to the end of the following speech range are
/// mapped onto the range itself, keeping their order and proportions, and the words before it
/// that run into the silence end where the speech stopped. Without a sentence or clause mark
/// near the silence nothing moves. Segment times follow their words, and a segment that starts in
/// the silence starts with its first word.
pub fn align_to_pauses(
    segments: &mut [&mut Segment],
    stretch_ms: Range<u64>,
    speech: &[Range<u64>],
) {
    let mut ranges: Vec<Range<u64>> = speech
        .iter()
        .map(|r| r.start.max(stretch_ms.start)..r.end.min(stretch_ms.end))
        .filter(|r| r.end > r.start)
        .collect();
    ranges.sort_by_key(|r| r.start);
    let Some(first) = ranges.first() else {
        return;
    };
    // (where the silence starts, where the speech resumes, where that speech stops)
    let mut pauses = vec![(stretch_ms.start, first.start, first.end)];
    pauses.extend(ranges.windows(2).map(|w| (w[0].end, w[1].start, w[1].end)));
    for (silent_from, resumes, speech_to) in pauses {
        if resumes <= silent_from + IN_PLACE_MS {
            continue;
        }
        // A segment that starts in the silence starts with its first word, or with the speech.
        for s in segments.iter_mut() {
            if (silent_from..resumes).contains(&s.start_ms) {
                let first = s.words.first().map_or(resumes, |w| w.start_ms.min(resumes));
                s.start_ms = first.max(s.start_ms).min(s.end_ms.max(s.start_ms));
            }
        }
        let near: Vec<Opening> = words_in_order(segments)
            .filter(|(_, w)| {
                w.start_ms + OPENING_BEFORE_SILENCE_MS >= silent_from
                    && w.start_ms <= resumes + OPENING_AFTER_RESUME_MS
            })
            .map(|(previous, w)| {
                let prev = previous.map(|p| p.text.trim_end());
                Opening {
                    start_ms: w.start_ms,
                    sentence: prev.is_none_or(|p| p.ends_with(['.', '?', '!', '…'])),
                    clause: prev.is_some_and(|p| p.ends_with([',', ';', ':'])),
                }
            })
            .collect();
        let distance =
            |start: u64| silent_from.saturating_sub(start) + start.saturating_sub(resumes);
        let nearest = |opens: fn(&Opening) -> bool| {
            near.iter()
                .filter(|o| opens(o))
                .map(|o| o.start_ms)
                .min_by_key(|&start| distance(start))
        };
        let Some(from) = nearest(|o| o.sentence).or_else(|| nearest(|o| o.clause)) else {
            continue;
        };
        if from + IN_PLACE_MS >= resumes || speech_to <= resumes {
            continue;
        }
        // An end at `from` is the end of the word before the opening one.
        let map = |t: u64, end: bool| -> u64 {
            if t < from || (end && t == from) {
                t.min(silent_from)
            } else if t <= speech_to {
                resumes + (t - from) * (speech_to - resumes) / (speech_to - from)
            } else {
                t
            }
        };
        for s in segments.iter_mut() {
            let first_word = s.words.first().map(|w| w.start_ms);
            for w in &mut s.words {
                w.start_ms = map(w.start_ms, false);
                w.end_ms = map(w.end_ms, true).max(w.start_ms);
            }
            s.start_ms = map(s.start_ms, false);
            // A segment whose opening word moved starts with it.
            if let Some(moved) = s.words.first().filter(|w| Some(w.start_ms) != first_word) {
                s.start_ms = s.start_ms.max(moved.start_ms);
            }
            s.end_ms = map(s.end_ms, true).max(s.start_ms);
        }
    }
    // Segments stay in time order, each no shorter than nothing.
    let mut previous_start = 0;
    for s in segments.iter_mut() {
        s.start_ms = s.start_ms.max(previous_start);
        s.end_ms = s.end_ms.max(s.start_ms);
        previous_start = s.start_ms;
    }
}

/// A word near a silence, and whether it opens a sentence or a clause.
struct Opening {
    start_ms: u64,
    sentence: bool,
    clause: bool,
}

/// Every word of `segments` in order, with the word before it.
fn words_in_order<'a>(
    segments: &'a [&mut Segment],
) -> impl Iterator<Item = (Option<&'a Word>, &'a Word)> {
    let words: Vec<&Word> = segments.iter().flat_map(|s| s.words.iter()).collect();
    (0..words.len()).map(move |i| (i.checked_sub(1).map(|p| words[p]), words[i]))
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

    fn segment(words: &[(&str, u64, u64)]) -> Segment {
        Segment {
            start_ms: words[0].1,
            end_ms: words[words.len() - 1].2,
            text: words.iter().map(|w| w.0).collect::<Vec<_>>().join(" "),
            words: words
                .iter()
                .map(|&(text, start_ms, end_ms)| Word {
                    text: text.into(),
                    start_ms,
                    end_ms,
                    probability: 0.9,
                })
                .collect(),
        }
    }

    fn starts(segments: &[Segment]) -> Vec<u64> {
        segments
            .iter()
            .flat_map(|s| s.words.iter().map(|w| w.start_ms))
            .collect()
    }

    fn align(segments: &mut [Segment], stretch: Range<u64>, speech: &[Range<u64>]) {
        let mut refs: Vec<&mut Segment> = segments.iter_mut().collect();
        align_to_pauses(&mut refs, stretch, speech);
    }

    #[test]
    fn a_sentence_stamped_in_a_pause_starts_where_the_speech_resumes() {
        // "…the drip is gone. Finally, painting a wall." The speaker pauses from 59.9 s to
        // 61.8 s; Whisper stamps "Finally," and "painting" inside the pause.
        let mut segments = vec![segment(&[
            ("the", 58_000, 58_300),
            ("drip", 58_300, 58_700),
            ("is", 58_700, 58_900),
            ("gone.", 58_900, 60_100),
            ("Finally,", 60_100, 60_980),
            ("painting", 60_980, 61_800),
            ("a", 61_840, 62_000),
            ("wall.", 62_000, 63_000),
        ])];
        align(
            &mut segments,
            57_000..64_000,
            &[57_500..59_900, 61_800..63_400],
        );
        let s = &segments[0];
        assert_eq!(s.words[4].start_ms, 61_800, "{s:?}");
        // Order and proportions hold after it; the word before ends where the speech stopped.
        assert!(starts(&segments).windows(2).all(|w| w[0] <= w[1]), "{s:?}");
        assert!(
            s.words[5].start_ms > 61_800 && s.words[7].start_ms < 63_400,
            "{s:?}"
        );
        assert_eq!(s.words[3].end_ms, 59_900);
        assert_eq!(
            s.words[..3],
            segment(&[
                ("the", 58_000, 58_300),
                ("drip", 58_300, 58_700),
                ("is", 58_700, 58_900)
            ])
            .words[..]
        );
        assert_eq!(s.start_ms, 58_000);
    }

    #[test]
    fn a_segment_that_opens_in_a_pause_moves_with_its_first_word() {
        // Whisper opens the second segment ("Now for…") 50 ms after "gone." ended, inside a
        // pause that lasts until 35.2 s.
        let mut segments = vec![
            segment(&[
                ("The", 30_000, 30_400),
                ("drip", 30_400, 31_000),
                ("is", 31_000, 31_500),
                ("gone.", 31_500, 33_600),
            ]),
            segment(&[
                ("Now", 33_650, 33_700),
                ("for", 33_700, 34_600),
                ("something", 34_600, 35_900),
                ("else.", 35_900, 37_000),
            ]),
        ];
        align(
            &mut segments,
            29_700..37_600,
            &[30_000..33_700, 35_200..37_300],
        );
        assert_eq!(segments[1].start_ms, 35_200, "{segments:?}");
        assert_eq!(segments[1].words[0].start_ms, 35_200);
        assert_eq!(segments[0].end_ms, 33_600);
        assert!(segments[1].words[3].end_ms <= 37_300);
    }

    #[test]
    fn words_already_in_the_speech_are_left_alone() {
        let words = [
            ("One", 1_000, 1_400),
            ("two.", 1_400, 1_900),
            ("Three", 3_020, 3_400),
            ("four.", 3_400, 3_900),
        ];
        let mut segments = vec![segment(&words)];
        let before = segments.clone();
        align(&mut segments, 700..4_200, &[950..1_950, 3_000..3_950]);
        assert_eq!(segments, before);
        // Without speech ranges (no VAD) nothing moves either.
        align(&mut segments, 700..4_200, &[]);
        assert_eq!(segments, before);
    }

    #[test]
    fn the_first_words_move_past_the_padding_before_the_speech() {
        // After 20 s of silence the stretch starts 300 ms before the speech; Whisper stamps the
        // first word at the stretch's start.
        let mut segments = vec![segment(&[
            ("Hello", 19_700, 20_300),
            ("there.", 20_300, 21_000),
        ])];
        let speech = 20_000..21_100;
        align(&mut segments, 19_700..21_400, std::slice::from_ref(&speech));
        assert_eq!(segments[0].start_ms, 20_000);
        assert_eq!(starts(&segments)[0], 20_000);
    }

    #[test]
    fn a_segment_that_starts_in_the_silence_starts_with_its_first_word() {
        // Whisper starts the segment at the stretch's start, its first word where it is heard.
        let mut s = segment(&[("The", 19_980, 20_200), ("old", 20_200, 20_500)]);
        s.start_ms = 19_730;
        let mut segments = vec![s];
        let speech = 20_000..20_700;
        align(&mut segments, 19_730..21_000, std::slice::from_ref(&speech));
        assert_eq!(segments[0].start_ms, 19_980);
        assert_eq!(starts(&segments), [19_980, 20_200]);
    }

    #[test]
    fn without_a_sentence_or_clause_mark_nothing_moves() {
        // "…we are done next we paint": which word opens the speech after the pause is a guess.
        let mut segments = vec![segment(&[
            ("we", 5_000, 5_200),
            ("are", 5_200, 5_500),
            ("done", 5_500, 6_000),
            ("next", 6_010, 6_900),
            ("we", 6_900, 7_300),
            ("paint", 7_300, 7_900),
        ])];
        let before = segments.clone();
        align(&mut segments, 4_700..8_300, &[4_900..5_990, 7_000..8_000]);
        assert_eq!(segments, before);
    }

    #[test]
    fn an_opening_word_stamped_before_the_vad_hears_the_speech_stop_still_moves() {
        // Whisper's times run early here: "Now" starts 350 ms before the VAD's silence.
        let mut segments = vec![segment(&[
            ("gone.", 33_000, 33_600),
            ("Now", 33_650, 33_900),
            ("for", 33_910, 34_200),
            ("something", 34_220, 35_100),
            ("else.", 35_150, 36_000),
        ])];
        align(
            &mut segments,
            32_700..37_000,
            &[32_900..34_000, 35_200..36_700],
        );
        assert_eq!(starts(&segments)[..2], [33_000, 35_200], "{segments:?}");
    }

    #[test]
    fn an_opening_word_in_place_keeps_its_time_when_the_words_before_it_run_late() {
        // The end of the sentence before the pause is stamped in the silence; "Ahora" is where
        // the speech resumes.
        let words = [
            ("la", 32_700, 33_000),
            ("cara", 33_050, 33_500),
            ("a", 33_500, 33_600),
            ("comida.", 33_600, 34_600),
            ("Ahora", 34_650, 35_000),
            ("vamos", 35_000, 35_400),
        ];
        let mut segments = vec![segment(&words)];
        let before = segments.clone();
        align(
            &mut segments,
            32_000..36_000,
            &[32_200..33_000, 34_470..35_700],
        );
        assert_eq!(segments, before);
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
