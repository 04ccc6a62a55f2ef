//! A media file's audio as the engine's [`AudioSource`]: decoded a packet at a time while
//! Whisper transcribes it a window at a time, so a long video never sits in memory whole.

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;

use vidpress_media::{AudioDecoder, AudioError, DecodeOptions, SAMPLE_RATE};
use vidpress_transcribe::{AudioSource, Engine, StreamError, Streamed, TranscribeOptions};

/// A decoder handing its samples to the engine.
#[derive(Debug)]
pub struct DecodedAudio {
    decoder: AudioDecoder,
}

impl DecodedAudio {
    /// Opens `path` within `options` (a file declaring more than the longest length allowed is
    /// refused here, before anything is decoded).
    pub fn open(path: &Path, options: &DecodeOptions) -> Result<Self, AudioError> {
        Ok(Self {
            decoder: AudioDecoder::open_with(path, options)?,
        })
    }
}

impl AudioSource for DecodedAudio {
    type Error = AudioError;

    fn read(&mut self, buf: &mut Vec<f32>) -> Result<bool, AudioError> {
        match self.decoder.next_chunk()? {
            Some(chunk) => {
                buf.extend_from_slice(chunk);
                Ok(true)
            }
            None => Ok(false),
        }
    }

    fn expected_samples(&self) -> Option<u64> {
        self.decoder
            .duration()
            .map(|d| (d.as_secs_f64() * f64::from(SAMPLE_RATE)) as u64)
    }
}

/// Decodes the audio of `path` within `decode` and transcribes it as it goes
/// ([`Engine::transcribe_stream`]). `stop` stops both the decoder and Whisper.
pub fn transcribe_file(
    engine: &Engine,
    path: &Path,
    decode: &DecodeOptions,
    opts: &TranscribeOptions,
    progress: impl FnMut(u8) + 'static,
    stop: Arc<AtomicBool>,
) -> Result<Streamed, StreamError<AudioError>> {
    let decode = DecodeOptions {
        stop: Some(stop.clone()),
        ..decode.clone()
    };
    let source = DecodedAudio::open(path, &decode).map_err(StreamError::Source)?;
    engine.transcribe_stream(source, opts, progress, stop)
}
