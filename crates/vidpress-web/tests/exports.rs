//! Connections and exports through the dashboard and the JSON API, against a real WordPress:
//! add (tested at once, the secret sealed and never shown), test, remove; export from the
//! editor, run by the worker, its state and the link to the remote post shown; file downloads;
//! another user's ids answer 404.

mod support;

use reqwest::StatusCode;
use support::{API_TOKEN, App, OWNER, exporters};
use vidpress_publish::testing::{WP_USER, WordPressSite};
use vidpress_worker::{ExportJobs, Registry, WorkerPool};

async fn run_exports(app: &App) {
    let mut registry = Registry::new();
    ExportJobs::new(exporters()).register(&mut registry);
    WorkerPool::new(
        app.store.clone(),
        registry,
        vidpress_worker::PoolConfig {
            poll_interval: std::time::Duration::from_millis(50),
            ..vidpress_worker::PoolConfig::default()
        },
    )
    .run_until_idle()
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn connections_and_exports_in_the_dashboard() {
    let site = WordPressSite::start().await;
    let app = App::start().await;
    let mut alice = app.admin().await;
    let alice_id = app.user_id("admin@example.org").await;
    let (_, draft) = app
        .ready_video(
            alice_id,
            "Sourdough at home",
            "Feed the starter daily.",
            "sourdough",
        )
        .await;

    // Form errors come back beside the fields, nothing stored.
    let csrf = alice.csrf("/connections").await;
    let page = alice
        .post(
            "/connections",
            &[
                ("csrf", &csrf),
                ("kind", "ghost"),
                ("name", "ghost blog"),
                ("url", "http://169.254.169.254/"),
                ("secret", "not-a-key"),
            ],
        )
        .await;
    assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        page.body.contains("id=\"url-error\"") && page.body.contains("metadata"),
        "{}",
        page.body
    );
    assert!(page.body.contains("id=\"secret-error\"") && page.body.contains("malformed"));
    assert!(!page.body.contains("not-a-key"), "the secret is not echoed");
    assert!(app.store.connections(alice_id).await.unwrap().is_empty());

    // Added and tested at once.
    let added = alice
        .post(
            "/connections",
            &[
                ("csrf", &csrf),
                ("kind", "wordpress"),
                ("name", "My blog"),
                ("url", site.url.as_str()),
                ("username", WP_USER),
                ("secret", &site.app_password),
            ],
        )
        .await;
    assert_eq!(added.status, StatusCode::SEE_OTHER, "{}", added.body);
    let list = alice.get("/connections").await;
    assert!(
        list.body.contains("My blog") && list.body.contains("accepts"),
        "{}",
        list.body
    );
    assert!(!list.body.contains(&site.app_password), "never shown again");
    let connection = app.store.connections(alice_id).await.unwrap().remove(0);
    assert!(!connection.sealed_secret.contains(&site.app_password));
    assert_eq!(connection.test_ok, Some(true));
    let tested = alice
        .post(
            &format!("/connections/{}/test", connection.id),
            &[("csrf", &csrf)],
        )
        .await;
    assert_eq!(tested.status, StatusCode::SEE_OTHER);

    // The editor offers the connection; exporting queues the job, the worker sends it, and the
    // editor shows the state and the link to the post.
    let editor = alice.get(&format!("/drafts/{draft}")).await;
    assert!(
        editor.body.contains("id=\"export-form\"") && editor.body.contains("My blog (WordPress)")
    );
    let queued = alice
        .post(
            &format!("/drafts/{draft}/exports"),
            &[
                ("csrf", &csrf),
                ("connection", &connection.id.to_string()),
                ("status", "draft"),
            ],
        )
        .await;
    assert_eq!(queued.status, StatusCode::SEE_OTHER);
    assert!(
        alice
            .get(&format!("/drafts/{draft}"))
            .await
            .body
            .contains("queued")
    );
    run_exports(&app).await;
    let export = app
        .store
        .exports_for_draft(alice_id, draft)
        .await
        .unwrap()
        .remove(0);
    assert_eq!(export.state.as_str(), "succeeded", "{:?}", export.message);
    let editor = alice.get(&format!("/drafts/{draft}")).await;
    let link = export.remote_url.clone().unwrap();
    assert!(
        editor.body.contains("exported") && editor.body.contains(&link),
        "{}",
        editor.body
    );

    // Scheduled from the editor: a local time in Alice's time zone (Tokyo, UTC+9), which the
    // site receives in UTC; a time without a date, or too soon, is refused with a message.
    let zone = alice
        .post(
            "/settings/time-zone",
            &[("csrf", &csrf), ("time_zone", "Asia/Tokyo")],
        )
        .await;
    assert_eq!(zone.status, StatusCode::SEE_OTHER);
    let editor = alice.get(&format!("/drafts/{draft}")).await;
    assert!(
        editor.body.contains("id=\"export-publish-at\"") && editor.body.contains("Asia/Tokyo"),
        "{}",
        editor.body
    );
    let at = (time::OffsetDateTime::now_utc() + time::Duration::days(2))
        .replace_nanosecond(0)
        .unwrap()
        .replace_second(0)
        .unwrap();
    let tokyo = at.to_offset(time::UtcOffset::from_hms(9, 0, 0).unwrap());
    let local = format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}",
        tokyo.year(),
        u8::from(tokyo.month()),
        tokyo.day(),
        tokyo.hour(),
        tokyo.minute()
    );
    for (publish_at, message) in [
        ("", "choose the date and time"),
        ("2020-01-01T09:00", "at least 5 minutes from now"),
        ("next week", "is not a date and time"),
    ] {
        let refused = alice
            .post(
                &format!("/drafts/{draft}/exports"),
                &[
                    ("csrf", &csrf),
                    ("connection", &connection.id.to_string()),
                    ("status", "schedule"),
                    ("publish_at", publish_at),
                ],
            )
            .await;
        assert_eq!(refused.status, StatusCode::SEE_OTHER);
        let editor = alice.get(&format!("/drafts/{draft}")).await;
        assert!(
            editor.body.contains(message),
            "{publish_at}: {}",
            editor.body
        );
    }
    let scheduled = alice
        .post(
            &format!("/drafts/{draft}/exports"),
            &[
                ("csrf", &csrf),
                ("connection", &connection.id.to_string()),
                ("status", "schedule"),
                ("publish_at", &local),
            ],
        )
        .await;
    assert_eq!(scheduled.status, StatusCode::SEE_OTHER);
    run_exports(&app).await;
    let export = app
        .store
        .exports_for_draft(alice_id, draft)
        .await
        .unwrap()
        .remove(0);
    assert_eq!(export.state.as_str(), "succeeded", "{:?}", export.message);
    assert_eq!(export.post_status, "schedule");
    assert_eq!(
        export.publish_at,
        Some((at.unix_timestamp_nanos() / 1_000_000) as i64)
    );
    let editor = alice.get(&format!("/drafts/{draft}")).await;
    assert!(
        editor.body.contains(&format!(
            "scheduled for {} {} {}, {:02}:{:02} JST",
            tokyo.day(),
            &format!("{:?}", tokyo.month())[..3],
            tokyo.year(),
            tokyo.hour(),
            tokyo.minute()
        )),
        "{}",
        editor.body
    );

    // Files.
    let markdown = alice.get(&format!("/drafts/{draft}/files/markdown")).await;
    assert_eq!(markdown.status, StatusCode::OK);
    assert!(
        markdown.headers["content-disposition"]
            .to_str()
            .unwrap()
            .contains("sourdough.md")
    );
    let front = markdown
        .body
        .strip_prefix("---\n")
        .unwrap()
        .split("\n---\n")
        .next()
        .unwrap();
    let yaml = &yaml_rust2::YamlLoader::load_from_str(front).unwrap()[0];
    assert_eq!(yaml["title"].as_str(), Some("Sourdough at home"));
    let srt = alice.get(&format!("/drafts/{draft}/files/srt")).await;
    assert!(srt.body.starts_with("1\n00:00:00,000 --> "), "{}", srt.body);
    assert_eq!(
        alice
            .get(&format!("/drafts/{draft}/files/docx"))
            .await
            .status,
        StatusCode::NOT_FOUND
    );

    // Bob sees none of it.
    let mut bob = app.user("bob@example.org").await;
    let bob_csrf = bob.csrf("/connections").await;
    let bobs = bob.get("/connections").await.body;
    assert!(
        !bobs.contains(&format!("id=\"connection-{}\"", connection.id))
            && !bobs.contains(site.url.as_str())
    );
    for path in [
        format!("/connections/{}/test", connection.id),
        format!("/connections/{}/remove", connection.id),
    ] {
        assert_eq!(
            bob.post(&path, &[("csrf", &bob_csrf)]).await.status,
            StatusCode::NOT_FOUND,
            "{path}"
        );
    }
    let export_as_bob = bob
        .post(
            &format!("/drafts/{draft}/exports"),
            &[
                ("csrf", &bob_csrf),
                ("connection", &connection.id.to_string()),
            ],
        )
        .await;
    assert_eq!(export_as_bob.status, StatusCode::NOT_FOUND);
    assert_eq!(
        bob.get(&format!("/drafts/{draft}/files/markdown"))
            .await
            .status,
        StatusCode::NOT_FOUND
    );

    // A form without the CSRF token changes nothing.
    let forged = alice
        .post(&format!("/connections/{}/remove", connection.id), &[])
        .await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN);
    let removed = alice
        .post(
            &format!("/connections/{}/remove", connection.id),
            &[("csrf", &csrf)],
        )
        .await;
    assert_eq!(removed.status, StatusCode::SEE_OTHER);
    assert!(app.store.connections(alice_id).await.unwrap().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn connections_and_exports_in_the_api() {
    let site = WordPressSite::start().await;
    let app = App::start().await;
    let owner = app.user_id(OWNER).await;
    let (_, draft) = app
        .ready_video(
            owner,
            "Sourdough at home",
            "Feed the starter daily.",
            "sourdough",
        )
        .await;
    let http = reqwest::Client::new();
    let api = |path: &str| format!("{}{path}", app.base);
    let created = http
        .post(api("/api/connections"))
        .bearer_auth(API_TOKEN)
        .json(&serde_json::json!({
            "kind": "wordpress", "name": "blog", "url": site.url.as_str(),
            "username": WP_USER, "secret": site.app_password,
        }))
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), StatusCode::CREATED);
    let body: serde_json::Value = created.json().await.unwrap();
    assert_eq!(body["test"]["ok"], true, "{body}");
    assert!(!body.to_string().contains(&site.app_password));
    let id = body["connection"]["id"].as_i64().unwrap();

    let unauthenticated = http.get(api("/api/connections")).send().await.unwrap();
    assert_eq!(unauthenticated.status(), StatusCode::UNAUTHORIZED);
    let list: serde_json::Value = http
        .get(api("/api/connections"))
        .bearer_auth(API_TOKEN)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(list[0]["name"], "blog");
    assert!(list[0].get("secret").is_none() && list[0].get("sealed_secret").is_none());

    let request_export = |body: &serde_json::Value| {
        let request = http
            .post(api(&format!("/api/drafts/{draft}/exports")))
            .bearer_auth(API_TOKEN)
            .json(body);
        async move { request.send().await.unwrap() }
    };
    let read_export = |export: &serde_json::Value| {
        let request = http
            .get(api(&format!("/api/exports/{}", export["id"])))
            .bearer_auth(API_TOKEN);
        async move {
            request
                .send()
                .await
                .unwrap()
                .json::<serde_json::Value>()
                .await
                .unwrap()
        }
    };
    let queued =
        request_export(&serde_json::json!({ "connection_id": id, "status": "publish" })).await;
    assert_eq!(queued.status(), StatusCode::ACCEPTED);
    let export: serde_json::Value = queued.json().await.unwrap();
    assert_eq!(export["state"], "queued");
    run_exports(&app).await;
    let export: serde_json::Value = read_export(&export).await;
    assert_eq!(export["state"], "succeeded", "{export}");
    assert_eq!(export["post_status"], "publish");
    let url = export["remote_url"].as_str().unwrap();
    assert_eq!(
        reqwest::get(url).await.unwrap().status(),
        StatusCode::OK,
        "published at {url}"
    );

    // Scheduled through the API: RFC 3339 in, the same time (UTC) back; a bad time is a 400.
    let refused = request_export(&serde_json::json!({
        "connection_id": id, "status": "schedule", "publish_at": "tomorrow"
    }))
    .await;
    assert_eq!(refused.status(), StatusCode::BAD_REQUEST);
    assert!(
        refused
            .text()
            .await
            .unwrap()
            .contains("is not a time to publish at")
    );
    let queued = request_export(&serde_json::json!({
        "connection_id": id, "status": "schedule", "publish_at": "2099-12-03T10:00:00+01:00"
    }))
    .await;
    assert_eq!(queued.status(), StatusCode::ACCEPTED);
    let export: serde_json::Value = queued.json().await.unwrap();
    assert_eq!(export["post_status"], "schedule");
    assert_eq!(export["publish_at"], "2099-12-03T09:00:00Z");
    run_exports(&app).await;
    let export: serde_json::Value = read_export(&export).await;
    assert_eq!(export["state"], "succeeded", "{export}");

    let vtt = http
        .get(api(&format!("/api/drafts/{draft}/files/vtt")))
        .bearer_auth(API_TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(vtt.headers()["content-type"], "text/vtt; charset=utf-8");
    assert!(vtt.text().await.unwrap().starts_with("WEBVTT"));

    // Another user's token reaches none of it.
    let bob = app.user("bob@example.org").await;
    drop(bob);
    let bob_id = app.user_id("bob@example.org").await;
    let token = "bob-token-0123456789";
    app.store
        .create_api_token(bob_id, "bob", &vidpress_web_hash(token), "bob-tok")
        .await
        .unwrap();
    for path in [
        format!("/api/connections/{id}"),
        format!("/api/drafts/{draft}/exports"),
        format!("/api/exports/{}", export["id"]),
        format!("/api/drafts/{draft}/files/markdown"),
    ] {
        let r = http
            .get(api(&path))
            .bearer_auth(token)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::NOT_FOUND, "{path}");
    }
    let r = http
        .delete(api(&format!("/api/connections/{id}")))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    let r = http
        .delete(api(&format!("/api/connections/{id}")))
        .bearer_auth(API_TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
}

/// The hash the server stores API tokens by (SHA-256, hex).
fn vidpress_web_hash(token: &str) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(token.as_bytes()))
}
