//! What the JSON API and the dashboard share about exports: checking and adding a connection
//! (its secret sealed at once), testing one, queueing an export, and rendering a draft as a
//! downloadable file. Every function takes the acting user and reaches only that user's rows.

use axum::http::header;
use axum::response::{IntoResponse, Response};
use vidpress_publish::files::{FileDraft, FileFormat};
use vidpress_publish::{Exporters, PostStatus, Secret, SiteKind};
use vidpress_store::UserId;
use vidpress_store::exports::{Connection, ConnectionKind, ExportRequest, NewConnection};

use crate::{AppError, AppState};

/// The exporters, or a message that this server has none.
pub(crate) fn exporters(state: &AppState) -> Result<&Exporters, AppError> {
    state
        .dashboard
        .exporters
        .as_ref()
        .ok_or_else(|| AppError::BadRequest("exporting is not set up on this server".to_owned()))
}

pub(crate) fn site_kind(kind: ConnectionKind) -> SiteKind {
    match kind {
        ConnectionKind::WordPress => SiteKind::WordPress,
        ConnectionKind::Ghost => SiteKind::Ghost,
    }
}

/// A connection as entered.
#[derive(Debug, Default, serde::Deserialize)]
pub(crate) struct ConnectionInput {
    #[serde(default)]
    pub kind: String,
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub url: String,
    #[serde(default)]
    pub username: String,
    /// Skipped by `Debug` through [`Secret`] once read; the raw form value is dropped at once.
    #[serde(default)]
    pub secret: SecretField,
}

/// A secret form field whose `Debug` never shows it.
#[derive(Default, serde::Deserialize)]
#[serde(transparent)]
pub(crate) struct SecretField(pub String);

impl std::fmt::Debug for SecretField {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("[redacted]")
    }
}

/// What is wrong with each field of a connection form.
#[derive(Debug, Default)]
pub struct ConnectionErrors {
    pub kind: Option<String>,
    pub name: Option<String>,
    pub url: Option<String>,
    pub username: Option<String>,
    pub secret: Option<String>,
}

impl ConnectionErrors {
    pub(crate) fn any(&self) -> bool {
        self.kind.is_some()
            || self.name.is_some()
            || self.url.is_some()
            || self.username.is_some()
            || self.secret.is_some()
    }

    /// All messages in one line (for the JSON API).
    pub(crate) fn summary(&self) -> String {
        [
            &self.kind,
            &self.name,
            &self.url,
            &self.username,
            &self.secret,
        ]
        .into_iter()
        .flatten()
        .cloned()
        .collect::<Vec<_>>()
        .join(" ")
    }
}

/// Checks and stores a connection; answers its id, or what is wrong with the fields.
pub(crate) async fn add_connection(
    state: &AppState,
    user: UserId,
    input: &ConnectionInput,
) -> Result<Result<i64, ConnectionErrors>, AppError> {
    let exporters = exporters(state)?;
    let mut errors = ConnectionErrors::default();
    let kind = ConnectionKind::parse(&input.kind);
    if kind.is_none() {
        errors.kind = Some("Choose WordPress or Ghost.".into());
    }
    let name = input.name.trim();
    if name.is_empty() || name.chars().count() > 60 {
        errors.name = Some("Give the connection a name of 1 to 60 characters.".into());
    } else if state.store.connection_by_name(user, name).await?.is_some() {
        errors.name = Some(format!("You already have a connection named “{name}”."));
    }
    let url = match exporters.parse_url(&input.url) {
        Ok(url) => Some(url),
        Err(e) => {
            errors.url = Some(e.to_string());
            None
        }
    };
    let username = input.username.trim();
    if kind == Some(ConnectionKind::WordPress) && username.is_empty() {
        errors.username =
            Some("Enter the WordPress username the Application Password belongs to.".into());
    }
    let secret = Secret::new(input.secret.0.trim());
    if secret.expose().is_empty() {
        errors.secret = Some(match kind {
            Some(ConnectionKind::Ghost) => "Paste the Admin API key.".into(),
            _ => "Paste the Application Password.".into(),
        });
    } else if kind == Some(ConnectionKind::Ghost)
        && let Err(e) = vidpress_publish::GhostKey::parse(&secret)
    {
        errors.secret = Some(e.to_string());
    }
    let (Some(kind), Some(url)) = (kind, url) else {
        return Ok(Err(errors));
    };
    if errors.any() {
        return Ok(Err(errors));
    }
    let sealed = exporters.seal(&secret, user.0);
    let created = state
        .store
        .create_connection(
            user,
            &NewConnection {
                kind,
                name,
                url: url.as_str(),
                username: (kind == ConnectionKind::WordPress).then_some(username),
                sealed_secret: &sealed,
            },
        )
        .await?;
    Ok(created.ok_or_else(|| ConnectionErrors {
        name: Some(format!("You already have a connection named “{name}”.")),
        ..ConnectionErrors::default()
    }))
}

/// Tests one of the user's connections and records the outcome: (worked, message).
pub(crate) async fn test_connection(
    state: &AppState,
    connection: &Connection,
) -> Result<(bool, String), AppError> {
    let exporters = exporters(state)?;
    let outcome = match exporters.open(&connection.sealed_secret, connection.user_id.0) {
        Err(e) => Err(e.to_string()),
        Ok(secret) => match exporters.connect(
            site_kind(connection.kind),
            &connection.url,
            connection.username.as_deref(),
            &secret,
        ) {
            Err(e) => Err(e.to_string()),
            Ok(publisher) => publisher.test().await.map_err(|e| e.to_string()),
        },
    };
    let (ok, message) = match outcome {
        Ok(message) => (true, message),
        Err(message) => (false, message),
    };
    state
        .store
        .record_connection_test(connection.user_id, connection.id, ok, &message)
        .await?;
    Ok((ok, message))
}

/// Queues an export of one of the user's drafts to one of the user's connections.
pub(crate) async fn request_export(
    state: &AppState,
    user: UserId,
    draft_id: i64,
    connection_id: i64,
    status: PostStatus,
) -> Result<i64, AppError> {
    exporters(state)?;
    let status = status
        .check_ahead_of(time::OffsetDateTime::now_utc())
        .map_err(AppError::BadRequest)?;
    if state.store.draft_for_user(user, draft_id).await?.is_none() {
        return Err(AppError::NotFound);
    }
    let connection = state
        .store
        .connection_for_user(user, connection_id)
        .await?
        .ok_or_else(|| AppError::BadRequest("there is no such connection".into()))?;
    match state
        .store
        .request_export(
            user,
            draft_id,
            connection.id,
            status.as_str(),
            status.publish_at_ms(),
            state.api.max_attempts,
        )
        .await?
    {
        ExportRequest::Queued { export_id, .. } => {
            state.wake_workers();
            Ok(export_id)
        }
        ExportRequest::AlreadyRunning { .. } => Err(AppError::BadRequest(format!(
            "this draft is already being exported to “{}”; wait for that export to finish",
            connection.name
        ))),
    }
}

/// One of the user's drafts as a file download (`markdown`, `html`, `srt` or `vtt`).
pub(crate) async fn download(
    state: &AppState,
    user: UserId,
    draft_id: i64,
    format: &str,
) -> Result<Response, AppError> {
    let format = FileFormat::parse(format).map_err(|_| AppError::NotFound)?;
    let draft = state
        .store
        .draft_for_user(user, draft_id)
        .await?
        .ok_or(AppError::NotFound)?;
    let transcript = match state.store.transcript(draft.video_id).await? {
        Some(stored) => serde_json::from_str::<vidpress_core::Transcript>(&stored.body).ok(),
        None => None,
    };
    let date = jiff::Timestamp::from_millisecond(draft.updated_at)
        .map(|t| t.strftime("%Y-%m-%dT%H:%M:%SZ").to_string())
        .unwrap_or_default();
    let file = FileDraft {
        title: &draft.title,
        slug: &draft.slug,
        description: &draft.description,
        tags: &draft.tags,
        date: &date,
        markdown: &draft.markdown,
        html: &draft.html,
        image: None,
    };
    let text = vidpress_publish::files::render(format, &file, transcript.as_ref())
        .map_err(|e| AppError::BadRequest(e.to_string()))?;
    let name = format!("{}.{}", draft.slug, format.extension());
    Ok((
        [
            (header::CONTENT_TYPE, format.content_type().to_owned()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{name}\""),
            ),
        ],
        text,
    )
        .into_response())
}
