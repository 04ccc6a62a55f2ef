//! The WordPress client against a real WordPress (Debian's package on PHP's built-in server and
//! MariaDB, started by `vidpress_publish::testing`): create, update in place, featured image
//! uploaded and served, tags created, the `?rest_route=` fallback, clear credential errors.

use vidpress_core::net::AddressPolicy;
use vidpress_publish::testing::{Permalinks, WP_USER, WordPressSite, png};
use vidpress_publish::{
    Http, HttpConfig, Image, Post, PostStatus, Previous, PublishError, Secret, WordPress,
};

fn http() -> Http {
    Http::new(HttpConfig {
        policy: AddressPolicy::ALLOW_PRIVATE,
        ..HttpConfig::default()
    })
    .unwrap()
}

fn client(site: &WordPressSite) -> WordPress {
    WordPress::new(
        http(),
        &site.url,
        WP_USER,
        Secret::new(site.app_password.clone()),
    )
}

fn post(title: &str, body: &str) -> Post {
    Post {
        title: title.to_owned(),
        slug: "what-rust-ownership-means".to_owned(),
        html: format!("<p>{body}</p>\n<h2>Borrowing</h2>\n<p>References &amp; lifetimes.</p>"),
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

async fn tag_names(wp: &WordPress, ids: &serde_json::Value) -> Vec<String> {
    let mut names = Vec::new();
    for id in ids.as_array().unwrap() {
        let tag = wp.get(&format!("/wp/v2/tags/{id}")).await.unwrap();
        names.push(tag["name"].as_str().unwrap().to_owned());
    }
    names.sort();
    names
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn creates_a_post_then_updates_the_same_one() {
    let site = WordPressSite::start().await;
    let wp = client(&site);
    let tested = wp.test().await.unwrap();
    assert!(tested.contains("/wp-json/"), "{tested}");

    let first = wp
        .publish(&post("Ownership", "First take."), None)
        .await
        .unwrap();
    let stored = wp.post(&first.remote_id).await.unwrap();
    assert_eq!(stored["title"]["raw"], "Ownership");
    assert_eq!(stored["status"], "draft");
    assert_eq!(stored["slug"], "what-rust-ownership-means");
    assert!(
        stored["content"]["raw"]
            .as_str()
            .unwrap()
            .contains("First take.")
    );
    assert_eq!(
        stored["excerpt"]["raw"],
        "Ownership in Rust, explained in ten minutes."
    );
    assert_eq!(
        tag_names(&wp, &stored["tags"]).await,
        ["Memory Safety", "rust"]
    );

    // The featured image is the uploaded header, and the site serves it.
    let image = first.image.clone().expect("the image was uploaded");
    assert_eq!(stored["featured_media"].to_string(), image.reference);
    let media = wp
        .get(&format!("/wp/v2/media/{}", image.reference))
        .await
        .unwrap();
    assert_eq!(media["media_details"]["width"], 1200);
    assert_eq!(media["media_details"]["height"], 630);
    let served = reqwest::get(media["source_url"].as_str().unwrap())
        .await
        .unwrap();
    assert_eq!(served.status(), 200);
    assert_eq!(served.headers()["content-type"], "image/png");
    assert!(served.bytes().await.unwrap().starts_with(b"\x89PNG"));

    // Exporting again changes the same post and does not upload the same image again.
    let previous = Previous {
        remote_id: first.remote_id.clone(),
        updated_at: first.updated_at.clone(),
        image: first.image.clone(),
    };
    let mut changed = post("Ownership, revised", "Second take.");
    changed.tags.push("borrow checker".to_owned());
    let second = wp.publish(&changed, Some(&previous)).await.unwrap();
    assert_eq!(second.remote_id, first.remote_id);
    assert_eq!(second.note, None);
    let stored = wp.post(&second.remote_id).await.unwrap();
    assert_eq!(stored["title"]["raw"], "Ownership, revised");
    assert!(
        stored["content"]["raw"]
            .as_str()
            .unwrap()
            .contains("Second take.")
    );
    assert_eq!(
        tag_names(&wp, &stored["tags"]).await,
        ["Memory Safety", "borrow checker", "rust"]
    );
    let posts = wp.get("/wp/v2/posts?status=draft").await.unwrap();
    assert_eq!(posts.as_array().unwrap().len(), 1, "one post, not two");
    let media = wp.get("/wp/v2/media").await.unwrap();
    assert_eq!(media.as_array().unwrap().len(), 1, "the image was reused");

    // Deleted on the site: the next export creates it anew and says so.
    wp.delete_post(&second.remote_id).await.unwrap();
    let third = wp.publish(&changed, Some(&previous)).await.unwrap();
    assert_ne!(third.remote_id, first.remote_id);
    assert!(
        third.note.as_deref().unwrap().contains("deleted"),
        "{third:?}"
    );

    // Scheduled: WordPress holds the post as `future`, to publish at the time given (UTC).
    let at = tomorrow();
    let mut scheduled = changed.clone();
    scheduled.status = PostStatus::Schedule(at);
    let previous = Previous {
        remote_id: third.remote_id.clone(),
        updated_at: third.updated_at.clone(),
        image: third.image.clone(),
    };
    let fourth = wp.publish(&scheduled, Some(&previous)).await.unwrap();
    assert_eq!(fourth.remote_id, third.remote_id);
    let stored = wp.post(&fourth.remote_id).await.unwrap();
    assert_eq!(stored["status"], "future");
    assert_eq!(
        stored["date_gmt"],
        vidpress_publish::format_utc(at).trim_end_matches('Z')
    );
}

/// This time tomorrow, to the second.
fn tomorrow() -> time::OffsetDateTime {
    (time::OffsetDateTime::now_utc() + time::Duration::days(1))
        .replace_nanosecond(0)
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_application_password_gets_a_clear_error() {
    let site = WordPressSite::start().await;
    let wp = WordPress::new(
        http(),
        &site.url,
        WP_USER,
        Secret::new("abcd efgh ijkl mnop qrst uvwx"),
    );
    let err = wp.test().await.unwrap_err();
    assert!(matches!(err, PublishError::Credentials(_)), "{err:?}");
    let message = err.to_string();
    assert!(
        message.contains("rest_not_logged_in")
            && message.contains("Application Password")
            && message.contains("Authorization header"),
        "{message}"
    );
    let err = wp.publish(&post("x", "y"), None).await.unwrap_err();
    assert!(matches!(err, PublishError::Credentials(_)), "{err:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_site_without_pretty_permalinks_answers_at_rest_route() {
    let site = WordPressSite::start_with(Permalinks::Plain).await;
    let wp = client(&site);
    let tested = wp.test().await.unwrap();
    assert!(tested.contains("rest_route"), "{tested}");
    let published = wp
        .publish(&post("Plain", "Plain links."), None)
        .await
        .unwrap();
    let stored = wp.post(&published.remote_id).await.unwrap();
    assert_eq!(stored["title"]["raw"], "Plain");
    assert!(
        published.url.contains("?p="),
        "a draft's link on a plain site: {}",
        published.url
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn something_that_is_not_wordpress_is_named_as_such() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = url::Url::parse(&format!("http://{}/", listener.local_addr().unwrap())).unwrap();
    let app = axum::Router::new().fallback(|| async { "just a web page" });
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    let wp = WordPress::new(http(), &url, "x", Secret::new("y"));
    let err = wp.test().await.unwrap_err();
    assert!(matches!(err, PublishError::NotASite(_)), "{err:?}");
    assert!(
        err.to_string()
            .contains("does not look like a WordPress site"),
        "{err}"
    );

    let closed = url::Url::parse("http://127.0.0.1:9/").unwrap();
    let err = WordPress::new(http(), &closed, "x", Secret::new("y"))
        .test()
        .await
        .unwrap_err();
    assert!(matches!(err, PublishError::Unreachable(_)), "{err:?}");
    assert!(err.to_string().contains("cannot be reached"), "{err}");
}
