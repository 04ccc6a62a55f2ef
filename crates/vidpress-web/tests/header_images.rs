//! Header images over HTTP: the editor's image panel shows the picture and regenerates it
//! (with the CSRF token), the API returns the picture's address and serves it, and only to its
//! owner: another user's request answers 404, from the dashboard and from the API.

mod support;

use reqwest::StatusCode;
use sha2::Digest;
use support::App;

fn sha256_hex(text: &str) -> String {
    hex::encode(sha2::Sha256::digest(text.as_bytes()))
}

#[tokio::test]
async fn the_image_is_shown_served_to_its_owner_only_and_regenerated() {
    let app = App::start().await;
    let mut alice = app.admin().await;
    let alice_id = app.user_id("admin@example.org").await;
    let (video, draft) = app
        .ready_video(alice_id, "Alice's video", "Private words.", "alice")
        .await;
    let v = video.0;

    // Without an image the panel says so, and the API has no address for one.
    let alice_secret = "vpt_alices_token";
    app.store
        .create_api_token(
            alice_id,
            "alice",
            &sha256_hex(alice_secret),
            "vpt_alices_to",
        )
        .await
        .unwrap();
    let (status, _) =
        support::api_get(&app.base, &format!("/api/videos/{v}/image"), alice_secret).await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    // The image step's files: the header and its square version beside it.
    let images = tempfile::tempdir().unwrap();
    let header = images.path().join("header-7.jpg");
    std::fs::write(&header, b"\xff\xd8header bytes").unwrap();
    std::fs::write(
        images.path().join("header-7-square.jpg"),
        b"\xff\xd8square bytes",
    )
    .unwrap();
    let mut tx = app.store.begin().await.unwrap();
    vidpress_store::videos::set_header(
        &mut tx,
        video,
        Some(header.to_str().unwrap()),
        "header image from the video's frame at 0:03 with the title, style photo",
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();

    let editor = alice.get(&format!("/drafts/{draft}")).await;
    assert_eq!(editor.status, StatusCode::OK);
    assert!(
        editor
            .body
            .contains(&format!("src=\"/drafts/{draft}/image?v=header-7\"")),
        "{}",
        editor.body
    );
    assert!(editor.body.contains("frame at 0:03"));
    assert!(
        editor
            .body
            .contains(&format!("action=\"/drafts/{draft}/image\""))
    );
    assert!(editor.body.contains("<option value=\"photo\" selected>"));
    assert!(
        !editor
            .body
            .contains("Header images arrive in a later release")
    );

    let served = alice
        .get(&format!("/drafts/{draft}/image?v=header-7"))
        .await;
    assert_eq!(served.status, StatusCode::OK);
    assert_eq!(served.headers["content-type"], "image/jpeg");
    assert!(
        served.headers["cache-control"]
            .to_str()
            .unwrap()
            .contains("private")
    );
    assert!(served.body.ends_with("header bytes"));
    let square = alice
        .get(&format!("/drafts/{draft}/image?size=square"))
        .await;
    assert!(square.body.ends_with("square bytes"));

    // The API gives the addresses and serves the same files to the owner's token.
    let (status, body) =
        support::api_get(&app.base, &format!("/api/videos/{v}"), alice_secret).await;
    assert_eq!(status, StatusCode::OK);
    let json: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(
        json["draft"]["header_image_url"],
        format!("/api/videos/{v}/image")
    );
    assert_eq!(
        json["draft"]["header_square_url"],
        format!("/api/videos/{v}/image?size=square")
    );
    assert_eq!(json["draft"]["header_style"], "photo");
    let (status, body) =
        support::api_get(&app.base, &format!("/api/videos/{v}/image"), alice_secret).await;
    assert_eq!(status, StatusCode::OK);
    assert!(body.ends_with("header bytes"));

    // Bob sees nothing of it, and cannot ask for a new one.
    let mut bob = app.user("bob@example.org").await;
    let bob_id = app.user_id("bob@example.org").await;
    let bob_secret = "vpt_bobs_token";
    app.store
        .create_api_token(bob_id, "bob", &sha256_hex(bob_secret), "vpt_bobs_tok")
        .await
        .unwrap();
    for path in [
        format!("/drafts/{draft}/image"),
        format!("/drafts/{draft}/image?size=square"),
    ] {
        assert_eq!(
            bob.get(&path).await.status,
            StatusCode::NOT_FOUND,
            "GET {path}"
        );
    }
    let bob_csrf = bob.csrf("/videos").await;
    let page = bob
        .post(
            &format!("/drafts/{draft}/image"),
            &[("csrf", &bob_csrf), ("style", "minimal")],
        )
        .await;
    assert_eq!(page.status, StatusCode::NOT_FOUND);
    let (status, _) =
        support::api_get(&app.base, &format!("/api/videos/{v}/image"), bob_secret).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let http = reqwest::Client::new();
    let response = http
        .post(format!("{}/api/videos/{v}/image", app.base))
        .bearer_auth(bob_secret)
        .json(&serde_json::json!({ "style": "minimal" }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    let illustrate_jobs = |jobs: Vec<vidpress_store::queue::Job>| {
        jobs.into_iter()
            .filter(|j| j.kind == vidpress_core::JobKind::Illustrate)
            .count()
    };
    assert_eq!(
        illustrate_jobs(app.store.jobs_for_video(v).await.unwrap()),
        0
    );

    // Alice's form without its token is refused; with it, a regeneration is queued in her style.
    let page = alice
        .post(&format!("/drafts/{draft}/image"), &[("style", "minimal")])
        .await;
    assert_eq!(page.status, StatusCode::FORBIDDEN);
    let csrf = editor.csrf();
    let page = alice
        .post(
            &format!("/drafts/{draft}/image"),
            &[("csrf", &csrf), ("style", "minimal")],
        )
        .await;
    assert_eq!(page.status, StatusCode::SEE_OTHER, "{}", page.body);
    let stored = app.store.draft_for_video(video).await.unwrap().unwrap();
    assert_eq!(stored.header_style, "minimal");
    assert_eq!(
        stored.header_image.as_deref(),
        header.to_str(),
        "the old image stays"
    );
    let jobs = app.store.jobs_for_video(v).await.unwrap();
    let job = jobs
        .iter()
        .find(|j| j.kind == vidpress_core::JobKind::Illustrate)
        .expect("an illustrate job");
    assert!(
        vidpress_store::videos::is_regeneration(&job.payload),
        "{:?}",
        job.payload
    );
    let editor = alice.get(&format!("/drafts/{draft}")).await;
    assert!(editor.body.contains("<option value=\"minimal\" selected>"));

    // The API: an unknown style is refused; a chosen seed is kept.
    let response = http
        .post(format!("{}/api/videos/{v}/image", app.base))
        .bearer_auth(alice_secret)
        .json(&serde_json::json!({ "style": "sepia" }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    assert!(
        response
            .text()
            .await
            .unwrap()
            .contains("photo, illustration, minimal")
    );
    let response = http
        .post(format!("{}/api/videos/{v}/image", app.base))
        .bearer_auth(alice_secret)
        .json(&serde_json::json!({ "style": "illustration", "seed": 42 }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::ACCEPTED);
    let queued: serde_json::Value = response.json().await.unwrap();
    assert_eq!(queued["style"], "illustration");
    assert_eq!(queued["seed"], 42);
    let stored = app.store.draft_for_video(video).await.unwrap().unwrap();
    assert_eq!(
        (stored.header_style.as_str(), stored.header_seed),
        ("illustration", 42)
    );
    assert_eq!(
        illustrate_jobs(app.store.jobs_for_video(v).await.unwrap()),
        2
    );
}
