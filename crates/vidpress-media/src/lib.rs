//! Vidpress media: fetching a video's audio and title with yt-dlp ([`fetch_video`]) and a small
//! copy of its pictures for the header image ([`fetch_frames`]), decoding any container and
//! codec FFmpeg knows into 16 kHz mono `f32` samples ([`decode_audio`],
//! [`decode_audio_chunks`], [`AudioDecoder`]), the title and chapters a file carries
//! ([`media_title`], [`media_chapters`]; with a site's chapter list, [`video_chapters`]), and
//! video frames and thumbnails as RGB pictures for header images ([`frames`]). This crate knows
//! nothing about Whisper.

pub mod audio;
pub mod fetch;
pub mod frames;
mod tags;

pub use audio::{
    AudioDecoder, AudioError, AudioInfo, DecodeOptions, SAMPLE_RATE, decode_audio,
    decode_audio_chunks, decode_audio_with, probe_audio,
};
pub use fetch::{
    DEFAULT_EXTRACTORS, FetchError, FetchOptions, FetchProgress, Fetched, default_ytdlp, fetch,
    fetch_frames, fetch_video, frames_of, is_url, thumbnail_of, video_chapters,
};
pub use frames::{
    FrameError, FrameSample, RgbFrame, decode_picture, frame_at, has_video, sample_frames,
};
pub use tags::{media_chapters, media_title};
