//! Fetch errors, and the mapping from yt-dlp's `ERROR:` messages to them.

use std::path::PathBuf;
use std::time::Duration;

use crate::audio::AudioError;

/// Why a fetch failed. [`FetchError::is_retryable`] says whether trying again later may help.
#[derive(Debug, thiserror::Error)]
pub enum FetchError {
    /// The yt-dlp program does not exist.
    #[error(
        "yt-dlp not found (looked for `{}`); run scripts/python-tools.sh to install the pinned version into .venv",
        program.display()
    )]
    YtDlpMissing {
        /// The program that was looked for.
        program: PathBuf,
    },
    /// The yt-dlp program exists but could not be started.
    #[error("cannot start yt-dlp (`{}`): {source}", program.display())]
    Spawn {
        /// The program.
        program: PathBuf,
        /// The operating system's reason.
        #[source]
        source: std::io::Error,
    },
    /// The caller passed something that is not an http(s) URL.
    #[error("{url:?} is not an http(s) URL")]
    NotAUrl {
        /// What was passed.
        url: String,
    },
    /// The output file stem is unusable (empty, or characters other than letters, digits,
    /// `-`, `_` and `.`).
    #[error("invalid output file name {stem:?}: use letters, digits, '-', '_' and '.' only")]
    BadFileStem {
        /// What was passed.
        stem: String,
    },
    /// The video does not exist (HTTP 404/410, removed, never existed).
    #[error("{url}: not found (removed, never existed, or the server answered 404): {message}")]
    NotFound {
        /// The URL.
        url: String,
        /// yt-dlp's message.
        message: String,
    },
    /// yt-dlp cannot get a video from the URL (no supported site, no media on the page).
    #[error("{url}: not a video yt-dlp can download: {message}")]
    Unsupported {
        /// The URL.
        url: String,
        /// yt-dlp's message.
        message: String,
    },
    /// The download finished but is not a media file with audio (e.g. a link to a JSON or
    /// text file). The downloaded file has been deleted.
    #[error("{url}: not a video: the download is not a media file with audio ({reason})")]
    NotMedia {
        /// The URL.
        url: String,
        /// What FFmpeg found when probing the download.
        #[source]
        reason: AudioError,
    },
    /// The pictures [`super::fetch_frames`] downloaded have no video stream (the site offers
    /// the sound only). The downloaded file has been deleted.
    #[error("{url}: no pictures: the site offers no video stream")]
    NoPictures {
        /// The URL.
        url: String,
    },
    /// The video is blocked in this country.
    #[error("{url}: not available in this country (geo-blocked): {message}")]
    GeoBlocked {
        /// The URL.
        url: String,
        /// yt-dlp's message.
        message: String,
    },
    /// The video is private.
    #[error("{url}: the video is private: {message}")]
    Private {
        /// The URL.
        url: String,
        /// yt-dlp's message.
        message: String,
    },
    /// The video needs a signed-in account (age-restricted, members-only).
    #[error(
        "{url}: the video needs a signed-in account (age-restricted or members-only): {message}"
    )]
    LoginRequired {
        /// The URL.
        url: String,
        /// yt-dlp's message.
        message: String,
    },
    /// A premiere or live stream that has not started yet. Retryable.
    #[error(
        "{url}: not available yet (a premiere or live stream that has not started{}): {message}",
        starts_in.map(|d| format!("; starts in about {}", human(d))).unwrap_or_default()
    )]
    NotYetAvailable {
        /// The URL.
        url: String,
        /// How long until it starts, when yt-dlp says ("Premieres in 3 hours").
        starts_in: Option<Duration>,
        /// yt-dlp's message.
        message: String,
    },
    /// The site refuses for now (HTTP 429, "confirm you're not a bot", "try again later").
    /// Retryable.
    #[error("{url}: the site is refusing requests for now (rate limit or bot check): {message}")]
    RateLimited {
        /// The URL.
        url: String,
        /// yt-dlp's message.
        message: String,
    },
    /// A network failure: connection refused or reset, DNS, socket timeout, HTTP 5xx.
    /// Retryable.
    #[error("{url}: network error: {message}")]
    Network {
        /// The URL.
        url: String,
        /// yt-dlp's message.
        message: String,
    },
    /// The whole fetch took longer than the configured timeout; yt-dlp was killed.
    /// Retryable.
    #[error("{url}: gave up after {}: the download did not finish in time", human(*timeout))]
    Timeout {
        /// The URL.
        url: String,
        /// The configured limit.
        timeout: Duration,
    },
    /// yt-dlp failed for a reason not recognised above.
    #[error("{url}: yt-dlp failed ({status}): {message}")]
    Failed {
        /// The URL.
        url: String,
        /// The exit status, as text.
        status: String,
        /// yt-dlp's last error message, or the tail of its output.
        message: String,
    },
    /// The URL, or a redirect from it, leads to an address the caller's policy refuses
    /// (loopback, private, link-local, cloud metadata).
    #[error("{url}: refused: {reason}")]
    Forbidden {
        /// The URL.
        url: String,
        /// Which address was refused and why.
        reason: String,
    },
    /// The video is longer than the caller's limit (yt-dlp's match filter refused it).
    #[error("{url}: the video is longer than the limit of {} minutes", limit.as_secs() / 60)]
    TooLong {
        /// The URL.
        url: String,
        /// The limit.
        limit: Duration,
    },
    /// The download is larger than the caller's limit; nothing was kept.
    #[error("{url}: the download is larger than the limit of {} MB", limit_bytes / (1024 * 1024))]
    TooLarge {
        /// The URL.
        url: String,
        /// The limit in bytes.
        limit_bytes: u64,
    },
    /// The video is a live stream in progress; it can be fetched once it has ended. Retryable.
    #[error("{url}: the video is a live stream in progress; it will be fetched after it ends")]
    Live {
        /// The URL.
        url: String,
    },
    /// The disk holding the output folder has less free space than the reserve. Retryable.
    #[error(
        "{}: only {} MB free, less than the {} MB that must stay free; nothing was downloaded",
        dir.display(), free_bytes / (1024 * 1024), reserve_bytes / (1024 * 1024)
    )]
    LowDisk {
        /// The output folder.
        dir: PathBuf,
        /// Free bytes found.
        free_bytes: u64,
        /// Bytes that must stay free.
        reserve_bytes: u64,
    },
    /// The disk holding the output folder filled up during the download, or its free space fell
    /// below the reserve; the download was stopped and its partial file removed. Retryable.
    #[error(
        "{}: the disk filled up during the download ({} MB must stay free); the download was \
         stopped and its partial file removed",
        dir.display(), reserve_bytes / (1024 * 1024)
    )]
    DiskFull {
        /// The output folder.
        dir: PathBuf,
        /// Bytes that must stay free.
        reserve_bytes: u64,
    },
    /// A local file operation failed (creating the output folder, reading pipes).
    #[error("{}: {source}", path.display())]
    Io {
        /// The file or folder.
        path: PathBuf,
        /// The operating system's reason.
        #[source]
        source: std::io::Error,
    },
}

impl FetchError {
    /// Whether trying again later may succeed: a premiere not yet started, a rate limit,
    /// a network failure or a timeout.
    pub fn is_retryable(&self) -> bool {
        matches!(
            self,
            Self::NotYetAvailable { .. }
                | Self::RateLimited { .. }
                | Self::Network { .. }
                | Self::Timeout { .. }
                | Self::Live { .. }
                | Self::LowDisk { .. }
                | Self::DiskFull { .. }
        )
    }

    /// When it is known, how long to wait before trying again (a premiere's start).
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            Self::NotYetAvailable { starts_in, .. } => *starts_in,
            // A stream's end is not announced; look again in an hour.
            Self::Live { .. } => Some(Duration::from_secs(3600)),
            _ => None,
        }
    }
}

/// Turns yt-dlp's error message (the text after `ERROR: `) into a typed error.
pub(crate) fn classify(url: &str, message: &str, status: &str) -> FetchError {
    let lower = message.to_lowercase();
    let has = |needles: &[&str]| needles.iter().any(|n| lower.contains(n));
    let url = url.to_string();
    let message = message.to_string();

    if has(&[
        "premiere",
        "live event will begin",
        "live stream will begin",
        "stream will begin",
        "will begin in",
        "will begin shortly",
        "not yet available",
        "is upcoming",
        "scheduled to start",
    ]) {
        let starts_in = parse_starts_in(&lower);
        return FetchError::NotYetAvailable {
            url,
            starts_in,
            message,
        };
    }
    if has(&[
        "not a bot",
        "http error 429",
        "too many requests",
        "try again later",
        "rate-limit",
        "rate limit",
    ]) {
        return FetchError::RateLimited { url, message };
    }
    if has(&[
        "private video",
        "video is private",
        "this video has been made private",
    ]) {
        return FetchError::Private { url, message };
    }
    if has(&[
        "geo restriction",
        "geo-restrict",
        "georestrict",
        "available in your country",
        "available from your location",
        "in your country",
    ]) {
        return FetchError::GeoBlocked { url, message };
    }
    if has(&[
        "confirm your age",
        "age-restricted",
        "age restricted",
        "inappropriate for some users",
        "members-only",
        "members only",
        "join this channel",
        "only available for registered users",
        "login required",
        "requires authentication",
        "sign in",
        "--cookies",
    ]) {
        return FetchError::LoginRequired { url, message };
    }
    if has(&[
        "http error 404",
        "http error 410",
        "video unavailable",
        "has been removed",
        "no longer available",
        "does not exist",
        "has been terminated",
        "video not found",
    ]) {
        return FetchError::NotFound { url, message };
    }
    if has(&[
        "unsupported url",
        // An extractor allowlist (`--use-extractors`) that no extractor of the URL is on.
        "no suitable extractor",
        "is not a valid url",
        "no video formats found",
        "requested format is not available",
        "no video could be found",
        "no media found",
    ]) {
        return FetchError::Unsupported { url, message };
    }
    if has(&[
        "unable to download",
        "connection refused",
        "connection reset",
        "connection aborted",
        "timed out",
        "timeout",
        "temporary failure in name resolution",
        "name or service not known",
        "failed to resolve",
        "network is unreachable",
        "no route to host",
        "remote end closed",
        "incompleteread",
        "incomplete read",
        "ssl",
        "http error 5",
        "transporterror",
        "unable to connect",
        "giving up after",
    ]) {
        return FetchError::Network { url, message };
    }
    FetchError::Failed {
        url,
        status: status.to_string(),
        message,
    }
}

/// Reads "in 3 hours", "in 40 days", "in 1 minute" (YouTube's wording) as a duration.
fn parse_starts_in(lower: &str) -> Option<Duration> {
    let words: Vec<&str> = lower
        .split(|c: char| c.is_whitespace() || c == '.' || c == ',')
        .filter(|w| !w.is_empty())
        .collect();
    words.windows(3).find_map(|w| {
        if w[0] != "in" {
            return None;
        }
        let n: u64 = match w[1] {
            "a" | "an" | "one" => 1,
            number => number.parse().ok()?,
        };
        let unit = match w[2].trim_end_matches('s') {
            "second" | "sec" => 1,
            "minute" | "min" => 60,
            "hour" => 3600,
            "day" => 86_400,
            "week" => 7 * 86_400,
            "month" => 30 * 86_400,
            _ => return None,
        };
        Some(Duration::from_secs(n.checked_mul(unit)?))
    })
}

fn human(d: Duration) -> String {
    let secs = d.as_secs();
    match secs {
        0..60 => format!("{:.1} s", d.as_secs_f64()),
        60..3600 => format!("{} min", secs / 60),
        3600..86_400 => format!("{} h {} min", secs / 3600, secs % 3600 / 60),
        _ => format!("{} days {} h", secs / 86_400, secs % 86_400 / 3600),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const URL: &str = "https://www.youtube.com/watch?v=dQw4w9WgXcQ";

    fn kind(message: &str) -> (&'static str, bool, Option<Duration>) {
        let e = classify(URL, message, "exit status 1");
        let name = match e {
            FetchError::NotFound { .. } => "not found",
            FetchError::Unsupported { .. } => "unsupported",
            FetchError::GeoBlocked { .. } => "geo",
            FetchError::Private { .. } => "private",
            FetchError::LoginRequired { .. } => "login",
            FetchError::NotYetAvailable { .. } => "upcoming",
            FetchError::RateLimited { .. } => "rate",
            FetchError::Network { .. } => "network",
            FetchError::Failed { .. } => "failed",
            _ => "other",
        };
        (name, e.is_retryable(), e.retry_after())
    }

    // The messages below are yt-dlp's wording as seen in its output and bug reports.
    #[test]
    fn premieres_are_retryable_with_their_start() {
        assert_eq!(
            kind("[youtube] 4pfMyoT6LhE: Premieres in 2 hours"),
            ("upcoming", true, Some(Duration::from_secs(7200)))
        );
        assert_eq!(
            kind("[youtube] Gp0fPb3IJRM: Premieres in 40 days"),
            ("upcoming", true, Some(Duration::from_secs(40 * 86_400)))
        );
        assert_eq!(
            kind("[youtube] abc: This live event will begin in 3 minutes."),
            ("upcoming", true, Some(Duration::from_secs(180)))
        );
        assert_eq!(
            kind("[youtube] abc: This live event will begin in a few moments."),
            ("upcoming", true, None)
        );
        assert_eq!(
            kind("[youtube] abc: Premiere will begin shortly"),
            ("upcoming", true, None)
        );
    }

    #[test]
    fn permanent_failures_are_not_retryable() {
        assert_eq!(
            kind("[generic] missing: Unable to download webpage: HTTP Error 404: File not found (caused by <HTTPError 404: File not found>)").0,
            "not found"
        );
        assert_eq!(kind("[youtube] xyz: Video unavailable").0, "not found");
        assert_eq!(
            kind("[youtube] xyz: Video unavailable. This video has been removed by the uploader").0,
            "not found"
        );
        assert_eq!(
            kind("Unsupported URL: http://127.0.0.1:1234/").0,
            "unsupported"
        );
        assert_eq!(
            kind("[generic] 'notaurl' is not a valid URL").0,
            "unsupported"
        );
        assert_eq!(
            kind(
                "[youtube] xyz: Private video. Sign in if you've been granted access to this video"
            )
            .0,
            "private"
        );
        assert_eq!(
            kind("[youtube] xyz: The uploader has not made this video available in your country").0,
            "geo"
        );
        assert_eq!(
            kind("[youtube] xyz: This video is not available from your location due to geo restriction").0,
            "geo"
        );
        assert_eq!(
            kind("[youtube] xyz: Sign in to confirm your age. This video may be inappropriate for some users.").0,
            "login"
        );
        assert_eq!(
            kind("[youtube] xyz: Join this channel to get access to members-only content like this video").0,
            "login"
        );
        for message in [
            "[youtube] xyz: Video unavailable",
            "Unsupported URL: http://x/",
            "[youtube] xyz: Private video",
        ] {
            assert!(!kind(message).1, "{message}");
        }
    }

    #[test]
    fn transient_failures_are_retryable() {
        assert_eq!(
            kind(
                "[generic] x: Unable to download webpage: [Errno 111] Connection refused (caused by TransportError('[Errno 111] Connection refused'))"
            ),
            ("network", true, None)
        );
        assert_eq!(
            kind(
                "[generic] x: Unable to download webpage: timed out (caused by TransportError('timed out'))"
            ),
            ("network", true, None)
        );
        assert_eq!(
            kind("Unable to download webpage: HTTP Error 503: Service Unavailable").0,
            "network"
        );
        assert_eq!(
            kind(
                "[youtube] xyz: Sign in to confirm you\u{2019}re not a bot. Use --cookies-from-browser"
            ),
            ("rate", true, None)
        );
        assert_eq!(
            kind(
                "[youtube] xyz: Video unavailable. This content isn't available, try again later."
            ),
            ("rate", true, None)
        );
        assert_eq!(
            kind("Unable to download webpage: HTTP Error 429: Too Many Requests").0,
            "rate"
        );
    }

    #[test]
    fn unknown_failures_keep_the_message() {
        let e = classify(URL, "something new went wrong", "exit status 1");
        assert!(!e.is_retryable());
        assert!(e.to_string().contains("something new went wrong"), "{e}");
    }
}
