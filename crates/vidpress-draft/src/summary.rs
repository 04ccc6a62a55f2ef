//! What the post says about itself: section headings chosen among each section's candidate
//! phrases (the topic a speaker announces, or the phrase that best represents the section and
//! sets it apart), keyphrase tags, an intro that states what the video covers, and pull quotes.

use std::collections::HashMap;
use std::ops::Range;

use crate::doc::Doc;
use crate::structure::dense_cosine;

/// Chosen headings, tags, intro and pull-quote sentences (sentence indices in order).
#[derive(Debug)]
pub(crate) struct Summary {
    /// Each section's heading in sentence case.
    pub headings: Vec<String>,
    /// Each section's topic phrase as spoken (for a generated title and intro).
    pub topics: Vec<String>,
    pub tags: Vec<String>,
    /// The sentence saying what the video covers, when there are several sections.
    pub covers: Option<String>,
    pub intro: Vec<usize>,
    pub quotes: Vec<usize>,
}

/// Fewer sentences than this make no extract in the intro: it would repeat the whole post.
const INTRO_MIN_SENTENCES: usize = 4;
/// Fewer sentences than this make no pull quotes.
const QUOTES_MIN_SENTENCES: usize = 6;
/// Longest heading, in words.
const HEADING_MAX_WORDS: usize = 6;
/// With embeddings: how many of a section's most frequent candidate phrases are weighed by
/// meaning, and how much closeness to the section and to another section count against
/// frequency (the strongest candidate's frequency counts 1).
const HEADING_CANDIDATES: usize = 12;
const MEANING_WEIGHT: f64 = 2.0;
const DISTINCTNESS_WEIGHT: f64 = 1.0;

/// Limits on how many tags and quotes to pick.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Counts {
    pub max_tags: usize,
    pub max_pull_quotes: usize,
}

/// Sentence vectors from an embedding model, and the model to embed candidate phrases.
pub(crate) struct Embedded<'a> {
    pub sentences: &'a [Vec<f32>],
    pub embedder: &'a dyn crate::Embedder,
}

/// Builds headings, tags, intro and pull quotes for sections given as sentence ranges; `title`
/// is the video's own title (empty when it has none), whose words make good headings.
pub(crate) fn summarise(
    doc: &Doc,
    sections: &[Range<usize>],
    given: &[Option<String>],
    title: &str,
    counts: Counts,
    embedded: Option<&Embedded<'_>>,
) -> Summary {
    let mut weights = SectionWeights::new(doc, sections);
    weights.title_stems = title
        .split_whitespace()
        .map(|w| doc.lang.stem(&crate::text::core(w)))
        .collect();
    let (mut headings, mut topics) = headings(doc, sections, &weights, embedded);
    // A heading the video gives (a chapter's title) heads its section and is its topic.
    for ((heading, topic), given) in headings.iter_mut().zip(&mut topics).zip(given) {
        if let Some(given) = given {
            heading.clone_from(given);
            *topic = in_sentence(doc, &weights, given);
        }
    }
    let tags = tags(doc, sections, &weights, &topics, counts.max_tags);
    let vectors = SentenceVectors::new(doc);
    // One section's "topic" is only its best phrase, which says too little to open a post with.
    let covers = (sections.len() >= 2).then(|| covers(doc, &topics));
    let intro = intro(doc, &vectors, sections, covers.is_some());
    let quotes = quotes(doc, sections, &vectors, &intro, counts.max_pull_quotes);
    Summary {
        headings,
        topics,
        tags,
        covers,
        intro,
        quotes,
    }
}

/// Term frequency per section and how many sections use each term.
struct SectionWeights {
    tf: Vec<HashMap<u32, f64>>,
    idf: Vec<f64>,
    /// Stems of the video's own title.
    title_stems: Vec<String>,
    /// Each term's stem.
    stems: Vec<String>,
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
        let mut stems = vec![String::new(); doc.vocabulary()];
        for (s, terms) in doc.word_terms.iter().enumerate() {
            for (i, t) in terms.iter().enumerate() {
                if let Some(t) = t
                    && stems[*t as usize].is_empty()
                {
                    stems[*t as usize] = doc.lang.stem(&doc.cores[s][i]);
                }
            }
        }
        Self {
            tf,
            idf,
            title_stems: Vec::new(),
            stems,
        }
    }

    fn weight(&self, section: usize, term: u32) -> f64 {
        self.tf[section].get(&term).copied().unwrap_or(0.0) * self.idf[term as usize]
    }

    /// A term's weight as a heading word: its weight, half as much again when the video's own
    /// title uses it.
    fn heading_weight(&self, section: usize, term: u32) -> f64 {
        let in_title = self.title_stems.contains(&self.stems[term as usize]);
        self.weight(section, term) * if in_title { 1.5 } else { 1.0 }
    }
}

/// A candidate phrase: where it was said and its words.
#[derive(Debug, Clone)]
struct Phrase {
    sentence: usize,
    words: Range<usize>,
    /// What the last word reads as when it stands for more than Whisper wrote: the head of a
    /// compound whose first part Whisper misheard.
    last_as: Option<String>,
}

/// Words ending a clause: a phrase never runs across them.
fn ends_clause(word: &str) -> bool {
    word.ends_with([',', ';', ':', '.', '?', '!', '\u{2014}', '\u{2026}'])
}

/// The topic a cue announces: the words after the cue up to the end of the clause, without
/// leading or trailing stop words (and, in verb-second languages, without "kochen wir").
fn announced(doc: &Doc, sentence: usize) -> Option<Phrase> {
    let cue = doc.cues[sentence]?;
    let words = &doc.sentences[sentence].words;
    let cores = &doc.cores[sentence];
    let mut end = cue.topic_start;
    while end < words.len() {
        // "Zum Schluss machen wir Salat und Dressing": the topic ends before a conjunction.
        if end > cue.topic_start && doc.lang.is_conjunction(&cores[end]) {
            break;
        }
        end += 1;
        if ends_clause(&words[end - 1]) {
            break;
        }
    }
    let mut start = cue.topic_start;
    if end - start >= 3 && doc.lang.is_pronoun(&cores[start + 1]) {
        start += 2;
    } else if end - start >= 3
        && doc.lang.is_we_verb(&cores[start])
        && doc.lang.is_article(&cores[start + 1])
    {
        // "Primero, haremos la paella": the verb says what we do, the article opens the topic.
        start += 1;
    }
    let mut phrase = trim(doc, sentence, start..end)?;
    if phrase.words.len() > HEADING_MAX_WORDS {
        phrase = trim(
            doc,
            sentence,
            first_noun_phrase(doc, sentence, phrase.words),
        )?;
    }
    // A topic said outright is worth a word Whisper heard faintly when the word is known to be
    // one: the dictionary knows it, or Whisper heard the same term surely elsewhere ("freezing"
    // once, "freeze" twice). Stop words inside ("tortilla de patatas") do not name it. The
    // phrase ends before the first word that is neither ("gaspacho de ~aloos": "gaspacho"), or
    // with that word's head when it is a compound whose first part Whisper misheard
    // ("über das Dordbacken": "Backen").
    let terms = &doc.word_terms[sentence];
    let end = phrase
        .words
        .clone()
        .find(|&i| terms[i].is_some_and(|t| !doc.is_vouched(sentence, i) && !said_surely(doc, t)))
        .unwrap_or(phrase.words.end);
    if let Some(head) = doc
        .compound_heads
        .get(&(sentence, end))
        .filter(|_| end < phrase.words.end)
    {
        return Some(Phrase {
            sentence,
            words: trim(doc, sentence, phrase.words.start..end).map_or(end, |p| p.words.start)
                ..end + 1,
            last_as: Some(head.clone()),
        });
    }
    trim(doc, sentence, phrase.words.start..end)
}

/// Whether Whisper was sure of the term somewhere in the transcript.
fn said_surely(doc: &Doc, term: u32) -> bool {
    doc.word_terms.iter().enumerate().any(|(s, terms)| {
        terms
            .iter()
            .enumerate()
            .any(|(i, t)| *t == Some(term) && doc.is_sure(s, i))
    })
}

/// The first noun phrase of a span too long to be one, as Whisper runs sentences together
/// ("the rail past the national rail past covers almost every fast train"; "eating on a budget
/// convenience stores sell"): it ends before an article that follows a content word, and else
/// at the first content word after an article.
fn first_noun_phrase(doc: &Doc, sentence: usize, span: Range<usize>) -> Range<usize> {
    let cores = &doc.cores[sentence];
    let terms = &doc.word_terms[sentence];
    let article = |i: usize| doc.lang.is_article(&cores[i]);
    if let Some(i) = (span.start + 1..span.end).find(|&i| article(i) && terms[i - 1].is_some()) {
        return span.start..i;
    }
    if let Some(i) = (span.start + 1..span.end).find(|&i| terms[i].is_some() && article(i - 1)) {
        return span.start..i + 1;
    }
    span
}

/// A span without stop words at either end; `None` when no content word is left.
fn trim(doc: &Doc, sentence: usize, mut span: Range<usize>) -> Option<Phrase> {
    let terms = &doc.word_terms[sentence];
    while span.start < span.end && terms[span.start].is_none() {
        span.start += 1;
    }
    while span.end > span.start && terms[span.end - 1].is_none() {
        span.end -= 1;
    }
    (!span.is_empty()).then_some(Phrase {
        sentence,
        words: span,
        last_as: None,
    })
}

/// A phrase as it reads: the words as spoken without their punctuation, the first one in its
/// usual case when it opened the sentence.
fn phrase_text(doc: &Doc, p: &Phrase) -> String {
    let words = &doc.sentences[p.sentence].words;
    let text = p
        .words
        .clone()
        .map(|i| {
            let bare = words[i].trim_matches(|c: char| !c.is_alphanumeric());
            if let Some(last) = p.last_as.as_ref().filter(|_| i + 1 == p.words.end) {
                last.clone()
            } else if i == 0 {
                match doc.word_terms[p.sentence][i] {
                    Some(t) => doc.display[t as usize].clone(),
                    None => bare.to_lowercase(),
                }
            } else {
                bare.to_owned()
            }
        })
        .collect::<Vec<_>>()
        .join(" ");
    // A phrase that ends on an owner ("the baker's" with the thing left unsaid) names the owner.
    match text.strip_suffix("'s").or_else(|| text.strip_suffix("’s")) {
        Some(owner) if owner.ends_with(char::is_alphabetic) => owner.to_owned(),
        _ => text,
    }
}

/// The key under which repeats of a phrase are counted: its words' terms or cores.
fn phrase_key(doc: &Doc, p: &Phrase) -> Vec<String> {
    p.words
        .clone()
        .map(|i| match doc.word_terms[p.sentence][i] {
            Some(t) => format!("#{t}"),
            None => doc.cores[p.sentence][i].clone(),
        })
        .collect()
}

/// Every phrase of a section that could head it: one to four words inside a clause, content
/// words at both ends, at most one stop word inside; cue words left out.
fn candidates(doc: &Doc, range: &Range<usize>) -> Vec<Phrase> {
    let mut out = Vec::new();
    for s in range.clone() {
        let words = &doc.sentences[s].words;
        let terms = &doc.word_terms[s];
        let first = doc.cues[s].map_or(0, |c| c.topic_start);
        for a in first..words.len() {
            if terms[a].is_none() || !doc.is_sure(s, a) {
                continue;
            }
            let mut stops = 0;
            for b in a..words.len().min(a + 4) {
                if b > a && terms[b].is_none() {
                    stops += 1;
                    if doc.lang.is_conjunction(&doc.cores[s][b]) {
                        break;
                    }
                }
                if stops > 1 || !doc.is_sure(s, b) {
                    break;
                }
                if terms[b].is_some() {
                    out.push(Phrase {
                        sentence: s,
                        words: a..b + 1,
                        last_as: None,
                    });
                }
                if ends_clause(&words[b]) {
                    break;
                }
            }
        }
    }
    out
}

fn sentence_case(text: &str) -> String {
    let mut chars = text.chars();
    match chars.next() {
        Some(c) => c.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

/// Words ranked by how well they name a section: the announced topic when the speaker gives
/// one, else the candidate whose words weigh most in this section and least elsewhere, said
/// more than once, and (with embeddings) closest in meaning to the section.
fn headings(
    doc: &Doc,
    sections: &[Range<usize>],
    w: &SectionWeights,
    embedded: Option<&Embedded<'_>>,
) -> (Vec<String>, Vec<String>) {
    let mut used_text: Vec<String> = Vec::new();
    let mut used_lead: Vec<u32> = Vec::new();
    let mut headings = Vec::with_capacity(sections.len());
    let mut topics = Vec::with_capacity(sections.len());
    // Each section's mean sentence vector, for how close a phrase is to its own section and to
    // the others.
    let centroids: Option<Vec<Vec<f64>>> = embedded.map(|e| {
        sections
            .iter()
            .map(|r| mean(&e.sentences[r.clone()]))
            .collect()
    });
    for (k, range) in sections.iter().enumerate() {
        // An announcement in the section's first sentences names it.
        let opening_words = range
            .clone()
            .scan(0, |acc, s| {
                let before = *acc;
                *acc += doc.sentences[s].words.len();
                (before < 60).then_some(s)
            })
            .collect::<Vec<_>>();
        let announced_topic = opening_words
            .iter()
            .filter_map(|&s| announced(doc, s))
            .find(|p| p.words.len() <= HEADING_MAX_WORDS);
        let mut pool: Vec<(Phrase, f64)> = Vec::new();
        if let Some(p) = announced_topic {
            pool.push((p, f64::INFINITY));
        }
        let centroid = centroids.as_ref().map(|c| &c[k]);
        let mut counted: HashMap<Vec<String>, (Phrase, u32)> = HashMap::new();
        for p in candidates(doc, range) {
            let e = counted.entry(phrase_key(doc, &p)).or_insert((p.clone(), 0));
            e.1 += 1;
        }
        let mut scored: Vec<(Phrase, f64)> = counted
            .into_values()
            .filter(|(p, count)| p.words.len() == 1 || *count >= 2)
            .map(|(p, count)| {
                let content: Vec<u32> = doc.word_terms[p.sentence][p.words.clone()]
                    .iter()
                    .flatten()
                    .copied()
                    .collect();
                let weight: f64 = content.iter().map(|&t| w.heading_weight(k, t)).sum::<f64>()
                    / (content.len() as f64).sqrt();
                let repeated = f64::from(count).ln_1p();
                let terms = &doc.word_terms[p.sentence];
                let noun = match (terms[p.words.start], terms[p.words.end - 1]) {
                    (Some(first), Some(last)) => doc.names_a_thing(first, last),
                    _ => true,
                };
                let noun_factor = if noun { 1.0 } else { 0.3 };
                (p, (weight + repeated) * noun_factor)
            })
            .collect();
        if let (Some(e), Some(centroid), Some(all)) = (embedded, centroid, &centroids) {
            // Among the strongest few by frequency, meaning decides: how close the phrase is to
            // what its section says, less how close it is to what another section says.
            scored.sort_by(by_score);
            scored.truncate(HEADING_CANDIDATES);
            let top = scored.first().map_or(1.0, |s| s.1.max(1e-9));
            let texts: Vec<String> = scored.iter().map(|(p, _)| phrase_text(doc, p)).collect();
            let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
            if let Some(vectors) = e.embedder.embed(&refs).filter(|v| v.len() == refs.len()) {
                for ((_, score), v) in scored.iter_mut().zip(vectors) {
                    let v: Vec<f64> = v.iter().map(|&x| f64::from(x)).collect();
                    let elsewhere = all
                        .iter()
                        .enumerate()
                        .filter(|&(j, _)| j != k)
                        .map(|(_, c)| dense_cosine(&v, c))
                        .fold(0.0, f64::max);
                    *score = *score / top + MEANING_WEIGHT * dense_cosine(&v, centroid)
                        - DISTINCTNESS_WEIGHT * elsewhere;
                }
            }
        }
        scored.sort_by(by_score);
        pool.extend(scored);
        let mut chosen = None;
        for (p, _) in &pool {
            let lead = doc.word_terms[p.sentence][p.words.start];
            if lead.is_some_and(|t| used_lead.contains(&t)) {
                continue;
            }
            let text = phrase_text(doc, p);
            if used_text.contains(&text.to_lowercase()) {
                continue;
            }
            if let Some(t) = lead {
                used_lead.push(t);
            }
            chosen = Some(text);
            break;
        }
        let text = chosen
            .or_else(|| pool.first().map(|(p, _)| phrase_text(doc, p)))
            .unwrap_or_default();
        used_text.push(text.to_lowercase());
        headings.push(if text.is_empty() {
            format!("Part {}", k + 1)
        } else {
            sentence_case(&text)
        });
        topics.push(text);
    }
    (headings, topics)
}

/// A heading as it reads inside a sentence ("This video covers …"): its first word lowercase,
/// unless the transcript writes that word (or another of its stem) capitalised inside its
/// sentences (a name, a German noun) or, where it never says it, the language capitalises its
/// nouns.
fn in_sentence(doc: &Doc, w: &SectionWeights, heading: &str) -> String {
    let Some(first) = heading.split_whitespace().next() else {
        return String::new();
    };
    let mut chars = first.chars();
    // A word in capitals throughout ("DIY") or in lowercase ("iPhone") stays as it is.
    if !chars.next().is_some_and(char::is_uppercase) || chars.any(char::is_uppercase) {
        return heading.to_owned();
    }
    let core = crate::text::core(first);
    let stem = doc.lang.stem(&core);
    let written = w
        .stems
        .iter()
        .position(|s| *s == stem)
        .and_then(|t| doc.display.get(t));
    let keep = match written {
        Some(form) => form.chars().next().is_some_and(char::is_uppercase),
        None => doc.lang.code == "de" && !doc.lang.is_stop(&core),
    };
    if keep {
        return heading.to_owned();
    }
    let mut chars = heading.chars();
    chars
        .next()
        .map(|c| c.to_lowercase().chain(chars).collect())
        .unwrap_or_default()
}

/// Candidates best first; among equals, the one said first (candidates are counted in a hash
/// map, whose order is not the same twice).
fn by_score(a: &(Phrase, f64), b: &(Phrase, f64)) -> std::cmp::Ordering {
    b.1.total_cmp(&a.1)
        .then(a.0.sentence.cmp(&b.0.sentence))
        .then(a.0.words.start.cmp(&b.0.words.start))
        .then(a.0.words.end.cmp(&b.0.words.end))
}

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

/// "This video covers a, b and c." in the transcript's language, from the section topics.
fn covers(doc: &Doc, topics: &[String]) -> String {
    let mut list: Vec<&str> = topics
        .iter()
        .map(String::as_str)
        .filter(|t| !t.is_empty())
        .collect();
    list.dedup();
    let joined = match list.len() {
        0 => String::new(),
        1 => list[0].to_owned(),
        n => format!(
            "{} {} {}",
            list[..n - 1].join(", "),
            doc.lang.and,
            list[n - 1]
        ),
    };
    doc.lang.covers.replace("{}", &joined)
}

/// Tags: keyphrases (runs of one to three content words) said at least twice, the section topics'
/// content words first, then each section's weightiest in turn; no stop word of any of the
/// checked languages, no two tags on the same stem.
fn tags(
    doc: &Doc,
    sections: &[Range<usize>],
    w: &SectionWeights,
    topics: &[String],
    max: usize,
) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let mut taken: Vec<Vec<String>> = Vec::new();
    let lang = &doc.lang;
    let mut offer = |words: &[&str], out: &mut Vec<String>| {
        if out.len() >= max || words.is_empty() || words.len() > 3 {
            return;
        }
        // A tag names the thing, not its owner: "gutenberg press", not "gutenberg's press".
        let cores: Vec<String> = words
            .iter()
            .map(|w| {
                let core = crate::text::core(w);
                match core.strip_suffix("'s") {
                    Some(owner) if !owner.is_empty() => owner.to_owned(),
                    _ => core,
                }
            })
            .collect();
        if cores
            .iter()
            .any(|c| !lang.is_content(c) || lang.is_stop_anywhere(c))
        {
            return;
        }
        let stems: Vec<String> = cores.iter().map(|c| lang.stem(c)).collect();
        if taken
            .iter()
            .any(|t| stems.iter().all(|s| t.contains(s)) || t.iter().all(|s| stems.contains(s)))
        {
            return;
        }
        taken.push(stems);
        out.push(cores.join(" "));
    };
    // The longest run of content words in each topic ("dripping tap" of "fixing a dripping tap").
    for topic in topics {
        let words: Vec<&str> = topic.split_whitespace().collect();
        let mut best: &[&str] = &[];
        for run in words.split(|w| !lang.is_content(&crate::text::core(w))) {
            if run.len() > best.len() || (run.len() == best.len() && !run.is_empty()) {
                best = run;
            }
        }
        let best = &best[best.len().saturating_sub(2)..];
        offer(best, &mut out);
    }
    // Then each section's weightiest keyphrases (one or two adjacent content words said at
    // least twice), in turn, largest sections first.
    // Per keyphrase: how often it is said, how often in each section, and how often every
    // word of it was one Whisper was sure of and the dictionary knows.
    let mut counts: HashMap<Vec<u32>, (u32, Vec<u32>, u32)> = HashMap::new();
    for (k, range) in sections.iter().enumerate() {
        for s in range.clone() {
            let terms = &doc.word_terms[s];
            for a in 0..terms.len() {
                let Some(t1) = terms[a] else { continue };
                let mut keys = vec![(vec![t1], doc.is_sure(s, a))];
                if let Some(Some(t2)) = terms.get(a + 1)
                    && !ends_clause(&doc.sentences[s].words[a])
                    && *t2 != t1
                {
                    keys.push((vec![t1, *t2], doc.is_sure(s, a) && doc.is_sure(s, a + 1)));
                }
                for (key, sure) in keys {
                    let e = counts.entry(key).or_insert((0, vec![0; sections.len()], 0));
                    e.0 += 1;
                    e.1[k] += 1;
                    e.2 += u32::from(sure);
                }
            }
        }
    }
    let mut order: Vec<usize> = (0..sections.len()).collect();
    order.sort_by_key(|&k| (std::cmp::Reverse(sections[k].len()), k));
    let ranked: Vec<Vec<Vec<u32>>> = order
        .iter()
        .map(|&k| {
            let mut v: Vec<(&Vec<u32>, f64)> = counts
                .iter()
                .filter(|(_, (total, per, sure))| *total >= 2 && per[k] > 0 && 2 * sure >= *total)
                .map(|(key, _)| {
                    let weight: f64 = key.iter().map(|&t| w.weight(k, t)).sum();
                    let noun = doc.names_a_thing(key[0], key[key.len() - 1]);
                    let weight = if noun { weight } else { weight * 0.3 };
                    // Two words that keep coming together name more than either alone.
                    let bonus = if key.len() > 1 { 1.15 } else { 1.0 };
                    (key, weight * bonus)
                })
                .collect();
            v.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(b.0)));
            v.into_iter().map(|(key, _)| key.clone()).collect()
        })
        .collect();
    let mut cursors = vec![0usize; ranked.len()];
    loop {
        let mut progressed = false;
        for (list, cursor) in ranked.iter().zip(cursors.iter_mut()) {
            while let Some(key) = list.get(*cursor) {
                *cursor += 1;
                progressed = true;
                let words: Vec<String> = key
                    .iter()
                    .map(|&t| doc.display[t as usize].to_lowercase())
                    .collect();
                let refs: Vec<&str> = words.iter().map(String::as_str).collect();
                let before = out.len();
                offer(&refs, &mut out);
                if out.len() > before {
                    break;
                }
            }
        }
        if !progressed || out.len() >= max {
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
}

/// Whether a sentence can stand alone in the intro or as a quote: a statement of a readable
/// length that opens with a capital, announces nothing, does not lean on the sentence before
/// it, and has no word Whisper was unsure of.
fn standalone(doc: &Doc, i: usize, words: Range<usize>) -> bool {
    let s = &doc.sentences[i];
    words.contains(&s.words.len())
        && s.text.ends_with('.')
        && s.text.starts_with(char::is_uppercase)
        && doc.cues[i].is_none()
        && !doc.terms[i].is_empty()
        && !doc.cores[i]
            .first()
            .is_some_and(|c| doc.lang.is_anaphoric(c))
        && (0..s.words.len()).all(|k| doc.is_sure(i, k))
}

fn mean_confidence(doc: &Doc, i: usize) -> f64 {
    let c = &doc.sentences[i].confidence;
    c.iter().map(|&p| f64::from(p)).sum::<f64>() / c.len().max(1) as f64
}

/// The sentences that follow the "what this video covers" line: with several sections, the
/// most central sentence of the video; with one, up to three central sentences.
fn intro(
    doc: &Doc,
    vectors: &SentenceVectors,
    sections: &[Range<usize>],
    has_covers: bool,
) -> Vec<usize> {
    let n = doc.sentences.len();
    if n < INTRO_MIN_SENTENCES {
        return Vec::new();
    }
    // With several sections the "what this video covers" line is the intro.
    let want = if has_covers {
        0
    } else if n >= 12 {
        3
    } else {
        2
    };
    let centroid = vectors.centroid(0..n, doc.vocabulary());
    let first_section = sections.first().cloned().unwrap_or(0..n);
    let mut eligible: Vec<(f64, usize)> = (0..n)
        .filter(|&i| standalone(doc, i, 6..31))
        .map(|i| {
            // Openings often say what the video is about.
            let opening = if first_section.contains(&i) && i < 4 {
                0.1
            } else {
                0.0
            };
            (
                vectors.score(i, &centroid) + opening + 0.2 * mean_confidence(doc, i),
                i,
            )
        })
        .collect();
    eligible.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
    let mut chosen: Vec<usize> = eligible.into_iter().take(want).map(|(_, i)| i).collect();
    chosen.sort_unstable();
    chosen
}

/// One to `max` quotable sentences, each the most central of a different section, not in the
/// intro, preferring those Whisper was most sure of.
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
                .map(|i| (vectors.score(i, &centroid) + mean_confidence(doc, i), i))
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clean::Sentence;
    use crate::lang::Lang;

    /// A document of sentences as Whisper heard them; a word written `~word` is one Whisper
    /// was unsure of (probability 0.3).
    fn doc(code: &str, sentences: &[&str]) -> Doc {
        doc_checked(code, sentences, None)
    }

    /// A Hunspell dictionary that knows `words` and nothing else.
    fn dictionary(words: &[&str]) -> spellbook::Dictionary {
        let dic = format!("{}\n{}\n", words.len(), words.join("\n"));
        spellbook::Dictionary::new("SET UTF-8\n", &dic).unwrap()
    }

    /// [`doc`], spell-checked.
    fn doc_checked(
        code: &str,
        sentences: &[&str],
        dictionary: Option<&spellbook::Dictionary>,
    ) -> Doc {
        let sentences = sentences
            .iter()
            .enumerate()
            .map(|(k, s)| {
                let (words, confidence): (Vec<String>, Vec<f32>) = s
                    .split_whitespace()
                    .map(|w| match w.strip_prefix('~') {
                        Some(w) => (w.to_owned(), 0.3),
                        None => (w.to_owned(), 0.9),
                    })
                    .unzip();
                let start = k as u64 * 3000;
                Sentence {
                    text: words.join(" "),
                    start_ms: start,
                    end_ms: start + 2500,
                    pause_before_ms: 300,
                    word_start_ms: (0..words.len() as u64).map(|i| start + i * 200).collect(),
                    words,
                    confidence,
                }
            })
            .collect();
        Doc::new(sentences, Lang::new(Some(code)), dictionary)
    }

    /// The heading the announcement in the document's first sentence gives.
    fn heading(code: &str, sentences: &[&str]) -> Option<String> {
        let d = doc(code, sentences);
        announced(&d, 0).map(|p| sentence_case(&phrase_text(&d, &p)))
    }

    #[test]
    fn announced_topic_after_a_verb_in_the_first_person_plural() {
        // Whisper base on espeak-ng: "Primero, hablemos de la paella" came out as "haremos la".
        assert_eq!(
            heading("es", &["Primero, haremos la paella valenciana."]).as_deref(),
            Some("Paella valenciana")
        );
        assert_eq!(
            heading("es", &["Primero, preparamos el gazpacho andaluz."]).as_deref(),
            Some("Gazpacho andaluz")
        );
        assert_eq!(
            heading("es", &["Ahora vamos con el gazpacho, una sopa fría."]).as_deref(),
            Some("Gazpacho")
        );
        assert_eq!(
            heading("fr", &["Ensuite, commençons la taille des rosiers."]).as_deref(),
            Some("Taille des rosiers")
        );
        assert_eq!(
            heading("de", &["Als Nächstes kochen wir eine Kartoffelsuppe."]).as_deref(),
            Some("Kartoffelsuppe")
        );
    }

    #[test]
    fn a_topic_ending_in_an_owner_names_the_owner() {
        assert_eq!(
            heading("en", &["Finally, let's talk about the baker's."]).as_deref(),
            Some("Baker")
        );
    }

    #[test]
    fn run_on_announcement_is_cut_to_its_first_noun_phrase() {
        // Whisper ran the announcement into the next sentence, with no full stop.
        assert_eq!(
            heading(
                "en",
                &[
                    "Now let's talk about eating on a budget convenience stores sell rice balls, \
                   sandwiches and hot meals."
                ]
            )
            .as_deref(),
            Some("Eating on a budget")
        );
        assert_eq!(
            heading(
                "en",
                &["Next, the rail pass the national rail pass covers almost every fast train."]
            )
            .as_deref(),
            Some("Rail pass")
        );
        assert_eq!(
            heading(
                "de",
                &["Zuerst geht es um das Fahrrad putzen ein sauberes Fahrrad fährt leichter."]
            )
            .as_deref(),
            Some("Fahrrad putzen")
        );
        assert_eq!(
            heading(
                "fr",
                &[
                    "Enfin, l'arrosage des tomates le matin quand il fait frais pour que l'eau \
                   pénètre."
                ]
            )
            .as_deref(),
            Some("L'arrosage des tomates")
        );
        // Short enough to be a heading: kept whole.
        assert_eq!(
            heading("en", &["First, let's talk about fixing a dripping tap."]).as_deref(),
            Some("Fixing a dripping tap")
        );
    }

    #[test]
    fn faint_topic_word_heard_surely_elsewhere_counts() {
        let faint = [
            "After that, ~freezing fresh herbs.",
            "Chop the parsley and freeze it in an ice cube tray.",
        ];
        assert_eq!(
            heading("en", &faint).as_deref(),
            Some("Freezing fresh herbs")
        );
        // A faint stop word inside the phrase does not matter.
        assert_eq!(
            heading("es", &["Por último, la tortilla ~de patatas."]).as_deref(),
            Some("Tortilla de patatas")
        );
        // A faint word said nowhere else is not relied on ("Katoffel-Zubert" for the soup).
        assert_eq!(
            heading("de", &["Als Nächstes kochen wir eine ~Katoffel-Zubert."]),
            None
        );
        assert_eq!(heading("fr", &["Ensuite, le ~potager."]), None);
        // The phrase ends before such a word.
        assert_eq!(
            heading(
                "es",
                &["Ahora vamos con el gaspacho de ~aloos, es una sopa fría."]
            )
            .as_deref(),
            Some("Gaspacho")
        );
    }

    #[test]
    fn a_misheard_compound_is_named_by_its_head() {
        let known = dictionary(&[
            "zuerst",
            "sprechen",
            "wir",
            "über",
            "das",
            "backen",
            "als",
            "nächstes",
            "kochen",
            "eine",
            "first",
            "let's",
            "talk",
            "about",
            "making",
        ]);
        let heading = |code: &str, sentence: &str| {
            let d = doc_checked(code, &[sentence], Some(&known));
            announced(&d, 0).map(|p| sentence_case(&phrase_text(&d, &p)))
        };
        // Whisper heard "Brot backen" as one word that is none; its last part is one.
        assert_eq!(
            heading("de", "Zuerst sprechen wir über das Dordbacken.").as_deref(),
            Some("Backen")
        );
        // After a hyphen, the part after it is the head, and here it is no word either.
        assert_eq!(
            heading("de", "Als Nächstes kochen wir eine Katoffel-Zubert."),
            None
        );
        // A last part of four letters is too weak a guess ("Datenbunt": "bunt").
        assert_eq!(
            heading("de", "Zuerst sprechen wir über das Datenbunt."),
            None
        );
        // English does not write its compounds as one word.
        assert_eq!(heading("en", "First, let's talk about breadmaking."), None);
        // Without a dictionary nothing is known to be a word or not.
        let d = doc("de", &["Zuerst sprechen wir über das Dordbacken."]);
        assert_eq!(
            announced(&d, 0).map(|p| phrase_text(&d, &p)).as_deref(),
            Some("Dordbacken")
        );
    }

    /// The headings of a document taken as one section.
    fn one_section_heading(d: &Doc) -> String {
        let all = 0..d.sentences.len();
        let sections = std::slice::from_ref(&all);
        let weights = SectionWeights::new(d, sections);
        headings(d, sections, &weights, None).0.remove(0)
    }

    #[test]
    fn spanish_and_french_headings_open_with_a_noun() {
        // Whisper misheard the announced "gazpacho andaluz". "Fría" is said more often (as
        // "frío" too) than "sopa", but never after an article: it says how the soup is, not
        // what it is.
        let d = doc(
            "es",
            &[
                "Ahora vamos con el ~gaspacho de ~aloos, es una sopa fría perfecta.",
                "Se pela un tomate y se sirve muy frío.",
            ],
        );
        assert_eq!(one_section_heading(&d), "Sopa");
        // A name needs no article.
        let d = doc(
            "es",
            &[
                "Vimos cuadros de Picasso en el museo.",
                "Picasso pintó el Guernica.",
            ],
        );
        assert_eq!(one_section_heading(&d), "Picasso");
        // A French article may be elided into its noun.
        let d = doc(
            "fr",
            &[
                "Coupez les branches mortes à la fin de l'hiver.",
                "L'hiver passé, coupez encore.",
            ],
        );
        assert_eq!(one_section_heading(&d), "L'hiver");
    }
}
