//! The subscriber's requests to a hub: subscribe and unsubscribe (WebSub §5.1), and publish
//! pings for hubs that accept them.

use url::Url;

use crate::subscription::Secret;

/// Longest part of a hub's error response kept in an error message.
const MAX_ERROR_BODY: usize = 300;

/// Why a request to the hub failed.
#[derive(Debug, thiserror::Error)]
pub enum HubError {
    /// The hub could not be reached, or did not answer in time.
    #[error("could not reach the WebSub hub at {url}: {source}")]
    Unreachable {
        /// The hub's URL.
        url: String,
        /// The transport error.
        #[source]
        source: reqwest::Error,
    },
    /// The hub answered with a status other than 2xx.
    #[error("the WebSub hub at {url} refused the {mode} request with HTTP {status}: {body}")]
    Refused {
        /// The hub's URL.
        url: String,
        /// subscribe, unsubscribe or publish.
        mode: &'static str,
        /// The HTTP status.
        status: u16,
        /// The start of the response body, which hubs use for the reason.
        body: String,
    },
}

impl HubError {
    /// Whether trying again later may succeed: transport errors, 429 and 5xx.
    pub fn is_transient(&self) -> bool {
        match self {
            HubError::Unreachable { .. } => true,
            HubError::Refused { status, .. } => *status == 429 || *status >= 500,
        }
    }
}

/// A subscription request.
#[derive(Debug, Clone, Copy)]
pub struct SubscribeRequest<'a> {
    /// The feed to follow.
    pub topic: &'a Url,
    /// Where the hub sends verifications and notifications.
    pub callback: &'a Url,
    /// The secret the hub signs notifications with.
    pub secret: &'a Secret,
    /// The lease asked for; the hub may grant another.
    pub lease_seconds: u64,
}

/// A client for one WebSub hub.
#[derive(Debug, Clone)]
pub struct HubClient {
    http: reqwest::Client,
    hub: Url,
}

impl HubClient {
    /// A client for the hub at `hub` (for YouTube, `https://pubsubhubbub.appspot.com/subscribe`),
    /// sending with `http`, whose timeouts apply.
    pub fn new(http: reqwest::Client, hub: Url) -> Self {
        Self { http, hub }
    }

    /// The hub's URL.
    pub fn hub_url(&self) -> &Url {
        &self.hub
    }

    /// Asks the hub to subscribe `callback` to `topic`. Success means the hub accepted the
    /// request (202); the subscription is real only once the hub's verification is answered.
    #[tracing::instrument(skip_all, fields(hub = %self.hub, topic = %request.topic))]
    pub async fn subscribe(&self, request: &SubscribeRequest<'_>) -> Result<(), HubError> {
        let lease = request.lease_seconds.to_string();
        let form = [
            ("hub.mode", "subscribe"),
            ("hub.topic", request.topic.as_str()),
            ("hub.callback", request.callback.as_str()),
            ("hub.verify", "async"),
            ("hub.secret", request.secret.expose()),
            ("hub.lease_seconds", &lease),
        ];
        self.post("subscribe", &form).await
    }

    /// Asks the hub to end the subscription of `callback` to `topic`.
    #[tracing::instrument(skip_all, fields(hub = %self.hub, topic = %topic))]
    pub async fn unsubscribe(&self, topic: &Url, callback: &Url) -> Result<(), HubError> {
        let form = [
            ("hub.mode", "unsubscribe"),
            ("hub.topic", topic.as_str()),
            ("hub.callback", callback.as_str()),
            ("hub.verify", "async"),
        ];
        self.post("unsubscribe", &form).await
    }

    /// Tells the hub that `topic` changed, so it fetches and distributes it. Only hubs that
    /// accept publishers support this (YouTube's accepts only YouTube).
    #[tracing::instrument(skip_all, fields(hub = %self.hub, topic = %topic))]
    pub async fn publish(&self, topic: &Url) -> Result<(), HubError> {
        self.post(
            "publish",
            &[("hub.mode", "publish"), ("hub.topic", topic.as_str())],
        )
        .await
    }

    async fn post(&self, mode: &'static str, form: &[(&str, &str)]) -> Result<(), HubError> {
        let unreachable = |source| HubError::Unreachable {
            url: self.hub.to_string(),
            source,
        };
        let response = self
            .http
            .post(self.hub.clone())
            .form(form)
            .send()
            .await
            .map_err(unreachable)?;
        let status = response.status();
        if status.is_success() {
            return Ok(());
        }
        let body = response.text().await.unwrap_or_default();
        Err(HubError::Refused {
            url: self.hub.to_string(),
            mode,
            status: status.as_u16(),
            body: body.trim().chars().take(MAX_ERROR_BODY).collect(),
        })
    }
}
