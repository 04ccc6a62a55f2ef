//! The dashboard as a browser without scripts sees it: the real router on port 0 over a fresh
//! database, and a client that keeps the session cookie, follows no redirects, and reads the
//! CSRF token out of each page.

#![allow(dead_code)] // Each test file uses a different part of this module.

use std::sync::Arc;

use axum::Router;
use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::get;
use reqwest::StatusCode;
use vidpress_store::testing::TestDb;
use vidpress_store::videos::{NewDraft, StoredTranscript, save_draft, save_transcript};
use vidpress_store::{MediaSource, Store, UserId, VideoKey};
use vidpress_web::{ApiConfig, AppState, Application, Dashboard, WebConfig};
use vidpress_websub::YouTube;

pub const PASSWORD: &str = "correct horse battery";
pub const OWNER: &str = "owner@localhost";
pub const API_TOKEN: &str = "bootstrap-token-123";
pub const CHANNEL: &str = "UCuAXFkgsw1L7xaCfnd5JJOw";

/// The exporters the test server uses: a fixed key, and private addresses allowed (the test
/// sites run on 127.0.0.1).
pub fn exporters() -> vidpress_publish::Exporters {
    vidpress_publish::Exporters::new(
        vidpress_publish::SecretKey::parse(&"3c".repeat(32)).unwrap(),
        vidpress_publish::HttpConfig {
            policy: vidpress_core::net::AddressPolicy::ALLOW_PRIVATE,
            ..vidpress_publish::HttpConfig::default()
        },
    )
    .unwrap()
}

/// A running dashboard over its own database.
pub struct App {
    pub base: String,
    pub store: Store,
    pub db: TestDb,
    pub uploads: tempfile::TempDir,
    /// The separate metrics listener's base URL, when one was configured.
    pub metrics_base: Option<String>,
}

/// A stand-in for YouTube's channel pages (what linking reads).
async fn youtube_stand_in() -> YouTube {
    async fn channel_page() -> impl IntoResponse {
        let html = format!(
            "<!DOCTYPE html><html><head><title>Vidpress Test Channel - YouTube</title>\
             <meta property=\"og:title\" content=\"Vidpress Test Channel\">\
             <link rel=\"canonical\" href=\"https://www.youtube.com/channel/{CHANNEL}\"></head>\
             <body></body></html>"
        );
        ([(header::CONTENT_TYPE, "text/html; charset=utf-8")], html)
    }
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = url::Url::parse(&format!("http://{}/", listener.local_addr().unwrap())).unwrap();
    let router = Router::new().route("/@vidpresstest", get(channel_page));
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    YouTube::new(reqwest::Client::new(), base)
}

impl App {
    pub async fn start() -> App {
        Self::start_with(TestDb::sqlite().await, false).await
    }

    pub async fn start_with(db: TestDb, allow_signup: bool) -> App {
        Self::start_full(
            db,
            allow_signup,
            vidpress_core::net::AddressPolicy::ALLOW_PRIVATE,
        )
        .await
    }

    /// An app whose video URLs must reach public addresses only (the product's default).
    pub async fn start_public_only() -> App {
        Self::start_full(
            TestDb::sqlite().await,
            false,
            vidpress_core::net::AddressPolicy::PUBLIC_ONLY,
        )
        .await
    }

    pub async fn start_full(
        db: TestDb,
        allow_signup: bool,
        addresses: vidpress_core::net::AddressPolicy,
    ) -> App {
        let web = WebConfig {
            // Short, so the slow-client test is quick; no other test sends slowly.
            header_timeout: std::time::Duration::from_secs(2),
            ..WebConfig::new("127.0.0.1:0".parse().unwrap())
        };
        Self::start_configured(db, allow_signup, addresses, &web).await
    }

    /// An app serving `/metrics` as `metrics` says.
    pub async fn start_with_metrics(db: TestDb, metrics: vidpress_web::MetricsConfig) -> App {
        let web = WebConfig {
            metrics: Some(metrics),
            ..WebConfig::new("127.0.0.1:0".parse().unwrap())
        };
        Self::start_configured(
            db,
            false,
            vidpress_core::net::AddressPolicy::ALLOW_PRIVATE,
            &web,
        )
        .await
    }

    /// An app with the server limits of `web` (its listen address is ignored: port 0).
    pub async fn start_with_limits(web: &WebConfig) -> App {
        let web = WebConfig {
            listen: "127.0.0.1:0".parse().unwrap(),
            ..web.clone()
        };
        Self::start_configured(
            TestDb::sqlite().await,
            false,
            vidpress_core::net::AddressPolicy::ALLOW_PRIVATE,
            &web,
        )
        .await
    }

    async fn start_configured(
        db: TestDb,
        allow_signup: bool,
        addresses: vidpress_core::net::AddressPolicy,
        web: &WebConfig,
    ) -> App {
        let store = db.store.clone();
        let owner = store.operator_user(OWNER).await.unwrap();
        let uploads = tempfile::tempdir().unwrap();
        let state = AppState {
            store: store.clone(),
            api: ApiConfig {
                token: Some(API_TOKEN.into()),
                user: owner.id,
                uploads_dir: uploads.path().to_path_buf(),
                max_upload_bytes: 8 << 20,
                max_attempts: 3,
                addresses,
            },
            dashboard: Dashboard {
                owner_email: OWNER.into(),
                allow_signup,
                youtube: Some(youtube_stand_in().await),
                exporters: Some(exporters()),
                ..Dashboard::default()
            },
            workers: None,
        };
        let app = Application::build(web, state).await.unwrap();
        let base = format!("http://{}", app.local_addr().unwrap());
        let metrics_base = app.metrics_addr().map(|a| format!("http://{a}"));
        tokio::spawn(app.run_until_stopped(std::future::pending()));
        App {
            base,
            store,
            db,
            uploads,
            metrics_base,
        }
    }

    /// A client without a session.
    pub fn client(&self) -> Client {
        Client::new(&self.base)
    }

    /// Creates the first account (the admin) through the setup page and returns its client.
    pub async fn admin(&self) -> Client {
        let mut c = self.client();
        let token = c.csrf("/setup").await;
        let r = c
            .post(
                "/setup",
                &[
                    ("csrf", &token),
                    ("email", "admin@example.org"),
                    ("password", PASSWORD),
                    ("confirm", PASSWORD),
                ],
            )
            .await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
        c
    }

    /// Creates a further account and signs it in.
    pub async fn user(&self, email: &str) -> Client {
        let hash = vidpress_web::hash_password(PASSWORD).unwrap();
        self.store.create_user(email, &hash).await.unwrap().unwrap();
        let mut c = self.client();
        c.sign_in(email, PASSWORD).await;
        c
    }

    pub async fn user_id(&self, email: &str) -> UserId {
        self.store.user_by_email(email).await.unwrap().unwrap().id
    }

    /// A video with a transcript and a draft (as the pipeline leaves it) for `user`.
    pub async fn ready_video(
        &self,
        user: UserId,
        title: &str,
        transcript_text: &str,
        slug: &str,
    ) -> (VideoKey, i64) {
        let (video, _) = self
            .store
            .create_video(
                user,
                title,
                MediaSource::Url("https://example.org/v.mp4"),
                3,
            )
            .await
            .unwrap();
        let mut tx = self.store.begin().await.unwrap();
        let body = serde_json::json!({
            "language": "en",
            "segments": [
                {"start_ms": 0, "end_ms": 4000, "text": transcript_text},
                {"start_ms": 83_000, "end_ms": 90_000, "text": "The second segment."}
            ]
        });
        save_transcript(
            &mut tx,
            video,
            &StoredTranscript {
                language: Some("en".into()),
                model: "base".into(),
                body: body.to_string(),
            },
        )
        .await
        .unwrap();
        let draft_body = serde_json::json!({
            "title": title, "slug": slug, "description": "What the video covers.",
            "tags": ["bread", "baking"]
        });
        let markdown = format!("# {title}\n\n{transcript_text}\n");
        save_draft(
            &mut tx,
            video,
            user,
            &NewDraft {
                title,
                slug,
                body: &draft_body.to_string(),
                markdown: &markdown,
                html: &vidpress_draft::render_html(&markdown),
            },
        )
        .await
        .unwrap();
        vidpress_store::videos::set_video_state(&mut tx, video, vidpress_store::VideoState::Ready)
            .await
            .unwrap();
        tx.commit().await.unwrap();
        let draft = self.store.draft_for_video(video).await.unwrap().unwrap().id;
        (video, draft)
    }
}

/// One response, read whole.
pub struct Page {
    pub status: StatusCode,
    pub headers: reqwest::header::HeaderMap,
    pub body: String,
}

impl Page {
    pub fn location(&self) -> &str {
        self.headers
            .get(header::LOCATION.as_str())
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
    }

    /// The page's CSRF token (the first form's).
    pub fn csrf(&self) -> String {
        csrf_in(&self.body).unwrap_or_else(|| panic!("no CSRF token in:\n{}", self.body))
    }
}

pub fn csrf_in(body: &str) -> Option<String> {
    let marker = "name=\"csrf\" value=\"";
    let start = body.find(marker)? + marker.len();
    let end = body[start..].find('"')? + start;
    Some(body[start..end].to_owned())
}

/// A browser without scripts: keeps the session cookie, follows nothing.
#[derive(Clone)]
pub struct Client {
    base: String,
    http: reqwest::Client,
    pub cookie: Option<String>,
}

impl Client {
    pub fn new(base: &str) -> Client {
        Client {
            base: base.to_owned(),
            http: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .unwrap(),
            cookie: None,
        }
    }

    async fn send(&mut self, request: reqwest::RequestBuilder) -> Page {
        let request = match &self.cookie {
            Some(cookie) => request.header(
                header::COOKIE.as_str(),
                format!("vidpress_session={cookie}"),
            ),
            None => request,
        };
        let response = request.send().await.unwrap();
        for value in response.headers().get_all(header::SET_COOKIE.as_str()) {
            let value = value.to_str().unwrap();
            if let Some(rest) = value.strip_prefix("vidpress_session=") {
                let id = rest.split(';').next().unwrap_or("");
                let expired = value.contains("Max-Age=0") || id.is_empty();
                self.cookie = (!expired).then(|| id.to_owned());
            }
        }
        Page {
            status: response.status(),
            headers: response.headers().clone(),
            body: response.text().await.unwrap(),
        }
    }

    pub async fn get(&mut self, path: &str) -> Page {
        let request = self.http.get(format!("{}{path}", self.base));
        self.send(request).await
    }

    pub async fn get_with(&mut self, path: &str, headers: &[(&str, &str)]) -> Page {
        let mut request = self.http.get(format!("{}{path}", self.base));
        for (k, v) in headers {
            request = request.header(*k, *v);
        }
        self.send(request).await
    }

    pub async fn post(&mut self, path: &str, form: &[(&str, &str)]) -> Page {
        let request = self.http.post(format!("{}{path}", self.base)).form(form);
        self.send(request).await
    }

    pub async fn post_with(
        &mut self,
        path: &str,
        form: &[(&str, &str)],
        headers: &[(&str, &str)],
    ) -> Page {
        let mut request = self.http.post(format!("{}{path}", self.base)).form(form);
        for (k, v) in headers {
            request = request.header(*k, *v);
        }
        self.send(request).await
    }

    /// The CSRF token of the page at `path`.
    pub async fn csrf(&mut self, path: &str) -> String {
        let page = self.get(path).await;
        assert_eq!(page.status, StatusCode::OK, "GET {path}: {}", page.body);
        page.csrf()
    }

    pub async fn sign_in(&mut self, email: &str, password: &str) -> Page {
        let token = self.csrf("/sign-in").await;
        let page = self
            .post(
                "/sign-in",
                &[("csrf", &token), ("email", email), ("password", password)],
            )
            .await;
        assert_eq!(
            page.status,
            StatusCode::SEE_OTHER,
            "sign-in failed: {}",
            page.body
        );
        page
    }
}

/// The JSON API with a bearer token.
pub async fn api_get(base: &str, path: &str, token: &str) -> (StatusCode, String) {
    let response = reqwest::Client::new()
        .get(format!("{base}{path}"))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    (response.status(), response.text().await.unwrap())
}

pub fn shared<T>(value: T) -> Arc<T> {
    Arc::new(value)
}
