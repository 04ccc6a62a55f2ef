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
    counting_server_on("127.0.0.1", target).await
}

/// The same, listening on `ip`.
async fn counting_server_on(ip: &str, target: Option<&str>) -> (url::Url, Arc<AtomicUsize>) {
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
    let listener = tokio::net::TcpListener::bind((ip, 0)).await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (
        url::Url::parse(&format!("http://{ip}:{port}/")).unwrap(),
        hits,
    )
}

/// A public address on this machine, for a server that stands for a site on the internet: a
/// virtual Ethernet pair made for the test (iproute2, as root, like the rest of the suite's
/// setup), removed again when dropped. The machine has no public interface of its own.
struct PublicAddress {
    link: String,
    ip: String,
}

impl PublicAddress {
    fn add() -> PublicAddress {
        let link = format!("vpssrf{}", std::process::id() % 100_000);
        let ip = format!(
            "11.{}.{}.1",
            (std::process::id() >> 8) % 250,
            std::process::id() % 250
        );
        let ip_cmd = |args: &[&str]| {
            let out = std::process::Command::new("ip")
                .args(args)
                .output()
                .expect("iproute2's `ip` (scripts/test.sh installs it)");
            assert!(
                out.status.success(),
                "ip {}: {} (this test adds a network interface and needs root)",
                args.join(" "),
                String::from_utf8_lossy(&out.stderr)
            );
        };
        ip_cmd(&[
            "link",
            "add",
            &link,
            "type",
            "veth",
            "peer",
            "name",
            &format!("{link}p"),
        ]);
        let address = PublicAddress { link, ip };
        ip_cmd(&[
            "addr",
            "add",
            &format!("{}/32", address.ip),
            "dev",
            &address.link,
        ]);
        ip_cmd(&["link", "set", &address.link, "up"]);
        address
    }
}

impl Drop for PublicAddress {
    fn drop(&mut self) {
        let _ = std::process::Command::new("ip")
            .args(["link", "del", &self.link])
            .output();
    }
}

#[tokio::test]
async fn a_redirect_to_loopback_is_refused_unless_allowed() {
    let public = PublicAddress::add();
    let (inner, inner_hits) = counting_server(None).await;
    let (outer, outer_hits) =
        counting_server_on(&public.ip, Some(inner.join("wp-json/").unwrap().as_str())).await;

    // The site's address is public, so the connection is accepted and its server asked; the
    // redirect to this machine's loopback is refused before anything is sent there.
    let public_only = exporters(AddressPolicy::PUBLIC_ONLY);
    let publisher = public_only
        .connect(
            SiteKind::WordPress,
            outer.as_str(),
            Some("u"),
            &Secret::new("p"),
        )
        .unwrap();
    let err = publisher.test().await.unwrap_err();
    assert!(matches!(err, PublishError::Refused { .. }), "{err:?}");
    assert!(err.to_string().contains("loopback"), "{err}");
    assert!(outer_hits.load(Ordering::SeqCst) > 0, "the site was asked");
    assert_eq!(
        inner_hits.load(Ordering::SeqCst),
        0,
        "nothing reached the loopback server"
    );

    // With private addresses allowed, the same redirect is followed.
    let allowed = exporters(AddressPolicy::ALLOW_PRIVATE);
    let publisher = allowed
        .connect(
            SiteKind::WordPress,
            outer.as_str(),
            Some("u"),
            &Secret::new("p"),
        )
        .unwrap();
    let _ = publisher.test().await;
    assert!(
        inner_hits.load(Ordering::SeqCst) > 0,
        "followed when allowed"
    );
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
