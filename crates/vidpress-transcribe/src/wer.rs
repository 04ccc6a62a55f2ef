//! Word error rate: the word-level edit distance between a reference and a hypothesis, divided
//! by the reference's length, after normalising case, punctuation and spelled-out numbers.

use crate::guards::normalize;

/// Splits text into normalised words.
pub fn words(text: &str) -> Vec<String> {
    // Hyphenated words count as separate words either way Whisper spells them.
    normalize(&text.replace(['-', '—', '–'], " "))
        .split(' ')
        .filter(|w| !w.is_empty())
        .map(str::to_owned)
        .collect()
}

/// The word error rate of `hypothesis` against `reference` (0 = perfect).
pub fn wer(reference: &str, hypothesis: &str) -> f64 {
    let r = words(reference);
    let h = words(hypothesis);
    if r.is_empty() {
        return if h.is_empty() { 0.0 } else { 1.0 };
    }
    let mut prev: Vec<usize> = (0..=h.len()).collect();
    let mut cur = vec![0; h.len() + 1];
    for i in 1..=r.len() {
        cur[0] = i;
        for j in 1..=h.len() {
            let sub = prev[j - 1] + usize::from(r[i - 1] != h[j - 1]);
            cur[j] = sub.min(prev[j] + 1).min(cur[j - 1] + 1);
        }
        std::mem::swap(&mut prev, &mut cur);
    }
    prev[h.len()] as f64 / r.len() as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_substitutions_insertions_and_deletions() {
        assert_eq!(wer("The quick brown fox.", "the quick, brown fox"), 0.0);
        assert_eq!(wer("a b c d", "a x c d"), 0.25);
        assert_eq!(wer("a b c d", "a b c d e f"), 0.5);
        assert_eq!(wer("a b c d", "b c"), 0.5);
        assert_eq!(wer("", ""), 0.0);
        assert_eq!(wer("", "hello"), 1.0);
        assert_eq!(wer("well-known", "well known"), 0.0);
    }
}
