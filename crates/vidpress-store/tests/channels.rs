//! Linked channels, subscriptions and announced videos on SQLite and PostgreSQL.

use vidpress_core::{ChannelId, JobKind, VideoId};
use vidpress_store::channels::{
    AnnouncedVideo, NewSubscription, Recorded, mark_video_deleted, record_announced_video,
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
        url: Some("https://www.youtube.com/watch?v=dQw4w9WgXcQ"),
        published_at: Some(1_000),
        updated_at: Some(updated_at),
    };
    let mut outcomes = Vec::new();
    for _ in 0..100 {
        let mut tx = store.begin().await.unwrap();
        outcomes.push(
            record_announced_video(&mut tx, &linked.channel, &video("First", 2_000))
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

    let mut tx = store.begin().await.unwrap();
    // An older announcement arriving late cannot undo a newer title.
    assert_eq!(
        record_announced_video(&mut tx, &linked.channel, &video("Edited", 3_000))
            .await
            .unwrap(),
        Recorded::TitleUpdated { video_id }
    );
    assert_eq!(
        record_announced_video(&mut tx, &linked.channel, &video("First", 2_500))
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
    record_announced_video(&mut tx, &linked.channel, &rolled_back)
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
