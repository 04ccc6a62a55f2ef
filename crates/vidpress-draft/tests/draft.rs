//! Black-box tests of `vidpress_draft::format` on real Whisper transcripts (espeak-ng speech
//! transcribed by the Whisper base model, see `scripts/make-draft-fixtures.sh`) and on
//! hand-made transcripts.

use std::collections::BTreeSet;
use std::path::PathBuf;

use vidpress_core::{Segment, Transcript, VideoId, Word};
use vidpress_draft::{Draft, DraftOptions, MediaUrl, VideoChapter, VideoMeta, VideoSource, format};

const SETUP: &str = "scripts/make-draft-fixtures.sh";

fn fixture_path(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

fn read_fixture(name: &str) -> String {
    let path = fixture_path(name);
    std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!(
            "cannot read {}: {e}; regenerate the fixtures with {SETUP}",
            path.display()
        )
    })
}

/// A real transcript fixture in vidpress-core's `Transcript` format.
fn real(name: &str) -> Transcript {
    serde_json::from_str(&read_fixture(&format!("{name}.json"))).unwrap_or_else(|e| {
        panic!("{name}.json is not a transcript ({e}); regenerate it with {SETUP}")
    })
}

/// Where each spoken paragraph really starts, and its topic.
fn truth(name: &str) -> Vec<(String, u64)> {
    let v: serde_json::Value =
        serde_json::from_str(&read_fixture(&format!("{name}.truth.json"))).unwrap();
    v["paragraphs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                p["topic"].as_str().unwrap().to_owned(),
                p["start_ms"].as_u64().unwrap(),
            )
        })
        .collect()
}

fn youtube(title: &str) -> VideoMeta {
    VideoMeta {
        title: title.into(),
        source: VideoSource::Youtube(VideoId::parse("dQw4w9WgXcQ").unwrap()),
        chapters: Vec::new(),
    }
}

/// A transcript from sentences, 2.5 s each with 0.3 s between them and 1.5 s where `|` marks a
/// paragraph break; no word timings, as some engines give.
fn hand_made(text: &str) -> Transcript {
    let mut segments = Vec::new();
    let mut t = 0;
    for para in text.split('|') {
        for sentence in para
            .split_inclusive(['.', '?', '!'])
            .map(str::trim)
            .filter(|s| !s.is_empty())
        {
            let len = 400 * sentence.split_whitespace().count() as u64;
            segments.push(Segment {
                start_ms: t,
                end_ms: t + len,
                text: format!(" {sentence}"),
                words: vec![],
            });
            t += len + 300;
        }
        t += 1200;
    }
    Transcript::new(Some("en".into()), segments).unwrap()
}

fn words(text: &str) -> Vec<String> {
    text.split(|c: char| !(c.is_alphanumeric() || c == '\''))
        .filter(|w| !w.is_empty())
        .map(|w| w.to_lowercase())
        .collect()
}

fn body(d: &Draft) -> String {
    d.sections
        .iter()
        .flat_map(|s| &s.paragraphs)
        .map(|p| p.text.as_str())
        .collect::<Vec<_>>()
        .join(" ")
}

const FILLERS: &[&str] = &[
    "um", "umm", "uh", "uhh", "uhm", "er", "erm", "ah", "hmm", "mm",
];

/// Every word of the transcript except fillers (and the words of "you know" / "I mean", which
/// are fillers when set off by commas) appears in the draft's body.
fn assert_no_content_word_lost(transcript: &Transcript, d: &Draft) {
    let kept: BTreeSet<String> = words(&body(d)).into_iter().collect();
    let lost: Vec<String> = words(&transcript.text())
        .into_iter()
        .filter(|w| {
            !FILLERS.contains(&w.as_str()) && !["you", "know", "i", "mean"].contains(&w.as_str())
        })
        .filter(|w| !kept.contains(w))
        .collect();
    assert!(lost.is_empty(), "words lost: {lost:?}\nbody: {}", body(d));
}

fn assert_fillers_gone(d: &Draft) {
    let body = body(d);
    let ws = words(&body);
    let left: Vec<&String> = ws
        .iter()
        .filter(|w| FILLERS.contains(&w.as_str()))
        .collect();
    assert!(left.is_empty(), "fillers left: {left:?} in {body}");
    for phrase in ["You know,", "you know,", "I mean,"] {
        assert!(!body.contains(phrase), "`{phrase}` left in {body}");
    }
}

fn assert_no_stutters(d: &Draft) {
    let ws = words(&body(d));
    let doubled: Vec<&[String]> = ws
        .windows(2)
        .filter(|p| p[0] == p[1] && !["had", "that", "is"].contains(&p[0].as_str()))
        .collect();
    assert!(doubled.is_empty(), "stutters left: {doubled:?}");
}

/// The description fits in 160 characters and ends at a word boundary of its source text.
fn assert_description_fits(d: &Draft) {
    let desc = &d.description;
    assert!(!desc.is_empty(), "empty description");
    assert!(desc.chars().count() <= 160, "description too long: {desc}");
    let core = desc.trim_end_matches('\u{2026}');
    let source = if d.intro.is_empty() {
        body(d)
    } else {
        d.intro.clone()
    };
    let source = if source.is_empty() {
        d.title.clone()
    } else {
        source
    };
    assert!(
        source.starts_with(core),
        "description `{desc}` is not the start of `{source}`"
    );
    let next = source[core.len()..].chars().next();
    assert!(
        next.is_none_or(|c| !c.is_alphanumeric()),
        "description `{desc}` cuts a word"
    );
}

fn assert_slug_url_safe(d: &Draft) {
    let s = d.slug.as_str();
    assert!(!s.is_empty() && s.len() <= 80, "{s}");
    assert!(
        s.split('-').all(|p| !p.is_empty()
            && p.bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())),
        "{s}"
    );
}

fn assert_headings_distinct(d: &Draft) {
    let headings: Vec<&str> = d.sections.iter().map(|s| s.heading.as_str()).collect();
    let unique: BTreeSet<String> = headings.iter().map(|h| h.to_lowercase()).collect();
    assert_eq!(
        unique.len(),
        headings.len(),
        "headings repeat: {headings:?}"
    );
    for s in &d.sections {
        assert!(!s.heading.trim().is_empty());
        assert!(
            s.heading.split_whitespace().count() <= 7,
            "heading too long: {}",
            s.heading
        );
        // Drawn from the section: every word of the heading (bar "and") is in its text.
        let text: BTreeSet<String> = s.paragraphs.iter().flat_map(|p| words(&p.text)).collect();
        for w in words(&s.heading).into_iter().filter(|w| w != "and") {
            assert!(
                text.contains(&w),
                "heading word `{w}` of `{}` not in its section",
                s.heading
            );
        }
    }
}

#[test]
fn three_topics_get_sections_at_the_true_boundaries() {
    let t = real("three-topics");
    let truth = truth("three-topics");
    let d = format(
        &t,
        &youtube("Bread, bikes and stars"),
        &DraftOptions::default(),
    );
    let starts: Vec<u64> = d.sections.iter().map(|s| s.start_ms).collect();
    // The speaker announces the bicycle's chain ("Start with the chain"), brakes ("Next, the
    // brakes") and tyres ("Finally, the tyres") in turn, which may make sections of their own.
    assert!(
        (3..=6).contains(&d.sections.len()),
        "{} sections at {starts:?}",
        d.sections.len()
    );
    assert_eq!(d.sections[0].heading, "Sourdough bread");
    // Each true topic boundary has a section start within one paragraph of it: after the start
    // of the paragraph before it and before the start of the paragraph after it.
    for b in (1..truth.len()).filter(|&b| truth[b].0 != truth[b - 1].0) {
        let lo = truth[b - 1].1;
        let hi = truth.get(b + 1).map_or(u64::MAX, |p| p.1);
        assert!(
            starts.iter().any(|&s| s > lo && s < hi),
            "no section starts near the `{}` topic ({} ms): section starts {starts:?}",
            truth[b].0,
            truth[b].1
        );
    }
    assert_headings_distinct(&d);
    assert_no_content_word_lost(&t, &d);
    assert_fillers_gone(&d);
    assert_description_fits(&d);
    assert_slug_url_safe(&d);
    assert_eq!(d.slug.as_str(), "bread-bikes-and-stars");
    assert!((3..=8).contains(&d.tags.len()), "tags: {:?}", d.tags);
    assert!(
        (1..=3).contains(&d.pull_quotes.len()),
        "pull quotes: {:?}",
        d.pull_quotes
    );
    assert!(!d.intro.is_empty() && !d.intro.contains('\n'));
}

#[test]
fn paragraphs_follow_the_speakers_pauses_without_walls_or_one_liners() {
    for name in ["three-topics", "fillers"] {
        let truth = truth(name);
        let d = format(&real(name), &youtube("Talk"), &DraftOptions::default());
        let paragraphs: Vec<_> = d.sections.iter().flat_map(|s| &s.paragraphs).collect();
        for p in &paragraphs {
            let sentences = p.text.matches(['.', '?', '!']).count();
            let words = p.text.split_whitespace().count();
            assert!(sentences >= 2, "{name}: one-line paragraph: {}", p.text);
            assert!(
                words <= 130,
                "{name}: wall of text ({words} words): {}",
                p.text
            );
        }
        // Whisper's times are close to the audio's: most paragraphs start where one was spoken.
        let matched = truth
            .iter()
            .filter(|(_, t)| paragraphs.iter().any(|p| p.start_ms.abs_diff(*t) < 1000))
            .count();
        assert!(
            matched * 4 >= truth.len() * 3,
            "{name}: only {matched} of {} spoken paragraphs found",
            truth.len()
        );
    }
}

#[test]
fn chapters_and_watch_links_point_into_the_video() {
    let d = format(
        &real("three-topics"),
        &youtube("Bread, bikes and stars"),
        &DraftOptions::default(),
    );
    assert_eq!(d.chapters.len(), d.sections.len());
    assert_eq!(d.chapters[0].timestamp, "0:00");
    assert!(d.chapters.windows(2).all(|c| c[0].start_ms < c[1].start_ms));
    for (s, c) in d.sections.iter().zip(&d.chapters) {
        assert_eq!(c.title, s.heading);
        let url = s.watch_url.as_deref().unwrap();
        assert_eq!(
            url,
            format!(
                "https://www.youtube.com/watch?v=dQw4w9WgXcQ&t={}s",
                s.start_ms / 1000
            )
        );
        assert!(
            d.html.contains(&url.replace('&', "&amp;")),
            "{url} not linked in the HTML"
        );
    }
    let embed = d.html.find("<iframe").expect("no embedded player");
    assert!(
        embed < d.html.find("<h2").unwrap(),
        "the player is not near the top"
    );
    assert!(
        d.html
            .contains("src=\"https://www.youtube-nocookie.com/embed/dQw4w9WgXcQ\"")
    );
    assert!(d.markdown.contains("## Chapters"));
}

fn chapter(start_ms: u64, title: &str) -> VideoChapter {
    VideoChapter {
        start_ms,
        title: title.into(),
    }
}

#[test]
fn the_videos_own_chapters_make_the_sections_and_name_them() {
    let t = real("three-topics");
    let truth = truth("three-topics");
    // Where each topic starts, with the marks set a little off, as creators set them.
    let topic_start = |topic: &str| truth.iter().find(|p| p.0 == topic).unwrap().1;
    let chapters = vec![
        chapter(0, "1. Baking sourdough at home"),
        chapter(
            topic_start("bicycle maintenance") - 600,
            "2. Looking after a bicycle",
        ),
        chapter(topic_start("stargazing") + 400, "3. Chapter 3"),
        chapter(topic_start("stargazing") + 900, "3. Watching the night sky"),
        // After the last words: opens nothing.
        chapter(t.duration_ms() + 5_000, "Thanks for watching"),
    ];
    let meta = VideoMeta {
        chapters,
        ..youtube("Bread, bikes and stars")
    };
    let d = format(&t, &meta, &DraftOptions::default());
    let headings: Vec<&str> = d.sections.iter().map(|s| s.heading.as_str()).collect();
    assert_eq!(
        headings,
        [
            "Baking sourdough at home",
            "Looking after a bicycle",
            "Watching the night sky"
        ]
    );
    for (section, topic) in d.sections[1..]
        .iter()
        .zip(["bicycle maintenance", "stargazing"])
    {
        assert!(
            section.start_ms.abs_diff(topic_start(topic)) < 1000,
            "the `{topic}` section starts at {} ms, the topic at {} ms",
            section.start_ms,
            topic_start(topic)
        );
    }
    let titles: Vec<&str> = d.chapters.iter().map(|c| c.title.as_str()).collect();
    assert_eq!(titles, headings);
    assert!(d.markdown.contains("## Looking after a bicycle"));
    assert_no_content_word_lost(&t, &d);
    // The chapters are the topics the intro names, and the title when the video has none.
    assert!(
        d.intro.starts_with(
            "This video covers baking sourdough at home, looking after a bicycle and watching \
             the night sky."
        ),
        "{}",
        d.intro
    );
    let untitled = format(
        &t,
        &VideoMeta {
            title: String::new(),
            ..meta.clone()
        },
        &DraftOptions::default(),
    );
    assert_eq!(
        untitled.title,
        "Baking sourdough at home and looking after a bicycle"
    );

    // A placeholder title gives way to a heading from the section's words.
    let meta = VideoMeta {
        chapters: vec![
            chapter(0, "Chapter 1"),
            chapter(topic_start("bicycle maintenance"), "Chapter 2"),
            chapter(topic_start("stargazing"), "Chapter 3"),
        ],
        ..youtube("Bread, bikes and stars")
    };
    let d = format(&t, &meta, &DraftOptions::default());
    assert_eq!(d.sections.len(), 3);
    for s in &d.sections {
        assert!(
            !s.heading.is_empty() && !s.heading.starts_with("Chapter"),
            "{:?}",
            s.heading
        );
    }
    assert_eq!(d.sections[0].heading, "Sourdough bread");
    assert_headings_distinct(&d);

    // One chapter divides nothing, and more chapters than the post may have sections are left
    // to the words: the draft is then the one made without chapters.
    let plain = format(&t, &youtube("Talk"), &DraftOptions::default());
    let one = VideoMeta {
        chapters: vec![chapter(0, "Everything")],
        ..youtube("Talk")
    };
    assert_eq!(format(&t, &one, &DraftOptions::default()), plain);
    let few = DraftOptions {
        max_sections: 2,
        ..DraftOptions::default()
    };
    let many = VideoMeta {
        chapters: meta.chapters.clone(),
        ..youtube("Talk")
    };
    assert_eq!(format(&t, &many, &few), format(&t, &youtube("Talk"), &few));
}

/// Words said one after another at 70 ms a letter from `start_ms`, as Whisper stamps speech it
/// times well; returns them and when the last one ends.
fn timed_words(text: &str, start_ms: u64) -> (Vec<Word>, u64) {
    let mut t = start_ms;
    let words = text
        .split_whitespace()
        .map(|w| {
            let start = t;
            t += 70 * w.chars().filter(|c| c.is_alphanumeric()).count().max(2) as u64;
            Word {
                text: format!(" {w}"),
                start_ms: start,
                end_ms: t,
                probability: 0.95,
            }
        })
        .collect();
    (words, t)
}

fn segment_of(words: Vec<Word>) -> Segment {
    Segment {
        start_ms: words.first().map_or(0, |w| w.start_ms),
        end_ms: words.last().map_or(0, |w| w.end_ms),
        text: words.iter().map(|w| w.text.as_str()).collect(),
        words,
    }
}

#[test]
fn a_pause_whisper_hides_in_the_next_words_does_not_pull_a_section_early() {
    // Two announced topics with 1.6 s of silence between them. Whisper stamps the first word
    // after the silence where the last word before it ends, and stretches the next words over
    // the silence instead (as Whisper base does on the corpus's en-home-repairs).
    let first = [
        "First, let's talk about fixing a dripping tap.",
        "A dripping tap wastes a surprising amount of water, and the cause is almost always a worn rubber washer inside the valve.",
        "Turn off the water under the sink, open the tap to drain it, and unscrew the handle.",
        "Put the handle back, turn the water on, and the drip is gone.",
    ];
    let second = [
        "Now for something completely different, a squeaky door.",
        "The squeak comes from the metal hinge pins rubbing against each other.",
        "Tap each hinge pin up and out with a nail and a hammer, and coat the pin with a little petroleum jelly.",
        "The squeak disappears and the door closes softly again.",
    ];
    let transcript = |hidden: bool| {
        let mut segments = Vec::new();
        let mut t = 0;
        for s in first {
            let (words, end) = timed_words(s, t);
            segments.push(segment_of(words));
            t = end;
        }
        let gone = t;
        let spoken = gone + 1600;
        t = spoken;
        for (k, s) in second.iter().enumerate() {
            let (mut words, end) = timed_words(s, t);
            if k == 0 && hidden {
                // From the end of "gone." to where Whisper catches up with the speech, after
                // "different,", the five words share the time by their length, as whisper.cpp
                // shares out a stretch between two times it is sure of.
                let (from, to) = (words[0].start_ms, words[4].end_ms);
                let stretch = |ms: u64| gone + (ms - from) * (to - gone) / (to - from);
                for w in &mut words[..5] {
                    w.start_ms = stretch(w.start_ms);
                    w.end_ms = stretch(w.end_ms);
                }
                assert_eq!((words[0].start_ms, words[4].end_ms), (gone, to));
            }
            segments.push(segment_of(words));
            t = end;
        }
        (
            Transcript::new(Some("en".into()), segments).unwrap(),
            spoken,
        )
    };
    for hidden in [false, true] {
        let (t, spoken) = transcript(hidden);
        let d = format(&t, &youtube("Home repairs"), &DraftOptions::default());
        assert_eq!(d.sections.len(), 2, "{:?}", d.sections);
        assert_eq!(d.sections[1].heading, "Squeaky door");
        let start = d.sections[1].start_ms;
        assert!(
            start.abs_diff(spoken) <= 300,
            "hidden pause {hidden}: the section starts at {start} ms, its words at {spoken} ms"
        );
        assert_eq!(d.chapters[1].start_ms, start);
        let url = d.sections[1].watch_url.as_deref().unwrap();
        assert!(url.ends_with(&format!("&t={}s", start / 1000)), "{url}");
        // The first section still starts with the speech.
        assert_eq!(d.sections[0].start_ms, 0);
    }
}

#[test]
fn other_sources_get_links_or_nothing_but_never_an_iframe() {
    let t = real("three-topics");
    let link = VideoMeta {
        title: "Talk".into(),
        source: VideoSource::Link(MediaUrl::parse("https://example.org/talk.mp4").unwrap()),
        chapters: Vec::new(),
    };
    let d = format(&t, &link, &DraftOptions::default());
    assert!(!d.html.contains("<iframe"));
    assert!(
        d.html.contains("href=\"https://example.org/talk.mp4#t=0\""),
        "{}",
        d.html
    );
    let file = VideoMeta {
        title: "Talk".into(),
        source: VideoSource::File("talk.mp4".into()),
        chapters: Vec::new(),
    };
    let d = format(&t, &file, &DraftOptions::default());
    assert!(
        !d.html.contains("<iframe") && !d.html.contains("<a "),
        "{}",
        d.html
    );
    assert!(d.sections.iter().all(|s| s.watch_url.is_none()));
}

#[test]
fn real_fillers_go_without_losing_words() {
    let t = real("fillers");
    assert!(
        words(&t.text()).iter().any(|w| w == "um"),
        "the fixture should contain fillers"
    );
    let d = format(&t, &youtube("Coffee at home"), &DraftOptions::default());
    assert_fillers_gone(&d);
    assert_no_content_word_lost(&t, &d);
    assert_eq!(
        d.sections.len(),
        1,
        "a short single-topic talk is one section"
    );
    assert_headings_distinct(&d);
    assert_description_fits(&d);
}

#[test]
fn hand_made_fillers_stutters_and_false_starts_are_cleaned() {
    let t = hand_made(
        "Um, so the the grind size matters a lot. I I think, you know, coarse is best for a press. \
         We went to the- to the roaster and uh bought fresh beans. Th- the beans were, um, dark and oily. | \
         [Music] | I mean, if the coffee tastes bitter, make the grind coarser. It is hard, you know.",
    );
    let d = format(&t, &youtube("Coffee"), &DraftOptions::default());
    assert_fillers_gone(&d);
    assert_no_stutters(&d);
    let body = body(&d);
    assert!(
        !body.to_lowercase().contains("music"),
        "noise tag left: {body}"
    );
    assert!(
        !body.contains("the- to") && !body.contains("Th-"),
        "false start left: {body}"
    );
    assert!(
        body.starts_with("So the grind size matters a lot. I think, coarse is best for a press."),
        "{body}"
    );
    assert!(body.contains("If the coffee tastes bitter"), "{body}");
    assert!(body.ends_with("It is hard."), "{body}");
    for w in [
        "grind", "size", "matters", "coarse", "roaster", "bought", "fresh", "beans", "dark",
        "oily", "bitter", "coarser", "hard",
    ] {
        assert!(words(&body).iter().any(|b| b == w), "lost `{w}`: {body}");
    }
}

#[test]
fn one_sentence_makes_a_small_sensible_draft() {
    let t = real("one-sentence");
    let d = format(&t, &youtube("The fox"), &DraftOptions::default());
    assert_eq!(d.sections.len(), 1);
    assert_eq!(d.sections[0].paragraphs.len(), 1);
    let text = &d.sections[0].paragraphs[0].text;
    assert!(
        text.starts_with("The quick brown fox") && text.ends_with("lazy dog."),
        "{text}"
    );
    assert!(
        d.intro.is_empty(),
        "an intro would only repeat the one sentence"
    );
    assert!(d.pull_quotes.is_empty());
    assert_eq!(&d.description, text);
    assert!(!d.tags.is_empty() && d.tags.len() <= 8);
    assert!(d.html.contains("lazy dog.</p>"));
    assert_no_content_word_lost(&t, &d);
    assert_headings_distinct(&d);
}

#[test]
fn empty_transcript_makes_a_title_and_the_video() {
    let t = Transcript::new(None, vec![]).unwrap();
    let d = format(
        &t,
        &youtube("My Empty Video (Official Video)"),
        &DraftOptions::default(),
    );
    assert_eq!(d.title, "My Empty Video");
    assert_eq!(d.slug.as_str(), "my-empty-video");
    assert!(
        d.sections.is_empty()
            && d.chapters.is_empty()
            && d.pull_quotes.is_empty()
            && d.intro.is_empty()
    );
    assert_eq!(d.description, "My Empty Video");
    assert!(
        d.html.contains("<h1>My Empty Video</h1>") && d.html.contains("<iframe"),
        "{}",
        d.html
    );
    // Only noise is as good as empty.
    let noise = hand_made("[Music] | [Applause]");
    let d = format(&noise, &youtube(""), &DraftOptions::default());
    assert!(d.sections.is_empty());
    assert_eq!(d.title, "Untitled video");
    assert_eq!(d.slug.as_str(), "video-dqw4w9wgxcq");
    assert_description_fits(&d);
}

#[test]
fn injection_in_transcript_and_title_comes_out_escaped() {
    let t = hand_made(
        "Here is <script>alert(1)</script> and **bold** text. Click (javascript:alert(1)) or <a href=\"javascript:alert(2)\">me</a> now. \
         # Not a heading and <img src=x onerror=alert(1)> either. | - not a list item & &lt; no entity. \
         1. Not an ordered list, and <iframe src=\"https://evil/x\"></iframe> is text.",
    );
    let d = format(
        &t,
        &youtube("<b>Bold</b> \"title\" <script>x</script>"),
        &DraftOptions::default(),
    );
    let html = &d.html;
    for bad in [
        "<script",
        "<img",
        "<strong>",
        "<em>",
        "<a href=\"javascript",
        "<b>",
        "<li>",
        "<ol",
        "<ul",
        "evil/x\"></iframe",
    ] {
        assert!(!html.contains(bad), "`{bad}` got through: {html}");
    }
    assert_eq!(
        html.matches("<iframe").count(),
        1,
        "only our player: {html}"
    );
    assert_eq!(html.matches("<h1>").count(), 1);
    // The only links are the "watch this part" ones.
    assert_eq!(html.matches("<a ").count(), d.sections.len(), "{html}");
    for shown in [
        "&lt;script&gt;alert(1)&lt;/script&gt;",
        "**bold**",
        "(javascript:alert(1))",
        "&lt;a href=",
        "&amp;lt;",
        "&lt;iframe",
    ] {
        assert!(html.contains(shown), "`{shown}` not shown as text: {html}");
    }
    assert!(
        html.contains("title=\"&lt;b&gt;Bold&lt;/b&gt; &quot;title&quot;"),
        "{html}"
    );
    assert_slug_url_safe(&d);
}

#[test]
fn long_first_sentence_is_cut_at_a_word_for_the_description() {
    let long = "This sentence about gardening tomatoes and peppers keeps going ".repeat(5);
    let t = hand_made(&format!("{long}until it ends."));
    let d = format(&t, &youtube("Garden"), &DraftOptions::default());
    assert!(d.description.ends_with('\u{2026}'), "{}", d.description);
    assert_description_fits(&d);
}

#[test]
fn drafts_and_slugs_are_stable() {
    let t = real("three-topics");
    let a = format(
        &t,
        &youtube("Crème brûlée — the 5 secrets!"),
        &DraftOptions::default(),
    );
    let b = format(
        &t,
        &youtube("Crème brûlée — the 5 secrets!"),
        &DraftOptions::default(),
    );
    assert_eq!(a, b, "formatting is not deterministic");
    assert_eq!(a.slug.as_str(), "creme-brulee-the-5-secrets");
    // The slug depends on the title only, not on the transcript.
    let c = format(
        &real("fillers"),
        &youtube("Crème brûlée — the 5 secrets!"),
        &DraftOptions::default(),
    );
    assert_eq!(c.slug, a.slug);
    for title in [
        "🔥 HOW I BAKE 🔥 #shorts",
        "Ünïcödé ärticle",
        "日本語のタイトル",
        "a/b?c=d&e#f",
    ] {
        assert_slug_url_safe(&format(&t, &youtube(title), &DraftOptions::default()));
    }
}

#[test]
fn draft_json_has_a_description_and_round_trips() {
    let d = format(
        &real("fillers"),
        &youtube("Coffee at home"),
        &DraftOptions::default(),
    );
    let json = serde_json::to_value(&d).unwrap();
    assert_eq!(json["description"].as_str(), Some(d.description.as_str()));
    assert_eq!(json["slug"].as_str(), Some("coffee-at-home"));
    let back: Draft = serde_json::from_value(json).unwrap();
    assert_eq!(back, d);
}

#[test]
fn odd_text_never_panics() {
    let odd = [
        "\u{2082}\u{2082}\u{2082} x\u{2082}\u{2082} ĳĳĳĳ. ffff ßß!",
        "[[[ ))) ((( ]]] *** ---- ... ??? !!!",
        "- + = 1) 2. # > | ~ ` \\ & &amp; \u{200B}\u{FEFF}",
        "um uh erm. you know. I mean. the the the the.",
        "日本語の文章です。 これはテストです。 🎵🎶 ♪",
        "a-b-c-d- -- — – th- t- x-",
    ];
    for text in odd {
        let d = format(&hand_made(text), &youtube(text), &DraftOptions::default());
        assert_slug_url_safe(&d);
        assert!(d.description.chars().count() <= 160);
        assert!(!d.html.contains("<script"));
    }
}
