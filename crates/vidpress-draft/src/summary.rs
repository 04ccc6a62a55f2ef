//! What the post says about itself: section headings and tags from each section's distinctive
//! terms, an extractive intro from the most central sentences, and pull quotes.

use std::collections::{BTreeMap, HashMap};
use std::ops::Range;

use crate::doc::Doc;

/// Chosen headings, tags, intro sentences and pull-quote sentences (sentence indices in order).
#[derive(Debug)]
pub(crate) struct Summary {
    pub headings: Vec<String>,
    pub tags: Vec<String>,
    pub intro: Vec<usize>,
    pub quotes: Vec<usize>,
}

/// Fewer sentences than this make no intro: it would repeat the whole post.
const INTRO_MIN_SENTENCES: usize = 4;
/// Fewer sentences than this make no pull quotes.
const QUOTES_MIN_SENTENCES: usize = 6;

/// Limits on how many tags and quotes to pick.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Counts {
    pub max_tags: usize,
    pub max_pull_quotes: usize,
}

/// Builds headings, tags, intro and pull quotes for sections given as sentence ranges.
pub(crate) fn summarise(doc: &Doc, sections: &[Range<usize>], counts: Counts) -> Summary {
    let weights = SectionWeights::new(doc, sections);
    let headings = headings(doc, sections, &weights);
    let tags = tags(doc, sections, &weights, counts.max_tags);
    let vectors = SentenceVectors::new(doc);
    let section_of: Vec<usize> = sections
        .iter()
        .enumerate()
        .flat_map(|(k, r)| r.clone().map(move |_| k))
        .collect();
    let intro = intro(doc, &vectors, &section_of);
    let quotes = quotes(doc, sections, &vectors, &intro, counts.max_pull_quotes);
    Summary {
        headings,
        tags,
        intro,
        quotes,
    }
}

/// Term frequency per section and how many sections use each term.
struct SectionWeights {
    tf: Vec<HashMap<u32, f64>>,
    idf: Vec<f64>,
}

impl SectionWeights {
    fn new(doc: &Doc, sections: &[Range<usize>]) -> Self {
        let mut df = vec![0u32; doc.vocabulary()];
        let tf: Vec<HashMap<u32, f64>> = sections
            .iter()
            .map(|r| {
                let mut m: HashMap<u32, f64> = HashMap::new();
                for t in doc.terms[r.clone()].iter().flatten() {
                    *m.entry(*t).or_insert(0.0) += 1.0;
                }
                for t in m.keys() {
                    df[*t as usize] += 1;
                }
                m
            })
            .collect();
        let n = sections.len().max(1) as f64;
        let idf = df
            .iter()
            .map(|&d| (1.0 + n / f64::from(d.max(1))).ln())
            .collect();
        Self { tf, idf }
    }

    fn weight(&self, section: usize, term: u32) -> f64 {
        self.tf[section].get(&term).copied().unwrap_or(0.0) * self.idf[term as usize]
    }

    /// A section's terms, best first (ties: the term first seen earlier, i.e. lower id).
    fn ranked(&self, section: usize) -> Vec<(u32, f64)> {
        let mut v: Vec<(u32, f64)> = self.tf[section]
            .keys()
            .map(|&t| (t, self.weight(section, t)))
            .collect();
        v.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
        v
    }
}

/// Candidate heading phrases of a section: single terms, and runs of two or three terms said at
/// least twice; a phrase scores the sum of its terms' weights.
fn heading_candidates(
    doc: &Doc,
    section: usize,
    range: &Range<usize>,
    w: &SectionWeights,
) -> Vec<(Vec<u32>, f64)> {
    let mut freq: BTreeMap<Vec<u32>, (u32, usize)> = BTreeMap::new();
    let mut order = 0;
    for runs in &doc.phrases[range.clone()] {
        for run in runs {
            for n in 1..=3.min(run.len()) {
                for gram in run.windows(n) {
                    // A phrase repeating a term ("chain chain") is no heading.
                    if n > 1 && gram.iter().enumerate().any(|(i, t)| gram[..i].contains(t)) {
                        continue;
                    }
                    let e = freq.entry(gram.to_vec()).or_insert((0, order));
                    e.0 += 1;
                    order += 1;
                }
            }
        }
    }
    let mut out: Vec<(Vec<u32>, f64, usize)> = freq
        .into_iter()
        .filter(|(gram, (f, _))| gram.len() == 1 || *f >= 2)
        .map(|(gram, (_, first))| {
            let score = gram.iter().map(|&t| w.weight(section, t)).sum();
            (gram, score, first)
        })
        .collect();
    out.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.2.cmp(&b.2)));
    out.into_iter().map(|(g, s, _)| (g, s)).collect()
}

fn phrase_text(doc: &Doc, gram: &[u32]) -> String {
    gram.iter()
        .map(|&t| doc.display[t as usize].as_str())
        .collect::<Vec<_>>()
        .join(" ")
}

fn sentence_case(text: &str) -> String {
    let mut chars = text.chars();
    match chars.next() {
        Some(c) => c.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

/// A runner-up phrase joins the heading when it scores at least this share of the best.
const RUNNER_UP_SHARE: f64 = 0.35;

/// One heading per section: its best phrase, with the runner-up joined by "and" when it is
/// strong enough; never the same as, or led by the same term as, an earlier heading.
fn headings(doc: &Doc, sections: &[Range<usize>], w: &SectionWeights) -> Vec<String> {
    let mut used_text: Vec<String> = Vec::new();
    let mut used_lead: Vec<u32> = Vec::new();
    let mut out = Vec::with_capacity(sections.len());
    for (k, range) in sections.iter().enumerate() {
        let candidates = heading_candidates(doc, k, range, w);
        let fresh: Vec<&(Vec<u32>, f64)> = candidates
            .iter()
            .filter(|(g, _)| !used_lead.contains(&g[0]))
            .collect();
        let pool: Vec<&(Vec<u32>, f64)> = if fresh.is_empty() {
            candidates.iter().collect()
        } else {
            fresh
        };
        let mut heading = None;
        for (i, (best, score)) in pool.iter().enumerate() {
            let mut text = phrase_text(doc, best);
            let second = pool[i + 1..]
                .iter()
                .find(|(g, _)| g.iter().all(|t| !best.contains(t)));
            if let Some((g, s)) = second
                && *s >= RUNNER_UP_SHARE * score
                && best.len() + g.len() <= 4
            {
                text = format!("{text} and {}", phrase_text(doc, g));
            }
            let text = sentence_case(&text);
            if !used_text.contains(&text.to_lowercase()) {
                used_lead.push(best[0]);
                heading = Some(text);
                break;
            }
        }
        let text = heading.unwrap_or_else(|| format!("Part {}", k + 1));
        used_text.push(text.to_lowercase());
        out.push(text);
    }
    out
}

/// Tags: the sections' best terms taken in turn (largest sections first), said at least twice,
/// then less frequent ones when there are too few.
fn tags(doc: &Doc, sections: &[Range<usize>], w: &SectionWeights, max: usize) -> Vec<String> {
    let mut total = vec![0u32; doc.vocabulary()];
    for t in doc.terms.iter().flatten() {
        total[*t as usize] += 1;
    }
    let mut order: Vec<usize> = (0..sections.len()).collect();
    order.sort_by_key(|&k| (std::cmp::Reverse(sections[k].len()), k));
    let ranked: Vec<Vec<(u32, f64)>> = order.iter().map(|&k| w.ranked(k)).collect();
    let mut out: Vec<String> = Vec::new();
    let mut taken: Vec<u32> = Vec::new();
    for min_count in [2, 1] {
        let mut cursors = vec![0usize; ranked.len()];
        loop {
            let mut progressed = false;
            for (list, cursor) in ranked.iter().zip(cursors.iter_mut()) {
                if out.len() >= max {
                    return out;
                }
                while let Some(&(t, _)) = list.get(*cursor) {
                    *cursor += 1;
                    if total[t as usize] >= min_count && !taken.contains(&t) {
                        taken.push(t);
                        out.push(doc.display[t as usize].to_lowercase());
                        progressed = true;
                        break;
                    }
                }
            }
            if !progressed {
                break;
            }
        }
        if out.len() >= 3 {
            break;
        }
    }
    out
}

/// tf-idf vectors of sentences (idf over sentences), unit length, as sorted sparse pairs.
struct SentenceVectors {
    vectors: Vec<Vec<(u32, f64)>>,
}

impl SentenceVectors {
    fn new(doc: &Doc) -> Self {
        let n = doc.sentences.len().max(1) as f64;
        let mut df = vec![0u32; doc.vocabulary()];
        let bags: Vec<Vec<(u32, f64)>> = doc
            .terms
            .iter()
            .map(|terms| {
                let mut sorted = terms.clone();
                sorted.sort_unstable();
                let mut bag: Vec<(u32, f64)> = Vec::new();
                for t in sorted {
                    match bag.last_mut() {
                        Some((last, c)) if *last == t => *c += 1.0,
                        _ => bag.push((t, 1.0)),
                    }
                }
                for (t, _) in &bag {
                    df[*t as usize] += 1;
                }
                bag
            })
            .collect();
        let vectors = bags
            .into_iter()
            .map(|bag| {
                let mut v: Vec<(u32, f64)> = bag
                    .into_iter()
                    .map(|(t, c)| (t, c * (1.0 + n / f64::from(df[t as usize])).ln()))
                    .collect();
                let norm = v.iter().map(|(_, x)| x * x).sum::<f64>().sqrt();
                if norm > 0.0 {
                    v.iter_mut().for_each(|(_, x)| *x /= norm);
                }
                v
            })
            .collect();
        Self { vectors }
    }

    /// The normalised sum of the vectors of `range`'s sentences, dense.
    fn centroid(&self, range: Range<usize>, vocabulary: usize) -> Vec<f64> {
        let mut c = vec![0.0; vocabulary];
        for v in &self.vectors[range] {
            for &(t, x) in v {
                c[t as usize] += x;
            }
        }
        let norm = c.iter().map(|x| x * x).sum::<f64>().sqrt();
        if norm > 0.0 {
            c.iter_mut().for_each(|x| *x /= norm);
        }
        c
    }

    fn score(&self, i: usize, dense: &[f64]) -> f64 {
        self.vectors[i]
            .iter()
            .map(|&(t, x)| x * dense[t as usize])
            .sum()
    }

    fn similarity(&self, a: usize, b: usize) -> f64 {
        let (va, vb) = (&self.vectors[a], &self.vectors[b]);
        let (mut i, mut j, mut dot) = (0, 0, 0.0);
        while i < va.len() && j < vb.len() {
            match va[i].0.cmp(&vb[j].0) {
                std::cmp::Ordering::Less => i += 1,
                std::cmp::Ordering::Greater => j += 1,
                std::cmp::Ordering::Equal => {
                    dot += va[i].1 * vb[j].1;
                    i += 1;
                    j += 1;
                }
            }
        }
        dot
    }
}

/// Whether a sentence can stand alone in the intro or as a quote: a statement of a readable length.
fn standalone(doc: &Doc, i: usize, words: Range<usize>) -> bool {
    let s = &doc.sentences[i];
    words.contains(&s.words.len()) && !s.text.ends_with('?') && !doc.terms[i].is_empty()
}

/// Up to three of the most central sentences, spread over the sections, in spoken order.
fn intro(doc: &Doc, vectors: &SentenceVectors, section_of: &[usize]) -> Vec<usize> {
    let n = doc.sentences.len();
    if n < INTRO_MIN_SENTENCES {
        return Vec::new();
    }
    let want = if n >= 12 { 3 } else { 2 };
    let centroid = vectors.centroid(0..n, doc.vocabulary());
    let eligible: Vec<usize> = (0..n).filter(|&i| standalone(doc, i, 6..41)).collect();
    let mut chosen: Vec<usize> = Vec::new();
    while chosen.len() < want {
        let best = eligible
            .iter()
            .filter(|i| !chosen.contains(i))
            .map(|&i| {
                let redundancy = chosen
                    .iter()
                    .map(|&c| vectors.similarity(i, c))
                    .fold(0.0, f64::max);
                let same_section = chosen.iter().any(|&c| section_of[c] == section_of[i]);
                let score = vectors.score(i, &centroid)
                    - 0.7 * redundancy
                    - if same_section { 0.2 } else { 0.0 };
                (score, i)
            })
            .max_by(|a, b| a.0.total_cmp(&b.0).then(b.1.cmp(&a.1)));
        match best {
            Some((_, i)) => chosen.push(i),
            None => break,
        }
    }
    chosen.sort_unstable();
    chosen
}

/// One to `max` quotable sentences, each the most central of a different section, not in the intro.
fn quotes(
    doc: &Doc,
    sections: &[Range<usize>],
    vectors: &SentenceVectors,
    intro: &[usize],
    max: usize,
) -> Vec<usize> {
    let n = doc.sentences.len();
    if n < QUOTES_MIN_SENTENCES || max == 0 {
        return Vec::new();
    }
    let want = (n / 10).clamp(1, max);
    let mut best_per_section: Vec<(f64, usize)> = sections
        .iter()
        .filter_map(|r| {
            let centroid = vectors.centroid(r.clone(), doc.vocabulary());
            r.clone()
                .filter(|&i| !intro.contains(&i) && standalone(doc, i, 8..31))
                .map(|i| (vectors.score(i, &centroid), i))
                .max_by(|a, b| a.0.total_cmp(&b.0).then(b.1.cmp(&a.1)))
        })
        .collect();
    best_per_section.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
    let mut out: Vec<usize> = best_per_section
        .into_iter()
        .take(want)
        .map(|(_, i)| i)
        .collect();
    out.sort_unstable();
    out
}
