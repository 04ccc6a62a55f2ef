//! The Ghost client against a real Ghost 5 (the npm package on SQLite, started by
//! `vidpress_publish::testing`): create, update in place, feature image uploaded and served,
//! tags, a token Ghost refuses renewed, the `updated_at` conflict with an edit made in Ghost,
//! a post deleted in Ghost created anew, clear key errors.

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

use vidpress_core::net::AddressPolicy;
use vidpress_publish::testing::{GhostSite, png};
use vidpress_publish::{
    Ghost, Http, HttpConfig, Image, Post, PostStatus, Previous, PublishError, Secret,
};

fn http() -> Http {
    Http::new(HttpConfig {
        policy: AddressPolicy::ALLOW_PRIVATE,
        ..HttpConfig::default()
    })
    .unwrap()
}

fn client(site: &GhostSite) -> Ghost {
    Ghost::new(http(), &site.url, &Secret::new(site.admin_key.clone())).unwrap()
}

fn post(title: &str, body: &str) -> Post {
    Post {
        title: title.to_owned(),
        slug: "what-rust-ownership-means".to_owned(),
        html: format!("<p>{body}</p>\n<h2>Borrowing</h2>\n<p>References and lifetimes.</p>"),
        excerpt: "Ownership in Rust, explained in ten minutes.".to_owned(),
        tags: vec!["rust".to_owned(), "Memory Safety".to_owned()],
        status: PostStatus::Draft,
        image: Some(Image {
            file_name: "header.png".to_owned(),
            content_type: "image/png".to_owned(),
            bytes: png(1200, 630),
        }),
    }
}

fn previous(published: &vidpress_publish::Published) -> Previous {
    Previous {
        remote_id: published.remote_id.clone(),
        updated_at: published.updated_at.clone(),
        image: published.image.clone(),
    }
}

fn tag_names(post: &serde_json::Value) -> Vec<String> {
    let mut names: Vec<String> = post["tags"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap().to_owned())
        .collect();
    names.sort();
    names
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ghost_end_to_end() {
    // One Ghost for all cases: it takes seconds to start and each case uses its own posts.
    let site = GhostSite::start().await;
    let ghost = client(&site);
    let tested = ghost.test().await.unwrap();
    assert!(
        tested.contains("Ghost 5.") && tested.contains("accepts"),
        "{tested}"
    );

    // Create.
    let first = ghost
        .publish(&post("Ownership", "First take."), None)
        .await
        .unwrap();
    let stored = ghost.post(&first.remote_id).await.unwrap();
    assert_eq!(stored["title"], "Ownership");
    assert_eq!(stored["status"], "draft");
    assert_eq!(stored["slug"], "what-rust-ownership-means");
    assert_eq!(
        stored["custom_excerpt"],
        "Ownership in Rust, explained in ten minutes."
    );
    assert!(stored["html"].as_str().unwrap().contains("First take."));
    assert_eq!(tag_names(&stored), ["Memory Safety", "rust"]);

    // The feature image is the uploaded header, and Ghost serves it.
    let image = first.image.clone().expect("the image was uploaded");
    assert_eq!(stored["feature_image"], image.reference.as_str());
    let served = reqwest::get(&image.reference).await.unwrap();
    assert_eq!(served.status(), 200);
    assert!(served.bytes().await.unwrap().starts_with(b"\x89PNG"));

    // Update in place. Ghost keeps `updated_at` to the second: once the clock has passed the
    // export's second, the update's stamp tells it apart from the creation.
    clock_past(first.updated_at.as_deref().expect("Ghost stamps the post")).await;
    let mut changed = post("Ownership, revised", "Second take.");
    changed.tags.push("borrow checker".to_owned());
    let second = ghost
        .publish(&changed, Some(&previous(&first)))
        .await
        .unwrap();
    assert_eq!(second.remote_id, first.remote_id);
    assert_ne!(second.updated_at, first.updated_at);
    assert_eq!(
        second.image, first.image,
        "the same image is not uploaded again"
    );
    let stored = ghost.post(&second.remote_id).await.unwrap();
    assert_eq!(stored["title"], "Ownership, revised");
    assert!(stored["html"].as_str().unwrap().contains("Second take."));
    assert_eq!(
        tag_names(&stored),
        ["Memory Safety", "borrow checker", "rust"]
    );

    // Someone edits the post in Ghost; the next export does not overwrite it. Ghost keeps
    // `updated_at` to the second, so the edit is repeated until it lands in a later second than
    // the export (an edit within the same second cannot be told apart, by Ghost either).
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    for attempt in 0.. {
        let edited = ghost
            .edit_title(&second.remote_id, &format!("Edited in Ghost ({attempt})"))
            .await
            .unwrap();
        if Some(&edited) != second.updated_at.as_ref() {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "Ghost's clock did not move"
        );
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    let err = ghost
        .publish(
            &post("Ownership, third", "Third take."),
            Some(&previous(&second)),
        )
        .await
        .unwrap_err();
    assert!(matches!(err, PublishError::Conflict(_)), "{err:?}");
    assert!(err.to_string().contains("edited it in Ghost"), "{err}");
    let stored = ghost.post(&second.remote_id).await.unwrap();
    assert!(
        stored["title"]
            .as_str()
            .unwrap()
            .starts_with("Edited in Ghost"),
        "{}",
        stored["title"]
    );

    // Deleted in Ghost: created anew, with a note.
    ghost.delete_post(&second.remote_id).await.unwrap();
    let third = ghost
        .publish(
            &post("Ownership, again", "Fourth take."),
            Some(&previous(&second)),
        )
        .await
        .unwrap();
    assert_ne!(third.remote_id, second.remote_id);
    assert!(
        third.note.as_deref().unwrap().contains("deleted"),
        "{third:?}"
    );
    assert_eq!(
        ghost.post(&third.remote_id).await.unwrap()["title"],
        "Ownership, again"
    );

    // Scheduled: Ghost holds the post as `scheduled`, to publish at the time given.
    clock_past(third.updated_at.as_deref().expect("Ghost stamps the post")).await;
    let at = (time::OffsetDateTime::now_utc() + time::Duration::days(1))
        .replace_nanosecond(0)
        .unwrap();
    let mut scheduled = post("Ownership, scheduled", "Fifth take.");
    scheduled.status = PostStatus::Schedule(at);
    let fourth = ghost
        .publish(&scheduled, Some(&previous(&third)))
        .await
        .unwrap();
    assert_eq!(fourth.remote_id, third.remote_id);
    let stored = ghost.post(&fourth.remote_id).await.unwrap();
    assert_eq!(stored["status"], "scheduled");
    let published_at = time::OffsetDateTime::parse(
        stored["published_at"].as_str().unwrap(),
        &time::format_description::well_known::Rfc3339,
    )
    .unwrap();
    assert_eq!(published_at, at);

    // A token older than five minutes in Ghost's eyes: made while this machine's clock was ten
    // minutes behind, then the clock is corrected. The client still holds the token (it is
    // seconds old by its own monotonic clock); Ghost refuses it, the client makes a new one and
    // the export goes through.
    let offset = Arc::new(AtomicI64::new(-600));
    let clock_offset = offset.clone();
    let skewed = Ghost::with_clock(
        http(),
        &site.url,
        &Secret::new(site.admin_key.clone()),
        Arc::new(move || {
            let now = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_secs() as i64;
            (now + clock_offset.load(Ordering::SeqCst)) as u64
        }),
    )
    .unwrap();
    let err = skewed.post(&third.remote_id).await.unwrap_err();
    assert!(matches!(err, PublishError::Credentials(_)), "{err:?}");
    assert_eq!(
        skewed.tokens_made(),
        2,
        "refused, renewed once, refused again"
    );
    offset.store(0, Ordering::SeqCst);
    let mut renewed = post("Made with a renewed token", "Fifth take.");
    renewed.slug = "renewed-token".to_owned();
    let made = skewed.publish(&renewed, None).await.unwrap();
    assert_eq!(
        skewed.tokens_made(),
        3,
        "the refused token was replaced once"
    );
    assert_eq!(
        skewed.post(&made.remote_id).await.unwrap()["title"],
        "Made with a renewed token"
    );
    assert_eq!(skewed.tokens_made(), 3, "a token Ghost accepts is reused");

    // Wrong and malformed keys.
    let (id, _) = site.admin_key.split_once(':').unwrap();
    let wrong = Ghost::new(
        http(),
        &site.url,
        &Secret::new(format!("{id}:{}", "ab".repeat(32))),
    )
    .unwrap();
    let err = wrong.test().await.unwrap_err();
    assert!(matches!(err, PublishError::Credentials(_)), "{err:?}");
    assert!(
        err.to_string().contains("refused the Admin API key"),
        "{err}"
    );
    let err = Ghost::new(http(), &site.url, &Secret::new("not-a-key")).unwrap_err();
    assert!(err.to_string().contains("malformed"), "{err}");
}

/// Waits (up to 5 s) until the wall clock is a whole second past Ghost's `stamp`.
async fn clock_past(stamp: &str) {
    let at = time::OffsetDateTime::parse(stamp, &time::format_description::well_known::Rfc3339)
        .expect("an RFC 3339 time");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    while time::OffsetDateTime::now_utc() < at + time::Duration::seconds(1) {
        assert!(
            std::time::Instant::now() < deadline,
            "the clock did not pass {stamp}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}
