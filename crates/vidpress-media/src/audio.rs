//! Audio extraction: decodes the best audio stream of any container and codec FFmpeg knows
//! and resamples it to 16 kHz mono `f32`, one packet at a time, so memory stays flat however
//! long the input is.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use ffmpeg_next as ffmpeg;

use ffmpeg::util::error::EAGAIN;
use ffmpeg::util::format::sample::{Sample, Type as SampleType};
use ffmpeg::{ChannelLayout, Dictionary, Packet, codec, format, frame, media, software};

/// The sample rate of every decoded sample stream (what Whisper expects).
pub const SAMPLE_RATE: u32 = 16_000;

/// The demuxers an untrusted file may be read with: media containers only. Playlists and
/// other formats that open further files or URLs (HLS, DASH, concat, image sequences) are
/// not among them, so an uploaded `.m3u8` cannot read another file.
const FORMAT_WHITELIST: &str = "mov,mp4,m4a,matroska,webm,mp3,flac,ogg,wav,w64,aac,aiff,caf,avi,\
     asf,flv,mpegts,mpeg,amr,au,wv,ape,tta,ac3,eac3,dts,mpc,mpc8,oma,xwma,voc,mlp,truehd";

/// Demuxer errors in a row after which the rest of the file is taken to be missing.
const MAX_CONSECUTIVE_READ_ERRORS: u32 = 64;

/// Why a file's audio could not be decoded. Every variant names the file.
#[derive(Debug, thiserror::Error)]
pub enum AudioError {
    /// The file could not be opened (missing, a directory, no permission, unusable name).
    #[error("{}: cannot open: {source}", path.display())]
    Open {
        /// The file.
        path: PathBuf,
        /// The operating system's reason.
        #[source]
        source: std::io::Error,
    },
    /// FFmpeg does not recognise the contents as audio or video.
    #[error("{}: not a media file ({detail})", path.display())]
    NotMedia {
        /// The file.
        path: PathBuf,
        /// What FFmpeg saw.
        detail: String,
    },
    /// The file is media but has no audio stream (a silent video, an image, subtitles).
    #[error("{}: no audio stream (the file has {streams})", path.display())]
    NoAudioStream {
        /// The file.
        path: PathBuf,
        /// A summary of the streams it does have, e.g. "1 video stream".
        streams: String,
    },
    /// The file ends before its own header says it should, or lacks its index.
    #[error("{}: truncated: {detail}", path.display())]
    Truncated {
        /// The file.
        path: PathBuf,
        /// Where the data stops and what was expected.
        detail: String,
    },
    /// The audio data cannot be decoded.
    #[error("{}: corrupt audio data: {detail}", path.display())]
    Corrupt {
        /// The file.
        path: PathBuf,
        /// What went wrong.
        detail: String,
    },
    /// FFmpeg has no decoder for the audio codec, or cannot open it.
    #[error("{}: cannot decode audio codec {codec}: {source}", path.display())]
    UnsupportedCodec {
        /// The file.
        path: PathBuf,
        /// The codec's FFmpeg name.
        codec: String,
        /// FFmpeg's error.
        #[source]
        source: ffmpeg::Error,
    },
    /// The audio is longer than the limit the caller set: the file declares more, or decoding
    /// ran past the limit (a file that declares no length, or one that lies).
    #[error("{}: the audio is longer than the limit of {} minutes ({})", path.display(), limit.as_secs() / 60, describe_found(*declared))]
    TooLong {
        /// The file.
        path: PathBuf,
        /// The limit.
        limit: Duration,
        /// The length the file declares, when the refusal came from it.
        declared: Option<Duration>,
    },
    /// Decoding was stopped by the caller's stop flag.
    #[error("{}: decoding was stopped", path.display())]
    Stopped {
        /// The file.
        path: PathBuf,
    },
    /// FFmpeg failed in a way not covered above.
    #[error("{}: FFmpeg failed while {action}: {source}", path.display())]
    Ffmpeg {
        /// The file.
        path: PathBuf,
        /// What was being done, e.g. "setting up the resampler".
        action: &'static str,
        /// FFmpeg's error.
        #[source]
        source: ffmpeg::Error,
    },
}

impl AudioError {
    /// The file the error is about.
    pub fn path(&self) -> &Path {
        match self {
            Self::Open { path, .. }
            | Self::NotMedia { path, .. }
            | Self::NoAudioStream { path, .. }
            | Self::Truncated { path, .. }
            | Self::Corrupt { path, .. }
            | Self::UnsupportedCodec { path, .. }
            | Self::TooLong { path, .. }
            | Self::Stopped { path }
            | Self::Ffmpeg { path, .. } => path,
        }
    }
}

fn describe_found(declared: Option<Duration>) -> String {
    match declared {
        Some(d) => format!("it declares {:.1} minutes", d.as_secs_f64() / 60.0),
        None => "decoding was stopped at the limit".into(),
    }
}

/// Limits on one decode.
#[derive(Debug, Clone, Default)]
pub struct DecodeOptions {
    /// The longest audio accepted: a file declaring more is refused when opened, and decoding
    /// stops with [`AudioError::TooLong`] once this much audio has come out.
    pub max_duration: Option<Duration>,
    /// Decoding stops with [`AudioError::Stopped`] soon after this flag is set.
    pub stop: Option<Arc<AtomicBool>>,
}

/// What a probe learned about a file's audio.
#[derive(Debug, Clone, PartialEq)]
pub struct AudioInfo {
    /// FFmpeg's name of the container format, e.g. `mov,mp4,m4a,3gp,3g2,mj2`.
    pub container: String,
    /// FFmpeg's name of the audio codec, e.g. `aac`.
    pub codec: String,
    /// The source sample rate in Hz.
    pub sample_rate: u32,
    /// The source channel count.
    pub channels: u16,
    /// The duration the file declares, when it declares one.
    pub duration: Option<Duration>,
}

/// Initialises FFmpeg once. FFmpeg's own log is limited to fatal messages: every problem
/// reaches the caller as an [`AudioError`] instead of text on stderr.
pub(crate) fn init() -> Result<(), ffmpeg::Error> {
    static INIT: OnceLock<Result<(), ffmpeg::Error>> = OnceLock::new();
    *INIT.get_or_init(|| {
        ffmpeg::init()?;
        ffmpeg::util::log::set_level(ffmpeg::util::log::Level::Fatal);
        Ok(())
    })
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    /// Reading packets and feeding the decoder.
    Packets,
    /// End of input reached; taking the decoder's last frames.
    DrainDecoder,
    /// Decoder empty; taking the resampler's buffered samples.
    DrainResampler,
    /// Finished (successfully or not).
    Done,
}

/// A streaming decoder: [`AudioDecoder::next_chunk`] hands out 16 kHz mono `f32` samples a
/// decoded frame at a time until the file ends.
///
/// ```no_run
/// # fn main() -> Result<(), vidpress_media::AudioError> {
/// let mut decoder = vidpress_media::AudioDecoder::open("talk.mp4".as_ref())?;
/// let mut peak = 0.0f32;
/// while let Some(chunk) = decoder.next_chunk()? {
///     peak = chunk.iter().fold(peak, |p, s| p.max(s.abs()));
/// }
/// # Ok(()) }
/// ```
pub struct AudioDecoder {
    path: PathBuf,
    input: format::context::Input,
    stream_index: usize,
    decoder: ffmpeg::decoder::Audio,
    resampler: Option<software::resampling::Context>,
    decoded: frame::Audio,
    resampled: frame::Audio,
    resampled_capacity: usize,
    phase: Phase,
    /// Seconds per tick of the audio stream's time base.
    tick: f64,
    /// The stream's first timestamp, in ticks.
    start_ticks: i64,
    /// The declared duration and whether it is the audio stream's own (more precise) one.
    expected: Option<(Duration, bool)>,
    file_len: u64,
    /// End of the last audio packet read, in seconds from the stream start.
    position: f64,
    byte_position: u64,
    samples_out: u64,
    packets: u64,
    bad_packets: u64,
    read_errors: u64,
    consecutive_read_errors: u32,
    /// The most samples handed out before [`AudioError::TooLong`].
    max_samples: Option<u64>,
    max_duration: Option<Duration>,
    stop: Option<Arc<AtomicBool>>,
}

impl std::fmt::Debug for AudioDecoder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AudioDecoder")
            .field("path", &self.path)
            .field("stream_index", &self.stream_index)
            .field("phase", &self.phase)
            .field("samples_out", &self.samples_out)
            .finish_non_exhaustive()
    }
}

impl AudioDecoder {
    /// Opens `path`, picks its best audio stream and prepares a decoder for it.
    pub fn open(path: &Path) -> Result<Self, AudioError> {
        let owned = path.to_path_buf();
        let ffmpeg_err = |action, source| AudioError::Ffmpeg {
            path: owned.clone(),
            action,
            source,
        };
        init().map_err(|e| ffmpeg_err("initialising FFmpeg", e))?;

        let metadata = std::fs::metadata(path).map_err(|source| AudioError::Open {
            path: owned.clone(),
            source,
        })?;
        if !metadata.is_file() {
            return Err(AudioError::Open {
                path: owned,
                source: std::io::Error::new(std::io::ErrorKind::InvalidInput, "not a regular file"),
            });
        }
        let Some(text_path) = path.to_str().filter(|p| !p.contains('\0')) else {
            return Err(AudioError::Open {
                path: owned,
                source: std::io::Error::new(
                    std::io::ErrorKind::InvalidInput,
                    "the file name is not valid UTF-8",
                ),
            });
        };
        if metadata.len() == 0 {
            return Err(AudioError::NotMedia {
                path: owned,
                detail: "the file is empty".into(),
            });
        }

        // The `file:` prefix stops FFmpeg from reading a name like `http:…` or `concat:…` as
        // a protocol: this function only ever reads local files.
        // Only local files, and only media containers (see FORMAT_WHITELIST): nothing in the
        // file can make FFmpeg open another file or a URL.
        let mut options = Dictionary::new();
        options.set("protocol_whitelist", "file");
        options.set("format_whitelist", FORMAT_WHITELIST);
        let input = match format::input_with_dictionary(&format!("file:{text_path}"), options) {
            Ok(input) => input,
            Err(ffmpeg::Error::Other { errno }) if errno == libc_einval() => {
                return Err(AudioError::NotMedia {
                    path: owned,
                    detail: "its format is not one Vidpress reads (playlists and other formats \
                             that refer to further files are refused)"
                        .into(),
                });
            }
            Err(error) => return Err(open_failure(path, error)),
        };

        // The ANSI-art demuxer accepts any text file by its extension; a text file is not media.
        if input.format().name() == "tty" {
            return Err(AudioError::NotMedia {
                path: owned,
                detail: "it is a text file".into(),
            });
        }

        let Some(stream) = input.streams().best(media::Type::Audio) else {
            return Err(AudioError::NoAudioStream {
                path: owned,
                streams: describe_streams(&input),
            });
        };
        let stream_index = stream.index();
        let time_base = stream.time_base();
        let tick = if time_base.denominator() != 0 {
            f64::from(time_base.numerator()) / f64::from(time_base.denominator())
        } else {
            0.0
        };
        let start_ticks = match stream.start_time() {
            t if t == ffmpeg::ffi::AV_NOPTS_VALUE => 0,
            t => t,
        };
        let mut expected = declared_duration(&input, &stream, tick);
        // FFmpeg sizes a WAV file by its bytes when the header promises more, so a cut-off
        // WAV looks complete; its header's own data size tells the truth.
        if input.format().name() == "wav"
            && let Some(declared) = wav_header_duration(path)
        {
            expected = Some((declared, true));
        }
        let parameters = stream.parameters();
        let codec_name = parameters.id().name().to_string();

        let context = codec::Context::from_parameters(parameters)
            .map_err(|e| ffmpeg_err("reading the audio stream's parameters", e))?;
        let decoder = context
            .decoder()
            .audio()
            .map_err(|source| AudioError::UnsupportedCodec {
                path: owned.clone(),
                codec: codec_name,
                source,
            })?;

        Ok(Self {
            path: owned,
            input,
            stream_index,
            decoder,
            resampler: None,
            decoded: frame::Audio::empty(),
            resampled: frame::Audio::empty(),
            resampled_capacity: 0,
            phase: Phase::Packets,
            tick,
            start_ticks,
            expected,
            file_len: metadata.len(),
            position: 0.0,
            byte_position: 0,
            samples_out: 0,
            packets: 0,
            bad_packets: 0,
            read_errors: 0,
            consecutive_read_errors: 0,
            max_samples: None,
            max_duration: None,
            stop: None,
        })
    }

    /// Opens `path` as [`AudioDecoder::open`] does and applies `options`: a file that declares
    /// more audio than `max_duration` is refused here, before anything is decoded.
    pub fn open_with(path: &Path, options: &DecodeOptions) -> Result<Self, AudioError> {
        let mut decoder = Self::open(path)?;
        if let Some(max) = options.max_duration {
            if let Some(declared) = decoder.duration()
                && declared > max
            {
                return Err(AudioError::TooLong {
                    path: decoder.path.clone(),
                    limit: max,
                    declared: Some(declared),
                });
            }
            decoder.max_duration = Some(max);
            decoder.max_samples = Some((max.as_secs_f64() * f64::from(SAMPLE_RATE)).ceil() as u64);
        }
        decoder.stop = options.stop.clone();
        Ok(decoder)
    }

    /// What the file declares about its audio.
    pub fn info(&self) -> AudioInfo {
        AudioInfo {
            container: self.input.format().name().to_string(),
            codec: self.decoder.id().name().to_string(),
            sample_rate: self.decoder.rate(),
            channels: self.decoder.channels(),
            duration: self.expected.map(|(d, _)| d),
        }
    }

    /// The duration the file declares, when it declares one.
    pub fn duration(&self) -> Option<Duration> {
        self.expected.map(|(d, _)| d)
    }

    /// How far decoding has got, from 0 to 1: the stream position against the declared
    /// duration, or the byte position against the file size when no duration is known.
    pub fn progress(&self) -> f32 {
        if self.phase == Phase::Done {
            return 1.0;
        }
        let fraction = match self.expected {
            Some((d, _)) if d.as_secs_f64() > 0.0 => self.position / d.as_secs_f64(),
            _ if self.file_len > 0 => self.byte_position as f64 / self.file_len as f64,
            _ => 0.0,
        };
        // 1.0 is kept for "finished": the last packets may still be in the decoder.
        fraction.clamp(0.0, 0.999) as f32
    }

    /// The number of 16 kHz samples handed out so far.
    pub fn samples_decoded(&self) -> u64 {
        self.samples_out
    }

    /// Decodes until some samples are ready and returns them; `Ok(None)` at the end of the
    /// audio. Chunks vary in length (typically one codec frame, a few hundred samples).
    /// After an error, further calls return `Ok(None)`.
    pub fn next_chunk(&mut self) -> Result<Option<&[f32]>, AudioError> {
        if self.phase != Phase::Done
            && self
                .stop
                .as_ref()
                .is_some_and(|stop| stop.load(Ordering::Relaxed))
        {
            self.phase = Phase::Done;
            return Err(AudioError::Stopped {
                path: self.path.clone(),
            });
        }
        let produced = match self.advance() {
            Ok(n) => n,
            Err(error) => {
                self.phase = Phase::Done;
                return Err(error);
            }
        };
        match produced {
            0 => Ok(None),
            n => {
                self.samples_out += n as u64;
                if let (Some(max_samples), Some(limit)) = (self.max_samples, self.max_duration)
                    && self.samples_out > max_samples
                {
                    self.phase = Phase::Done;
                    return Err(AudioError::TooLong {
                        path: self.path.clone(),
                        limit,
                        declared: None,
                    });
                }
                Ok(Some(&self.resampled.plane::<f32>(0)[..n]))
            }
        }
    }

    /// Runs the state machine until the resampled frame holds samples (returns their count)
    /// or the stream is finished (returns 0).
    fn advance(&mut self) -> Result<usize, AudioError> {
        loop {
            match self.phase {
                Phase::Done => return Ok(0),
                Phase::Packets | Phase::DrainDecoder => {
                    match self.decoder.receive_frame(&mut self.decoded) {
                        Ok(()) => {
                            let n = self.resample_decoded()?;
                            if n > 0 {
                                return Ok(n);
                            }
                        }
                        Err(ffmpeg::Error::Other { errno: EAGAIN }) => {
                            if self.phase == Phase::DrainDecoder {
                                // A drained decoder never asks for input; treat it as done.
                                self.phase = Phase::DrainResampler;
                            } else {
                                self.feed_decoder()?;
                            }
                        }
                        Err(ffmpeg::Error::Eof) => self.phase = Phase::DrainResampler,
                        Err(error) => self.count_bad_packet(error)?,
                    }
                }
                Phase::DrainResampler => {
                    let n = self.flush_resampler()?;
                    if n > 0 {
                        return Ok(n);
                    }
                    self.phase = Phase::Done;
                    self.check_complete()?;
                    return Ok(0);
                }
            }
        }
    }

    /// Reads packets until one of the audio stream's is sent to the decoder, or the input ends.
    fn feed_decoder(&mut self) -> Result<(), AudioError> {
        loop {
            // A fresh packet for every read: `av_read_frame` overwrites a packet without
            // releasing its buffer, so reusing one would leak every packet's data.
            let mut packet = Packet::empty();
            match packet.read(&mut self.input) {
                Ok(()) => {
                    self.consecutive_read_errors = 0;
                    if packet.stream() != self.stream_index {
                        continue;
                    }
                    self.packets += 1;
                    self.note_position(&packet);
                    match self.decoder.send_packet(&packet) {
                        Ok(()) => return Ok(()),
                        Err(error) => {
                            self.count_bad_packet(error)?;
                            continue;
                        }
                    }
                }
                Err(ffmpeg::Error::Eof) => return self.start_draining(),
                Err(error) => {
                    // Demuxers report each missing chunk of a cut-off file (e.g. MP4's
                    // "partial file"); a long run of them means the rest of the file is gone.
                    tracing::debug!(path = %self.path.display(), %error, "demuxer read error");
                    self.read_errors += 1;
                    self.consecutive_read_errors += 1;
                    if self.consecutive_read_errors >= MAX_CONSECUTIVE_READ_ERRORS {
                        return self.start_draining();
                    }
                }
            }
        }
    }

    fn start_draining(&mut self) -> Result<(), AudioError> {
        self.phase = Phase::DrainDecoder;
        match self.decoder.send_eof() {
            Ok(()) | Err(ffmpeg::Error::Eof) => Ok(()),
            Err(source) => Err(AudioError::Ffmpeg {
                path: self.path.clone(),
                action: "flushing the decoder",
                source,
            }),
        }
    }

    fn note_position(&mut self, packet: &Packet) {
        if let Some(pts) = packet.pts().or(packet.dts()) {
            let end = pts.saturating_sub(self.start_ticks) + packet.duration().max(0);
            let seconds = end as f64 * self.tick;
            if seconds.is_finite() && seconds > self.position {
                self.position = seconds;
            }
        }
        if let Ok(byte) = u64::try_from(packet.position())
            && byte > self.byte_position
        {
            self.byte_position = byte;
        }
    }

    /// Skips a packet the decoder rejects, as FFmpeg's own tools do, unless bad packets are
    /// more than a small share of the stream.
    fn count_bad_packet(&mut self, error: ffmpeg::Error) -> Result<(), AudioError> {
        tracing::debug!(path = %self.path.display(), %error, "skipping undecodable audio packet");
        self.bad_packets += 1;
        if self.bad_packets > 8 && self.bad_packets * 10 > self.packets {
            return Err(AudioError::Corrupt {
                path: self.path.clone(),
                detail: format!(
                    "{} of {} audio packets could not be decoded (last error: {error})",
                    self.bad_packets, self.packets
                ),
            });
        }
        Ok(())
    }

    /// Converts the frame in `self.decoded` into `self.resampled`; returns the sample count.
    fn resample_decoded(&mut self) -> Result<usize, AudioError> {
        // Some decoders leave the layout unset (only a channel count); the resampler needs one.
        if self.decoded.channel_layout().is_empty() {
            let channels = i32::from(self.decoded.channels().max(1));
            self.decoded
                .set_channel_layout(ChannelLayout::default(channels));
        }
        let format = self.decoded.format();
        let layout = self.decoded.channel_layout();
        let rate = self.decoded.rate();
        if rate == 0 || self.decoded.samples() == 0 {
            return Ok(0);
        }

        let reusable = self.resampler.as_ref().is_some_and(|r| {
            let input = r.input();
            input.format == format && input.channel_layout == layout && input.rate == rate
        });
        if !reusable {
            // A stream whose format changes mid-way gets a new resampler; the old one's few
            // buffered samples (its filter delay, about a millisecond) are dropped.
            self.resampler = Some(self.new_resampler(format, layout, rate)?);
        }

        let needed = (self.decoded.samples() as u64 * u64::from(SAMPLE_RATE))
            .div_ceil(u64::from(rate)) as usize
            + 64;
        self.reserve_output(needed);
        self.resampled.set_samples(self.resampled_capacity);
        let Some(resampler) = self.resampler.as_mut() else {
            return Ok(0);
        };
        resampler
            .run(&self.decoded, &mut self.resampled)
            .map_err(|source| AudioError::Ffmpeg {
                path: self.path.clone(),
                action: "resampling",
                source,
            })?;
        Ok(self.resampled.samples())
    }

    fn new_resampler(
        &self,
        format: Sample,
        layout: ChannelLayout,
        rate: u32,
    ) -> Result<software::resampling::Context, AudioError> {
        // Without a ceiling, FFmpeg's downmix adds channels at 0.707 each and a loud stereo
        // track clips; a ceiling of 1 makes it an average.
        let mut options = Dictionary::new();
        options.set("rematrix_maxval", "1.0");
        software::resampling::Context::get_with(
            format,
            layout,
            rate,
            Sample::F32(SampleType::Packed),
            ChannelLayout::MONO,
            SAMPLE_RATE,
            options,
        )
        .map_err(|source| AudioError::Ffmpeg {
            path: self.path.clone(),
            action: "setting up the resampler",
            source,
        })
    }

    /// Makes sure the output frame can hold `samples` samples.
    fn reserve_output(&mut self, samples: usize) {
        if samples > self.resampled_capacity {
            let capacity = samples.max(4096);
            self.resampled = frame::Audio::new(
                Sample::F32(SampleType::Packed),
                capacity,
                ChannelLayout::MONO,
            );
            self.resampled.set_rate(SAMPLE_RATE);
            self.resampled_capacity = capacity;
        }
    }

    /// Takes samples still buffered in the resampler; returns their count (0 when empty).
    fn flush_resampler(&mut self) -> Result<usize, AudioError> {
        if self.resampler.is_none() {
            return Ok(0);
        }
        self.reserve_output(4096);
        self.resampled.set_samples(self.resampled_capacity);
        let Some(resampler) = self.resampler.as_mut() else {
            return Ok(0);
        };
        match resampler.flush(&mut self.resampled) {
            Ok(_) => Ok(self.resampled.samples()),
            Err(source) => Err(AudioError::Ffmpeg {
                path: self.path.clone(),
                action: "flushing the resampler",
                source,
            }),
        }
    }

    /// At the end of the stream: checks that the audio is all there.
    fn check_complete(&self) -> Result<(), AudioError> {
        let decoded_seconds = self
            .position
            .max(self.samples_out as f64 / f64::from(SAMPLE_RATE));
        if self.samples_out == 0 && self.bad_packets > 0 {
            return Err(AudioError::Corrupt {
                path: self.path.clone(),
                detail: format!(
                    "none of its {} audio packets could be decoded",
                    self.packets
                ),
            });
        }
        if self.read_errors > 0 {
            return Err(AudioError::Truncated {
                path: self.path.clone(),
                detail: format!(
                    "audio data stops at {}{}",
                    seconds(decoded_seconds),
                    match self.expected {
                        Some((d, _)) => format!(" of {}", seconds(d.as_secs_f64())),
                        None => String::new(),
                    }
                ),
            });
        }
        if let Some((expected, own)) = self.expected {
            let expected = expected.as_secs_f64();
            // A container's duration may cover a longer video track, so it gets more slack
            // than the audio stream's own duration.
            let slack = if own {
                (expected * 0.01).max(0.5)
            } else {
                (expected * 0.02).max(2.0)
            };
            if decoded_seconds + slack < expected {
                return Err(AudioError::Truncated {
                    path: self.path.clone(),
                    detail: format!(
                        "audio data stops at {} of the {} the file declares",
                        seconds(decoded_seconds),
                        seconds(expected)
                    ),
                });
            }
        }
        if self.packets == 0 {
            return Err(AudioError::Truncated {
                path: self.path.clone(),
                detail: "the audio stream holds no data".into(),
            });
        }
        Ok(())
    }
}

/// `EINVAL`, FFmpeg's answer to a format that is not on the whitelist.
fn libc_einval() -> i32 {
    rustix::io::Errno::INVAL.raw_os_error()
}

/// Maps a failure to open a file into the most useful error: a known container signature
/// means a damaged or cut-off file rather than something that is not media at all.
fn open_failure(path: &Path, error: ffmpeg::Error) -> AudioError {
    let path_buf = path.to_path_buf();
    match error {
        ffmpeg::Error::InvalidData | ffmpeg::Error::StreamNotFound => {
            match container_signature(path) {
                Some("MP4/MOV") => AudioError::Truncated {
                    path: path_buf,
                    detail: "an MP4/MOV file without its index (moov atom): cut off or still being written".into(),
                },
                Some(kind) => AudioError::Corrupt {
                    path: path_buf,
                    detail: format!("it looks like {kind} but FFmpeg cannot read it"),
                },
                None => AudioError::NotMedia {
                    path: path_buf,
                    detail: "FFmpeg does not recognise its contents".into(),
                },
            }
        }
        ffmpeg::Error::Other { errno } => AudioError::Open {
            path: path_buf,
            source: std::io::Error::from_raw_os_error(errno),
        },
        source => AudioError::Ffmpeg {
            path: path_buf,
            action: "opening the file",
            source,
        },
    }
}

/// Recognises a few container signatures from the first bytes of a file.
fn container_signature(path: &Path) -> Option<&'static str> {
    use std::io::Read;
    let mut head = [0u8; 12];
    let mut file = std::fs::File::open(path).ok()?;
    let n = file.read(&mut head).ok()?;
    let head = &head[..n];
    if head.len() >= 8 && matches!(&head[4..8], b"ftyp" | b"moov" | b"mdat" | b"free" | b"wide") {
        Some("MP4/MOV")
    } else if head.starts_with(&[0x1A, 0x45, 0xDF, 0xA3]) {
        Some("Matroska/WebM")
    } else if head.starts_with(b"RIFF") {
        Some("RIFF/WAV")
    } else if head.starts_with(b"OggS") {
        Some("Ogg")
    } else if head.starts_with(b"fLaC") {
        Some("FLAC")
    } else if head.starts_with(b"ID3") {
        Some("MP3")
    } else {
        None
    }
}

/// The duration a file declares for its audio: the stream's own, a Matroska `DURATION` tag,
/// or the container's. The flag says whether it is the stream's own.
fn declared_duration(
    input: &format::context::Input,
    stream: &format::stream::Stream<'_>,
    tick: f64,
) -> Option<(Duration, bool)> {
    let own = stream.duration();
    if own > 0 && own != ffmpeg::ffi::AV_NOPTS_VALUE && tick > 0.0 {
        return Some((Duration::try_from_secs_f64(own as f64 * tick).ok()?, true));
    }
    if let Some(tag) = stream.metadata().get("DURATION")
        && let Some(d) = parse_hms(tag)
    {
        return Some((d, true));
    }
    let container = input.duration();
    if container > 0 && container != ffmpeg::ffi::AV_NOPTS_VALUE {
        let seconds = container as f64 / f64::from(ffmpeg::ffi::AV_TIME_BASE);
        return Some((Duration::try_from_secs_f64(seconds).ok()?, false));
    }
    None
}

/// The duration a WAV file's header declares (data chunk size / byte rate), unless the size
/// is a placeholder left by a writer that could not seek back (0 or all ones).
fn wav_header_duration(path: &Path) -> Option<Duration> {
    use std::io::Read;
    let mut head = Vec::with_capacity(4096);
    std::fs::File::open(path)
        .ok()?
        .take(64 * 1024)
        .read_to_end(&mut head)
        .ok()?;
    if head.len() < 12 || &head[0..4] != b"RIFF" || &head[8..12] != b"WAVE" {
        return None;
    }
    let u32_at = |at: usize| -> Option<u32> {
        Some(u32::from_le_bytes(head.get(at..at + 4)?.try_into().ok()?))
    };
    let mut offset = 12;
    let mut byte_rate = None;
    while offset + 8 <= head.len() {
        let id = &head[offset..offset + 4];
        let size = u32_at(offset + 4)?;
        if id == b"fmt " {
            byte_rate = u32_at(offset + 16).filter(|r| *r > 0);
        } else if id == b"data" {
            if size == 0 || size >= 0x7FFF_FFFF {
                return None;
            }
            return Some(Duration::from_secs_f64(
                f64::from(size) / f64::from(byte_rate?),
            ));
        }
        offset += 8 + size as usize + (size as usize & 1);
    }
    None
}

/// Parses `HH:MM:SS.fraction`, the form of Matroska's per-stream `DURATION` tag.
fn parse_hms(text: &str) -> Option<Duration> {
    let mut parts = text.trim().split(':');
    let hours: f64 = parts.next()?.parse().ok()?;
    let minutes: f64 = parts.next()?.parse().ok()?;
    let seconds: f64 = parts.next()?.parse().ok()?;
    if parts.next().is_some() {
        return None;
    }
    Duration::try_from_secs_f64(hours * 3600.0 + minutes * 60.0 + seconds).ok()
}

fn describe_streams(input: &format::context::Input) -> String {
    let mut counts: Vec<(&'static str, usize)> = Vec::new();
    for stream in input.streams() {
        let kind = match stream.parameters().medium() {
            media::Type::Video => "video",
            media::Type::Audio => "audio",
            media::Type::Subtitle => "subtitle",
            media::Type::Data => "data",
            media::Type::Attachment => "attachment",
            media::Type::Unknown => "unknown",
        };
        match counts.iter_mut().find(|(k, _)| *k == kind) {
            Some((_, n)) => *n += 1,
            None => counts.push((kind, 1)),
        }
    }
    if counts.is_empty() {
        return "no streams".into();
    }
    counts
        .iter()
        .map(|(kind, n)| format!("{n} {kind} stream{}", if *n == 1 { "" } else { "s" }))
        .collect::<Vec<_>>()
        .join(", ")
}

fn seconds(s: f64) -> String {
    format!("{s:.2} s")
}

/// Decodes the whole audio of `path` to 16 kHz mono `f32`, handing the samples to `on_chunk`
/// as they are decoded, so memory does not grow with the file's length. `on_progress` gets
/// values from 0 to 1 and ends with 1. Returns the total number of samples.
pub fn decode_audio_chunks(
    path: &Path,
    on_progress: impl FnMut(f32),
    on_chunk: impl FnMut(&[f32]),
) -> Result<u64, AudioError> {
    let mut decoder = AudioDecoder::open(path)?;
    drain(&mut decoder, on_progress, on_chunk)?;
    Ok(decoder.samples_decoded())
}

/// Decodes the whole audio of `path` into one vector of 16 kHz mono `f32` samples.
/// `on_progress` gets values from 0 to 1 and ends with 1.
pub fn decode_audio(path: &Path, on_progress: impl FnMut(f32)) -> Result<Vec<f32>, AudioError> {
    decode_audio_with(path, &DecodeOptions::default(), on_progress)
}

/// Decodes as [`decode_audio`] does, within the limits of `options`.
pub fn decode_audio_with(
    path: &Path,
    options: &DecodeOptions,
    on_progress: impl FnMut(f32),
) -> Result<Vec<f32>, AudioError> {
    let mut decoder = AudioDecoder::open_with(path, options)?;
    // Reserving the declared length up front avoids the vector doubling (and briefly
    // holding two copies) on long files.
    let declared = decoder
        .duration()
        .map(|d| (d.as_secs_f64() * f64::from(SAMPLE_RATE)) as usize + SAMPLE_RATE as usize)
        .unwrap_or(0);
    // Capped at two hours, so a header that lies about a huge length cannot make this
    // reserve gigabytes up front.
    let mut samples = Vec::with_capacity(declared.min(2 * 3600 * SAMPLE_RATE as usize));
    drain(&mut decoder, on_progress, |chunk| {
        samples.extend_from_slice(chunk)
    })?;
    Ok(samples)
}

fn drain(
    decoder: &mut AudioDecoder,
    mut on_progress: impl FnMut(f32),
    mut on_chunk: impl FnMut(&[f32]),
) -> Result<(), AudioError> {
    let mut reported = 0.0f32;
    on_progress(0.0);
    while let Some(chunk) = decoder.next_chunk()? {
        on_chunk(chunk);
        let progress = decoder.progress();
        if progress - reported >= 0.005 {
            reported = progress;
            on_progress(progress);
        }
    }
    on_progress(1.0);
    Ok(())
}

/// Checks that `path` is a media file with decodable audio: opens it and decodes its first
/// second. Returns what the file declares.
pub fn probe_audio(path: &Path) -> Result<AudioInfo, AudioError> {
    let mut decoder = AudioDecoder::open(path)?;
    let info = decoder.info();
    while decoder.samples_decoded() < u64::from(SAMPLE_RATE) {
        if decoder.next_chunk()?.is_none() {
            break;
        }
    }
    if decoder.samples_decoded() == 0 {
        return Err(AudioError::Corrupt {
            path: path.to_path_buf(),
            detail: "no audio could be decoded".into(),
        });
    }
    Ok(info)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_matroska_duration_tags() {
        assert_eq!(
            parse_hms("00:00:05.250000000"),
            Some(Duration::from_millis(5250))
        );
        assert_eq!(parse_hms("01:02:03"), Some(Duration::from_secs(3723)));
        assert_eq!(parse_hms("5.0"), None);
        assert_eq!(parse_hms("a:b:c"), None);
    }
}
