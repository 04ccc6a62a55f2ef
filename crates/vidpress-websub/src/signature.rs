//! `X-Hub-Signature` checking: an HMAC of the raw request body keyed with the subscription's
//! secret, written `sha1=<hex>` (what YouTube sends) or with a SHA-2 algorithm name.

use std::fmt;

use hmac::digest::KeyInit;
use hmac::{Hmac, Mac};
use sha1::Sha1;
use sha2::{Sha256, Sha384, Sha512};
use subtle::ConstantTimeEq;

/// The name of the header a hub signs content distributions with.
pub const SIGNATURE_HEADER: &str = "X-Hub-Signature";

/// A hash the WebSub specification allows for `X-Hub-Signature`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Algorithm {
    /// HMAC-SHA1, which YouTube's hub uses.
    Sha1,
    /// HMAC-SHA256.
    Sha256,
    /// HMAC-SHA384.
    Sha384,
    /// HMAC-SHA512.
    Sha512,
}

impl Algorithm {
    /// The name used before the `=` in the header.
    pub fn as_str(self) -> &'static str {
        match self {
            Algorithm::Sha1 => "sha1",
            Algorithm::Sha256 => "sha256",
            Algorithm::Sha384 => "sha384",
            Algorithm::Sha512 => "sha512",
        }
    }

    fn parse(name: &str) -> Option<Self> {
        [
            Algorithm::Sha1,
            Algorithm::Sha256,
            Algorithm::Sha384,
            Algorithm::Sha512,
        ]
        .into_iter()
        .find(|a| a.as_str().eq_ignore_ascii_case(name))
    }
}

impl fmt::Display for Algorithm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why a notification's signature was not accepted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    /// The request carried no `X-Hub-Signature` header.
    #[error("the notification has no X-Hub-Signature header")]
    Missing,
    /// The header is not `algorithm=hex`.
    #[error("the X-Hub-Signature header is not of the form `sha1=<hex digest>`")]
    Malformed,
    /// The header names an algorithm the specification does not allow.
    #[error("the X-Hub-Signature header uses the unsupported algorithm `{0}`")]
    UnsupportedAlgorithm(String),
    /// The digest does not match the body and the subscription's secret.
    #[error("the X-Hub-Signature does not match the body (wrong secret or altered content)")]
    Mismatch,
}

/// Checks an `X-Hub-Signature` header value against the raw body and the secret given to the
/// hub. The digests are compared in constant time. Returns the algorithm the hub used.
pub fn verify_signature(
    secret: &[u8],
    body: &[u8],
    header: Option<&str>,
) -> Result<Algorithm, SignatureError> {
    let header = header.ok_or(SignatureError::Missing)?.trim();
    let (name, digest) = header.split_once('=').ok_or(SignatureError::Malformed)?;
    let algorithm = Algorithm::parse(name.trim())
        .ok_or_else(|| SignatureError::UnsupportedAlgorithm(name.trim().to_owned()))?;
    let digest = hex::decode(digest.trim()).map_err(|_| SignatureError::Malformed)?;
    let matches = match algorithm {
        Algorithm::Sha1 => mac_matches::<Hmac<Sha1>>(secret, body, &digest),
        Algorithm::Sha256 => mac_matches::<Hmac<Sha256>>(secret, body, &digest),
        Algorithm::Sha384 => mac_matches::<Hmac<Sha384>>(secret, body, &digest),
        Algorithm::Sha512 => mac_matches::<Hmac<Sha512>>(secret, body, &digest),
    };
    if matches {
        Ok(algorithm)
    } else {
        Err(SignatureError::Mismatch)
    }
}

/// Computes the header value a hub would send for `body`, e.g. `sha1=5d41…`. Used by load
/// generators and by tests that play the hub's part.
pub fn sign(algorithm: Algorithm, secret: &[u8], body: &[u8]) -> String {
    let digest = match algorithm {
        Algorithm::Sha1 => mac_bytes::<Hmac<Sha1>>(secret, body),
        Algorithm::Sha256 => mac_bytes::<Hmac<Sha256>>(secret, body),
        Algorithm::Sha384 => mac_bytes::<Hmac<Sha384>>(secret, body),
        Algorithm::Sha512 => mac_bytes::<Hmac<Sha512>>(secret, body),
    };
    format!("{algorithm}={}", hex::encode(digest))
}

fn keyed<M: Mac + KeyInit>(secret: &[u8], body: &[u8]) -> M {
    // HMAC's `KeyInit` takes keys of every length (long keys are hashed first), so this
    // cannot fail whatever the secret is.
    let mut mac = <M as Mac>::new_from_slice(secret).expect("HMAC accepts keys of any length");
    mac.update(body);
    mac
}

fn mac_matches<M: Mac + KeyInit>(secret: &[u8], body: &[u8], digest: &[u8]) -> bool {
    // `ct_eq` takes the same time wherever the first difference is (and answers false for
    // another length), so timing reveals nothing about the expected digest.
    mac_bytes::<M>(secret, body).as_slice().ct_eq(digest).into()
}

fn mac_bytes<M: Mac + KeyInit>(secret: &[u8], body: &[u8]) -> Vec<u8> {
    keyed::<M>(secret, body).finalize().into_bytes().to_vec()
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &[u8] = b"It's a Secret to Everybody";
    const BODY: &[u8] = b"Hello, World!";

    #[test]
    fn known_vectors_verify() {
        // Digests computed independently (Python's hmac module) for the same key and body.
        let sha1 = "sha1=01dc10d0c83e72ed246219cdd91669667fe2ca59";
        let sha256 = "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17";
        assert_eq!(
            verify_signature(SECRET, BODY, Some(sha1)),
            Ok(Algorithm::Sha1)
        );
        assert_eq!(
            verify_signature(SECRET, BODY, Some(sha256)),
            Ok(Algorithm::Sha256)
        );
        assert_eq!(sign(Algorithm::Sha1, SECRET, BODY), sha1);
        assert_eq!(sign(Algorithm::Sha256, SECRET, BODY), sha256);
    }

    #[test]
    fn every_algorithm_round_trips_and_tolerates_case_and_spaces() {
        for algorithm in [
            Algorithm::Sha1,
            Algorithm::Sha256,
            Algorithm::Sha384,
            Algorithm::Sha512,
        ] {
            let header = sign(algorithm, SECRET, BODY);
            assert_eq!(verify_signature(SECRET, BODY, Some(&header)), Ok(algorithm));
            let shouted = format!(" {} ", header.to_uppercase());
            assert_eq!(
                verify_signature(SECRET, BODY, Some(&shouted)),
                Ok(algorithm)
            );
        }
    }

    #[test]
    fn wrong_secret_body_or_digest_is_a_mismatch() {
        let header = sign(Algorithm::Sha1, SECRET, BODY);
        assert_eq!(
            verify_signature(b"other", BODY, Some(&header)),
            Err(SignatureError::Mismatch)
        );
        assert_eq!(
            verify_signature(SECRET, b"Hello, World?", Some(&header)),
            Err(SignatureError::Mismatch)
        );
        // A truncated digest and a digest of another algorithm's length are refused too.
        assert_eq!(
            verify_signature(SECRET, BODY, Some(&header[..header.len() - 2])),
            Err(SignatureError::Mismatch)
        );
        let long = sign(Algorithm::Sha256, SECRET, BODY).replace("sha256", "sha1");
        assert_eq!(
            verify_signature(SECRET, BODY, Some(&long)),
            Err(SignatureError::Mismatch)
        );
    }

    #[test]
    fn missing_and_malformed_headers_are_told_apart() {
        assert_eq!(
            verify_signature(SECRET, BODY, None),
            Err(SignatureError::Missing)
        );
        assert_eq!(
            verify_signature(SECRET, BODY, Some("sha1")),
            Err(SignatureError::Malformed)
        );
        assert_eq!(
            verify_signature(SECRET, BODY, Some("sha1=xyz")),
            Err(SignatureError::Malformed)
        );
        assert_eq!(
            verify_signature(SECRET, BODY, Some("md5=00")),
            Err(SignatureError::UnsupportedAlgorithm("md5".into()))
        );
    }
}
