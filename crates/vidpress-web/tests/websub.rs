//! WebSub end to end against a real hub (flask-websub on 127.0.0.1): the real app on port 0,
//! the real worker handlers, a topic server that plays YouTube's feed, and a fresh database
//! per test (SQLite, and PostgreSQL for the main flow).

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use sqlx::Row;
use url::Url;
use vidpress_core::{ChannelId, JobKind};
use vidpress_store::channels::NewSubscription;
use vidpress_store::subscriptions::SubscriptionState;
use vidpress_store::testing::TestDb;
use vidpress_store::{Store, UserId};
use vidpress_web::{ApiConfig, AppState, Application, Dashboard, WebConfig};
use vidpress_websub::testing::{HubOptions, TestHub};
use vidpress_websub::{Algorithm, CallbackToken, HubClient, Secret, YouTube, sign};
use vidpress_worker::websub::{WebsubJobs, register};
use vidpress_worker::{PoolConfig, Registry, WorkerPool};

const CHANNEL: &str = "UCuAXFkgsw1L7xaCfnd5JJOw";
const DEADLINE: Duration = Duration::from_secs(30);

fn fixture(name: &str) -> Vec<u8> {
    let path = format!(
        "{}/../vidpress-websub/tests/fixtures/{name}",
        env!("CARGO_MANIFEST_DIR")
    );
    std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// Plays YouTube's topic: serves the current feed with the `Link` header a hub requires.
#[derive(Clone)]
struct Topic {
    hub: Url,
    feed: Arc<Mutex<Vec<u8>>>,
}

async fn serve_topic(State(topic): State<Topic>, uri: axum::http::Uri) -> Response {
    let self_url = format!("http://127.0.0.1{uri}");
    let link = format!("<{}>; rel=\"hub\", <{self_url}>; rel=\"self\"", topic.hub);
    let body = topic.feed.lock().unwrap().clone();
    (
        [
            (header::CONTENT_TYPE, "application/atom+xml"),
            (header::LINK, link.as_str()),
        ],
        body,
    )
        .into_response()
}

/// Everything one test runs against.
struct World {
    _hub: TestHub,
    _db: TestDb,
    store: Store,
    public: Url,
    topic_feed: Arc<Mutex<Vec<u8>>>,
    hub_client: HubClient,
    youtube: YouTube,
    pool: WorkerPool,
    http: reqwest::Client,
}

impl World {
    async fn start(db: TestDb, hub_options: HubOptions, lease_seconds: u64) -> World {
        let hub = TestHub::start(&hub_options);
        let store = db.store.clone();
        let topic_feed = Arc::new(Mutex::new(fixture("new_upload.xml")));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let topic_base =
            Url::parse(&format!("http://{}/", listener.local_addr().unwrap())).unwrap();
        let topic = Topic {
            hub: hub.url().clone(),
            feed: topic_feed.clone(),
        };
        let router = Router::new()
            .route("/xml/feeds/videos.xml", get(serve_topic))
            .with_state(topic);
        tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });

        let app = Application::build(
            &WebConfig::new("127.0.0.1:0".parse().unwrap()),
            AppState {
                store: store.clone(),
                api: ApiConfig {
                    token: None,
                    user: UserId(0),
                    uploads_dir: std::env::temp_dir(),
                    max_upload_bytes: 1 << 20,
                    max_attempts: 3,
                    addresses: Default::default(),
                },
                dashboard: Dashboard::default(),
                workers: None,
            },
        )
        .await
        .unwrap();
        let public = Url::parse(&format!("http://{}/", app.local_addr().unwrap())).unwrap();
        tokio::spawn(app.run_until_stopped(std::future::pending()));

        let http = reqwest::Client::new();
        let hub_client = HubClient::new(http.clone(), hub.url().clone());
        let youtube = YouTube::new(http.clone(), topic_base);
        let mut registry = Registry::new();
        register(
            &mut registry,
            WebsubJobs {
                hub: hub_client.clone(),
                youtube: youtube.clone(),
                public_url: public.clone(),
                lease_seconds,
                poll_interval: Duration::from_secs(3600),
                max_attempts: 3,
            },
        );
        let pool = WorkerPool::new(store.clone(), registry, PoolConfig::default());
        World {
            _hub: hub,
            _db: db,
            store,
            public,
            topic_feed,
            hub_client,
            youtube,
            pool,
            http,
        }
    }

    /// Links the channel for a user as [`World::link_now`] does, dated before the fixtures'
    /// uploads were published, so their pushes count as new uploads.
    async fn link(&self, email: &str) -> (UserId, i64, CallbackToken, Secret) {
        let linked = self.link_now(email).await;
        sqlx::query("UPDATE channels SET created_at = 0 WHERE user_id = $1")
            .bind(linked.0.0)
            .execute(self.store.pool())
            .await
            .unwrap();
        linked
    }

    /// Links the channel for a user the way `vidpress channels add` does; the first poll is
    /// put far in the future so only pushes create videos here.
    async fn link_now(&self, email: &str) -> (UserId, i64, CallbackToken, Secret) {
        let user = self.store.ensure_user(email).await.unwrap();
        let channel = ChannelId::parse(CHANNEL).unwrap();
        let token = CallbackToken::generate();
        let secret = Secret::generate();
        let topic = self.youtube.topic_url(&channel);
        let linked = self
            .store
            .link_channel(
                user.id,
                &channel,
                "",
                &NewSubscription {
                    topic: topic.as_str(),
                    callback_token: token.as_str(),
                    secret: secret.expose(),
                },
                i64::MAX / 2,
            )
            .await
            .unwrap();
        (user.id, linked.subscription_id, token, secret)
    }

    fn topic(&self) -> Url {
        self.youtube.topic_url(&ChannelId::parse(CHANNEL).unwrap())
    }

    fn callback(&self, token: &CallbackToken) -> Url {
        vidpress_websub::callback_url(&self.public, token).unwrap()
    }

    async fn state(&self, subscription: i64) -> (SubscriptionState, Option<i64>) {
        let s = self
            .store
            .subscription(subscription)
            .await
            .unwrap()
            .unwrap();
        (s.state, s.verified_at)
    }

    async fn videos(&self, user: UserId) -> Vec<(i64, String, Option<i64>)> {
        sqlx::query("SELECT id, title, deleted_at FROM videos WHERE user_id = $1 ORDER BY id")
            .bind(user.0)
            .fetch_all(self.store.pool())
            .await
            .unwrap()
            .iter()
            .map(|r| (r.get("id"), r.get("title"), r.get("deleted_at")))
            .collect()
    }

    async fn jobs(&self, kind: JobKind) -> Vec<(Option<i64>, String, i64)> {
        sqlx::query("SELECT video_id, state, run_at FROM jobs WHERE kind = $1 ORDER BY id")
            .bind(kind.as_str())
            .fetch_all(self.store.pool())
            .await
            .unwrap()
            .iter()
            .map(|r| (r.get("video_id"), r.get("state"), r.get("run_at")))
            .collect()
    }

    async fn post(&self, token: &CallbackToken, body: &[u8], signature: Option<&str>) -> u16 {
        let mut request = self
            .http
            .post(self.callback(token))
            .header(header::CONTENT_TYPE, "application/atom+xml")
            .body(body.to_vec());
        if let Some(signature) = signature {
            request = request.header("X-Hub-Signature", signature);
        }
        request.send().await.unwrap().status().as_u16()
    }
}

/// Waits for a condition the hub brings about asynchronously, checking every 50 ms.
async fn eventually<F, Fut>(what: &str, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let mut tick = tokio::time::interval(Duration::from_millis(50));
    let deadline = tokio::time::Instant::now() + DEADLINE;
    while tokio::time::Instant::now() < deadline {
        tick.tick().await;
        if check().await {
            return;
        }
    }
    panic!("timed out after {DEADLINE:?} waiting for: {what}");
}

async fn subscribe_publish_dedupe_forge_unsubscribe(db: TestDb) {
    let w = World::start(db, HubOptions::default(), 3600).await;
    let (user, subscription, token, secret) = w.link("creator@example.org").await;

    // The subscribe job asks the hub; the hub verifies against the app; the lease is recorded.
    assert_eq!(w.pool.run_until_idle().await, 1);
    eventually("the hub's verification", || async {
        w.state(subscription).await.0 == SubscriptionState::Active
    })
    .await;
    let s = w.store.subscription(subscription).await.unwrap().unwrap();
    assert_eq!(s.lease_seconds, Some(3600));
    let renewals: Vec<_> = w
        .jobs(JobKind::Subscribe)
        .await
        .into_iter()
        .filter(|j| j.1 == "queued")
        .collect();
    assert_eq!(renewals.len(), 1, "one renewal queued");
    let (verified, expires) = (s.verified_at.unwrap(), s.lease_expires_at.unwrap());
    assert!(
        renewals[0].2 >= verified + 2_800_000 && renewals[0].2 < expires,
        "renewal at 80 % of the lease"
    );

    // Publish: the hub fetches the topic and delivers it, signed, to the app.
    w.hub_client.publish(&w.topic()).await.unwrap();
    eventually("the pushed video", || async {
        w.videos(user).await.len() == 1
    })
    .await;
    let videos = w.videos(user).await;
    assert_eq!(videos[0].1, "How we built a self-hosted blog pipeline");
    let fetches = w.jobs(JobKind::Fetch).await;
    assert_eq!(fetches.len(), 1);
    assert_eq!(fetches[0].0, Some(videos[0].0));

    // 100 identical, correctly signed notifications change nothing.
    let body = fixture("new_upload.xml");
    let signature = sign(Algorithm::Sha1, secret.expose().as_bytes(), &body);
    for _ in 0..100 {
        assert_eq!(w.post(&token, &body, Some(&signature)).await, 204);
    }
    assert_eq!(w.videos(user).await.len(), 1);
    assert_eq!(w.jobs(JobKind::Fetch).await.len(), 1);

    // A title edit (sha256 this time) updates the title only; a tombstone marks it deleted.
    let edit = fixture("title_edit.xml");
    assert_eq!(
        w.post(
            &token,
            &edit,
            Some(&sign(Algorithm::Sha256, secret.expose().as_bytes(), &edit))
        )
        .await,
        204
    );
    let deletion = fixture("deleted.xml");
    assert_eq!(
        w.post(
            &token,
            &deletion,
            Some(&sign(
                Algorithm::Sha1,
                secret.expose().as_bytes(),
                &deletion
            ))
        )
        .await,
        204
    );
    let videos = w.videos(user).await;
    assert_eq!(videos.len(), 1);
    assert_eq!(
        videos[0].1,
        "How we built a self-hosted blog pipeline (& what broke) — part 1"
    );
    assert!(videos[0].2.is_some(), "the video is marked deleted");
    assert_eq!(w.jobs(JobKind::Fetch).await.len(), 1);

    // Forged, missing and malformed: 2xx, nothing stored or enqueued.
    let other = String::from_utf8(body.clone())
        .unwrap()
        .replace("dQw4w9WgXcQ", "aaaaaaaaaa1");
    let forged = sign(Algorithm::Sha1, b"not the secret", other.as_bytes());
    assert_eq!(w.post(&token, other.as_bytes(), Some(&forged)).await, 202);
    assert_eq!(w.post(&token, other.as_bytes(), None).await, 202);
    let malformed = b"<feed xmlns=\"http://www.w3.org/2005/Atom\"><entry>";
    assert_eq!(
        w.post(
            &token,
            malformed,
            Some(&sign(
                Algorithm::Sha1,
                secret.expose().as_bytes(),
                malformed
            ))
        )
        .await,
        202
    );
    // Unknown callbacks are 404; oversized bodies 413.
    assert_eq!(
        w.post(&CallbackToken::generate(), &body, Some(&signature))
            .await,
        404
    );
    let big = vec![b' '; vidpress_web::MAX_NOTIFICATION_BYTES + 1];
    assert_eq!(
        w.post(
            &token,
            &big,
            Some(&sign(Algorithm::Sha1, secret.expose().as_bytes(), &big))
        )
        .await,
        413
    );
    assert_eq!(w.videos(user).await.len(), 1);
    assert_eq!(w.jobs(JobKind::Fetch).await.len(), 1);

    // A verification for a subscription we do not want (wrong topic, or unsubscribe now) is 404.
    let mut verification = w.callback(&token);
    verification.query_pairs_mut().extend_pairs([
        ("hub.mode", "unsubscribe"),
        ("hub.topic", w.topic().as_str()),
        ("hub.challenge", "c"),
    ]);
    let status = w.http.get(verification).send().await.unwrap().status();
    assert_eq!(status.as_u16(), 404);

    // Unlink: the unsubscribe job asks the hub, the hub verifies, deliveries stop. A second
    // user's subscription to the same topic is the barrier: the hub's single worker handles
    // deliveries in order, so once the second user has the new video, any delivery to the
    // first would already have happened.
    assert!(
        w.store
            .unlink_channel(user, &ChannelId::parse(CHANNEL).unwrap())
            .await
            .unwrap()
    );
    let before = w.state(subscription).await.1;
    let (user2, subscription2, _, _) = w.link("second@example.org").await;
    assert_eq!(
        w.pool.run_until_idle().await,
        2,
        "unsubscribe and the second subscribe"
    );
    eventually("both verifications", || async {
        w.state(subscription).await.1 > before
            && w.state(subscription2).await.0 == SubscriptionState::Active
    })
    .await;
    *w.topic_feed.lock().unwrap() = String::from_utf8(fixture("new_upload.xml"))
        .unwrap()
        .replace("dQw4w9WgXcQ", "bbbbbbbbbb2")
        .into_bytes();
    w.hub_client.publish(&w.topic()).await.unwrap();
    eventually("the second user's video", || async {
        w.videos(user2).await.len() == 1
    })
    .await;
    assert_eq!(
        w.videos(user).await.len(),
        1,
        "the unsubscribed user got nothing new"
    );
    assert_eq!(
        w.state(subscription).await.0,
        SubscriptionState::Unsubscribed
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn websub_end_to_end_on_sqlite() {
    subscribe_publish_dedupe_forge_unsubscribe(TestDb::sqlite().await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn websub_end_to_end_on_postgres() {
    subscribe_publish_dedupe_forge_unsubscribe(TestDb::postgres().await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_short_granted_lease_is_clamped_and_renewed_when_due() {
    let hub_options = HubOptions {
        min_lease_seconds: 1,
        ..HubOptions::default()
    };
    // The hub grants the 3 s asked for; the app takes it as an hour (its floor).
    let w = World::start(TestDb::sqlite().await, hub_options, 3).await;
    let (_, subscription, _, _) = w.link("renew@example.org").await;
    w.pool.run_until_idle().await;
    eventually("the first verification", || async {
        w.state(subscription).await.0 == SubscriptionState::Active
    })
    .await;
    let first = w.store.subscription(subscription).await.unwrap().unwrap();
    assert_eq!(first.lease_seconds, Some(3600));
    let queued: Vec<_> = w
        .jobs(JobKind::Subscribe)
        .await
        .into_iter()
        .filter(|j| j.1 == "queued")
        .collect();
    assert_eq!(queued.len(), 1, "one renewal queued");
    assert!(
        queued[0].2 >= first.verified_at.unwrap() + 2_800_000,
        "renewal at 80 % of the clamped lease"
    );
    // The clock is moved instead of waited for: the renewal is made due now.
    sqlx::query("UPDATE jobs SET run_at = 0 WHERE kind = 'subscribe' AND state = 'queued'")
        .execute(w.store.pool())
        .await
        .unwrap();
    eventually("a renewed lease", || async {
        w.pool.run_until_idle().await;
        w.state(subscription).await.1 > first.verified_at
    })
    .await;
    let renewed = w.store.subscription(subscription).await.unwrap().unwrap();
    assert!(renewed.lease_expires_at > first.lease_expires_at);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pushed_entry_older_than_the_link_enqueues_nothing() {
    let w = World::start(TestDb::sqlite().await, HubOptions::default(), 3600).await;
    // Linked now: the fixture's upload was published days before.
    let (user, _, token, secret) = w.link_now("late@example.org").await;
    for name in ["new_upload.xml", "title_edit.xml"] {
        let body = fixture(name);
        let signature = sign(Algorithm::Sha1, secret.expose().as_bytes(), &body);
        assert_eq!(w.post(&token, &body, Some(&signature)).await, 204, "{name}");
    }
    assert!(w.videos(user).await.is_empty());
    assert!(w.jobs(JobKind::Fetch).await.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unlink_relink_and_push_make_no_new_videos() {
    let w = World::start(TestDb::sqlite().await, HubOptions::default(), 3600).await;
    let (user, _, token, secret) = w.link("again@example.org").await;
    let body = fixture("new_upload.xml");
    let signature = sign(Algorithm::Sha1, secret.expose().as_bytes(), &body);
    assert_eq!(w.post(&token, &body, Some(&signature)).await, 204);
    assert_eq!(w.videos(user).await.len(), 1);
    assert!(
        w.store
            .unlink_channel(user, &ChannelId::parse(CHANNEL).unwrap())
            .await
            .unwrap()
    );
    let (_, _, token, secret) = w.link("again@example.org").await;
    let signature = sign(Algorithm::Sha1, secret.expose().as_bytes(), &body);
    assert_eq!(w.post(&token, &body, Some(&signature)).await, 204);
    assert_eq!(w.videos(user).await.len(), 1, "the relink copied the video");
    assert_eq!(w.jobs(JobKind::Fetch).await.len(), 1);
}
