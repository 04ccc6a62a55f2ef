//! The export job end to end: a stored draft with a header image, a WordPress connection with
//! its secret sealed, the durable job run by the worker pool against a real WordPress, the
//! export row recording the remote post; exporting again updates that post; a refusal fails the
//! export at once with the remote's message.

use std::time::Duration;

use vidpress_core::net::AddressPolicy;
use vidpress_publish::testing::{WP_USER, WordPressSite, png};
use vidpress_publish::{Exporters, HttpConfig, Secret, SecretKey};
use vidpress_store::draft_edits::DraftEdit;
use vidpress_store::exports::{ConnectionKind, ExportRequest, ExportState, NewConnection};
use vidpress_store::testing::TestDb;
use vidpress_store::videos::{NewDraft, save_draft, set_header};
use vidpress_store::{JobState, MediaSource, RetryPolicy, Store, UserId, VideoKey};
use vidpress_worker::{ExportJobs, PoolConfig, Registry, WorkerPool};

fn exporters() -> Exporters {
    Exporters::new(
        SecretKey::parse(&"5a".repeat(32)).unwrap(),
        HttpConfig {
            policy: AddressPolicy::ALLOW_PRIVATE,
            ..HttpConfig::default()
        },
    )
    .unwrap()
}

fn pool(store: &Store) -> WorkerPool {
    let mut registry = Registry::new();
    ExportJobs::new(exporters()).register(&mut registry);
    WorkerPool::new(
        store.clone(),
        registry,
        PoolConfig {
            name: "export-test".into(),
            concurrency: 2,
            lease: Duration::from_secs(60),
            renew_every: Duration::from_millis(500),
            poll_interval: Duration::from_millis(50),
            retry: RetryPolicy {
                base: Duration::from_secs(600),
                max: Duration::from_secs(600),
            },
            ..PoolConfig::default()
        },
    )
}

/// A user's video with a draft and a header image on disk; answers (user, draft id).
async fn draft_with_image(store: &Store, dir: &std::path::Path) -> (UserId, i64, VideoKey) {
    let user = store.operator_user("owner@localhost").await.unwrap().id;
    let (video, _) = store
        .create_video(
            user,
            "Rust ownership",
            MediaSource::Url("https://example.com/talk.mp4"),
            3,
        )
        .await
        .unwrap();
    let image = dir.join("header.png");
    std::fs::write(&image, png(1200, 630)).unwrap();
    let body = serde_json::json!({
        "description": "Ownership in Rust, explained.",
        "tags": ["rust", "ownership"],
    })
    .to_string();
    let mut tx = store.begin().await.unwrap();
    save_draft(
        &mut tx,
        video,
        user,
        &NewDraft {
            title: "Rust ownership",
            slug: "rust-ownership",
            body: &body,
            markdown: "# Rust ownership\n\nEvery value has one owner.\n",
            html: "<h1>Rust ownership</h1>\n<p>Every value has one owner.</p>\n",
        },
    )
    .await
    .unwrap();
    set_header(
        &mut tx,
        video,
        Some(image.to_str().unwrap()),
        "a test image",
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();
    let draft = store.draft_for_video(video).await.unwrap().unwrap();
    (user, draft.id, video)
}

/// The user's WordPress connection "blog" to `site`, with this sealed password.
async fn wordpress_connection(
    store: &Store,
    user: UserId,
    site: &WordPressSite,
    sealed: &str,
) -> i64 {
    store
        .create_connection(
            user,
            &NewConnection {
                kind: ConnectionKind::WordPress,
                name: "blog",
                url: site.url.as_str(),
                username: Some(WP_USER),
                sealed_secret: sealed,
            },
        )
        .await
        .unwrap()
        .expect("a new connection name")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_export_job_creates_then_updates_the_post() {
    let site = WordPressSite::start().await;
    let db = TestDb::sqlite().await;
    let dir = tempfile::tempdir().unwrap();
    let store = &db.store;
    let (user, draft_id, _) = draft_with_image(store, dir.path()).await;
    let exporters = exporters();
    let sealed = exporters.seal(&Secret::new(site.app_password.clone()), user.0);
    assert!(!sealed.contains(&site.app_password));
    let connection = wordpress_connection(store, user, &site, &sealed).await;

    let ExportRequest::Queued { export_id, job_id } = store
        .request_export(user, draft_id, connection, "draft", None, 3)
        .await
        .unwrap()
    else {
        panic!("queued");
    };
    assert_eq!(
        store
            .request_export(user, draft_id, connection, "draft", None, 3)
            .await
            .unwrap(),
        ExportRequest::AlreadyRunning { export_id },
        "one export of a draft to a connection at a time"
    );
    pool(store).run_until_idle().await;
    let export = store.export(export_id).await.unwrap().unwrap();
    assert_eq!(export.state, ExportState::Succeeded, "{:?}", export.message);
    assert_eq!(store.job(job_id).await.unwrap().state, JobState::Succeeded);
    let remote_id = export.remote_id.clone().unwrap();
    assert!(export.remote_url.unwrap().starts_with(site.url.as_str()));
    assert!(export.exported_at.is_some());

    let wp = vidpress_publish::WordPress::new(
        vidpress_publish::Http::new(HttpConfig {
            policy: AddressPolicy::ALLOW_PRIVATE,
            ..HttpConfig::default()
        })
        .unwrap(),
        &site.url,
        WP_USER,
        Secret::new(site.app_password.clone()),
    );
    let post = wp.post(&remote_id).await.unwrap();
    assert_eq!(post["title"]["raw"], "Rust ownership");
    assert!(
        !post["content"]["raw"].as_str().unwrap().contains("<h1>"),
        "the title heading is left to WordPress"
    );
    assert_eq!(post["excerpt"]["raw"], "Ownership in Rust, explained.");
    assert_ne!(post["featured_media"], 0);

    // Edit the draft, export again: the same post changes.
    let draft = store.draft_for_user(user, draft_id).await.unwrap().unwrap();
    let tags = vec!["rust".to_owned()];
    store
        .save_draft_edit(
            user,
            draft_id,
            draft.version,
            &DraftEdit {
                title: "Rust ownership, revised",
                slug: "rust-ownership",
                description: "Revised.",
                tags: &tags,
                markdown: "# Rust ownership, revised\n\nStill one owner.\n",
                html: "<h1>Rust ownership, revised</h1>\n<p>Still one owner.</p>\n",
            },
            "owner@localhost",
        )
        .await
        .unwrap();
    let ExportRequest::Queued { .. } = store
        .request_export(user, draft_id, connection, "publish", None, 3)
        .await
        .unwrap()
    else {
        panic!("queued again");
    };
    pool(store).run_until_idle().await;
    let export = store.export(export_id).await.unwrap().unwrap();
    assert_eq!(export.state, ExportState::Succeeded, "{:?}", export.message);
    assert_eq!(export.remote_id.as_deref(), Some(remote_id.as_str()));
    let post = wp.post(&remote_id).await.unwrap();
    assert_eq!(post["title"]["raw"], "Rust ownership, revised");
    assert_eq!(post["status"], "publish");
    let posts = wp
        .get("/wp/v2/posts?status=draft,publish&slug=rust-ownership")
        .await
        .unwrap();
    assert_eq!(
        posts.as_array().unwrap().len(),
        1,
        "updated, not made twice"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_refused_export_fails_at_once_with_the_remote_message() {
    let site = WordPressSite::start().await;
    let db = TestDb::sqlite().await;
    let dir = tempfile::tempdir().unwrap();
    let store = &db.store;
    let (user, draft_id, _) = draft_with_image(store, dir.path()).await;
    let sealed = exporters().seal(&Secret::new("wrong password here"), user.0);
    let connection = wordpress_connection(store, user, &site, &sealed).await;
    let ExportRequest::Queued { export_id, job_id } = store
        .request_export(user, draft_id, connection, "draft", None, 3)
        .await
        .unwrap()
    else {
        panic!("queued");
    };
    pool(store).run_until_idle().await;
    let job = store.job(job_id).await.unwrap();
    assert_eq!(
        (job.state, job.attempts),
        (JobState::Failed, 1),
        "no retry of a 401"
    );
    let export = store.export(export_id).await.unwrap().unwrap();
    assert_eq!(export.state, ExportState::Failed);
    let message = export.message.unwrap();
    assert!(message.contains("rest_not_logged_in"), "{message}");
}
