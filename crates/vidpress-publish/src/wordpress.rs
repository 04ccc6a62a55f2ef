//! The WordPress REST API client: an Application Password in a Basic `Authorization` header,
//! the API found at `/wp-json/` or, on sites without pretty permalinks, at `/?rest_route=`.
//! A post is sent as: header image uploaded to the media library (raw body), tags looked up or
//! created, then the post created, or updated in place when an earlier export made it.

use base64::Engine;
use reqwest::{Method, RequestBuilder, Response, StatusCode};
use serde_json::{Value, json};
use tokio::sync::OnceCell;
use url::Url;

use crate::http::{Http, origin, short_text};
use crate::{Post, PostStatus, Previous, PublishError, Published, RemoteImage, Secret, format_utc};

/// Where the site's REST API answers.
#[derive(Debug, Clone)]
enum ApiRoot {
    /// `https://site/wp-json/<route>`.
    Pretty(Url),
    /// `https://site/?rest_route=<route>`.
    Query(Url),
}

impl ApiRoot {
    fn url(&self, route: &str, query: &[(&str, &str)]) -> Url {
        let mut url = match self {
            ApiRoot::Pretty(base) => base
                .join(route.trim_start_matches('/'))
                .unwrap_or_else(|_| base.clone()),
            ApiRoot::Query(site) => {
                let mut url = site.clone();
                url.query_pairs_mut().append_pair("rest_route", route);
                url
            }
        };
        if !query.is_empty() {
            url.query_pairs_mut().extend_pairs(query);
        }
        url
    }
}

/// The API's index, as discovery found it.
#[derive(Debug)]
struct Site {
    root: ApiRoot,
    /// The index advertises Application Passwords (WordPress ≥ 5.6, enabled on this site).
    app_passwords: bool,
}

/// A WordPress site and the account that posts to it.
pub struct WordPress {
    http: Http,
    site: Url,
    username: String,
    password: Secret,
    discovered: OnceCell<Site>,
}

impl std::fmt::Debug for WordPress {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WordPress")
            .field("site", &self.site.as_str())
            .field("username", &self.username)
            .field("password", &"[redacted]")
            .finish()
    }
}

/// What WordPress says in an error body.
struct WpError {
    status: StatusCode,
    code: String,
    message: String,
}

impl WpError {
    async fn read(response: Response) -> WpError {
        let status = response.status();
        let text = response.text().await.unwrap_or_default();
        let body: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
        WpError {
            status,
            code: body["code"].as_str().unwrap_or_default().to_owned(),
            message: body["message"]
                .as_str()
                .map(strip_tags)
                .unwrap_or_else(|| short_text(&text)),
        }
    }

    fn describe(&self, what: &str) -> String {
        let code = if self.code.is_empty() {
            String::new()
        } else {
            format!("{}, ", self.code)
        };
        format!(
            "WordPress refused {what}: {} ({code}HTTP {})",
            self.message,
            self.status.as_u16()
        )
    }
}

/// WordPress messages sometimes carry HTML (`<strong>Error:</strong> …`).
fn strip_tags(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut in_tag = false;
    for c in text.chars() {
        match c {
            '<' => in_tag = true,
            '>' if in_tag => in_tag = false,
            c if !in_tag => out.push(c),
            _ => {}
        }
    }
    out.trim().to_owned()
}

impl WordPress {
    /// A client for the site at `site` (its home URL).
    pub fn new(http: Http, site: &Url, username: &str, password: Secret) -> WordPress {
        let mut site = site.clone();
        site.set_query(None);
        site.set_fragment(None);
        if !site.path().ends_with('/') {
            let path = format!("{}/", site.path());
            site.set_path(&path);
        }
        WordPress {
            http,
            site,
            username: username.trim().to_owned(),
            // Application Passwords are shown in groups of four; WordPress ignores the spaces.
            password: Secret::new(password.expose().replace(' ', "")),
            discovered: OnceCell::new(),
        }
    }

    /// The site's home URL.
    pub fn site(&self) -> &Url {
        &self.site
    }

    fn basic(&self, username: &str, password: &str) -> String {
        let pair = format!("{username}:{password}");
        format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode(pair)
        )
    }

    async fn site_info(&self) -> Result<&Site, PublishError> {
        self.discovered.get_or_try_init(|| self.discover()).await
    }

    /// Finds the REST API: `/wp-json/` first, then `/?rest_route=/` (no pretty permalinks).
    async fn discover(&self) -> Result<Site, PublishError> {
        let pretty = self
            .site
            .join("wp-json/")
            .map_err(|e| PublishError::Config(format!("{}: {e}", self.site)))?;
        let mut query = self.site.clone();
        query.query_pairs_mut().append_pair("rest_route", "/");
        let mut seen = Vec::new();
        for (url, root) in [
            (pretty.clone(), ApiRoot::Pretty(pretty)),
            (query, ApiRoot::Query(self.site.clone())),
        ] {
            let response = self
                .http
                .send(&url, || self.http.client().get(url.clone()))
                .await?;
            let status = response.status();
            let text = response.text().await.unwrap_or_default();
            let index: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
            let is_wp = index["namespaces"]
                .as_array()
                .is_some_and(|n| n.iter().any(|n| n == "wp/v2"));
            if status.is_success() && is_wp {
                let app_passwords = index["authentication"]["application-passwords"].is_object();
                return Ok(Site {
                    root,
                    app_passwords,
                });
            }
            seen.push(format!("{} answered {status}", url_path(&url)));
        }
        Err(PublishError::NotASite(format!(
            "{} does not look like a WordPress site: the REST API answers neither at /wp-json/ nor \
             at /?rest_route=/ ({}); check the site URL (its home page, not /wp-admin)",
            self.site,
            seen.join(", ")
        )))
    }

    /// Sends an authenticated request to a REST route.
    async fn call(
        &self,
        method: Method,
        route: &str,
        query: &[(&str, &str)],
        body: Body<'_>,
    ) -> Result<Response, PublishError> {
        let site = self.site_info().await?;
        let url = site.root.url(route, query);
        let auth = self.basic(&self.username, self.password.expose());
        let build = || -> RequestBuilder {
            let request = self
                .http
                .client()
                .request(method.clone(), url.clone())
                .header(reqwest::header::AUTHORIZATION, &auth);
            match &body {
                Body::None => request,
                Body::Json(value) => request.json(value),
                Body::File {
                    bytes,
                    content_type,
                    file_name,
                } => request
                    .header(reqwest::header::CONTENT_TYPE, *content_type)
                    .header(
                        reqwest::header::CONTENT_DISPOSITION,
                        format!("attachment; filename=\"{file_name}\""),
                    )
                    .body(bytes.to_vec()),
            }
        };
        self.http.send(&url, build).await
    }

    /// Reads a successful JSON answer, or turns an error answer into a message.
    async fn expect_json(&self, response: Response, what: &str) -> Result<Value, PublishError> {
        if response.status().is_success() {
            let text = response.text().await.map_err(|e| {
                PublishError::Protocol(format!("WordPress's answer to {what} was cut off: {e}"))
            })?;
            return serde_json::from_str(&text).map_err(|_| {
                PublishError::Protocol(format!(
                    "WordPress's answer to {what} is not JSON: {}",
                    short_text(&text)
                ))
            });
        }
        let error = WpError::read(response).await;
        Err(self.explain(error, what).await)
    }

    /// Turns WordPress's error into one a person can act on; authentication failures are
    /// looked at closely, since WordPress reports several causes the same way.
    async fn explain(&self, error: WpError, what: &str) -> PublishError {
        match error.code.as_str() {
            "rest_not_logged_in" => self.diagnose_not_logged_in().await,
            "incorrect_password" | "invalid_username" | "invalid_email" => {
                PublishError::Credentials(format!(
                    "WordPress rejected the username or Application Password for {}: {} — create \
                     a new Application Password under Users → Profile and update the connection",
                    self.username, error.message
                ))
            }
            "application_passwords_disabled" => app_passwords_disabled(&self.site),
            // Refused because nobody signed in: the credentials never worked.
            code if code.starts_with("rest_cannot") && error.status == StatusCode::UNAUTHORIZED => {
                self.diagnose_not_logged_in().await
            }
            "rest_cannot_create"
            | "rest_cannot_edit"
            | "rest_cannot_upload"
            | "rest_cannot_create_term"
            | "rest_cannot_publish" => PublishError::Credentials(format!(
                "{} may not do this on {}: {} — the account needs the Author or Editor role",
                self.username, self.site, error.message
            )),
            _ => PublishError::Rejected(error.describe(what)),
        }
    }

    /// WordPress answers `rest_not_logged_in` whenever no account signed in: Application
    /// Passwords are off, the password or username is wrong, or the web server in front of PHP
    /// dropped the `Authorization` header (a common Apache and nginx/PHP-FPM setting). The
    /// first shows in the API index; the other two look the same from outside, so the message
    /// names both, with the fix for each.
    async fn diagnose_not_logged_in(&self) -> PublishError {
        match self.site_info().await {
            Ok(site) if !site.app_passwords => app_passwords_disabled(&self.site),
            Ok(_) => PublishError::Credentials(format!(
                "WordPress at {} did not sign {} in (401 rest_not_logged_in). Either the username \
                 or Application Password is wrong — create a new Application Password under Users → \
                 Profile and update the connection — or the web server in front of WordPress strips \
                 the Authorization header: on Apache add `SetEnvIf Authorization \"(.*)\" \
                 HTTP_AUTHORIZATION=$1` to .htaccess; on nginx with PHP-FPM pass `fastcgi_param \
                 HTTP_AUTHORIZATION $http_authorization;`",
                origin(&self.site),
                self.username
            )),
            Err(e) => e,
        }
    }

    /// Checks the site and the credentials; answers who the connection posts as.
    #[tracing::instrument(skip_all, fields(site = %self.site))]
    pub async fn test(&self) -> Result<String, PublishError> {
        let response = self
            .call(
                Method::GET,
                "/wp/v2/users/me",
                &[("context", "edit")],
                Body::None,
            )
            .await?;
        let me = self.expect_json(response, "the sign-in check").await?;
        let name = me["name"].as_str().unwrap_or(&self.username).to_owned();
        if me["capabilities"].is_object() && me["capabilities"]["edit_posts"] != Value::Bool(true) {
            return Err(PublishError::Credentials(format!(
                "{} signs in to {} but may not write posts: give the account the Author or Editor role",
                self.username, self.site
            )));
        }
        let mode = match self.site_info().await?.root {
            ApiRoot::Pretty(_) => "/wp-json/",
            ApiRoot::Query(_) => "?rest_route= (the site has no pretty permalinks)",
        };
        Ok(format!(
            "WordPress at {} accepts {name}'s Application Password (REST API at {mode})",
            self.site
        ))
    }

    /// Uploads an image to the media library.
    async fn upload(&self, image: &crate::Image) -> Result<RemoteImage, PublishError> {
        let file_name: String = image
            .file_name
            .chars()
            .filter(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_'))
            .collect();
        let response = self
            .call(
                Method::POST,
                "/wp/v2/media",
                &[],
                Body::File {
                    bytes: &image.bytes,
                    content_type: &image.content_type,
                    file_name: if file_name.is_empty() {
                        "header.png"
                    } else {
                        &file_name
                    },
                },
            )
            .await?;
        let media = self.expect_json(response, "the image upload").await?;
        let id = media["id"].as_i64().ok_or_else(|| {
            PublishError::Protocol("WordPress's media answer has no id".to_owned())
        })?;
        Ok(RemoteImage {
            reference: id.to_string(),
            sha256: image.digest(),
        })
    }

    /// The ids of the named tags, creating those the site does not have.
    async fn tag_ids(&self, names: &[String]) -> Result<Vec<i64>, PublishError> {
        let mut ids = Vec::with_capacity(names.len());
        for name in names.iter().map(|n| n.trim()).filter(|n| !n.is_empty()) {
            let response = self
                .call(
                    Method::GET,
                    "/wp/v2/tags",
                    &[("search", name), ("per_page", "100")],
                    Body::None,
                )
                .await?;
            let found = self.expect_json(response, "the tag lookup").await?;
            let existing = found.as_array().and_then(|tags| {
                tags.iter()
                    .find(|t| {
                        t["name"]
                            .as_str()
                            .is_some_and(|n| decode_entities(n).eq_ignore_ascii_case(name))
                    })
                    .and_then(|t| t["id"].as_i64())
            });
            if let Some(id) = existing {
                ids.push(id);
                continue;
            }
            let response = self
                .call(
                    Method::POST,
                    "/wp/v2/tags",
                    &[],
                    Body::Json(json!({ "name": name })),
                )
                .await?;
            if response.status() == StatusCode::BAD_REQUEST {
                // Created meanwhile, or a name WordPress matches differently: it says which.
                let text = response.text().await.unwrap_or_default();
                let body: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
                if body["code"] == "term_exists"
                    && let Some(id) = body["data"]["term_id"].as_i64()
                {
                    ids.push(id);
                    continue;
                }
                return Err(PublishError::Rejected(format!(
                    "WordPress refused the tag `{name}`: {}",
                    body["message"].as_str().unwrap_or(&short_text(&text))
                )));
            }
            let tag = self
                .expect_json(response, &format!("the tag `{name}`"))
                .await?;
            ids.push(tag["id"].as_i64().ok_or_else(|| {
                PublishError::Protocol("WordPress's tag answer has no id".to_owned())
            })?);
        }
        Ok(ids)
    }

    /// Creates the post, or updates the one `previous` names. A post deleted on the site since
    /// is created anew, with a note saying so.
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
        let tags = self.tag_ids(&post.tags).await?;
        let featured: i64 = image
            .as_ref()
            .and_then(|i| i.reference.parse().ok())
            .unwrap_or(0);
        let mut body = json!({
            "title": post.title,
            "content": post.html,
            "excerpt": post.excerpt,
            "slug": post.slug,
            "status": match post.status {
                PostStatus::Draft => "draft",
                PostStatus::Publish => "publish",
                PostStatus::Schedule(_) => "future",
            },
            "tags": tags,
            "featured_media": featured,
        });
        if let PostStatus::Schedule(at) = post.status {
            // WordPress reads `date_gmt` without a zone, as UTC.
            body["date_gmt"] = json!(format_utc(at).trim_end_matches('Z'));
        }
        let mut note = None;
        if let Some(previous) = previous {
            let route = format!("/wp/v2/posts/{}", previous.remote_id);
            let response = self
                .call(Method::POST, &route, &[], Body::Json(body.clone()))
                .await?;
            if response.status() == StatusCode::NOT_FOUND {
                note = Some(format!(
                    "post {} was no longer on WordPress (deleted there), so a new post was created",
                    previous.remote_id
                ));
            } else {
                let saved = self.expect_json(response, "the post update").await?;
                return published(&saved, image, None);
            }
        }
        let response = self
            .call(Method::POST, "/wp/v2/posts", &[], Body::Json(body))
            .await?;
        let saved = self.expect_json(response, "the new post").await?;
        published(&saved, image, note)
    }

    /// Reads a post back (`context=edit`): for tests and the benchmark.
    pub async fn post(&self, id: &str) -> Result<Value, PublishError> {
        let response = self
            .call(
                Method::GET,
                &format!("/wp/v2/posts/{id}"),
                &[("context", "edit")],
                Body::None,
            )
            .await?;
        self.expect_json(response, "the post read-back").await
    }

    /// Deletes a post for good (for the test of a post deleted on the site).
    pub async fn delete_post(&self, id: &str) -> Result<(), PublishError> {
        let response = self
            .call(
                Method::DELETE,
                &format!("/wp/v2/posts/{id}"),
                &[("force", "true")],
                Body::None,
            )
            .await?;
        self.expect_json(response, "the post deletion")
            .await
            .map(drop)
    }

    /// Reads any REST route (`context=edit`): for tests and the benchmark.
    pub async fn get(&self, route: &str) -> Result<Value, PublishError> {
        let response = self
            .call(Method::GET, route, &[("context", "edit")], Body::None)
            .await?;
        self.expect_json(response, route).await
    }
}

enum Body<'a> {
    None,
    Json(Value),
    File {
        bytes: &'a [u8],
        content_type: &'a str,
        file_name: &'a str,
    },
}

fn published(
    saved: &Value,
    image: Option<RemoteImage>,
    note: Option<String>,
) -> Result<Published, PublishError> {
    let id = saved["id"]
        .as_i64()
        .ok_or_else(|| PublishError::Protocol("WordPress's post answer has no id".to_owned()))?;
    Ok(Published {
        remote_id: id.to_string(),
        url: saved["link"].as_str().unwrap_or_default().to_owned(),
        updated_at: saved["modified_gmt"].as_str().map(str::to_owned),
        image,
        note,
    })
}

fn app_passwords_disabled(site: &Url) -> PublishError {
    PublishError::Credentials(format!(
        "Application Passwords are not available on {site}: WordPress offers them only over HTTPS \
         (or on a site whose WP_ENVIRONMENT_TYPE is `local`), and a plugin or the \
         `wp_is_application_passwords_available` filter may have turned them off"
    ))
}

fn url_path(url: &Url) -> String {
    match url.query() {
        Some(q) => format!("{}?{q}", url.path()),
        None => url.path().to_owned(),
    }
}

/// WordPress returns term names HTML-escaped (`&amp;`).
fn decode_entities(text: &str) -> String {
    text.replace("&amp;", "&")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&#039;", "'")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes_map_onto_both_api_roots() {
        let site = Url::parse("http://blog.example/sub/").unwrap();
        let pretty = ApiRoot::Pretty(site.join("wp-json/").unwrap());
        assert_eq!(
            pretty
                .url("/wp/v2/posts/5", &[("context", "edit")])
                .as_str(),
            "http://blog.example/sub/wp-json/wp/v2/posts/5?context=edit"
        );
        let query = ApiRoot::Query(site);
        assert_eq!(
            query.url("/wp/v2/posts/5", &[("context", "edit")]).as_str(),
            "http://blog.example/sub/?rest_route=%2Fwp%2Fv2%2Fposts%2F5&context=edit"
        );
    }

    #[test]
    fn debug_output_hides_the_password() {
        let http = Http::new(crate::HttpConfig::default()).unwrap();
        let wp = WordPress::new(
            http,
            &Url::parse("https://blog.example").unwrap(),
            "editor",
            Secret::new("abcd efgh ijkl"),
        );
        let shown = format!("{wp:?}");
        assert!(
            !shown.contains("abcd") && !shown.contains("abcdefgh"),
            "{shown}"
        );
        assert_eq!(wp.site().as_str(), "https://blog.example/");
    }
}
