//! The header image styles a user can pick.

/// A header image style: it sets a title card's colours and the title band's tint.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum HeaderStyle {
    /// A photograph-like picture; slate-blue cards.
    #[default]
    Photo,
    /// A flat editorial illustration; plum cards.
    Illustration,
    /// A calm, minimal picture; near-black cards.
    Minimal,
}

impl HeaderStyle {
    /// Every style, in the order a picker shows them.
    pub const ALL: [HeaderStyle; 3] = [
        HeaderStyle::Photo,
        HeaderStyle::Illustration,
        HeaderStyle::Minimal,
    ];

    /// The style's name as stored and accepted by the API.
    pub fn as_str(self) -> &'static str {
        match self {
            HeaderStyle::Photo => "photo",
            HeaderStyle::Illustration => "illustration",
            HeaderStyle::Minimal => "minimal",
        }
    }

    /// A style by its name (any case, surrounding space ignored).
    pub fn parse(name: &str) -> Option<HeaderStyle> {
        HeaderStyle::ALL
            .into_iter()
            .find(|s| s.as_str().eq_ignore_ascii_case(name.trim()))
    }
}

impl std::fmt::Display for HeaderStyle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for style in HeaderStyle::ALL {
            assert_eq!(HeaderStyle::parse(style.as_str()), Some(style));
        }
        assert_eq!(HeaderStyle::parse(" Minimal "), Some(HeaderStyle::Minimal));
        assert_eq!(HeaderStyle::parse("sepia"), None);
    }
}
