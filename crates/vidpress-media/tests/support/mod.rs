//! Test support: media generated at test time with espeak-ng and the ffmpeg CLI, and a tiny
//! HTTP server on 127.0.0.1 for running the real yt-dlp against.
#![allow(dead_code)] // Each test binary uses a different part of this module.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Length of every generated test file.
pub const CLIP_SECONDS: f64 = 8.0;
/// Where the speech starts in every generated test file.
pub const SPEECH_START: f64 = 1.0;
/// The sentence spoken in the generated files.
pub const SENTENCE: &str = "The quick brown fox jumps over the lazy dog.";

/// Runs a program, failing the test with the command line and its stderr when it fails.
pub fn run(program: &str, args: &[&str]) {
    let output = Command::new(program)
        .args(args)
        .output()
        .unwrap_or_else(|e| {
            panic!(
                "cannot run `{program}` ({e}); the media tests need espeak-ng and the ffmpeg CLI: \
             apt-get install -y espeak-ng ffmpeg (scripts/test.sh installs them)"
            )
        });
    assert!(
        output.status.success(),
        "`{program} {}` failed: {}",
        args.join(" "),
        String::from_utf8_lossy(&output.stderr)
    );
}

fn ffmpeg(args: &[&str]) {
    let mut all = vec!["-hide_banner", "-loglevel", "error", "-nostdin", "-y"];
    all.extend_from_slice(args);
    run("ffmpeg", &all);
}

/// Generated media in a temporary folder.
pub struct Media {
    pub dir: tempfile::TempDir,
    /// The speech's length in seconds (from the espeak-ng WAV header).
    pub speech_seconds: f64,
}

impl Media {
    /// Speaks [`SENTENCE`] with espeak-ng and builds `master.wav`: 8.000 s, 44.1 kHz stereo,
    /// silence until 1.0 s, the speech, then silence.
    pub fn new() -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let speech = dir.path().join("speech.wav");
        run("espeak-ng", &["-w", speech.to_str().unwrap(), SENTENCE]);
        let speech_seconds = wav_seconds(&speech);
        assert!(
            speech_seconds > 1.5 && speech_seconds < 5.0,
            "espeak-ng speech is {speech_seconds} s long"
        );
        let media = Self {
            dir,
            speech_seconds,
        };
        ffmpeg(&[
            "-i",
            speech.to_str().unwrap(),
            "-af",
            "aresample=44100,pan=stereo|c0=c0|c1=c0,adelay=1000|1000,apad,atrim=end=8",
            "-c:a",
            "pcm_s16le",
            media.path("master.wav").to_str().unwrap(),
        ]);
        media
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// Encodes the master with `args` (codec options) into `name`, with a small video track
    /// when `video` is given (an encoder name).
    pub fn encode(&self, name: &str, video: Option<&str>, audio_args: &[&str]) -> PathBuf {
        let out = self.path(name);
        let master = self.path("master.wav");
        let mut args: Vec<&str> = Vec::new();
        if video.is_some() {
            args.extend(["-f", "lavfi", "-i", "color=c=navy:s=64x64:r=10:d=8"]);
        }
        args.extend(["-i", master.to_str().unwrap()]);
        if let Some(codec) = video {
            args.extend([
                "-map", "0:v", "-map", "1:a", "-c:v", codec, "-pix_fmt", "yuv420p",
            ]);
        }
        args.extend_from_slice(audio_args);
        args.extend(["-t", "8", out.to_str().unwrap()]);
        ffmpeg(&args);
        out
    }

    /// An MP4 with H.264 video and no audio.
    pub fn video_without_audio(&self) -> PathBuf {
        let out = self.path("silent-video.mp4");
        ffmpeg(&[
            "-f",
            "lavfi",
            "-i",
            "color=c=navy:s=64x64:r=10:d=3",
            "-c:v",
            "libx264",
            "-pix_fmt",
            "yuv420p",
            out.to_str().unwrap(),
        ]);
        out
    }

    /// A copy of `source` cut to `fraction` of its bytes.
    pub fn truncated(&self, source: &Path, name: &str, fraction: f64) -> PathBuf {
        let bytes = std::fs::read(source).expect("read source");
        let keep = (bytes.len() as f64 * fraction) as usize;
        let out = self.path(name);
        std::fs::write(&out, &bytes[..keep]).expect("write truncated copy");
        out
    }

    /// Writes `contents` to `name`.
    pub fn text(&self, name: &str, contents: &str) -> PathBuf {
        let out = self.path(name);
        std::fs::write(&out, contents).expect("write text file");
        out
    }
}

/// Runs the ffmpeg CLI quietly with `args`.
pub fn ffmpeg_cli(args: &[&str]) {
    ffmpeg(args);
}

/// The duration of a PCM WAV file from its header.
pub fn wav_seconds(path: &Path) -> f64 {
    let bytes = std::fs::read(path).expect("read wav");
    assert_eq!(
        &bytes[0..4],
        b"RIFF",
        "{} is not a WAV file",
        path.display()
    );
    let mut offset = 12;
    let mut byte_rate = 0u32;
    while offset + 8 <= bytes.len() {
        let id = &bytes[offset..offset + 4];
        let size = u32::from_le_bytes(bytes[offset + 4..offset + 8].try_into().unwrap()) as usize;
        let body = offset + 8;
        if id == b"fmt " {
            byte_rate = u32::from_le_bytes(bytes[body + 8..body + 12].try_into().unwrap());
        } else if id == b"data" {
            // espeak-ng may leave the size unset when it streams; the rest of the file is data.
            let size = size.min(bytes.len() - body);
            assert!(byte_rate > 0, "fmt chunk missing");
            return size as f64 / f64::from(byte_rate);
        }
        offset = body + size + (size & 1);
    }
    panic!("{}: no data chunk", path.display());
}

/// Root-mean-square of the samples between two times (seconds, 16 kHz).
pub fn rms(samples: &[f32], from: f64, to: f64) -> f32 {
    let a = ((from * 16_000.0) as usize).min(samples.len());
    let b = ((to * 16_000.0) as usize).min(samples.len());
    if b <= a {
        return 0.0;
    }
    let sum: f64 = samples[a..b]
        .iter()
        .map(|s| f64::from(*s) * f64::from(*s))
        .sum();
    (sum / (b - a) as f64).sqrt() as f32
}

/// The start (seconds) of the first 10 ms window louder than `threshold` RMS.
pub fn onset(samples: &[f32], threshold: f32) -> Option<f64> {
    samples
        .chunks(160)
        .position(|w| {
            let sum: f32 = w.iter().map(|s| s * s).sum();
            (sum / w.len() as f32).sqrt() > threshold
        })
        .map(|i| i as f64 * 0.01)
}

/// The pinned yt-dlp installed by `scripts/python-tools.sh`, or a failed test saying so.
pub fn ytdlp() -> PathBuf {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../.venv/bin/yt-dlp");
    assert!(
        path.is_file(),
        "{} is missing: run scripts/python-tools.sh to install the pinned yt-dlp",
        path.display()
    );
    path
}

/// Whether any running process has `needle` in its command line.
pub fn process_running_with(needle: &str) -> bool {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return false;
    };
    entries.filter_map(Result::ok).any(|entry| {
        let Ok(cmdline) = std::fs::read(entry.path().join("cmdline")) else {
            return false;
        };
        let Ok(status) = std::fs::read_to_string(entry.path().join("status")) else {
            return false;
        };
        // A zombie has exited; it only waits to be reaped.
        let zombie = status
            .lines()
            .any(|l| l.starts_with("State:") && l.contains('Z'));
        !zombie && String::from_utf8_lossy(&cmdline).contains(needle)
    })
}

/// A small HTTP/1.1 server on 127.0.0.1 serving files from a folder, plus special routes:
/// `/hang/…` accepts and never answers; `/slow/NAME` answers 200 with a 50 MB `video/mp4` body
/// sent 4 KiB at a time every 100 ms; `/steady/NAME` sends 64 MB at about 5 MB/s without
/// saying how long the body is.
pub struct Server {
    pub port: u16,
    stop: Arc<AtomicBool>,
    requests: Arc<Mutex<Vec<String>>>,
}

impl Server {
    pub fn start(root: &Path) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind test server");
        let port = listener.local_addr().unwrap().port();
        let stop = Arc::new(AtomicBool::new(false));
        let requests = Arc::new(Mutex::new(Vec::new()));
        let root = root.to_path_buf();
        let (stop2, requests2) = (stop.clone(), requests.clone());
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                if stop2.load(Ordering::SeqCst) {
                    break;
                }
                let Ok(stream) = stream else { continue };
                let (root, stop, requests) = (root.clone(), stop2.clone(), requests2.clone());
                std::thread::spawn(move || serve(stream, &root, &stop, &requests));
            }
        });
        Self {
            port,
            stop,
            requests,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!(
            "http://127.0.0.1:{}/{}",
            self.port,
            path.trim_start_matches('/')
        )
    }

    /// The request lines seen so far, e.g. `GET /clip.mp4 HTTP/1.1`.
    pub fn requests(&self) -> Vec<String> {
        self.requests.lock().unwrap().clone()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        // Wake the accept loop so it sees the flag.
        let _ = TcpStream::connect(("127.0.0.1", self.port));
    }
}

fn serve(stream: TcpStream, root: &Path, stop: &AtomicBool, requests: &Mutex<Vec<String>>) {
    let mut reader = BufReader::new(match stream.try_clone() {
        Ok(s) => s,
        Err(_) => return,
    });
    let mut request_line = String::new();
    if reader.read_line(&mut request_line).is_err() {
        return;
    }
    loop {
        let mut header = String::new();
        match reader.read_line(&mut header) {
            Ok(0) | Err(_) => break,
            Ok(_) if header == "\r\n" || header == "\n" => break,
            Ok(_) => {}
        }
    }
    requests
        .lock()
        .unwrap()
        .push(request_line.trim().to_string());
    let mut parts = request_line.split_whitespace();
    let method = parts.next().unwrap_or("");
    let path = parts
        .next()
        .unwrap_or("/")
        .split('?')
        .next()
        .unwrap_or("/")
        .to_string();
    let mut stream = stream;

    if path.starts_with("/hang/") {
        while !stop.load(Ordering::SeqCst) {
            std::thread::sleep(Duration::from_millis(50));
        }
        return;
    }
    if let Some(location) = path.strip_prefix("/redirect/") {
        // `/redirect/HOST/PATH` answers 302 to `http://HOST/PATH`.
        let head = format!(
            "HTTP/1.1 302 Found\r\nLocation: http://{location}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
        );
        let _ = stream.write_all(head.as_bytes());
        return;
    }
    if path.starts_with("/slow/") {
        let total = 50 * 1024 * 1024;
        let head = format!(
            "HTTP/1.1 200 OK\r\nContent-Type: video/mp4\r\nContent-Length: {total}\r\nConnection: close\r\n\r\n"
        );
        if stream.write_all(head.as_bytes()).is_err() || method == "HEAD" {
            return;
        }
        let block = [0u8; 4096];
        while !stop.load(Ordering::SeqCst) {
            if stream.write_all(&block).is_err() {
                return;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        return;
    }

    if path.starts_with("/steady/") {
        // A body of unannounced length (no Content-Length, ends when the connection closes),
        // 64 MB at about 5 MB/s: yt-dlp cannot know its size before writing it.
        let head = "HTTP/1.1 200 OK\r\nContent-Type: video/mp4\r\nConnection: close\r\n\r\n";
        if stream.write_all(head.as_bytes()).is_err() || method == "HEAD" {
            return;
        }
        let block = vec![0u8; 256 * 1024];
        for _ in 0..256 {
            if stop.load(Ordering::SeqCst) || stream.write_all(&block).is_err() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        return;
    }

    let name = path.trim_start_matches('/');
    let file = root.join(name);
    let body = if !name.is_empty() && !name.contains("..") && file.is_file() {
        std::fs::read(&file).ok()
    } else {
        None
    };
    let response = match body {
        Some(body) => {
            let content_type = match file.extension().and_then(|e| e.to_str()) {
                Some("mp4") => "video/mp4",
                Some("webm") => "video/webm",
                Some("json") => "application/json",
                Some("m3u8") => "application/vnd.apple.mpegurl",
                Some("html") => "text/html; charset=utf-8",
                _ => "application/octet-stream",
            };
            let mut r = format!(
                "HTTP/1.1 200 OK\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                body.len()
            )
            .into_bytes();
            if method != "HEAD" {
                r.extend_from_slice(&body);
            }
            r
        }
        None => {
            let body = "File not found";
            format!(
                "HTTP/1.1 404 File not found\r\nContent-Type: text/plain\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            )
            .into_bytes()
        }
    };
    let _ = stream.write_all(&response);
    let _ = stream.flush();
    // Drain what the client may still send so closing does not reset the connection.
    let _ = stream.set_read_timeout(Some(Duration::from_millis(200)));
    let _ = reader.read(&mut [0u8; 1024]);
}

/// A small tmpfs mounted on a fresh folder, unmounted when dropped: a disk that really fills up.
/// Mounting needs root (or CAP_SYS_ADMIN), as the suite runs in its containers.
pub struct SmallDisk {
    pub dir: tempfile::TempDir,
}

impl SmallDisk {
    pub fn mount(megabytes: u64) -> SmallDisk {
        let dir = tempfile::tempdir().unwrap();
        let out = std::process::Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={megabytes}m"), "tmpfs"])
            .arg(dir.path())
            .output()
            .expect("run mount");
        assert!(
            out.status.success(),
            "mounting a {megabytes} MB tmpfs failed (this test needs root or CAP_SYS_ADMIN): {}",
            String::from_utf8_lossy(&out.stderr)
        );
        SmallDisk { dir }
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// Bytes free on the disk.
    pub fn free(&self) -> u64 {
        let out = std::process::Command::new("df")
            .args(["--output=avail", "-B1"])
            .arg(self.dir.path())
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .nth(1)
            .and_then(|l| l.trim().parse().ok())
            .unwrap()
    }
}

impl Drop for SmallDisk {
    fn drop(&mut self) {
        let _ = std::process::Command::new("umount")
            .arg(self.dir.path())
            .status();
    }
}
