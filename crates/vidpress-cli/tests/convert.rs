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
