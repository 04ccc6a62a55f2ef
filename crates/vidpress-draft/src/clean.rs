//! Clean-up of spoken words into written sentences: fillers, stutters and false starts go,
//! sentence case and spacing are fixed, and the stream is split into timed sentences.

use crate::lang::Lang;
use crate::text::core;
use crate::timing::{Pace, spoken_start_ms};
use crate::tokens::Token;

/// Words that may be said twice on purpose ("I had had enough", "what it is is").
const DOUBLING_ALLOWED: &[&str] = &["had", "is", "that"];

/// Prefixes that make a real word before a hyphen (`re-read`, `co-op`), so they are no stutter.
const HYPHEN_PREFIXES: &[&str] = &[
    "anti", "bi", "co", "de", "ex", "mid", "multi", "non", "pre", "pro", "re", "semi", "sub", "un",
];

/// Short words that speakers stutter whole (`I-I`, `the-the`); other doubled words such as
/// `bye-bye` are real words.
const STUTTERED_WORDS: &[&str] = &[
    "a", "an", "and", "he", "i", "it", "my", "she", "the", "they", "to", "we", "you",
];

/// Words after which a comma left by a removed filler reads wrong ("and, um, grind").
const COMMA_DROPPING: &[&str] = &[
    "a", "an", "and", "at", "because", "but", "for", "in", "of", "on", "or", "the", "to", "with",
];

/// Abbreviations whose period does not end a sentence.
const ABBREVIATIONS: &[&str] = &[
    "dr", "e.g", "etc", "i.e", "jr", "mr", "mrs", "ms", "prof", "sr", "st", "vs",
];

/// A cleaned sentence with its time span and the pause before it.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Sentence {
    pub text: String,
    pub start_ms: u64,
    pub end_ms: u64,
    /// Silence between the previous sentence's end and this one's start.
    pub pause_before_ms: u64,
    /// The words as shown, punctuation attached.
    pub words: Vec<String>,
    /// Whisper's confidence in each word of `words`.
    pub confidence: Vec<f32>,
    /// Each word's start time as Whisper stamped it; `start_ms` is later where Whisper hid a
    /// pause in the opening words (see [`crate::timing`]).
    pub word_start_ms: Vec<u64>,
}

fn ends_sentence(text: &str) -> bool {
    let t = text.trim_end_matches(['"', '\'', ')', '\u{201D}', '\u{2019}']);
    if !t.ends_with(['.', '?', '!', '\u{2026}']) {
        return false;
    }
    let c = core(t);
    !(t.ends_with('.') && ABBREVIATIONS.contains(&c.as_str()))
}

fn ends_with_comma(text: &str) -> bool {
    text.ends_with([',', ';'])
}

/// The punctuation a word carries after its last letter or digit.
fn trailing_punct(text: &str) -> &str {
    let end = text.trim_end_matches(|c: char| !c.is_alphanumeric()).len();
    &text[end..]
}

fn strip_trailing_punct(text: &str) -> String {
    text.trim_end_matches(|c: char| !c.is_alphanumeric())
        .to_owned()
}

/// Runs every clean-up step and splits the result into sentences.
pub(crate) fn sentences(tokens: Vec<Token>, lang: &Lang) -> Vec<Sentence> {
    let pace = Pace::of(&tokens);
    let words = fix_hyphen_stutters(tokens);
    let words = remove_fillers(words, lang);
    let words = remove_repeats(words);
    split_sentences(words, lang, pace)
}

/// `b-but` → `but`, `I-I` → `I`, `th- the` → `the`; a cut-off word before an unrelated one keeps
/// its text and gets a dash, so no word is lost.
fn fix_hyphen_stutters(tokens: Vec<Token>) -> Vec<Token> {
    let mut out: Vec<Token> = Vec::with_capacity(tokens.len());
    let mut iter = tokens.into_iter().peekable();
    while let Some(mut t) = iter.next() {
        while let Some((head, tail)) = t.text.split_once('-') {
            let (h, rest) = (core(head), core(tail));
            let is_affix = HYPHEN_PREFIXES.contains(&h.as_str());
            let same_word = h == rest && STUTTERED_WORDS.contains(&h.as_str());
            let partial = !is_affix && h.len() <= 3 && rest.starts_with(&h) && rest != h;
            if h.is_empty() || tail.is_empty() || !(same_word || partial) {
                break;
            }
            t.text = format!("{}{}", leading_punct(head), tail);
        }
        // A word cut off with a trailing dash.
        if t.text.ends_with('-') && !t.text.ends_with("--") {
            let fragment = core(&t.text);
            if let Some(next) = iter.peek() {
                let next_core = core(&next.text);
                if !fragment.is_empty() && next_core.starts_with(&fragment) {
                    continue;
                }
            }
            let kept = t.text.trim_end_matches('-').to_owned();
            t.text = format!("{kept} \u{2014}");
        }
        out.push(t);
    }
    out
}

fn leading_punct(text: &str) -> &str {
    let start = text.len()
        - text
            .trim_start_matches(|c: char| !c.is_alphanumeric())
            .len();
    &text[..start]
}

/// Removes "um", "uh" and the like everywhere, and "you know" / "I mean" where they are set off
/// as fillers (after a comma or at a sentence start, and followed by a comma).
fn remove_fillers(tokens: Vec<Token>, lang: &Lang) -> Vec<Token> {
    let mut out: Vec<Token> = Vec::with_capacity(tokens.len());
    let mut hesitation_ms = 0;
    let mut i = 0;
    while i < tokens.len() {
        let c = core(&tokens[i].text);
        let span = if lang.is_filler(&c) {
            1
        } else if lang.capitalises_i()
            && i + 1 < tokens.len()
            && matches!(
                (c.as_str(), core(&tokens[i + 1].text).as_str()),
                ("you", "know") | ("i", "mean")
            )
        {
            let second = &tokens[i + 1].text;
            let at_start = out
                .last()
                .is_none_or(|p| ends_sentence(&p.text) || ends_with_comma(&p.text));
            let set_off = ends_with_comma(second)
                || (out.last().is_some_and(|p| ends_with_comma(&p.text)) && ends_sentence(second));
            if at_start && set_off && !tokens[i].text.ends_with(',') {
                2
            } else {
                0
            }
        } else {
            0
        };
        if span == 0 {
            let mut t = tokens[i].clone();
            t.hesitation_ms += std::mem::take(&mut hesitation_ms);
            out.push(t);
            i += 1;
            continue;
        }
        let removed = &tokens[i..i + span];
        hesitation_ms += removed
            .iter()
            .map(|t| t.end_ms.saturating_sub(t.start_ms))
            .sum::<u64>();
        let last = &tokens[i + span - 1].text;
        let ends = ends_sentence(last);
        let comma = ends_with_comma(last);
        if let Some(prev) = out.last_mut() {
            if ends && !ends_sentence(&prev.text) {
                // "..., you know." ends the sentence with the word before it.
                let base = prev.text.trim_end_matches([',', ';']).to_owned();
                prev.text = format!("{base}.");
            } else if comma
                && ends_with_comma(&prev.text)
                && COMMA_DROPPING.contains(&core(&prev.text).as_str())
            {
                prev.text = prev.text.trim_end_matches([',', ';']).to_owned();
            }
        }
        i += span;
    }
    out
}

/// Drops the first of two identical runs of one to four words ("the the", "I think I think"),
/// unless a sentence ends inside the first run.
fn remove_repeats(tokens: Vec<Token>) -> Vec<Token> {
    let mut out: Vec<Token> = Vec::with_capacity(tokens.len());
    let mut cores: Vec<String> = Vec::with_capacity(tokens.len());
    for t in tokens {
        cores.push(core(&t.text));
        out.push(t);
        loop {
            let len = out.len();
            let found = (1..=4).find(|&n| {
                if len < 2 * n {
                    return false;
                }
                let (first, second) = (&cores[len - 2 * n..len - n], &cores[len - n..]);
                first == second
                    && first.iter().all(|w| !w.is_empty())
                    && !(n == 1 && DOUBLING_ALLOWED.contains(&first[0].as_str()))
                    && out[len - 2 * n..len - n]
                        .iter()
                        .all(|w| !ends_sentence(&w.text))
            });
            let Some(n) = found else { break };
            let start = len - 2 * n;
            // The kept copy takes the first copy's start time and its leading capital.
            let start_ms = out[start].start_ms;
            let capital = out[start].text.starts_with(char::is_uppercase);
            out.drain(start..start + n);
            cores.drain(start..start + n);
            out[start].start_ms = start_ms;
            if capital {
                out[start].text = capitalise(&out[start].text);
            }
        }
    }
    out
}

fn capitalise(word: &str) -> String {
    let mut done = false;
    word.chars()
        .map(|c| {
            if !done && c.is_alphabetic() {
                done = true;
                c.to_uppercase().next().unwrap_or(c)
            } else {
                c
            }
        })
        .collect()
}

/// "i" and its contractions are always capitalised.
fn fix_pronoun_i(word: &str) -> String {
    let c = core(word);
    if matches!(c.as_str(), "i" | "i'm" | "i've" | "i'll" | "i'd") {
        capitalise(word)
    } else {
        word.to_owned()
    }
}

/// Longest run-on sentence kept whole when Whisper gives no punctuation.
const MAX_SENTENCE_WORDS: usize = 60;

/// Splits at sentence-ending punctuation; run-ons without punctuation are split at their longest
/// pause. Sentences get a capital first letter and a final full stop when they lack one, and
/// start when their first words are heard (see [`timing`](crate::timing)).
fn split_sentences(tokens: Vec<Token>, lang: &Lang, pace: Option<Pace>) -> Vec<Sentence> {
    let mut groups: Vec<Vec<Token>> = Vec::new();
    let mut current: Vec<Token> = Vec::new();
    for t in tokens {
        let ends = ends_sentence(&t.text);
        current.push(t);
        if ends {
            groups.push(std::mem::take(&mut current));
        }
    }
    if !current.is_empty() {
        groups.push(current);
    }
    let mut split: Vec<Vec<Token>> = Vec::with_capacity(groups.len());
    for g in groups {
        split_run_on(g, &mut split);
    }
    let mut out = Vec::with_capacity(split.len());
    let mut previous_end = None;
    for group in split {
        let mut words: Vec<String> = group
            .iter()
            .map(|t| {
                if lang.capitalises_i() {
                    fix_pronoun_i(&t.text)
                } else {
                    t.text.clone()
                }
            })
            .collect();
        let mut confidence: Vec<f32> = group.iter().map(|t| t.probability).collect();
        let mut word_start_ms: Vec<u64> = group.iter().map(|t| t.start_ms).collect();
        // A sentence opening with punctuation left behind by a removed filler reads wrong.
        while words
            .first()
            .is_some_and(|w| !w.chars().any(char::is_alphanumeric))
        {
            words.remove(0);
            confidence.remove(0);
            word_start_ms.remove(0);
        }
        let Some(first) = words.first_mut() else {
            continue;
        };
        *first = capitalise(first.trim_start_matches([',', ';', ':']));
        if let Some(last) = words.last_mut()
            && !ends_sentence(last)
        {
            let base = strip_trailing_punct(last);
            let tail =
                trailing_punct(last).trim_start_matches([',', ';', ':', '-', '\u{2014}', ' ']);
            *last = format!("{base}{}", if tail.is_empty() { "." } else { tail });
            if !ends_sentence(last) {
                last.push('.');
            }
        }
        let start_ms = spoken_start_ms(&group, pace).unwrap_or(0);
        let end_ms = group
            .iter()
            .map(|t| t.end_ms)
            .max()
            .unwrap_or(start_ms)
            .max(start_ms);
        let hesitation_ms = group.first().map_or(0, |t| t.hesitation_ms);
        let pause_before_ms = previous_end.map_or(0, |e: u64| {
            start_ms.saturating_sub(e).saturating_sub(hesitation_ms)
        });
        previous_end = Some(end_ms);
        let text = join_words(&words);
        out.push(Sentence {
            text,
            start_ms,
            end_ms,
            pause_before_ms,
            words,
            confidence,
            word_start_ms,
        });
    }
    out
}

fn split_run_on(group: Vec<Token>, out: &mut Vec<Vec<Token>>) {
    if group.len() <= MAX_SENTENCE_WORDS {
        out.push(group);
        return;
    }
    // Split after the word followed by the longest pause, away from the ends.
    let margin = 8;
    let cut = (margin..group.len() - margin)
        .max_by_key(|&i| {
            (
                group[i].start_ms.saturating_sub(group[i - 1].end_ms),
                std::cmp::Reverse(i),
            )
        })
        .unwrap_or(group.len() / 2);
    let mut group = group;
    let rest = group.split_off(cut);
    split_run_on(group, out);
    split_run_on(rest, out);
}

/// Joins words with single spaces; a word that is only closing punctuation sticks to the word
/// before it.
pub(crate) fn join_words(words: &[String]) -> String {
    let mut text = String::with_capacity(words.iter().map(|w| w.len() + 1).sum());
    for w in words {
        let w = w.trim();
        if w.is_empty() {
            continue;
        }
        let sticks = w
            .chars()
            .all(|c| matches!(c, '.' | ',' | ';' | ':' | '!' | '?' | ')' | '\u{2026}'));
        if !text.is_empty() && !sticks {
            text.push(' ');
        }
        text.push_str(w);
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    fn toks(text: &str) -> Vec<Token> {
        text.split_whitespace()
            .enumerate()
            .map(|(i, w)| Token {
                text: w.into(),
                start_ms: i as u64 * 300,
                end_ms: i as u64 * 300 + 250,
                hesitation_ms: 0,
                probability: 0.9,
            })
            .collect()
    }

    fn clean(text: &str) -> Vec<String> {
        sentences(toks(text), &Lang::new(Some("en")))
            .into_iter()
            .map(|s| s.text)
            .collect()
    }

    #[test]
    fn fillers_go_and_punctuation_stays_readable() {
        assert_eq!(
            clean("So, um, today we talk. Uh, the beans matter."),
            ["So, today we talk.", "The beans matter."]
        );
        assert_eq!(
            clean("buy beans and, um, grind them"),
            ["Buy beans and grind them."]
        );
        assert_eq!(
            clean("You know, fresh beans matter, you know."),
            ["Fresh beans matter."]
        );
        assert_eq!(
            clean("I mean, if it tastes bitter, grind coarser."),
            ["If it tastes bitter, grind coarser."]
        );
        assert_eq!(clean("it is hard um."), ["It is hard."]);
    }

    #[test]
    fn meaningful_you_know_and_i_mean_stay() {
        assert_eq!(
            clean("Do you know the way? I mean it."),
            ["Do you know the way?", "I mean it."]
        );
    }

    #[test]
    fn stutters_and_repeated_phrases_go() {
        assert_eq!(
            clean("the the grind size matters"),
            ["The grind size matters."]
        );
        assert_eq!(clean("I I think we should go"), ["I think we should go."]);
        assert_eq!(
            clean("we went to the- to the store"),
            ["We went to the store."]
        );
        assert_eq!(
            clean("b-but th- the point is w-w-well made"),
            ["But the point is well made."]
        );
        assert_eq!(clean("I-I re-read it"), ["I re-read it."]);
        assert_eq!(
            clean("I had had enough. Go. Go."),
            ["I had had enough.", "Go.", "Go."]
        );
    }

    #[test]
    fn sentence_case_and_pronoun_i_are_fixed() {
        assert_eq!(
            clean("hello there. i'm here and i think so"),
            ["Hello there.", "I'm here and I think so."]
        );
        assert_eq!(
            clean("Mr. Smith came. He left!"),
            ["Mr. Smith came.", "He left!"]
        );
    }

    #[test]
    fn cut_off_words_keep_their_text() {
        assert_eq!(
            clean("I was going- we stayed home"),
            ["I was going \u{2014} we stayed home."]
        );
    }

    #[test]
    fn run_ons_split_at_the_longest_pause() {
        let text: Vec<String> = (0..100).map(|i| format!("w{i}")).collect();
        let mut tokens = toks(&text.join(" "));
        for t in &mut tokens[50..] {
            t.start_ms += 5000;
            t.end_ms += 5000;
        }
        let s = sentences(tokens, &Lang::new(Some("en")));
        assert_eq!(s.len(), 2);
        assert_eq!(s[0].words.len(), 50);
        assert_eq!(s[1].pause_before_ms, 5050);
    }
}
