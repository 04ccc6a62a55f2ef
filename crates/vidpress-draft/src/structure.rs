//! Where the post breaks: sections at topic shifts (spoken cues, long pauses, lexical cohesion
//! and, when given, sentence-embedding similarity), and paragraphs at pauses and sentence
//! boundaries inside each section.

use std::ops::Range;

use crate::doc::Doc;
use crate::lang::CueStrength;

/// Knobs for finding sections and paragraphs.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Limits {
    pub max_sections: usize,
}

/// A paragraph never grows past this many words…
const PARAGRAPH_MAX_WORDS: usize = 120;
/// …or this many sentences.
const PARAGRAPH_MAX_SENTENCES: usize = 7;
/// Below this a paragraph only ends where the section does.
const PARAGRAPH_MIN_WORDS: usize = 30;
/// Past this a paragraph ends at any ordinary pause.
const PARAGRAPH_TARGET_WORDS: usize = 80;

/// What a boundary's evidence adds up to before it opens a section.
const SECTION_THRESHOLD: f64 = 0.2;
/// Evidence from an explicit announcement ("Now let's talk about …").
const STRONG_CUE: f64 = 1.0;
/// Evidence from a sequencing word set off at a sentence start ("Next, …").
const WEAK_CUE: f64 = 0.45;
/// Evidence from a pause clearly longer than this speaker's pauses between sentences.
const LONG_PAUSE: f64 = 0.1;
/// Weight of the embedding similarity valley beside the lexical one.
const EMBEDDING_WEIGHT: f64 = 1.0;
/// Words on each side of a gap whose sentence vectors are compared.
const EMBEDDING_BLOCK_WORDS: usize = 60;
/// Fewest words between two sections' starts found by meaning alone in a short video.
const EMBEDDED_MIN_WORDS: usize = 30;
/// Fewest words between two sections' starts where a cue announces the second…
const CUE_MIN_WORDS: usize = 20;
/// …and where only the words and pauses say so, in videos up to 3,000 words and longer ones.
const SHORT_MIN_WORDS: usize = 60;
const LONG_MIN_WORDS: usize = 100;
/// Shorter videos change topic only where the speaker says so: their word blocks are too small
/// for lexical cohesion to mean much.
const LEXICAL_MIN_WORDS: usize = 150;
/// Fewest words of greeting before the first section break: a shorter opening joins the first topic.
const OPENING_MIN_WORDS: usize = 30;

/// Sentence ranges: the sections, each a list of paragraphs. Sections start where the evidence
/// of a topic change is strongest: a spoken discourse cue, a long pause, a valley of lexical
/// cohesion between the words before and after (TextTiling) and, when sentence embeddings are
/// given, a valley of their similarity; paragraphs then follow the pauses inside each section.
pub(crate) fn layout(
    doc: &Doc,
    limits: Limits,
    embeddings: Option<&[Vec<f32>]>,
) -> Vec<Vec<Range<usize>>> {
    let n = doc.sentences.len();
    if n == 0 {
        return Vec::new();
    }
    let thresholds = PauseThresholds::new(doc);
    let starts = section_starts(doc, limits, &thresholds, embeddings);
    sections_at(doc, starts, &thresholds)
}

/// Sentence ranges of sections that open at `starts` (ascending, the first 0), each a list of
/// paragraphs at the pauses inside it.
pub(crate) fn layout_at(doc: &Doc, starts: Vec<usize>) -> Vec<Vec<Range<usize>>> {
    if doc.sentences.is_empty() {
        return Vec::new();
    }
    sections_at(doc, starts, &PauseThresholds::new(doc))
}

fn sections_at(
    doc: &Doc,
    mut starts: Vec<usize>,
    thresholds: &PauseThresholds,
) -> Vec<Vec<Range<usize>>> {
    let n = doc.sentences.len();
    starts.push(n);
    starts
        .windows(2)
        .map(|w| paragraphs(doc, w[0]..w[1], thresholds))
        .collect()
}

/// The sentence indices that open a section; the first is always 0.
fn section_starts(
    doc: &Doc,
    limits: Limits,
    pauses: &PauseThresholds,
    embeddings: Option<&[Vec<f32>]>,
) -> Vec<usize> {
    let n = doc.sentences.len();
    if n < 2 || limits.max_sections < 2 {
        return vec![0];
    }
    let words_before: Vec<usize> = doc
        .sentences
        .iter()
        .scan(0, |acc, s| {
            let before = *acc;
            *acc += s.words.len();
            Some(before)
        })
        .chain(std::iter::once(doc.word_count(0..n)))
        .collect();
    let total_words = words_before[n];
    let block_words = (total_words / 6).clamp(40, 150);
    // The sentences within `words` spoken words before and after each gap.
    let blocks_of = |words: usize| -> Vec<(Range<usize>, Range<usize>)> {
        (1..n)
            .map(|g| {
                let mut a = g;
                while a > 0 && words_before[g] - words_before[a] < words {
                    a -= 1;
                }
                let mut b = g;
                while b < n && words_before[b] - words_before[g] < words {
                    b += 1;
                }
                (a..g, g..b)
            })
            .collect()
    };
    let blocks = blocks_of(block_words);
    let lexical: Vec<f64> = blocks
        .iter()
        .map(|(l, r)| {
            let bag = |r: &Range<usize>| -> Vec<u32> {
                doc.terms[r.clone()].iter().flatten().copied().collect()
            };
            cosine(&bag(l), &bag(r))
        })
        .collect();
    // Near either end one block is short, and its similarity says little.
    let edge: Vec<f64> = (1..n)
        .map(|g| {
            let before = words_before[g] as f64;
            let after = (total_words - words_before[g]) as f64;
            (before.min(after) / block_words as f64).min(1.0)
        })
        .collect();
    let weigh =
        |d: Vec<f64>| -> Vec<f64> { d.into_iter().zip(&edge).map(|(d, w)| d * w).collect() };
    let evidence = weigh(depths(&lexical));
    // What the sentences mean: the similarity of the mean sentence vectors before and after
    // each gap. Unlike word counts this holds in short videos too, where the blocks hold a few
    // sentences and rarely repeat a word. Its valleys are taken on the sum of both curves, so a
    // valley of meaning one sentence from a valley of words makes one boundary, not two.
    let meaning: Option<Vec<f64>> = embeddings.filter(|v| v.len() == n).map(|vectors| {
        // A sentence vector says more than a sentence's words, so fewer sentences make a
        // block, and topics of a few sentences stand out in longer videos too.
        let similarity: Vec<f64> = blocks_of(EMBEDDING_BLOCK_WORDS.min(block_words))
            .iter()
            .map(|(l, r)| dense_cosine(&mean(&vectors[l.clone()]), &mean(&vectors[r.clone()])))
            .collect();
        if total_words < LEXICAL_MIN_WORDS {
            return weigh(depths(&similarity));
        }
        let both: Vec<f64> = lexical
            .iter()
            .zip(&similarity)
            .map(|(l, m)| l + EMBEDDING_WEIGHT * m)
            .collect();
        weigh(depths(&both))
    });
    // In short videos the word blocks are too small for lexical cohesion to mean much: without
    // embeddings only a spoken cue opens a section there.
    let short = total_words < LEXICAL_MIN_WORDS;
    let min_words = if total_words > 3000 {
        LONG_MIN_WORDS
    } else if meaning.is_some() {
        // Meaning finds topics of a few sentences, as short videos have.
        (total_words / 10).clamp(EMBEDDED_MIN_WORDS, SHORT_MIN_WORDS)
    } else {
        SHORT_MIN_WORDS
    };
    let mut candidates: Vec<(f64, usize, usize)> = (1..n)
        .map(|g| {
            // With embeddings the combined valleys replace the lexical ones.
            let (lexical, meant) = match &meaning {
                Some(m) => (0.0, m[g - 1]),
                None => (evidence[g - 1], 0.0),
            };
            let mut gap_words = min_words;
            let mut score = match doc.cues[g].map(|c| c.strength) {
                Some(CueStrength::Strong) => {
                    gap_words = CUE_MIN_WORDS;
                    STRONG_CUE + lexical + meant
                }
                Some(CueStrength::Weak) => {
                    gap_words = CUE_MIN_WORDS;
                    WEAK_CUE + lexical + meant
                }
                None if short && meaning.is_none() => return (0.0, g, gap_words),
                None if short => meant,
                None => lexical + meant,
            };
            if doc.sentences[g].pause_before_ms >= pauses.long_ms {
                score += LONG_PAUSE;
            }
            (score, g, gap_words)
        })
        .collect();
    candidates.retain(|c| c.0 >= SECTION_THRESHOLD);
    candidates.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
    let cap = limits
        .max_sections
        .min((total_words / CUE_MIN_WORDS).max(1));
    let mut chosen: Vec<(usize, usize)> = vec![(0, OPENING_MIN_WORDS)];
    for (_, g, gap_words) in candidates {
        if chosen.len() >= cap {
            break;
        }
        let fits = chosen.iter().all(|&(c, c_gap)| {
            let distance = words_before[g].abs_diff(words_before[c]);
            // The later start's own rule decides (a cue may follow closely).
            let needed = if c < g {
                gap_words.max(if c == 0 { c_gap } else { 0 })
            } else {
                c_gap
            };
            distance >= needed
        }) && total_words - words_before[g] >= gap_words;
        if fits {
            chosen.push((g, gap_words));
        }
    }
    let mut starts: Vec<usize> = chosen.into_iter().map(|(g, _)| g).collect();
    starts.sort_unstable();
    starts
}

/// TextTiling depth scores of a similarity sequence: at each local minimum, how far the
/// similarity climbs on both sides before it falls again; 0 elsewhere.
fn depths(sim: &[f64]) -> Vec<f64> {
    let m = sim.len();
    (0..m)
        .map(|k| {
            let minimum = (k == 0 || sim[k] <= sim[k - 1]) && (k + 1 == m || sim[k] <= sim[k + 1]);
            if !minimum {
                return 0.0;
            }
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
            (left - sim[k]) + (right - sim[k])
        })
        .collect()
}

/// The mean of some vectors.
fn mean(vectors: &[Vec<f32>]) -> Vec<f64> {
    let dim = vectors.first().map_or(0, Vec::len);
    let mut out = vec![0.0; dim];
    for v in vectors {
        for (o, x) in out.iter_mut().zip(v) {
            *o += f64::from(*x);
        }
    }
    out
}

/// Cosine similarity of two dense vectors (0 when either is zero).
pub(crate) fn dense_cosine(a: &[f64], b: &[f64]) -> f64 {
    let dot: f64 = a.iter().zip(b).map(|(x, y)| x * y).sum();
    let na = a.iter().map(|x| x * x).sum::<f64>().sqrt();
    let nb = b.iter().map(|x| x * x).sum::<f64>().sqrt();
    if na == 0.0 || nb == 0.0 {
        0.0
    } else {
        dot / (na * nb)
    }
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
