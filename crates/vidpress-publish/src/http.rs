//! The HTTP client every exporter uses. Connection URLs come from users, so before connecting the
//! client checks every address the host resolves to against the [`AddressPolicy`] and connects
//! only to those checked addresses (the resolver hands them to the connector: no second lookup,
//! no DNS-rebinding window). Redirects are checked the same way at every hop. Busy answers (429,
//! 5xx) and dropped connections are retried with backoff, honouring `Retry-After`.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use reqwest::dns::{Addrs, Name, Resolve, Resolving};
use reqwest::{RequestBuilder, Response, StatusCode};
use url::{Host, Url};
use vidpress_core::net::{AddressPolicy, ForbiddenAddress};

use crate::PublishError;

/// How the exporters' HTTP client behaves.
#[derive(Debug, Clone)]
pub struct HttpConfig {
    /// Which addresses connection URLs may reach.
    pub policy: AddressPolicy,
    /// The longest one request may take.
    pub timeout: Duration,
    /// Attempts of one request when the remote is busy or the connection drops.
    pub attempts: u32,
    /// The first backoff; it doubles with each retry.
    pub backoff: Duration,
    /// The longest `Retry-After` waited for in place; a longer one fails the request as busy,
    /// and the export job retries at that time instead.
    pub max_wait: Duration,
}

impl Default for HttpConfig {
    fn default() -> Self {
        HttpConfig {
            policy: AddressPolicy::PUBLIC_ONLY,
            timeout: Duration::from_secs(60),
            attempts: 4,
            backoff: Duration::from_millis(500),
            max_wait: Duration::from_secs(30),
        }
    }
}

/// The guarded, retrying client.
#[derive(Debug, Clone)]
pub struct Http {
    client: reqwest::Client,
    config: HttpConfig,
}

/// Resolves host names and refuses any whose addresses the policy forbids.
struct GuardedResolver {
    policy: AddressPolicy,
}

impl Resolve for GuardedResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let policy = self.policy;
        Box::pin(async move {
            let host = name.as_str().to_owned();
            let addresses: Vec<SocketAddr> =
                tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            policy
                .check_all(addresses.iter().map(SocketAddr::ip))
                .map_err(|e| Box::new(e) as Box<dyn std::error::Error + Send + Sync>)?;
            Ok(Box::new(addresses.into_iter()) as Addrs)
        })
    }
}

/// The address of a URL whose host is an IP literal (these skip the resolver).
fn literal_ip(url: &Url) -> Option<IpAddr> {
    match url.host()? {
        Host::Ipv4(ip) => Some(IpAddr::V4(ip)),
        Host::Ipv6(ip) => Some(IpAddr::V6(ip)),
        Host::Domain(_) => None,
    }
}

/// Refuses a URL that is not http(s) or whose literal address the policy forbids.
pub(crate) fn check_url(policy: AddressPolicy, url: &Url) -> Result<(), PublishError> {
    if !matches!(url.scheme(), "http" | "https") || url.host().is_none() {
        return Err(PublishError::Config(format!(
            "{url} is not an http:// or https:// URL"
        )));
    }
    if let Some(ip) = literal_ip(url) {
        policy.check(ip).map_err(|reason| PublishError::Refused {
            url: url.to_string(),
            reason,
        })?;
    }
    Ok(())
}

#[derive(Debug, thiserror::Error)]
#[error("more than 5 redirects")]
struct TooManyRedirects;

impl Http {
    /// A client that keeps to `config.policy`.
    pub fn new(config: HttpConfig) -> Result<Http, PublishError> {
        let policy = config.policy;
        let redirects = reqwest::redirect::Policy::custom(move |attempt| {
            if attempt.previous().len() >= 5 {
                return attempt.error(TooManyRedirects);
            }
            if let Some(ip) = literal_ip(attempt.url())
                && let Err(e) = policy.check(ip)
            {
                return attempt.error(e);
            }
            attempt.follow()
        });
        let client = reqwest::Client::builder()
            .dns_resolver(Arc::new(GuardedResolver { policy }))
            .redirect(redirects)
            .timeout(config.timeout)
            .connect_timeout(Duration::from_secs(15))
            .user_agent(concat!("Vidpress/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| PublishError::Config(format!("cannot build the HTTP client: {e}")))?;
        Ok(Http { client, config })
    }

    /// The address policy in force.
    pub fn policy(&self) -> AddressPolicy {
        self.config.policy
    }

    /// The underlying client, for building requests.
    pub(crate) fn client(&self) -> &reqwest::Client {
        &self.client
    }

    /// Sends the request `build` makes, again after a backoff while the remote is busy (429,
    /// 5xx) or the connection fails, up to the configured attempts. Any other answer, 4xx
    /// included, is returned to the caller at once.
    pub(crate) async fn send<F>(&self, url: &Url, build: F) -> Result<Response, PublishError>
    where
        F: Fn() -> RequestBuilder,
    {
        check_url(self.config.policy, url)?;
        let mut attempt = 1;
        loop {
            let backoff = self.config.backoff * 2u32.saturating_pow(attempt - 1);
            let last = attempt >= self.config.attempts;
            match build().send().await {
                Ok(response) if is_busy(response.status()) => {
                    let status = response.status();
                    let wait = retry_after(&response);
                    if last || wait.is_some_and(|w| w > self.config.max_wait) {
                        let body = response.text().await.unwrap_or_default();
                        return Err(PublishError::Busy {
                            message: format!(
                                "{} answered {status} {}",
                                origin(url),
                                short_text(&body)
                            )
                            .trim_end()
                            .to_owned(),
                            retry_after: wait,
                        });
                    }
                    let wait = wait.unwrap_or(backoff);
                    tracing::info!(%status, wait_ms = wait.as_millis() as u64, "remote busy; retrying");
                    tokio::time::sleep(wait).await;
                }
                Ok(response) => return Ok(response),
                Err(e) => {
                    let error = request_error(url, &e);
                    if last || !error.is_retryable() {
                        return Err(error);
                    }
                    tracing::info!(error = %error, "request failed; retrying");
                    tokio::time::sleep(backoff).await;
                }
            }
            attempt += 1;
        }
    }
}

fn is_busy(status: StatusCode) -> bool {
    status == StatusCode::TOO_MANY_REQUESTS || status.is_server_error()
}

/// `scheme://host:port` of a URL, for messages (never its path or query).
pub(crate) fn origin(url: &Url) -> String {
    url.origin().ascii_serialization()
}

/// The first line of a response body, shortened, for messages.
pub(crate) fn short_text(body: &str) -> String {
    let line = body.lines().find(|l| !l.trim().is_empty()).unwrap_or("");
    let mut text: String = line.trim().chars().take(200).collect();
    if line.trim().chars().count() > 200 {
        text.push('…');
    }
    text
}

/// How long `Retry-After` asks to wait: seconds, or an HTTP date.
pub(crate) fn retry_after(response: &Response) -> Option<Duration> {
    let value = response
        .headers()
        .get(reqwest::header::RETRY_AFTER)?
        .to_str()
        .ok()?;
    parse_retry_after(value, time::OffsetDateTime::now_utc())
}

fn parse_retry_after(value: &str, now: time::OffsetDateTime) -> Option<Duration> {
    let value = value.trim();
    if let Ok(seconds) = value.parse::<u64>() {
        return Some(Duration::from_secs(seconds));
    }
    let at =
        time::OffsetDateTime::parse(value, &time::format_description::well_known::Rfc2822).ok()?;
    Some((at - now).try_into().unwrap_or(Duration::ZERO))
}

/// Finds a refused address anywhere in an error's chain of causes.
fn forbidden_in<'a>(error: &'a (dyn std::error::Error + 'static)) -> Option<&'a ForbiddenAddress> {
    let mut current = Some(error);
    while let Some(e) = current {
        if let Some(f) = e.downcast_ref::<ForbiddenAddress>() {
            return Some(f);
        }
        current = e.source();
    }
    None
}

/// A request that got no answer, as a message a person can act on.
fn request_error(url: &Url, e: &reqwest::Error) -> PublishError {
    let target = e.url().cloned().unwrap_or_else(|| url.clone());
    if let Some(reason) = forbidden_in(e) {
        return PublishError::Refused {
            url: target.to_string(),
            reason: reason.clone(),
        };
    }
    if e.is_redirect() {
        return PublishError::Unreachable(format!("{} redirects too often", origin(url)));
    }
    let what = if e.is_timeout() {
        "did not answer in time".to_owned()
    } else if e.is_connect() {
        let mut cause = String::new();
        let mut source = std::error::Error::source(e);
        while let Some(s) = source {
            cause = s.to_string();
            source = s.source();
        }
        format!("cannot be reached ({cause})")
    } else {
        format!("failed: {e}")
    };
    PublishError::Unreachable(format!("{} {what}", origin(&target)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_after_reads_seconds_and_dates() {
        let now = time::macros::datetime!(2026-11-30 10:00:00 UTC);
        assert_eq!(parse_retry_after("7", now), Some(Duration::from_secs(7)));
        assert_eq!(
            parse_retry_after("Mon, 30 Nov 2026 10:01:30 GMT", now),
            Some(Duration::from_secs(90))
        );
        assert_eq!(
            parse_retry_after("Mon, 30 Nov 2026 09:00:00 GMT", now),
            Some(Duration::ZERO)
        );
        assert_eq!(parse_retry_after("soon", now), None);
    }

    #[test]
    fn literal_addresses_are_checked_before_connecting() {
        let url = Url::parse("http://169.254.169.254/latest/meta-data/").unwrap();
        let err = check_url(AddressPolicy::ALLOW_PRIVATE, &url).unwrap_err();
        assert!(err.to_string().contains("metadata"), "{err}");
        let url = Url::parse("ftp://example.org/").unwrap();
        assert!(check_url(AddressPolicy::ALLOW_PRIVATE, &url).is_err());
    }
}
