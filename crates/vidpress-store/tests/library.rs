//! The video list a user sees, on SQLite and PostgreSQL: every column as stored (SQLite answers
//! a page as one JSON row), newest first, a page at a time, filtered, and only the user's own.

use std::time::Duration;

use vidpress_core::{ChannelId, JobKind};
use vidpress_store::channels::NewSubscription;
use vidpress_store::library::VideoFilter;
use vidpress_store::testing::TestDb;
use vidpress_store::videos::{NewDraft, save_draft, set_video_state};
use vidpress_store::{MediaSource, Store, UserId, VideoKey, VideoState};

vidpress_store::both_backends!(the_list_is_the_users_videos_as_stored_newest_first);

/// A title with what JSON, SQL and HTML each treat specially.
const ODD_TITLE: &str = "Quotes \" ' and \\ back\\slash, a\nnew line, a\ttab, <script>alert(1)</script>, \
     ünïcödé, 日本語, emoji 🎬, [1,2] {\"a\":null}";

/// A video the user pasted the URL of.
async fn add(store: &Store, user: UserId, title: &str, url: &str) -> VideoKey {
    store
        .create_video(user, title, MediaSource::Url(url), 3)
        .await
        .unwrap()
        .0
}

/// The ids `list_videos` answers with.
async fn listed(
    store: &Store,
    user: UserId,
    filter: &VideoFilter,
    page: u32,
    per_page: u32,
) -> Vec<i64> {
    let videos = store.list_videos(user, filter, page, per_page).await;
    videos.unwrap().iter().map(|v| v.id.0).collect()
}

async fn the_list_is_the_users_videos_as_stored_newest_first(db: &TestDb) {
    let store = &db.store;
    let user = store.ensure_user("a@example.org").await.unwrap();
    let other = store.ensure_user("b@example.org").await.unwrap();
    let channel = store
        .link_channel(
            user.id,
            &ChannelId::parse("UCuAXFkgsw1L7xaCfnd5JJOw").unwrap(),
            "Kitchen \"Tales\"",
            &NewSubscription {
                topic: "http://127.0.0.1:9/feed",
                callback_token: "t1",
                secret: "s3cret",
            },
            0,
        )
        .await
        .unwrap()
        .channel;

    let odd = add(
        store,
        user.id,
        ODD_TITLE,
        "https://example.org/a.mp4?x=1&y=\"2\"",
    )
    .await;
    // A video of the channel, with a draft.
    let drafted = add(store, user.id, "source.mp4", "https://example.org/b.mp4").await;
    sqlx::query("UPDATE videos SET channel_id = $1, youtube_id = $2 WHERE id = $3")
        .bind(channel.id)
        .bind("dQw4w9WgXcQ")
        .bind(drafted.0)
        .execute(store.pool())
        .await
        .unwrap();
    let mut tx = store.begin().await.unwrap();
    save_draft(
        &mut tx,
        drafted,
        user.id,
        &NewDraft {
            title: "Bread — and \"patience\"",
            slug: "bread",
            body: "{}",
            markdown: "# Bread",
            html: "<h1>Bread</h1>",
        },
    )
    .await
    .unwrap();
    set_video_state(&mut tx, drafted, VideoState::Transcribing)
        .await
        .unwrap();
    tx.commit().await.unwrap();
    // The first video's job runs, at 42 %.
    let claimed = store
        .claim("w1", &[JobKind::Fetch], Duration::from_secs(60))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(claimed.job.video_id, Some(odd.0), "the oldest job first");
    store
        .set_progress(&claimed, 42, "downloading \"42%\" ✓")
        .await
        .unwrap();
    let plain = add(store, user.id, "Plain", "https://example.org/c.mp4").await;
    add(
        store,
        other.id,
        "Someone else's",
        "https://example.org/d.mp4",
    )
    .await;

    let all = store
        .list_videos(user.id, &VideoFilter::default(), 0, 50)
        .await
        .unwrap();
    let ids: Vec<i64> = all.iter().map(|v| v.id.0).collect();
    assert_eq!(ids, [plain.0, drafted.0, odd.0], "newest first, own only");

    let v = &all[2];
    assert_eq!(v.title, ODD_TITLE);
    assert_eq!(v.state, VideoState::Fetching);
    assert_eq!(
        v.source_url.as_deref(),
        Some("https://example.org/a.mp4?x=1&y=\"2\"")
    );
    assert_eq!((v.channel_id, v.channel_title.as_deref()), (None, None));
    assert_eq!((v.draft_id, v.draft_title.as_deref()), (None, None));
    assert_eq!(v.job_kind, Some(JobKind::Fetch));
    assert_eq!(v.progress, 42);
    assert_eq!(v.progress_message, "downloading \"42%\" ✓");
    assert!(v.created_at > 1_700_000_000_000, "{}", v.created_at);
    assert_eq!(v.deleted_at, None);
    assert_eq!(v.error, None);

    let v = &all[1];
    assert_eq!(v.title, "source.mp4");
    assert_eq!(v.state, VideoState::Transcribing);
    assert_eq!(v.channel_id, Some(channel.id));
    assert_eq!(v.channel_title.as_deref(), Some("Kitchen \"Tales\""));
    assert_eq!(v.youtube_id.as_deref(), Some("dQw4w9WgXcQ"));
    assert!(v.draft_id.is_some());
    assert_eq!(v.draft_title.as_deref(), Some("Bread — and \"patience\""));
    assert_eq!((v.job_kind, v.progress), (Some(JobKind::Fetch), 0));

    // A page at a time: one more than asked for when a further page exists.
    let all_videos = VideoFilter::default();
    assert_eq!(
        listed(store, user.id, &all_videos, 0, 2).await,
        [plain.0, drafted.0, odd.0]
    );
    assert_eq!(listed(store, user.id, &all_videos, 1, 2).await, [odd.0]);
    assert!(listed(store, user.id, &all_videos, 5, 2).await.is_empty());

    let by_state = VideoFilter {
        state: Some(VideoState::Transcribing),
        channel: None,
    };
    let by_channel = VideoFilter {
        state: None,
        channel: Some(channel.id),
    };
    for filter in [by_state, by_channel] {
        assert_eq!(
            listed(store, user.id, &filter, 0, 50).await,
            [drafted.0],
            "{filter:?}"
        );
    }
    let nobody = store.ensure_user("c@example.org").await.unwrap();
    assert!(
        listed(store, nobody.id, &all_videos, 0, 50)
            .await
            .is_empty()
    );
}
