//! Shared test setup: the repository's generated test media, real FFmpeg decoding, and the
//! installed Whisper models. Missing prerequisites fail with the command that provides them.

#![allow(dead_code)] // Each test binary uses a different part of this module.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use vidpress_transcribe::ModelStore;

pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .unwrap()
}

/// Generates (once) and returns a file of the test media made by `scripts/make-speech-media.sh`.
pub fn media(name: &str) -> PathBuf {
    static READY: OnceLock<PathBuf> = OnceLock::new();
    let dir = READY.get_or_init(|| {
        let root = repo_root();
        let dir = root.join("target/test-media");
        let status = Command::new("bash")
            .arg(root.join("scripts/make-speech-media.sh"))
            .arg(&dir)
            .status()
            .expect("could not run bash");
        assert!(
            status.success(),
            "scripts/make-speech-media.sh failed (needs espeak-ng and ffmpeg)"
        );
        dir
    });
    dir.join(name)
}

/// Decodes any media file to 16 kHz mono f32 with the ffmpeg command-line tool.
pub fn decode(path: &Path) -> Vec<f32> {
    let out = Command::new("ffmpeg")
        .args(["-nostdin", "-hide_banner", "-loglevel", "error", "-i"])
        .arg(path)
        .args([
            "-map", "0:a:0", "-ac", "1", "-ar", "16000", "-f", "f32le", "-",
        ])
        .output()
        .expect("ffmpeg is not installed (apt-get install ffmpeg)");
    assert!(
        out.status.success(),
        "ffmpeg failed on {}: {}",
        path.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
        .chunks_exact(4)
        .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
        .collect()
}

pub fn models_dir() -> PathBuf {
    std::env::var_os("VIDPRESS_MODELS_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| repo_root().join("models"))
}

/// The Silero VAD model `scripts/install-model.sh` installs.
pub fn vad_model() -> PathBuf {
    ModelStore::new(&models_dir())
        .vad_model()
        .unwrap_or_else(|| {
            panic!(
                "the Silero VAD model is not installed in {}: run `scripts/install-model.sh`",
                models_dir().display()
            )
        })
}

/// The installed model file for `spec` (`base`, `base:f16`…).
pub fn model(spec: &str) -> PathBuf {
    ModelStore::new(&models_dir()).resolve(spec).unwrap_or_else(|e| {
        panic!("{e}\nThe tests need it: run `scripts/install-model.sh` (it installs base into {}).", models_dir().display())
    })
}

/// The CTranslate2 tiny.en directory `scripts/install-model.sh` unpacks.
pub fn ct2_tiny_en() -> PathBuf {
    let dir = repo_root().join("target/test-models/tiny.en-ct2");
    assert!(
        dir.join("model.bin").is_file(),
        "{} is missing: run `scripts/install-model.sh` to fetch the CTranslate2 tiny.en model",
        dir.display()
    );
    dir
}

pub fn script() -> String {
    std::fs::read_to_string(repo_root().join("tests/fixtures/speech-script.txt")).unwrap()
}
