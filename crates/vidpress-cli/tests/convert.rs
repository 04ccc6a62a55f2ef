//! `vidpress convert`: a media file in, a draft post out, through the real pipeline.

mod support;

use support::{Instance, recall, script_words};

#[test]
fn a_media_file_becomes_post_files() {
    let vp = Instance::new();
    let out = vp.dir.path().join("post");
    let media = support::media("speech.wav");
    let run = vp
        .command(&[
            "convert",
            media.to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
            "--title",
            "The baker",
        ])
        .output()
        .unwrap();
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    let markdown = std::fs::read_to_string(out.join("post.md")).unwrap();
    let r = recall(&script_words(), &markdown);
    assert!(
        r >= 0.85,
        "post.md holds {:.0}% of the script:\n{markdown}",
        r * 100.0
    );
    let html = std::fs::read_to_string(out.join("post.html")).unwrap();
    assert!(html.contains("<h1") || html.contains("<h2"), "{html}");
    let draft: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("draft.json")).unwrap()).unwrap();
    assert_eq!(draft["title"], "The baker");
    let description = draft["description"].as_str().unwrap();
    assert!(
        !description.is_empty() && description.chars().count() <= 160,
        "{description}"
    );
    assert!(media.exists(), "the user's own file is never removed");
    // speech.wav has no picture: the header is a title card, referenced by the post.
    let header = image::open(out.join("header.jpg")).unwrap();
    assert_eq!((header.width(), header.height()), (1200, 630));
    let square = image::open(out.join("header-square.jpg")).unwrap();
    assert_eq!((square.width(), square.height()), (1080, 1080));
    assert!(markdown.starts_with("---\n"), "{markdown}");
    assert!(markdown.contains("image: header.jpg"), "{markdown}");
    assert!(html.contains("<img src=\"header.jpg\""), "{html}");
}

#[test]
fn a_file_that_is_not_media_fails_with_a_clear_message() {
    let vp = Instance::new();
    let fake = vp.dir.path().join("notes.mp4");
    std::fs::write(&fake, "shopping list: flour, salt, yeast\n").unwrap();
    let run = vp
        .command(&["convert", fake.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(!run.status.success());
    let err = String::from_utf8_lossy(&run.stderr);
    assert!(
        err.contains("not a media file") && err.contains("notes.mp4"),
        "{err}"
    );
}

fn convert_late_speech(
    vp: &Instance,
    envs: &[(&str, &std::path::Path)],
) -> (serde_json::Value, String) {
    let out = vp.dir.path().join("late");
    let media = support::media("late-speech.wav");
    let mut cmd = vp.command(&[
        "convert",
        media.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ]);
    for (k, v) in envs {
        cmd.env(k, v);
    }
    let run = cmd.output().unwrap();
    let stderr = String::from_utf8_lossy(&run.stderr).into_owned();
    assert!(run.status.success(), "{stderr}");
    let draft =
        serde_json::from_str(&std::fs::read_to_string(out.join("draft.json")).unwrap()).unwrap();
    (draft, stderr)
}

#[test]
fn after_20_s_of_silence_the_only_sentence_is_stamped_at_20_s() {
    let vp = Instance::new();
    let (draft, stderr) = convert_late_speech(&vp, &[]);
    assert!(
        !stderr.contains("voice activity detection is off"),
        "the VAD model is installed by scripts/install-model.sh: {stderr}"
    );
    assert!(
        !stderr.contains("sentence embeddings are off"),
        "the MiniLM model is installed by scripts/install-model.sh: {stderr}"
    );
    let section = &draft["sections"][0];
    let start = section["start_ms"].as_u64().unwrap();
    assert!(
        start.abs_diff(20_000) <= 1000,
        "the section starts at {start} ms; the sentence is spoken at 20 s: {draft:#}"
    );
    let paragraph = section["paragraphs"][0]["start_ms"].as_u64().unwrap();
    assert!(paragraph.abs_diff(20_000) <= 1000, "{draft:#}");
    assert!(
        section["paragraphs"][0]["text"]
            .as_str()
            .unwrap()
            .contains("baker"),
        "{draft:#}"
    );
}

#[test]
fn without_the_vad_model_convert_still_runs_with_one_warning() {
    let vp = Instance::new();
    // A models directory with the Whisper models only.
    let models = vp.dir.path().join("whisper-only");
    std::fs::create_dir_all(&models).unwrap();
    let installed = support::repo_root().join("models");
    for entry in std::fs::read_dir(&installed).unwrap().flatten() {
        let name = entry.file_name();
        if name.to_string_lossy().starts_with("silero") || entry.path().is_dir() {
            continue;
        }
        std::os::unix::fs::symlink(entry.path(), models.join(&name)).unwrap();
    }
    let (draft, stderr) = convert_late_speech(&vp, &[("VIDPRESS_MODELS_DIR", &models)]);
    assert_eq!(
        stderr.matches("voice activity detection is off").count(),
        1,
        "one warning: {stderr}"
    );
    // Nor is the sentence-embedding model there: the draft is made from the words alone.
    assert_eq!(
        stderr.matches("sentence embeddings are off").count(),
        1,
        "one warning: {stderr}"
    );
    assert!(
        draft["sections"][0]["paragraphs"][0]["text"]
            .as_str()
            .unwrap()
            .contains("sun comes up"),
        "{draft:#}"
    );
}

#[test]
fn the_dictionary_of_the_transcripts_language_marks_words_it_does_not_know() {
    let vp = Instance::new();
    // A Hunspell dictionary that knows only "the": every other word the narrator says is
    // marked, which shows the worker loaded it for the English transcript.
    let dictionaries = vp.dir.path().join("hunspell");
    std::fs::create_dir_all(&dictionaries).unwrap();
    std::fs::write(dictionaries.join("en_US.aff"), "SET UTF-8\n").unwrap();
    std::fs::write(dictionaries.join("en_US.dic"), "1\nthe\n").unwrap();
    let (draft, _) = convert_late_speech(&vp, &[("VIDPRESS_DICTIONARIES_DIR", &dictionaries)]);
    let review = draft["review"].as_array().unwrap();
    let misspelled: Vec<&str> = review
        .iter()
        .filter(|m| m["misspelled"] == true)
        .map(|m| m["word"].as_str().unwrap())
        .collect();
    assert!(
        misspelled.iter().any(|w| w.eq_ignore_ascii_case("baker")),
        "{misspelled:?}"
    );
    assert!(
        !misspelled.iter().any(|w| w.eq_ignore_ascii_case("the")),
        "{misspelled:?}"
    );

    // Without a dictionary for the language only the words Whisper was unsure of are marked.
    let empty = vp.dir.path().join("no-dictionaries");
    std::fs::create_dir_all(&empty).unwrap();
    let (draft, stderr) = convert_late_speech(&vp, &[("VIDPRESS_DICTIONARIES_DIR", &empty)]);
    assert!(
        draft["review"]
            .as_array()
            .unwrap()
            .iter()
            .all(|m| m["misspelled"] == false),
        "{draft:#}"
    );
    assert_eq!(
        stderr
            .matches("no Hunspell dictionary for this language")
            .count(),
        1,
        "{stderr}"
    );
}
