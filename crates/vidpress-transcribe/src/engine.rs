//! The Whisper engine: loads a GGML model with whisper-rs and turns 16 kHz mono samples into a
//! [`Transcript`] with segment and word times, the detected language, and guarded output.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::Once;
use std::sync::atomic::{AtomicBool, Ordering};

use vidpress_core::{Segment, Transcript, TranscriptError, Word};
use whisper_rs::{
    FullParams, SamplingStrategy, WhisperContext, WhisperContextParameters, WhisperError,
    WhisperState,
};

use crate::cores::{Cores, Lease};
use crate::device::{self, CUDA_BUILD, Device, NoCudaSupport};
use crate::ggml::Hparams;
use crate::guards::{GuardConfig, Guards, RawSegment};
use crate::vad::{self, Vad, VadError};
use crate::window::{self, AudioSource, Samples};

/// Sample rate the engine expects.
pub const SAMPLE_RATE: u32 = 16_000;

/// Why loading a model or transcribing failed.
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    /// The model file does not exist.
    #[error("model file {0} does not exist")]
    ModelMissing(PathBuf),
    /// whisper.cpp refused the model file.
    #[error(
        "whisper.cpp could not load the model {path} (not a valid GGML Whisper model?): {source}"
    )]
    Load { path: PathBuf, source: WhisperError },
    /// There are no samples to transcribe.
    #[error("there is no audio to transcribe (0 samples)")]
    NoAudio,
    /// Transcription was stopped from outside.
    #[error("transcription was stopped")]
    Stopped,
    /// A language code that Whisper does not know.
    #[error("`{0}` is not a language Whisper knows (use a code such as `en`, `de`, `fr`)")]
    UnknownLanguage(String),
    /// The model is English-only and another language was asked for.
    #[error("this model only transcribes English; `{0}` needs a multilingual model such as base")]
    EnglishOnly(String),
    /// whisper.cpp failed while transcribing.
    #[error("whisper.cpp failed while transcribing: {0}")]
    Whisper(#[from] WhisperError),
    /// Whisper's output had inconsistent times.
    #[error("Whisper produced an inconsistent transcript: {0}")]
    Transcript(#[from] TranscriptError),
    /// The GPU was asked for and this build has none.
    #[error(transparent)]
    NoCudaSupport(#[from] NoCudaSupport),
    /// Voice activity detection failed.
    #[error(transparent)]
    Vad(#[from] VadError),
    /// The GPU was asked for and this machine has no usable one.
    #[error(
        "device cuda: no usable CUDA GPU ({0}); choose the device auto to fall back to the CPU"
    )]
    NoGpu(String),
}

/// Why a transcription of streamed audio failed: reading the audio, or the engine.
#[derive(Debug, thiserror::Error)]
pub enum StreamError<E> {
    /// The audio source failed (a decoding error, a limit).
    #[error("{0}")]
    Source(E),
    /// The engine failed.
    #[error(transparent)]
    Engine(#[from] EngineError),
}

/// What [`Engine::transcribe_stream`] produced.
#[derive(Debug, Clone)]
pub struct Streamed {
    /// The transcript of the whole audio.
    pub transcript: Transcript,
    /// The windows the audio was transcribed in, in milliseconds, in order and end to end.
    pub windows: Vec<std::ops::Range<u64>>,
    /// The number of samples read.
    pub samples: u64,
}

/// How to decode.
#[derive(Debug, Clone, PartialEq)]
pub struct TranscribeOptions {
    /// CPU threads; `None` picks the idle cores when each transcription starts
    /// ([`default_threads`]) and shares them with the machine's other transcriptions
    /// ([`crate::cores`]).
    pub threads: Option<usize>,
    /// Beam width; 1 decodes greedily.
    pub beam_size: usize,
    /// Language code, or `None` to detect it (English-only models always use `en`).
    pub language: Option<String>,
    /// Hallucination and repetition guards.
    pub guards: GuardConfig,
    /// The converted Silero VAD model ([`crate::vad`]): with it, only the stretches where
    /// someone speaks are transcribed, each with its own offset, so times hold after long
    /// silence or music. Without it the whole audio goes to Whisper.
    pub vad_model: Option<PathBuf>,
    /// The longest stretch of audio handed to Whisper at once, in seconds (at least
    /// [`window::MIN_WINDOW_SECONDS`]): what bounds memory on long media ([`crate::window`]).
    pub window_seconds: u32,
}

/// The number of threads to use: the cores this process may use, less those other processes
/// are keeping busy right now (sampled from `/proc/stat` over 100 ms), and at least one.
/// whisper.cpp's threads spin at every barrier, so a thread without a core of its own stalls
/// the others: on the shared 2-core machine, 2 threads with a busy neighbour took 4× as long
/// as 1 thread (docs/bench-transcribe.md).
pub fn default_threads() -> usize {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let sample = || {
        std::fs::read_to_string("/proc/stat")
            .ok()
            .as_deref()
            .and_then(cpu_times)
    };
    let (Some(a), Some(b)) = (sample(), {
        std::thread::sleep(std::time::Duration::from_millis(100));
        sample()
    }) else {
        return cores;
    };
    threads_for(cores, a, b)
}

/// `(idle, total, cpus)` jiffies from `/proc/stat`'s aggregate line and its per-CPU line count.
fn cpu_times(stat: &str) -> Option<(u64, u64, usize)> {
    let first = stat.lines().next()?.strip_prefix("cpu ")?;
    let v: Vec<u64> = first
        .split_whitespace()
        .filter_map(|x| x.parse().ok())
        .collect();
    // user nice system idle iowait irq softirq steal: idle + iowait is idle time.
    let idle = v.get(3)? + v.get(4).copied().unwrap_or(0);
    let total: u64 = v.iter().take(8).sum();
    let cpus = stat
        .lines()
        .filter(|l| l.starts_with("cpu") && !l.starts_with("cpu "))
        .count();
    Some((idle, total, cpus.max(1)))
}

fn threads_for(
    cores: usize,
    (idle0, total0, cpus): (u64, u64, usize),
    (idle1, total1, _): (u64, u64, usize),
) -> usize {
    let dt = total1.saturating_sub(total0);
    if dt == 0 {
        return cores;
    }
    let idle_cpus = idle1.saturating_sub(idle0) as f64 / dt as f64 * cpus as f64;
    (idle_cpus.round() as usize).clamp(1, cores)
}

impl Default for TranscribeOptions {
    fn default() -> Self {
        Self {
            threads: None,
            beam_size: 1,
            language: None,
            guards: GuardConfig::default(),
            vad_model: None,
            window_seconds: window::DEFAULT_WINDOW_SECONDS,
        }
    }
}

/// A loaded Whisper model. Loading takes a moment; reuse one engine for many files.
pub struct Engine {
    ctx: WhisperContext,
    path: PathBuf,
    runs_on: String,
}

impl std::fmt::Debug for Engine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Engine")
            .field("path", &self.path)
            .field("runs_on", &self.runs_on)
            .finish()
    }
}

static LOG_HOOKS: Once = Once::new();

/// Routes whisper.cpp's own logging into `tracing` instead of stderr (once per process).
pub(crate) fn route_whisper_log() {
    LOG_HOOKS.call_once(whisper_rs::install_logging_hooks);
}

impl Engine {
    /// Loads a whisper.cpp GGML model file on the default device ([`Device::Auto`]).
    pub fn load(path: &Path) -> Result<Self, EngineError> {
        Self::load_on(path, Device::Auto)
    }

    /// Loads a whisper.cpp GGML model file on `device`. With [`Device::Auto`], a CUDA build
    /// uses the first GPU when there is one and otherwise says once that it runs on the CPU;
    /// [`Device::Cuda`] fails when the build or the machine has no GPU.
    pub fn load_on(path: &Path, device: Device) -> Result<Self, EngineError> {
        device.check_supported()?;
        route_whisper_log();
        if !path.is_file() {
            return Err(EngineError::ModelMissing(path.to_owned()));
        }
        let mut params = WhisperContextParameters::default();
        params.use_gpu(device.wants_gpu()).gpu_device(0);
        let (loaded, log) =
            device::capture_whisper_log(|| WhisperContext::new_with_params(path, params));
        let probe = device::remember_probe(&log);
        // Hand whisper.cpp's lines on as they were, except the CUDA backend's complaint that it
        // found nothing: that is said once, below, in plain words.
        for (level, line) in &log {
            if line.contains("failed to initialize CUDA") {
                tracing::debug!(target: "whisper_rs", "{line}");
            } else if *level == tracing::Level::ERROR {
                tracing::error!(target: "whisper_rs", "{line}");
            } else if *level == tracing::Level::WARN {
                tracing::warn!(target: "whisper_rs", "{line}");
            } else {
                tracing::debug!(target: "whisper_rs", "{line}");
            }
        }
        let ctx = loaded.map_err(|source| EngineError::Load {
            path: path.to_owned(),
            source,
        })?;
        let gpu = probe
            .filter(|_| device.wants_gpu())
            .and_then(|p| p.devices.first());
        let runs_on = match (gpu, device) {
            (Some(card), _) => {
                tracing::info!(device = %device, "Whisper runs on the GPU: CUDA0, {card}");
                format!("CUDA0, {card}")
            }
            (None, Device::Cuda) => {
                return Err(EngineError::NoGpu(no_gpu_reason(probe)));
            }
            (None, Device::Auto) if CUDA_BUILD => {
                tracing::warn!(
                    device = %device,
                    "no usable CUDA GPU ({}): Whisper runs on the CPU",
                    no_gpu_reason(probe)
                );
                "CPU".to_owned()
            }
            (None, _) => {
                tracing::debug!(device = %device, "Whisper runs on the CPU");
                "CPU".to_owned()
            }
        };
        Ok(Self {
            ctx,
            path: path.to_owned(),
            runs_on,
        })
    }

    /// The model file this engine was loaded from.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Where this engine runs: `CPU`, or `CUDA0, <card>, compute capability X.Y`.
    pub fn runs_on(&self) -> &str {
        &self.runs_on
    }

    /// The loaded model's dimensions, as whisper.cpp reports them.
    pub fn hparams(&self) -> Hparams {
        let c = &self.ctx;
        Hparams {
            n_vocab: c.model_n_vocab(),
            n_audio_ctx: c.model_n_audio_ctx(),
            n_audio_state: c.model_n_audio_state(),
            n_audio_head: c.model_n_audio_head(),
            n_audio_layer: c.model_n_audio_layer(),
            n_text_ctx: c.model_n_text_ctx(),
            n_text_state: c.model_n_text_state(),
            n_text_head: c.model_n_text_head(),
            n_text_layer: c.model_n_text_layer(),
            n_mels: c.model_n_mels(),
        }
    }

    /// Whether the model can transcribe languages other than English.
    pub fn is_multilingual(&self) -> bool {
        self.ctx.is_multilingual()
    }

    /// Transcribes 16 kHz mono samples in `[-1, 1]`. `progress` receives the percentage done
    /// (0–100) from whisper.cpp's worker thread.
    #[tracing::instrument(skip_all, fields(model = %self.path.display(), seconds = samples.len() / SAMPLE_RATE as usize))]
    pub fn transcribe(
        &self,
        samples: &[f32],
        opts: &TranscribeOptions,
        progress: impl FnMut(u8) + 'static,
    ) -> Result<Transcript, EngineError> {
        self.transcribe_until(samples, opts, progress, Arc::new(AtomicBool::new(false)))
    }

    /// Like [`Engine::transcribe`], but stops within moments once `stop` is set (a cancelled
    /// job), returning [`EngineError::Stopped`].
    pub fn transcribe_until(
        &self,
        samples: &[f32],
        opts: &TranscribeOptions,
        progress: impl FnMut(u8) + 'static,
        stop: Arc<AtomicBool>,
    ) -> Result<Transcript, EngineError> {
        match self.transcribe_stream(Samples::new(samples), opts, progress, stop) {
            Ok(done) => Ok(done.transcript),
            Err(StreamError::Engine(e)) => Err(e),
            Err(StreamError::Source(never)) => match never {},
        }
    }

    /// Transcribes the samples `source` hands out, reading them as it goes: a window of
    /// [`TranscribeOptions::window_seconds`] at a time, cut where nobody speaks
    /// ([`window::cut_point`]), each transcribed at its offset, so memory stays flat whatever
    /// the length of the audio. `progress` receives the percentage done (0–100), against the
    /// source's expected length when it knows one; `stop` is checked between reads and by
    /// whisper.cpp between its steps.
    #[tracing::instrument(skip_all, fields(model = %self.path.display()))]
    pub fn transcribe_stream<S: AudioSource>(
        &self,
        mut source: S,
        opts: &TranscribeOptions,
        progress: impl FnMut(u8) + 'static,
        stop: Arc<AtomicBool>,
    ) -> Result<Streamed, StreamError<S::Error>> {
        let stopped = || stop.load(Ordering::Relaxed);
        let mut language = self.language(opts.language.as_deref())?.to_owned();
        // Threads asked for run as asked; otherwise the idle cores, shared with every other
        // transcription on the machine ([`crate::cores`]).
        let (want, mut lease) = match opts.threads {
            Some(n) => (n.max(1), None),
            None => {
                let want = default_threads();
                (want, Some(Cores::machine().lease(want, stopped)))
            }
        };
        let threads_now = |lease: &Option<Lease>| lease.as_ref().map_or(want, Lease::threads);
        let threads = threads_now(&lease);
        let rate = SAMPLE_RATE as usize;
        let window_len = opts.window_seconds.max(window::MIN_WINDOW_SECONDS) as usize * rate;
        let mut vad = match &opts.vad_model {
            Some(path) => Some(Vad::load(path, threads).map_err(EngineError::from)?),
            None => None,
        };
        let progress = Arc::new(std::sync::Mutex::new(progress));
        let ms = |samples: u64| samples * 1000 / u64::from(SAMPLE_RATE);
        let mut buf: Vec<f32> = Vec::with_capacity(window_len + rate);
        // The position of buf[0] in the whole audio, in samples.
        let mut offset = 0u64;
        let mut ended = false;
        let mut detected: Option<String> = None;
        let mut guards = Guards::new(&opts.guards);
        let mut segments = Vec::new();
        let mut windows = Vec::new();
        let mut state = self.ctx.create_state().map_err(EngineError::from)?;
        loop {
            while !ended && buf.len() < window_len {
                if stopped() {
                    return Err(EngineError::Stopped.into());
                }
                ended = !source.read(&mut buf).map_err(StreamError::Source)?;
            }
            if buf.is_empty() {
                break;
            }
            if stopped() {
                return Err(EngineError::Stopped.into());
            }
            // The last window takes what is left; any other ends at a pause.
            let last = ended && buf.len() <= window_len;
            let n = if last { buf.len() } else { window_len };
            let speech = match vad.as_mut() {
                Some(vad) => Some(vad.speech(&buf[..n]).map_err(EngineError::from)?),
                None => None,
            };
            let cut = if last {
                n
            } else {
                window::cut_point(&buf[..n], speech.as_deref())
            };
            let stretches = match &speech {
                Some(speech) => vad::stretches(speech, cut),
                None => std::iter::once(0..cut).collect(),
            };
            tracing::debug!(
                start_s = ms(offset) / 1000,
                seconds = cut / rate,
                stretches = stretches.len(),
                speech_seconds = stretches.iter().map(|r| r.len()).sum::<usize>() / rate,
                "window"
            );
            let total = source
                .expected_samples()
                .unwrap_or(0)
                .max(offset + buf.len() as u64)
                .max(1);
            let in_window: usize = stretches.iter().map(|r| r.len()).sum::<usize>().max(1);
            let mut done = 0usize;
            for stretch in &stretches {
                if let Some(lease) = lease.as_mut() {
                    lease.renew(want);
                }
                let threads = threads_now(&lease);
                let (before, share) = (done, stretch.len());
                let report = progress.clone();
                let on_progress = move |p: i32| {
                    let p = p.clamp(0, 100) as usize;
                    let here = (before + share * p / 100) as u64 * cut as u64 / in_window as u64;
                    let overall = ((offset + here) * 100 / total).min(100) as u8;
                    if let Ok(mut f) = report.lock() {
                        f(overall);
                    }
                };
                let params = self.params(opts, &language, threads, on_progress, stop.clone());
                let ran = state.full(params, &buf[stretch.clone()]);
                if stopped() {
                    return Err(EngineError::Stopped.into());
                }
                ran.map_err(EngineError::from)?;
                if detected.is_none() {
                    let lang = whisper_rs::get_lang_str(state.full_lang_id_from_state())
                        .unwrap_or(&language)
                        .to_owned();
                    // Every stretch is one video's speech: the first one's language holds.
                    language.clone_from(&lang);
                    detected = Some(lang);
                }
                // Times within the window first (the guards look at the window's samples),
                // none past the end of the stretch.
                let (from_ms, to_ms) = (ms(stretch.start as u64), ms(stretch.end as u64));
                let at = |t: u64| (t + from_ms).min(to_ms);
                let mut raws = self.raw_segments(&state)?;
                for r in &mut raws {
                    r.segment.start_ms = at(r.segment.start_ms);
                    r.segment.end_ms = at(r.segment.end_ms);
                    for w in &mut r.segment.words {
                        w.start_ms = at(w.start_ms);
                        w.end_ms = at(w.end_ms);
                    }
                }
                // Words Whisper stamped inside a pause start where the VAD hears the speech.
                if let Some(speech) = &speech {
                    let speech_ms: Vec<_> = speech
                        .iter()
                        .map(|r| ms(r.start as u64)..ms(r.end as u64))
                        .collect();
                    let mut segments: Vec<_> = raws.iter_mut().map(|r| &mut r.segment).collect();
                    vad::align_to_pauses(&mut segments, from_ms..to_ms, &speech_ms);
                }
                for r in raws {
                    if let Some(mut kept) = guards.check(r, &buf[..cut]) {
                        let shift = ms(offset);
                        kept.start_ms += shift;
                        kept.end_ms += shift;
                        for w in &mut kept.words {
                            w.start_ms += shift;
                            w.end_ms += shift;
                        }
                        segments.push(kept);
                    }
                }
                done += share;
            }
            windows.push(ms(offset)..ms(offset + cut as u64));
            guards.advance(ms(cut as u64));
            buf.drain(..cut);
            offset += cut as u64;
            if let Ok(mut f) = progress.lock() {
                f((offset * 100 / total).min(100) as u8);
            }
        }
        if offset == 0 {
            return Err(EngineError::NoAudio.into());
        }
        let language = detected.or_else(|| (language != "auto").then_some(language));
        Ok(Streamed {
            transcript: Transcript::new(language, segments).map_err(EngineError::from)?,
            windows,
            samples: offset,
        })
    }

    /// whisper.cpp's parameters for one run.
    fn params<'a>(
        &self,
        opts: &TranscribeOptions,
        language: &'a str,
        threads: usize,
        progress: impl FnMut(i32) + 'static,
        stop: Arc<AtomicBool>,
    ) -> FullParams<'a, 'a> {
        let strategy = if opts.beam_size > 1 {
            SamplingStrategy::BeamSearch {
                beam_size: opts.beam_size as i32,
                patience: -1.0,
            }
        } else {
            SamplingStrategy::Greedy { best_of: 2 }
        };
        let mut params = FullParams::new(strategy);
        tracing::debug!(threads, "transcribing");
        params.set_n_threads(threads as i32);
        params.set_language(Some(language));
        params.set_translate(false);
        params.set_print_progress(false);
        params.set_print_realtime(false);
        params.set_print_special(false);
        params.set_print_timestamps(false);
        params.set_token_timestamps(true);
        params.set_suppress_nst(true);
        params.set_temperature(0.0);
        params.set_temperature_inc(opts.guards.temperature_increment);
        params.set_entropy_thold(opts.guards.entropy_threshold);
        params.set_logprob_thold(opts.guards.logprob_threshold);
        params.set_no_speech_thold(opts.guards.no_speech_threshold);
        params.set_progress_callback_safe(progress);
        // whisper-rs 0.16's trampoline reads its user data as the closure's own type while
        // storing a `Box<dyn FnMut>`; handing it that very type makes the two agree.
        let check: Box<dyn FnMut() -> bool> = Box::new(move || stop.load(Ordering::Relaxed));
        params.set_abort_callback_safe(check);
        params
    }

    fn language<'a>(&self, requested: Option<&'a str>) -> Result<&'a str, EngineError> {
        match requested {
            None if self.is_multilingual() => Ok("auto"),
            None => Ok("en"),
            Some(code) => {
                if whisper_rs::get_lang_id(code).is_none() {
                    return Err(EngineError::UnknownLanguage(code.to_owned()));
                }
                if code != "en" && !self.is_multilingual() {
                    return Err(EngineError::EnglishOnly(code.to_owned()));
                }
                Ok(code)
            }
        }
    }

    fn raw_segments(&self, state: &WhisperState) -> Result<Vec<RawSegment>, EngineError> {
        let eot = self.ctx.token_eot();
        let mut out = Vec::new();
        for seg in state.as_iter() {
            let start_ms = seg.start_timestamp().max(0) as u64 * 10;
            let end_ms = (seg.end_timestamp().max(0) as u64 * 10).max(start_ms);
            let text = String::from_utf8_lossy(seg.to_bytes()?).trim().to_owned();
            let mut words: Vec<Word> = Vec::new();
            let mut current: Option<(Vec<u8>, u64, u64, Vec<f32>)> = None;
            let mut logprob_sum = 0f32;
            let mut n_text_tokens = 0usize;
            for i in 0..seg.n_tokens() {
                let Some(tok) = seg.get_token(i) else {
                    continue;
                };
                if tok.token_id() >= eot {
                    continue; // special and timestamp tokens
                }
                let data = tok.token_data();
                let bytes = tok.to_bytes()?;
                logprob_sum += data.plog;
                n_text_tokens += 1;
                let t0 = (data.t0.max(0) as u64 * 10).clamp(start_ms, end_ms);
                let t1 = (data.t1.max(0) as u64 * 10).clamp(t0, end_ms);
                let starts_word = bytes.first() == Some(&b' ') || current.is_none();
                if starts_word {
                    if let Some(w) = current.take() {
                        push_word(&mut words, w);
                    }
                    current = Some((bytes.to_vec(), t0, t1, vec![data.p]));
                } else if let Some((b, _, end, ps)) = current.as_mut() {
                    b.extend_from_slice(bytes);
                    *end = t1;
                    ps.push(data.p);
                }
            }
            if let Some(w) = current.take() {
                push_word(&mut words, w);
            }
            let avg_logprob = if n_text_tokens == 0 {
                0.0
            } else {
                logprob_sum / n_text_tokens as f32
            };
            out.push(RawSegment {
                segment: Segment {
                    start_ms,
                    end_ms,
                    text,
                    words,
                },
                no_speech_prob: seg.no_speech_probability(),
                avg_logprob,
            });
        }
        Ok(out)
    }
}

/// Why a CUDA build found no GPU, in plain words for the CUDA runtime's usual answers.
fn no_gpu_reason(probe: Option<&device::CudaProbe>) -> String {
    match probe {
        Some(device::CudaProbe {
            error: Some(reason),
            ..
        }) => {
            let plain = if reason.contains("driver version is insufficient") {
                "no NVIDIA driver, or one too old for CUDA 13"
            } else if reason.contains("no CUDA-capable device") {
                "no NVIDIA GPU found"
            } else {
                "CUDA did not start"
            };
            format!("{plain}: {reason}")
        }
        Some(_) => "CUDA found no devices".to_owned(),
        None => "the CUDA backend did not start".to_owned(),
    }
}

fn push_word(
    words: &mut Vec<Word>,
    (bytes, start_ms, end_ms, probs): (Vec<u8>, u64, u64, Vec<f32>),
) {
    let text = String::from_utf8_lossy(&bytes).trim().to_owned();
    if text.is_empty() {
        return;
    }
    let probability = probs.iter().sum::<f32>() / probs.len().max(1) as f32;
    words.push(Word {
        text,
        start_ms,
        end_ms: end_ms.max(start_ms),
        probability,
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_gpu_reasons_are_plain() {
        let probe = |error: &str| device::CudaProbe {
            devices: vec![],
            error: Some(error.to_owned()),
        };
        let r = no_gpu_reason(Some(&probe(
            "CUDA driver version is insufficient for CUDA runtime version",
        )));
        assert!(
            r.starts_with("no NVIDIA driver, or one too old for CUDA 13: CUDA driver"),
            "{r}"
        );
        let r = no_gpu_reason(Some(&probe("no CUDA-capable device is detected")));
        assert!(r.starts_with("no NVIDIA GPU found"), "{r}");
        assert_eq!(
            no_gpu_reason(Some(&device::CudaProbe::default())),
            "CUDA found no devices"
        );
    }

    #[test]
    fn threads_follow_the_idle_cores() {
        let stat = "cpu  100 0 100 800 0 0 0 0 0 0\ncpu0 50 0 50 400 0 0 0 0 0 0\ncpu1 50 0 50 400 0 0 0 0 0 0\n";
        let a = cpu_times(stat).unwrap();
        assert_eq!(a, (800, 1000, 2));
        // Both cores idle over the interval: 2 threads.
        assert_eq!(threads_for(2, a, (1000, 1200, 2)), 2);
        // One core busy with someone else: 1 thread.
        assert_eq!(threads_for(2, a, (900, 1200, 2)), 1);
        // Everything busy still leaves one thread; no time passed keeps the cores.
        assert_eq!(threads_for(2, a, (800, 1200, 2)), 1);
        assert_eq!(threads_for(2, a, a), 2);
        assert_eq!(cpu_times("garbage"), None);
    }
}
