//! The server's limits, against the real app on port 0: tokens checked before bodies are read,
//! upload and field limits, and clients that send their headers too slowly.

mod support;

use std::time::Duration;

use reqwest::StatusCode;
use support::{API_TOKEN, App};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// Every API route, with a body that would be refused for its own sake (bad JSON, bad
/// multipart), so a 401 shows the token was checked first.
fn api_requests(base: &str) -> Vec<reqwest::RequestBuilder> {
    let client = reqwest::Client::new();
    vec![
        client.get(format!("{base}/api/videos?state=bogus")),
        client
            .post(format!("{base}/api/videos"))
            .header("content-type", "application/json")
            .body("{not json"),
        client
            .post(format!("{base}/api/uploads"))
            .header("content-type", "multipart/form-data; boundary=x")
            .body("garbage"),
        client.get(format!("{base}/api/videos/not-a-number")),
        client.get(format!("{base}/api/videos/1")),
        client.post(format!("{base}/api/videos/1/cancel")),
    ]
}

#[tokio::test]
async fn every_api_route_answers_401_before_reading_the_request() {
    let app = App::start().await;
    let schemes: [(&str, Option<String>); 4] = [
        ("no token", None),
        ("a wrong token", Some("Bearer not-the-token".into())),
        ("a Basic scheme", Some(format!("Basic {API_TOKEN}"))),
        ("the token without a scheme", Some(API_TOKEN.into())),
    ];
    for (what, header) in schemes {
        for request in api_requests(&app.base) {
            let request = match &header {
                Some(value) => request.header("authorization", value),
                None => request,
            };
            let built = request.build().unwrap();
            let route = format!("{} {}", built.method(), built.url().path());
            let response = reqwest::Client::new().execute(built).await.unwrap();
            assert_eq!(
                response.status(),
                StatusCode::UNAUTHORIZED,
                "{route} with {what}"
            );
        }
    }
    // The right token reaches the handlers (which then judge the body).
    let response = reqwest::Client::new()
        .post(format!("{}/api/videos", app.base))
        .bearer_auth(API_TOKEN)
        .header("content-type", "application/json")
        .body("{not json")
        .send()
        .await
        .unwrap();
    assert!(response.status().is_client_error());
    assert_ne!(response.status(), StatusCode::UNAUTHORIZED);
}

fn upload_form(name: &str, bytes: Vec<u8>) -> reqwest::multipart::Form {
    reqwest::multipart::Form::new().part(
        "file",
        reqwest::multipart::Part::bytes(bytes).file_name(name.to_owned()),
    )
}

#[tokio::test]
async fn an_upload_over_the_limit_is_413_and_leaves_nothing_behind() {
    let app = App::start().await;
    // The test app's limit is 8 MiB.
    let response = reqwest::Client::new()
        .post(format!("{}/api/uploads", app.base))
        .bearer_auth(API_TOKEN)
        .multipart(upload_form("big.mp4", vec![7u8; 9 << 20]))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::PAYLOAD_TOO_LARGE);
    let left: Vec<_> = std::fs::read_dir(app.uploads.path())
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .collect();
    assert!(left.is_empty(), "left in uploads/: {left:?}");
}

#[tokio::test]
async fn a_long_file_name_is_shortened_and_a_long_title_refused() {
    let app = App::start().await;
    let name = format!("{}.mp4", "n".repeat(4000));
    let response = reqwest::Client::new()
        .post(format!("{}/api/uploads", app.base))
        .bearer_auth(API_TOKEN)
        .multipart(upload_form(&name, b"some bytes".to_vec()))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::ACCEPTED);
    let stored: Vec<String> = std::fs::read_dir(app.uploads.path())
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(stored.len(), 1, "{stored:?}");
    assert!(
        stored[0].len() < 200 && stored[0].ends_with(".mp4"),
        "{stored:?}"
    );

    let form = reqwest::multipart::Form::new()
        .text("title", "t".repeat(100_000))
        .part(
            "file",
            reqwest::multipart::Part::bytes(b"x".to_vec()).file_name("a.mp4"),
        );
    let response = reqwest::Client::new()
        .post(format!("{}/api/uploads", app.base))
        .bearer_auth(API_TOKEN)
        .multipart(form)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    assert!(response.text().await.unwrap().contains("title"));
    assert_eq!(std::fs::read_dir(app.uploads.path()).unwrap().count(), 1);
}

#[tokio::test]
async fn a_notification_for_an_unknown_callback_is_refused_before_its_body_is_read() {
    let app = App::start().await;
    let response = reqwest::Client::new()
        .post(format!(
            "{}/websub/{}",
            app.base,
            "a".repeat(64) // a well-formed token that no subscription has
        ))
        .header("content-type", "application/atom+xml")
        .body(vec![b'x'; vidpress_web::MAX_NOTIFICATION_BYTES + 1024])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn a_client_sending_headers_one_byte_a_second_is_cut_off() {
    // The test app allows 2 s for headers.
    let app = App::start().await;
    let address = app.base.trim_start_matches("http://").to_owned();
    let stream = tokio::net::TcpStream::connect(&address).await.unwrap();
    let (mut reader, mut writer) = stream.into_split();
    let request = format!("GET /healthz HTTP/1.1\r\nHost: {address}\r\nX-Padding: slow\r\n\r\n");
    let closed = async {
        let mut buffer = Vec::new();
        // Ends when the server closes the connection (EOF or reset).
        let _ = reader.read_to_end(&mut buffer).await;
        buffer
    };
    let dribble = async {
        for byte in request.as_bytes() {
            if writer.write_all(&[*byte]).await.is_err() {
                break;
            }
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
        // Every byte went out without the server hanging up.
        std::future::pending::<()>().await;
    };
    let answer = tokio::time::timeout(Duration::from_secs(60), async {
        tokio::select! {
            buffer = closed => buffer,
            () = dribble => unreachable!(),
        }
    })
    .await
    .expect("the server kept a slow client's connection open past the header timeout");
    let answer = String::from_utf8_lossy(&answer);
    assert!(
        !answer.contains("200 OK"),
        "the slow request was served: {answer}"
    );
}

async fn submit(app: &App, url: &str) -> (StatusCode, String) {
    let response = reqwest::Client::new()
        .post(format!("{}/api/videos", app.base))
        .bearer_auth(API_TOKEN)
        .json(&serde_json::json!({ "url": url }))
        .send()
        .await
        .unwrap();
    (response.status(), response.text().await.unwrap())
}

#[tokio::test]
async fn video_urls_to_loopback_private_and_metadata_addresses_are_refused() {
    let app = App::start_public_only().await;
    let refused = [
        ("http://127.0.0.1:8080/v.mp4", "loopback"),
        ("http://localhost/v.mp4", "loopback"),
        ("http://[::1]/v.mp4", "loopback"),
        ("http://10.1.2.3/v.mp4", "private"),
        ("http://192.168.0.10/v.mp4", "private"),
        ("http://[fd00::1]/v.mp4", "private"),
        ("http://169.254.169.254/latest/meta-data/", "metadata"),
        ("http://[::ffff:169.254.169.254]/", "metadata"),
        ("http://0.0.0.0/v.mp4", ""),
    ];
    for (url, class) in refused {
        let (status, body) = submit(&app, url).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{url}: {body}");
        assert!(
            body.contains("refused") && body.contains(class),
            "{url}: {body}"
        );
    }
    let listed = app
        .store
        .list_videos(
            app.user_id(support::OWNER).await,
            &Default::default(),
            0,
            10,
        )
        .await
        .unwrap();
    assert!(listed.is_empty(), "{listed:?}");

    // An administrator may allow private addresses; metadata stays refused.
    let allowing = App::start().await;
    let (status, body) = submit(&allowing, "http://127.0.0.1:9/v.mp4").await;
    assert_eq!(status, StatusCode::ACCEPTED, "{body}");
    let (status, body) = submit(&allowing, "http://169.254.169.254/latest/").await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
}

#[tokio::test]
async fn cancelling_a_queued_upload_removes_its_file() {
    let app = App::start().await;
    let response = reqwest::Client::new()
        .post(format!("{}/api/uploads", app.base))
        .bearer_auth(API_TOKEN)
        .multipart(upload_form("talk.mp4", b"queued, never run".to_vec()))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::ACCEPTED);
    let accepted: serde_json::Value = response.json().await.unwrap();
    let video = accepted["video_id"].as_i64().unwrap();
    assert_eq!(std::fs::read_dir(app.uploads.path()).unwrap().count(), 1);
    let response = reqwest::Client::new()
        .post(format!("{}/api/videos/{video}/cancel", app.base))
        .bearer_auth(API_TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::ACCEPTED);
    let left: Vec<_> = std::fs::read_dir(app.uploads.path())
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .collect();
    assert!(left.is_empty(), "left in uploads/: {left:?}");
    let (_, body) = support::api_get(&app.base, &format!("/api/videos/{video}"), API_TOKEN).await;
    assert!(body.contains("\"cancelled\""), "{body}");
}

/// Sends `head` at once, then the body one byte a second; answers what the server sent back
/// once it holds `until` or the server closed the connection (60 s at most).
async fn send_body_slowly(base: &str, head: &str, body: &[u8], until: &str) -> String {
    let address = base.trim_start_matches("http://").to_owned();
    let stream = tokio::net::TcpStream::connect(&address).await.unwrap();
    let (mut reader, mut writer) = stream.into_split();
    writer.write_all(head.as_bytes()).await.unwrap();
    let answered = async {
        let mut buffer = Vec::new();
        let mut chunk = [0u8; 4096];
        while let Ok(n @ 1..) = reader.read(&mut chunk).await {
            buffer.extend_from_slice(&chunk[..n]);
            if String::from_utf8_lossy(&buffer).contains(until) {
                break;
            }
        }
        buffer
    };
    let dribble = async {
        for byte in body {
            if writer.write_all(&[*byte]).await.is_err() {
                break;
            }
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
        std::future::pending::<()>().await;
    };
    let answer = tokio::time::timeout(Duration::from_secs(60), async {
        tokio::select! {
            buffer = answered => buffer,
            () = dribble => unreachable!(),
        }
    })
    .await
    .expect("the server waited on a slow request body past the request timeout");
    String::from_utf8_lossy(&answer).into_owned()
}

#[tokio::test]
async fn a_request_slower_than_the_request_timeout_is_answered_503() {
    let app = App::start_with_limits(&vidpress_web::WebConfig {
        request_timeout: Duration::from_secs(2),
        ..vidpress_web::WebConfig::new("127.0.0.1:0".parse().unwrap())
    })
    .await;
    let body = br#"{"url": "http://127.0.0.1:9/a-video-that-takes-too-long-to-submit.mp4"}"#;
    let address = app.base.trim_start_matches("http://");
    let head = format!(
        "POST /api/videos HTTP/1.1\r\nHost: {address}\r\nAuthorization: Bearer {API_TOKEN}\r\n\
         Content-Type: application/json\r\nContent-Length: {}\r\n\r\n",
        body.len()
    );
    let answer = send_body_slowly(&app.base, &head, body, "took too long").await;
    assert!(
        answer.starts_with("HTTP/1.1 503") && answer.contains("took too long"),
        "{answer}"
    );
    // Nothing was submitted.
    let (status, listed) = support::api_get(&app.base, "/api/videos", API_TOKEN).await;
    assert_eq!(status, StatusCode::OK);
    assert!(listed.contains("\"videos\":[]"), "{listed}");
}

#[tokio::test]
async fn past_the_connection_limit_a_client_waits_until_a_connection_closes() {
    let header_timeout = Duration::from_secs(2);
    let app = App::start_with_limits(&vidpress_web::WebConfig {
        header_timeout,
        max_connections: 2,
        ..vidpress_web::WebConfig::new("127.0.0.1:0".parse().unwrap())
    })
    .await;
    let address = app.base.trim_start_matches("http://").to_owned();
    // Two connections that send nothing take both slots until the header timeout closes them.
    let opened = std::time::Instant::now();
    let mut idle = Vec::new();
    for _ in 0..2 {
        idle.push(tokio::net::TcpStream::connect(&address).await.unwrap());
    }
    let mut third = tokio::net::TcpStream::connect(&address).await.unwrap();
    third
        .write_all(
            format!("GET /healthz HTTP/1.1\r\nHost: {address}\r\nConnection: close\r\n\r\n")
                .as_bytes(),
        )
        .await
        .unwrap();
    let mut answer = Vec::new();
    tokio::time::timeout(Duration::from_secs(60), third.read_to_end(&mut answer))
        .await
        .expect("the third client was never served")
        .unwrap();
    let waited = opened.elapsed();
    let answer = String::from_utf8_lossy(&answer);
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    // It could only be served once an idle connection was closed, which the server does no
    // sooner than the header timeout (a lower bound: a slow machine only makes it later).
    assert!(
        waited >= header_timeout - Duration::from_millis(50),
        "served after {waited:?}, while both slots were taken"
    );
    // Both idle connections were closed by the server.
    for mut stream in idle {
        let mut rest = Vec::new();
        let _ = stream.read_to_end(&mut rest).await;
    }
}

#[tokio::test]
async fn a_video_deleted_on_youtube_shows_as_deleted() {
    let app = App::start().await;
    let user = app.store.operator_user("owner@localhost").await.unwrap().id;
    let (video, _) = app
        .store
        .create_video(
            user,
            "Gone",
            vidpress_store::MediaSource::Url("https://www.youtube.com/watch?v=dQw4w9WgXcQ"),
            3,
        )
        .await
        .unwrap();
    // The worker's skip of a deleted video fails it with a message; the API shows why.
    app.store
        .set_video_error(
            video,
            vidpress_store::VideoState::Failed,
            "the video was deleted on YouTube before it was processed",
        )
        .await
        .unwrap();
    sqlx::query("UPDATE videos SET deleted_at = 1 WHERE id = $1")
        .bind(video.0)
        .execute(app.store.pool())
        .await
        .unwrap();
    let (status, body) =
        support::api_get(&app.base, &format!("/api/videos/{}", video.0), API_TOKEN).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let shown: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(shown["state"], "deleted", "{shown:#}");
    let (_, body) = support::api_get(&app.base, "/api/videos", API_TOKEN).await;
    let listed: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(listed["videos"][0]["state"], "deleted", "{listed:#}");
}
