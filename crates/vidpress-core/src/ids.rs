//! YouTube identifiers: channel ids (`UC` + 22 characters) and video ids (11 characters).

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Why a string is not a valid identifier.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IdError {
    /// A channel id must be `UC` followed by 22 URL-safe base64 characters.
    #[error(
        "`{0}` is not a YouTube channel id (expected `UC` followed by 22 letters, digits, `-` or `_`)"
    )]
    Channel(String),
    /// A video id must be 11 URL-safe base64 characters.
    #[error("`{0}` is not a YouTube video id (expected 11 letters, digits, `-` or `_`)")]
    Video(String),
}

fn url_safe(s: &str) -> bool {
    s.bytes()
        .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

macro_rules! id_type {
    ($name:ident, $doc:literal, $check:expr, $err:path) => {
        #[doc = $doc]
        #[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub struct $name(String);

        impl $name {
            /// Parses and validates an identifier, trimming surrounding whitespace.
            pub fn parse(s: &str) -> Result<Self, IdError> {
                let s = s.trim();
                let check: fn(&str) -> bool = $check;
                if check(s) {
                    Ok(Self(s.to_owned()))
                } else {
                    Err($err(s.to_owned()))
                }
            }

            /// The identifier as a string slice.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl std::str::FromStr for $name {
            type Err = IdError;
            fn from_str(s: &str) -> Result<Self, IdError> {
                Self::parse(s)
            }
        }

        impl AsRef<str> for $name {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }

        impl Serialize for $name {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(&self.0)
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let s = String::deserialize(d)?;
                Self::parse(&s).map_err(serde::de::Error::custom)
            }
        }
    };
}

id_type!(
    ChannelId,
    "A YouTube channel id such as `UCuAXFkgsw1L7xaCfnd5JJOw`.",
    |s| s.len() == 24 && s.starts_with("UC") && url_safe(s),
    IdError::Channel
);
id_type!(
    VideoId,
    "A YouTube video id such as `dQw4w9WgXcQ`.",
    |s| s.len() == 11 && url_safe(s),
    IdError::Video
);

impl VideoId {
    /// The video's watch page, the only address a YouTube video is fetched from: built from the
    /// validated id, never taken from a feed's `<link>`.
    pub fn watch_url(&self) -> String {
        format!("https://www.youtube.com/watch?v={}", self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn channel_ids_are_validated() {
        assert!(ChannelId::parse("UCuAXFkgsw1L7xaCfnd5JJOw").is_ok());
        assert_eq!(
            ChannelId::parse(" UCuAXFkgsw1L7xaCfnd5JJOw\n")
                .unwrap()
                .as_str(),
            "UCuAXFkgsw1L7xaCfnd5JJOw"
        );
        for bad in [
            "",
            "UC",
            "XCuAXFkgsw1L7xaCfnd5JJOw",
            "UCuAXFkgsw1L7xaCfnd5JJO",
            "UCuAXFkgsw1L7xaCfnd5JJ/w",
        ] {
            assert!(ChannelId::parse(bad).is_err(), "{bad} accepted");
        }
    }

    #[test]
    fn video_ids_are_validated() {
        assert!(VideoId::parse("dQw4w9WgXcQ").is_ok());
        for bad in ["", "dQw4w9WgXc", "dQw4w9WgXcQQ", "dQw4w9WgX?Q"] {
            assert!(VideoId::parse(bad).is_err(), "{bad} accepted");
        }
        assert_eq!(
            VideoId::parse("dQw4w9WgXcQ").unwrap().watch_url(),
            "https://www.youtube.com/watch?v=dQw4w9WgXcQ"
        );
        let err = VideoId::parse("nope").unwrap_err().to_string();
        assert!(err.contains("`nope`"), "{err}");
    }

    #[test]
    fn ids_round_trip_through_json_and_reject_invalid() {
        let id: VideoId = serde_json::from_str("\"dQw4w9WgXcQ\"").unwrap();
        assert_eq!(serde_json::to_string(&id).unwrap(), "\"dQw4w9WgXcQ\"");
        assert!(serde_json::from_str::<VideoId>("\"bad\"").is_err());
    }
}
