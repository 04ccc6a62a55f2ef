//! Where the post breaks: sections at topic shifts, found TextTiling-style from the lexical
//! cohesion between the words before and after each sentence gap, and paragraphs at pauses
//! and sentence boundaries inside each section.

use std::ops::Range;

use crate::doc::Doc;

/// Knobs for finding sections and paragraphs.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Limits {
    pub min_section_words: usize,
    pub max_sections: usize,
}

/// How many spoken words each side of a paragraph break are compared.
const BLOCK_WORDS: usize = 120;

/// A paragraph never grows past this many words…
const PARAGRAPH_MAX_WORDS: usize = 120;
/// …or this many sentences.
const PARAGRAPH_MAX_SENTENCES: usize = 7;
/// Below this a paragraph only ends where the section does.
const PARAGRAPH_MIN_WORDS: usize = 30;
/// Past this a paragraph ends at any ordinary pause.
const PARAGRAPH_TARGET_WORDS: usize = 80;

/// Sentence ranges: the sections, each a list of paragraphs. Paragraphs come first; sections
/// then start at the paragraph breaks where the vocabulary changes most (TextTiling places its
/// boundaries at paragraph breaks too).
pub(crate) fn layout(doc: &Doc, limits: Limits) -> Vec<Vec<Range<usize>>> {
    let n = doc.sentences.len();
    if n == 0 {
        return Vec::new();
    }
    let thresholds = PauseThresholds::new(doc);
    let paragraphs = paragraphs(doc, 0..n, &thresholds);
    let starts: Vec<usize> = paragraphs.iter().map(|p| p.start).collect();
    let chosen = section_starts(doc, limits, &starts);
    let mut sections: Vec<Vec<Range<usize>>> = Vec::with_capacity(chosen.len());
    for p in paragraphs {
        if chosen.contains(&p.start) || sections.is_empty() {
            sections.push(Vec::new());
        }
        if let Some(section) = sections.last_mut() {
            section.push(p);
        }
    }
    sections
}

/// Of the paragraph starts `candidates`, those that open a section; the first is always 0.
fn section_starts(doc: &Doc, limits: Limits, candidates: &[usize]) -> Vec<usize> {
    let n = doc.sentences.len();
    let total_words = doc.word_count(0..n);
    let max_sections = limits
        .max_sections
        .min(total_words / limits.min_section_words.max(1))
        .max(1);
    if candidates.len() < 3 || max_sections < 2 {
        return vec![0];
    }
    // Hearst's block comparison: the words of about 120 spoken words' worth of paragraphs before
    // each paragraph break against as many after it.
    let paragraph_words = total_words as f64 / candidates.len() as f64;
    let block = ((BLOCK_WORDS as f64 / paragraph_words).round() as usize).clamp(1, 4);
    let mut bounds: Vec<usize> = candidates.to_vec();
    bounds.push(n);
    let bag = |from: usize, to: usize| -> Vec<u32> {
        doc.terms[bounds[from]..bounds[to]]
            .iter()
            .flatten()
            .copied()
            .collect()
    };
    let gaps: Vec<usize> = (1..candidates.len()).collect();
    let sim: Vec<f64> = gaps
        .iter()
        .map(|&k| {
            let left = bag(k.saturating_sub(block), k);
            let right = bag(k, (k + block).min(candidates.len()));
            cosine(&left, &right)
        })
        .collect();
    let gaps: Vec<usize> = gaps.into_iter().map(|k| candidates[k]).collect();
    let m = gaps.len();
    let mut depths: Vec<(f64, usize)> = (0..m)
        .filter(|&k| (k == 0 || sim[k] <= sim[k - 1]) && (k + 1 == m || sim[k] <= sim[k + 1]))
        .map(|k| {
            let mut left = sim[k];
            let mut i = k;
            while i > 0 && sim[i - 1] >= left {
                i -= 1;
                left = sim[i];
            }
            let mut right = sim[k];
            let mut j = k;
            while j + 1 < m && sim[j + 1] >= right {
                j += 1;
                right = sim[j];
            }
            ((left - sim[k]) + (right - sim[k]), gaps[k])
        })
        .collect();
    if depths.is_empty() {
        return vec![0];
    }
    let mean = depths.iter().map(|d| d.0).sum::<f64>() / depths.len() as f64;
    let sd =
        (depths.iter().map(|d| (d.0 - mean).powi(2)).sum::<f64>() / depths.len() as f64).sqrt();
    let cutoff = (mean - 0.5 * sd).max(0.1);
    depths.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
    let words_before: Vec<usize> = doc
        .sentences
        .iter()
        .scan(0, |acc, s| {
            let before = *acc;
            *acc += s.words.len();
            Some(before)
        })
        .collect();
    let mut chosen: Vec<usize> = vec![0];
    for (depth, g) in depths {
        if depth < cutoff || chosen.len() >= max_sections {
            break;
        }
        let far_enough = |other: usize| {
            words_before[g].abs_diff(words_before[other]) >= limits.min_section_words
        };
        if chosen.iter().all(|&c| far_enough(c))
            && total_words - words_before[g] >= limits.min_section_words
        {
            chosen.push(g);
        }
    }
    chosen.sort_unstable();
    chosen
}

/// Cosine similarity of two bags of term ids.
fn cosine(left: &[u32], right: &[u32]) -> f64 {
    if left.is_empty() || right.is_empty() {
        return 1.0;
    }
    let (l, r) = (counts(left), counts(right));
    let norm = |v: &[(u32, f64)]| v.iter().map(|(_, c)| c * c).sum::<f64>().sqrt();
    let (mut i, mut j, mut dot) = (0, 0, 0.0);
    while i < l.len() && j < r.len() {
        match l[i].0.cmp(&r[j].0) {
            std::cmp::Ordering::Less => i += 1,
            std::cmp::Ordering::Greater => j += 1,
            std::cmp::Ordering::Equal => {
                dot += l[i].1 * r[j].1;
                i += 1;
                j += 1;
            }
        }
    }
    dot / (norm(&l) * norm(&r))
}

/// A bag of term ids as sorted (term, count) pairs.
fn counts(terms: &[u32]) -> Vec<(u32, f64)> {
    let mut sorted = terms.to_vec();
    sorted.sort_unstable();
    let mut out: Vec<(u32, f64)> = Vec::with_capacity(sorted.len());
    for t in sorted {
        match out.last_mut() {
            Some((last, c)) if *last == t => *c += 1.0,
            _ => out.push((t, 1.0)),
        }
    }
    out
}

/// How long a pause has to be to end a paragraph, from this speaker's own pauses.
struct PauseThresholds {
    /// A pause clearly longer than between ordinary sentences.
    long_ms: u64,
    /// An ordinary pause between sentences.
    usual_ms: u64,
}

impl PauseThresholds {
    fn new(doc: &Doc) -> Self {
        let mut pauses: Vec<u64> = doc
            .sentences
            .iter()
            .skip(1)
            .map(|s| s.pause_before_ms)
            .collect();
        pauses.sort_unstable();
        let median = pauses.get(pauses.len() / 2).copied().unwrap_or(0);
        Self {
            long_ms: (median * 7 / 4).max(600),
            usual_ms: median,
        }
    }
}

/// Groups a section's sentences into paragraphs: a break at a long pause once a paragraph has
/// two sentences and some substance, at any ordinary pause once it is long, and always before it
/// grows too big. A lone sentence at the end joins the paragraph before it.
fn paragraphs(doc: &Doc, section: Range<usize>, pauses: &PauseThresholds) -> Vec<Range<usize>> {
    let mut out: Vec<Range<usize>> = Vec::new();
    let mut start = section.start;
    let mut words = 0;
    for i in section.clone() {
        words += doc.sentences[i].words.len();
        let count = i + 1 - start;
        if i + 1 == section.end {
            break;
        }
        let next_words = doc.sentences[i + 1].words.len();
        let pause = doc.sentences[i + 1].pause_before_ms;
        let cut = words + next_words > PARAGRAPH_MAX_WORDS && count >= 2
            || words >= PARAGRAPH_MAX_WORDS
            || count >= PARAGRAPH_MAX_SENTENCES
            || (count >= 2 && words >= PARAGRAPH_MIN_WORDS && pause >= pauses.long_ms)
            || (count >= 3 && words >= PARAGRAPH_TARGET_WORDS && pause >= pauses.usual_ms);
        if cut {
            out.push(start..i + 1);
            start = i + 1;
            words = 0;
        }
    }
    out.push(start..section.end);
    if out.len() >= 2 && out.last().is_some_and(|p| p.len() == 1) {
        let last = out.pop().unwrap_or(section.end..section.end);
        if let Some(prev) = out.last_mut() {
            prev.end = last.end;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cosine_of_bags() {
        assert!((cosine(&[0, 1], &[1, 0]) - 1.0).abs() < 1e-9);
        assert!(cosine(&[0, 0], &[1, 2]).abs() < 1e-9);
        assert!((cosine(&[0, 0, 1], &[0]) - 2.0 / 5f64.sqrt()).abs() < 1e-9);
    }
}
