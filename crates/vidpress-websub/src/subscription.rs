//! What a subscription is made of on our side: a random secret shared with the hub, an
//! unguessable callback token, the callback URL built from them, and the lease arithmetic.

use std::fmt;
use std::time::Duration;

use rand::RngCore;
use url::Url;

/// The lease YouTube's hub grants (5 days); also what we ask for.
pub const DEFAULT_LEASE_SECONDS: u64 = 432_000;

/// How far into a lease a renewal is due: 80 %, leaving a day of a 5-day lease for retries.
pub const RENEW_AT_FRACTION: f64 = 0.8;

/// Random bytes in a secret or token: 256 bits, far beyond guessing.
const RANDOM_BYTES: usize = 32;

fn random_hex() -> String {
    let mut bytes = [0u8; RANDOM_BYTES];
    rand::rng().fill_bytes(&mut bytes);
    hex::encode(bytes)
}

/// The `hub.secret` of one subscription: the hub signs each notification with it.
/// Its `Debug` output hides the value so it never reaches a log.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// A fresh random secret (64 hex characters, well under the 200-byte limit of the spec).
    pub fn generate() -> Self {
        Self(random_hex())
    }

    /// Wraps a secret read back from storage.
    pub fn from_stored(secret: String) -> Self {
        Self(secret)
    }

    /// The secret, to send to the hub, store, or key an HMAC with.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(…)")
    }
}

/// Why a callback token from a request path was refused before any lookup.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{0}` is not a callback token (expected 64 lowercase hex characters)")]
pub struct InvalidToken(String);

/// The unguessable last path segment of a subscription's callback URL. Knowing it is what lets
/// a request reach the subscription, so it is random and as long as the secret.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct CallbackToken(String);

impl std::fmt::Debug for CallbackToken {
    /// The token is a secret: `Debug` shows only that there is one.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("CallbackToken(***)")
    }
}

impl CallbackToken {
    /// A fresh random token.
    pub fn generate() -> Self {
        Self(random_hex())
    }

    /// Checks that a path segment has a token's shape.
    pub fn parse(s: &str) -> Result<Self, InvalidToken> {
        if s.len() == RANDOM_BYTES * 2 && s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
        {
            Ok(Self(s.to_owned()))
        } else {
            // Cut what is echoed back: the path segment is attacker-controlled and unbounded.
            Err(InvalidToken(s.chars().take(80).collect()))
        }
    }

    /// The token as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for CallbackToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Why a callback URL could not be built.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the public URL `{0}` cannot carry a path (it must be an http or https URL)")]
pub struct InvalidPublicUrl(String);

/// The callback URL for a subscription: the server's public URL, then `websub/<token>`. A path
/// in the public URL (a server behind a reverse proxy under `/vidpress`) is kept.
pub fn callback_url(public_url: &Url, token: &CallbackToken) -> Result<Url, InvalidPublicUrl> {
    let mut url = public_url.clone();
    url.set_query(None);
    url.set_fragment(None);
    url.path_segments_mut()
        .map_err(|()| InvalidPublicUrl(public_url.to_string()))?
        .pop_if_empty()
        .extend(["websub", token.as_str()]);
    Ok(url)
}

/// The shortest lease taken from a hub: one hour (a hub's 0 would renew in a loop).
pub const MIN_LEASE_SECONDS: u64 = 3600;
/// The longest lease taken from a hub: 30 days (past it, time arithmetic could overflow).
pub const MAX_LEASE_SECONDS: u64 = 30 * 24 * 3600;

/// A lease granted by a hub, brought within [`MIN_LEASE_SECONDS`]…[`MAX_LEASE_SECONDS`].
pub fn clamp_lease(lease_seconds: u64) -> u64 {
    lease_seconds.clamp(MIN_LEASE_SECONDS, MAX_LEASE_SECONDS)
}

/// How long after a lease is granted its renewal is due.
pub fn renewal_delay(lease_seconds: u64) -> Duration {
    Duration::try_from_secs_f64(lease_seconds as f64 * RENEW_AT_FRACTION).unwrap_or(Duration::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_and_tokens_are_random_and_well_formed() {
        let (a, b) = (CallbackToken::generate(), CallbackToken::generate());
        assert_ne!(a, b);
        assert_eq!(CallbackToken::parse(a.as_str()), Ok(a.clone()));
        assert_ne!(Secret::generate(), Secret::generate());
        assert_eq!(Secret::generate().expose().len(), 64);
        assert_eq!(
            format!("{:?}", Secret::from_stored("hunter2".into())),
            "Secret(…)"
        );
        let token = CallbackToken::generate();
        assert!(!format!("{token:?}").contains(token.as_str()));
    }

    #[test]
    fn token_shapes_are_checked() {
        for bad in [
            "",
            "abc",
            &"A".repeat(64),
            &"g".repeat(64),
            &"a".repeat(65),
            "../../etc/passwd",
        ] {
            assert!(CallbackToken::parse(bad).is_err(), "{bad} accepted");
        }
        let long = "x".repeat(10_000);
        let err = CallbackToken::parse(&long).unwrap_err().to_string();
        assert!(
            err.len() < 200,
            "error echoes the whole input: {} bytes",
            err.len()
        );
    }

    #[test]
    fn callback_urls_keep_the_public_path() {
        let token = CallbackToken::parse(&"ab".repeat(32)).unwrap();
        let plain = callback_url(&Url::parse("https://vp.example.org").unwrap(), &token).unwrap();
        assert_eq!(
            plain.as_str(),
            format!("https://vp.example.org/websub/{token}")
        );
        for base in [
            "https://example.org/vidpress",
            "https://example.org/vidpress/?x=1#f",
        ] {
            let nested = callback_url(&Url::parse(base).unwrap(), &token).unwrap();
            assert_eq!(
                nested.as_str(),
                format!("https://example.org/vidpress/websub/{token}")
            );
        }
        assert!(callback_url(&Url::parse("mailto:me@example.org").unwrap(), &token).is_err());
    }

    #[test]
    fn renewal_is_due_at_eighty_percent_of_the_lease() {
        assert_eq!(
            renewal_delay(DEFAULT_LEASE_SECONDS),
            Duration::from_secs(345_600)
        );
        assert_eq!(renewal_delay(10), Duration::from_secs(8));
    }
}
