//! The cleaned transcript indexed for lexical analysis: content terms per sentence, the phrases
//! they form, and how each term is best written.

use std::collections::HashMap;

use crate::clean::Sentence;
use crate::text::{core, is_content_word, stem};

/// Sentences with their content terms, ready for segmentation and keyword scoring.
#[derive(Debug)]
pub(crate) struct Doc {
    pub sentences: Vec<Sentence>,
    /// Content term ids of each sentence, in order.
    pub terms: Vec<Vec<u32>>,
    /// Runs of adjacent content words (no stop word or punctuation between) per sentence.
    pub phrases: Vec<Vec<Vec<u32>>>,
    /// How each term is written: its most frequent form away from a sentence start.
    pub display: Vec<String>,
}

impl Doc {
    /// Indexes cleaned sentences.
    pub(crate) fn new(sentences: Vec<Sentence>) -> Self {
        let mut ids: HashMap<String, u32> = HashMap::new();
        // Per term: (form, count, first seen) candidates for display.
        let mut forms: Vec<Vec<(String, u32, usize)>> = Vec::new();
        let mut terms = Vec::with_capacity(sentences.len());
        let mut phrases = Vec::with_capacity(sentences.len());
        let mut seen = 0usize;
        for s in &sentences {
            let mut sentence_terms = Vec::new();
            let mut runs: Vec<Vec<u32>> = Vec::new();
            let mut run: Vec<u32> = Vec::new();
            for (i, word) in s.words.iter().enumerate() {
                let c = core(word);
                if !is_content_word(&c) {
                    if !run.is_empty() {
                        runs.push(std::mem::take(&mut run));
                    }
                    continue;
                }
                let next = ids.len() as u32;
                let id = *ids.entry(stem(&c)).or_insert(next);
                if id == next {
                    forms.push(Vec::new());
                }
                // Away from a sentence start, capitals are meant (names); at the start they are not.
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
                run.push(id);
                if word.ends_with(|ch: char| !ch.is_alphanumeric()) {
                    runs.push(std::mem::take(&mut run));
                }
            }
            if !run.is_empty() {
                runs.push(run);
            }
            terms.push(sentence_terms);
            phrases.push(runs);
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
            sentences,
            terms,
            phrases,
            display,
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
