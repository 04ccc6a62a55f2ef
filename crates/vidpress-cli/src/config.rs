//! Configuration: built-in defaults, overridden by a TOML file, overridden by `VIDPRESS_…`
//! environment variables. Every value is parsed here, so a bad one stops startup with a message
//! naming the key, where it came from, and what is wrong.

use std::collections::{BTreeSet, HashMap};
use std::fmt::Display;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use anyhow::{Context, bail};
use url::Url;

/// The file read when `--config` is not given, if it exists.
pub const DEFAULT_CONFIG_FILE: &str = "vidpress.toml";

/// How log lines are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    /// Human-readable lines.
    Text,
    /// One JSON object per line, for log collectors.
    Json,
}

impl FromStr for LogFormat {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "text" => Ok(LogFormat::Text),
            "json" => Ok(LogFormat::Json),
            other => Err(format!("expected `text` or `json`, got `{other}`")),
        }
    }
}

/// Every setting, with defaults applied. `Debug` hides the API token and the database
/// password.
#[derive(Clone)]
pub struct Config {
    /// Address the web server listens on.
    pub listen: SocketAddr,
    /// `sqlite://PATH` (default: under `data_dir`) or `postgres://USER@HOST/DB`.
    pub database_url: String,
    /// Where the SQLite database and scratch media live.
    pub data_dir: PathBuf,
    /// Where Whisper (and later image) model files live.
    pub models_dir: PathBuf,
    /// Where the Hunspell dictionaries drafts are spell-checked with live.
    pub dictionaries_dir: PathBuf,
    /// Most jobs one worker process runs at once.
    pub worker_concurrency: usize,
    /// Most transcription jobs one worker process runs at once.
    pub transcribe_concurrency: usize,
    /// Seconds a claimed job stays leased without renewal.
    pub job_lease_seconds: u64,
    /// Seconds shutdown waits for running jobs before handing them back.
    pub shutdown_grace_seconds: u64,
    /// `text` or `json`.
    pub log_format: LogFormat,
    /// The Whisper model the pipeline uses (`base`, `tiny.en`, `base:f16`, or a file path).
    pub model: String,
    /// Whisper's CPU threads; `None` (the default) uses the cores idle when each
    /// transcription starts.
    pub transcribe_threads: Option<usize>,
    /// Where Whisper runs: `auto` (the GPU in a CUDA build when there is one), `cpu` or `cuda`.
    pub device: vidpress_transcribe::Device,
    /// The yt-dlp program.
    pub ytdlp: PathBuf,
    /// The longest one download may take, in seconds.
    pub fetch_timeout_seconds: u64,
    /// Most attempts of a pipeline step before the video is marked failed.
    pub job_max_attempts: u32,
    /// Bearer token for the JSON API; unset turns the API off.
    pub api_token: Option<String>,
    /// The account that the command line and the API token act for.
    pub owner_email: String,
    /// The largest upload accepted, in megabytes.
    pub max_upload_mb: usize,
    /// Whether people may create their own dashboard accounts (the first account is the admin's).
    pub allow_signup: bool,
    /// The address the WebSub hub reaches this server at; callbacks are
    /// `<public_url>/websub/<token>`. Default: `http://<listen>/`, which only a hub on the same
    /// machine can reach.
    pub public_url: Url,
    /// The WebSub hub subscriptions are made with.
    pub websub_hub_url: Url,
    /// Where YouTube's channel pages and feeds are read.
    pub youtube_base_url: Url,
    /// The subscription lease asked of the hub, in seconds (renewed at 80 %).
    pub websub_lease_seconds: u64,
    /// Seconds between two polls of a linked channel's feed, the backstop for missed pushes.
    pub feed_poll_seconds: u64,
    /// The longest video or upload transcribed, in minutes (yt-dlp's filter and the decoder).
    pub max_media_minutes: u64,
    /// The largest download, in megabytes (yt-dlp's `--max-filesize`).
    pub max_download_mb: u64,
    /// Megabytes that must stay free on the data disk; a download with less fails first.
    pub min_free_disk_mb: u64,
    /// yt-dlp's extractors for video URLs, comma-separated: `youtube` (the default) or e.g.
    /// `default` for every site yt-dlp knows.
    pub video_extractors: String,
    /// Whether video URLs and export connections may point at loopback, private or link-local
    /// addresses (metadata addresses never).
    pub allow_private_addresses: bool,
    /// The key export connections' secrets are sealed with (64 hex digits); unset, a key is
    /// generated once into `data_dir/secret.key` (owner-only) and reused. Never shown in `Debug`.
    pub secret_key: Option<vidpress_publish::SecretKey>,
    /// Seconds a client may take to send a request's headers.
    pub http_header_timeout_seconds: u64,
    /// Seconds a request may take to be answered, and the longest pause in a request body.
    pub http_request_timeout_seconds: u64,
    /// Most HTTP connections served at once; more wait to be accepted.
    pub http_max_connections: usize,
    /// The job kinds this process's worker pool takes (`serve` and `worker`); empty means
    /// every kind. A GPU worker takes `["transcribe", "illustrate"]`, CPU workers the rest.
    pub worker_kinds: Vec<vidpress_core::JobKind>,
    /// Seconds between two heartbeats of a worker pool; one that misses three shows as gone.
    pub worker_heartbeat_seconds: u64,
    /// Bearer token that `/metrics` on the public listener requires; unset, the public
    /// listener has no `/metrics`. Never shown in `Debug`.
    pub metrics_token: Option<String>,
    /// A separate address that serves only `/metrics` (e.g. `127.0.0.1:9464`), for web nodes
    /// and `vidpress worker` processes alike; unset, none.
    pub metrics_listen: Option<SocketAddr>,
    /// The diffusion model header images are drawn with: a folder name under `models_dir`
    /// (default `sd-turbo`), a path, or `off`. Without its files, headers come from the video.
    pub diffusion_model: String,
    /// Seconds a worker keeps the diffusion model in memory after its last picture.
    pub diffusion_idle_seconds: u64,
    /// Steps per picture; unset, the model's default (1 for turbo models, else 25).
    pub diffusion_steps: Option<usize>,
    /// Classifier-free guidance scale; unset, the model's default (0 for turbo models, else 7.5).
    pub diffusion_guidance: Option<f64>,
    /// `auto` (the small `taesd/` decoder when the model folder has one), `full` or `tiny`.
    pub diffusion_decoder: vidpress_imagegen::diffusion::DecoderChoice,
}

/// `auto`, `full` or `tiny`.
#[derive(Debug, Clone, Copy)]
struct Decoder(vidpress_imagegen::diffusion::DecoderChoice);

impl FromStr for Decoder {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        vidpress_imagegen::diffusion::DecoderChoice::parse(s)
            .map(Decoder)
            .ok_or_else(|| format!("expected auto, full or tiny, got `{s}`"))
    }
}

impl std::fmt::Debug for Config {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Config")
            .field("listen", &self.listen)
            .field(
                "database_url",
                &vidpress_store::redact_url(&self.database_url),
            )
            .field("data_dir", &self.data_dir)
            .field("models_dir", &self.models_dir)
            .field("dictionaries_dir", &self.dictionaries_dir)
            .field("worker_concurrency", &self.worker_concurrency)
            .field("transcribe_concurrency", &self.transcribe_concurrency)
            .field("job_lease_seconds", &self.job_lease_seconds)
            .field("shutdown_grace_seconds", &self.shutdown_grace_seconds)
            .field("log_format", &self.log_format)
            .field("model", &self.model)
            .field("transcribe_threads", &self.transcribe_threads)
            .field("device", &self.device)
            .field("ytdlp", &self.ytdlp)
            .field("fetch_timeout_seconds", &self.fetch_timeout_seconds)
            .field("job_max_attempts", &self.job_max_attempts)
            .field("api_token", &self.api_token.as_ref().map(|_| "***"))
            .field("owner_email", &self.owner_email)
            .field("max_upload_mb", &self.max_upload_mb)
            .field("allow_signup", &self.allow_signup)
            .field("public_url", &self.public_url)
            .field("websub_hub_url", &self.websub_hub_url)
            .field("youtube_base_url", &self.youtube_base_url)
            .field("websub_lease_seconds", &self.websub_lease_seconds)
            .field("feed_poll_seconds", &self.feed_poll_seconds)
            .field("max_media_minutes", &self.max_media_minutes)
            .field("max_download_mb", &self.max_download_mb)
            .field("min_free_disk_mb", &self.min_free_disk_mb)
            .field("video_extractors", &self.video_extractors)
            .field("allow_private_addresses", &self.allow_private_addresses)
            .field("secret_key", &self.secret_key.as_ref().map(|_| "***"))
            .field(
                "http_header_timeout_seconds",
                &self.http_header_timeout_seconds,
            )
            .field(
                "http_request_timeout_seconds",
                &self.http_request_timeout_seconds,
            )
            .field("http_max_connections", &self.http_max_connections)
            .field("worker_kinds", &self.worker_kinds)
            .field("worker_heartbeat_seconds", &self.worker_heartbeat_seconds)
            .field("metrics_token", &self.metrics_token.as_ref().map(|_| "***"))
            .field("metrics_listen", &self.metrics_listen)
            .field("diffusion_model", &self.diffusion_model)
            .field("diffusion_idle_seconds", &self.diffusion_idle_seconds)
            .field("diffusion_steps", &self.diffusion_steps)
            .field("diffusion_guidance", &self.diffusion_guidance)
            .field("diffusion_decoder", &self.diffusion_decoder)
            .finish()
    }
}

/// YouTube's hub.
pub const DEFAULT_WEBSUB_HUB_URL: &str = "https://pubsubhubbub.appspot.com/subscribe";

/// One place values come from: a parsed TOML file and the environment.
struct Sources {
    file: Option<(PathBuf, toml::Table)>,
    env: HashMap<String, String>,
    asked: BTreeSet<&'static str>,
}

impl Sources {
    /// The value of `key`: from `VIDPRESS_<KEY>` if set, else from the file, else `None`.
    fn get<T>(&mut self, key: &'static str) -> anyhow::Result<Option<T>>
    where
        T: FromStr,
        T::Err: Display,
    {
        self.asked.insert(key);
        let var = format!("VIDPRESS_{}", key.to_ascii_uppercase());
        let (raw, origin) = if let Some(v) = self.env.get(&var) {
            (v.clone(), format!("environment variable {var}"))
        } else if let Some(v) = self
            .file
            .as_ref()
            .and_then(|(path, t)| t.get(key).map(|v| (path, v)))
        {
            let raw = match v.1 {
                toml::Value::String(s) => s.clone(),
                // A list of names (`worker_kinds = ["transcribe", "illustrate"]`) reads like the
                // environment's comma-separated form.
                toml::Value::Array(items) if items.iter().all(toml::Value::is_str) => items
                    .iter()
                    .filter_map(toml::Value::as_str)
                    .collect::<Vec<_>>()
                    .join(","),
                toml::Value::Integer(_) | toml::Value::Float(_) | toml::Value::Boolean(_) => {
                    v.1.to_string()
                }
                other => bail!(
                    "invalid configuration: `{key}` in {} must be a string or number, not {}",
                    v.0.display(),
                    other.type_str()
                ),
            };
            (raw, format!("{}", v.0.display()))
        } else {
            return Ok(None);
        };
        raw.trim().parse::<T>().map(Some).map_err(|e| {
            // A secret is never echoed, not even a malformed one.
            let shown = if key == "secret_key" || key == "metrics_token" {
                "(hidden)".to_owned()
            } else {
                format!("{raw:?}")
            };
            anyhow::anyhow!("invalid configuration: `{key}` = {shown} (from {origin}): {e}")
        })
    }

    fn reject_unknown_file_keys(&self) -> anyhow::Result<()> {
        if let Some((path, table)) = &self.file {
            let unknown: Vec<&String> = table
                .keys()
                .filter(|k| !self.asked.contains(k.as_str()))
                .collect();
            if !unknown.is_empty() {
                let known: Vec<&str> = self.asked.iter().copied().collect();
                bail!(
                    "invalid configuration: unknown key(s) {unknown:?} in {} (known keys: {})",
                    path.display(),
                    known.join(", ")
                );
            }
        }
        Ok(())
    }
}

/// A count that must be at least one.
#[derive(Debug, Clone, Copy)]
struct Positive(usize);

impl FromStr for Positive {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s.parse::<usize>() {
            Ok(0) => Err("must be at least 1".into()),
            Ok(n) => Ok(Positive(n)),
            Err(e) => Err(e.to_string()),
        }
    }
}

/// Job kinds by name, comma-separated (`transcribe,illustrate`); empty means every kind.
#[derive(Debug, Clone, Default)]
pub struct KindList(pub Vec<vidpress_core::JobKind>);

impl FromStr for KindList {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let mut kinds = Vec::new();
        for name in s.split(',').map(str::trim).filter(|n| !n.is_empty()) {
            let kind = vidpress_core::JobKind::parse(name).map_err(|e| {
                let known: Vec<&str> = vidpress_core::JobKind::ALL
                    .iter()
                    .map(|k| k.as_str())
                    .collect();
                format!("{e} (known kinds: {})", known.join(", "))
            })?;
            if !kinds.contains(&kind) {
                kinds.push(kind);
            }
        }
        Ok(KindList(kinds))
    }
}

/// An `http://` or `https://` URL.
#[derive(Debug, Clone)]
struct HttpUrl(Url);

impl FromStr for HttpUrl {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let url = Url::parse(s).map_err(|e| e.to_string())?;
        match url.scheme() {
            "http" | "https" if url.host().is_some() => Ok(HttpUrl(url)),
            "http" | "https" => Err("the URL has no host".into()),
            other => Err(format!(
                "expected an http:// or https:// URL, not {other}://"
            )),
        }
    }
}

impl Config {
    /// Loads the configuration from `file` (or `vidpress.toml` when present) and the process
    /// environment.
    pub fn load(file: Option<&Path>) -> anyhow::Result<Config> {
        Self::load_from(file, std::env::vars().collect())
    }

    /// Loads the configuration from a file and an explicit environment.
    pub fn load_from(file: Option<&Path>, env: HashMap<String, String>) -> anyhow::Result<Config> {
        let path = match file {
            Some(p) => Some(p.to_path_buf()),
            None => Some(PathBuf::from(DEFAULT_CONFIG_FILE)).filter(|p| p.exists()),
        };
        let file = match path {
            Some(path) => {
                let text = std::fs::read_to_string(&path).with_context(|| {
                    format!("Failed to read the configuration file {}", path.display())
                })?;
                let table: toml::Table = text
                    .parse()
                    .with_context(|| format!("invalid configuration file {}", path.display()))?;
                Some((path, table))
            }
            None => None,
        };
        let mut src = Sources {
            file,
            env,
            asked: BTreeSet::new(),
        };
        let data_dir: PathBuf = src
            .get("data_dir")?
            .unwrap_or_else(|| PathBuf::from("data"));
        let default_db = format!("sqlite://{}", data_dir.join("vidpress.db").display());
        let listen = src
            .get("listen")?
            .unwrap_or_else(|| SocketAddr::from(([127, 0, 0, 1], 8080)));
        let config = Config {
            database_url: src.get("database_url")?.unwrap_or(default_db),
            models_dir: src
                .get("models_dir")?
                .unwrap_or_else(|| PathBuf::from("models")),
            dictionaries_dir: src
                .get("dictionaries_dir")?
                .unwrap_or_else(|| PathBuf::from("/usr/share/hunspell")),
            worker_concurrency: src
                .get::<Positive>("worker_concurrency")?
                .map_or(4, |p| p.0),
            transcribe_concurrency: src
                .get::<Positive>("transcribe_concurrency")?
                .map_or(1, |p| p.0),
            job_lease_seconds: src
                .get::<Positive>("job_lease_seconds")?
                .map_or(60, |p| p.0 as u64),
            shutdown_grace_seconds: src.get("shutdown_grace_seconds")?.unwrap_or(30),
            log_format: src.get("log_format")?.unwrap_or(LogFormat::Text),
            model: src.get("model")?.unwrap_or_else(|| "base".to_owned()),
            transcribe_threads: src.get::<Positive>("transcribe_threads")?.map(|p| p.0),
            device: src.get("device")?.unwrap_or_default(),
            ytdlp: src
                .get("ytdlp")?
                .unwrap_or_else(vidpress_media::default_ytdlp),
            fetch_timeout_seconds: src
                .get::<Positive>("fetch_timeout_seconds")?
                .map_or(3600, |p| p.0 as u64),
            job_max_attempts: src
                .get::<Positive>("job_max_attempts")?
                .map_or(5, |p| p.0 as u32),
            api_token: src.get::<String>("api_token")?.filter(|t| !t.is_empty()),
            owner_email: src
                .get("owner_email")?
                .unwrap_or_else(|| "owner@localhost".to_owned()),
            max_upload_mb: src.get::<Positive>("max_upload_mb")?.map_or(4096, |p| p.0),
            allow_signup: src.get("allow_signup")?.unwrap_or(false),
            public_url: match src.get::<HttpUrl>("public_url")? {
                Some(url) => url.0,
                None => Url::parse(&format!("http://{listen}/"))
                    .context("the listen address does not make a URL")?,
            },
            websub_hub_url: src.get::<HttpUrl>("websub_hub_url")?.map_or_else(
                || Url::parse(DEFAULT_WEBSUB_HUB_URL).expect("valid URL"),
                |u| u.0,
            ),
            youtube_base_url: src.get::<HttpUrl>("youtube_base_url")?.map_or_else(
                || Url::parse(vidpress_websub::YOUTUBE_BASE_URL).expect("valid URL"),
                |u| u.0,
            ),
            websub_lease_seconds: src
                .get::<Positive>("websub_lease_seconds")?
                .map_or(vidpress_websub::DEFAULT_LEASE_SECONDS, |p| p.0 as u64),
            feed_poll_seconds: src
                .get::<Positive>("feed_poll_seconds")?
                .map_or(3600, |p| p.0 as u64),
            max_media_minutes: src
                .get::<Positive>("max_media_minutes")?
                .map_or(240, |p| p.0 as u64),
            max_download_mb: src
                .get::<Positive>("max_download_mb")?
                .map_or(4096, |p| p.0 as u64),
            min_free_disk_mb: src.get("min_free_disk_mb")?.unwrap_or(1024),
            video_extractors: src
                .get::<String>("video_extractors")?
                .filter(|e| !e.trim().is_empty())
                .unwrap_or_else(|| vidpress_media::DEFAULT_EXTRACTORS.to_owned()),
            allow_private_addresses: src.get("allow_private_addresses")?.unwrap_or(false),
            http_header_timeout_seconds: src
                .get::<Positive>("http_header_timeout_seconds")?
                .map_or(30, |p| p.0 as u64),
            http_request_timeout_seconds: src
                .get::<Positive>("http_request_timeout_seconds")?
                .map_or(300, |p| p.0 as u64),
            http_max_connections: src
                .get::<Positive>("http_max_connections")?
                .map_or(1024, |p| p.0),
            secret_key: src.get("secret_key")?,
            worker_kinds: src.get::<KindList>("worker_kinds")?.unwrap_or_default().0,
            worker_heartbeat_seconds: src
                .get::<Positive>("worker_heartbeat_seconds")?
                .map_or(10, |p| p.0 as u64),
            metrics_token: src
                .get::<String>("metrics_token")?
                .filter(|t| !t.is_empty()),
            metrics_listen: src.get("metrics_listen")?,
            diffusion_model: src
                .get::<String>("diffusion_model")?
                .filter(|m| !m.trim().is_empty())
                .unwrap_or_else(|| vidpress_imagegen::diffusion::DEFAULT_MODEL.to_owned()),
            diffusion_idle_seconds: src.get("diffusion_idle_seconds")?.unwrap_or(300),
            diffusion_steps: src.get::<Positive>("diffusion_steps")?.map(|p| p.0),
            diffusion_guidance: src.get::<f64>("diffusion_guidance")?,
            diffusion_decoder: src
                .get::<Decoder>("diffusion_decoder")?
                .map(|d| d.0)
                .unwrap_or_default(),
            listen,
            data_dir,
        };
        if !(config.database_url.starts_with("sqlite:")
            || config.database_url.starts_with("postgres"))
        {
            bail!(
                "invalid configuration: `database_url` must start with sqlite:// or postgres://, got {:?}",
                vidpress_store::redact_url(&config.database_url)
            );
        }
        src.reject_unknown_file_keys()?;
        Ok(config)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn defaults_apply_without_file_or_env() {
        let c = Config::load_from(None, env(&[])).unwrap();
        assert_eq!(c.listen.to_string(), "127.0.0.1:8080");
        assert_eq!(c.database_url, "sqlite://data/vidpress.db");
        assert_eq!(c.worker_concurrency, 4);
        assert_eq!(c.public_url.as_str(), "http://127.0.0.1:8080/");
        assert_eq!(c.websub_hub_url.as_str(), DEFAULT_WEBSUB_HUB_URL);
        assert_eq!(c.youtube_base_url.as_str(), "https://www.youtube.com/");
        assert_eq!(c.websub_lease_seconds, 432_000);
    }

    #[test]
    fn device_comes_from_file_or_environment() {
        let c = Config::load_from(None, env(&[])).unwrap();
        assert_eq!(c.device, vidpress_transcribe::Device::Auto);
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("v.toml");
        std::fs::write(&file, "device = \"cpu\"\n").unwrap();
        let c = Config::load_from(Some(&file), env(&[])).unwrap();
        assert_eq!(c.device, vidpress_transcribe::Device::Cpu);
        let c = Config::load_from(Some(&file), env(&[("VIDPRESS_DEVICE", "cuda")])).unwrap();
        assert_eq!(c.device, vidpress_transcribe::Device::Cuda);
        let err = Config::load_from(None, env(&[("VIDPRESS_DEVICE", "tpu")])).unwrap_err();
        let msg = err.to_string();
        assert!(
            msg.contains("`device`") && msg.contains("VIDPRESS_DEVICE") && msg.contains("`cuda`"),
            "{msg}"
        );
    }

    #[test]
    fn websub_urls_must_be_http() {
        let c = Config::load_from(
            None,
            env(&[
                ("VIDPRESS_LISTEN", "0.0.0.0:9000"),
                ("VIDPRESS_PUBLIC_URL", "https://press.example.org/vp/"),
            ]),
        )
        .unwrap();
        assert_eq!(c.public_url.as_str(), "https://press.example.org/vp/");
        let err = Config::load_from(None, env(&[("VIDPRESS_WEBSUB_HUB_URL", "ftp://hub/")]))
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("`websub_hub_url`") && err.contains("ftp://"),
            "{err}"
        );
    }

    #[test]
    fn the_secret_key_is_checked_and_never_shown() {
        let key = "0f".repeat(32);
        let c = Config::load_from(None, env(&[("VIDPRESS_SECRET_KEY", &key)])).unwrap();
        assert!(c.secret_key.is_some());
        assert!(!format!("{c:?}").contains(&key));
        let err = Config::load_from(None, env(&[("VIDPRESS_SECRET_KEY", "short")])).unwrap_err();
        assert!(err.to_string().contains("`secret_key`"), "{err}");
        assert!(!err.to_string().contains("short"), "{err}");
        assert!(
            !Config::load_from(None, env(&[]))
                .unwrap()
                .allow_private_addresses
        );
    }

    #[test]
    fn worker_kinds_come_as_a_list_or_comma_separated() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("v.toml");
        std::fs::write(&file, "worker_kinds = [\"transcribe\", \"illustrate\"]\n").unwrap();
        let c = Config::load_from(Some(&file), env(&[])).unwrap();
        use vidpress_core::JobKind;
        assert_eq!(c.worker_kinds, [JobKind::Transcribe, JobKind::Illustrate]);
        let c = Config::load_from(
            Some(&file),
            env(&[("VIDPRESS_WORKER_KINDS", "fetch, draft,export")]),
        )
        .unwrap();
        assert_eq!(
            c.worker_kinds,
            [JobKind::Fetch, JobKind::Draft, JobKind::Export]
        );
        assert!(
            Config::load_from(None, env(&[]))
                .unwrap()
                .worker_kinds
                .is_empty()
        );
        let err = Config::load_from(None, env(&[("VIDPRESS_WORKER_KINDS", "fetch,render")]))
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("`worker_kinds`") && err.contains("render") && err.contains("transcribe"),
            "{err}"
        );
    }

    #[test]
    fn the_metrics_token_is_never_shown() {
        let c = Config::load_from(
            None,
            env(&[
                ("VIDPRESS_METRICS_TOKEN", "metrics-SECRET-9"),
                ("VIDPRESS_METRICS_LISTEN", "127.0.0.1:9464"),
            ]),
        )
        .unwrap();
        assert_eq!(c.metrics_token.as_deref(), Some("metrics-SECRET-9"));
        assert_eq!(c.metrics_listen.unwrap().port(), 9464);
        assert!(!format!("{c:?}").contains("SECRET"));
        let c = Config::load_from(None, env(&[])).unwrap();
        assert!(c.metrics_token.is_none() && c.metrics_listen.is_none());
    }

    #[test]
    fn environment_overrides_file() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("v.toml");
        std::fs::write(
            &file,
            "listen = \"0.0.0.0:9000\"\nworker_concurrency = 8\ndata_dir = \"/srv/v\"\n",
        )
        .unwrap();
        let c =
            Config::load_from(Some(&file), env(&[("VIDPRESS_LISTEN", "127.0.0.1:7000")])).unwrap();
        assert_eq!(c.listen.to_string(), "127.0.0.1:7000");
        assert_eq!(c.worker_concurrency, 8);
        assert_eq!(c.database_url, "sqlite:///srv/v/vidpress.db");
    }

    #[test]
    fn bad_values_name_the_key_and_source() {
        let err = Config::load_from(None, env(&[("VIDPRESS_LISTEN", "localhost")])).unwrap_err();
        let msg = err.to_string();
        assert!(
            msg.contains("`listen`") && msg.contains("VIDPRESS_LISTEN"),
            "{msg}"
        );

        let err =
            Config::load_from(None, env(&[("VIDPRESS_WORKER_CONCURRENCY", "0")])).unwrap_err();
        assert!(err.to_string().contains("must be at least 1"), "{err}");

        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("v.toml");
        std::fs::write(&file, "lisen = \"0.0.0.0:9000\"\n").unwrap();
        let err = Config::load_from(Some(&file), env(&[]))
            .unwrap_err()
            .to_string();
        assert!(err.contains("lisen") && err.contains("listen"), "{err}");

        let err = Config::load_from(
            None,
            env(&[("VIDPRESS_DATABASE_URL", "mysql://root:pw@h/db")]),
        )
        .unwrap_err();
        assert!(!err.to_string().contains("pw@"), "{err}");
    }

    #[test]
    fn debug_output_hides_secrets() {
        let c = Config::load_from(
            None,
            env(&[
                ("VIDPRESS_API_TOKEN", "tok-SECRET-1"),
                (
                    "VIDPRESS_DATABASE_URL",
                    "postgres://app:pw-SECRET-2@db/v?password=pw-SECRET-3",
                ),
            ]),
        )
        .unwrap();
        let shown = format!("{c:?}");
        assert!(!shown.contains("SECRET"), "{shown}");
        assert!(shown.contains("max_media_minutes"), "{shown}");
    }
}
