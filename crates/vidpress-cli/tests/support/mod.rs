//! Running the real `vidpress` binary against a fresh data directory, the repository's generated
//! speech media, the installed Whisper model and the pinned yt-dlp. A missing prerequisite fails
//! with the command that provides it.

#![allow(dead_code)] // Each test binary uses a different part of this module.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

pub const TOKEN: &str = "test-token-1234";

/// Polls `check` until it yields a value, and fails naming `what` once `timeout` has passed.
pub async fn eventually<T, F, Fut>(what: &str, timeout: Duration, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(value) = check().await {
            return value;
        }
        assert!(Instant::now() < deadline, "{what} within {timeout:?}");
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .unwrap()
}

pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// The speech media made by `scripts/make-speech-media.sh` (generated on first use).
pub fn media(name: &str) -> PathBuf {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    let dir = DIR.get_or_init(|| {
        let dir = repo_root().join("target/test-media");
        let status = Command::new("bash")
            .arg(repo_root().join("scripts/make-speech-media.sh"))
            .arg(&dir)
            .status()
            .expect("run bash");
        assert!(
            status.success(),
            "scripts/make-speech-media.sh failed (needs espeak-ng and ffmpeg)"
        );
        dir
    });
    dir.join(name)
}

/// The words of the script the speech media reads, lower-cased, punctuation stripped.
pub fn script_words() -> Vec<String> {
    let text =
        std::fs::read_to_string(repo_root().join("tests/fixtures/speech-script.txt")).unwrap();
    words(&text)
}

pub fn words(text: &str) -> Vec<String> {
    text.split(|c: char| !c.is_alphanumeric() && c != '\'')
        .filter(|w| !w.is_empty())
        .map(str::to_lowercase)
        .collect()
}

fn models_dir() -> PathBuf {
    let dir = repo_root().join("models");
    assert!(
        dir.join("models.json").exists(),
        "no Whisper model in {}: run `bash scripts/install-model.sh` (scripts/test.sh does)",
        dir.display()
    );
    dir
}

fn ytdlp() -> PathBuf {
    let path = repo_root().join(".venv/bin/yt-dlp");
    assert!(
        path.exists(),
        "yt-dlp is missing: run `bash scripts/python-tools.sh` (scripts/test.sh does)"
    );
    path
}

/// A data directory and the environment every `vidpress` process of one test shares.
pub struct Instance {
    pub dir: tempfile::TempDir,
    pub port: u16,
    pub database_url: String,
    /// The PostgreSQL database of [`Instance::postgres`], dropped with the instance.
    pub db: Option<vidpress_store::testing::TestDb>,
}

impl Instance {
    pub fn new() -> Instance {
        let dir = tempfile::tempdir().unwrap();
        let database_url = format!("sqlite://{}/vidpress.db", dir.path().display());
        Instance {
            dir,
            port: free_port(),
            database_url,
            db: None,
        }
    }

    /// An instance on a fresh database of the PostgreSQL server tests use (the scale-out setup).
    pub async fn postgres() -> Instance {
        let db = vidpress_store::testing::TestDb::postgres().await;
        Instance {
            dir: tempfile::tempdir().unwrap(),
            port: free_port(),
            database_url: db.url.clone(),
            db: Some(db),
        }
    }

    /// The instance's database, as the test sees it (PostgreSQL instances only).
    pub fn store(&self) -> &vidpress_store::Store {
        &self.db.as_ref().expect("a PostgreSQL instance").store
    }

    pub fn base(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    pub fn command(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_vidpress"));
        cmd.args(args)
            .current_dir(self.dir.path())
            .env_remove("VIDPRESS_CONFIG")
            .env("RUST_LOG", "info")
            .env("VIDPRESS_LISTEN", format!("127.0.0.1:{}", self.port))
            .env("VIDPRESS_DATABASE_URL", &self.database_url)
            .env("VIDPRESS_DATA_DIR", self.dir.path().join("data"))
            .env("VIDPRESS_MODELS_DIR", models_dir())
            .env("VIDPRESS_YTDLP", ytdlp())
            .env("VIDPRESS_API_TOKEN", TOKEN)
            // The tests serve their videos from 127.0.0.1 as plain files.
            .env("VIDPRESS_VIDEO_EXTRACTORS", "default")
            .env("VIDPRESS_ALLOW_PRIVATE_ADDRESSES", "true")
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        cmd
    }

    /// Starts `vidpress ARGS` and waits for `/healthz` when it serves HTTP.
    pub async fn start(&self, args: &[&str], envs: &[(&str, &str)]) -> Proc {
        let mut cmd = self.command(args);
        cmd.envs(envs.iter().copied());
        let mut child = cmd.spawn().unwrap();
        if args.first() == Some(&"serve") {
            let healthz = format!("{}/healthz", self.base());
            eventually("vidpress came up", Duration::from_secs(30), || {
                assert!(child.try_wait().unwrap().is_none(), "vidpress exited early");
                let healthz = healthz.clone();
                async move { reqwest::get(healthz).await.ok().map(drop) }
            })
            .await;
        }
        Proc(child)
    }

    /// Scratch entries left in the data directory's work space (uploads included).
    pub fn scratch_entries(&self) -> Vec<PathBuf> {
        let work = self.dir.path().join("data/work");
        let mut found = Vec::new();
        let mut stack = vec![work];
        while let Some(dir) = stack.pop() {
            for entry in std::fs::read_dir(&dir).into_iter().flatten().flatten() {
                let path = entry.path();
                if path.is_dir() {
                    stack.push(path.clone());
                    if path.file_name().is_some_and(|n| n != "uploads") {
                        found.push(path);
                    }
                } else {
                    found.push(path);
                }
            }
        }
        found
    }
}

/// A `vidpress` process, killed when the test ends however it ends.
pub struct Proc(pub Child);

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// The JSON API, as a client sees it.
pub struct Api {
    pub base: String,
    client: reqwest::Client,
}

impl Api {
    pub fn new(base: &str) -> Api {
        Api {
            base: base.to_owned(),
            client: reqwest::Client::new(),
        }
    }

    pub async fn submit_url(&self, url: &str) -> i64 {
        let resp = self
            .client
            .post(format!("{}/api/videos", self.base))
            .bearer_auth(TOKEN)
            .json(&serde_json::json!({ "url": url, "title": "The baker" }))
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 202, "{}", resp.text().await.unwrap());
        resp.json::<serde_json::Value>().await.unwrap()["video_id"]
            .as_i64()
            .unwrap()
    }

    /// Submits a video URL without a title, as a person pasting a link does.
    pub async fn submit_untitled_url(&self, url: &str) -> i64 {
        let resp = self
            .client
            .post(format!("{}/api/videos", self.base))
            .bearer_auth(TOKEN)
            .json(&serde_json::json!({ "url": url }))
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 202, "{}", resp.text().await.unwrap());
        resp.json::<serde_json::Value>().await.unwrap()["video_id"]
            .as_i64()
            .unwrap()
    }

    pub async fn upload(&self, path: &Path) -> i64 {
        let bytes = std::fs::read(path).unwrap();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        let form = reqwest::multipart::Form::new().part(
            "file",
            reqwest::multipart::Part::bytes(bytes).file_name(name),
        );
        let resp = self
            .client
            .post(format!("{}/api/uploads", self.base))
            .bearer_auth(TOKEN)
            .multipart(form)
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 202, "{}", resp.text().await.unwrap());
        resp.json::<serde_json::Value>().await.unwrap()["video_id"]
            .as_i64()
            .unwrap()
    }

    pub async fn status(&self, id: i64) -> serde_json::Value {
        let resp = self
            .client
            .get(format!("{}/api/videos/{id}", self.base))
            .bearer_auth(TOKEN)
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 200);
        resp.json().await.unwrap()
    }

    /// The picture at an address the API gave (`header_image_url`), decoded.
    pub async fn image(&self, url: &serde_json::Value) -> image::DynamicImage {
        let url = url
            .as_str()
            .unwrap_or_else(|| panic!("no image address: {url}"));
        let resp = self
            .client
            .get(format!("{}{url}", self.base))
            .bearer_auth(TOKEN)
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 200, "GET {url}");
        assert_eq!(resp.headers()["content-type"], "image/jpeg");
        image::load_from_memory(&resp.bytes().await.unwrap()).unwrap()
    }

    pub async fn cancel(&self, id: i64) -> u16 {
        self.client
            .post(format!("{}/api/videos/{id}/cancel", self.base))
            .bearer_auth(TOKEN)
            .send()
            .await
            .unwrap()
            .status()
            .as_u16()
    }

    /// Follows a video as a person watching the dashboard would, until `done` holds (10 min max).
    pub async fn wait_for(
        &self,
        id: i64,
        what: &str,
        done: impl Fn(&serde_json::Value) -> bool,
    ) -> serde_json::Value {
        let deadline = Instant::now() + Duration::from_secs(600);
        loop {
            let status = self.status(id).await;
            if done(&status) {
                return status;
            }
            assert!(
                Instant::now() < deadline,
                "video {id} never reached {what}: {status:#}"
            );
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
    }

    pub async fn wait_until_finished(&self, id: i64) -> serde_json::Value {
        self.wait_for(id, "a final state", |s| {
            matches!(s["state"].as_str(), Some("ready" | "failed" | "cancelled"))
        })
        .await
    }
}

/// Serves a directory over HTTP on 127.0.0.1 with Python's http.server, as a media host.
pub struct FileServer {
    child: Child,
    pub port: u16,
}

impl FileServer {
    pub async fn start(root: &Path) -> FileServer {
        let port = free_port();
        let child = Command::new("python3")
            .args([
                "-m",
                "http.server",
                "--bind",
                "127.0.0.1",
                &port.to_string(),
            ])
            .current_dir(root)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("python3 is installed");
        let root_url = format!("http://127.0.0.1:{port}/");
        eventually("the media server started", Duration::from_secs(10), || {
            let root_url = root_url.clone();
            async move { reqwest::get(root_url).await.ok().map(drop) }
        })
        .await;
        FileServer { child, port }
    }

    pub fn url(&self, name: &str) -> String {
        format!("http://127.0.0.1:{}/{name}", self.port)
    }
}

impl Drop for FileServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub fn signal(child: &Proc, sig: &str) {
    let status = Command::new("kill")
        .args([sig, &child.0.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
}

/// The share of `expected` words found in `text` (a bag-of-words recall).
pub fn recall(expected: &[String], text: &str) -> f64 {
    let mut have: std::collections::HashMap<String, usize> = std::collections::HashMap::new();
    for w in words(text) {
        *have.entry(w).or_default() += 1;
    }
    let mut hit = 0;
    for w in expected {
        if let Some(n) = have.get_mut(w).filter(|n| **n > 0) {
            *n -= 1;
            hit += 1;
        }
    }
    hit as f64 / expected.len() as f64
}
