//! YouTube's side of the protocol other than the hub: topic and feed URLs, resolving handles
//! and legacy channel URLs to channel ids from the channel page, and fetching a channel's feed
//! for the polling backstop. The base URL is configurable so tests can serve on 127.0.0.1.

use url::Url;
use vidpress_core::ChannelId;

use crate::channel_ref::ChannelRef;
use crate::feed::{Feed, FeedError, channel_from_uri, parse_feed};

/// Where YouTube lives.
pub const YOUTUBE_BASE_URL: &str = "https://www.youtube.com";

/// The most of a channel page that is read (YouTube's are around 1 MiB).
pub const MAX_PAGE_BYTES: usize = 8 * 1024 * 1024;

/// The most of a channel feed that is read (YouTube's carry 15 entries, about 40 KiB).
pub const MAX_FEED_BYTES: usize = 2 * 1024 * 1024;

/// A tag longer than this is not read for attributes; real `<link>`/`<meta>` tags are short.
const MAX_TAG_BYTES: usize = 4096;

/// A channel identified from what a person typed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResolvedChannel {
    /// The channel's id.
    pub id: ChannelId,
    /// Its name from the page (`og:title`), when a page was read.
    pub title: Option<String>,
}

/// Why YouTube could not be asked, or did not answer usefully.
#[derive(Debug, thiserror::Error)]
pub enum YouTubeError {
    /// The request failed in transport.
    #[error("could not fetch {url}: {source}")]
    Request {
        /// What was fetched.
        url: String,
        /// The transport error.
        #[source]
        source: reqwest::Error,
    },
    /// The handle or name has no channel page.
    #[error("YouTube has no channel {reference} (HTTP 404 from {url})")]
    NotFound {
        /// What was looked up.
        reference: String,
        /// The page's URL.
        url: String,
    },
    /// Another non-2xx status.
    #[error("YouTube answered HTTP {status} for {url}")]
    Status {
        /// What was fetched.
        url: String,
        /// The status.
        status: u16,
    },
    /// The response was larger than the limit.
    #[error("the response from {url} is larger than {limit} bytes")]
    TooLarge {
        /// What was fetched.
        url: String,
        /// The limit in bytes.
        limit: usize,
    },
    /// The channel page did not say which channel it is.
    #[error("the page {url} names no channel id (no canonical /channel/UC… link)")]
    NoChannelId {
        /// The page's URL.
        url: String,
    },
    /// The channel's feed could not be parsed.
    #[error("the feed {url} could not be read: {source}")]
    Feed {
        /// The feed's URL.
        url: String,
        /// The parse error.
        #[source]
        source: FeedError,
    },
}

/// A client for YouTube's channel pages and feeds.
#[derive(Debug, Clone)]
pub struct YouTube {
    http: reqwest::Client,
    base: Url,
}

impl YouTube {
    /// A client for the YouTube at `base` ([`YOUTUBE_BASE_URL`] outside tests).
    pub fn new(http: reqwest::Client, base: Url) -> Self {
        Self { http, base }
    }

    /// The WebSub topic for a channel's uploads: `…/xml/feeds/videos.xml?channel_id=UC…`.
    pub fn topic_url(&self, channel: &ChannelId) -> Url {
        self.url(&["xml", "feeds", "videos.xml"], Some(channel))
    }

    /// The channel's public Atom feed of recent uploads: `…/feeds/videos.xml?channel_id=UC…`.
    pub fn feed_url(&self, channel: &ChannelId) -> Url {
        self.url(&["feeds", "videos.xml"], Some(channel))
    }

    fn url(&self, segments: &[&str], channel: Option<&ChannelId>) -> Url {
        let mut url = self.base.clone();
        url.set_query(None);
        url.set_fragment(None);
        if let Ok(mut path) = url.path_segments_mut() {
            path.pop_if_empty().extend(segments);
        }
        if let Some(channel) = channel {
            url.query_pairs_mut()
                .append_pair("channel_id", channel.as_str());
        }
        url
    }

    /// Finds the channel id for a reference. Ids are returned as they are; handles and
    /// legacy names are looked up by reading the channel page's canonical URL.
    #[tracing::instrument(skip(self), fields(reference = %reference))]
    pub async fn resolve(&self, reference: &ChannelRef) -> Result<ResolvedChannel, YouTubeError> {
        if let ChannelRef::Id(id) = reference {
            return Ok(ResolvedChannel {
                id: id.clone(),
                title: None,
            });
        }
        let mut url = self.base.clone();
        url.set_query(None);
        url.set_fragment(None);
        let base_path = url.path().trim_end_matches('/').to_owned();
        url.set_path(&format!("{base_path}{}", reference.page_path()));
        let response = self.get(&url).await?;
        if response.status() == reqwest::StatusCode::NOT_FOUND {
            return Err(YouTubeError::NotFound {
                reference: reference.to_string(),
                url: url.to_string(),
            });
        }
        let page = read_limited(response, &url, MAX_PAGE_BYTES).await?;
        let page = String::from_utf8_lossy(&page);
        let id = canonical_channel_id(&page).ok_or_else(|| YouTubeError::NoChannelId {
            url: url.to_string(),
        })?;
        Ok(ResolvedChannel {
            id,
            title: meta_content(&page, "og:title"),
        })
    }

    /// Fetches and parses a channel's public feed (the polling backstop).
    #[tracing::instrument(skip(self), fields(channel = %channel))]
    pub async fn fetch_feed(&self, channel: &ChannelId) -> Result<Feed, YouTubeError> {
        let url = self.feed_url(channel);
        let response = self.get(&url).await?;
        let body = read_limited(response, &url, MAX_FEED_BYTES).await?;
        parse_feed(&body).map_err(|source| YouTubeError::Feed {
            url: url.to_string(),
            source,
        })
    }

    async fn get(&self, url: &Url) -> Result<reqwest::Response, YouTubeError> {
        self.http
            .get(url.clone())
            // Declines the cookie-consent interstitial that YouTube shows some regions instead
            // of the page.
            .header(reqwest::header::COOKIE, "SOCS=CAI")
            .send()
            .await
            .map_err(|source| YouTubeError::Request {
                url: url.to_string(),
                source,
            })
    }
}

/// Reads a successful response's body, refusing more than `limit` bytes.
async fn read_limited(
    mut response: reqwest::Response,
    url: &Url,
    limit: usize,
) -> Result<Vec<u8>, YouTubeError> {
    let status = response.status();
    if !status.is_success() {
        return Err(YouTubeError::Status {
            url: url.to_string(),
            status: status.as_u16(),
        });
    }
    let too_large = || YouTubeError::TooLarge {
        url: url.to_string(),
        limit,
    };
    if response.content_length().is_some_and(|n| n > limit as u64) {
        return Err(too_large());
    }
    let mut body = Vec::new();
    while let Some(chunk) = response
        .chunk()
        .await
        .map_err(|source| YouTubeError::Request {
            url: url.to_string(),
            source,
        })?
    {
        if body.len() + chunk.len() > limit {
            return Err(too_large());
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

/// The channel id a channel page declares: its `<link rel="canonical">`, else its `og:url`,
/// else a `<meta itemprop="channelId"|"identifier">`.
pub fn canonical_channel_id(html: &str) -> Option<ChannelId> {
    let from_url = |href: &str| channel_from_uri(href).and_then(Result::ok);
    let canonical = tags(html, "link")
        .filter(|attrs| attr(attrs, "rel").is_some_and(|r| r.eq_ignore_ascii_case("canonical")))
        .find_map(|attrs| attr(&attrs, "href").and_then(from_url));
    canonical
        .or_else(|| meta_content(html, "og:url").as_deref().and_then(from_url))
        .or_else(|| {
            tags(html, "meta")
                .filter(|attrs| {
                    attr(attrs, "itemprop").is_some_and(|p| p == "channelId" || p == "identifier")
                })
                .find_map(|attrs| attr(&attrs, "content").and_then(|c| ChannelId::parse(c).ok()))
        })
}

/// The `content` of `<meta property=NAME>` (or `name=NAME`).
fn meta_content(html: &str, name: &str) -> Option<String> {
    tags(html, "meta")
        .find(|attrs| attr(attrs, "property").or_else(|| attr(attrs, "name")) == Some(name))
        .and_then(|attrs| attr(&attrs, "content").map(str::to_owned))
}

fn attr<'a>(attrs: &'a [(String, String)], name: &str) -> Option<&'a str> {
    attrs
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

/// The attributes of every `<name …>` tag in an HTML document, names lowercased and values
/// with the common character references decoded. Tolerant, not a full HTML parser: it only
/// needs to find the few head tags a channel page always has.
fn tags<'a>(html: &'a str, name: &'a str) -> impl Iterator<Item = Vec<(String, String)>> + 'a {
    html.match_indices('<').filter_map(move |(at, _)| {
        let rest = &html[at + 1..];
        let after = rest.get(..name.len())?;
        if !after.eq_ignore_ascii_case(name) {
            return None;
        }
        let rest = &rest[name.len()..];
        if !rest.starts_with(|c: char| c.is_ascii_whitespace() || c == '/' || c == '>') {
            return None;
        }
        // Look for the tag's end only within the length limit, so a page full of unclosed
        // tags costs linear time.
        let window = &rest.as_bytes()[..rest.len().min(MAX_TAG_BYTES)];
        let end = window.iter().position(|&b| b == b'>')?;
        Some(parse_attributes(&rest[..end]))
    })
}

fn parse_attributes(mut s: &str) -> Vec<(String, String)> {
    let mut attrs = Vec::new();
    loop {
        s = s.trim_start_matches(|c: char| c.is_ascii_whitespace() || c == '/');
        let name_end = s
            .find(|c: char| c.is_ascii_whitespace() || c == '=' || c == '/')
            .unwrap_or(s.len());
        if name_end == 0 {
            return attrs;
        }
        let name = s[..name_end].to_ascii_lowercase();
        s = s[name_end..].trim_start();
        let value = if let Some(after_eq) = s.strip_prefix('=') {
            let after_eq = after_eq.trim_start();
            let (value, rest) = match after_eq.chars().next() {
                Some(q @ ('"' | '\'')) => {
                    let inner = &after_eq[1..];
                    let close = inner.find(q).unwrap_or(inner.len());
                    (&inner[..close], inner.get(close + 1..).unwrap_or(""))
                }
                _ => {
                    let end = after_eq
                        .find(|c: char| c.is_ascii_whitespace())
                        .unwrap_or(after_eq.len());
                    (&after_eq[..end], &after_eq[end..])
                }
            };
            s = rest;
            decode_references(value)
        } else {
            String::new()
        };
        attrs.push((name, value));
    }
}

/// Decodes the character references YouTube puts in attribute values.
fn decode_references(value: &str) -> String {
    if !value.contains('&') {
        return value.to_owned();
    }
    let mut out = String::with_capacity(value.len());
    let mut rest = value;
    while let Some(amp) = rest.find('&') {
        out.push_str(&rest[..amp]);
        rest = &rest[amp..];
        let decoded = rest.find(';').filter(|&semi| semi <= 10).and_then(|semi| {
            let entity = &rest[1..semi];
            let c = match entity {
                "amp" => Some('&'),
                "lt" => Some('<'),
                "gt" => Some('>'),
                "quot" => Some('"'),
                "apos" => Some('\''),
                _ => {
                    let number = entity.strip_prefix('#')?;
                    let code = match number.strip_prefix(['x', 'X']) {
                        Some(hex) => u32::from_str_radix(hex, 16).ok()?,
                        None => number.parse().ok()?,
                    };
                    char::from_u32(code)
                }
            }?;
            Some((c, semi + 1))
        });
        match decoded {
            Some((c, len)) => {
                out.push(c);
                rest = &rest[len..];
            }
            None => {
                out.push('&');
                rest = &rest[1..];
            }
        }
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const ID: &str = "UCuAXFkgsw1L7xaCfnd5JJOw";

    fn youtube(base: &str) -> YouTube {
        YouTube::new(reqwest::Client::new(), Url::parse(base).unwrap())
    }

    #[test]
    fn topic_and_feed_urls_follow_youtube_and_keep_a_base_path() {
        let channel = ChannelId::parse(ID).unwrap();
        let yt = youtube(YOUTUBE_BASE_URL);
        assert_eq!(
            yt.topic_url(&channel).as_str(),
            format!("https://www.youtube.com/xml/feeds/videos.xml?channel_id={ID}")
        );
        assert_eq!(
            yt.feed_url(&channel).as_str(),
            format!("https://www.youtube.com/feeds/videos.xml?channel_id={ID}")
        );
        let local = youtube("http://127.0.0.1:9/yt/");
        assert_eq!(
            local.topic_url(&channel).as_str(),
            format!("http://127.0.0.1:9/yt/xml/feeds/videos.xml?channel_id={ID}")
        );
    }

    #[test]
    fn canonical_ids_are_found_in_a_channel_page_head() {
        let page = format!(
            r#"<!DOCTYPE html><html><head><meta name="theme-color" content="rgba(255,255,255,0.98)">
            <LINK REL="canonical" HREF="https://www.youtube.com/channel/{ID}">
            <meta property="og:title" content="Tom &amp; Jerry&#39;s &#x1F600;">
            </head><body>{{"externalId":"UCwrongwrongwrongwrong00"}}</body></html>"#
        );
        assert_eq!(
            canonical_channel_id(&page),
            Some(ChannelId::parse(ID).unwrap())
        );
        assert_eq!(
            meta_content(&page, "og:title").as_deref(),
            Some("Tom & Jerry's 😀")
        );
    }

    #[test]
    fn og_url_and_itemprop_are_fallbacks() {
        let og =
            format!(r#"<meta property="og:url" content='https://www.youtube.com/channel/{ID}'>"#);
        assert_eq!(canonical_channel_id(&og).unwrap().as_str(), ID);
        let itemprop = format!(r#"<meta itemprop=channelId content={ID}>"#);
        assert_eq!(canonical_channel_id(&itemprop).unwrap().as_str(), ID);
        assert_eq!(
            canonical_channel_id(r#"<link rel="canonical" href="https://www.youtube.com/@x">"#),
            None
        );
        assert_eq!(canonical_channel_id("<link <link <meta"), None);
    }

    #[test]
    fn references_decode_and_leave_stray_ampersands() {
        assert_eq!(
            decode_references("a &amp; b &bogus; c & d &#65;"),
            "a & b &bogus; c & d A"
        );
    }
}
