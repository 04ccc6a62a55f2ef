//! The video list a user sees, on SQLite and PostgreSQL: every column as stored (SQLite answers
//! a page as one JSON row), newest first, a page at a time, filtered, and only the user's own.

use std::time::Duration;

use vidpress_core::{ChannelId, JobKind};
use vidpress_store::channels::NewSubscription;
use vidpress_store::library::VideoFilter;
use vidpress_store::testing::TestDb;
use vidpress_store::videos::{NewDraft, save_draft, set_video_state};
use vidpress_store::{MediaSource, VideoState};

vidpress_store::both_backends!(the_list_is_the_users_videos_as_stored_newest_first);

/// A title with what JSON, SQL and HTML each treat specially.
const ODD_TITLE: &str = "Quotes \" ' and \\ back\\slash, a\nnew line, a\ttab, <script>alert(1)</script>, \
     ünïcödé, 日本語, emoji 🎬, [1,2] {\"a\":null}";

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

    let (odd, _) = store
        .create_video(
            user.id,
            ODD_TITLE,
            MediaSource::Url("https://example.org/a.mp4?x=1&y=\"2\""),
            3,
        )
        .await
        .unwrap();
    // A video of the channel, with a draft, its job running at 42 %.
    let (drafted, _) = store
        .create_video(
            user.id,
            "source.mp4",
            MediaSource::Url("https://example.org/b.mp4"),
            3,
        )
        .await
        .unwrap();
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
    let (plain, _) = store
        .create_video(
            user.id,
            "Plain",
            MediaSource::Url("https://example.org/c.mp4"),
            3,
        )
        .await
        .unwrap();
    store
        .create_video(
            other.id,
            "Someone else's",
            MediaSource::Url("https://example.org/d.mp4"),
            3,
        )
        .await
        .unwrap();

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
    let first = store
        .list_videos(user.id, &VideoFilter::default(), 0, 2)
        .await
        .unwrap();
    assert_eq!(
        first.iter().map(|v| v.id.0).collect::<Vec<_>>(),
        [plain.0, drafted.0, odd.0]
    );
    let second = store
        .list_videos(user.id, &VideoFilter::default(), 1, 2)
        .await
        .unwrap();
    assert_eq!(second.iter().map(|v| v.id.0).collect::<Vec<_>>(), [odd.0]);
    let beyond = store
        .list_videos(user.id, &VideoFilter::default(), 5, 2)
        .await
        .unwrap();
    assert!(beyond.is_empty());

    let by_state = VideoFilter {
        state: Some(VideoState::Transcribing),
        channel: None,
    };
    let by_channel = VideoFilter {
        state: None,
        channel: Some(channel.id),
    };
    for filter in [by_state, by_channel] {
        let found = store.list_videos(user.id, &filter, 0, 50).await.unwrap();
        assert_eq!(
            found.iter().map(|v| v.id.0).collect::<Vec<_>>(),
            [drafted.0],
            "{filter:?}"
        );
    }
    let nobody = store.ensure_user("c@example.org").await.unwrap();
    assert!(
        store
            .list_videos(nobody.id, &VideoFilter::default(), 0, 50)
            .await
            .unwrap()
            .is_empty()
    );
}
