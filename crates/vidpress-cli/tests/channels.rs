//! `vidpress channels` and the WebSub path through the real binary: a real hub (flask-websub on
//! 127.0.0.1), a stand-in for YouTube's channel page and feed on 127.0.0.1, and `vidpress serve`
//! with its embedded workers. A channel linked by handle is subscribed to, its upload is pushed
//! by the hub, and the upload (served on 127.0.0.1 too) becomes a ready draft.

mod support;

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use sqlx::Row;
use support::{Api, FileServer, Instance, eventually, recall, script_words, signal};
use url::Url;
use vidpress_websub::HubClient;
use vidpress_websub::testing::{HubOptions, TestHub};

const CHANNEL: &str = "UCuAXFkgsw1L7xaCfnd5JJOw";
const VIDEO: &str = "dQw4w9WgXcQ";

/// What the stand-in YouTube serves.
#[derive(Clone)]
struct YouTube {
    hub: Url,
    feed: Arc<String>,
    /// Where the watch page sends yt-dlp: the media file on 127.0.0.1.
    media: Arc<String>,
    /// The `v` of every watch page asked for.
    watched: Arc<std::sync::Mutex<Vec<String>>>,
}

/// The watch page: a redirect to the media file, which yt-dlp's generic extractor follows.
async fn watch(
    State(yt): State<YouTube>,
    axum::extract::Query(query): axum::extract::Query<std::collections::HashMap<String, String>>,
) -> Response {
    yt.watched
        .lock()
        .unwrap()
        .push(query.get("v").cloned().unwrap_or_default());
    axum::response::Redirect::temporary(&yt.media).into_response()
}

async fn channel_page() -> Response {
    let html = format!(
        "<!DOCTYPE html><html><head><title>Vidpress Test Channel - YouTube</title>\
         <meta property=\"og:title\" content=\"Vidpress Test Channel\">\
         <link rel=\"canonical\" href=\"https://www.youtube.com/channel/{CHANNEL}\"></head>\
         <body></body></html>"
    );
    ([(header::CONTENT_TYPE, "text/html; charset=utf-8")], html).into_response()
}

/// The topic (and feed): the current uploads with the `Link` header a hub requires.
async fn feed(State(yt): State<YouTube>, uri: axum::http::Uri) -> Response {
    let link = format!(
        "<{}>; rel=\"hub\", <http://127.0.0.1{uri}>; rel=\"self\"",
        yt.hub
    );
    (
        [
            (header::CONTENT_TYPE, "application/atom+xml"),
            (header::LINK, link.as_str()),
        ],
        yt.feed.as_str().to_owned(),
    )
        .into_response()
}

/// An upload whose `<link>` points somewhere no download may go: the pipeline must fetch the
/// watch page it builds from the video id instead.
fn upload_feed(link: &str) -> String {
    format!(
        "<?xml version='1.0' encoding='UTF-8'?>\n<feed xmlns:yt=\"http://www.youtube.com/xml/schemas/2015\" \
         xmlns=\"http://www.w3.org/2005/Atom\"><title>YouTube video feed</title>\
         <updated>2026-11-26T10:00:00+00:00</updated><entry>\n<id>yt:video:{VIDEO}</id>\n\
         <yt:videoId>{VIDEO}</yt:videoId>\n<yt:channelId>{CHANNEL}</yt:channelId>\n\
         <title>Morning light over the harbour</title>\n<link rel=\"alternate\" href=\"{link}\"/>\n\
         <author><name>Vidpress Test Channel</name><uri>https://www.youtube.com/channel/{CHANNEL}</uri></author>\n\
         <published>2099-01-01T00:00:00+00:00</published>\n<updated>2099-01-01T00:00:00+00:00</updated>\n\
         </entry></feed>\n"
    )
}

async fn run(vp: &Instance, args: &[&str], envs: &[(&str, &str)]) -> (bool, String, String) {
    let mut cmd = vp.command(args);
    cmd.envs(envs.iter().copied())
        .stdout(std::process::Stdio::piped());
    let out = tokio::task::spawn_blocking(move || cmd.output())
        .await
        .unwrap()
        .unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

async fn video_id(database_url: &str) -> Option<i64> {
    let store = vidpress_store::Store::connect(database_url, &Default::default())
        .await
        .unwrap();
    let id = sqlx::query("SELECT id FROM videos WHERE youtube_id = $1")
        .bind(VIDEO)
        .fetch_optional(store.pool())
        .await
        .unwrap()
        .map(|row| row.try_get::<i64, _>("id").unwrap());
    store.close().await;
    id
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_linked_channels_upload_arrives_by_websub_and_becomes_a_draft() {
    let hub = TestHub::start(&HubOptions::default());
    let media = support::media("speech.mp4");
    let host = FileServer::start(media.parent().unwrap()).await;
    let yt = YouTube {
        hub: hub.url().clone(),
        feed: Arc::new(upload_feed("http://169.254.169.254/latest/meta-data/")),
        media: Arc::new(host.url("speech.mp4")),
        watched: Arc::default(),
    };
    let watched = yt.watched.clone();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let youtube_base = format!("http://{}/", listener.local_addr().unwrap());
    let router = Router::new()
        .route("/@vidpresstest", get(channel_page))
        .route("/xml/feeds/videos.xml", get(feed))
        .route("/feeds/videos.xml", get(feed))
        .route("/watch", get(watch))
        .with_state(yt);
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });

    let vp = Instance::new();
    let public = format!("{}/", vp.base());
    let envs = [
        ("VIDPRESS_WEBSUB_HUB_URL", hub.url().as_str()),
        ("VIDPRESS_YOUTUBE_BASE_URL", youtube_base.as_str()),
        ("VIDPRESS_PUBLIC_URL", public.as_str()),
    ];

    // A bad reference is refused with a reason, before anything is stored.
    let (ok, _, err) = run(&vp, &["channels", "add", "UCtooshort"], &envs).await;
    assert!(!ok);
    assert!(err.contains("UCtooshort"), "{err}");

    let (ok, out, err) = run(&vp, &["channels", "add", "@vidpresstest"], &envs).await;
    assert!(ok, "{err}");
    assert!(
        out.contains("linked Vidpress Test Channel (UCuAXFkgsw1L7xaCfnd5JJOw)"),
        "{out}"
    );
    // The same channel by its URL is the same channel.
    let by_url = format!("https://www.youtube.com/channel/{CHANNEL}");
    let (ok, out, err) = run(&vp, &["channels", "add", &by_url], &envs).await;
    assert!(ok, "{err}");
    assert!(out.contains("already linked"), "{out}");

    let (_, out, _) = run(&vp, &["channels", "list"], &envs).await;
    assert_eq!(out.lines().count(), 1, "{out}");
    assert!(out.contains("subscribing"), "{out}");

    // The server's workers subscribe; the hub verifies against the server's callback.
    let server = vp.start(&["serve"], &envs).await;
    eventually(
        "the channel subscribed",
        Duration::from_secs(60),
        || async {
            let (_, out, _) = run(&vp, &["channels", "list"], &envs).await;
            out.contains("subscribed until").then_some(())
        },
    )
    .await;

    // The creator uploads: the hub fetches the topic and pushes it, signed, to the server.
    let topic = Url::parse(&format!(
        "{youtube_base}xml/feeds/videos.xml?channel_id={CHANNEL}"
    ))
    .unwrap();
    HubClient::new(reqwest::Client::new(), hub.url().clone())
        .publish(&topic)
        .await
        .unwrap();
    let id = eventually("the push arrived", Duration::from_secs(60), || {
        video_id(&vp.database_url)
    })
    .await;

    let api = Api::new(&vp.base());
    let status = api.wait_until_finished(id).await;
    assert_eq!(status["state"], "ready", "{status:#}");
    assert_eq!(status["title"], "Morning light over the harbour");
    // Fetched from the watch page of the entry's video id, not from the entry's `<link>`.
    let watched = watched.lock().unwrap().clone();
    assert!(
        !watched.is_empty() && watched.iter().all(|v| v == VIDEO),
        "{watched:?}"
    );
    let markdown = status["draft"]["markdown"].as_str().expect("a draft");
    assert!(recall(&script_words(), markdown) >= 0.85, "{markdown}");

    // Unlinking unsubscribes; the draft stays.
    let (ok, out, err) = run(&vp, &["channels", "remove", "@vidpresstest"], &envs).await;
    assert!(ok, "{err}");
    assert!(out.contains("unlinked UCuAXFkgsw1L7xaCfnd5JJOw"), "{out}");
    let (_, out, _) = run(&vp, &["channels", "list"], &envs).await;
    assert!(out.contains("no channels linked"), "{out}");
    let (ok, _, err) = run(&vp, &["channels", "remove", CHANNEL], &envs).await;
    assert!(!ok && err.contains("is not linked"), "{err}");
    assert_eq!(api.status(id).await["state"], "ready");
    signal(&server, "-TERM");
}
