//! Busy remotes: a proxy in front of a real WordPress answers the first post request with 429
//! or 503 (with `Retry-After`), as a busy host or a rate limiter in front of WordPress does.
//! The client waits and retries; a `Retry-After` longer than it waits in place fails at once as
//! busy (the export job retries at that time); a 4xx is not retried.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use vidpress_core::net::AddressPolicy;
use vidpress_publish::testing::{WP_USER, WordPressSite};
use vidpress_publish::{Http, HttpConfig, Post, PostStatus, PublishError, Secret, WordPress};

#[derive(Clone)]
struct Proxy {
    upstream: url::Url,
    http: reqwest::Client,
    /// Post requests seen.
    posts: Arc<AtomicUsize>,
    /// The answer to the first `failures` post requests: status and Retry-After.
    failure: (StatusCode, &'static str),
    failures: usize,
}

async fn forward(State(proxy): State<Proxy>, request: Request) -> Response {
    let path = request
        .uri()
        .path_and_query()
        .map(|p| p.as_str().to_owned())
        .unwrap_or_default();
    if request.method() == "POST" && path.starts_with("/wp-json/wp/v2/posts") {
        let seen = proxy.posts.fetch_add(1, Ordering::SeqCst);
        if seen < proxy.failures {
            let (status, retry_after) = proxy.failure;
            let mut response =
                (status, "{\"code\":\"busy\",\"message\":\"slow down\"}").into_response();
            if !retry_after.is_empty() {
                response
                    .headers_mut()
                    .insert("retry-after", HeaderValue::from_static(retry_after));
            }
            return response;
        }
    }
    let url = proxy.upstream.join(&path).unwrap();
    let method = reqwest::Method::from_bytes(request.method().as_str().as_bytes()).unwrap();
    let mut upstream = proxy.http.request(method, url);
    for (name, value) in request.headers() {
        if !matches!(
            name.as_str(),
            "host" | "content-length" | "transfer-encoding"
        ) {
            upstream = upstream.header(name.as_str(), value.as_bytes());
        }
    }
    let body = axum::body::to_bytes(request.into_body(), 64 << 20)
        .await
        .unwrap();
    let answer = upstream.body(body.to_vec()).send().await.unwrap();
    let status = StatusCode::from_u16(answer.status().as_u16()).unwrap();
    let content_type = answer.headers().get("content-type").cloned();
    let bytes = answer.bytes().await.unwrap();
    let mut response = Response::new(Body::from(bytes));
    *response.status_mut() = status;
    if let Some(ct) = content_type {
        response.headers_mut().insert(
            "content-type",
            HeaderValue::from_bytes(ct.as_bytes()).unwrap(),
        );
    }
    response
}

async fn proxy(
    site: &WordPressSite,
    failure: (StatusCode, &'static str),
    failures: usize,
) -> (url::Url, Arc<AtomicUsize>) {
    let posts = Arc::new(AtomicUsize::new(0));
    let state = Proxy {
        upstream: site.url.clone(),
        http: reqwest::Client::new(),
        posts: posts.clone(),
        failure,
        failures,
    };
    let app = axum::Router::new().fallback(forward).with_state(state);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = url::Url::parse(&format!("http://{}/", listener.local_addr().unwrap())).unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (url, posts)
}

fn client(url: &url::Url, site: &WordPressSite) -> WordPress {
    let http = Http::new(HttpConfig {
        policy: AddressPolicy::ALLOW_PRIVATE,
        backoff: Duration::from_millis(50),
        max_wait: Duration::from_secs(5),
        ..HttpConfig::default()
    })
    .unwrap();
    WordPress::new(http, url, WP_USER, Secret::new(site.app_password.clone()))
}

fn post() -> Post {
    Post {
        title: "Busy".into(),
        slug: "busy".into(),
        html: "<p>Body</p>".into(),
        excerpt: String::new(),
        tags: Vec::new(),
        status: PostStatus::Draft,
        image: None,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn busy_answers_are_retried_and_refusals_are_not() {
    let site = WordPressSite::start().await;

    // 429 with Retry-After: 1, then 503 without: both retried, the post is made once.
    let (url, posts) = proxy(&site, (StatusCode::TOO_MANY_REQUESTS, "1"), 1).await;
    let made = client(&url, &site).publish(&post(), None).await.unwrap();
    assert_eq!(posts.load(Ordering::SeqCst), 2);
    let (url, posts) = proxy(&site, (StatusCode::SERVICE_UNAVAILABLE, ""), 2).await;
    client(&url, &site).publish(&post(), None).await.unwrap();
    assert_eq!(posts.load(Ordering::SeqCst), 3);
    let all = client(&site.url, &site)
        .get("/wp/v2/posts?status=draft")
        .await
        .unwrap();
    assert_eq!(all.as_array().unwrap().len(), 2, "one post per export");
    assert!(!made.remote_id.is_empty());

    // Asked to come back in an hour: not waited for here; the error carries the time.
    let (url, posts) = proxy(&site, (StatusCode::SERVICE_UNAVAILABLE, "3600"), 10).await;
    let err = client(&url, &site)
        .publish(&post(), None)
        .await
        .unwrap_err();
    assert!(matches!(err, PublishError::Busy { .. }), "{err:?}");
    assert!(err.is_retryable());
    assert_eq!(err.retry_after(), Some(Duration::from_secs(3600)));
    assert_eq!(posts.load(Ordering::SeqCst), 1);

    // Busy through every attempt: fails as busy after them.
    let (url, posts) = proxy(&site, (StatusCode::BAD_GATEWAY, ""), 100).await;
    let err = client(&url, &site)
        .publish(&post(), None)
        .await
        .unwrap_err();
    assert!(matches!(err, PublishError::Busy { .. }), "{err:?}");
    assert_eq!(
        posts.load(Ordering::SeqCst),
        HttpConfig::default().attempts as usize
    );

    // A refusal (4xx) fails at once with WordPress's own message.
    let (url, posts) = proxy(&site, (StatusCode::BAD_REQUEST, ""), 1).await;
    let err = client(&url, &site)
        .publish(&post(), None)
        .await
        .unwrap_err();
    assert!(matches!(err, PublishError::Rejected(_)), "{err:?}");
    assert!(
        err.to_string().contains("slow down") && !err.is_retryable(),
        "{err}"
    );
    assert_eq!(posts.load(Ordering::SeqCst), 1);
}
