//! Video frames as RGB pictures: evenly spaced samples of a video for choosing a keyframe
//! ([`sample_frames`]), one frame at a chosen time ([`frame_at`]), and the picture in an image
//! file such as a video's thumbnail ([`decode_picture`]). Only local files are read.

use std::path::{Path, PathBuf};

use ffmpeg_next as ffmpeg;

use ffmpeg::format::stream::Disposition;
use ffmpeg::software::scaling;
use ffmpeg::{Dictionary, Rational, codec, format, frame, media};

use crate::audio::init;

/// Containers a frame may come from: the video containers the audio decoder reads, and the
/// still-image formats a thumbnail comes in.
const FORMAT_WHITELIST: &str = "mov,mp4,m4a,matroska,webm,avi,asf,flv,mpegts,mpeg,ogg,\
     image2,jpeg_pipe,png_pipe,webp_pipe,bmp_pipe,gif";

/// The most frames decoded from the key frame a seek lands on towards a sample's point in time.
const MAX_FORWARD_FRAMES: usize = 60;
/// Frames decoded after a sample while looking for the one that shows whether the picture is
/// changing (a cut or a fade in progress).
const FOLLOW_FRAMES: usize = 12;
/// How far after a sample its companion frame lies, in seconds (or [`FOLLOW_FRAMES`] later).
const FOLLOW_SECONDS: f64 = 0.4;

/// Why no frame could be read from a file.
#[derive(Debug, thiserror::Error)]
pub enum FrameError {
    /// The file could not be opened or is not in a format Vidpress reads pictures from.
    #[error("{}: cannot open for frames: {detail}", path.display())]
    Open { path: PathBuf, detail: String },
    /// The file has no video picture (audio only, or only attached cover art).
    #[error("{}: the file has no video", path.display())]
    NoVideo { path: PathBuf },
    /// FFmpeg failed while decoding.
    #[error("{}: {action} failed: {source}", path.display())]
    Ffmpeg {
        path: PathBuf,
        action: &'static str,
        source: ffmpeg::Error,
    },
    /// The video yielded no picture at all.
    #[error("{}: no frame could be decoded", path.display())]
    Empty { path: PathBuf },
}

/// A picture as tightly packed 8-bit RGB, row after row.
#[derive(Clone, PartialEq, Eq)]
pub struct RgbFrame {
    /// Where in the video it was shown, in milliseconds (0 for a still image).
    pub time_ms: i64,
    pub width: u32,
    pub height: u32,
    /// `width * height * 3` bytes.
    pub data: Vec<u8>,
}

impl std::fmt::Debug for RgbFrame {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RgbFrame")
            .field("time_ms", &self.time_ms)
            .field("width", &self.width)
            .field("height", &self.height)
            .finish_non_exhaustive()
    }
}

/// One sample of a video: a frame and, when the video goes on, a frame shown a moment later
/// (both small), so a chooser can tell a still picture from one in the middle of a transition.
#[derive(Debug, Clone)]
pub struct FrameSample {
    pub frame: RgbFrame,
    pub later: Option<RgbFrame>,
}

/// Whether `path` holds a video stream (attached cover art does not count).
pub fn has_video(path: &Path) -> bool {
    open(path).is_ok_and(|input| video_stream(&input).is_some())
}

/// Up to `count` frames spread evenly over the video, each scaled to `width` pixels wide (the
/// height keeps the picture's shape), with a companion frame a moment later. Each sample is the
/// frame at its point in time, or at most a couple of seconds before it when key frames are far
/// apart, so only a few dozen frames are decoded per sample.
pub fn sample_frames(
    path: &Path,
    count: usize,
    width: u32,
) -> Result<Vec<FrameSample>, FrameError> {
    let mut input = open(path)?;
    let mut video = VideoDecoder::new(path, &input)?;
    let duration_us = container_duration_us(&input);
    let count = count.max(1);
    let mut samples = Vec::with_capacity(count);
    let mut last_time = None;
    for i in 0..count {
        let target_us = duration_us
            .map(|d| (d as f64 * (i as f64 + 0.5) / count as f64) as i64)
            .unwrap_or(0);
        if duration_us.is_none() && i > 0 {
            break;
        }
        if input.seek(target_us, ..target_us).is_err() && i > 0 {
            break;
        }
        video.restart();
        // The seek lands on the key frame before the point; decode on towards it, but only so
        // far, so a video with rare key frames stays quick to sample.
        let target_ms = target_us / 1000;
        let mut first = None;
        for _ in 0..MAX_FORWARD_FRAMES {
            let Some(next) = video.next_frame(&mut input)? else {
                break;
            };
            let reached = video.time_ms(&next) >= target_ms;
            first = Some(next);
            if reached {
                break;
            }
        }
        let Some(first) = first else {
            continue;
        };
        let time_ms = video.time_ms(&first);
        // A long stretch without key frames lands several samples on the same one.
        if last_time == Some(time_ms) {
            continue;
        }
        last_time = Some(time_ms);
        let frame = video.convert_to_rgb(&first, width, time_ms)?;
        let mut later = None;
        for _ in 0..FOLLOW_FRAMES {
            let Some(next) = video.next_frame(&mut input)? else {
                break;
            };
            let next_ms = video.time_ms(&next);
            later = Some((next, next_ms));
            if next_ms - time_ms >= (FOLLOW_SECONDS * 1000.0) as i64 {
                break;
            }
        }
        let later = match later {
            Some((next, next_ms)) => Some(video.convert_to_rgb(&next, width, next_ms)?),
            None => None,
        };
        samples.push(FrameSample { frame, later });
    }
    if samples.is_empty() {
        return Err(FrameError::Empty {
            path: path.to_path_buf(),
        });
    }
    Ok(samples)
}

/// The first frame shown at or after `time_ms`, scaled down to at most `max_width` pixels wide
/// (never up).
pub fn frame_at(path: &Path, time_ms: i64, max_width: u32) -> Result<RgbFrame, FrameError> {
    let mut input = open(path)?;
    let mut video = VideoDecoder::new(path, &input)?;
    let target_us = time_ms.max(0) * 1000;
    // Seek to the key frame at or before the time, then decode up to it. A still image cannot
    // seek (and a failed seek leaves the file unreadable), and the start needs no seek.
    if target_us > 0 {
        let _ = input.seek(target_us, ..target_us);
        video.restart();
    }
    let mut best = None;
    while let Some(decoded) = video.next_frame(&mut input)? {
        let shown = video.time_ms(&decoded);
        let reached = shown >= time_ms;
        best = Some((decoded, shown));
        if reached {
            break;
        }
    }
    let (decoded, shown) = best.ok_or_else(|| FrameError::Empty {
        path: path.to_path_buf(),
    })?;
    let width = decoded.width().min(max_width.max(1));
    video.convert_to_rgb(&decoded, width, shown)
}

/// The picture in an image file (JPEG, PNG, WebP…) or the first frame of a video, scaled down to
/// at most `max_width` pixels wide.
pub fn decode_picture(path: &Path, max_width: u32) -> Result<RgbFrame, FrameError> {
    frame_at(path, 0, max_width)
}

fn open(path: &Path) -> Result<format::context::Input, FrameError> {
    let failed = |detail: String| FrameError::Open {
        path: path.to_path_buf(),
        detail,
    };
    init().map_err(|e| failed(e.to_string()))?;
    if !path.is_file() {
        return Err(failed("not a regular file".into()));
    }
    let text = path
        .to_str()
        .filter(|p| !p.contains('\0'))
        .ok_or_else(|| failed("the file name is not valid UTF-8".into()))?;
    // Only local files and only the formats above: nothing in the file can make FFmpeg open
    // another file or a URL.
    let mut options = Dictionary::new();
    options.set("protocol_whitelist", "file");
    options.set("format_whitelist", FORMAT_WHITELIST);
    let input = format::input_with_dictionary(&format!("file:{text}"), options)
        .map_err(|e| failed(e.to_string()))?;
    Ok(input)
}

fn video_stream(input: &format::context::Input) -> Option<usize> {
    input
        .streams()
        .filter(|s| {
            s.parameters().medium() == media::Type::Video
                && !s.disposition().contains(Disposition::ATTACHED_PIC)
        })
        .map(|s| s.index())
        .min_by_key(|&index| {
            // FFmpeg's own choice first, then the file's order.
            let best = input.streams().best(media::Type::Video).map(|s| s.index());
            (best != Some(index), index)
        })
}

fn container_duration_us(input: &format::context::Input) -> Option<i64> {
    let d = input.duration();
    (d > 0 && d != ffmpeg::ffi::AV_NOPTS_VALUE).then_some(d)
}

/// A decoder for a file's video stream, with the scaler it last used.
/// What a scaler was made for: source width, height and pixel format, target width and height.
type ScalerKey = (u32, u32, format::Pixel, u32, u32);

struct VideoDecoder {
    path: PathBuf,
    index: usize,
    time_base: Rational,
    start: i64,
    decoder: ffmpeg::decoder::Video,
    scaler: Option<(scaling::Context, ScalerKey)>,
    eof: bool,
}

impl VideoDecoder {
    fn new(path: &Path, input: &format::context::Input) -> Result<Self, FrameError> {
        let index = video_stream(input).ok_or_else(|| FrameError::NoVideo {
            path: path.to_path_buf(),
        })?;
        let stream = input.stream(index).ok_or_else(|| FrameError::NoVideo {
            path: path.to_path_buf(),
        })?;
        let ffmpeg_err = |action, source| FrameError::Ffmpeg {
            path: path.to_path_buf(),
            action,
            source,
        };
        let mut context = codec::context::Context::from_parameters(stream.parameters())
            .map_err(|e| ffmpeg_err("reading the video parameters", e))?;
        // Two threads: enough for the short runs decoded per sample, and the pipeline has
        // other work beside it.
        context.set_threading(codec::threading::Config {
            kind: codec::threading::Type::Frame,
            ..codec::threading::Config::count(2)
        });
        let decoder = context
            .decoder()
            .video()
            .map_err(|e| ffmpeg_err("opening the video decoder", e))?;
        let start = stream.start_time();
        Ok(Self {
            path: path.to_path_buf(),
            index,
            time_base: stream.time_base(),
            start: if start == ffmpeg::ffi::AV_NOPTS_VALUE {
                0
            } else {
                start
            },
            decoder,
            scaler: None,
            eof: false,
        })
    }

    /// Forgets what the decoder holds, after a seek.
    fn restart(&mut self) {
        self.decoder.flush();
        self.eof = false;
    }

    /// The next decoded frame, reading packets as needed; `None` at the end of the file.
    fn next_frame(
        &mut self,
        input: &mut format::context::Input,
    ) -> Result<Option<frame::Video>, FrameError> {
        let mut decoded = frame::Video::empty();
        loop {
            match self.decoder.receive_frame(&mut decoded) {
                Ok(()) => return Ok(Some(decoded)),
                Err(ffmpeg::Error::Eof) => return Ok(None),
                Err(ffmpeg::Error::Other { errno }) if errno == ffmpeg::util::error::EAGAIN => {}
                Err(source) => {
                    return Err(FrameError::Ffmpeg {
                        path: self.path.clone(),
                        action: "decoding a frame",
                        source,
                    });
                }
            }
            if self.eof {
                return Ok(None);
            }
            let mut packet = ffmpeg::Packet::empty();
            loop {
                match packet.read(input) {
                    Ok(()) if packet.stream() == self.index => {
                        // A damaged packet is skipped; the next key frame recovers.
                        let _ = self.decoder.send_packet(&packet);
                        break;
                    }
                    Ok(()) => continue,
                    Err(ffmpeg::Error::Eof) => {
                        // The decoder hands out what it still holds, then says Eof.
                        let _ = self.decoder.send_eof();
                        self.eof = true;
                        break;
                    }
                    // A read error past which the demuxer cannot go ends the stream too.
                    Err(_) => {
                        let _ = self.decoder.send_eof();
                        self.eof = true;
                        break;
                    }
                }
            }
        }
    }

    fn time_ms(&self, decoded: &frame::Video) -> i64 {
        let ts = decoded.timestamp().or(decoded.pts()).unwrap_or(self.start);
        let seconds = (ts - self.start) as f64 * f64::from(self.time_base);
        (seconds * 1000.0).round() as i64
    }

    /// `decoded` as RGB, `width` pixels wide with the picture's shape kept.
    fn convert_to_rgb(
        &mut self,
        decoded: &frame::Video,
        width: u32,
        time_ms: i64,
    ) -> Result<RgbFrame, FrameError> {
        let (sw, sh) = (decoded.width(), decoded.height());
        if sw == 0 || sh == 0 {
            return Err(FrameError::Empty {
                path: self.path.clone(),
            });
        }
        let width = width.max(2);
        let height = ((u64::from(sh) * u64::from(width) / u64::from(sw)) as u32).max(2);
        let key = (sw, sh, decoded.format(), width, height);
        if self.scaler.as_ref().is_none_or(|(_, k)| *k != key) {
            let flags = if width < sw {
                scaling::Flags::AREA
            } else {
                scaling::Flags::BICUBIC
            };
            let context = scaling::Context::get(
                decoded.format(),
                sw,
                sh,
                format::Pixel::RGB24,
                width,
                height,
                flags,
            )
            .map_err(|source| FrameError::Ffmpeg {
                path: self.path.clone(),
                action: "preparing the scaler",
                source,
            })?;
            self.scaler = Some((context, key));
        }
        let Some((scaler, _)) = self.scaler.as_mut() else {
            unreachable!("the scaler was just made");
        };
        let mut rgb = frame::Video::empty();
        scaler
            .run(decoded, &mut rgb)
            .map_err(|source| FrameError::Ffmpeg {
                path: self.path.clone(),
                action: "scaling a frame",
                source,
            })?;
        let stride = rgb.stride(0);
        let row = width as usize * 3;
        let plane = rgb.data(0);
        let mut data = Vec::with_capacity(row * height as usize);
        for y in 0..height as usize {
            data.extend_from_slice(&plane[y * stride..y * stride + row]);
        }
        Ok(RgbFrame {
            time_ms,
            width,
            height,
            data,
        })
    }
}
