//! The dashboard in a real headless Chromium (Debian's `chromium` and `chromium-driver`, driven
//! over WebDriver with fantoccini) against the real `vidpress serve` with its workers, a real
//! WebSub hub and a stand-in for YouTube's channel page: first-run account, link a channel,
//! upload a short video and watch its progress reach 100 % without a reload, edit and save its
//! draft, see the revision, restore the earlier one, sign out. Screenshots of the main pages at
//! desktop and phone widths go to `target/screenshots/`.

mod support;

use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::Duration;

use axum::Router;
use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::get;
use fantoccini::{Client, ClientBuilder, Locator};
use support::{Instance, Proc, eventually, free_port, repo_root};
use vidpress_websub::testing::{HubOptions, TestHub};

const CHANNEL: &str = "UCuAXFkgsw1L7xaCfnd5JJOw";
const EMAIL: &str = "creator@example.org";
const PASSWORD: &str = "a long enough password";

async fn channel_page() -> impl IntoResponse {
    let html = format!(
        "<!DOCTYPE html><html><head><title>Vidpress Test Channel - YouTube</title>\
         <meta property=\"og:title\" content=\"Vidpress Test Channel\">\
         <link rel=\"canonical\" href=\"https://www.youtube.com/channel/{CHANNEL}\"></head>\
         <body></body></html>"
    );
    ([(header::CONTENT_TYPE, "text/html; charset=utf-8")], html)
}

/// An empty uploads feed with the `Link` header a hub needs to accept the topic.
async fn feed(
    axum::extract::State(hub): axum::extract::State<String>,
    uri: axum::http::Uri,
) -> impl IntoResponse {
    let link = format!("<{hub}>; rel=\"hub\", <http://127.0.0.1{uri}>; rel=\"self\"");
    (
        [
            (header::CONTENT_TYPE, "application/atom+xml".to_owned()),
            (header::LINK, link),
        ],
        "<?xml version='1.0' encoding='UTF-8'?><feed xmlns=\"http://www.w3.org/2005/Atom\"><title>uploads</title></feed>",
    )
}

fn program(name: &str) -> PathBuf {
    for dir in ["/usr/bin", "/usr/lib/chromium", "/usr/local/bin"] {
        let path = PathBuf::from(dir).join(name);
        if path.exists() {
            return path;
        }
    }
    panic!(
        "{name} is missing: run `bash scripts/test.sh` (it installs Debian's chromium and chromium-driver)"
    );
}

/// chromedriver on a free port, stopped when dropped.
async fn chromedriver() -> (Proc, String) {
    let port = free_port();
    let child = Command::new(program("chromedriver"))
        .arg(format!("--port={port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start chromedriver");
    let url = format!("http://127.0.0.1:{port}");
    let status = format!("{url}/status");
    eventually("chromedriver answers", Duration::from_secs(30), || {
        let status = status.clone();
        async move {
            reqwest::get(status)
                .await
                .ok()
                .filter(|r| r.status().is_success())
                .map(drop)
        }
    })
    .await;
    (Proc(child), url)
}

async fn browser(driver: &str, profile: &std::path::Path) -> Client {
    let mut caps = serde_json::Map::new();
    caps.insert(
        "goog:chromeOptions".into(),
        serde_json::json!({
            "binary": program("chromium"),
            "args": [
                "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
                "--disable-background-networking", "--disable-component-update", "--disable-sync",
                "--disable-dev-shm-usage", format!("--user-data-dir={}", profile.display()),
                "--window-size=1280,900"
            ]
        }),
    );
    ClientBuilder::rustls()
        .expect("TLS roots")
        .capabilities(caps)
        .connect(driver)
        .await
        .expect("start a Chromium session")
}

async fn screenshot(client: &Client, name: &str) {
    let dir = repo_root().join("target/screenshots");
    std::fs::create_dir_all(&dir).unwrap();
    let png = client.screenshot().await.expect("take a screenshot");
    std::fs::write(dir.join(format!("{name}.png")), png).unwrap();
}

async fn text_of(client: &Client, css: &str) -> String {
    client
        .find(Locator::Css(css))
        .await
        .unwrap()
        .text()
        .await
        .unwrap()
}

async fn fill(client: &Client, css: &str, value: &str) {
    let field = client.find(Locator::Css(css)).await.unwrap();
    field.clear().await.unwrap();
    field.send_keys(value).await.unwrap();
}

async fn click(client: &Client, css: &str) {
    client
        .find(Locator::Css(css))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
}

async fn wait_for_text(client: &Client, what: &str, timeout: Duration) {
    eventually(&format!("the page shows “{what}”"), timeout, || async {
        client
            .source()
            .await
            .ok()
            .filter(|s| s.contains(what))
            .map(drop)
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_creator_uses_the_dashboard_in_a_real_browser() {
    let hub = TestHub::start(&HubOptions::default());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let youtube_base = format!("http://{}/", listener.local_addr().unwrap());
    let router = Router::new()
        .route("/@vidpresstest", get(channel_page))
        .route("/xml/feeds/videos.xml", get(feed))
        .route("/feeds/videos.xml", get(feed))
        .with_state(hub.url().to_string());
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    let vp = Instance::new();
    let public = format!("{}/", vp.base());
    let _server = vp
        .start(
            &["serve"],
            &[
                ("VIDPRESS_YOUTUBE_BASE_URL", youtube_base.as_str()),
                ("VIDPRESS_WEBSUB_HUB_URL", hub.url().as_str()),
                ("VIDPRESS_PUBLIC_URL", public.as_str()),
                ("VIDPRESS_OWNER_EMAIL", "owner@localhost"),
            ],
        )
        .await;
    let media = support::media("speech.mp4");
    let (_driver, driver_url) = chromedriver().await;
    let profile = tempfile::tempdir().unwrap();
    let c = browser(&driver_url, profile.path()).await;
    let base = vp.base();

    // First run: the address leads to "create the first account".
    c.goto(&base).await.unwrap();
    assert!(c.current_url().await.unwrap().path().ends_with("/setup"));
    assert!(text_of(&c, "h1").await.contains("Create the first account"));
    fill(&c, "#email", EMAIL).await;
    fill(&c, "#password", PASSWORD).await;
    fill(&c, "#confirm", PASSWORD).await;
    click(&c, "button[type=submit].primary").await;
    wait_for_text(&c, "Your account is ready", Duration::from_secs(20)).await;
    assert_eq!(c.current_url().await.unwrap().path(), "/videos");
    screenshot(&c, "videos-empty-desktop").await;

    // Link a channel by its handle.
    c.goto(&format!("{base}/channels")).await.unwrap();
    fill(&c, "#channel", "@vidpresstest").await;
    click(&c, ".link-channel button[type=submit]").await;
    wait_for_text(&c, "Linked Vidpress Test Channel", Duration::from_secs(20)).await;
    eventually(
        "the hub confirms the subscription",
        Duration::from_secs(60),
        || async {
            c.refresh().await.ok()?;
            c.source()
                .await
                .ok()
                .filter(|s| s.contains("subscribed until"))
                .map(drop)
        },
    )
    .await;

    // Upload a short video; its progress reaches 100 % on this page, without a reload.
    c.goto(&format!("{base}/videos")).await.unwrap();
    let file = c.find(Locator::Css("#file")).await.unwrap();
    file.send_keys(media.to_str().unwrap()).await.unwrap();
    click(&c, "#upload-form button[type=submit]").await;
    wait_for_text(&c, "Uploaded; video", Duration::from_secs(60)).await;
    let id: i64 = c
        .execute(
            "return parseInt(document.querySelector('li.video').dataset.id, 10);",
            vec![],
        )
        .await
        .unwrap()
        .as_i64()
        .unwrap();
    c.execute("window.vidpressStayed = true;", vec![])
        .await
        .unwrap();
    screenshot(&c, "videos-progress-desktop").await;
    let seen = std::cell::RefCell::new(Vec::new());
    eventually("the video's progress reaches 100 % live", Duration::from_secs(300), || {
        let c = &c;
        let seen = &seen;
        async move {
            let state = c
                .execute(
                    &format!(
                        "var r = document.getElementById('video-{id}'); return r ? \
                         [r.dataset.progress || '', r.querySelector('[data-role=label]').textContent] : null;"
                    ),
                    vec![],
                )
                .await
                .ok()?;
            let progress = state[0].as_str().unwrap_or("").to_owned();
            let label = state[1].as_str().unwrap_or("").to_owned();
            if seen.borrow().last() != Some(&progress) {
                seen.borrow_mut().push(progress.clone());
            }
            (progress == "100" && label == "Draft ready").then_some(())
        }
    })
    .await;
    let stayed = c
        .execute("return window.vidpressStayed === true;", vec![])
        .await
        .unwrap();
    assert_eq!(
        stayed,
        serde_json::Value::Bool(true),
        "the page was not reloaded"
    );
    let seen = seen.into_inner();
    assert!(seen.len() >= 2, "progress moved on the page: {seen:?}");
    screenshot(&c, "videos-desktop").await;

    // Open the draft, edit and save it.
    click(&c, &format!("#video-{id} a.button")).await;
    wait_for_text(&c, "Edit the draft", Duration::from_secs(20)).await;
    let original_title = c
        .find(Locator::Css("#title"))
        .await
        .unwrap()
        .prop("value")
        .await
        .unwrap()
        .unwrap();
    assert!(
        c.source().await.unwrap().contains("class=\"time\""),
        "the transcript is beside it"
    );
    screenshot(&c, "editor-desktop").await;
    fill(&c, "#title", "Edited in the browser").await;
    fill(&c, "#description", "A short description.").await;
    assert_eq!(
        text_of(&c, "#description-count").await,
        "20 / 160",
        "the count follows typing"
    );
    let markdown = c.find(Locator::Css("#markdown")).await.unwrap();
    markdown
        .send_keys("\n\nAn added closing line.")
        .await
        .unwrap();
    wait_for_text(&c, "<p>An added closing line.</p>", Duration::from_secs(20)).await;
    click(&c, "#save").await;
    wait_for_text(&c, "Saved as revision 2.", Duration::from_secs(20)).await;

    // The revision is in the history; restore revision 1.
    click(&c, "#history").await;
    wait_for_text(&c, "Revision 2", Duration::from_secs(20)).await;
    assert!(c.source().await.unwrap().contains(EMAIL));
    c.find(Locator::LinkText("Revision 1"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    wait_for_text(&c, "Restore this revision", Duration::from_secs(20)).await;
    click(&c, "#restore").await;
    wait_for_text(
        &c,
        "Revision 1 restored as revision 3.",
        Duration::from_secs(20),
    )
    .await;
    let title = c
        .find(Locator::Css("#title"))
        .await
        .unwrap()
        .prop("value")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(title, original_title);
    let editor_url = c.current_url().await.unwrap();

    // Screenshots of the main pages at both widths.
    c.goto(&format!("{base}/channels")).await.unwrap();
    screenshot(&c, "channels-desktop").await;
    c.goto(&format!("{base}/settings")).await.unwrap();
    screenshot(&c, "settings-desktop").await;
    c.set_window_size(390, 844).await.unwrap();
    for (name, url) in [
        ("videos", format!("{base}/videos")),
        ("editor", editor_url.to_string()),
        ("channels", format!("{base}/channels")),
        ("settings", format!("{base}/settings")),
    ] {
        c.goto(&url).await.unwrap();
        screenshot(&c, &format!("{name}-phone")).await;
    }

    // Sign out: the dashboard asks to sign in again.
    click(&c, ".signout button").await;
    wait_for_text(&c, "Sign in", Duration::from_secs(20)).await;
    assert_eq!(c.current_url().await.unwrap().path(), "/sign-in");
    c.goto(&format!("{base}/videos")).await.unwrap();
    assert_eq!(c.current_url().await.unwrap().path(), "/sign-in");
    c.close().await.unwrap();
}
