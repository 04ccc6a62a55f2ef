//! The protocol against real peers on 127.0.0.1: a real WebSub hub (flask-websub) verifying,
//! signing and delivering to a callback that uses this crate's checks, and a channel-page
//! server for handle resolution.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use tokio::sync::mpsc;
use url::Url;
use vidpress_core::ChannelId;
use vidpress_websub::testing::{HubOptions, TestHub};
use vidpress_websub::{
    Algorithm, CallbackToken, ChannelRef, Confirmation, Feed, HubClient, HubRequest, Intent, Mode,
    Secret, SubscribeRequest, YouTube, YouTubeError, callback_url, check_verification, parse_feed,
    parse_hub_request, verify_signature,
};

const CHANNEL: &str = "UCuAXFkgsw1L7xaCfnd5JJOw";
/// How long to wait for the hub's asynchronous requests before failing.
const DEADLINE: Duration = Duration::from_secs(30);

fn fixture(name: &str) -> Vec<u8> {
    std::fs::read(format!(
        "{}/tests/fixtures/{name}",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap()
}

/// What the callback and topic server share with the test.
#[derive(Clone)]
struct Peer {
    hub: Url,
    topic: Arc<Mutex<Option<Url>>>,
    intent: Arc<Mutex<Intent>>,
    secret: Secret,
    verified: mpsc::UnboundedSender<Confirmation>,
    delivered: mpsc::UnboundedSender<(Result<Algorithm, vidpress_websub::SignatureError>, Feed)>,
}

async fn verify(
    State(peer): State<Peer>,
    Path(_token): Path<String>,
    Query(q): Query<Vec<(String, String)>>,
) -> Response {
    let Ok(HubRequest::Verify(request)) =
        parse_hub_request(q.iter().map(|(k, v)| (k.as_str(), v.as_str())))
    else {
        return StatusCode::NOT_FOUND.into_response();
    };
    let topic = peer.topic.lock().unwrap().clone().unwrap();
    let intent = *peer.intent.lock().unwrap();
    match check_verification(&request, topic.as_str(), intent) {
        Ok(confirmation) => {
            let body = confirmation.challenge.clone();
            peer.verified.send(confirmation).unwrap();
            (StatusCode::OK, body).into_response()
        }
        Err(_) => StatusCode::NOT_FOUND.into_response(),
    }
}

async fn deliver(State(peer): State<Peer>, headers: HeaderMap, body: Bytes) -> StatusCode {
    let signature = headers.get("x-hub-signature").and_then(|v| v.to_str().ok());
    let checked = verify_signature(peer.secret.expose().as_bytes(), &body, signature);
    peer.delivered
        .send((checked, parse_feed(&body).unwrap()))
        .unwrap();
    StatusCode::NO_CONTENT
}

async fn topic(State(peer): State<Peer>) -> Response {
    let topic = peer.topic.lock().unwrap().clone().unwrap();
    let link = format!("<{}>; rel=\"hub\", <{topic}>; rel=\"self\"", peer.hub);
    (
        [
            (header::CONTENT_TYPE, "application/atom+xml"),
            (header::LINK, link.as_str()),
        ],
        fixture("new_upload.xml"),
    )
        .into_response()
}

async fn serve(router: Router) -> Url {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    Url::parse(&format!("http://{address}/")).unwrap()
}

async fn next<T>(rx: &mut mpsc::UnboundedReceiver<T>, what: &str) -> T {
    tokio::time::timeout(DEADLINE, rx.recv())
        .await
        .unwrap_or_else(|_| panic!("the hub sent no {what} within {DEADLINE:?}"))
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_real_hub_verifies_then_delivers_a_signed_feed_we_accept() {
    let hub = TestHub::start(&HubOptions::default());
    let (verified_tx, mut verified) = mpsc::unbounded_channel();
    let (delivered_tx, mut delivered) = mpsc::unbounded_channel();
    let peer = Peer {
        hub: hub.url().clone(),
        topic: Arc::default(),
        intent: Arc::new(Mutex::new(Intent::Subscribed)),
        secret: Secret::generate(),
        verified: verified_tx,
        delivered: delivered_tx,
    };
    let base = serve(
        Router::new()
            .route("/websub/{token}", get(verify).post(deliver))
            .route("/xml/feeds/videos.xml", get(topic))
            .with_state(peer.clone()),
    )
    .await;
    let youtube = YouTube::new(reqwest::Client::new(), base.clone());
    let topic_url = youtube.topic_url(&ChannelId::parse(CHANNEL).unwrap());
    *peer.topic.lock().unwrap() = Some(topic_url.clone());
    let callback = callback_url(&base, &CallbackToken::generate()).unwrap();
    let client = HubClient::new(reqwest::Client::new(), hub.url().clone());

    client
        .subscribe(&SubscribeRequest {
            topic: &topic_url,
            callback: &callback,
            secret: &peer.secret,
            lease_seconds: 3600,
        })
        .await
        .unwrap();
    let confirmation = next(&mut verified, "subscribe verification").await;
    assert_eq!(confirmation.mode, Mode::Subscribe);
    assert_eq!(confirmation.lease_seconds, Some(3600));

    client.publish(&topic_url).await.unwrap();
    let (signature, feed) = next(&mut delivered, "notification").await;
    assert_eq!(
        signature,
        Ok(Algorithm::Sha1),
        "the hub's signature must verify with our secret"
    );
    assert_eq!(feed.entries.len(), 1);
    assert_eq!(feed.entries[0].video_id.as_str(), "dQw4w9WgXcQ");

    // The hub asks to confirm an unsubscription we have not asked for: refused. Then we ask.
    *peer.intent.lock().unwrap() = Intent::Unsubscribed;
    client.unsubscribe(&topic_url, &callback).await.unwrap();
    let confirmation = next(&mut verified, "unsubscribe verification").await;
    assert_eq!(confirmation.mode, Mode::Unsubscribe);
}

#[tokio::test]
async fn a_hub_that_refuses_or_is_absent_gives_clear_errors() {
    let hub = TestHub::start(&HubOptions::default());
    let client = HubClient::new(reqwest::Client::new(), hub.url().clone());
    let topic = Url::parse("http://127.0.0.1:9/xml/feeds/videos.xml").unwrap();
    let callback = Url::parse("http://127.0.0.1:9/websub/x").unwrap();
    // flask-websub refuses secrets of 200 bytes or more with 400.
    let long_secret = Secret::from_stored("s".repeat(250));
    let err = client
        .subscribe(&SubscribeRequest {
            topic: &topic,
            callback: &callback,
            secret: &long_secret,
            lease_seconds: 60,
        })
        .await
        .unwrap_err();
    assert!(!err.is_transient(), "{err}");
    assert!(err.to_string().contains("HTTP 400"), "{err}");
    assert!(err.to_string().contains("Secret is too big"), "{err}");

    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let closed = Url::parse(&format!("http://{}/hub", listener.local_addr().unwrap())).unwrap();
    drop(listener);
    let err = HubClient::new(reqwest::Client::new(), closed)
        .unsubscribe(&topic, &callback)
        .await
        .unwrap_err();
    assert!(err.is_transient(), "{err}");
}

async fn channel_page(Path(path): Path<String>) -> Response {
    let canonical = |id: &str| {
        format!(
            "<!DOCTYPE html><html><head><title>x</title>\
             <link rel=\"canonical\" href=\"https://www.youtube.com/channel/{id}\">\
             <meta property=\"og:title\" content=\"Vidpress &amp; Friends\"></head><body></body></html>"
        )
    };
    match path.as_str() {
        "@vidpress" | "c/VidpressLegacy" | "user/vidpressuser" | "@あいう" => (
            [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
            canonical(CHANNEL),
        )
            .into_response(),
        "@nocanonical" => "<html><head></head></html>".into_response(),
        "@huge" => "x"
            .repeat(vidpress_websub::MAX_PAGE_BYTES + 1)
            .into_response(),
        _ => StatusCode::NOT_FOUND.into_response(),
    }
}

#[tokio::test]
async fn handles_and_legacy_urls_resolve_from_the_channel_page() {
    let base = serve(Router::new().route("/{*path}", get(channel_page))).await;
    let youtube = YouTube::new(reqwest::Client::new(), base);
    for input in [
        "@vidpress",
        "https://www.youtube.com/@vidpress",
        "https://www.youtube.com/c/VidpressLegacy",
        "youtube.com/user/vidpressuser",
        "@あいう",
    ] {
        let resolved = youtube
            .resolve(&ChannelRef::parse(input).unwrap())
            .await
            .unwrap();
        assert_eq!(resolved.id.as_str(), CHANNEL, "{input}");
        assert_eq!(
            resolved.title.as_deref(),
            Some("Vidpress & Friends"),
            "{input}"
        );
    }
    // An id needs no page at all (this server would answer 404 for it).
    let by_id = youtube
        .resolve(&ChannelRef::parse(CHANNEL).unwrap())
        .await
        .unwrap();
    assert_eq!((by_id.id.as_str(), by_id.title), (CHANNEL, None));

    let missing = youtube
        .resolve(&ChannelRef::parse("@nobody").unwrap())
        .await
        .unwrap_err();
    assert!(
        matches!(missing, YouTubeError::NotFound { .. }),
        "{missing}"
    );
    assert!(missing.to_string().contains("@nobody"), "{missing}");
    let no_id = youtube
        .resolve(&ChannelRef::parse("@nocanonical").unwrap())
        .await
        .unwrap_err();
    assert!(matches!(no_id, YouTubeError::NoChannelId { .. }), "{no_id}");
    let huge = youtube
        .resolve(&ChannelRef::parse("@huge").unwrap())
        .await
        .unwrap_err();
    assert!(matches!(huge, YouTubeError::TooLarge { .. }), "{huge}");
}

async fn channel_feed(Query(q): Query<Vec<(String, String)>>) -> Response {
    match q.first().map(|(k, v)| (k.as_str(), v.as_str())) {
        Some(("channel_id", CHANNEL)) => fixture("channel_feed.xml").into_response(),
        _ => "<html>not a feed</html>".into_response(),
    }
}

#[tokio::test]
async fn the_polling_backstop_reads_a_channel_feed() {
    let base = serve(Router::new().route("/feeds/videos.xml", get(channel_feed))).await;
    let youtube = YouTube::new(reqwest::Client::new(), base);
    let feed = youtube
        .fetch_feed(&ChannelId::parse(CHANNEL).unwrap())
        .await
        .unwrap();
    assert_eq!(feed.entries.len(), 3);
    let other = ChannelId::parse("UCzzzzzzzzzzzzzzzzzzzzzz").unwrap();
    let err = youtube.fetch_feed(&other).await.unwrap_err();
    assert!(matches!(err, YouTubeError::Feed { .. }), "{err}");
}
