//! When a sentence is spoken, from Whisper's word times. whisper.cpp gives a pause inside a
//! segment no time of its own: the word after it starts where the word before it ended, and the
//! pause is spread over the next few words, which come out far longer than the speaker says them
//! ("…the drip is gone. Now for something completely different" has "Now" at 33.65 s, 0.05 s
//! after "gone.", while it is spoken at 35.2 s, and "something" and "completely" last a second
//! each). A section, chapter or "watch this part" link that starts at such a time starts in the
//! silence before the words, so a sentence's start is placed where its first words, said at the
//! speaker's own pace, would begin.

use crate::tokens::Token;

/// The most words at a sentence's start whose times are weighed.
const OPENING_WORDS: usize = 8;
/// Words this close together (or overlapping) are stamped back to back, as Whisper stamps the
/// words over a pause it hides.
const TOUCHING_MS: u64 = 50;
/// How much longer than the speaker's pace the opening words must take before the difference
/// counts as a hidden pause. Inside sentences, where nobody pauses, 99.3 % of word runs on the
/// draft corpus stay within this of the pace.
const HIDDEN_PAUSE_MIN_MS: f64 = 500.0;
/// A word is never expected to take less than this many letters' time ("a", "I").
const MIN_LETTERS: usize = 2;

/// How long this speaker takes per letter, as Whisper stamps the words: the median over all
/// words, which the few stretched ones do not move.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Pace {
    ms_per_letter: f64,
}

impl Pace {
    /// The pace of a transcript's words; `None` when no word has letters and a length.
    pub(crate) fn of(tokens: &[Token]) -> Option<Self> {
        let mut rates: Vec<f64> = tokens
            .iter()
            .filter_map(|t| {
                let letters = letters(&t.text);
                let ms = t.end_ms.saturating_sub(t.start_ms);
                (letters > 0 && ms > 0).then(|| ms as f64 / letters as f64)
            })
            .collect();
        if rates.is_empty() {
            return None;
        }
        rates.sort_by(f64::total_cmp);
        Some(Self {
            ms_per_letter: rates[rates.len() / 2],
        })
    }

    fn expected_ms(&self, word: &str) -> f64 {
        self.ms_per_letter * letters(word).max(MIN_LETTERS) as f64
    }
}

fn letters(word: &str) -> usize {
    word.chars().filter(|c| c.is_alphanumeric()).count()
}

fn ends_clause(word: &str) -> bool {
    word.trim_end_matches(['"', '\'', ')', '\u{201D}', '\u{2019}'])
        .ends_with([',', ';', ':', '.', '?', '!', '\u{2026}'])
}

/// When the sentence made of `words` starts to be heard: Whisper's time of its first word, or
/// later when its opening words, stamped back to back, take at least half a second longer than
/// the speaker's pace says they would; the difference is the pause Whisper hid in them.
///
/// Only the opening words up to the first comma are weighed (a comma's own pause is the
/// speaker's), never the word that ends the sentence (Whisper stretches it over the pause
/// after the sentence) and never a number (its spoken length is not its written one). Weighing
/// also stops at the first word after the sentence's first that takes no longer than the pace
/// says: whisper.cpp shares a stretch out among the words by their length, so there it has
/// caught up with the speech, and a sentence said slowly from then on would otherwise pile up
/// its slowness as if it were a pause. (The sentence's first word may be squeezed as well as
/// stretched: Whisper gives "A" or "Now" 30 ms before stretching the words after it.)
pub(crate) fn spoken_start_ms(words: &[Token], pace: Option<Pace>) -> Option<u64> {
    let first = words.first()?;
    let Some(pace) = pace else {
        return Some(first.start_ms);
    };
    let mut expected = 0.0;
    let mut hidden: f64 = 0.0;
    let mut previous_end = first.start_ms;
    for (k, w) in words.iter().take(OPENING_WORDS).enumerate() {
        let last_of_sentence = k + 1 == words.len();
        let touching = w.start_ms <= previous_end + TOUCHING_MS;
        if last_of_sentence || !touching || w.text.chars().any(|c| c.is_ascii_digit()) {
            break;
        }
        let own = pace.expected_ms(&w.text);
        expected += own;
        let taken = w.end_ms.saturating_sub(first.start_ms) as f64;
        hidden = hidden.max(taken - expected);
        previous_end = w.end_ms;
        let caught_up = k > 0 && w.end_ms.saturating_sub(w.start_ms) as f64 <= own;
        if ends_clause(&w.text) || caught_up {
            break;
        }
    }
    Some(if hidden >= HIDDEN_PAUSE_MIN_MS {
        first.start_ms + hidden.round() as u64
    } else {
        first.start_ms
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Words at a steady 70 ms a letter, each starting where the one before ended, from `at`.
    fn spoken(at: u64, text: &str) -> Vec<Token> {
        let mut t = at;
        text.split_whitespace()
            .map(|w| {
                let start_ms = t;
                t += 70 * letters(w).max(MIN_LETTERS) as u64;
                Token {
                    text: w.to_owned(),
                    start_ms,
                    end_ms: t,
                    hesitation_ms: 0,
                    probability: 0.9,
                }
            })
            .collect()
    }

    fn pace() -> Option<Pace> {
        Pace::of(&spoken(
            0,
            "a steady speaker says these words at one pace all along",
        ))
    }

    #[test]
    fn pace_is_the_median_rate_per_letter() {
        let mut words = spoken(0, "one two three four five");
        words[4].end_ms += 5000;
        let pace = Pace::of(&words).unwrap();
        assert!((pace.ms_per_letter - 70.0).abs() < 1e-9);
        assert!(Pace::of(&[]).is_none());
    }

    #[test]
    fn words_at_the_speakers_pace_keep_their_time() {
        let words = spoken(
            10_000,
            "Now for something completely different, a squeaky door.",
        );
        assert_eq!(spoken_start_ms(&words, pace()), Some(10_000));
        // A little slower than usual is still the speaker, not a pause.
        let mut slow = words.clone();
        for (k, w) in slow.iter_mut().enumerate() {
            w.start_ms += 40 * k as u64;
            w.end_ms += 40 * (k as u64 + 1);
        }
        assert_eq!(spoken_start_ms(&slow, pace()), Some(10_000));
    }

    #[test]
    fn a_pause_spread_over_the_opening_words_moves_the_start() {
        // Spoken from 11.6 s; Whisper starts "Now" at 10 s, where the sentence before ended, and
        // spreads the 1.6 s over "something", "completely" and "different,".
        let mut words = spoken(
            11_600,
            "Now for something completely different, a squeaky door.",
        );
        words[0].start_ms = 10_000;
        words[0].end_ms = 10_250;
        words[1].start_ms = 10_250;
        words[1].end_ms = 10_560;
        words[2].start_ms = 10_560;
        words[2].end_ms = 11_500;
        words[3].start_ms = 11_500;
        words[3].end_ms = 12_550;
        words[4].start_ms = 12_550;
        let start = spoken_start_ms(&words, pace()).unwrap();
        assert!(start.abs_diff(11_600) <= 100, "start {start}");
    }

    #[test]
    fn one_stretched_word_after_the_pause() {
        // "Finally," spoken at 21.5 s, stamped from 20 s: 1.5 s longer than it is.
        let mut words = spoken(21_500, "Finally, storing bread.");
        words[0].start_ms = 20_000;
        let start = spoken_start_ms(&words, pace()).unwrap();
        assert!(start.abs_diff(21_500) <= 100, "start {start}");
    }

    #[test]
    fn commas_numbers_gaps_and_the_last_word_are_not_read_as_hidden_pauses() {
        // The pause after a comma is the speaker's, even when Whisper stretches the next word
        // over it: only "Then," is weighed.
        let mut after_comma = spoken(0, "Then, after a long think, we went home.");
        for w in &mut after_comma[1..] {
            w.start_ms += 1500;
            w.end_ms += 1500;
        }
        after_comma[1].start_ms = after_comma[0].end_ms;
        assert_eq!(spoken_start_ms(&after_comma, pace()), Some(0));
        // "1876" takes longer to say than its four digits suggest.
        let mut number = spoken(0, "In 1876 Bell called.");
        number[1].end_ms += 1000;
        for w in &mut number[2..] {
            w.start_ms += 1000;
            w.end_ms += 1000;
        }
        assert_eq!(spoken_start_ms(&number, pace()), Some(0));
        // Whisper stretches the word that ends a sentence over the pause after it.
        let mut short = spoken(0, "Go home.");
        short[1].end_ms += 3000;
        assert_eq!(spoken_start_ms(&short, pace()), Some(0));
        // A word Whisper set apart was timed on its own: the gap before it is a pause it did
        // not hide, and its length says nothing of one.
        let mut apart = spoken(0, "We rest and then we go on.");
        let rest_end = apart[1].end_ms;
        for w in &mut apart[2..] {
            w.start_ms += 2000;
            w.end_ms += 2000;
        }
        apart[2].start_ms = rest_end + 200;
        assert_eq!(spoken_start_ms(&apart, pace()), Some(0));
    }

    #[test]
    fn slowness_after_whisper_caught_up_is_no_hidden_pause() {
        // "Look" and "for" at the speaker's pace, then every word half as long again: by
        // "in", the eighth word, that is 0.9 s more than the pace says, but none of it is a
        // pause.
        let pace_said = spoken(0, "Look for cuts and small stones stuck in the tread.");
        let mut words = pace_said.clone();
        let mut at = words[1].end_ms;
        for w in &mut words[2..] {
            let ms = (w.end_ms - w.start_ms) * 3 / 2;
            w.start_ms = at;
            at += ms;
            w.end_ms = at;
        }
        assert_eq!(words[7].end_ms - pace_said[7].end_ms, 875);
        assert_eq!(spoken_start_ms(&words, pace()), Some(0));
        // A squeezed first word does not end the stretch after it: Whisper gives "A" 30 ms,
        // then stretches "compost" and "heap" over the second before the sentence.
        let mut squeezed = spoken(1000, "A compost heap turns kitchen scraps into soil.");
        for (w, (start_ms, end_ms)) in squeezed.iter_mut().zip([(0, 30), (30, 1500), (1500, 1910)])
        {
            w.start_ms = start_ms;
            w.end_ms = end_ms;
        }
        assert_eq!(spoken_start_ms(&squeezed, pace()), Some(1000));
    }

    #[test]
    fn without_a_pace_whispers_time_stands() {
        let words = spoken(500, "Hello there.");
        assert_eq!(spoken_start_ms(&words, None), Some(500));
        assert_eq!(spoken_start_ms(&[], pace()), None);
    }
}
