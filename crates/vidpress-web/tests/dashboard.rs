//! The dashboard over HTTP, as a browser without scripts uses it: first run, sign in and out,
//! sessions, CSRF, the sign-in limits, every page and form, isolation between accounts, and
//! escaping of what the pipeline wrote.

mod support;

use reqwest::StatusCode;
use support::{API_TOKEN, App, Client, OWNER, PASSWORD, api_get, csrf_in};
use vidpress_store::{MediaSource, VideoState};

#[tokio::test]
async fn first_run_creates_the_admin_from_the_operator_account() {
    let app = App::start().await;
    // The command line already made a video as the operator account.
    let owner = app.user_id(OWNER).await;
    app.store
        .create_video(
            owner,
            "Made from the command line",
            MediaSource::Url("https://example.org/a.mp4"),
            3,
        )
        .await
        .unwrap();
    let mut c = app.client();
    let home = c.get("/").await;
    assert_eq!(home.status, StatusCode::SEE_OTHER);
    assert_eq!(home.location(), "/setup");
    let videos = c.get("/videos").await;
    assert_eq!(videos.location(), "/setup");
    let setup = c.get("/setup").await;
    assert!(setup.body.contains("Create the first account"));
    assert!(
        setup.body.contains(&format!("value=\"{OWNER}\"")),
        "the email is prefilled"
    );

    // Bad input: the form again, errors beside the fields, nothing saved.
    let token = setup.csrf();
    let bad = c
        .post(
            "/setup",
            &[
                ("csrf", &token),
                ("email", "not-an-email"),
                ("password", "short"),
                ("confirm", "short"),
            ],
        )
        .await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(bad.body.contains("id=\"email-error\""), "{}", bad.body);
    assert!(bad.body.contains("id=\"password-error\""));
    assert!(app.store.needs_first_account().await.unwrap());
    let mismatch = c
        .post(
            "/setup",
            &[
                ("csrf", &token),
                ("email", "admin@example.org"),
                ("password", PASSWORD),
                ("confirm", "something else"),
            ],
        )
        .await;
    assert!(mismatch.body.contains("id=\"confirm-error\""));
    assert!(app.store.needs_first_account().await.unwrap());

    let done = c
        .post(
            "/setup",
            &[
                ("csrf", &token),
                ("email", "Admin@Example.org"),
                ("password", PASSWORD),
                ("confirm", PASSWORD),
            ],
        )
        .await;
    assert_eq!(done.status, StatusCode::SEE_OTHER);
    assert_eq!(done.location(), "/videos");
    let page = c.get("/videos").await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains("admin@example.org"));
    assert!(
        page.body.contains("Made from the command line"),
        "the operator's video is the admin's"
    );
    assert!(
        page.body.contains("Your account is ready"),
        "a welcome message says what to do first"
    );
    let admin = app
        .store
        .user_by_email("admin@example.org")
        .await
        .unwrap()
        .unwrap();
    assert!(admin.is_admin);
    assert_eq!(admin.id, owner, "the operator account became the admin");
    // The command line still acts for it, and setup is over.
    assert_eq!(app.store.operator_user(OWNER).await.unwrap().id, owner);
    let again = app.client().get("/setup").await;
    assert_eq!(again.location(), "/sign-in");
}

#[tokio::test]
async fn sign_in_issues_a_new_session_id_and_sign_out_ends_it() {
    let app = App::start().await;
    app.admin().await;
    let mut c = app.client();
    let token = c.csrf("/sign-in").await;
    let before = c
        .cookie
        .clone()
        .expect("the sign-in page sets a session cookie");
    let signed = c
        .post(
            "/sign-in",
            &[
                ("csrf", &token),
                ("email", "admin@example.org"),
                ("password", PASSWORD),
            ],
        )
        .await;
    assert_eq!(signed.status, StatusCode::SEE_OTHER);
    let set_cookie = signed
        .headers
        .get("set-cookie")
        .unwrap()
        .to_str()
        .unwrap()
        .to_owned();
    assert!(set_cookie.contains("HttpOnly"), "{set_cookie}");
    assert!(set_cookie.contains("SameSite=Lax"), "{set_cookie}");
    assert!(!set_cookie.contains("Secure"), "plain http: no Secure flag");
    let after = c.cookie.clone().unwrap();
    assert_ne!(before, after, "signing in issues a new session id");
    assert_eq!(c.get("/videos").await.status, StatusCode::OK);

    // The pre-sign-in id (a fixation attempt) opens nothing.
    let mut attacker = app.client();
    attacker.cookie = Some(before);
    assert_eq!(attacker.get("/videos").await.location(), "/sign-in");

    // Sign out; the old cookie no longer opens the session.
    let token = c.csrf("/videos").await;
    let out = c.post("/sign-out", &[("csrf", &token)]).await;
    assert_eq!(out.location(), "/sign-in");
    let mut replay = app.client();
    replay.cookie = Some(after);
    assert_eq!(replay.get("/videos").await.location(), "/sign-in");
    assert_eq!(c.get("/videos").await.location(), "/sign-in");
}

#[tokio::test]
async fn wrong_passwords_are_refused_and_limited_per_account_and_per_address() {
    let app = App::start().await;
    app.admin().await;
    let mut c = app.client();
    let token = c.csrf("/sign-in").await;
    for _ in 0..5 {
        let page = c
            .post(
                "/sign-in",
                &[
                    ("csrf", &token),
                    ("email", "admin@example.org"),
                    ("password", "wrong password"),
                ],
            )
            .await;
        assert_eq!(page.status, StatusCode::UNAUTHORIZED);
        assert!(page.body.contains("The email or the password is wrong."));
    }
    // The account is locked for now, even with the right password.
    let locked = c
        .post(
            "/sign-in",
            &[
                ("csrf", &token),
                ("email", "admin@example.org"),
                ("password", PASSWORD),
            ],
        )
        .await;
    assert_eq!(locked.status, StatusCode::TOO_MANY_REQUESTS);
    assert!(locked.body.contains("Too many failed sign-ins"));
    // Per address: 20 failures over many accounts lock this address out.
    for i in 0..15 {
        let email = format!("nobody{i}@example.org");
        let page = c
            .post(
                "/sign-in",
                &[
                    ("csrf", &token),
                    ("email", &email),
                    ("password", "wrong password"),
                ],
            )
            .await;
        assert_eq!(page.status, StatusCode::UNAUTHORIZED, "attempt {i}");
    }
    let page = c
        .post(
            "/sign-in",
            &[
                ("csrf", &token),
                ("email", "someone@example.org"),
                ("password", "wrong password"),
            ],
        )
        .await;
    assert_eq!(page.status, StatusCode::TOO_MANY_REQUESTS);
}

#[tokio::test]
async fn forms_without_the_csrf_token_are_refused() {
    let app = App::start().await;
    let mut c = app.admin().await;
    for token in ["", "forged-token"] {
        let page = c
            .post(
                "/videos",
                &[("csrf", token), ("url", "https://example.org/v.mp4")],
            )
            .await;
        assert_eq!(page.status, StatusCode::FORBIDDEN);
        assert!(page.body.contains("This form has expired"));
    }
    let page = c
        .post("/videos", &[("url", "https://example.org/v.mp4")])
        .await;
    assert_eq!(page.status, StatusCode::FORBIDDEN);
    let me = app.user_id("admin@example.org").await;
    let listed = app
        .store
        .list_videos(me, &Default::default(), 0, 10)
        .await
        .unwrap();
    assert!(listed.is_empty(), "nothing was created");
    // Sign-out needs it too: the session survives a forged sign-out.
    let out = c.post("/sign-out", &[("csrf", "forged")]).await;
    assert_eq!(out.status, StatusCode::FORBIDDEN);
    assert_eq!(c.get("/videos").await.status, StatusCode::OK);
    // A token of another session is no good either.
    let mut other = app.client();
    let foreign = other.csrf("/sign-in").await;
    let page = c
        .post(
            "/videos",
            &[("csrf", &foreign), ("url", "https://example.org/v.mp4")],
        )
        .await;
    assert_eq!(page.status, StatusCode::FORBIDDEN);
    // The sign-in form needs it as well (no login CSRF).
    let mut fresh = app.client();
    let page = fresh
        .post(
            "/sign-in",
            &[("email", "admin@example.org"), ("password", PASSWORD)],
        )
        .await;
    assert_eq!(page.status, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn pages_carry_security_headers_and_assets_are_cached_by_hash() {
    let app = App::start().await;
    let mut c = app.admin().await;
    let page = c.get("/videos").await;
    let csp = page
        .headers
        .get("content-security-policy")
        .unwrap()
        .to_str()
        .unwrap();
    assert!(
        csp.contains("default-src 'self'") && csp.contains("script-src 'self'"),
        "{csp}"
    );
    assert_eq!(page.headers.get("x-frame-options").unwrap(), "DENY");
    assert_eq!(
        page.headers.get("x-content-type-options").unwrap(),
        "nosniff"
    );
    let css = page
        .body
        .split("href=\"/assets/app.")
        .nth(1)
        .unwrap()
        .split('"')
        .next()
        .unwrap();
    let css = format!("/assets/app.{css}");
    let asset = c.get(&css).await;
    assert_eq!(asset.status, StatusCode::OK);
    assert!(
        asset
            .headers
            .get("cache-control")
            .unwrap()
            .to_str()
            .unwrap()
            .contains("immutable")
    );
    assert!(
        asset
            .headers
            .get("content-type")
            .unwrap()
            .to_str()
            .unwrap()
            .starts_with("text/css")
    );
    assert_eq!(
        c.get("/assets/app.0000.css").await.status,
        StatusCode::NOT_FOUND
    );
    assert!(
        page.body.contains("src=\"/assets/app."),
        "the script is linked"
    );
    assert!(!page.body.contains("src=\"http"), "nothing from elsewhere");
}

#[tokio::test]
async fn videos_list_pages_filters_and_the_api_lists_the_same() {
    let app = App::start().await;
    let mut c = app.admin().await;
    let me = app.user_id("admin@example.org").await;
    let empty = c.get("/videos").await;
    assert!(
        empty.body.contains("No videos yet"),
        "an empty state says what to do"
    );
    for i in 0..30 {
        app.store
            .create_video(
                me,
                &format!("Video number {i}"),
                MediaSource::Url("https://example.org/v.mp4"),
                3,
            )
            .await
            .unwrap();
    }
    let (failed, _) = app
        .store
        .create_video(
            me,
            "The one that failed",
            MediaSource::Url("https://example.org/f.mp4"),
            3,
        )
        .await
        .unwrap();
    app.store
        .set_video_error(
            failed,
            VideoState::Failed,
            "yt-dlp could not download https://example.org/f.mp4: HTTP 404",
        )
        .await
        .unwrap();
    let first = c.get("/videos").await;
    assert_eq!(first.status, StatusCode::OK);
    assert!(first.body.contains("The one that failed"), "newest first");
    assert!(
        first.body.contains("HTTP 404"),
        "a failed video shows its message"
    );
    assert!(first.body.contains("Video number 29"));
    assert!(
        !first.body.contains("Video number 5<"),
        "the oldest are on the next page"
    );
    assert!(first.body.contains("href=\"/videos?page=1\""));
    assert!(
        first.body.contains("refresh"),
        "without scripts, a refresh link"
    );
    let second = c.get("/videos?page=1").await;
    assert!(second.body.contains("Video number 5<"));
    let failed_only = c.get("/videos?state=failed").await;
    assert!(failed_only.body.contains("The one that failed"));
    assert!(!failed_only.body.contains("Video number 29"));
    assert!(failed_only.body.contains(">Retry<"));

    // The JSON API's list, for the configured token (the operator, who is the admin now).
    let (status, body) = api_get(&app.base, "/api/videos?state=failed", API_TOKEN).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let list: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(list["videos"].as_array().unwrap().len(), 1);
    assert_eq!(list["videos"][0]["title"], "The one that failed");
    let (_, body) = api_get(&app.base, "/api/videos?per_page=10&page=3", API_TOKEN).await;
    let list: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(list["videos"].as_array().unwrap().len(), 1);
    assert_eq!(list["more"], false);
    let (status, _) = api_get(&app.base, "/api/videos?state=bogus", API_TOKEN).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let (status, _) = api_get(&app.base, "/api/videos", "wrong").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);

    // Retry puts the failed video back at its step; cancel stops a running one.
    let token = first.csrf();
    let retried = c
        .post(&format!("/videos/{}/retry", failed.0), &[("csrf", &token)])
        .await;
    assert_eq!(retried.status, StatusCode::SEE_OTHER);
    assert_eq!(
        app.store.video(failed).await.unwrap().state,
        VideoState::Fetching
    );
    assert!(app.store.video(failed).await.unwrap().error.is_none());
    let cancelled = c
        .post(&format!("/videos/{}/cancel", failed.0), &[("csrf", &token)])
        .await;
    assert_eq!(cancelled.status, StatusCode::SEE_OTHER);
    assert_eq!(
        app.store.video(failed).await.unwrap().state,
        VideoState::Cancelled
    );
    let page = c.get("/videos").await;
    assert!(
        page.body.contains("is cancelled"),
        "a flash message says what happened"
    );
}

#[tokio::test]
async fn pasting_a_url_queues_it_and_a_bad_url_is_answered_beside_the_field() {
    let app = App::start().await;
    let mut c = app.admin().await;
    let me = app.user_id("admin@example.org").await;
    let token = c.csrf("/videos").await;
    for bad in ["", "not a url", "ftp://example.org/v.mp4"] {
        let page = c.post("/videos", &[("csrf", &token), ("url", bad)]).await;
        assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY, "{bad}");
        assert!(page.body.contains("id=\"url-error\""), "{bad}");
    }
    assert!(
        app.store
            .list_videos(me, &Default::default(), 0, 10)
            .await
            .unwrap()
            .is_empty()
    );
    let ok = c
        .post(
            "/videos",
            // An address that needs no name lookup (the test app allows loopback).
            &[("csrf", &token), ("url", "http://127.0.0.1:9/talk.mp4")],
        )
        .await;
    assert_eq!(ok.status, StatusCode::SEE_OTHER);
    let listed = app
        .store
        .list_videos(me, &Default::default(), 0, 10)
        .await
        .unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].state, VideoState::Fetching);
    let page = c.get("/videos").await;
    assert!(
        page.body
            .contains(&format!("data-live-ids=\"{}\"", listed[0].id.0))
    );
}

#[tokio::test]
async fn uploads_are_stored_and_queued() {
    let app = App::start().await;
    let mut c = app.admin().await;
    let me = app.user_id("admin@example.org").await;
    let token = c.csrf("/videos").await;
    let form = reqwest::multipart::Form::new().part(
        "file",
        reqwest::multipart::Part::bytes(b"not really media".to_vec()).file_name("talk.mp4"),
    );
    let response = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
        .post(format!("{}/videos/upload?csrf={token}", app.base))
        .header(
            "cookie",
            format!("vidpress_session={}", c.cookie.clone().unwrap()),
        )
        .multipart(form)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let listed = app
        .store
        .list_videos(me, &Default::default(), 0, 10)
        .await
        .unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].title, "talk.mp4");
    assert_eq!(listed[0].state, VideoState::Transcribing);
    assert_eq!(std::fs::read_dir(app.uploads.path()).unwrap().count(), 1);
    // Without the token: refused, nothing stored.
    let form = reqwest::multipart::Form::new().part(
        "file",
        reqwest::multipart::Part::bytes(b"x".to_vec()).file_name("b.mp4"),
    );
    let response = reqwest::Client::new()
        .post(format!("{}/videos/upload", app.base))
        .header(
            "cookie",
            format!("vidpress_session={}", c.cookie.clone().unwrap()),
        )
        .multipart(form)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    assert_eq!(
        app.store
            .list_videos(me, &Default::default(), 0, 10)
            .await
            .unwrap()
            .len(),
        1
    );
}

#[tokio::test]
async fn live_progress_streams_state_changes_until_every_video_is_finished() {
    let app = App::start().await;
    let mut c = app.admin().await;
    let me = app.user_id("admin@example.org").await;
    let (ready, _) = app.ready_video(me, "Finished", "Hello.", "finished").await;
    let page = c
        .get_with(
            &format!("/videos/live?ids={}", ready.0),
            &[("accept", "text/event-stream")],
        )
        .await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(
        page.headers
            .get("content-type")
            .unwrap()
            .to_str()
            .unwrap()
            .starts_with("text/event-stream")
    );
    assert!(page.body.contains("event: video"), "{}", page.body);
    assert!(page.body.contains("\"progress\":100"), "{}", page.body);
    assert!(page.body.contains("event: done"));
    // The row partial answers scripts only.
    let row = c
        .get_with(&format!("/videos/{}/row", ready.0), &[("x-partial", "1")])
        .await;
    assert_eq!(row.status, StatusCode::OK);
    assert!(row.body.trim_start().starts_with("<li"));
    assert!(row.body.contains("Open draft"));
    assert_eq!(
        c.get(&format!("/videos/{}/row", ready.0)).await.status,
        StatusCode::SEE_OTHER
    );
}

#[tokio::test]
async fn channels_are_linked_shown_in_words_and_unlinked_after_confirmation() {
    let app = App::start().await;
    let mut c = app.admin().await;
    let empty = c.get("/channels").await;
    assert!(empty.body.contains("No channels yet — link one"));
    let token = empty.csrf();
    for bad in ["", "not a channel!!", "https://example.org/nothing", "@x"] {
        let page = c
            .post("/channels", &[("csrf", &token), ("channel", bad)])
            .await;
        assert_eq!(
            page.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{bad}: {}",
            page.body
        );
        assert!(page.body.contains("id=\"channel-error\""), "{bad}");
    }
    let me = app.user_id("admin@example.org").await;
    assert!(
        app.store.channels(me).await.unwrap().is_empty(),
        "nothing was linked"
    );
    let linked = c
        .post(
            "/channels",
            &[("csrf", &token), ("channel", "@vidpresstest")],
        )
        .await;
    assert_eq!(linked.status, StatusCode::SEE_OTHER, "{}", linked.body);
    let page = c.get("/channels").await;
    assert!(
        page.body.contains("Linked Vidpress Test Channel"),
        "{}",
        page.body
    );
    assert!(
        page.body
            .contains("subscribing: waiting for the hub to confirm")
    );
    assert!(page.body.contains("Last feed check: not yet"));
    let channels = app.store.channels(me).await.unwrap();
    let id = channels[0].channel.id;
    // A subscribed channel says until when; a retrying one says why.
    let sub = channels[0].subscription_id.unwrap();
    app.store
        .confirm_subscription(sub, 432_000, vidpress_store::now_ms())
        .await
        .unwrap();
    let page = c.get("/channels").await;
    assert!(page.body.contains("subscribed until "), "{}", page.body);
    app.store
        .subscription_retrying(sub, "the hub refused: HTTP 500")
        .await
        .unwrap();
    let page = c.get(&format!("/channels/{id}")).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains(support::CHANNEL));
    let confirm = c.get(&format!("/channels/{id}/unlink")).await;
    assert!(confirm.body.contains("Unlink Vidpress Test Channel?"));
    let token = confirm.csrf();
    let done = c
        .post(&format!("/channels/{id}/unlink"), &[("csrf", &token)])
        .await;
    assert_eq!(done.status, StatusCode::SEE_OTHER);
    assert!(app.store.channels(me).await.unwrap().is_empty());
    assert!(
        c.get("/channels")
            .await
            .body
            .contains("Its videos and drafts stay")
    );
}

#[tokio::test]
async fn the_editor_saves_revisions_detects_conflicts_and_restores() {
    let app = App::start().await;
    let mut c = app.admin().await;
    let me = app.user_id("admin@example.org").await;
    let (_, draft) = app
        .ready_video(me, "Baking bread", "Today we bake bread.", "baking-bread")
        .await;
    let editor = c.get(&format!("/drafts/{draft}")).await;
    assert_eq!(editor.status, StatusCode::OK);
    assert!(editor.body.contains("value=\"baking-bread\""));
    assert!(
        editor.body.contains("What the video covers."),
        "the description comes from the pipeline"
    );
    assert!(editor.body.contains("bread, baking"), "and the tags");
    assert!(editor.body.contains("22 / 160"), "the description's count");
    assert!(
        editor.body.contains("<h1>Baking bread</h1>"),
        "the preview is rendered"
    );
    assert!(
        editor.body.contains("1:23"),
        "the transcript has timestamps"
    );
    assert!(
        editor.body.contains("id=\"export\""),
        "the export button is there"
    );
    let token = editor.csrf();
    let form = |version: &'static str, title: &'static str, markdown: &'static str| {
        vec![
            ("csrf", token.clone()),
            ("version", version.to_owned()),
            ("title", title.to_owned()),
            ("slug", "baking-bread".to_owned()),
            ("description", "How to bake bread at home.".to_owned()),
            ("tags", "bread, baking, home".to_owned()),
            ("markdown", markdown.to_owned()),
            ("action", "save".to_owned()),
        ]
    };
    let path = format!("/drafts/{draft}");
    let saved = post_owned(
        &mut c,
        &path,
        &form("1", "Baking bread at home", "# Baking bread\n\nNew text.\n"),
    )
    .await;
    assert_eq!(saved.status, StatusCode::SEE_OTHER, "{}", saved.body);
    let page = c.get(&format!("/drafts/{draft}")).await;
    assert!(page.body.contains("Saved as revision 2."));
    assert!(page.body.contains("value=\"Baking bread at home\""));
    assert!(
        page.body
            .contains("<a href=\"/videos\">Videos</a> · Baking bread at home</p>"),
        "the editor's crumbs name it the same way"
    );
    let list = c.get("/videos").await;
    assert!(
        list.body.contains(">Baking bread at home</a>"),
        "the list names the video by its draft's title: {}",
        list.body
    );
    let stored = app.store.draft_for_user(me, draft).await.unwrap().unwrap();
    assert_eq!(stored.version, 2);
    assert_eq!(stored.tags, ["bread", "baking", "home"]);
    assert!(stored.html.contains("<p>New text.</p>"));

    // A second tab still at version 1: a conflict, nothing saved.
    let conflict = post_owned(&mut c, &path, &form("1", "Other tab", "# Other tab\n")).await;
    assert_eq!(conflict.status, StatusCode::CONFLICT);
    assert!(
        conflict.body.contains("saved somewhere else"),
        "{}",
        conflict.body
    );
    assert!(
        conflict.body.contains("# Other tab"),
        "the text typed is kept"
    );
    assert_eq!(
        app.store
            .draft_for_user(me, draft)
            .await
            .unwrap()
            .unwrap()
            .title,
        "Baking bread at home"
    );

    // History with author and a diff; restoring revision 1 makes revision 3.
    let history = c.get(&format!("/drafts/{draft}/revisions")).await;
    assert!(history.body.contains("Revision 2") && history.body.contains("Revision 1"));
    assert!(history.body.contains("admin@example.org"));
    assert!(
        history.body.contains("vidpress"),
        "the pipeline wrote revision 1"
    );
    let diff = c.get(&format!("/drafts/{draft}/revisions/2")).await;
    assert!(
        diff.body.contains("class=\"add\">+ New text."),
        "{}",
        diff.body
    );
    assert!(diff.body.contains("class=\"del\">- Today we bake bread."));
    let old = c.get(&format!("/drafts/{draft}/revisions/1")).await;
    let token = old.csrf();
    let restored = c
        .post(
            &format!("/drafts/{draft}/revisions/1/restore"),
            &[("csrf", &token), ("version", "2")],
        )
        .await;
    assert_eq!(restored.status, StatusCode::SEE_OTHER);
    let stored = app.store.draft_for_user(me, draft).await.unwrap().unwrap();
    assert_eq!(stored.title, "Baking bread");
    assert_eq!(stored.markdown, "# Baking bread\n\nToday we bake bread.\n");
    assert_eq!(stored.tags, ["bread", "baking"]);
    assert_eq!(stored.version, 3);
    let history = c.get(&format!("/drafts/{draft}/revisions")).await;
    assert!(history.body.contains("restored revision 1"));

    // The no-script preview renders without saving.
    let mut f = form("3", "Preview only", "**bold**");
    f.last_mut().unwrap().1 = "preview".into();
    let preview = post_owned(&mut c, &path, &f).await;
    assert_eq!(preview.status, StatusCode::OK);
    assert!(preview.body.contains("<strong>bold</strong>"));
    assert_eq!(
        app.store
            .draft_for_user(me, draft)
            .await
            .unwrap()
            .unwrap()
            .version,
        3
    );
}

#[tokio::test]
async fn bad_editor_input_is_answered_beside_the_field_and_nothing_is_saved() {
    let app = App::start().await;
    let mut c = app.admin().await;
    let me = app.user_id("admin@example.org").await;
    let (_, draft) = app.ready_video(me, "First", "Words.", "first-post").await;
    app.ready_video(me, "Second", "Words.", "taken-slug").await;
    let token = c.csrf(&format!("/drafts/{draft}")).await;
    let long_title = "t".repeat(201);
    let long_description = "d".repeat(161);
    let cases: [(&str, &str, &str, &str, &str); 5] = [
        (
            "title",
            long_title.as_str(),
            "first-post",
            "ok",
            "title-error",
        ),
        ("empty slug", "Title", "", "ok", "slug-error"),
        ("bad slug", "Title", "Not A Slug!", "ok", "slug-error"),
        ("duplicate slug", "Title", "taken-slug", "ok", "slug-error"),
        (
            "description",
            "Title",
            "first-post",
            long_description.as_str(),
            "description-error",
        ),
    ];
    for (what, title, slug, description, error) in cases {
        let page = c
            .post(
                &format!("/drafts/{draft}"),
                &[
                    ("csrf", &token),
                    ("version", "1"),
                    ("title", title),
                    ("slug", slug),
                    ("description", description),
                    ("tags", "a"),
                    ("markdown", "Changed text"),
                ],
            )
            .await;
        assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY, "{what}");
        assert!(
            page.body.contains(&format!("id=\"{error}\"")),
            "{what}: {}",
            page.body
        );
        assert!(
            page.body.contains("Changed text"),
            "{what}: the typed text is kept"
        );
        let stored = app.store.draft_for_user(me, draft).await.unwrap().unwrap();
        assert_eq!(
            (stored.version, stored.title.as_str()),
            (1, "First"),
            "{what}: nothing saved"
        );
    }
    let revisions = app.store.revisions(me, draft).await.unwrap().unwrap();
    assert_eq!(revisions.len(), 1);
}

#[tokio::test]
async fn transcript_and_draft_text_stay_inert_everywhere() {
    let app = App::start().await;
    let mut c = app.admin().await;
    let me = app.user_id("admin@example.org").await;
    let evil = r#"<script>alert(1)</script> "><img src=x onerror=alert(2)>"#;
    let (video, draft) = app.ready_video(me, evil, evil, "evil").await;
    for path in [
        format!("/drafts/{draft}"),
        "/videos".to_owned(),
        format!("/drafts/{draft}/revisions"),
        format!("/drafts/{draft}/revisions/1"),
    ] {
        let page = c.get(&path).await;
        assert_eq!(page.status, StatusCode::OK, "{path}");
        assert_inert(&page.body, &path);
        assert!(
            page.body.contains("&lt;script&gt;") || page.body.contains("&#60;script&#62;"),
            "{path}: escaped, not dropped"
        );
    }
    let token = c.csrf(&format!("/drafts/{draft}")).await;
    let preview = c
        .post_with(
            &format!("/drafts/{draft}/preview"),
            &[("markdown", evil)],
            &[("x-partial", "1"), ("x-csrf-token", &token)],
        )
        .await;
    assert_eq!(preview.status, StatusCode::OK);
    assert!(!preview.body.contains("<script"), "{}", preview.body);
    assert_inert(&preview.body, "the preview");
    let row = c
        .get_with(&format!("/videos/{}/row", video.0), &[("x-partial", "1")])
        .await;
    assert_inert(&row.body, "the row");
    assert!(
        row.body.contains("&lt;script&gt;") || row.body.contains("&#60;script&#62;"),
        "{}",
        row.body
    );
}

#[tokio::test]
async fn settings_change_the_time_zone_and_manage_api_tokens() {
    let app = App::start().await;
    let mut c = app.admin().await;
    let me = app.user_id("admin@example.org").await;
    let page = c.get("/settings").await;
    assert!(
        page.body.contains("<option selected>UTC</option>"),
        "UTC by default"
    );
    assert!(page.body.contains("No tokens yet."));
    let token = page.csrf();
    let bad = c
        .post(
            "/settings/time-zone",
            &[("csrf", &token), ("time_zone", "Mars/Olympus")],
        )
        .await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(bad.body.contains("id=\"tz-error\""));
    let ok = c
        .post(
            "/settings/time-zone",
            &[("csrf", &token), ("time_zone", "Asia/Tokyo")],
        )
        .await;
    assert_eq!(ok.status, StatusCode::SEE_OTHER);
    assert_eq!(
        app.store.user(me).await.unwrap().unwrap().time_zone,
        "Asia/Tokyo"
    );
    let (video, _) = app
        .store
        .create_video(
            me,
            "Timed",
            MediaSource::Url("https://example.org/t.mp4"),
            3,
        )
        .await
        .unwrap();
    let created = app.store.video(video).await.unwrap().created_at;
    let expected = jiff::Timestamp::from_millisecond(created)
        .unwrap()
        .to_zoned(jiff::tz::TimeZone::get("Asia/Tokyo").unwrap())
        .strftime("%H:%M JST")
        .to_string();
    assert!(
        c.get("/videos").await.body.contains(&expected),
        "times are shown in the user's zone"
    );

    let empty_name = c
        .post("/settings/tokens", &[("csrf", &token), ("name", " ")])
        .await;
    assert_eq!(empty_name.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(empty_name.body.contains("id=\"token-error\""));
    let made = c
        .post(
            "/settings/tokens",
            &[("csrf", &token), ("name", "publishing script")],
        )
        .await;
    assert_eq!(made.status, StatusCode::OK);
    let secret = made
        .body
        .split("id=\"new-token\">")
        .nth(1)
        .unwrap()
        .split('<')
        .next()
        .unwrap()
        .to_owned();
    assert!(secret.starts_with("vpt_"));
    assert!(
        !c.get("/settings").await.body.contains(&secret),
        "shown once only"
    );
    let (status, body) = api_get(&app.base, "/api/videos", &secret).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(body.contains("Timed"));
    let id = app.store.api_tokens(me).await.unwrap()[0].id;
    let revoked = c
        .post(
            &format!("/settings/tokens/{id}/revoke"),
            &[("csrf", &token)],
        )
        .await;
    assert_eq!(revoked.status, StatusCode::SEE_OTHER);
    let (status, _) = api_get(&app.base, "/api/videos", &secret).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn sign_up_is_closed_unless_the_configuration_opens_it() {
    let app = App::start().await;
    app.admin().await;
    let mut c = app.client();
    assert_eq!(c.get("/sign-up").await.status, StatusCode::NOT_FOUND);
    assert!(!c.get("/sign-in").await.body.contains("/sign-up"));

    let open = App::start_with(vidpress_store::testing::TestDb::sqlite().await, true).await;
    open.admin().await;
    let mut c = open.client();
    let token = c.csrf("/sign-up").await;
    let taken = c
        .post(
            "/sign-up",
            &[
                ("csrf", &token),
                ("email", "admin@example.org"),
                ("password", PASSWORD),
                ("confirm", PASSWORD),
            ],
        )
        .await;
    assert_eq!(taken.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(taken.body.contains("id=\"email-error\""));
    let made = c
        .post(
            "/sign-up",
            &[
                ("csrf", &token),
                ("email", "writer@example.org"),
                ("password", PASSWORD),
                ("confirm", PASSWORD),
            ],
        )
        .await;
    assert_eq!(made.status, StatusCode::SEE_OTHER, "{}", made.body);
    let user = open
        .store
        .user_by_email("writer@example.org")
        .await
        .unwrap()
        .unwrap();
    assert!(!user.is_admin);
    assert_eq!(c.get("/videos").await.status, StatusCode::OK);
}

/// Every route that takes an id answers 404 to another user, and changes nothing.
#[tokio::test]
async fn another_users_ids_answer_404_everywhere() {
    let app = App::start().await;
    let mut alice = app.admin().await;
    let alice_id = app.user_id("admin@example.org").await;
    let (video, draft) = app
        .ready_video(alice_id, "Alice's video", "Private words.", "alice")
        .await;
    let token = alice.csrf("/channels").await;
    alice
        .post(
            "/channels",
            &[("csrf", &token), ("channel", "@vidpresstest")],
        )
        .await;
    let channel = app.store.channels(alice_id).await.unwrap()[0].channel.id;
    alice
        .post("/settings/tokens", &[("csrf", &token), ("name", "alice's")])
        .await;
    let alice_token = app.store.api_tokens(alice_id).await.unwrap()[0].id;

    let mut bob = app.user("bob@example.org").await;
    let csrf = bob.csrf("/videos").await;
    let v = video.0;
    let gets = [
        format!("/drafts/{draft}"),
        format!("/drafts/{draft}/revisions"),
        format!("/drafts/{draft}/revisions/1"),
        format!("/channels/{channel}"),
        format!("/channels/{channel}/unlink"),
    ];
    for path in &gets {
        let page = bob.get(path).await;
        assert_eq!(page.status, StatusCode::NOT_FOUND, "GET {path}");
        assert!(
            !page.body.contains("Alice") && !page.body.contains("Private words"),
            "GET {path}"
        );
    }
    let row = bob
        .get_with(&format!("/videos/{v}/row"), &[("x-partial", "1")])
        .await;
    assert_eq!(row.status, StatusCode::NOT_FOUND);
    let posts = [
        (format!("/videos/{v}/retry"), vec![]),
        (format!("/videos/{v}/cancel"), vec![]),
        (format!("/channels/{channel}/unlink"), vec![]),
        (
            format!("/drafts/{draft}"),
            vec![
                ("version", "1"),
                ("title", "Bob was here"),
                ("slug", "bob"),
                ("markdown", "x"),
            ],
        ),
        (
            format!("/drafts/{draft}/revisions/1/restore"),
            vec![("version", "1")],
        ),
        (format!("/settings/tokens/{alice_token}/revoke"), vec![]),
    ];
    for (path, fields) in &posts {
        let mut form = vec![("csrf", csrf.as_str())];
        form.extend(fields.iter().copied());
        let page = bob.post(path, &form).await;
        assert_eq!(page.status, StatusCode::NOT_FOUND, "POST {path}");
    }
    let preview = bob
        .post_with(
            &format!("/drafts/{draft}/preview"),
            &[("markdown", "x")],
            &[("x-partial", "1"), ("x-csrf-token", &csrf)],
        )
        .await;
    assert_eq!(preview.status, StatusCode::NOT_FOUND);
    // The live stream tells nothing of Alice's video.
    let live = bob.get(&format!("/videos/live?ids={v}")).await;
    assert!(!live.body.contains("event: video"), "{}", live.body);
    // Bob's lists do not show Alice's things.
    assert!(!bob.get("/videos").await.body.contains("Alice's video"));
    assert!(
        !bob.get("/channels")
            .await
            .body
            .contains("Vidpress Test Channel")
    );
    assert!(!bob.get("/settings").await.body.contains("alice's"));
    let filtered = bob.get(&format!("/videos?channel={channel}")).await;
    assert!(!filtered.body.contains("Alice's video"));
    // Nothing changed.
    let stored = app
        .store
        .draft_for_user(alice_id, draft)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stored.version, 1);
    assert_eq!(app.store.channels(alice_id).await.unwrap().len(), 1);
    assert_eq!(app.store.api_tokens(alice_id).await.unwrap().len(), 1);
    assert_eq!(
        app.store.video(video).await.unwrap().state,
        VideoState::Ready
    );

    // The JSON API: Bob's own token sees only Bob's videos, and 404 for Alice's.
    let bob_id = app.user_id("bob@example.org").await;
    let bob_secret = "vpt_bobs_token";
    app.store
        .create_api_token(bob_id, "bob", &sha256_hex(bob_secret), "vpt_bobs_tok")
        .await
        .unwrap();
    let (status, _) = api_get(&app.base, &format!("/api/videos/{v}"), bob_secret).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, body) = api_get(&app.base, "/api/videos", bob_secret).await;
    assert_eq!(status, StatusCode::OK);
    assert!(!body.contains("Alice"), "{body}");
    let (status, body) = api_get(
        &app.base,
        &format!("/api/videos?channel={channel}"),
        bob_secret,
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert!(!body.contains("Alice"), "{body}");
    let response = reqwest::Client::new()
        .post(format!("{}/api/videos/{v}/cancel", app.base))
        .bearer_auth(bob_secret)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    // And unknown ids are 404 for their owner too.
    assert_eq!(
        alice.get("/drafts/999999").await.status,
        StatusCode::NOT_FOUND
    );
    let _ = csrf_in("");
}

/// No script but the dashboard's own, and no tag with an event handler: text from the
/// transcript or the draft is escaped (or, in rendered Markdown, sanitised).
fn assert_inert(body: &str, what: &str) {
    let scripts: Vec<&str> = body
        .match_indices("<script")
        .map(|(i, _)| &body[i..])
        .collect();
    for script in &scripts {
        assert!(
            script.starts_with("<script src=\"/assets/app."),
            "{what}: a foreign script in {body}"
        );
    }
    let mut rest = body;
    while let Some(start) = rest.find('<') {
        let tag_end = rest[start..].find('>').map_or(rest.len(), |e| start + e);
        let tag = &rest[start..tag_end];
        // Attribute values are quoted (and escaped); what is outside quotes is markup.
        let markup: String = tag.split('"').step_by(2).collect();
        assert!(
            !markup.to_lowercase().contains("onerror"),
            "{what}: an event handler in `{tag}`"
        );
        rest = &rest[tag_end.min(rest.len() - 1) + 1..];
    }
}

async fn post_owned(c: &mut Client, path: &str, form: &[(&str, String)]) -> support::Page {
    let pairs: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
    c.post(path, &pairs).await
}

fn sha256_hex(text: &str) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(text.as_bytes()))
}
