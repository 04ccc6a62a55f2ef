//! Word-level helpers: normalising words, stop words and a light stemmer for lexical comparison.

/// A word's comparable form: lowercase, without surrounding punctuation. Inner apostrophes and
/// hyphens stay (`don't`, `well-known`).
pub(crate) fn core(word: &str) -> String {
    word.trim_matches(|c: char| !c.is_alphanumeric())
        .chars()
        .flat_map(char::to_lowercase)
        .map(|c| if c == '\u{2019}' { '\'' } else { c })
        .collect()
}

/// Words that carry no topic: function words, and the verbs and adverbs that fill speech.
const STOP_WORDS: &[&str] = &[
    "a",
    "about",
    "above",
    "actually",
    "after",
    "again",
    "against",
    "ago",
    "all",
    "almost",
    "along",
    "already",
    "also",
    "always",
    "am",
    "among",
    "an",
    "and",
    "another",
    "any",
    "anyone",
    "anything",
    "anyway",
    "are",
    "aren't",
    "around",
    "as",
    "ask",
    "asked",
    "at",
    "away",
    "back",
    "basically",
    "be",
    "became",
    "because",
    "become",
    "becomes",
    "been",
    "before",
    "begin",
    "being",
    "below",
    "best",
    "better",
    "between",
    "big",
    "bit",
    "both",
    "but",
    "by",
    "call",
    "came",
    "can",
    "can't",
    "cannot",
    "come",
    "comes",
    "coming",
    "could",
    "couldn't",
    "day",
    "days",
    "did",
    "didn't",
    "different",
    "do",
    "does",
    "doesn't",
    "doing",
    "don't",
    "done",
    "down",
    "during",
    "each",
    "easy",
    "either",
    "else",
    "end",
    "enough",
    "even",
    "ever",
    "every",
    "everyone",
    "everything",
    "exactly",
    "far",
    "few",
    "find",
    "first",
    "for",
    "from",
    "get",
    "gets",
    "getting",
    "give",
    "gives",
    "go",
    "goes",
    "going",
    "gonna",
    "good",
    "got",
    "great",
    "had",
    "has",
    "hasn't",
    "have",
    "haven't",
    "having",
    "he",
    "he's",
    "her",
    "here",
    "here's",
    "hers",
    "herself",
    "hey",
    "hi",
    "him",
    "himself",
    "his",
    "how",
    "however",
    "i",
    "i'd",
    "i'll",
    "i'm",
    "i've",
    "if",
    "in",
    "into",
    "is",
    "isn't",
    "it",
    "it's",
    "its",
    "itself",
    "just",
    "keep",
    "kind",
    "know",
    "last",
    "later",
    "least",
    "less",
    "let",
    "let's",
    "like",
    "little",
    "look",
    "looking",
    "lot",
    "lots",
    "made",
    "make",
    "makes",
    "making",
    "many",
    "may",
    "maybe",
    "me",
    "mean",
    "might",
    "mine",
    "more",
    "most",
    "much",
    "must",
    "my",
    "myself",
    "need",
    "needs",
    "never",
    "new",
    "next",
    "no",
    "none",
    "nor",
    "not",
    "nothing",
    "now",
    "of",
    "off",
    "often",
    "oh",
    "ok",
    "okay",
    "old",
    "on",
    "once",
    "one",
    "ones",
    "only",
    "onto",
    "or",
    "other",
    "others",
    "our",
    "ours",
    "ourselves",
    "out",
    "over",
    "own",
    "part",
    "people",
    "pretty",
    "put",
    "quite",
    "rather",
    "really",
    "right",
    "said",
    "same",
    "say",
    "says",
    "see",
    "seem",
    "seems",
    "she",
    "she's",
    "should",
    "shouldn't",
    "show",
    "since",
    "so",
    "some",
    "someone",
    "something",
    "sometimes",
    "soon",
    "sort",
    "start",
    "still",
    "such",
    "sure",
    "take",
    "takes",
    "tell",
    "than",
    "thank",
    "thanks",
    "that",
    "that's",
    "the",
    "their",
    "theirs",
    "them",
    "themselves",
    "then",
    "there",
    "there's",
    "these",
    "they",
    "they'll",
    "they're",
    "they've",
    "thing",
    "things",
    "think",
    "this",
    "those",
    "though",
    "three",
    "through",
    "time",
    "times",
    "to",
    "today",
    "together",
    "too",
    "took",
    "toward",
    "towards",
    "try",
    "two",
    "under",
    "until",
    "up",
    "upon",
    "us",
    "use",
    "used",
    "using",
    "very",
    "via",
    "want",
    "wants",
    "was",
    "wasn't",
    "way",
    "ways",
    "we",
    "we'll",
    "we're",
    "we've",
    "well",
    "went",
    "were",
    "weren't",
    "what",
    "what's",
    "whatever",
    "when",
    "where",
    "whether",
    "which",
    "while",
    "who",
    "whole",
    "whom",
    "whose",
    "why",
    "will",
    "with",
    "within",
    "without",
    "won't",
    "work",
    "would",
    "wouldn't",
    "yeah",
    "yes",
    "yet",
    "you",
    "you'd",
    "you'll",
    "you're",
    "you've",
    "your",
    "yours",
    "yourself",
    "yourselves",
];

/// Whether a normalised word (see [`core`]) carries no topic.
pub(crate) fn is_stop_word(core: &str) -> bool {
    STOP_WORDS.binary_search(&core).is_ok()
}

/// Whether a normalised word can say what a passage is about: not a stop word, not a number,
/// at least three characters.
pub(crate) fn is_content_word(core: &str) -> bool {
    core.chars().count() >= 3
        && core.chars().any(char::is_alphabetic)
        && !core
            .chars()
            .all(|c| c.is_ascii_digit() || c == ',' || c == '.')
        && !is_stop_word(core)
        && !crate::clean::is_filler(core)
}

/// A crude stem used only to compare words (`bake`, `baking`, `baked` → `bak`); never shown.
pub(crate) fn stem(core: &str) -> String {
    let mut w = core
        .trim_end_matches("'s")
        .trim_end_matches('\'')
        .to_owned();
    let len = w.chars().count();
    if len > 4 && w.ends_with("ies") {
        w.truncate(w.len() - 3);
        w.push('y');
    } else if len > 4 && w.ends_with("sses") {
        w.truncate(w.len() - 2);
    } else if len > 3
        && w.ends_with('s')
        && !w.ends_with("ss")
        && !w.ends_with("us")
        && !w.ends_with("is")
    {
        w.truncate(w.len() - 1);
    }
    let len = w.chars().count();
    if len > 5 && w.ends_with("ing") {
        w.truncate(w.len() - 3);
    } else if len > 4 && (w.ends_with("ed") || w.ends_with("ly")) {
        w.truncate(w.len() - 2);
    }
    let bytes = w.as_bytes();
    let n = bytes.len();
    // "stopp(ing)" and "stop" should meet, as should "bak(ing)" and "bake".
    // Only an ASCII last letter can be dropped without splitting a multi-byte character.
    let doubled = n > 3
        && bytes[n - 1].is_ascii_alphabetic()
        && bytes[n - 1] == bytes[n - 2]
        && !b"aeiouls".contains(&bytes[n - 1]);
    if doubled || (n > 3 && bytes[n - 1] == b'e') {
        w.truncate(n - 1);
    }
    w
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stop_words_are_sorted_for_binary_search() {
        let mut sorted = STOP_WORDS.to_vec();
        sorted.sort_unstable();
        sorted.dedup();
        assert_eq!(sorted, STOP_WORDS);
    }

    #[test]
    fn core_strips_punctuation_and_case() {
        assert_eq!(core("\"Hello,"), "hello");
        assert_eq!(core("Don’t."), "don't");
        assert_eq!(core("--"), "");
    }

    #[test]
    fn stems_meet_across_inflections() {
        for group in [
            ["bake", "baking", "baked"],
            ["tyre", "tyres", "tyre's"],
            ["stop", "stopping", "stops"],
            ["star", "stars", "star"],
        ] {
            let stems: Vec<String> = group.iter().map(|w| stem(w)).collect();
            assert!(
                stems.windows(2).all(|p| p[0] == p[1]),
                "{group:?} → {stems:?}"
            );
        }
        assert_ne!(stem("bread"), stem("brake"));
        // Multi-byte endings are left whole (U+2082 ends in two equal bytes).
        assert_eq!(stem("abc\u{2082}\u{2082}"), "abc\u{2082}\u{2082}");
    }

    #[test]
    fn content_words_exclude_function_words_and_numbers() {
        assert!(is_content_word("sourdough"));
        assert!(!is_content_word("the"));
        assert!(!is_content_word("20"));
        assert!(!is_content_word("um"));
        assert!(!is_content_word("ox"));
    }
}
