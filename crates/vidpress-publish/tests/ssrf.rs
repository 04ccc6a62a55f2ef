//! Connection URLs never reach the server's own network unless an administrator allows it:
//! loopback, private, link-local and metadata addresses are refused, whether written as an
//! address, reached through a host name, or through a redirect; no request is sent to them.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use vidpress_core::net::AddressPolicy;
use vidpress_publish::{
    Exporters, Http, HttpConfig, PublishError, Secret, SecretKey, SiteKind, WordPress,
};

fn exporters(policy: AddressPolicy) -> Exporters {
    Exporters::new(
        SecretKey::parse(&"42".repeat(32)).unwrap(),
        HttpConfig {
            policy,
            ..HttpConfig::default()
        },
    )
    .unwrap()
}

fn http(policy: AddressPolicy) -> Http {
    Http::new(HttpConfig {
        policy,
        ..HttpConfig::default()
    })
    .unwrap()
}

/// A server on 127.0.0.1 that counts requests and redirects `/wp-json/` to `target`.
async fn counting_server(target: Option<&str>) -> (url::Url, Arc<AtomicUsize>) {
    let hits = Arc::new(AtomicUsize::new(0));
    let counter = hits.clone();
    let target = target.map(str::to_owned);
    let app = axum::Router::new().fallback(move || {
        let counter = counter.clone();
        let target = target.clone();
        async move {
            counter.fetch_add(1, Ordering::SeqCst);
            match target {
                Some(t) => (StatusCode::FOUND, [(header::LOCATION, t)]).into_response(),
                None => (StatusCode::OK, "{}").into_response(),
            }
        }
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (
        url::Url::parse(&format!("http://127.0.0.1:{port}/")).unwrap(),
        hits,
    )
}

#[test]
fn addresses_in_connection_urls_are_refused() {
    let public_only = exporters(AddressPolicy::PUBLIC_ONLY);
    for (url, class) in [
        ("http://127.0.0.1:8080/", "loopback"),
        ("http://10.1.2.3/", "private"),
        ("https://192.168.0.10/blog/", "private"),
        ("http://169.254.169.254/latest/meta-data/", "metadata"),
        ("http://[::1]/", "loopback"),
    ] {
        let err = public_only.parse_url(url).unwrap_err();
        assert!(
            matches!(err, PublishError::Refused { .. }),
            "{url}: {err:?}"
        );
        assert!(err.to_string().contains(class), "{url}: {err}");
    }
    // An administrator may allow private networks; metadata addresses stay refused.
    let allowed = exporters(AddressPolicy::ALLOW_PRIVATE);
    assert!(allowed.parse_url("http://10.1.2.3/").is_ok());
    assert!(allowed.parse_url("http://127.0.0.1:8080/").is_ok());
    let err = allowed.parse_url("http://169.254.169.254/").unwrap_err();
    assert!(err.to_string().contains("never"), "{err}");
    // And so does anything that is not http(s).
    assert!(allowed.parse_url("file:///etc/passwd").is_err());
}

#[tokio::test]
async fn nothing_is_sent_to_a_refused_address() {
    let (url, hits) = counting_server(None).await;
    let public_only = exporters(AddressPolicy::PUBLIC_ONLY);
    let err = public_only
        .connect(
            SiteKind::WordPress,
            url.as_str(),
            Some("u"),
            &Secret::new("p"),
        )
        .unwrap_err();
    assert!(matches!(err, PublishError::Refused { .. }), "{err:?}");

    // A host name that resolves to loopback is refused at resolution, before connecting.
    let by_name = url::Url::parse(&format!("http://localhost:{}/", url.port().unwrap())).unwrap();
    let wp = WordPress::new(
        http(AddressPolicy::PUBLIC_ONLY),
        &by_name,
        "u",
        Secret::new("p"),
    );
    let err = wp.test().await.unwrap_err();
    assert!(matches!(err, PublishError::Refused { .. }), "{err:?}");
    assert!(err.to_string().contains("loopback"), "{err}");
    assert_eq!(
        hits.load(Ordering::SeqCst),
        0,
        "no request reached the server"
    );

    // Allowed, the same server is reached.
    let wp = WordPress::new(
        http(AddressPolicy::ALLOW_PRIVATE),
        &by_name,
        "u",
        Secret::new("p"),
    );
    let err = wp.test().await.unwrap_err();
    assert!(matches!(err, PublishError::NotASite(_)), "{err:?}");
    assert!(hits.load(Ordering::SeqCst) > 0);
}

#[tokio::test]
async fn redirects_are_checked_at_every_hop() {
    // The first hop is allowed (private networks allowed), the redirect points at the cloud
    // metadata service: refused without following it.
    let (url, hits) = counting_server(Some("http://169.254.169.254/latest/meta-data/")).await;
    let wp = WordPress::new(
        http(AddressPolicy::ALLOW_PRIVATE),
        &url,
        "u",
        Secret::new("p"),
    );
    let err = wp.test().await.unwrap_err();
    assert!(matches!(err, PublishError::Refused { .. }), "{err:?}");
    assert!(err.to_string().contains("169.254.169.254"), "{err}");
    assert_eq!(
        hits.load(Ordering::SeqCst),
        1,
        "only the first hop was requested"
    );

    // A redirect to a loopback address from a server on another loopback port: allowed only
    // when private addresses are.
    let (inner, inner_hits) = counting_server(None).await;
    let (outer, _) = counting_server(Some(inner.join("wp-json/").unwrap().as_str())).await;
    let wp = WordPress::new(
        http(AddressPolicy::ALLOW_PRIVATE),
        &outer,
        "u",
        Secret::new("p"),
    );
    let _ = wp.test().await;
    assert!(
        inner_hits.load(Ordering::SeqCst) > 0,
        "followed when allowed"
    );
}
