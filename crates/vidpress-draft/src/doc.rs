//! The cleaned transcript indexed for analysis: each sentence's words in comparable form, its
//! content terms (stemmed in the transcript's language), the discourse cue it opens with, and
//! how each term is best written.

use std::collections::HashMap;

use crate::clean::Sentence;
use crate::lang::{Cue, Lang};
use crate::text::core;

/// Whether the dictionary knows a word as written (punctuation aside), or in lowercase (for
/// sentence starts); numbers and single letters always pass.
fn knows(dictionary: &spellbook::Dictionary, word: &str) -> bool {
    let bare = word.trim_matches(|c: char| !c.is_alphanumeric());
    bare.chars().count() <= 1
        || !bare
            .chars()
            .all(|c| c.is_alphabetic() || c == '\'' || c == '-' || c == '\u{2019}')
        || dictionary.check(bare)
        || dictionary.check(&bare.to_lowercase())
}

/// Fewest letters of a compound's head that stands for the whole word, and of the part before it.
const COMPOUND_HEAD_MIN_LETTERS: usize = 5;
const COMPOUND_MODIFIER_MIN_LETTERS: usize = 3;

/// Of a word the dictionary does not know, the longest last part that it does know, written
/// with a capital as a noun: where Whisper misheard the first part of a compound ("Dordbacken"
/// for "Brot backen"), its head still says what kind of thing it is. After a hyphen only the
/// part after the last one is looked at ("Katoffel-Zubert": "Zubert").
fn compound_head(dictionary: &spellbook::Dictionary, word: &str) -> Option<String> {
    let bare = word.trim_matches(|c: char| !c.is_alphanumeric());
    let (last, hyphenated) = match bare.rsplit_once('-') {
        Some((_, last)) => (last, true),
        None => (bare, false),
    };
    let letters: Vec<char> = last.chars().collect();
    if letters.len() < COMPOUND_HEAD_MIN_LETTERS || !letters.iter().all(|c| c.is_alphabetic()) {
        return None;
    }
    // The whole part after a hyphen, then ever shorter last parts.
    (0..=letters.len().saturating_sub(COMPOUND_HEAD_MIN_LETTERS))
        .filter(|&i| (hyphenated && i == 0) || i >= COMPOUND_MODIFIER_MIN_LETTERS)
        .map(|i| {
            let mut head: String = letters[i..].iter().collect::<String>().to_lowercase();
            if let Some(first) = head.chars().next() {
                head.replace_range(..first.len_utf8(), &first.to_uppercase().to_string());
            }
            head
        })
        .find(|head| dictionary.check(head))
}

/// Sentences with their content terms and cues, ready for segmentation and keyphrase scoring.
#[derive(Debug)]
pub(crate) struct Doc {
    pub lang: Lang,
    pub sentences: Vec<Sentence>,
    /// Each sentence's words in comparable form (see [`core`]).
    pub cores: Vec<Vec<String>>,
    /// Each word's term id, or `None` for a word that carries no topic.
    pub word_terms: Vec<Vec<Option<u32>>>,
    /// Content term ids of each sentence, in order (cue words left out).
    pub terms: Vec<Vec<u32>>,
    /// The discourse cue each sentence opens with.
    pub cues: Vec<Option<Cue>>,
    /// How each term is written: its most frequent form away from a sentence start.
    pub display: Vec<String>,
    /// Whether each term is said right after an article (or with one, "l'hiver") somewhere.
    pub after_article: Vec<bool>,
    /// Whether the dictionary (when there is one) does not know each word.
    pub misspelled: Vec<Vec<bool>>,
    /// Whether a dictionary checked the words (so a word not in `misspelled` is a real word).
    pub spell_checked: bool,
    /// For a word of an announced topic that the dictionary does not know, in a language that
    /// joins compounds: the compound's head, its longest last part that the dictionary knows
    /// (Whisper heard "Brot backen" as "Dordbacken": "Backen"), by (sentence, word).
    pub compound_heads: HashMap<(usize, usize), String>,
}

impl Doc {
    /// Indexes cleaned sentences.
    pub(crate) fn new(
        sentences: Vec<Sentence>,
        lang: Lang,
        dictionary: Option<&spellbook::Dictionary>,
    ) -> Self {
        let mut ids: HashMap<String, u32> = HashMap::new();
        // Per term: (form, count, first seen) candidates for display.
        let mut forms: Vec<Vec<(String, u32, usize)>> = Vec::new();
        let mut after_article: Vec<bool> = Vec::new();
        let mut terms = Vec::with_capacity(sentences.len());
        let mut word_terms = Vec::with_capacity(sentences.len());
        let mut all_cores = Vec::with_capacity(sentences.len());
        let mut cues = Vec::with_capacity(sentences.len());
        let mut seen = 0usize;
        for s in &sentences {
            let cores: Vec<String> = s.words.iter().map(|w| core(w)).collect();
            let commas: Vec<bool> = s.words.iter().map(|w| w.ends_with([',', ':'])).collect();
            let cue = lang.cue(&cores, &commas);
            let skip = cue.map_or(0, |c| c.topic_start);
            let mut sentence_terms = Vec::new();
            let mut sentence_word_terms = Vec::with_capacity(cores.len());
            for (i, (word, c)) in s.words.iter().zip(&cores).enumerate() {
                if i < skip || !lang.is_content(c) {
                    sentence_word_terms.push(None);
                    continue;
                }
                let next = ids.len() as u32;
                let id = *ids.entry(lang.stem(c)).or_insert(next);
                if id == next {
                    forms.push(Vec::new());
                    after_article.push(false);
                }
                after_article[id as usize] |=
                    (i > 0 && lang.precedes_noun(&cores[i - 1])) || lang.carries_article(c);
                // Away from a sentence start, capitals are meant (names, German nouns); at the
                // start they are not.
                let shown: String = word
                    .trim_matches(|ch: char| !ch.is_alphanumeric())
                    .to_owned();
                let form = if i == 0 { c.clone() } else { shown };
                let weight = if i == 0 { 1 } else { 2 };
                let entry = &mut forms[id as usize];
                match entry.iter_mut().find(|(f, _, _)| *f == form) {
                    Some(e) => e.1 += weight,
                    None => entry.push((form, weight, seen)),
                }
                seen += 1;
                sentence_terms.push(id);
                sentence_word_terms.push(Some(id));
            }
            terms.push(sentence_terms);
            word_terms.push(sentence_word_terms);
            all_cores.push(cores);
            cues.push(cue);
        }
        let misspelled: Vec<Vec<bool>> = sentences
            .iter()
            .map(|s| {
                s.words
                    .iter()
                    .map(|w| dictionary.is_some_and(|d| !knows(d, w)))
                    .collect()
            })
            .collect();
        let mut compound_heads = HashMap::new();
        if let Some(dictionary) = dictionary.filter(|_| lang.joins_compounds()) {
            for (s, sentence) in sentences.iter().enumerate() {
                let Some(cue) = cues[s] else { continue };
                for (k, word) in sentence.words.iter().enumerate().skip(cue.topic_start) {
                    if !misspelled[s][k] {
                        continue;
                    }
                    if let Some(head) = compound_head(dictionary, word) {
                        compound_heads.insert((s, k), head);
                    }
                }
            }
        }
        let display = forms
            .into_iter()
            .map(|f| {
                f.into_iter()
                    .max_by_key(|(_, count, first)| (*count, std::cmp::Reverse(*first)))
                    .map(|(form, _, _)| form)
                    .unwrap_or_default()
            })
            .collect();
        Self {
            lang,
            sentences,
            cores: all_cores,
            word_terms,
            terms,
            cues,
            display,
            after_article,
            misspelled,
            spell_checked: dictionary.is_some(),
            compound_heads,
        }
    }

    /// Whether a word is one to rely on in a heading, tag or quote: Whisper was sure of it and
    /// the dictionary knows it.
    pub(crate) fn is_sure(&self, sentence: usize, word: usize) -> bool {
        self.sentences[sentence]
            .confidence
            .get(word)
            .is_none_or(|&p| p >= crate::REVIEW_CONFIDENCE)
            && !self.misspelled[sentence][word]
    }

    /// Whether a word may stand in a topic the speaker announces: Whisper was sure of it, or
    /// (though unsure) the dictionary knows it; a topic said outright is worth a word Whisper
    /// heard faintly, never one that is not a word.
    pub(crate) fn is_vouched(&self, sentence: usize, word: usize) -> bool {
        self.is_sure(sentence, word) || (self.spell_checked && !self.misspelled[sentence][word])
    }

    /// Whether a phrase whose first and last words are these terms names a thing: in German it
    /// ends in a noun, which is written with a capital; in Spanish and French it opens with one,
    /// a word said after an article somewhere, or a name (a capital away from a sentence
    /// start). Other languages are not judged.
    pub(crate) fn names_a_thing(&self, first: u32, last: u32) -> bool {
        let capital = |t: u32| self.display[t as usize].starts_with(char::is_uppercase);
        if self.lang.capitalises_nouns() {
            capital(last)
        } else if self.lang.articles_mark_nouns() {
            self.after_article[first as usize] || capital(first)
        } else {
            true
        }
    }

    /// How many distinct terms there are.
    pub(crate) fn vocabulary(&self) -> usize {
        self.display.len()
    }

    /// Words in sentences `range`.
    pub(crate) fn word_count(&self, range: std::ops::Range<usize>) -> usize {
        self.sentences[range].iter().map(|s| s.words.len()).sum()
    }
}
