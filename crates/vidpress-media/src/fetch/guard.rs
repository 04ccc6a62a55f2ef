//! A small HTTP proxy on 127.0.0.1 that yt-dlp is made to use for one fetch: every connection
//! it opens (the first request and each redirect, plain HTTP or an HTTPS tunnel) goes to an
//! address the [`AddressPolicy`] allows, resolved and checked here and then connected to by
//! address, so a later DNS answer cannot swap it for another.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use vidpress_core::net::AddressPolicy;

/// The longest request head accepted from yt-dlp.
const MAX_HEAD: usize = 64 * 1024;

/// Why the proxy did not connect a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Denied {
    /// The policy refuses the destination's address.
    Forbidden(String),
    /// The destination could not be found or reached.
    Unreachable(String),
}

/// A running proxy; it stops when dropped.
pub(crate) struct GuardProxy {
    address: SocketAddr,
    denied: Arc<Mutex<Vec<Denied>>>,
    task: tokio::task::JoinHandle<()>,
}

impl GuardProxy {
    /// Starts the proxy on a free port of 127.0.0.1.
    pub(crate) async fn start(policy: AddressPolicy) -> std::io::Result<GuardProxy> {
        let listener = TcpListener::bind(("127.0.0.1", 0)).await?;
        let address = listener.local_addr()?;
        let denied = Arc::new(Mutex::new(Vec::new()));
        let seen = denied.clone();
        let task = tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                let seen = seen.clone();
                tokio::spawn(async move {
                    if let Err(Some(denial)) = serve(client, policy).await {
                        tracing::debug!(?denial, "the fetch's proxy did not connect a request");
                        if let Ok(mut seen) = seen.lock() {
                            seen.push(denial);
                        }
                    }
                });
            }
        });
        Ok(GuardProxy {
            address,
            denied,
            task,
        })
    }

    /// The proxy's URL, for yt-dlp's `--proxy`.
    pub(crate) fn url(&self) -> String {
        format!("http://{}", self.address)
    }

    /// The first request not connected, and why: a refusal by the policy comes first.
    pub(crate) fn first_denial(&self) -> Option<Denied> {
        let denied = self.denied.lock().ok()?;
        denied
            .iter()
            .find(|d| matches!(d, Denied::Forbidden(_)))
            .or_else(|| denied.first())
            .cloned()
    }
}

impl Drop for GuardProxy {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Serves one client connection. `Err(Some(_))` when the destination was refused or could not
/// be reached; `Err(None)` for any other failure (a broken connection, a malformed request).
async fn serve(mut client: TcpStream, policy: AddressPolicy) -> Result<(), Option<Denied>> {
    let (head, rest) = read_head(&mut client).await.map_err(|_| None)?;
    let text = String::from_utf8_lossy(&head).into_owned();
    let mut lines = text.split("\r\n");
    let request_line = lines.next().unwrap_or_default();
    let mut parts = request_line.split(' ');
    let (method, target, version) = (
        parts.next().unwrap_or_default(),
        parts.next().unwrap_or_default(),
        parts.next().unwrap_or("HTTP/1.1"),
    );
    if method.eq_ignore_ascii_case("CONNECT") {
        let (host, port) = split_authority(target, 443).ok_or(None)?;
        let mut upstream = match connect_checked(&host, port, policy).await {
            Ok(upstream) => upstream,
            Err(reason) => return refuse(&mut client, reason).await,
        };
        client
            .write_all(b"HTTP/1.1 200 Connection established\r\n\r\n")
            .await
            .map_err(|_| None)?;
        if !rest.is_empty() {
            upstream.write_all(&rest).await.map_err(|_| None)?;
        }
        let _ = tokio::io::copy_bidirectional(&mut client, &mut upstream).await;
        return Ok(());
    }
    let Ok(url) = url::Url::parse(target) else {
        return refuse(
            &mut client,
            Denied::Forbidden(format!("`{target}` is not an absolute URL")),
        )
        .await;
    };
    if url.scheme() != "http" {
        return refuse(
            &mut client,
            Denied::Forbidden(format!("`{}` is not an http URL", url.scheme())),
        )
        .await;
    }
    let host = match url.host() {
        Some(url::Host::Domain(name)) => name.to_owned(),
        Some(url::Host::Ipv4(ip)) => ip.to_string(),
        Some(url::Host::Ipv6(ip)) => ip.to_string(),
        None => {
            return refuse(&mut client, Denied::Forbidden("the URL has no host".into())).await;
        }
    };
    let port = url.port_or_known_default().unwrap_or(80);
    let mut upstream = match connect_checked(&host, port, policy).await {
        Ok(upstream) => upstream,
        Err(reason) => return refuse(&mut client, reason).await,
    };
    // The request in origin form, on a connection that closes after one answer: the next
    // request (a redirect elsewhere, say) comes through here again and is checked again.
    let mut path = url.path().to_owned();
    if let Some(query) = url.query() {
        path.push('?');
        path.push_str(query);
    }
    let mut forwarded = format!("{method} {path} {version}\r\n");
    for line in lines.filter(|l| !l.is_empty()) {
        let name = line.split(':').next().unwrap_or_default().trim();
        if [
            "connection",
            "proxy-connection",
            "keep-alive",
            "proxy-authorization",
        ]
        .iter()
        .any(|h| name.eq_ignore_ascii_case(h))
        {
            continue;
        }
        forwarded.push_str(line);
        forwarded.push_str("\r\n");
    }
    forwarded.push_str("Connection: close\r\n\r\n");
    upstream
        .write_all(forwarded.as_bytes())
        .await
        .map_err(|_| None)?;
    if !rest.is_empty() {
        upstream.write_all(&rest).await.map_err(|_| None)?;
    }
    let _ = tokio::io::copy_bidirectional(&mut client, &mut upstream).await;
    Ok(())
}

/// Answers 403 (refused) or 502 (unreachable) with the reason, and reports it.
async fn refuse(client: &mut TcpStream, denial: Denied) -> Result<(), Option<Denied>> {
    let (status, reason) = match &denial {
        Denied::Forbidden(reason) => ("403 Forbidden", reason),
        Denied::Unreachable(reason) => ("502 Bad Gateway", reason),
    };
    let body = format!("{reason}\n");
    let response = format!(
        "HTTP/1.1 {status}\r\nContent-Type: text/plain\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    let _ = client.write_all(response.as_bytes()).await;
    let _ = client.shutdown().await;
    Err(Some(denial))
}

/// Reads up to the blank line that ends a request head; returns the head and what came after.
async fn read_head(client: &mut TcpStream) -> std::io::Result<(Vec<u8>, Vec<u8>)> {
    let mut buffer = Vec::with_capacity(4096);
    let mut chunk = [0u8; 4096];
    loop {
        if let Some(end) = buffer.windows(4).position(|w| w == b"\r\n\r\n") {
            let rest = buffer.split_off(end + 4);
            buffer.truncate(end);
            return Ok((buffer, rest));
        }
        if buffer.len() > MAX_HEAD {
            return Err(std::io::Error::other("request head too long"));
        }
        let n = client.read(&mut chunk).await?;
        if n == 0 {
            return Err(std::io::ErrorKind::UnexpectedEof.into());
        }
        buffer.extend_from_slice(&chunk[..n]);
    }
}

/// `host:port` or `[v6]:port`.
fn split_authority(authority: &str, default_port: u16) -> Option<(String, u16)> {
    if let Some(rest) = authority.strip_prefix('[') {
        let (host, after) = rest.split_once(']')?;
        let port = match after.strip_prefix(':') {
            Some(port) => port.parse().ok()?,
            None => default_port,
        };
        return Some((host.to_owned(), port));
    }
    match authority.rsplit_once(':') {
        Some((host, port)) => Some((host.to_owned(), port.parse().ok()?)),
        None => Some((authority.to_owned(), default_port)),
    }
}

/// Resolves `host`, checks every address against the policy, and connects to one of them.
async fn connect_checked(
    host: &str,
    port: u16,
    policy: AddressPolicy,
) -> Result<TcpStream, Denied> {
    let addresses: Vec<SocketAddr> = tokio::net::lookup_host((host, port))
        .await
        .map_err(|e| Denied::Unreachable(format!("the host `{host}` cannot be found: {e}")))?
        .collect();
    policy
        .check_all(addresses.iter().map(SocketAddr::ip))
        .map_err(|e| Denied::Forbidden(format!("`{host}` is refused: {e}")))?;
    let mut last = None;
    for address in addresses {
        match TcpStream::connect(address).await {
            Ok(stream) => return Ok(stream),
            Err(e) => last = Some(e),
        }
    }
    Err(Denied::Unreachable(format!(
        "cannot connect to `{host}`: {}",
        last.map_or_else(|| "no address".to_owned(), |e| e.to_string())
    )))
}

#[cfg(test)]
mod tests {
    use super::split_authority;

    #[test]
    fn authorities_split_into_host_and_port() {
        assert_eq!(
            split_authority("www.youtube.com:443", 80),
            Some(("www.youtube.com".into(), 443))
        );
        assert_eq!(
            split_authority("[::1]:8080", 80),
            Some(("::1".into(), 8080))
        );
        assert_eq!(
            split_authority("example.org", 443),
            Some(("example.org".into(), 443))
        );
        assert_eq!(split_authority("h:x", 443), None);
    }
}
