//! Draft quality on the hand-written corpus (`tests/fixtures/corpus`, see
//! `scripts/make-draft-corpus.sh`): each script's real Whisper transcript is formatted and
//! compared with the script's reference sections and headings. Prints, per script and overall:
//! Pk and WindowDiff of the section boundaries (over transcript words), the share of reference
//! topics whose best-matching section's heading names them, stop-word tags, the error of the
//! section start times (each reference start against the nearest section start, which mixes a
//! missing or misplaced section with a wrong time) and the timestamp error proper (the sections
//! that open at a reference start's first word, against when that word is spoken); and how many
//! of Whisper's wrong words the review marks catch. Each
//! measure is given twice: from the words, pauses and cues alone, and with the all-MiniLM-L6-v2
//! sentence embeddings when the model is installed (`vidpress models install minilm`, in
//! `$VIDPRESS_MODELS_DIR` or the repository's `models/`). Figures, not assertions.
//!
//! Run: `cargo bench -p vidpress-draft --bench quality` (`VIDPRESS_BENCH_DETAIL=1` lists each
//! section start that misses by more than a second)

use std::path::PathBuf;
use std::time::Instant;

use vidpress_core::Transcript;
use vidpress_draft::{Aids, Draft, DraftOptions, Embedder, VideoMeta, VideoSource, format_with};

struct Reference {
    name: String,
    /// The words of the script, as spoken.
    script: Vec<String>,
    /// Where each reference section starts in `script`.
    first_words: Vec<usize>,
    language: String,
    announced: bool,
    title: String,
    /// (heading, reference words, start ms, end ms)
    sections: Vec<(String, Vec<String>, u64, u64)>,
}

fn corpus_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/corpus")
}

fn load() -> Vec<(Reference, Transcript)> {
    let mut names: Vec<String> = std::fs::read_dir(corpus_dir())
        .expect("the corpus folder exists; run scripts/make-draft-corpus.sh")
        .filter_map(|e| {
            let name = e.ok()?.file_name().to_string_lossy().into_owned();
            name.strip_suffix(".truth.json").map(str::to_owned)
        })
        .collect();
    names.sort();
    names
        .into_iter()
        .map(|name| {
            let read = |suffix: &str| {
                let path = corpus_dir().join(format!("{name}{suffix}"));
                std::fs::read_to_string(&path)
                    .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()))
            };
            let truth: serde_json::Value = serde_json::from_str(&read(".truth.json")).unwrap();
            let transcript: Transcript = serde_json::from_str(&read(".json")).unwrap();
            let sections = truth["sections"]
                .as_array()
                .unwrap()
                .iter()
                .map(|s| {
                    (
                        s["heading"].as_str().unwrap().to_owned(),
                        s["words"]
                            .as_array()
                            .unwrap()
                            .iter()
                            .map(|w| w.as_str().unwrap().to_lowercase())
                            .collect(),
                        s["start_ms"].as_u64().unwrap(),
                        s["end_ms"].as_u64().unwrap(),
                    )
                })
                .collect();
            let mut script = Vec::new();
            let mut first_words = Vec::new();
            for s in truth["sections"].as_array().unwrap() {
                first_words.push(script.len());
                script.extend(
                    s["text"]
                        .as_str()
                        .unwrap_or("")
                        .split_whitespace()
                        .map(|w| cores(w).join(""))
                        .filter(|w| !w.is_empty()),
                );
            }
            let reference = Reference {
                script,
                first_words,
                name,
                language: truth["language"].as_str().unwrap().to_owned(),
                announced: truth["cues"].as_str() == Some("announced"),
                title: truth["title"].as_str().unwrap_or("").to_owned(),
                sections,
            };
            (reference, transcript)
        })
        .collect()
}

/// Each transcript word's time (its middle).
fn word_times(t: &Transcript) -> Vec<u64> {
    t.segments()
        .iter()
        .flat_map(|s| s.words.iter().map(|w| (w.start_ms + w.end_ms) / 2))
        .collect()
}

/// The segment each time falls in, given the segments' (start, end) spans: a time belongs to the
/// last segment that started before the middle of the gap leading to it.
fn labels(times: &[u64], spans: &[(u64, u64)]) -> Vec<usize> {
    let cuts: Vec<u64> = spans
        .windows(2)
        .map(|w| (w[0].1.min(w[1].0) + w[1].0) / 2)
        .collect();
    times
        .iter()
        .map(|t| cuts.iter().filter(|&&c| *t >= c).count())
        .collect()
}

/// Pk and WindowDiff with window `k` over label sequences.
fn pk_windowdiff(reference: &[usize], hypothesis: &[usize]) -> (f64, f64) {
    let n = reference.len();
    let segments = reference.last().map_or(1, |l| l + 1);
    let k = ((n as f64 / segments as f64) / 2.0).round().max(1.0) as usize;
    if n <= k {
        return (0.0, 0.0);
    }
    let (mut pk, mut wd) = (0usize, 0usize);
    for i in 0..n - k {
        let same_r = reference[i] == reference[i + k];
        let same_h = hypothesis[i] == hypothesis[i + k];
        if same_r != same_h {
            pk += 1;
        }
        let br = reference[i + k] - reference[i];
        let bh = hypothesis[i + k] - hypothesis[i];
        if br != bh {
            wd += 1;
        }
    }
    let m = (n - k) as f64;
    (pk as f64 / m, wd as f64 / m)
}

fn cores(text: &str) -> Vec<String> {
    text.split(|c: char| !(c.is_alphanumeric() || c == '\''))
        .filter(|w| !w.is_empty())
        .map(|w| {
            let w = w.to_lowercase();
            for p in ["l'", "d'"] {
                if let Some(rest) = w.strip_prefix(p) {
                    return rest.to_owned();
                }
            }
            w
        })
        .collect()
}

/// Whether a heading word is a reference word or shares its stem (a common start of five
/// letters, or the whole of a short reference word).
fn names(heading_word: &str, reference: &str) -> bool {
    let common = heading_word
        .chars()
        .zip(reference.chars())
        .take_while(|(a, b)| a == b)
        .count();
    heading_word == reference
        || common >= 5
        || (reference.chars().count() <= 5 && common == reference.chars().count())
}

fn is_stop_word(word: &str) -> bool {
    ["en", "de", "es", "fr"]
        .iter()
        .any(|l| stop_words::get(l).contains(&word))
}

#[derive(Default)]
struct Totals {
    scripts: usize,
    pk: f64,
    wd: f64,
    topics: usize,
    named: usize,
    announced_topics: usize,
    announced_named: usize,
    tags: usize,
    stop_tags: usize,
    starts: usize,
    starts_within_1s: usize,
    start_error_ms: Vec<u64>,
    /// For each section that opens at a reference start's first word, how far its start time is
    /// from when that word is spoken.
    stamp_error_ms: Vec<u64>,
    format_ms: f64,
    /// Whisper's words that differ from the script, and how many of them are marked.
    errors: usize,
    errors_marked: usize,
    /// Whisper's words that match the script, and how many of them are marked.
    correct: usize,
    correct_marked: usize,
    /// Section starts more than 1 s off: at the reference's first word with the time of it off
    /// (by word position), the topic merged into a neighbour, or its section words away.
    missed_merged: usize,
    missed_sentences: usize,
    missed_time: usize,
    /// The same split by the reason of the mark: Whisper unsure, or not in the dictionary.
    errors_unsure: usize,
    errors_misspelled: usize,
    correct_unsure: usize,
    correct_misspelled: usize,
}

/// Which transcript words are wrong, from [`align`]; words holding digits are left out (Whisper
/// writes numbers as digits).
fn wrong_words(script: &[String], heard: &[String]) -> Vec<Option<bool>> {
    let mut out: Vec<Option<bool>> = align(script, heard)
        .into_iter()
        .zip(heard)
        .map(|(i, w)| Some(i.is_none_or(|i| script[i] != *w)))
        .collect();
    for (k, w) in heard.iter().enumerate() {
        if w.chars().any(|c| c.is_ascii_digit()) {
            out[k] = None;
        }
    }
    out
}

/// A word-level alignment (edit distance) of the transcript with the script: for each heard
/// word, the script word it stands for (the same or a substitute), or `None` for a word Whisper
/// added.
fn align(script: &[String], heard: &[String]) -> Vec<Option<usize>> {
    let (n, m) = (script.len(), heard.len());
    let mut cost = vec![vec![0u32; m + 1]; n + 1];
    for (i, row) in cost.iter_mut().enumerate() {
        row[0] = i as u32;
    }
    for (j, c) in cost[0].iter_mut().enumerate() {
        *c = j as u32;
    }
    for i in 1..=n {
        for j in 1..=m {
            let sub = cost[i - 1][j - 1] + u32::from(script[i - 1] != heard[j - 1]);
            cost[i][j] = sub.min(cost[i - 1][j] + 1).min(cost[i][j - 1] + 1);
        }
    }
    let mut out = vec![None; m];
    let (mut i, mut j) = (n, m);
    while j > 0 {
        if i > 0 && cost[i][j] == cost[i - 1][j - 1] + u32::from(script[i - 1] != heard[j - 1]) {
            out[j - 1] = Some(i - 1);
            i -= 1;
            j -= 1;
        } else if i > 0 && cost[i][j] == cost[i - 1][j] + 1 {
            i -= 1;
        } else {
            j -= 1;
        }
    }
    out
}

/// The transcript word each reference section starts at: the first heard word that stands for
/// the section's first script word or a later one.
fn reference_first_heard(r: &Reference, aligned: &[Option<usize>]) -> Vec<Option<usize>> {
    r.first_words
        .iter()
        .map(|&first| aligned.iter().position(|a| a.is_some_and(|i| i >= first)))
        .collect()
}

/// The transcript word a drafted section opens with: the last word stamped at or before the
/// section's start that reads as its first word.
fn section_first_heard(
    words: &[&vidpress_core::Word],
    section: &vidpress_core::Section,
) -> Option<usize> {
    let first = cores(&section.paragraphs.first()?.text)
        .into_iter()
        .next()?;
    words
        .iter()
        .enumerate()
        .filter(|(_, w)| w.start_ms <= section.start_ms && cores(&w.text).first() == Some(&first))
        .map(|(j, _)| j)
        .next_back()
}

/// The Hunspell dictionary Debian installs for a language, when it is there.
fn dictionary(language: &str) -> Option<spellbook::Dictionary> {
    let stem = match language {
        "en" => "en_US",
        "de" => "de_DE",
        "es" => "es_ES",
        "fr" => "fr_FR",
        _ => return None,
    };
    let read =
        |ext: &str| std::fs::read_to_string(format!("/usr/share/hunspell/{stem}.{ext}")).ok();
    spellbook::Dictionary::new(&read("aff")?, &read("dic")?).ok()
}

/// The installed sentence-embedding model, when there is one.
fn minilm() -> Option<vidpress_embed::MiniLm> {
    let models = std::env::var_os("VIDPRESS_MODELS_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../models"));
    let dir = vidpress_embed::installed(&models)?;
    Some(vidpress_embed::MiniLm::load(&dir).expect("the installed MiniLM model loads"))
}

fn main() {
    let corpus = load();
    let dictionaries: std::collections::HashMap<&str, Option<spellbook::Dictionary>> =
        ["en", "de", "es", "fr"]
            .into_iter()
            .map(|l| (l, dictionary(l)))
            .collect();
    let missing: Vec<&&str> = dictionaries
        .iter()
        .filter(|(_, d)| d.is_none())
        .map(|(l, _)| l)
        .collect();
    if !missing.is_empty() {
        println!("no Hunspell dictionary for {missing:?}: those scripts are not spell-checked");
    }
    let model = minilm();
    let lexical = measure(&corpus, &dictionaries, None);
    println!();
    report("words, pauses and cues", &lexical);
    match &model {
        Some(model) => {
            println!();
            let embedded = measure(&corpus, &dictionaries, Some(model));
            println!();
            report("words, pauses and cues", &lexical);
            report("with sentence embeddings", &embedded);
        }
        None => println!(
            "the MiniLM model is not installed (vidpress models install minilm): no figures with embeddings"
        ),
    }
}

fn report(label: &str, totals: &Totals) {
    let n = totals.scripts.max(1) as f64;
    let mut errors = totals.start_error_ms.clone();
    errors.sort_unstable();
    let median = errors.get(errors.len() / 2).copied().unwrap_or(0);
    let mut stamps = totals.stamp_error_ms.clone();
    stamps.sort_unstable();
    println!(
        "overall, {label}: {} scripts; Pk {:.3}; WindowDiff {:.3}; headings naming their topic {}/{} ({:.0} %), on announced-topic scripts {}/{}; stop-word tags {}/{}; section starts within 1 s {}/{} (median error {:.2} s, max {:.1} s); formatting {:.1} ms in all",
        totals.scripts,
        totals.pk / n,
        totals.wd / n,
        totals.named,
        totals.topics,
        100.0 * totals.named as f64 / totals.topics.max(1) as f64,
        totals.announced_named,
        totals.announced_topics,
        totals.stop_tags,
        totals.tags,
        totals.starts_within_1s,
        totals.starts,
        median as f64 / 1000.0,
        errors.last().copied().unwrap_or(0) as f64 / 1000.0,
        totals.format_ms
    );
    println!(
        "section starts more than 1 s off, {label}: {} topics merged into a neighbour, {} starting words away from the reference, {} at the reference's first word with Whisper's time of it off",
        totals.missed_merged, totals.missed_sentences, totals.missed_time
    );
    println!(
        "timestamp error, {label}: {} sections open at a reference start's first word; their start within 1 s of when it is spoken {}/{} (median error {:.2} s, 90th percentile {:.2} s, max {:.2} s)",
        stamps.len(),
        stamps.iter().filter(|&&e| e <= 1000).count(),
        stamps.len(),
        stamps.get(stamps.len() / 2).copied().unwrap_or(0) as f64 / 1000.0,
        stamps.get(stamps.len() * 9 / 10).copied().unwrap_or(0) as f64 / 1000.0,
        stamps.last().copied().unwrap_or(0) as f64 / 1000.0,
    );
    let share = |a: usize, b: usize| 100.0 * a as f64 / b.max(1) as f64;
    println!(
        "review marks, {label}: {}/{} of Whisper's wrong words marked ({:.0} %: {} as unsure, {} as misspelled); {}/{} correct words marked ({:.1} %: {} as unsure, {} as misspelled)",
        totals.errors_marked,
        totals.errors,
        share(totals.errors_marked, totals.errors),
        totals.errors_unsure,
        totals.errors_misspelled,
        totals.correct_marked,
        totals.correct,
        share(totals.correct_marked, totals.correct),
        totals.correct_unsure,
        totals.correct_misspelled,
    );
}

/// Formats every script and measures the drafts, printing one line per script.
fn measure(
    corpus: &[(Reference, Transcript)],
    dictionaries: &std::collections::HashMap<&str, Option<spellbook::Dictionary>>,
    embedder: Option<&dyn Embedder>,
) -> Totals {
    let options = DraftOptions::default();
    let mut totals = Totals::default();
    println!(
        "{:<18} {:>2} {:>5} {:>4}/{:<4} {:>5} {:>5} {:>7} {:>5} {:>9}  headings ({})",
        "script",
        "la",
        "min",
        "ref",
        "hyp",
        "Pk",
        "WD",
        "named",
        "stopT",
        "start err",
        if embedder.is_some() {
            "with embeddings"
        } else {
            "words alone"
        }
    );
    let mut examples: Vec<String> = Vec::new();
    for (r, t) in corpus {
        let meta = VideoMeta {
            title: r.title.clone(),
            source: VideoSource::File(format!("{}.wav", r.name)),
            chapters: Vec::new(),
        };
        let aids = Aids {
            dictionary: dictionaries
                .get(r.language.as_str())
                .and_then(Option::as_ref),
            embedder,
        };
        let started = Instant::now();
        let d: Draft = format_with(t, &meta, &options, &aids);
        totals.format_ms += started.elapsed().as_secs_f64() * 1000.0;
        let times = word_times(t);
        let ref_spans: Vec<(u64, u64)> = r.sections.iter().map(|s| (s.2, s.3)).collect();
        let hyp_spans: Vec<(u64, u64)> =
            d.sections.iter().map(|s| (s.start_ms, s.end_ms)).collect();
        let ref_labels = labels(&times, &ref_spans);
        let hyp_labels = labels(&times, &hyp_spans);
        let (pk, wd) = pk_windowdiff(&ref_labels, &hyp_labels);
        // Each reference topic against the section sharing most of its words.
        let mut named = 0;
        for (k, (_, words, _, _)) in r.sections.iter().enumerate() {
            let mut overlap = vec![0usize; d.sections.len().max(1)];
            for (rl, hl) in ref_labels.iter().zip(&hyp_labels) {
                if *rl == k {
                    overlap[*hl] += 1;
                }
            }
            let best = (0..overlap.len()).max_by_key(|&j| (overlap[j], std::cmp::Reverse(j)));
            let heading = best
                .and_then(|j| d.sections.get(j))
                .map_or(String::new(), |s| s.heading.clone());
            if cores(&heading)
                .iter()
                .any(|h| words.iter().any(|w| cores(w).iter().any(|w| names(h, w))))
            {
                named += 1;
            }
        }
        let stop_tags = d
            .tags
            .iter()
            .filter(|tag| cores(tag).iter().any(|w| is_stop_word(w)))
            .count();
        // Section starts: each reference start against the nearest section start.
        let mut errors: Vec<u64> = r
            .sections
            .iter()
            .map(|s| {
                d.sections
                    .iter()
                    .map(|h| h.start_ms.abs_diff(s.2))
                    .min()
                    .unwrap_or(s.2)
            })
            .collect();
        // The timestamp error proper: the sections that open at the word a reference section
        // starts with (by word position, through the alignment with the script), against the
        // time that word is spoken.
        let words: Vec<&vidpress_core::Word> = t.segments().iter().flat_map(|s| &s.words).collect();
        let heard: Vec<String> = words.iter().map(|w| cores(&w.text).join("")).collect();
        let aligned = align(&r.script, &heard);
        let reference_starts = reference_first_heard(r, &aligned);
        let openings: Vec<Option<usize>> = d
            .sections
            .iter()
            .map(|section| section_first_heard(&words, section))
            .collect();
        for (section, first) in d.sections.iter().zip(&openings) {
            let Some(first) = *first else {
                continue;
            };
            if let Some(k) = reference_starts.iter().position(|&q| q == Some(first)) {
                let error = section.start_ms.abs_diff(r.sections[k].2);
                if error > 1000 && std::env::var_os("VIDPRESS_BENCH_DETAIL").is_some() {
                    println!(
                        "  {}: \"{}\" is spoken at {:.1} s, its section starts at {:.1} s",
                        r.name,
                        r.sections[k].0,
                        r.sections[k].2 as f64 / 1000.0,
                        section.start_ms as f64 / 1000.0
                    );
                }
                totals.stamp_error_ms.push(error);
            }
        }
        // Why a start misses by more than a second: a section opens at the reference's first
        // word with the time of it off, or no section starts inside the reference topic at all
        // (it was merged into a neighbour), or one does but words away from the reference start.
        for ((s, &e), reference_start) in r.sections.iter().zip(&errors).zip(&reference_starts) {
            if e <= 1000 {
                continue;
            }
            if reference_start.is_some() && openings.contains(reference_start) {
                totals.missed_time += 1;
                continue;
            }
            let inside = d
                .sections
                .iter()
                .any(|h| h.start_ms + 1000 >= s.2 && h.start_ms < s.3);
            if !inside {
                totals.missed_merged += 1;
                continue;
            }
            let nearest = d
                .sections
                .iter()
                .map(|h| h.start_ms)
                .min_by_key(|h| h.abs_diff(s.2))
                .unwrap_or(0);
            let (lo, hi) = (nearest.min(s.2), nearest.max(s.2));
            let between = t
                .segments()
                .iter()
                .flat_map(|seg| &seg.words)
                .filter(|w| w.start_ms > lo + 300 && w.start_ms + 300 < hi)
                .count();
            if std::env::var_os("VIDPRESS_BENCH_DETAIL").is_some() {
                println!(
                    "  {}: \"{}\" starts at {:.1} s, the nearest section at {:.1} s, {between} words between",
                    r.name,
                    s.0,
                    s.2 as f64 / 1000.0,
                    nearest as f64 / 1000.0
                );
            }
            totals.missed_sentences += 1;
        }
        // Review marks against Whisper's real errors (composed scripts repeat the others).
        if !r.name.contains("long") && !r.name.contains("medium") && !r.name.contains("lang") {
            let wrong = wrong_words(&r.script, &heard);
            for (w, wrong) in words.iter().zip(wrong) {
                let Some(wrong) = wrong else { continue };
                let mark = d.review.iter().find(|m| m.start_ms == w.start_ms);
                let marked = usize::from(mark.is_some());
                let unsure = usize::from(mark.is_some_and(|m| m.unsure));
                let misspelled = usize::from(mark.is_some_and(|m| m.misspelled));
                if wrong {
                    totals.errors += 1;
                    totals.errors_marked += marked;
                    totals.errors_unsure += unsure;
                    totals.errors_misspelled += misspelled;
                } else {
                    if misspelled > 0 && std::env::var_os("VIDPRESS_BENCH_DETAIL").is_some() {
                        println!(
                            "  {}: a correct word not in the dictionary: {}",
                            r.name, w.text
                        );
                    }
                    totals.correct += 1;
                    totals.correct_marked += marked;
                    totals.correct_unsure += unsure;
                    totals.correct_misspelled += misspelled;
                }
            }
        }
        let within = errors.iter().filter(|&&e| e <= 1000).count();
        let worst = errors.iter().copied().max().unwrap_or(0);
        totals.scripts += 1;
        totals.pk += pk;
        totals.wd += wd;
        totals.topics += r.sections.len();
        totals.named += named;
        if r.announced {
            totals.announced_topics += r.sections.len();
            totals.announced_named += named;
        }
        totals.tags += d.tags.len();
        totals.stop_tags += stop_tags;
        totals.starts += errors.len();
        totals.starts_within_1s += within;
        totals.start_error_ms.append(&mut errors);
        let minutes = r.sections.last().map_or(0, |s| s.3) as f64 / 60_000.0;
        println!(
            "{:<18} {:>2} {:>5.1} {:>4}/{:<4} {:>5.2} {:>5.2} {:>3}/{:<3} {:>5} {:>7.1} s  {}",
            r.name,
            r.language,
            minutes,
            r.sections.len(),
            d.sections.len(),
            pk,
            wd,
            named,
            r.sections.len(),
            stop_tags,
            worst as f64 / 1000.0,
            d.sections
                .iter()
                .take(8)
                .map(|s| s.heading.as_str())
                .collect::<Vec<_>>()
                .join(" | ")
        );
        examples.push(format!(
            "{}: title \"{}\"; tags {:?}; description \"{}\"",
            r.name, d.title, d.tags, d.description
        ));
    }
    for e in examples {
        println!("{e}");
    }
    totals
}
