//! Connection secrets at rest: sealed with ChaCha20-Poly1305 under the server's secret key, the
//! ciphertext bound to its owner (the associated data) so a sealed value copied onto another
//! user's row does not open. Neither the key nor an opened secret ever shows in `Debug` output.

use std::io::Write;
use std::path::Path;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use chacha20poly1305::aead::{Aead, AeadCore, KeyInit, OsRng, Payload};
use chacha20poly1305::{ChaCha20Poly1305, Key, Nonce};

const PREFIX: &str = "v1:";

/// The key connection secrets are sealed with (32 bytes).
#[derive(Clone)]
pub struct SecretKey(Key);

impl std::fmt::Debug for SecretKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SecretKey([redacted])")
    }
}

/// A secret in the clear, in memory only. `Debug` and `Display` never show it.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Secret {
        Secret(value.into())
    }

    /// The secret itself, for the one place that sends it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret([redacted])")
    }
}

/// Why a key or a sealed secret is unusable.
#[derive(Debug, thiserror::Error)]
pub enum SecretError {
    #[error(
        "the secret key must be 64 hexadecimal digits (32 bytes), e.g. from `openssl rand -hex 32`"
    )]
    MalformedKey,
    #[error("cannot read or create the secret key file {path}: {error}")]
    KeyFile { path: String, error: String },
    #[error(
        "the stored secret cannot be opened with this server's secret key (was `secret_key` or the \
         secret.key file changed?); remove the connection and add it again"
    )]
    CannotOpen,
}

impl std::str::FromStr for SecretKey {
    type Err = SecretError;
    fn from_str(s: &str) -> Result<SecretKey, SecretError> {
        SecretKey::parse(s)
    }
}

impl SecretKey {
    /// Parses a key given as 64 hex digits.
    pub fn parse(text: &str) -> Result<SecretKey, SecretError> {
        let bytes = hex::decode(text.trim()).map_err(|_| SecretError::MalformedKey)?;
        if bytes.len() != 32 {
            return Err(SecretError::MalformedKey);
        }
        Ok(SecretKey(*Key::from_slice(&bytes)))
    }

    /// Reads the key file at `path`, or, when there is none, generates a key and writes it there
    /// readable by the owner only (0600). The file holds the key as hex.
    pub fn load_or_create(path: &Path) -> Result<SecretKey, SecretError> {
        let failed = |error: std::io::Error| SecretError::KeyFile {
            path: path.display().to_string(),
            error: error.to_string(),
        };
        match std::fs::read_to_string(path) {
            Ok(text) => return SecretKey::parse(&text),
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(failed(e)),
            Err(_) => {}
        }
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(failed)?;
        }
        let key = ChaCha20Poly1305::generate_key(&mut OsRng);
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        match options.open(path) {
            Ok(mut file) => {
                file.write_all(hex::encode(key).as_bytes())
                    .and_then(|()| file.sync_all())
                    .map_err(failed)?;
                Ok(SecretKey(key))
            }
            // Another process created it first: use theirs.
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                SecretKey::parse(&std::fs::read_to_string(path).map_err(failed)?)
            }
            Err(e) => Err(failed(e)),
        }
    }

    /// Seals `secret` for `owner` (any stable label, e.g. the user id): base64 of nonce and
    /// ciphertext, prefixed with the format version.
    pub fn seal(&self, secret: &Secret, owner: &str) -> String {
        let cipher = ChaCha20Poly1305::new(&self.0);
        let nonce = ChaCha20Poly1305::generate_nonce(&mut OsRng);
        let sealed = cipher
            .encrypt(
                &nonce,
                Payload {
                    msg: secret.expose().as_bytes(),
                    aad: owner.as_bytes(),
                },
            )
            .expect("ChaCha20-Poly1305 encryption of an in-memory buffer cannot fail");
        let mut out = nonce.to_vec();
        out.extend_from_slice(&sealed);
        format!("{PREFIX}{}", STANDARD.encode(out))
    }

    /// Opens what [`SecretKey::seal`] sealed for the same owner.
    pub fn open(&self, sealed: &str, owner: &str) -> Result<Secret, SecretError> {
        let bytes = sealed
            .strip_prefix(PREFIX)
            .and_then(|b| STANDARD.decode(b).ok())
            .filter(|b| b.len() > 12)
            .ok_or(SecretError::CannotOpen)?;
        let (nonce, ciphertext) = bytes.split_at(12);
        let cipher = ChaCha20Poly1305::new(&self.0);
        let plain = cipher
            .decrypt(
                Nonce::from_slice(nonce),
                Payload {
                    msg: ciphertext,
                    aad: owner.as_bytes(),
                },
            )
            .map_err(|_| SecretError::CannotOpen)?;
        String::from_utf8(plain)
            .map(Secret)
            .map_err(|_| SecretError::CannotOpen)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sealed_secrets_open_only_for_their_owner_and_key() {
        let key = SecretKey::parse(&"ab".repeat(32)).unwrap();
        let secret = Secret::new("abcd efgh ijkl mnop qrst uvwx");
        let sealed = key.seal(&secret, "user 1");
        assert!(!sealed.contains("abcd"));
        assert_ne!(
            sealed,
            key.seal(&secret, "user 1"),
            "a fresh nonce each time"
        );
        assert_eq!(key.open(&sealed, "user 1").unwrap(), secret);
        assert!(key.open(&sealed, "user 2").is_err());
        let other = SecretKey::parse(&"cd".repeat(32)).unwrap();
        assert!(other.open(&sealed, "user 1").is_err());
        assert!(key.open("v1:AAAA", "user 1").is_err());
    }

    #[test]
    fn debug_output_never_shows_secrets() {
        let key = SecretKey::parse(&"ab".repeat(32)).unwrap();
        let secret = Secret::new("hunter2");
        assert!(!format!("{key:?}").contains("ab"));
        assert!(!format!("{secret:?}").contains("hunter2"));
    }

    #[test]
    fn malformed_keys_are_refused() {
        assert!(SecretKey::parse("abc").is_err());
        assert!(SecretKey::parse(&"ab".repeat(31)).is_err());
    }

    #[cfg(unix)]
    #[test]
    fn the_generated_key_file_is_private_and_reused() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("data").join("secret.key");
        let first = SecretKey::load_or_create(&path).unwrap();
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        let sealed = first.seal(&Secret::new("s3cret"), "u");
        let second = SecretKey::load_or_create(&path).unwrap();
        assert_eq!(second.open(&sealed, "u").unwrap().expose(), "s3cret");
    }
}
