//! The Ghost Admin API client. Requests carry `Authorization: Ghost <jwt>`: a token signed
//! (HS256) with the Admin API key's secret, valid five minutes. A token is reused for four
//! minutes, then a new one is made; if Ghost still refuses one as expired (the clocks disagree),
//! the client makes a fresh token and tries once more. Updates send the post's `updated_at` from
//! the last export, so an edit made in Ghost since is not overwritten: Ghost answers with a
//! conflict, and the message says what happened.

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac};
use reqwest::{Method, RequestBuilder, Response, StatusCode};
use serde_json::{Value, json};
use sha2::Sha256;
use url::Url;

use crate::http::{Http, origin, short_text};
use crate::{
    Image, Post, PostStatus, Previous, PublishError, Published, RemoteImage, Secret, format_utc,
};

/// How long a token is valid, as Ghost requires (at most five minutes).
const TOKEN_LIFETIME: u64 = 300;
/// How long a token is reused before a new one is made.
const TOKEN_REUSE: Duration = Duration::from_secs(240);

/// An Admin API key: `id:secret`, as Ghost shows it under Settings → Integrations.
#[derive(Clone)]
pub struct GhostKey {
    id: String,
    secret: Vec<u8>,
}

impl std::fmt::Debug for GhostKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GhostKey")
            .field("id", &self.id)
            .field("secret", &"[redacted]")
            .finish()
    }
}

impl GhostKey {
    /// Parses `id:secret` (24 hex digits, a colon, 64 hex digits).
    pub fn parse(key: &Secret) -> Result<GhostKey, PublishError> {
        let malformed = || {
            PublishError::Config(
                "the Ghost Admin API key is malformed: copy the whole Admin API key from Ghost's \
                 Settings → Integrations (24 hexadecimal digits, a colon, then 64 more; not the \
                 Content API key)"
                    .to_owned(),
            )
        };
        let (id, secret) = key.expose().trim().split_once(':').ok_or_else(malformed)?;
        let hex_digits = |s: &str| s.chars().all(|c| c.is_ascii_hexdigit());
        if id.len() != 24 || !hex_digits(id) || secret.len() != 64 || !hex_digits(secret) {
            return Err(malformed());
        }
        Ok(GhostKey {
            id: id.to_owned(),
            secret: hex::decode(secret).map_err(|_| malformed())?,
        })
    }

    /// A signed token issued at `iat` (seconds since the epoch).
    fn token(&self, iat: u64) -> String {
        let header = json!({ "alg": "HS256", "typ": "JWT", "kid": self.id });
        let claims = json!({ "iat": iat, "exp": iat + TOKEN_LIFETIME, "aud": "/admin/" });
        let signing_input = format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(header.to_string()),
            URL_SAFE_NO_PAD.encode(claims.to_string())
        );
        let mut mac =
            Hmac::<Sha256>::new_from_slice(&self.secret).expect("HMAC takes keys of any length");
        mac.update(signing_input.as_bytes());
        let signature = URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes());
        format!("{signing_input}.{signature}")
    }
}

/// The wall clock tokens are dated by: seconds since the epoch.
pub type Clock = Arc<dyn Fn() -> u64 + Send + Sync>;

fn system_clock() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_secs()
}

struct Token {
    jwt: String,
    made: Instant,
}

/// A Ghost site and the integration's Admin API key.
pub struct Ghost {
    http: Http,
    site: Url,
    key: GhostKey,
    clock: Clock,
    token: std::sync::Mutex<Option<Token>>,
    tokens_made: AtomicU32,
}

impl std::fmt::Debug for Ghost {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Ghost")
            .field("site", &self.site.as_str())
            .field("key", &self.key)
            .finish()
    }
}

/// Ghost's error body: `{"errors":[{"message","context","type"}]}`.
struct GhostError {
    status: StatusCode,
    kind: String,
    message: String,
}

impl GhostError {
    async fn read(response: Response) -> GhostError {
        let status = response.status();
        let text = response.text().await.unwrap_or_default();
        let body: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
        let first = &body["errors"][0];
        let mut message = first["message"]
            .as_str()
            .map(str::to_owned)
            .unwrap_or_else(|| short_text(&text));
        if let Some(context) = first["context"].as_str().filter(|c| !c.is_empty()) {
            message = format!("{message} {context}");
        }
        GhostError {
            status,
            kind: first["type"].as_str().unwrap_or_default().to_owned(),
            message,
        }
    }
}

impl Ghost {
    /// A client for the Ghost site at `site` (its admin URL; a trailing `/ghost/` is dropped).
    pub fn new(http: Http, site: &Url, key: &Secret) -> Result<Ghost, PublishError> {
        Self::with_clock(http, site, key, Arc::new(system_clock))
    }

    /// As [`Ghost::new`], dating tokens by `clock` (tests set a skewed clock).
    pub fn with_clock(
        http: Http,
        site: &Url,
        key: &Secret,
        clock: Clock,
    ) -> Result<Ghost, PublishError> {
        let key = GhostKey::parse(key)?;
        let mut site = site.clone();
        site.set_query(None);
        site.set_fragment(None);
        let mut path = site.path().trim_end_matches('/').to_owned();
        if let Some(stripped) = path.strip_suffix("/ghost") {
            path = stripped.to_owned();
        }
        site.set_path(&format!("{path}/"));
        Ok(Ghost {
            http,
            site,
            key,
            clock,
            token: std::sync::Mutex::new(None),
            tokens_made: AtomicU32::new(0),
        })
    }

    /// The site's URL.
    pub fn site(&self) -> &Url {
        &self.site
    }

    /// How many tokens this client has made.
    pub fn tokens_made(&self) -> u32 {
        self.tokens_made.load(Ordering::SeqCst)
    }

    fn api(&self, path: &str) -> Url {
        self.site
            .join(&format!("ghost/api/admin/{path}"))
            .unwrap_or_else(|_| self.site.clone())
    }

    /// The current token, made anew when older than four minutes or when `fresh`.
    fn token(&self, fresh: bool) -> String {
        let mut slot = self.token.lock().unwrap_or_else(|e| e.into_inner());
        match slot.as_ref() {
            Some(token) if !fresh && token.made.elapsed() < TOKEN_REUSE => token.jwt.clone(),
            _ => {
                let jwt = self.key.token((self.clock)());
                self.tokens_made.fetch_add(1, Ordering::SeqCst);
                *slot = Some(Token {
                    jwt: jwt.clone(),
                    made: Instant::now(),
                });
                jwt
            }
        }
    }

    /// Sends an authenticated request; a token Ghost refuses is replaced once.
    async fn call<F>(&self, method: Method, url: &Url, body: F) -> Result<Response, PublishError>
    where
        F: Fn(RequestBuilder) -> RequestBuilder,
    {
        let mut fresh = false;
        loop {
            let jwt = self.token(fresh);
            let build = || {
                body(
                    self.http
                        .client()
                        .request(method.clone(), url.clone())
                        .header(reqwest::header::AUTHORIZATION, format!("Ghost {jwt}"))
                        .header("Accept-Version", "v5.0"),
                )
            };
            let response = self.http.send(url, build).await?;
            if response.status() != StatusCode::UNAUTHORIZED || fresh {
                return Ok(response);
            }
            let error = GhostError::read(response).await;
            if !is_token_problem(&error) {
                return Err(self.credentials(&error));
            }
            tracing::info!(message = %error.message, "Ghost refused the token; making a new one");
            fresh = true;
        }
    }

    fn credentials(&self, error: &GhostError) -> PublishError {
        PublishError::Credentials(format!(
            "Ghost at {} refused the Admin API key: {} — copy the Admin API key again from \
             Settings → Integrations and update the connection",
            origin(&self.site),
            error.message
        ))
    }

    async fn expect_json(&self, response: Response, what: &str) -> Result<Value, PublishError> {
        if response.status().is_success() {
            let text = response.text().await.map_err(|e| {
                PublishError::Protocol(format!("Ghost's answer to {what} was cut off: {e}"))
            })?;
            return serde_json::from_str(&text).map_err(|_| {
                PublishError::Protocol(format!(
                    "Ghost's answer to {what} is not JSON: {}",
                    short_text(&text)
                ))
            });
        }
        let error = GhostError::read(response).await;
        Err(match error.status {
            StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN => self.credentials(&error),
            _ => PublishError::Rejected(format!(
                "Ghost refused {what}: {} ({}HTTP {})",
                error.message,
                if error.kind.is_empty() {
                    String::new()
                } else {
                    format!("{}, ", error.kind)
                },
                error.status.as_u16()
            )),
        })
    }

    /// Checks that this is a Ghost site and that it accepts the key; answers what was found.
    #[tracing::instrument(skip_all, fields(site = %self.site))]
    pub async fn test(&self) -> Result<String, PublishError> {
        let url = self.api("site/");
        let response = self
            .http
            .send(&url, || {
                self.http
                    .client()
                    .get(url.clone())
                    .header("Accept-Version", "v5.0")
            })
            .await?;
        let status = response.status();
        let text = response.text().await.unwrap_or_default();
        let site: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
        let Some(title) = site["site"]["title"]
            .as_str()
            .filter(|_| status.is_success())
        else {
            return Err(PublishError::NotASite(format!(
                "{} does not look like a Ghost site: /ghost/api/admin/site/ answered {status} \
                 without Ghost's site information; check the admin URL (the address you open \
                 Ghost's admin at, without /ghost/)",
                self.site
            )));
        };
        let version = site["site"]["version"].as_str().unwrap_or("?").to_owned();
        let title = title.to_owned();
        let url = self.api("posts/?limit=1&fields=id");
        let response = self.call(Method::GET, &url, |r| r).await?;
        self.expect_json(response, "the key check").await?;
        Ok(format!(
            "Ghost {version} at {} (“{title}”) accepts the Admin API key",
            self.site
        ))
    }

    /// Uploads an image; answers its URL on the site.
    async fn upload(&self, image: &Image) -> Result<RemoteImage, PublishError> {
        let url = self.api("images/upload/");
        let response = self
            .call(Method::POST, &url, |request| {
                let part = reqwest::multipart::Part::bytes(image.bytes.clone())
                    .file_name(image.file_name.clone())
                    .mime_str(&image.content_type)
                    .expect("image content types are valid MIME types");
                let form = reqwest::multipart::Form::new()
                    .part("file", part)
                    .text("purpose", "image")
                    .text("ref", image.file_name.clone());
                request.multipart(form)
            })
            .await?;
        let body = self.expect_json(response, "the image upload").await?;
        let url = body["images"][0]["url"]
            .as_str()
            .ok_or_else(|| PublishError::Protocol("Ghost's image answer has no URL".to_owned()))?;
        Ok(RemoteImage {
            reference: url.to_owned(),
            sha256: image.digest(),
        })
    }

    /// Creates the post, or updates the one `previous` names. An update names the post's
    /// `updated_at` as the last export left it; if the post was edited in Ghost since, nothing is
    /// overwritten and the error says so. A post deleted in Ghost is created anew with a note.
    #[tracing::instrument(skip_all, fields(site = %self.site, update = previous.is_some()))]
    pub async fn publish(
        &self,
        post: &Post,
        previous: Option<&Previous>,
    ) -> Result<Published, PublishError> {
        let image = match &post.image {
            Some(image) => match image.uploaded_before(previous) {
                Some(remote) => Some(remote),
                None => Some(self.upload(image).await?),
            },
            None => None,
        };
        let mut fields = json!({
            "title": post.title,
            "html": post.html,
            "slug": post.slug,
            "custom_excerpt": post.excerpt,
            "status": match post.status {
                PostStatus::Draft => "draft",
                PostStatus::Publish => "published",
                PostStatus::Schedule(_) => "scheduled",
            },
            "tags": post.tags.iter().map(|t| json!({ "name": t })).collect::<Vec<_>>(),
            "feature_image": image.as_ref().map(|i| i.reference.clone()),
        });
        if let PostStatus::Schedule(at) = post.status {
            fields["published_at"] = json!(format_utc(at));
        }
        let mut note = None;
        if let Some(previous) = previous {
            if let Some(updated_at) = &previous.updated_at {
                fields["updated_at"] = json!(updated_at);
            }
            let url = self.api(&format!("posts/{}/?source=html", previous.remote_id));
            let body = json!({ "posts": [fields.clone()] });
            let response = self.call(Method::PUT, &url, |r| r.json(&body)).await?;
            match response.status() {
                StatusCode::NOT_FOUND => {
                    note = Some(format!(
                        "post {} was no longer on Ghost (deleted there), so a new post was created",
                        previous.remote_id
                    ));
                    if let Some(object) = fields.as_object_mut() {
                        object.remove("updated_at");
                    }
                }
                StatusCode::CONFLICT => {
                    let error = GhostError::read(response).await;
                    return Err(PublishError::Conflict(format!(
                        "the post was changed in Ghost after Vidpress last exported it (someone \
                         edited it in Ghost's editor), so Vidpress did not overwrite it. Keep one \
                         version: copy what you want from Ghost into the draft, or delete the \
                         post in Ghost and export again to create it anew. Ghost said: {}",
                        error.message
                    )));
                }
                _ => {
                    let saved = self.expect_json(response, "the post update").await?;
                    return published(&saved, image, None);
                }
            }
        }
        let url = self.api("posts/?source=html");
        let body = json!({ "posts": [fields] });
        let response = self.call(Method::POST, &url, |r| r.json(&body)).await?;
        let saved = self.expect_json(response, "the new post").await?;
        published(&saved, image, note)
    }

    /// Reads a post back, with its tags: for tests and the benchmark.
    pub async fn post(&self, id: &str) -> Result<Value, PublishError> {
        let url = self.api(&format!("posts/{id}/?formats=html&include=tags"));
        let response = self.call(Method::GET, &url, |r| r).await?;
        let body = self.expect_json(response, "the post read-back").await?;
        Ok(body["posts"][0].clone())
    }

    /// Edits a post's title as Ghost's own editor would (for the conflict test): answers the
    /// post's new `updated_at`.
    pub async fn edit_title(&self, id: &str, title: &str) -> Result<String, PublishError> {
        let current = self.post(id).await?;
        let url = self.api(&format!("posts/{id}/"));
        let body = json!({ "posts": [{ "title": title, "updated_at": current["updated_at"] }] });
        let response = self.call(Method::PUT, &url, |r| r.json(&body)).await?;
        let saved = self.expect_json(response, "the title edit").await?;
        Ok(saved["posts"][0]["updated_at"]
            .as_str()
            .unwrap_or_default()
            .to_owned())
    }

    /// Deletes a post (for the test of a post deleted remotely).
    pub async fn delete_post(&self, id: &str) -> Result<(), PublishError> {
        let url = self.api(&format!("posts/{id}/"));
        let response = self.call(Method::DELETE, &url, |r| r).await?;
        if response.status().is_success() {
            Ok(())
        } else {
            Err(PublishError::Rejected(
                GhostError::read(response).await.message,
            ))
        }
    }
}

/// Whether a 401 is about the token's age or signature (worth one fresh token), rather than
/// an unknown key.
fn is_token_problem(error: &GhostError) -> bool {
    let message = error.message.to_ascii_lowercase();
    message.contains("expired") || message.contains("token") && !message.contains("unknown")
}

fn published(
    saved: &Value,
    image: Option<RemoteImage>,
    note: Option<String>,
) -> Result<Published, PublishError> {
    let post = &saved["posts"][0];
    let id = post["id"]
        .as_str()
        .ok_or_else(|| PublishError::Protocol("Ghost's post answer has no id".to_owned()))?;
    Ok(Published {
        remote_id: id.to_owned(),
        url: post["url"].as_str().unwrap_or_default().to_owned(),
        updated_at: post["updated_at"].as_str().map(str::to_owned),
        image,
        note,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &str =
        "6489f0d9a1b2c3d4e5f60718:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

    #[test]
    fn tokens_are_hs256_with_the_key_id_and_five_minutes() {
        let key = GhostKey::parse(&Secret::new(KEY)).unwrap();
        let jwt = key.token(1_700_000_000);
        let parts: Vec<&str> = jwt.split('.').collect();
        assert_eq!(parts.len(), 3);
        let header: Value =
            serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[0]).unwrap()).unwrap();
        assert_eq!(header["alg"], "HS256");
        assert_eq!(header["kid"], "6489f0d9a1b2c3d4e5f60718");
        let claims: Value =
            serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[1]).unwrap()).unwrap();
        assert_eq!(claims["aud"], "/admin/");
        assert_eq!(
            claims["exp"].as_u64().unwrap() - claims["iat"].as_u64().unwrap(),
            300
        );
        let mut mac = Hmac::<Sha256>::new_from_slice(&hex::decode(&KEY[25..]).unwrap()).unwrap();
        mac.update(format!("{}.{}", parts[0], parts[1]).as_bytes());
        mac.verify_slice(&URL_SAFE_NO_PAD.decode(parts[2]).unwrap())
            .unwrap();
    }

    #[test]
    fn malformed_keys_say_what_a_key_looks_like() {
        for bad in ["", "abc", "6489f0d9a1b2c3d4e5f60718", "zz:yy", &KEY[..80]] {
            let err = GhostKey::parse(&Secret::new(bad)).unwrap_err();
            assert!(err.to_string().contains("malformed"), "{bad}: {err}");
        }
        let key = GhostKey::parse(&Secret::new(KEY)).unwrap();
        assert!(!format!("{key:?}").contains("0123456789abcdef"));
    }

    #[test]
    fn admin_urls_lose_their_ghost_suffix() {
        let http = Http::new(crate::HttpConfig::default()).unwrap();
        let ghost = Ghost::new(
            http,
            &Url::parse("https://blog.example/ghost/").unwrap(),
            &Secret::new(KEY),
        )
        .unwrap();
        assert_eq!(ghost.site().as_str(), "https://blog.example/");
        assert_eq!(
            ghost.api("posts/").as_str(),
            "https://blog.example/ghost/api/admin/posts/"
        );
    }
}
