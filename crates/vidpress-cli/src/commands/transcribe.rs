//! `vidpress transcribe FILE|URL`: fetch (for URLs), decode, transcribe with Whisper, and write
//! `NAME.json`, `NAME.srt` and `NAME.vtt`, with progress bars on a terminal.

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::Context;
use indicatif::{ProgressBar, ProgressStyle};
use vidpress_transcribe::models::ModelStore;
use vidpress_transcribe::{Device, Engine, StreamError, TranscribeOptions};

use crate::config::Config;

/// Arguments of `vidpress transcribe`.
#[derive(Debug, clap::Args)]
pub struct TranscribeArgs {
    /// A media file, or the URL of a video to fetch with yt-dlp.
    pub input: String,
    /// Directory to write NAME.json, NAME.srt and NAME.vtt into.
    #[arg(long, default_value = ".", value_name = "DIR")]
    pub out: PathBuf,
    /// Installed model name (`base`, `tiny.en`, `base:f16`…) or a GGML file path
    /// (default: the `model` setting).
    #[arg(long)]
    pub model: Option<String>,
    /// Spoken language code (`en`, `de`…); detected when omitted.
    #[arg(long)]
    pub language: Option<String>,
    /// CPU threads for Whisper (default: the `transcribe_threads` setting, else the cores
    /// idle when transcription starts).
    #[arg(long)]
    pub threads: Option<usize>,
    /// Beam width; 1 decodes greedily (fastest).
    #[arg(long, default_value_t = 1)]
    pub beam_size: usize,
    /// Where Whisper runs: auto, cpu or cuda (default: the `device` setting, auto).
    #[arg(long, value_name = "auto|cpu|cuda")]
    pub device: Option<Device>,
}

fn bar(len: u64, template: &str) -> ProgressBar {
    // indicatif draws nothing when stderr is not a terminal.
    let pb = ProgressBar::new(len);
    if let Ok(style) = ProgressStyle::with_template(template) {
        pb.set_style(style.progress_chars("=> "));
    }
    pb.enable_steady_tick(Duration::from_millis(200));
    pb
}

/// The output name for an input: the file stem, or the URL's last path segment's stem.
fn output_stem(input: &str) -> String {
    let last = match url::Url::parse(input) {
        Ok(u) => u
            .path_segments()
            .and_then(|mut s| s.next_back().map(str::to_owned))
            .unwrap_or_default(),
        Err(_) => Path::new(input)
            .file_name()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default(),
    };
    let stem = Path::new(&last)
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    let clean: String = stem
        .chars()
        .map(|c| {
            if c.is_alphanumeric() || matches!(c, '-' | '_' | '.') {
                c
            } else {
                '_'
            }
        })
        .collect();
    if clean.trim_matches(['_', '.']).is_empty() {
        "transcript".into()
    } else {
        clean
    }
}

/// Runs `vidpress transcribe`.
pub async fn run(config: &Config, args: &TranscribeArgs) -> anyhow::Result<()> {
    // Check the device and find the model first: neither should fail after a download.
    let device = args.device.unwrap_or(config.device);
    device.check_supported()?;
    let model = args.model.as_deref().unwrap_or(&config.model);
    let model_path = ModelStore::new(&config.models_dir).resolve(model)?;
    let stem = output_stem(&args.input);
    let scratch = tempfile::tempdir().context("Failed to create a scratch directory")?;

    let media: PathBuf = if vidpress_media::is_url(&args.input) {
        let pb = bar(100, "fetching   [{bar:40}] {pos:>3}% {msg}");
        let pb2 = pb.clone();
        let path = vidpress_media::fetch(
            &args.input,
            scratch.path(),
            "input",
            &super::serve::fetch_options(config),
            move |p| {
                if let Some(percent) = p.percent {
                    pb2.set_position(percent as u64);
                }
            },
        )
        .await
        .with_context(|| format!("Failed to fetch {}", args.input))?;
        pb.finish_and_clear();
        path
    } else {
        PathBuf::from(&args.input)
    };

    let limits = vidpress_media::DecodeOptions {
        max_duration: Some(super::serve::max_media(config)),
        ..vidpress_media::DecodeOptions::default()
    };
    let opts = TranscribeOptions {
        threads: args.threads.or(config.transcribe_threads),
        beam_size: args.beam_size.max(1),
        language: args.language.clone(),
        vad_model: super::serve::vad_model(&config.models_dir),
        ..TranscribeOptions::default()
    };
    // The audio is decoded as Whisper goes, a window at a time, so memory stays flat whatever
    // the length of the file.
    let pb = bar(100, "transcribing [{bar:40}] {pos:>3}% {elapsed}");
    let pb2 = pb.clone();
    let media2 = media.clone();
    let transcript = tokio::task::spawn_blocking(move || -> anyhow::Result<_> {
        let engine = Engine::load_on(&model_path, device)?;
        let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let streamed = vidpress_worker::audio::transcribe_file(
            &engine,
            &media2,
            &limits,
            &opts,
            move |p| pb2.set_position(u64::from(p)),
            stop,
        );
        match streamed {
            Ok(done) => Ok(done.transcript),
            Err(StreamError::Source(e)) => Err(anyhow::Error::new(e).context(format!(
                "Failed to decode the audio of {}",
                media2.display()
            ))),
            Err(StreamError::Engine(e)) => {
                Err(anyhow::Error::new(e).context("Failed to transcribe"))
            }
        }
    })
    .await
    .context("Failed to run Whisper")??;
    pb.finish_and_clear();

    std::fs::create_dir_all(&args.out)
        .with_context(|| format!("Failed to create {}", args.out.display()))?;
    let json =
        serde_json::to_string_pretty(&transcript).context("Failed to serialise the transcript")?;
    let files = [
        (format!("{stem}.json"), json),
        (
            format!("{stem}.srt"),
            vidpress_publish::captions::to_srt(&transcript),
        ),
        (
            format!("{stem}.vtt"),
            vidpress_publish::captions::to_vtt(&transcript),
        ),
    ];
    for (name, contents) in files {
        let path = args.out.join(name);
        std::fs::write(&path, contents)
            .with_context(|| format!("Failed to write {}", path.display()))?;
        println!("{}", path.display());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn output_names_come_from_the_file_or_url() {
        assert_eq!(output_stem("talks/My Talk.mp4"), "My_Talk");
        assert_eq!(
            output_stem("http://127.0.0.1:8000/media/clip.webm?x=1"),
            "clip"
        );
        assert_eq!(output_stem("https://example.invalid/"), "transcript");
    }
}
