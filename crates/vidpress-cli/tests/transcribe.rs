//! Black-box tests of `vidpress transcribe` and `vidpress models`: the real binary, FFmpeg,
//! yt-dlp (against a file served on 127.0.0.1) and Whisper base installed by
//! `scripts/install-model.sh`.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use vidpress_core::Transcript;
use vidpress_transcribe::wer::wer;

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .unwrap()
}

fn models_dir() -> PathBuf {
    std::env::var_os("VIDPRESS_MODELS_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| repo_root().join("models"))
}

fn vidpress(models: &Path) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_vidpress"));
    cmd.env_remove("VIDPRESS_CONFIG")
        .env("VIDPRESS_MODELS_DIR", models)
        .env("RUST_LOG", "warn")
        // The URL test serves its video from 127.0.0.1 as a plain file.
        .env("VIDPRESS_VIDEO_EXTRACTORS", "default")
        .env("VIDPRESS_ALLOW_PRIVATE_ADDRESSES", "true")
        .current_dir(repo_root());
    cmd
}

fn run(cmd: &mut Command) -> Output {
    let out = cmd.output().expect("could not run vidpress");
    eprintln!("{}", String::from_utf8_lossy(&out.stderr));
    out
}

fn media(name: &str) -> PathBuf {
    let dir = repo_root().join("target/test-media");
    let ok = Command::new("bash")
        .arg(repo_root().join("scripts/make-speech-media.sh"))
        .arg(&dir)
        .status()
        .unwrap()
        .success();
    assert!(ok, "scripts/make-speech-media.sh failed");
    dir.join(name)
}

fn require_base() {
    let out = run(vidpress(&models_dir()).args(["models", "list"]));
    let list = String::from_utf8_lossy(&out.stdout);
    assert!(
        list.lines().any(|l| l.starts_with("  base ")),
        "the Whisper base model is not installed in {}: run `scripts/install-model.sh`\n{list}",
        models_dir().display()
    );
}

fn check_outputs(dir: &Path, stem: &str) {
    let json = std::fs::read_to_string(dir.join(format!("{stem}.json"))).unwrap();
    let t: Transcript = serde_json::from_str(&json).unwrap();
    let script =
        std::fs::read_to_string(repo_root().join("tests/fixtures/speech-script.txt")).unwrap();
    let e = wer(&script, &t.text());
    assert!(e <= 0.15, "WER {e:.3}: {}", t.text());
    assert!(
        t.segments().iter().all(|s| !s.words.is_empty()),
        "segments without word times"
    );
    let srt = std::fs::read_to_string(dir.join(format!("{stem}.srt"))).unwrap();
    assert!(srt.starts_with("1\n00:00:"), "{srt}");
    assert!(srt.contains(" --> "));
    let vtt = std::fs::read_to_string(dir.join(format!("{stem}.vtt"))).unwrap();
    assert!(vtt.starts_with("WEBVTT\nLanguage: en\n\n"), "{vtt}");
    assert_eq!(srt.matches(" --> ").count(), vtt.matches(" --> ").count());
}

#[test]
fn transcribes_a_local_video_into_json_srt_and_vtt() {
    require_base();
    let out_dir = tempfile::tempdir().unwrap();
    let out = run(vidpress(&models_dir())
        .arg("transcribe")
        .arg(media("speech.mkv"))
        .arg("--out")
        .arg(out_dir.path()));
    assert!(out.status.success());
    check_outputs(out_dir.path(), "speech");
}

struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn serve(dir: &Path) -> (Server, u16) {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let child = Command::new("python3")
        .args([
            "-m",
            "http.server",
            "--bind",
            "127.0.0.1",
            &port.to_string(),
        ])
        .current_dir(dir)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let server = Server(child);
    let deadline = Instant::now() + Duration::from_secs(10);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "http.server did not start");
        std::thread::sleep(Duration::from_millis(50));
    }
    (server, port)
}

#[test]
fn transcribes_a_url_fetched_with_yt_dlp() {
    require_base();
    assert!(
        repo_root().join(".venv/bin/yt-dlp").is_file(),
        "yt-dlp is missing: run `scripts/python-tools.sh`"
    );
    let served = tempfile::tempdir().unwrap();
    std::fs::copy(media("speech.webm"), served.path().join("talk.webm")).unwrap();
    let (_server, port) = serve(served.path());
    let out_dir = tempfile::tempdir().unwrap();
    let out = run(vidpress(&models_dir())
        .arg("transcribe")
        .arg(format!("http://127.0.0.1:{port}/talk.webm"))
        .arg("--out")
        .arg(out_dir.path()));
    assert!(out.status.success());
    check_outputs(out_dir.path(), "talk");
}

#[test]
fn a_missing_model_names_the_install_command_and_list_shows_the_default() {
    let empty = tempfile::tempdir().unwrap();
    let out = run(vidpress(empty.path()).args(["transcribe", "whatever.mp4"]));
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("`vidpress models install base`"), "{err}");
    let out = run(vidpress(empty.path()).args(["models", "list"]));
    assert!(out.status.success());
    let list = String::from_utf8_lossy(&out.stdout);
    assert!(
        list.contains("default model: base (not installed)"),
        "{list}"
    );
    assert!(
        list.contains("available to install: base, tiny.en"),
        "{list}"
    );
}

#[test]
fn transcribe_takes_its_model_and_yt_dlp_from_the_configuration_file() {
    require_base();
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("vidpress.toml");
    // The model named by the file, not the default `base`.
    std::fs::write(&config, "model = \"no-such-model\"\n").unwrap();
    let out = run(vidpress(&models_dir())
        .arg("--config")
        .arg(&config)
        .args(["transcribe", "whatever.mp4"]));
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("no-such-model"), "{err}");

    // The yt-dlp named by the file, with the file's fetch timeout.
    std::fs::write(
        &config,
        "ytdlp = \"/nonexistent/yt-dlp-from-the-file\"\nfetch_timeout_seconds = 5\n\
         transcribe_threads = 1\n",
    )
    .unwrap();
    let out = run(vidpress(&models_dir())
        .arg("--config")
        .arg(&config)
        .args(["transcribe", "http://127.0.0.1:9/talk.webm", "--out"])
        .arg(dir.path()));
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("/nonexistent/yt-dlp-from-the-file"), "{err}");
}

#[test]
fn ggml_files_import_by_path_and_url_only_with_the_right_checksum() {
    require_base();
    let models = tempfile::tempdir().unwrap();
    let base = vidpress_transcribe::ModelStore::new(&models_dir())
        .resolve("base")
        .unwrap();
    let sha = vidpress_transcribe::models::sha256_file(&base).unwrap();
    let served = tempfile::tempdir().unwrap();
    std::fs::copy(&base, served.path().join("ggml-mine.bin")).unwrap();
    let (_server, port) = serve(served.path());
    let url = format!("http://127.0.0.1:{port}/ggml-mine.bin");

    let out = run(vidpress(models.path()).args(["models", "import", &url]));
    assert!(!out.status.success(), "a URL without --sha256 was accepted");
    let wrong = "0".repeat(64);
    let out = run(vidpress(models.path()).args(["models", "import", &url, "--sha256", &wrong]));
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("SHA-256 mismatch"));
    let out = run(vidpress(models.path()).args(["models", "import", &url, "--sha256", &sha]));
    assert!(out.status.success());
    let out = run(vidpress(models.path()).args(["models", "list"]));
    let list = String::from_utf8_lossy(&out.stdout);
    assert!(list.contains("  mine ("), "{list}");

    let not_a_model = served.path().join("notes.bin");
    std::fs::write(&not_a_model, "hello").unwrap();
    let out = run(vidpress(models.path())
        .arg("models")
        .arg("import")
        .arg(&not_a_model));
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("not a whisper.cpp GGML model"));
}

#[test]
fn list_marks_only_the_weights_the_default_model_runs_with() {
    let ct2 = repo_root().join("target/test-models/tiny.en-ct2");
    assert!(
        ct2.join("model.bin").is_file(),
        "{} is missing: run scripts/install-model.sh",
        ct2.display()
    );
    let models = tempfile::tempdir().unwrap();
    let ct2 = ct2.to_str().unwrap();
    for weights in ["f16", "q8_0"] {
        let out = run(vidpress(models.path()).args([
            "models",
            "import",
            ct2,
            "--name",
            "base",
            "--weights",
            weights,
        ]));
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let out = run(vidpress(models.path()).args(["models", "list"]));
    let list = String::from_utf8_lossy(&out.stdout);
    let defaults: Vec<&str> = list.lines().filter(|l| l.contains("(default)")).collect();
    assert_eq!(defaults.len(), 1, "{list}");
    assert!(defaults[0].contains("(q8_0,"), "{list}");
}
