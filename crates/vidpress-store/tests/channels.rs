//! Linked channels, subscriptions and announced videos on SQLite and PostgreSQL.

use vidpress_core::{ChannelId, JobKind, VideoId};
use vidpress_store::channels::{
    AnnouncedVideo, DeletedVideo, NewSubscription, Recorded, apply_feed, mark_video_deleted,
    record_announced_video,
};
use vidpress_store::subscriptions::SubscriptionState;
use vidpress_store::testing::TestDb;
use vidpress_store::{JobState, Store};

const CHANNEL: &str = "UCuAXFkgsw1L7xaCfnd5JJOw";

fn subscription(token: &str) -> NewSubscription<'_> {
    NewSubscription {
        topic: "http://127.0.0.1:9/xml/feeds/videos.xml?channel_id=UCuAXFkgsw1L7xaCfnd5JJOw",
        callback_token: token,
        secret: "s3cret",
    }
}

async fn jobs_of(store: &Store, kind: JobKind) -> Vec<(i64, String)> {
    use sqlx::Row;
    sqlx::query("SELECT id, state FROM jobs WHERE kind = $1 ORDER BY id")
        .bind(kind.as_str())
        .fetch_all(store.pool())
        .await
        .unwrap()
        .iter()
        .map(|r| (r.get("id"), r.get("state")))
        .collect()
}

async fn linking_is_idempotent_and_creates_work_once(db: TestDb) {
    let store = &db.store;
    let user = store.ensure_user("a@example.org").await.unwrap();
    let channel = ChannelId::parse(CHANNEL).unwrap();
    let first = store
        .link_channel(user.id, &channel, "Chan", &subscription("t1"), 0)
        .await
        .unwrap();
    let again = store
        .link_channel(user.id, &channel, "Chan", &subscription("t2"), 0)
        .await
        .unwrap();
    assert!(first.newly_linked && !again.newly_linked);
    assert_eq!(first.channel.id, again.channel.id);
    assert_eq!(first.subscription_id, again.subscription_id);
    assert_eq!(jobs_of(store, JobKind::Subscribe).await.len(), 1);
    assert_eq!(jobs_of(store, JobKind::PollFeed).await.len(), 1);
    let sub = store.subscription_by_token("t1").await.unwrap().unwrap();
    assert_eq!(sub.state, SubscriptionState::Pending);
    assert_eq!(sub.youtube_channel.as_ref(), Some(&channel));
    assert!(store.subscription_by_token("t2").await.unwrap().is_none());

    // The hub verifies once the subscribe job has run; the verification makes the subscription
    // active and queues exactly one renewal, however often it comes.
    let claimed = store
        .claim(
            "test",
            &[JobKind::Subscribe],
            std::time::Duration::from_secs(60),
        )
        .await
        .unwrap()
        .unwrap();
    store.complete(&claimed).await.unwrap();
    store
        .confirm_subscription(sub.id, 432_000, 1)
        .await
        .unwrap();
    store
        .confirm_subscription(sub.id, 432_000, 1)
        .await
        .unwrap();
    let sub = store.subscription(sub.id).await.unwrap().unwrap();
    assert_eq!(sub.state, SubscriptionState::Active);
    assert!(sub.lease_expires_at.unwrap() > sub.verified_at.unwrap());
    let subscribe_jobs = jobs_of(store, JobKind::Subscribe).await;
    assert_eq!(
        subscribe_jobs.iter().filter(|(_, s)| s == "queued").count(),
        1,
        "{subscribe_jobs:?}"
    );

    // A refused subscription is retried when the channel is linked again.
    store
        .subscription_failed(sub.id, "the hub said no")
        .await
        .unwrap();
    let listed = store.channels(user.id).await.unwrap();
    assert_eq!(listed[0].state, Some(SubscriptionState::Failed));
    assert_eq!(listed[0].last_error.as_deref(), Some("the hub said no"));
    store
        .link_channel(user.id, &channel, "Chan", &subscription("t3"), 0)
        .await
        .unwrap();
    assert_eq!(
        store.channels(user.id).await.unwrap()[0].state,
        Some(SubscriptionState::Pending)
    );

    // Unlinking ends the subscription (kept for the hub's verification) and queues the request.
    assert!(store.unlink_channel(user.id, &channel).await.unwrap());
    assert!(!store.unlink_channel(user.id, &channel).await.unwrap());
    let sub = store.subscription_by_token("t1").await.unwrap().unwrap();
    assert_eq!(
        (sub.state, sub.channel_id),
        (SubscriptionState::Unsubscribed, None)
    );
    assert_eq!(jobs_of(store, JobKind::Unsubscribe).await.len(), 1);
    assert!(store.channels(user.id).await.unwrap().is_empty());
    assert!(store.channel_titles(user.id).await.unwrap().is_empty());

    // The video list's filter lists the channels in the order they were linked, one whose
    // title is not known yet with an empty title; another user's list has none of them.
    let relinked = store
        .link_channel(user.id, &channel, "Chan", &subscription("t4"), 0)
        .await
        .unwrap();
    let untitled = ChannelId::parse("UCuntitledchannel000000A").unwrap();
    let second = store
        .link_channel(user.id, &untitled, "", &subscription("t5"), 0)
        .await
        .unwrap();
    assert_eq!(
        store.channel_titles(user.id).await.unwrap(),
        vec![
            (relinked.channel.id, "Chan".to_owned(), CHANNEL.to_owned()),
            (
                second.channel.id,
                String::new(),
                "UCuntitledchannel000000A".to_owned()
            )
        ]
    );
    let stranger = store.ensure_user("b@example.org").await.unwrap();
    assert!(store.channel_titles(stranger.id).await.unwrap().is_empty());
}

async fn a_video_is_inserted_once_with_its_fetch_job(db: TestDb) {
    let store = &db.store;
    let user = store.ensure_user("b@example.org").await.unwrap();
    let channel = ChannelId::parse(CHANNEL).unwrap();
    let linked = store
        .link_channel(user.id, &channel, "", &subscription("t"), 0)
        .await
        .unwrap();
    let id = VideoId::parse("dQw4w9WgXcQ").unwrap();
    let video = |title, updated_at| AnnouncedVideo {
        youtube_id: &id,
        title,
        published_at: Some(1_000),
        updated_at: Some(updated_at),
    };
    let mut outcomes = Vec::new();
    for _ in 0..100 {
        let mut tx = store.begin().await.unwrap();
        outcomes.push(
            record_announced_video(&mut tx, &linked.channel, &video("First", 2_000), 5)
                .await
                .unwrap(),
        );
        tx.commit().await.unwrap();
    }
    let Recorded::New { video_id, job } = outcomes[0] else {
        panic!("first announcement not new: {:?}", outcomes[0])
    };
    assert!(outcomes[1..].iter().all(|o| *o == Recorded::Unchanged));
    let fetches = jobs_of(store, JobKind::Fetch).await;
    assert_eq!(fetches, [(job.0, "queued".to_owned())]);
    assert_eq!(store.job(job).await.unwrap().video_id, Some(video_id));
    assert_eq!(store.job(job).await.unwrap().state, JobState::Queued);
    // Downloaded from the watch page its validated id names; no feed-supplied address is stored.
    assert_eq!(
        store
            .video(vidpress_store::VideoKey(video_id))
            .await
            .unwrap()
            .source_url
            .as_deref(),
        Some("https://www.youtube.com/watch?v=dQw4w9WgXcQ")
    );

    let mut tx = store.begin().await.unwrap();
    // An older announcement arriving late cannot undo a newer title.
    assert_eq!(
        record_announced_video(&mut tx, &linked.channel, &video("Edited", 3_000), 5)
            .await
            .unwrap(),
        Recorded::TitleUpdated { video_id }
    );
    assert_eq!(
        record_announced_video(&mut tx, &linked.channel, &video("First", 2_500), 5)
            .await
            .unwrap(),
        Recorded::Unchanged
    );
    assert!(
        mark_video_deleted(&mut tx, &linked.channel, &id, 4_000)
            .await
            .unwrap()
    );
    assert!(
        !mark_video_deleted(&mut tx, &linked.channel, &id, 5_000)
            .await
            .unwrap()
    );
    // A rolled-back announcement leaves neither a row nor a job.
    let other = VideoId::parse("aaaaaaaaaa1").unwrap();
    let rolled_back = AnnouncedVideo {
        youtube_id: &other,
        ..video("x", 1)
    };
    tx.commit().await.unwrap();
    let mut tx = store.begin().await.unwrap();
    record_announced_video(&mut tx, &linked.channel, &rolled_back, 5)
        .await
        .unwrap();
    tx.rollback().await.unwrap();
    assert_eq!(jobs_of(store, JobKind::Fetch).await.len(), 1);

    use sqlx::Row;
    let row = sqlx::query("SELECT title, deleted_at FROM videos WHERE id = $1")
        .bind(video_id)
        .fetch_one(store.pool())
        .await
        .unwrap();
    assert_eq!(row.get::<String, _>("title"), "Edited");
    assert_eq!(row.get::<Option<i64>, _>("deleted_at"), Some(4_000));
}

#[tokio::test]
async fn sqlite_linking() {
    linking_is_idempotent_and_creates_work_once(TestDb::sqlite().await).await;
}

#[tokio::test]
async fn postgres_linking() {
    linking_is_idempotent_and_creates_work_once(TestDb::postgres().await).await;
}

#[tokio::test]
async fn sqlite_insert_once() {
    a_video_is_inserted_once_with_its_fetch_job(TestDb::sqlite().await).await;
}

#[tokio::test]
async fn postgres_insert_once() {
    a_video_is_inserted_once_with_its_fetch_job(TestDb::postgres().await).await;
}

async fn feed_rules_hold_on_every_path_and_relinking_copies_nothing(db: TestDb) {
    use sqlx::Row;
    let store = &db.store;
    let user = store.ensure_user("c@example.org").await.unwrap();
    let channel = ChannelId::parse(CHANNEL).unwrap();
    let linked = store
        .link_channel(user.id, &channel, "", &subscription("t3"), 0)
        .await
        .unwrap();
    let (old, a, b) = (
        VideoId::parse("oldoldold01").unwrap(),
        VideoId::parse("aaaaaaaaaa2").unwrap(),
        VideoId::parse("bbbbbbbbbb2").unwrap(),
    );
    // Published well after both links below.
    let later = vidpress_store::now_ms() + 3_600_000;
    let entry = |id, published_at| AnnouncedVideo {
        youtube_id: id,
        title: "A title",
        published_at,
        updated_at: Some(later),
    };
    let entries = [
        entry(&old, Some(linked.channel.created_at - 86_400_000)),
        entry(&a, Some(later)),
        entry(&b, Some(later)),
        entry(&old, None),
    ];
    let mut tx = store.begin().await.unwrap();
    let applied = apply_feed(&mut tx, &linked.channel, &entries, &[], 2)
        .await
        .unwrap();
    tx.commit().await.unwrap();
    // An entry older than the link (a title edit of an old video) enqueues nothing.
    assert_eq!(applied.too_old, 2);
    assert_eq!(applied.new.len(), 2);
    for (_, job) in &applied.new {
        assert_eq!(store.job(*job).await.unwrap().max_attempts, 2);
    }
    let count = || async {
        sqlx::query("SELECT COUNT(*) AS n FROM videos WHERE user_id = $1")
            .bind(user.id.0)
            .fetch_one(store.pool())
            .await
            .unwrap()
            .get::<i64, _>("n")
    };
    assert_eq!(count().await, 2);

    // Unlink: the channel's queued poll is cancelled. Relink and push the same entries: no
    // new videos, and the known ones belong to the new link.
    assert!(store.unlink_channel(user.id, &channel).await.unwrap());
    let polls = jobs_of(store, JobKind::PollFeed).await;
    assert!(
        polls.iter().all(|(_, state)| state == "cancelled"),
        "{polls:?}"
    );
    let relinked = store
        .link_channel(user.id, &channel, "", &subscription("t4"), 0)
        .await
        .unwrap();
    assert!(relinked.newly_linked);
    assert_ne!(relinked.channel.id, linked.channel.id);
    let mut tx = store.begin().await.unwrap();
    let again = apply_feed(&mut tx, &relinked.channel, &entries, &[], 2)
        .await
        .unwrap();
    tx.commit().await.unwrap();
    assert!(again.new.is_empty(), "{again:?}");
    assert_eq!(count().await, 2);
    assert_eq!(jobs_of(store, JobKind::Fetch).await.len(), 2);
    let on_new_link = sqlx::query("SELECT COUNT(*) AS n FROM videos WHERE channel_id = $1")
        .bind(relinked.channel.id)
        .fetch_one(store.pool())
        .await
        .unwrap()
        .get::<i64, _>("n");
    assert_eq!(on_new_link, 2);
    // A tombstone reaches a video whatever link it was first seen under.
    let mut tx = store.begin().await.unwrap();
    let gone = apply_feed(
        &mut tx,
        &relinked.channel,
        &[],
        &[DeletedVideo {
            youtube_id: &a,
            deleted_at: later,
        }],
        2,
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();
    assert_eq!(gone.deleted, 1);
}

#[tokio::test]
async fn sqlite_feed_rules_and_relinking() {
    feed_rules_hold_on_every_path_and_relinking_copies_nothing(TestDb::sqlite().await).await;
}

#[tokio::test]
async fn postgres_feed_rules_and_relinking() {
    feed_rules_hold_on_every_path_and_relinking_copies_nothing(TestDb::postgres().await).await;
}
