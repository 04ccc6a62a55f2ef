//! Vidpress publishing: the WordPress and Ghost clients, file exports (Markdown with front
//! matter, standalone HTML, SRT and VTT captions) and the sealing of connection secrets. This
//! crate knows nothing of the dashboard or the database: callers hand it a post and the remote
//! state of the last export, and store what it returns.

pub mod captions;
pub mod files;
pub mod ghost;
pub mod http;
pub mod secrets;
#[cfg(feature = "test-support")]
pub mod testing;
pub mod wordpress;

use std::time::Duration;

use time::OffsetDateTime;

pub use ghost::{Ghost, GhostKey};
pub use http::{Http, HttpConfig};
pub use secrets::{Secret, SecretKey};
pub use wordpress::WordPress;

use vidpress_core::net::ForbiddenAddress;

/// What a post becomes on the remote.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum PostStatus {
    /// Saved, not visible to readers (the default).
    #[default]
    Draft,
    /// Visible to readers at once.
    Publish,
    /// Published by the remote itself at this time (WordPress `future`, Ghost `scheduled`).
    Schedule(OffsetDateTime),
}

/// How far ahead a scheduled post must be when it is asked for: Ghost refuses times less than
/// two minutes ahead, and the export job needs a moment to run.
pub const MIN_SCHEDULE_LEAD: Duration = Duration::from_secs(5 * 60);

impl PostStatus {
    /// `draft`, `publish` or `schedule`.
    pub fn as_str(self) -> &'static str {
        match self {
            PostStatus::Draft => "draft",
            PostStatus::Publish => "publish",
            PostStatus::Schedule(_) => "schedule",
        }
    }

    /// When a scheduled post goes out.
    pub fn publish_at(self) -> Option<OffsetDateTime> {
        match self {
            PostStatus::Schedule(at) => Some(at),
            _ => None,
        }
    }

    /// Parses `draft` or `publish` (also `published`); `schedule` needs a time, see
    /// [`PostStatus::with_time`].
    pub fn parse(s: &str) -> Result<PostStatus, String> {
        PostStatus::with_time(s, None)
    }

    /// A status and, for `schedule`, the time the remote publishes the post at (the status
    /// `schedule` is implied when only a time is given as an empty status).
    pub fn with_time(s: &str, at: Option<OffsetDateTime>) -> Result<PostStatus, String> {
        match (s.trim(), at) {
            ("draft", None) => Ok(PostStatus::Draft),
            ("publish" | "published", None) => Ok(PostStatus::Publish),
            ("schedule" | "scheduled" | "future" | "", Some(at)) => {
                Ok(PostStatus::Schedule(at.to_offset(time::UtcOffset::UTC)))
            }
            ("schedule" | "scheduled" | "future", None) => Err(
                "a scheduled post needs the time to publish it at, e.g. 2026-12-03T09:00:00Z"
                    .into(),
            ),
            ("draft" | "publish" | "published", Some(_)) => Err(format!(
                "a time to publish at goes with the status schedule, not {}",
                s.trim()
            )),
            (other, _) => Err(format!(
                "`{other}` is not a post status; use draft, publish or schedule"
            )),
        }
    }

    /// The status as an export row stores it: its name and, for `schedule`, the time in ms since
    /// the epoch.
    pub fn from_stored(status: &str, publish_at_ms: Option<i64>) -> Result<PostStatus, String> {
        let at = publish_at_ms
            .map(|ms| {
                OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000)
                    .map_err(|_| format!("the stored time to publish at ({ms}) is out of range"))
            })
            .transpose()?;
        PostStatus::with_time(status, at)
    }

    /// For storing: the time to publish at in ms since the epoch.
    pub fn publish_at_ms(self) -> Option<i64> {
        self.publish_at()
            .map(|at| (at.unix_timestamp_nanos() / 1_000_000) as i64)
    }

    /// Parses a time to publish at: RFC 3339 (`2026-12-03T09:00:00Z`, `2026-12-03T10:00:00+01:00`).
    pub fn parse_time(s: &str) -> Result<OffsetDateTime, String> {
        OffsetDateTime::parse(s.trim(), &time::format_description::well_known::Rfc3339).map_err(
            |_| {
                format!(
                    "`{}` is not a time to publish at; write it as 2026-12-03T09:00:00Z (UTC) or \
                     with its offset, 2026-12-03T10:00:00+01:00",
                    s.trim()
                )
            },
        )
    }

    /// Refuses a scheduled time that is past or too close to `now` for the remote to accept.
    pub fn check_ahead_of(self, now: OffsetDateTime) -> Result<PostStatus, String> {
        if let PostStatus::Schedule(at) = self
            && at < now + MIN_SCHEDULE_LEAD
        {
            return Err(format!(
                "the time to publish at ({}) must be at least {} minutes from now",
                format_utc(at),
                MIN_SCHEDULE_LEAD.as_secs() / 60
            ));
        }
        Ok(self)
    }
}

/// `2026-12-03T09:00:00Z`.
pub fn format_utc(at: OffsetDateTime) -> String {
    let at = at.to_offset(time::UtcOffset::UTC);
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}Z",
        at.year(),
        u8::from(at.month()),
        at.day(),
        at.hour(),
        at.minute(),
        at.second()
    )
}

/// An image to upload with a post.
#[derive(Clone)]
pub struct Image {
    /// The file name the remote stores it under.
    pub file_name: String,
    /// `image/png`, `image/jpeg` or `image/webp`.
    pub content_type: String,
    pub bytes: Vec<u8>,
}

impl std::fmt::Debug for Image {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Image")
            .field("file_name", &self.file_name)
            .field("content_type", &self.content_type)
            .field("bytes", &self.bytes.len())
            .finish()
    }
}

impl Image {
    /// Reads an image file, its type from its extension.
    pub fn read(path: &std::path::Path) -> Result<Image, PublishError> {
        let content_type = match path
            .extension()
            .and_then(|e| e.to_str())
            .map(str::to_ascii_lowercase)
            .as_deref()
        {
            Some("png") => "image/png",
            Some("jpg" | "jpeg") => "image/jpeg",
            Some("webp") => "image/webp",
            Some("gif") => "image/gif",
            _ => {
                return Err(PublishError::File(format!(
                    "{} is not a PNG, JPEG, WebP or GIF image",
                    path.display()
                )));
            }
        };
        let bytes = std::fs::read(path).map_err(|e| {
            PublishError::File(format!("cannot read the image {}: {e}", path.display()))
        })?;
        Ok(Image {
            file_name: path
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_else(|| "header".into()),
            content_type: content_type.to_owned(),
            bytes,
        })
    }

    /// SHA-256 of the bytes, hex: an unchanged image is not uploaded again.
    pub fn digest(&self) -> String {
        use sha2::Digest;
        hex::encode(sha2::Sha256::digest(&self.bytes))
    }

    /// The copy an earlier export uploaded, when these are the same bytes (then it is not
    /// uploaded again).
    pub(crate) fn uploaded_before(&self, previous: Option<&Previous>) -> Option<RemoteImage> {
        let remote = previous?.image.as_ref()?;
        (remote.sha256 == self.digest()).then(|| remote.clone())
    }
}

/// A post to send.
#[derive(Debug, Clone)]
pub struct Post {
    pub title: String,
    pub slug: String,
    /// The body as sanitised HTML, without the title heading.
    pub html: String,
    /// The meta description.
    pub excerpt: String,
    pub tags: Vec<String>,
    pub status: PostStatus,
    /// The header image, set as the featured image.
    pub image: Option<Image>,
}

/// An image already on the remote, from an earlier export.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct RemoteImage {
    /// WordPress: the media id; Ghost: the image URL.
    pub reference: String,
    /// SHA-256 of the uploaded bytes.
    pub sha256: String,
}

/// Where an earlier export of the same draft left the remote post.
#[derive(Debug, Clone, Default)]
pub struct Previous {
    pub remote_id: String,
    /// Ghost: the post's `updated_at` as the last export left it.
    pub updated_at: Option<String>,
    pub image: Option<RemoteImage>,
}

/// The remote post after an export.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Published {
    pub remote_id: String,
    /// The post's address on the remote (for a draft, its preview link).
    pub url: String,
    /// Ghost: the post's `updated_at`, needed for the next update.
    pub updated_at: Option<String>,
    pub image: Option<RemoteImage>,
    /// Something the person should know (the post had been deleted remotely and was created anew).
    pub note: Option<String>,
}

/// Why an export or a connection test failed. Every message says what to do.
#[derive(Debug, thiserror::Error)]
pub enum PublishError {
    /// The URL (or a redirect) points at an address the server may not reach.
    #[error("{url} is refused: {reason}")]
    Refused {
        url: String,
        reason: ForbiddenAddress,
    },
    /// No answer: connection refused, DNS failure, timeout.
    #[error("{0}")]
    Unreachable(String),
    /// It answered, but not as WordPress or Ghost does.
    #[error("{0}")]
    NotASite(String),
    /// The credentials were not accepted, or never arrived.
    #[error("{0}")]
    Credentials(String),
    /// A setting is malformed (a URL, a Ghost key).
    #[error("{0}")]
    Config(String),
    /// The remote post changed since the last export.
    #[error("{0}")]
    Conflict(String),
    /// The remote refused the request (4xx): its own message.
    #[error("{0}")]
    Rejected(String),
    /// The remote stayed busy (429, 5xx) through every retry.
    #[error("{message}")]
    Busy {
        message: String,
        retry_after: Option<Duration>,
    },
    /// The answer made no sense (not JSON, fields missing).
    #[error("{0}")]
    Protocol(String),
    /// A local file could not be read or written.
    #[error("{0}")]
    File(String),
}

impl PublishError {
    /// Whether trying again later may succeed.
    pub fn is_retryable(&self) -> bool {
        matches!(
            self,
            PublishError::Unreachable(_) | PublishError::Busy { .. }
        )
    }

    /// When the remote asked to be tried again.
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            PublishError::Busy { retry_after, .. } => *retry_after,
            _ => None,
        }
    }
}

/// The HTML body for a remote post: the draft's HTML without its leading title heading (the
/// remote shows the title itself).
pub fn body_without_title(html: &str) -> String {
    let trimmed = html.trim_start();
    if let Some(rest) = trimmed.strip_prefix("<h1")
        && let Some(end) = rest.find("</h1>")
    {
        return rest[end + "</h1>".len()..].trim_start().to_owned();
    }
    html.to_owned()
}

/// A WordPress or Ghost client, as a connection makes it.
#[derive(Debug)]
pub enum Publisher {
    WordPress(WordPress),
    Ghost(Ghost),
}

impl Publisher {
    /// Checks the connection: reachable, the right kind of site, the credentials accepted.
    /// Answers a short description of what was found.
    pub async fn test(&self) -> Result<String, PublishError> {
        match self {
            Publisher::WordPress(wp) => wp.test().await,
            Publisher::Ghost(ghost) => ghost.test().await,
        }
    }

    /// Creates the post, or updates the one an earlier export made.
    pub async fn publish(
        &self,
        post: &Post,
        previous: Option<&Previous>,
    ) -> Result<Published, PublishError> {
        match self {
            Publisher::WordPress(wp) => wp.publish(post, previous).await,
            Publisher::Ghost(ghost) => ghost.publish(post, previous).await,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_title_heading_is_left_to_the_remote() {
        assert_eq!(
            body_without_title("<h1>Title</h1>\n<p>Body</p>"),
            "<p>Body</p>"
        );
        assert_eq!(body_without_title("<p>Body</p>"), "<p>Body</p>");
    }

    #[test]
    fn statuses_parse() {
        assert_eq!(PostStatus::parse("publish"), Ok(PostStatus::Publish));
        assert_eq!(PostStatus::parse("draft"), Ok(PostStatus::Draft));
        assert!(PostStatus::parse("scheduled").is_err());
        assert!(PostStatus::parse("later").is_err());
    }

    #[test]
    fn a_schedule_needs_a_time_ahead() {
        let at = PostStatus::parse_time("2026-12-03T10:00:00+01:00").unwrap();
        let status = PostStatus::with_time("schedule", Some(at)).unwrap();
        assert_eq!(status.as_str(), "schedule");
        assert_eq!(
            format_utc(status.publish_at().unwrap()),
            "2026-12-03T09:00:00Z"
        );
        assert!(PostStatus::with_time("draft", Some(at)).is_err());
        assert!(PostStatus::parse_time("3 Dec").is_err());
        let now = PostStatus::parse_time("2026-12-03T08:56:00Z").unwrap();
        assert!(status.check_ahead_of(now).is_err());
        let earlier = PostStatus::parse_time("2026-12-03T08:50:00Z").unwrap();
        assert_eq!(status.check_ahead_of(earlier), Ok(status));
        assert_eq!(
            PostStatus::from_stored("schedule", status.publish_at_ms()),
            Ok(status)
        );
        assert_eq!(
            PostStatus::from_stored("draft", None),
            Ok(PostStatus::Draft)
        );
    }
}

/// The kind of site a connection posts to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SiteKind {
    WordPress,
    Ghost,
}

/// Turns stored connections into clients: the key that seals and opens their secrets, and the
/// guarded HTTP client they share. The web server (to test connections) and the workers (to
/// export) each hold one.
#[derive(Debug, Clone)]
pub struct Exporters {
    key: SecretKey,
    http: Http,
}

impl Exporters {
    pub fn new(key: SecretKey, http: HttpConfig) -> Result<Exporters, PublishError> {
        Ok(Exporters {
            key,
            http: Http::new(http)?,
        })
    }

    /// The address policy connection URLs are held to.
    pub fn policy(&self) -> vidpress_core::net::AddressPolicy {
        self.http.policy()
    }

    /// Seals a secret for its owner (the user id).
    pub fn seal(&self, secret: &Secret, owner: i64) -> String {
        self.key.seal(secret, &owner_label(owner))
    }

    /// Opens a sealed secret of `owner`.
    pub fn open(&self, sealed: &str, owner: i64) -> Result<Secret, secrets::SecretError> {
        self.key.open(sealed, &owner_label(owner))
    }

    /// Checks a connection URL as entered: an http(s) URL whose literal address (if it is one)
    /// the policy allows. Host names are checked when connecting.
    pub fn parse_url(&self, url: &str) -> Result<url::Url, PublishError> {
        let trimmed = url.trim();
        let parsed = url::Url::parse(trimmed).map_err(|e| {
            PublishError::Config(format!(
                "`{trimmed}` is not a URL ({e}); enter the site's address, e.g. https://blog.example.com"
            ))
        })?;
        http::check_url(self.http.policy(), &parsed)?;
        Ok(parsed)
    }

    /// A client for a connection, its secret opened.
    pub fn connect(
        &self,
        kind: SiteKind,
        url: &str,
        username: Option<&str>,
        secret: &Secret,
    ) -> Result<Publisher, PublishError> {
        let url = self.parse_url(url)?;
        Ok(match kind {
            SiteKind::WordPress => Publisher::WordPress(WordPress::new(
                self.http.clone(),
                &url,
                username.unwrap_or_default(),
                secret.clone(),
            )),
            SiteKind::Ghost => Publisher::Ghost(Ghost::new(self.http.clone(), &url, secret)?),
        })
    }
}

fn owner_label(owner: i64) -> String {
    format!("vidpress connection secret of user {owner}")
}
