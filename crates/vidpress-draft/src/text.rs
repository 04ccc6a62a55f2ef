//! Word-level helpers: a word's comparable form.

/// A word's comparable form: lowercase, without surrounding punctuation. Inner apostrophes and
/// hyphens stay (`don't`, `well-known`).
pub(crate) fn core(word: &str) -> String {
    word.trim_matches(|c: char| !c.is_alphanumeric())
        .chars()
        .flat_map(char::to_lowercase)
        .map(|c| if c == '\u{2019}' { '\'' } else { c })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn core_strips_punctuation_and_case() {
        assert_eq!(core("\"Hello,"), "hello");
        assert_eq!(core("Don’t."), "don't");
        assert_eq!(core("--"), "");
    }
}
