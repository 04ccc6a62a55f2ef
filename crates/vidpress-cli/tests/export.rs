//! `vidpress connections` and `vidpress export` as a person runs them, against a real WordPress
//! (Debian's package, started by the publishing crate's test harness): add and test a
//! connection, send a stored draft as a draft, again (the same post is updated), scheduled for
//! a later time, refusals with messages a person can act on, and the file exports.

mod support;

use std::process::{Output, Stdio};

use support::Instance;
use vidpress_core::net::AddressPolicy;
use vidpress_publish::testing::{WP_USER, WordPressSite};
use vidpress_publish::{Http, HttpConfig, Secret, WordPress};
use vidpress_store::videos::{NewDraft, StoredTranscript, save_draft, save_transcript};
use vidpress_store::{MediaSource, Store, StoreOptions};

/// Runs `vidpress ARGS` to the end; answers its output.
fn run(instance: &Instance, args: &[&str], envs: &[(&str, &str)]) -> Output {
    let mut cmd = instance.command(args);
    cmd.envs(envs.iter().copied())
        .stdin(Stdio::null())
        .stdout(Stdio::piped());
    cmd.output().unwrap()
}

fn ok(output: &Output) -> String {
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(
        output.status.success(),
        "vidpress failed: {}\n{stdout}",
        String::from_utf8_lossy(&output.stderr)
    );
    stdout
}

fn failed(output: &Output) -> String {
    assert!(
        !output.status.success(),
        "vidpress should have refused: {}",
        String::from_utf8_lossy(&output.stdout)
    );
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// The operator's video with a draft and a transcript, stored as the pipeline leaves them;
/// answers the video id.
async fn stored_draft(instance: &Instance) -> i64 {
    ok(&run(instance, &["migrate"], &[]));
    let store = Store::connect(&instance.database_url, &StoreOptions::default())
        .await
        .unwrap();
    let user = store.operator_user("owner@localhost").await.unwrap().id;
    let (video, _) = store
        .create_video(
            user,
            "Fixing a dripping tap",
            MediaSource::Url("https://www.youtube.com/watch?v=dQw4w9WgXcQ"),
            3,
        )
        .await
        .unwrap();
    let transcript = serde_json::json!({
        "language": "en",
        "segments": [
            {"start_ms": 1200, "end_ms": 4800, "text": "First, turn off the water."},
            {"start_ms": 5000, "end_ms": 9100, "text": "Then replace the washer: it costs: \"pennies\"."},
        ],
    });
    let body = serde_json::json!({
        "description": "How to fix a dripping tap in ten minutes.",
        "tags": ["plumbing", "dripping tap"],
    })
    .to_string();
    let mut tx = store.begin().await.unwrap();
    save_transcript(
        &mut tx,
        video,
        &StoredTranscript {
            language: Some("en".into()),
            model: "base".into(),
            body: transcript.to_string(),
        },
    )
    .await
    .unwrap();
    save_draft(
        &mut tx,
        video,
        user,
        &NewDraft {
            title: "Fixing a dripping tap: \"the washer\" # 1",
            slug: "fixing-a-dripping-tap",
            body: &body,
            markdown: "# Fixing a dripping tap\n\nTurn off the water first.\n",
            html: "<h1>Fixing a dripping tap</h1>\n<p>Turn off the water first.</p>\n",
        },
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();
    video.0
}

fn wordpress(site: &WordPressSite) -> WordPress {
    WordPress::new(
        Http::new(HttpConfig {
            policy: AddressPolicy::ALLOW_PRIVATE,
            ..HttpConfig::default()
        })
        .unwrap(),
        &site.url,
        WP_USER,
        Secret::new(site.app_password.clone()),
    )
}

/// The remote post id in the line `exported … : URL` (WordPress drafts link as `?p=ID`).
fn post_id(stdout: &str) -> String {
    let url = stdout
        .lines()
        .find(|l| l.starts_with("exported"))
        .and_then(|l| l.rsplit(' ').next())
        .unwrap_or_else(|| panic!("no export line in {stdout}"));
    let url = url::Url::parse(url).unwrap();
    url.query_pairs()
        .find(|(k, _)| k == "p" || k == "page_id")
        .map(|(_, v)| v.into_owned())
        .unwrap_or_else(|| panic!("no post id in {url}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_draft_goes_to_wordpress_from_the_command_line() {
    let site = WordPressSite::start().await;
    let instance = Instance::new();
    let video = stored_draft(&instance).await.to_string();
    let secret = [("VIDPRESS_CONNECTION_SECRET", site.app_password.as_str())];

    // A connection: added, tested on the way in, listed without its secret.
    let added = ok(&run(
        &instance,
        &[
            "connections",
            "add",
            "blog",
            "--kind",
            "wordpress",
            "--url",
            site.url.as_str(),
            "--username",
            WP_USER,
        ],
        &secret,
    ));
    assert!(
        added.contains("added WordPress connection `blog`"),
        "{added}"
    );
    let listed = ok(&run(&instance, &["connections", "list"], &[]));
    assert!(listed.contains("blog"), "{listed}");
    assert!(!listed.contains(&site.app_password), "{listed}");

    // Sent as a draft, then again: the same post, updated.
    let first = ok(&run(&instance, &["export", &video, "--to", "blog"], &[]));
    assert!(first.contains("(draft)"), "{first}");
    let id = post_id(&first);
    let wp = wordpress(&site);
    let post = wp.post(&id).await.unwrap();
    assert_eq!(post["status"], "draft");
    assert_eq!(
        post["title"]["raw"],
        "Fixing a dripping tap: \"the washer\" # 1"
    );

    // Scheduled for tomorrow: WordPress holds it as a future post, published at that time.
    let at = time::OffsetDateTime::now_utc() + time::Duration::days(1);
    let at = at.replace_nanosecond(0).unwrap();
    let at_text = vidpress_publish::format_utc(at);
    let scheduled = ok(&run(
        &instance,
        &["export", &video, "--to", "blog", "--at", &at_text],
        &[],
    ));
    assert!(
        scheduled.contains(&format!("scheduled for {at_text}")),
        "{scheduled}"
    );
    assert_eq!(post_id(&scheduled), id, "the same post was updated");
    let post = wp.post(&id).await.unwrap();
    assert_eq!(post["status"], "future");
    assert_eq!(post["date_gmt"], at_text.trim_end_matches('Z'));

    // Refusals that say what to do, and leave the post alone.
    let past = vidpress_publish::format_utc(time::OffsetDateTime::now_utc());
    let err = failed(&run(
        &instance,
        &["export", &video, "--to", "blog", "--at", &past],
        &[],
    ));
    assert!(err.contains("at least 5 minutes from now"), "{err}");
    let err = failed(&run(
        &instance,
        &["export", &video, "--to", "blog", "--at", "tomorrow"],
        &[],
    ));
    assert!(err.contains("is not a time to publish at"), "{err}");
    let err = failed(&run(
        &instance,
        &[
            "export", &video, "--to", "blog", "--status", "publish", "--at", &at_text,
        ],
        &[],
    ));
    assert!(err.contains("goes with the status schedule"), "{err}");
    let err = failed(&run(&instance, &["export", &video, "--to", "nowhere"], &[]));
    assert!(err.contains("no connection named `nowhere`"), "{err}");
    assert_eq!(wp.post(&id).await.unwrap()["status"], "future");

    // Files: Markdown with front matter that parses back, HTML, captions in time order.
    let out = instance.dir.path().join("files");
    let files = ok(&run(
        &instance,
        &[
            "export",
            &video,
            "--format",
            "markdown",
            "--format",
            "html",
            "--format",
            "srt",
            "--format",
            "vtt",
            "--out",
            out.to_str().unwrap(),
        ],
        &[],
    ));
    assert_eq!(files.lines().filter(|l| l.starts_with("wrote")).count(), 4);
    let markdown = std::fs::read_to_string(out.join("fixing-a-dripping-tap.md")).unwrap();
    let front = markdown
        .strip_prefix("---\n")
        .and_then(|rest| rest.split_once("\n---\n"))
        .map(|(front, _)| front)
        .expect("front matter");
    let yaml = &yaml_rust2::YamlLoader::load_from_str(front).unwrap()[0];
    assert_eq!(
        yaml["title"].as_str(),
        Some("Fixing a dripping tap: \"the washer\" # 1")
    );
    assert_eq!(yaml["tags"][1].as_str(), Some("dripping tap"));
    let html = std::fs::read_to_string(out.join("fixing-a-dripping-tap.html")).unwrap();
    assert!(html.contains("Turn off the water first."), "{html}");
    let srt = std::fs::read_to_string(out.join("fixing-a-dripping-tap.srt")).unwrap();
    assert!(
        srt.contains("00:00:01,200 --> 00:00:04,800\nFirst, turn off the water."),
        "{srt}"
    );
    let vtt = std::fs::read_to_string(out.join("fixing-a-dripping-tap.vtt")).unwrap();
    assert!(vtt.starts_with("WEBVTT"), "{vtt}");
    assert!(vtt.contains("00:00:05.000 --> 00:00:09.100"), "{vtt}");
}
