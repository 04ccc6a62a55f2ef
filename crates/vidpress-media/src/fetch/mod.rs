//! Fetching a video's audio with yt-dlp as a subprocess: audio only, no playlists, our own
//! output name, a timeout, progress from its output, and its failures as typed errors.

mod error;
mod guard;

use std::collections::{HashSet, VecDeque};
use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::{ExitStatus, Stdio};
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::Command;

pub use error::FetchError;

use vidpress_core::VideoChapter;
use vidpress_core::net::AddressPolicy;

use crate::audio;

/// How yt-dlp is run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FetchOptions {
    /// The yt-dlp program (a path, or a name looked up on `PATH`).
    pub ytdlp: PathBuf,
    /// The longest a whole fetch may take; yt-dlp and its children are killed after it.
    pub timeout: Duration,
    /// yt-dlp's `--socket-timeout`: how long a connection may stay silent.
    pub socket_timeout: Duration,
    /// The longest video accepted, by the length the site declares (yt-dlp's match filter;
    /// a video of unknown length passes, and the decoder checks it again).
    pub max_duration: Option<Duration>,
    /// The largest download accepted (yt-dlp's `--max-filesize`).
    pub max_filesize: Option<u64>,
    /// Bytes that must stay free on the output folder's disk; a fetch with less free space
    /// fails before downloading anything.
    pub min_free_bytes: u64,
    /// yt-dlp's `--use-extractors`: which sites' extractors may handle a URL, comma-separated
    /// (`youtube` by default; `default` allows every site yt-dlp knows).
    pub extractors: String,
    /// Which addresses yt-dlp may connect to, on the first request and every redirect
    /// (public ones only by default).
    pub addresses: AddressPolicy,
}

impl Default for FetchOptions {
    /// [`default_ytdlp`], a one-hour timeout, a 30-second socket timeout, videos up to
    /// 240 minutes and 4 GiB, 1 GiB kept free, YouTube's extractors only.
    fn default() -> Self {
        Self {
            ytdlp: default_ytdlp(),
            timeout: Duration::from_secs(3600),
            socket_timeout: Duration::from_secs(30),
            max_duration: Some(Duration::from_secs(240 * 60)),
            max_filesize: Some(4096 * 1024 * 1024),
            min_free_bytes: 1024 * 1024 * 1024,
            extractors: DEFAULT_EXTRACTORS.to_owned(),
            addresses: AddressPolicy::PUBLIC_ONLY,
        }
    }
}

/// The extractors a fetch may use unless told otherwise: YouTube's video pages only.
pub const DEFAULT_EXTRACTORS: &str = "youtube";

/// The environment variables yt-dlp inherits; everything else (API tokens, database URLs) is
/// withheld from it.
const INHERITED_ENV: &[&str] = &[
    "PATH",
    "HOME",
    "LANG",
    "LC_ALL",
    "LC_CTYPE",
    "TMPDIR",
    "TZ",
    "SSL_CERT_FILE",
    "SSL_CERT_DIR",
    "REQUESTS_CA_BUNDLE",
    "XDG_CACHE_HOME",
];

/// The yt-dlp program to use when none is configured: `.venv/bin/yt-dlp` (where
/// `scripts/python-tools.sh` installs the pinned version) when it exists in the current
/// directory, else `yt-dlp` from `PATH`.
pub fn default_ytdlp() -> PathBuf {
    let venv = Path::new(".venv/bin/yt-dlp");
    if venv.is_file() {
        venv.to_path_buf()
    } else {
        PathBuf::from("yt-dlp")
    }
}

/// Whether `input` is an http(s) URL (to fetch) rather than a local file name.
pub fn is_url(input: &str) -> bool {
    url::Url::parse(input.trim())
        .is_ok_and(|u| matches!(u.scheme(), "http" | "https") && u.host().is_some())
}

/// One progress report from yt-dlp's download.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct FetchProgress {
    /// Bytes downloaded so far.
    pub downloaded_bytes: u64,
    /// The download's size, exact or estimated, when known.
    pub total_bytes: Option<u64>,
    /// Percent done (0 to 100), when the size is known.
    pub percent: Option<f32>,
    /// yt-dlp's estimate of the time left.
    pub eta: Option<Duration>,
    /// Current speed in bytes per second.
    pub speed: Option<f64>,
    /// Whether this is the report that the download has finished.
    pub finished: bool,
}

/// Marks our lines in yt-dlp's output, so no other line can be mistaken for them.
const PROGRESS_TAG: &str = "vidpress-progress";
const FILE_TAG: &str = "vidpress-file";
const TITLE_TAG: &str = "vidpress-title";
const CHAPTERS_TAG: &str = "vidpress-chapters";

/// How many lines of yt-dlp's stderr are kept for error messages.
const STDERR_TAIL: usize = 20;

/// A downloaded video: its audio file, and its title when the site gives one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fetched {
    /// The downloaded file.
    pub path: PathBuf,
    /// The video's title from the site's metadata (YouTube's title, a page's `og:title`);
    /// `None` when the site gives none, or only the name of the file a link points at.
    pub title: Option<String>,
    /// The chapters the site lists (YouTube's chapters, a page's schema.org `Clip`s); also
    /// kept beside the file, where [`video_chapters`] finds them.
    pub chapters: Vec<VideoChapter>,
}

/// Downloads the audio of the video at `url` into `out_dir` as `file_stem.<ext>` (the
/// extension is the source's, e.g. `m4a`, `webm`) and returns the file's path; [`fetch_video`]
/// also returns the video's title.
pub async fn fetch(
    url: &str,
    out_dir: &Path,
    file_stem: &str,
    opts: &FetchOptions,
    on_progress: impl FnMut(FetchProgress) + Send,
) -> Result<PathBuf, FetchError> {
    fetch_video(url, out_dir, file_stem, opts, on_progress)
        .await
        .map(|f| f.path)
}

/// Downloads the audio of the video at `url` into `out_dir` as `file_stem.<ext>` (the
/// extension is the source's, e.g. `m4a`, `webm`) and returns the file's path and the title
/// yt-dlp read from the site's metadata. The video's thumbnail, when the site offers one, is
/// kept beside it as `file_stem.thumb.<ext>` ([`thumbnail_of`] finds it).
///
/// yt-dlp picks the best audio-only format (or the best combined one when there is none)
/// and never expands playlists. The download is checked with FFmpeg: a file that is not
/// media with audio is deleted and reported as [`FetchError::NotMedia`]. On any failure,
/// timeout or cancellation (dropping the future), yt-dlp and its children are killed and the
/// files this call created are removed.
#[tracing::instrument(skip(opts, on_progress), fields(ytdlp = %opts.ytdlp.display()))]
pub async fn fetch_video(
    url: &str,
    out_dir: &Path,
    file_stem: &str,
    opts: &FetchOptions,
    on_progress: impl FnMut(FetchProgress) + Send,
) -> Result<Fetched, FetchError> {
    download(url, out_dir, file_stem, opts, Wanted::Audio, on_progress).await
}

/// Downloads a low-resolution copy of the pictures of the video at `url` (a video-only
/// stream of at most [`FRAMES_MAX_HEIGHT`] lines where the site offers one, no sound) into
/// `out_dir` as `file_stem.frames.<ext>`, beside the audio [`fetch_video`] saved as
/// `file_stem.<ext>`; [`frames_of`] finds it. The header image's keyframe comes from it when
/// the site gave no thumbnail and the audio has no pictures. The same limits, checks and
/// clean-up as [`fetch_video`]; a download without a video stream is deleted and reported as
/// [`FetchError::NoPictures`].
#[tracing::instrument(skip(opts, on_progress), fields(ytdlp = %opts.ytdlp.display()))]
pub async fn fetch_frames(
    url: &str,
    out_dir: &Path,
    file_stem: &str,
    opts: &FetchOptions,
    on_progress: impl FnMut(FetchProgress) + Send,
) -> Result<PathBuf, FetchError> {
    download(url, out_dir, file_stem, opts, Wanted::Frames, on_progress)
        .await
        .map(|f| f.path)
}

/// What a download is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Wanted {
    /// The sound (the media file), with the thumbnail beside it.
    Audio,
    /// A small copy of the pictures, for the header's keyframe.
    Frames,
}

/// The tallest video stream [`fetch_frames`] asks for: enough for a 1200×630 header, a
/// fraction of the full picture's size.
pub const FRAMES_MAX_HEIGHT: u32 = 480;

async fn download(
    url: &str,
    out_dir: &Path,
    file_stem: &str,
    opts: &FetchOptions,
    wanted: Wanted,
    mut on_progress: impl FnMut(FetchProgress) + Send,
) -> Result<Fetched, FetchError> {
    if !is_url(url) {
        return Err(FetchError::NotAUrl {
            url: url.to_string(),
        });
    }
    if !valid_stem(file_stem) {
        return Err(FetchError::BadFileStem {
            stem: file_stem.to_string(),
        });
    }
    tokio::fs::create_dir_all(out_dir)
        .await
        .map_err(|source| FetchError::Io {
            path: out_dir.to_path_buf(),
            source,
        })?;
    check_free_space(out_dir, opts.min_free_bytes)?;
    let output_stem = match wanted {
        Wanted::Audio => file_stem.to_owned(),
        Wanted::Frames => format!("{file_stem}{FRAMES_SUFFIX}"),
    };
    let mut cleanup = Cleanup::new(out_dir, &output_stem);
    // Every connection yt-dlp makes goes through this proxy, which checks its address.
    let proxy = guard::GuardProxy::start(opts.addresses)
        .await
        .map_err(|source| FetchError::Io {
            path: out_dir.to_path_buf(),
            source,
        })?;

    let mut command = Command::new(&opts.ytdlp);
    command
        .args(ytdlp_args(out_dir, file_stem, opts, wanted))
        .arg("--proxy")
        .arg(proxy.url())
        .arg("--")
        .arg(url)
        .env_clear()
        .envs(
            INHERITED_ENV
                .iter()
                .filter_map(|k| Some((*k, std::env::var_os(k)?))),
        )
        .env("PYTHONUNBUFFERED", "1")
        .env("PYTHONIOENCODING", "utf-8")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        // Its own process group, so a timeout or cancellation also reaches the programs
        // yt-dlp starts (ffmpeg for segmented streams).
        .process_group(0);
    let mut child = match command.spawn() {
        Ok(child) => child,
        Err(source) if source.kind() == std::io::ErrorKind::NotFound => {
            return Err(FetchError::YtDlpMissing {
                program: opts.ytdlp.clone(),
            });
        }
        Err(source) => {
            return Err(FetchError::Spawn {
                program: opts.ytdlp.clone(),
                source,
            });
        }
    };
    let mut group = GroupKiller(
        child
            .id()
            .and_then(|id| rustix::process::Pid::from_raw(id as i32)),
    );

    let (Some(stdout), Some(stderr)) = (child.stdout.take(), child.stderr.take()) else {
        return Err(FetchError::Io {
            path: opts.ytdlp.clone(),
            source: std::io::Error::other("yt-dlp's output pipes are missing"),
        });
    };
    let mut stdout = BufReader::new(stdout).lines();
    let mut stderr = BufReader::new(stderr).lines();
    let (mut stdout_open, mut stderr_open) = (true, true);
    let mut downloaded: Option<PathBuf> = None;
    let mut title: Option<String> = None;
    let mut chapters: Vec<VideoChapter> = Vec::new();
    let mut errors: Vec<String> = Vec::new();
    let mut tail: VecDeque<String> = VecDeque::with_capacity(STDERR_TAIL);
    let (mut filtered_out, mut too_large) = (false, false);

    let deadline = tokio::time::sleep(opts.timeout);
    tokio::pin!(deadline);
    // The reserve protects the disk the database lives on: a download that eats into it (its
    // size was unknown, or something else is writing) is stopped, not left to fill the disk.
    let mut disk_check = tokio::time::interval(DISK_CHECK_EVERY);
    disk_check.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);

    let status: ExitStatus = loop {
        tokio::select! {
            line = stdout.next_line(), if stdout_open => match line {
                Ok(Some(line)) => {
                    if let Some(rest) = line.strip_prefix(PROGRESS_TAG) {
                        if let Some(progress) = parse_progress(rest) {
                            on_progress(progress);
                        }
                    } else if let Some(rest) = line.strip_prefix(FILE_TAG) {
                        downloaded = Some(PathBuf::from(rest.trim_start()));
                    } else if let Some(rest) = line.strip_prefix(TITLE_TAG) {
                        title = site_title(rest, url);
                    } else if let Some(rest) = line.strip_prefix(CHAPTERS_TAG) {
                        chapters = site_chapters(rest);
                    } else if line.contains("does not pass filter") {
                        filtered_out = true;
                    } else if line.contains("larger than max-filesize") {
                        too_large = true;
                    } else {
                        tracing::trace!(%line, "yt-dlp");
                    }
                }
                Ok(None) | Err(_) => stdout_open = false,
            },
            line = stderr.next_line(), if stderr_open => match line {
                Ok(Some(line)) => {
                    if let Some(message) = line.strip_prefix("ERROR:") {
                        errors.push(message.trim().to_string());
                    } else if line.starts_with("WARNING:") {
                        tracing::debug!(%line, "yt-dlp");
                    }
                    if tail.len() == STDERR_TAIL {
                        tail.pop_front();
                    }
                    tail.push_back(line);
                }
                Ok(None) | Err(_) => stderr_open = false,
            },
            status = child.wait(), if !stdout_open && !stderr_open => match status {
                Ok(status) => break status,
                Err(source) => return Err(FetchError::Io { path: opts.ytdlp.clone(), source }),
            },
            _ = disk_check.tick(), if opts.min_free_bytes > 0 => {
                if free_space(out_dir).is_some_and(|free| free < opts.min_free_bytes) {
                    group.kill();
                    let _ = tokio::time::timeout(Duration::from_secs(5), child.wait()).await;
                    return Err(FetchError::DiskFull {
                        dir: out_dir.to_path_buf(),
                        reserve_bytes: opts.min_free_bytes,
                    });
                }
            }
            () = &mut deadline => {
                group.kill();
                // Reap it so no zombie is left; kill_on_drop covers a child that will not die.
                let _ = tokio::time::timeout(Duration::from_secs(5), child.wait()).await;
                return Err(FetchError::Timeout { url: url.to_string(), timeout: opts.timeout });
            }
        }
    };
    // yt-dlp has exited; anything left in its group is a stray child.
    group.kill();
    group.disarm();

    if !status.success() || downloaded.is_none() {
        match proxy.first_denial() {
            Some(guard::Denied::Forbidden(reason)) => {
                return Err(FetchError::Forbidden {
                    url: url.to_string(),
                    reason,
                });
            }
            Some(guard::Denied::Unreachable(message)) if !status.success() => {
                return Err(FetchError::Network {
                    url: url.to_string(),
                    message,
                });
            }
            _ => {}
        }
    }
    if status.code() == Some(LIVE_EXIT_STATUS) {
        return Err(FetchError::Live {
            url: url.to_string(),
        });
    }
    if let (true, Some(limit)) = (filtered_out, opts.max_duration) {
        return Err(FetchError::TooLong {
            url: url.to_string(),
            limit,
        });
    }
    if let (true, Some(limit_bytes)) = (too_large, opts.max_filesize) {
        return Err(FetchError::TooLarge {
            url: url.to_string(),
            limit_bytes,
        });
    }
    if !status.success() {
        let status_text = describe_status(status);
        let message = errors
            .last()
            .cloned()
            .unwrap_or_else(|| tail.iter().cloned().collect::<Vec<_>>().join("\n"));
        if status.code() == Some(2) && errors.is_empty() {
            // Exit status 2 is yt-dlp's "bad option": a bug on our side, not the video's.
            return Err(FetchError::Failed {
                url: url.to_string(),
                status: status_text,
                message,
            });
        }
        if errors
            .iter()
            .chain(&tail)
            .any(|line| line.contains("No space left on device") || line.contains("Errno 28"))
        {
            return Err(FetchError::DiskFull {
                dir: out_dir.to_path_buf(),
                reserve_bytes: opts.min_free_bytes,
            });
        }
        return Err(match error::classify(url, &message, &status_text) {
            // The sound came from this URL a moment ago: no format with pictures.
            FetchError::Unsupported { url, .. } if wanted == Wanted::Frames => {
                FetchError::NoPictures { url }
            }
            error => error,
        });
    }

    let path = match downloaded {
        Some(path) if path.is_file() => path,
        _ => match cleanup.find_output() {
            Some(path) => path,
            None => {
                return Err(FetchError::Failed {
                    url: url.to_string(),
                    status: describe_status(status),
                    message: "yt-dlp reported success but wrote no file".into(),
                });
            }
        },
    };

    // yt-dlp saves whatever a direct link points at; make sure it is media with audio (or,
    // for the frames, with pictures).
    let probe_path = path.clone();
    let probed = tokio::task::spawn_blocking(move || match wanted {
        Wanted::Audio => Probed::Audio(audio::probe_audio(&probe_path)),
        Wanted::Frames => Probed::Pictures(crate::frames::has_video(&probe_path)),
    })
    .await
    .map_err(|join| FetchError::Io {
        path: path.clone(),
        source: std::io::Error::other(format!("probing the download failed: {join}")),
    })?;
    match probed {
        Probed::Audio(Ok(info)) => {
            tracing::debug!(path = %path.display(), codec = %info.codec, "fetched");
            cleanup.keep(&path);
            if let Some(thumbnail) = thumbnail_of(&path) {
                cleanup.keep(&thumbnail);
            }
            if !chapters.is_empty()
                && let Some(listed) = keep_chapters(&path, &chapters).await
            {
                cleanup.keep(&listed);
            }
            Ok(Fetched {
                path,
                title,
                chapters,
            })
        }
        Probed::Audio(Err(reason)) => Err(FetchError::NotMedia {
            url: url.to_string(),
            reason,
        }),
        Probed::Pictures(true) => {
            tracing::debug!(path = %path.display(), "fetched the pictures");
            cleanup.keep(&path);
            Ok(Fetched {
                path,
                title,
                chapters,
            })
        }
        Probed::Pictures(false) => Err(FetchError::NoPictures {
            url: url.to_string(),
        }),
    }
}

/// What FFmpeg found in a download.
enum Probed {
    Audio(Result<audio::AudioInfo, audio::AudioError>),
    /// Whether it has a video stream.
    Pictures(bool),
}

/// Writes the site's chapters beside the media file (`<stem>.chapters.json`) and answers its
/// path. A file that cannot be written costs only the chapters: the draft then finds its
/// sections itself.
async fn keep_chapters(media: &Path, chapters: &[VideoChapter]) -> Option<PathBuf> {
    let stem = media.file_stem()?.to_str()?;
    let path = media.with_file_name(format!("{stem}{CHAPTERS_SUFFIX}.json"));
    let written = match serde_json::to_vec(chapters) {
        Ok(json) => tokio::fs::write(&path, json).await,
        Err(e) => Err(std::io::Error::other(e)),
    };
    match written {
        Ok(()) => Some(path),
        Err(e) => {
            tracing::warn!(path = %path.display(), error = %e, "the video's chapters were not kept");
            None
        }
    }
}

/// The chapters of the video whose media file is `media`: those the site listed when it was
/// fetched, else those the file's container declares; empty when neither gives any.
pub fn video_chapters(media: &Path) -> Vec<VideoChapter> {
    let listed = companion(media, CHAPTERS_SUFFIX)
        .and_then(|path| std::fs::read(path).ok())
        .and_then(|json| serde_json::from_slice::<Vec<VideoChapter>>(&json).ok())
        .filter(|chapters| !chapters.is_empty());
    listed.unwrap_or_else(|| crate::tags::media_chapters(media))
}

/// The chapter list yt-dlp printed as JSON (`[{"title": …, "start_time": seconds, …}]`), in
/// time order; empty when the site lists none (`NA`, `null`) or the list is unreadable.
fn site_chapters(printed: &str) -> Vec<VideoChapter> {
    #[derive(serde::Deserialize)]
    struct Listed {
        #[serde(default)]
        title: Option<String>,
        start_time: f64,
    }
    let Ok(listed) = serde_json::from_str::<Vec<Listed>>(printed.trim()) else {
        return Vec::new();
    };
    let mut chapters: Vec<VideoChapter> = listed
        .into_iter()
        .filter(|c| c.start_time.is_finite() && c.start_time >= 0.0)
        .map(|c| VideoChapter {
            start_ms: (c.start_time * 1000.0).round() as u64,
            title: c.title.unwrap_or_default().trim().to_owned(),
        })
        .collect();
    chapters.sort_by_key(|c| c.start_ms);
    chapters
}

/// The thumbnail a fetch kept beside the media file `media` (`<stem>.thumb.<ext>`), if any.
pub fn thumbnail_of(media: &Path) -> Option<PathBuf> {
    companion(media, THUMBNAIL_SUFFIX)
}

/// The low-resolution pictures [`fetch_frames`] kept beside the media file `media`
/// (`<stem>.frames.<ext>`), if any.
pub fn frames_of(media: &Path) -> Option<PathBuf> {
    companion(media, FRAMES_SUFFIX)
}

/// The finished file `<stem><suffix>.<ext>` beside `media`, if any.
fn companion(media: &Path, suffix: &str) -> Option<PathBuf> {
    let stem = media.file_stem()?.to_str()?;
    let prefix = format!("{stem}{suffix}.");
    let entries = std::fs::read_dir(media.parent()?).ok()?;
    entries.filter_map(Result::ok).map(|e| e.path()).find(|p| {
        p.is_file()
            && p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with(&prefix) && !is_partial(n))
    })
}

/// What sets a thumbnail's name apart from the media file's: `<stem>.thumb.<ext>`.
const THUMBNAIL_SUFFIX: &str = ".thumb";
/// And the pictures' name: `<stem>.frames.<ext>`.
const FRAMES_SUFFIX: &str = ".frames";
/// And the site's chapter list: `<stem>.chapters.json`.
const CHAPTERS_SUFFIX: &str = ".chapters";

/// Whether a file name is one of yt-dlp's unfinished downloads.
fn is_partial(name: &str) -> bool {
    name.ends_with(".part") || name.ends_with(".ytdl")
}

/// The title yt-dlp printed, unless it is missing (`NA`) or only the name of the file the URL
/// points at (what yt-dlp's generic extractor calls a plain media link).
fn site_title(printed: &str, url: &str) -> Option<String> {
    let title = printed.trim();
    if title.is_empty() || title == "NA" {
        return None;
    }
    let file_stem = url::Url::parse(url)
        .ok()
        .and_then(|u| {
            u.path_segments()
                .and_then(|mut s| s.next_back().map(str::to_owned))
        })
        .map(|name| {
            let name = percent_encoding::percent_decode_str(&name)
                .decode_utf8_lossy()
                .into_owned();
            match name.rsplit_once('.') {
                Some((stem, _)) if !stem.is_empty() => stem.to_owned(),
                _ => name,
            }
        })
        .unwrap_or_default();
    (title != file_stem).then(|| title.to_owned())
}

/// yt-dlp's exit status when a `--break-match-filters` filter rejects the video: with ours,
/// only a live stream in progress.
const LIVE_EXIT_STATUS: i32 = 101;

/// How often a running download looks at the free space left on its disk.
const DISK_CHECK_EVERY: Duration = Duration::from_millis(200);

/// Bytes free for unprivileged writers on `dir`'s disk.
fn free_space(dir: &Path) -> Option<u64> {
    let stats = rustix::fs::statvfs(dir).ok()?;
    Some(stats.f_bavail.saturating_mul(stats.f_frsize))
}

/// Fails with [`FetchError::LowDisk`] when `dir`'s disk has fewer than `reserve` bytes free.
fn check_free_space(dir: &Path, reserve: u64) -> Result<(), FetchError> {
    if reserve == 0 {
        return Ok(());
    }
    let stats = rustix::fs::statvfs(dir).map_err(|e| FetchError::Io {
        path: dir.to_path_buf(),
        source: e.into(),
    })?;
    let free_bytes = stats.f_bavail.saturating_mul(stats.f_frsize);
    if free_bytes < reserve {
        return Err(FetchError::LowDisk {
            dir: dir.to_path_buf(),
            free_bytes,
            reserve_bytes: reserve,
        });
    }
    Ok(())
}

fn ytdlp_args(
    out_dir: &Path,
    file_stem: &str,
    opts: &FetchOptions,
    wanted: Wanted,
) -> Vec<OsString> {
    // `%` starts a field in yt-dlp's output template; the folder may contain one.
    let folder = out_dir.to_string_lossy().replace('%', "%%");
    let (template, format) = match wanted {
        Wanted::Audio => (
            format!("{folder}/{file_stem}.%(ext)s"),
            "bestaudio/best".to_owned(),
        ),
        // The best video-only stream up to the height, else the smallest one, else the
        // smallest stream with pictures at all.
        Wanted::Frames => (
            format!("{folder}/{file_stem}{FRAMES_SUFFIX}.%(ext)s"),
            format!(
                "bv[height<={h}]/wv/bv*[height<={h}]/wv*",
                h = FRAMES_MAX_HEIGHT
            ),
        ),
    };
    // The thumbnail's own name, so it can never be taken for the media file; it starts with
    // the media file's `stem.` and so is removed with it when the fetch fails.
    let thumbnail_template = OsString::from(format!(
        "thumbnail:{folder}/{file_stem}{THUMBNAIL_SUFFIX}.%(ext)s"
    ));
    let socket_timeout = opts.socket_timeout.as_secs_f64().max(0.1);
    let mut args: Vec<OsString> = [
        "--format",
        &format,
        "--ignore-config",
        "--no-playlist",
        "--no-mtime",
        "--newline",
        "--progress",
        "--progress-template",
        "download:vidpress-progress %(progress.status)s %(progress.downloaded_bytes)s %(progress.total_bytes)s %(progress.total_bytes_estimate)s %(progress.eta)s %(progress.speed)s",
        "--print",
        "after_move:vidpress-title %(title)s",
        "--print",
        "after_move:vidpress-chapters %(chapters)j",
        "--print",
        "after_move:vidpress-file %(filepath)s",
    ]
    .into_iter()
    .map(OsString::from)
    .collect();
    // `--print` implies `--quiet`; the log is wanted for the match filter's and the size
    // limit's refusals (untagged lines are only traced).
    args.push("--no-quiet".into());
    args.push("--use-extractors".into());
    args.push(opts.extractors.clone().into());
    // A live stream stops yt-dlp with its own exit status; a video over the length limit
    // is skipped with a message. A video of unknown length passes (`<?`).
    args.push("--break-match-filters".into());
    args.push("!is_live".into());
    if let Some(max) = opts.max_duration {
        args.push("--match-filters".into());
        args.push(format!("duration<?{}", max.as_secs()).into());
    }
    if let Some(max) = opts.max_filesize {
        args.push("--max-filesize".into());
        args.push(max.to_string().into());
    }
    args.push("--socket-timeout".into());
    args.push(format!("{socket_timeout}").into());
    args.push("--output".into());
    args.push(template.into());
    // The creator's own thumbnail is the first candidate for the header image; a site without
    // one only logs that it has none.
    if wanted == Wanted::Audio {
        args.push("--write-thumbnail".into());
        args.push("--output".into());
        args.push(thumbnail_template);
    }
    args
}

/// Parses the fields after [`PROGRESS_TAG`]: status, downloaded, total, estimated total,
/// ETA and speed, with `NA` for unknown values.
fn parse_progress(fields: &str) -> Option<FetchProgress> {
    let mut parts = fields.split_whitespace();
    let status = parts.next()?;
    let number = |s: Option<&str>| {
        s.and_then(|s| s.parse::<f64>().ok())
            .filter(|v| v.is_finite() && *v >= 0.0)
    };
    let downloaded = number(parts.next())?;
    let total = number(parts.next());
    let estimate = number(parts.next());
    let eta = number(parts.next());
    let speed = number(parts.next());
    let total_bytes = total.or(estimate).map(|t| t as u64).filter(|t| *t > 0);
    let downloaded_bytes = downloaded as u64;
    Some(FetchProgress {
        downloaded_bytes,
        total_bytes,
        percent: total_bytes
            .map(|t| (downloaded_bytes as f64 / t as f64 * 100.0).min(100.0) as f32),
        eta: eta.and_then(|e| Duration::try_from_secs_f64(e).ok()),
        speed,
        finished: status == "finished",
    })
}

fn valid_stem(stem: &str) -> bool {
    !stem.is_empty()
        && !stem.starts_with('.')
        && stem.len() <= 200
        && stem
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
}

fn describe_status(status: ExitStatus) -> String {
    match status.code() {
        Some(code) => format!("exit status {code}"),
        None => format!("{status}"),
    }
}

/// Kills a process group with SIGKILL when dropped, unless disarmed.
struct GroupKiller(Option<rustix::process::Pid>);

impl GroupKiller {
    fn kill(&self) {
        if let Some(pid) = self.0 {
            // ESRCH (group already gone) is the usual, harmless outcome.
            let _ = rustix::process::kill_process_group(pid, rustix::process::Signal::KILL);
        }
    }

    fn disarm(&mut self) {
        self.0 = None;
    }
}

impl Drop for GroupKiller {
    fn drop(&mut self) {
        self.kill();
    }
}

/// Removes the files a fetch created (`stem.*` that were not there before) unless the
/// fetch succeeded; the one file kept is the result.
struct Cleanup {
    dir: PathBuf,
    prefix: String,
    before: HashSet<PathBuf>,
    keep: Vec<PathBuf>,
}

impl Cleanup {
    fn new(dir: &Path, stem: &str) -> Self {
        let mut cleanup = Self {
            dir: dir.to_path_buf(),
            prefix: format!("{stem}."),
            before: HashSet::new(),
            keep: Vec::new(),
        };
        cleanup.before = cleanup.ours().into_iter().collect();
        cleanup
    }

    /// Files in the folder named `stem.*`.
    fn ours(&self) -> Vec<PathBuf> {
        let Ok(entries) = std::fs::read_dir(&self.dir) else {
            return Vec::new();
        };
        entries
            .filter_map(Result::ok)
            .filter(|e| e.file_name().to_string_lossy().starts_with(&self.prefix))
            .map(|e| e.path())
            .collect()
    }

    /// The finished download when yt-dlp did not print its name: `stem.*` without a
    /// partial-download suffix.
    fn find_output(&self) -> Option<PathBuf> {
        self.ours().into_iter().find(|p| {
            let name = p.to_string_lossy();
            let thumbnail = format!("{}{}", self.prefix.trim_end_matches('.'), THUMBNAIL_SUFFIX);
            p.is_file()
                && !is_partial(&name)
                && !p
                    .file_name()
                    .is_some_and(|n| n.to_string_lossy().starts_with(&thumbnail))
        })
    }

    fn keep(&mut self, path: &Path) {
        self.keep.push(path.to_path_buf());
    }
}

impl Drop for Cleanup {
    fn drop(&mut self) {
        for path in self.ours() {
            if self.before.contains(&path) || self.keep.contains(&path) {
                continue;
            }
            if let Err(error) = std::fs::remove_file(&path) {
                tracing::warn!(path = %path.display(), %error, "could not remove a partial download");
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn site_chapters_are_read_from_yt_dlp_json() {
        let printed = r#" [{"title": "Painting a wall", "start_time": 61.5, "end_time": 90},
            {"title": " Fixing a tap ", "start_time": 0, "end_time": 61.5},
            {"start_time": 90.0004, "end_time": 100}]"#;
        let chapter = |start_ms: u64, title: &str| VideoChapter {
            start_ms,
            title: title.into(),
        };
        assert_eq!(
            site_chapters(printed),
            vec![
                chapter(0, "Fixing a tap"),
                chapter(61_500, "Painting a wall"),
                chapter(90_000, ""),
            ]
        );
        assert_eq!(site_chapters(" NA"), vec![]);
        assert_eq!(site_chapters(" null"), vec![]);
        assert_eq!(
            site_chapters(r#" [{"title": "x", "start_time": -1}]"#),
            vec![]
        );
    }

    #[test]
    fn a_site_title_is_kept_and_a_file_name_is_not() {
        let page = "http://127.0.0.1:8000/watch.html";
        assert_eq!(
            site_title(" Fixing Things Around the House", page).as_deref(),
            Some("Fixing Things Around the House")
        );
        assert_eq!(
            site_title(
                " Me at the zoo",
                "https://www.youtube.com/watch?v=jNQXAC9IVRw"
            )
            .as_deref(),
            Some("Me at the zoo")
        );
        assert_eq!(site_title(" NA", page), None);
        assert_eq!(site_title(" ", page), None);
        // yt-dlp names a plain link to a media file after the file.
        assert_eq!(
            site_title(" speech", "http://127.0.0.1:8000/speech.mp4"),
            None
        );
        assert_eq!(
            site_title(" my talk", "http://127.0.0.1:8000/media/my%20talk.m4a?x=1"),
            None
        );
    }

    #[test]
    fn recognises_urls() {
        assert!(is_url("https://www.youtube.com/watch?v=dQw4w9WgXcQ"));
        assert!(is_url("http://127.0.0.1:8080/a.mp4"));
        assert!(!is_url("video.mp4"));
        assert!(!is_url("/tmp/video.mp4"));
        assert!(!is_url("file:///tmp/video.mp4"));
        assert!(!is_url("C:\\video.mp4"));
        assert!(!is_url("ftp://host/video.mp4"));
    }

    #[test]
    fn parses_progress_lines() {
        let p = parse_progress(" downloading 7168 43164 NA 2.5 5171988.8").unwrap();
        assert_eq!(p.downloaded_bytes, 7168);
        assert_eq!(p.total_bytes, Some(43164));
        assert!((p.percent.unwrap() - 16.606).abs() < 0.01);
        assert_eq!(p.eta, Some(Duration::from_secs_f64(2.5)));
        assert!(!p.finished);
        let p = parse_progress(" downloading 1024 NA 50000 NA NA").unwrap();
        assert_eq!(p.total_bytes, Some(50000));
        assert_eq!(p.eta, None);
        let p = parse_progress(" finished 43164 43164 NA NA 3798475.4").unwrap();
        assert!(p.finished);
        assert_eq!(p.percent, Some(100.0));
        let p = parse_progress(" downloading 10 NA NA 1e300 NA").unwrap();
        assert_eq!(p.eta, None, "an absurd ETA is dropped, not a panic");
        assert_eq!(parse_progress(" downloading NA NA NA NA NA"), None);
        assert_eq!(parse_progress(""), None);
    }

    #[test]
    fn the_thumbnail_is_written_under_its_own_name_and_found_beside_the_media() {
        let args = ytdlp_args(
            Path::new("/scratch/100%"),
            "source",
            &FetchOptions::default(),
            Wanted::Audio,
        );
        let args: Vec<String> = args
            .iter()
            .map(|a| a.to_string_lossy().into_owned())
            .collect();
        let at = args.iter().position(|a| a == "--write-thumbnail").unwrap();
        assert_eq!(args[at + 1], "--output");
        assert_eq!(
            args[at + 2],
            "thumbnail:/scratch/100%%/source.thumb.%(ext)s"
        );
        assert!(args.contains(&"/scratch/100%%/source.%(ext)s".to_owned()));

        let dir = tempfile::tempdir().unwrap();
        let media = dir.path().join("source.m4a");
        std::fs::write(&media, b"m").unwrap();
        assert_eq!(thumbnail_of(&media), None);
        std::fs::write(dir.path().join("source.thumb.webp.part"), b"t").unwrap();
        assert_eq!(
            thumbnail_of(&media),
            None,
            "an unfinished download is no thumbnail"
        );
        std::fs::write(dir.path().join("source.thumb.webp"), b"t").unwrap();
        assert_eq!(
            thumbnail_of(&media),
            Some(dir.path().join("source.thumb.webp"))
        );

        // The media file is never taken for the thumbnail or the other way round, and a
        // successful fetch keeps both.
        let mut cleanup = Cleanup::new(dir.path(), "fresh");
        std::fs::write(dir.path().join("fresh.thumb.jpg"), b"t").unwrap();
        assert_eq!(cleanup.find_output(), None);
        std::fs::write(dir.path().join("fresh.webm"), b"m").unwrap();
        assert_eq!(cleanup.find_output(), Some(dir.path().join("fresh.webm")));
        cleanup.keep(&dir.path().join("fresh.webm"));
        cleanup.keep(&dir.path().join("fresh.thumb.jpg"));
        drop(cleanup);
        assert!(dir.path().join("fresh.thumb.jpg").is_file());
        // A failed fetch removes its thumbnail with the rest.
        let cleanup = Cleanup::new(dir.path(), "failed");
        std::fs::write(dir.path().join("failed.thumb.jpg"), b"t").unwrap();
        drop(cleanup);
        assert!(!dir.path().join("failed.thumb.jpg").exists());
    }

    #[test]
    fn validates_file_stems() {
        assert!(valid_stem("dQw4w9WgXcQ"));
        assert!(valid_stem("job-42_audio.v1"));
        assert!(!valid_stem(""));
        assert!(!valid_stem(".hidden"));
        assert!(!valid_stem("a/b"));
        assert!(!valid_stem("%(title)s"));
    }

    #[test]
    fn the_pictures_are_a_small_video_stream_under_their_own_name() {
        let args: Vec<String> = ytdlp_args(
            Path::new("/scratch/7"),
            "source",
            &FetchOptions::default(),
            Wanted::Frames,
        )
        .iter()
        .map(|a| a.to_string_lossy().into_owned())
        .collect();
        let at = args.iter().position(|a| a == "--format").unwrap();
        assert_eq!(args[at + 1], "bv[height<=480]/wv/bv*[height<=480]/wv*");
        assert!(args.contains(&"/scratch/7/source.frames.%(ext)s".to_owned()));
        assert!(
            !args.iter().any(|a| a == "--write-thumbnail"),
            "the audio's fetch already asked for the thumbnail"
        );

        let dir = tempfile::tempdir().unwrap();
        let media = dir.path().join("source.m4a");
        std::fs::write(&media, b"m").unwrap();
        std::fs::write(dir.path().join("source.thumb.jpg"), b"t").unwrap();
        assert_eq!(frames_of(&media), None);
        std::fs::write(dir.path().join("source.frames.mp4.part"), b"f").unwrap();
        assert_eq!(frames_of(&media), None, "an unfinished download");
        std::fs::write(dir.path().join("source.frames.mp4"), b"f").unwrap();
        assert_eq!(
            frames_of(&media),
            Some(dir.path().join("source.frames.mp4"))
        );
        assert_eq!(
            thumbnail_of(&media),
            Some(dir.path().join("source.thumb.jpg"))
        );
    }
}
