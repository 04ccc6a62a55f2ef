//! The draft editor: title, slug, meta description (with a live count against 160), tags and
//! the Markdown body, with a preview rendered the way the export renders (pulldown-cmark +
//! ammonia), the transcript with timestamps beside it, revisions with a diff and restore, and a
//! version number in the form so a second tab's save gets a conflict instead of overwriting.

use askama::Template;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{Html, IntoResponse, Redirect};
use axum::routing::{get, post};
use axum::{Form, Router};
use serde::Deserialize;
use vidpress_core::Slug;
use vidpress_store::draft_edits::{DraftEdit, EditableDraft, Revision, SaveOutcome};
use vidpress_store::{User, Video};

use super::{Layout, PageError, PageResult, flash, format_time, is_partial, render, render_with};
use crate::auth::CurrentUser;
use crate::{AppError, AppState};

/// Longest title accepted.
pub const TITLE_MAX: usize = 200;
/// Longest meta description accepted (what search engines show).
pub const DESCRIPTION_MAX: usize = 160;
/// Most tags, and the longest tag.
pub const TAGS_MAX: usize = 20;
pub const TAG_MAX: usize = 50;

pub(super) fn router() -> Router<AppState> {
    Router::new()
        .route("/drafts/{id}", get(editor).post(save))
        .route("/drafts/{id}/preview", post(preview))
        .route("/drafts/{id}/revisions", get(revisions))
        .route("/drafts/{id}/revisions/{revision}", get(revision))
        .route("/drafts/{id}/revisions/{revision}/restore", post(restore))
        .route(
            "/drafts/{id}/image",
            get(header_image).post(regenerate_image),
        )
}

/// One line of the transcript pane.
pub struct TranscriptLine {
    pub time: String,
    /// Opens the video at this moment (YouTube's privacy-enhanced player).
    pub link: Option<String>,
    pub text: String,
}

/// Errors beside the editor's fields.
#[derive(Debug, Default)]
pub struct EditorErrors {
    pub title: Option<String>,
    pub slug: Option<String>,
    pub description: Option<String>,
    pub tags: Option<String>,
}

impl EditorErrors {
    fn any(&self) -> bool {
        self.title.is_some()
            || self.slug.is_some()
            || self.description.is_some()
            || self.tags.is_some()
    }
}

#[derive(Template)]
#[template(path = "draft.html")]
struct EditorPage {
    layout: Layout,
    id: i64,
    video_title: String,
    version: i64,
    title: String,
    slug: String,
    description: String,
    description_len: usize,
    description_max: usize,
    tags: String,
    markdown: String,
    preview: String,
    errors: EditorErrors,
    conflict: Option<String>,
    transcript: Vec<TranscriptLine>,
    header_note: Option<String>,
    /// The header image's address (with a version so a new picture is not served from cache).
    header_image: Option<String>,
    header_square: Option<String>,
    styles: Vec<StyleChoice>,
    saved_at: String,
    export_url: Option<String>,
    connections: Vec<ExportChoice>,
    exports: Vec<ExportRow>,
    has_transcript: bool,
    /// The user's time zone, in which a scheduled export's time is read.
    time_zone: String,
    /// The earliest time a post can be scheduled for, as the `datetime-local` input writes it.
    schedule_min: String,
}

/// The earliest local time the export form offers for a scheduled post.
fn schedule_min(time_zone: &str) -> String {
    let tz = jiff::tz::TimeZone::get(time_zone).unwrap_or(jiff::tz::TimeZone::UTC);
    let lead = jiff::SignedDuration::try_from(vidpress_publish::MIN_SCHEDULE_LEAD)
        .unwrap_or(jiff::SignedDuration::ZERO);
    jiff::Timestamp::now()
        .saturating_add(lead)
        .map(|t| t.to_zoned(tz).strftime("%Y-%m-%dT%H:%M").to_string())
        .unwrap_or_default()
}

/// A header style in the image panel's picker.
pub struct StyleChoice {
    pub name: &'static str,
    pub selected: bool,
}

/// A connection the editor can send to.
pub struct ExportChoice {
    pub id: i64,
    pub label: String,
}

/// One export of the draft, as the editor lists it.
pub struct ExportRow {
    pub connection: String,
    pub state: &'static str,
    pub state_words: &'static str,
    pub remote_url: Option<String>,
    pub when: String,
    pub message: Option<String>,
}

/// The user's connections and this draft's exports.
async fn export_parts(
    state: &AppState,
    user: &User,
    draft_id: i64,
) -> Result<(Vec<ExportChoice>, Vec<ExportRow>), PageError> {
    use vidpress_store::exports::ExportState;
    if state.dashboard.exporters.is_none() {
        return Ok((Vec::new(), Vec::new()));
    }
    let connections = state
        .store
        .connections(user.id)
        .await?
        .into_iter()
        .map(|c| ExportChoice {
            id: c.id,
            label: format!("{} ({})", c.name, c.kind.label()),
        })
        .collect();
    let exports = state
        .store
        .exports_for_draft(user.id, draft_id)
        .await?
        .into_iter()
        .map(|e| ExportRow {
            connection: e.connection_name,
            state: e.state.as_str(),
            state_words: match e.state {
                ExportState::Queued => "queued",
                ExportState::Running => "sending",
                ExportState::Succeeded => "exported",
                ExportState::Failed => "failed",
            },
            remote_url: e.remote_url.filter(|u| u.starts_with("http")),
            when: match (e.exported_at, e.publish_at) {
                (Some(_), Some(publish_at)) if e.state == ExportState::Succeeded => {
                    format!("scheduled for {}", format_time(publish_at, user))
                }
                (Some(at), _) if e.state == ExportState::Succeeded => format_time(at, user),
                _ => format!("asked {}", format_time(e.requested_at, user)),
            },
            message: e.message,
        })
        .collect();
    Ok((connections, exports))
}

async fn owned_draft(
    state: &AppState,
    user: &User,
    id: i64,
) -> Result<(EditableDraft, Video), PageError> {
    let draft = state
        .store
        .draft_for_user(user.id, id)
        .await?
        .ok_or(PageError::from(AppError::NotFound))?;
    let video = state
        .store
        .video_for_user(user.id, draft.video_id)
        .await?
        .ok_or(PageError::from(AppError::NotFound))?;
    Ok((draft, video))
}

/// `m:ss` or `h:mm:ss`.
pub fn timestamp(ms: u64) -> String {
    let s = ms / 1000;
    if s >= 3600 {
        format!("{}:{:02}:{:02}", s / 3600, s / 60 % 60, s % 60)
    } else {
        format!("{}:{:02}", s / 60, s % 60)
    }
}

/// The transcript's segments with their times; a YouTube video's times open its player there.
async fn transcript(state: &AppState, video: &Video) -> Result<Vec<TranscriptLine>, PageError> {
    let Some(stored) = state.store.transcript(video.id).await? else {
        return Ok(Vec::new());
    };
    let body: serde_json::Value = serde_json::from_str(&stored.body).unwrap_or_default();
    let youtube = video
        .youtube_id
        .as_deref()
        .and_then(|id| vidpress_core::VideoId::parse(id).ok());
    Ok(body["segments"]
        .as_array()
        .map(|segments| {
            segments
                .iter()
                .map(|s| {
                    let start = s["start_ms"].as_u64().unwrap_or(0);
                    TranscriptLine {
                        time: timestamp(start),
                        link: youtube.as_ref().map(|id| {
                            format!(
                                "https://www.youtube-nocookie.com/embed/{}?start={}&autoplay=1",
                                id.as_str(),
                                start / 1000
                            )
                        }),
                        text: s["text"].as_str().unwrap_or_default().trim().to_owned(),
                    }
                })
                .collect()
        })
        .unwrap_or_default())
}

struct Fields {
    title: String,
    slug: String,
    description: String,
    tags: String,
    markdown: String,
}

impl From<&EditableDraft> for Fields {
    fn from(d: &EditableDraft) -> Self {
        Fields {
            title: d.title.clone(),
            slug: d.slug.clone(),
            description: d.description.clone(),
            tags: d.tags.join(", "),
            markdown: d.markdown.clone(),
        }
    }
}

#[allow(
    clippy::too_many_arguments,
    reason = "one page's parts, named at the one call site each"
)]
async fn editor_page(
    state: &AppState,
    current: &CurrentUser,
    draft: &EditableDraft,
    video: &Video,
    fields: Fields,
    version: i64,
    errors: EditorErrors,
    conflict: Option<String>,
) -> PageResult {
    let status = if errors.any() || conflict.is_some() {
        if conflict.is_some() {
            StatusCode::CONFLICT
        } else {
            StatusCode::UNPROCESSABLE_ENTITY
        }
    } else {
        StatusCode::OK
    };
    let preview = vidpress_draft::render_html(&fields.markdown);
    let transcript = transcript(state, video).await?;
    let (connections, exports) = export_parts(state, &current.user, draft.id).await?;
    let stored = state.store.draft_for_video(video.id).await?;
    let style = stored
        .as_ref()
        .and_then(|d| vidpress_core::HeaderStyle::parse(&d.header_style))
        .unwrap_or_default();
    // The file name changes with every new picture, so it versions the address.
    let image_version = draft
        .header_image
        .as_deref()
        .and_then(|p| std::path::Path::new(p).file_stem())
        .map(|s| s.to_string_lossy().into_owned());
    let header_image = image_version
        .as_ref()
        .map(|v| format!("/drafts/{}/image?v={v}", draft.id));
    let header_square = image_version
        .as_ref()
        .map(|v| format!("/drafts/{}/image?size=square&v={v}", draft.id));
    let styles = vidpress_core::HeaderStyle::ALL
        .into_iter()
        .map(|s| StyleChoice {
            name: s.as_str(),
            selected: s == style,
        })
        .collect();
    Ok(render_with(
        status,
        &EditorPage {
            layout: Layout::new(current, format!("Edit “{}”", draft.title), "videos").await?,
            id: draft.id,
            video_title: super::videos::video_name(Some(&draft.title), &video.title),
            version,
            description_len: fields.description.chars().count(),
            description_max: DESCRIPTION_MAX,
            title: fields.title,
            slug: fields.slug,
            description: fields.description,
            tags: fields.tags,
            markdown: fields.markdown,
            preview,
            errors,
            conflict,
            has_transcript: !transcript.is_empty(),
            transcript,
            header_note: draft.header_note.clone(),
            header_image,
            header_square,
            styles,
            saved_at: format_time(draft.updated_at, &current.user),
            export_url: Some("#exports".to_owned()),
            connections,
            exports,
            time_zone: current.user.time_zone.clone(),
            schedule_min: schedule_min(&current.user.time_zone),
        },
    ))
}

#[tracing::instrument(skip_all, fields(draft = id))]
async fn editor(
    State(state): State<AppState>,
    current: CurrentUser,
    Path(id): Path<i64>,
) -> PageResult {
    let (draft, video) = owned_draft(&state, &current.user, id).await?;
    let fields = Fields::from(&draft);
    editor_page(
        &state,
        &current,
        &draft,
        &video,
        fields,
        draft.version,
        EditorErrors::default(),
        None,
    )
    .await
}

#[derive(Debug, Deserialize)]
struct EditorForm {
    version: i64,
    title: String,
    slug: String,
    #[serde(default)]
    description: String,
    #[serde(default)]
    tags: String,
    markdown: String,
    /// `preview` renders without saving (the no-script preview); anything else saves.
    #[serde(default)]
    action: String,
}

/// Checks the editor's fields; the tags come back split.
fn check(form: &EditorForm) -> (Vec<String>, EditorErrors) {
    let mut errors = EditorErrors::default();
    let title_len = form.title.trim().chars().count();
    if title_len == 0 {
        errors.title = Some("Give the post a title.".into());
    } else if title_len > TITLE_MAX {
        errors.title = Some(format!(
            "Keep the title to {TITLE_MAX} characters (this one has {title_len})."
        ));
    }
    let slug = form.slug.trim();
    if slug.is_empty() {
        errors.slug = Some("Give the post a slug: its address, like my-first-post.".into());
    } else if Slug::parse(slug).is_err() {
        errors.slug = Some(
            "Use lower-case letters, digits and single hyphens (like my-first-post), at most 80 characters."
                .into(),
        );
    }
    let description_len = form.description.trim().chars().count();
    if description_len > DESCRIPTION_MAX {
        errors.description = Some(format!(
            "Keep the description to {DESCRIPTION_MAX} characters (this one has {description_len}); search engines cut the rest."
        ));
    }
    let tags: Vec<String> = form
        .tags
        .split(',')
        .map(|t| t.trim().to_owned())
        .filter(|t| !t.is_empty())
        .collect();
    if tags.len() > TAGS_MAX {
        errors.tags = Some(format!("Use at most {TAGS_MAX} tags."));
    } else if let Some(long) = tags.iter().find(|t| t.chars().count() > TAG_MAX) {
        errors.tags = Some(format!(
            "Keep each tag to {TAG_MAX} characters (“{long}” is longer)."
        ));
    }
    (tags, errors)
}

#[tracing::instrument(skip_all, fields(draft = id))]
async fn save(
    State(state): State<AppState>,
    current: CurrentUser,
    Path(id): Path<i64>,
    Form(form): Form<EditorForm>,
) -> PageResult {
    let (draft, video) = owned_draft(&state, &current.user, id).await?;
    let (tags, mut errors) = check(&form);
    let fields = Fields {
        title: form.title.trim().to_owned(),
        slug: form.slug.trim().to_owned(),
        description: form.description.trim().to_owned(),
        tags: form.tags.clone(),
        markdown: form.markdown.clone(),
    };
    if form.action == "preview" || errors.any() {
        return editor_page(
            &state,
            &current,
            &draft,
            &video,
            fields,
            form.version,
            errors,
            None,
        )
        .await;
    }
    let html = vidpress_draft::render_html(&fields.markdown);
    let edit = DraftEdit {
        title: &fields.title,
        slug: &fields.slug,
        description: &fields.description,
        tags: &tags,
        markdown: &fields.markdown,
        html: &html,
    };
    let outcome = state
        .store
        .save_draft_edit(
            current.user.id,
            id,
            form.version,
            &edit,
            &current.user.email,
        )
        .await?
        .ok_or(PageError::from(AppError::NotFound))?;
    match outcome {
        SaveOutcome::Saved { revision, .. } => {
            flash(
                &current.session,
                "ok",
                format!("Saved as revision {revision}."),
            )
            .await;
            Ok(Redirect::to(&format!("/drafts/{id}")).into_response())
        }
        SaveOutcome::SlugTaken => {
            errors.slug = Some("Another of your posts has this slug; choose another.".into());
            editor_page(
                &state,
                &current,
                &draft,
                &video,
                fields,
                form.version,
                errors,
                None,
            )
            .await
        }
        SaveOutcome::Conflict { current: latest } => {
            let message = format!(
                "This draft was saved somewhere else (another tab or window?) after you opened it: \
                 it is now at version {latest}, you started from version {}. Nothing was saved. \
                 Your text is still below: copy what you changed, then open the latest version \
                 and apply it there.",
                form.version
            );
            editor_page(
                &state,
                &current,
                &draft,
                &video,
                fields,
                form.version,
                errors,
                Some(message),
            )
            .await
        }
    }
}

#[derive(Debug, Deserialize)]
struct PreviewForm {
    markdown: String,
}

/// The rendered preview of some Markdown, for the editor's script (a fragment; plain requests
/// are refused).
async fn preview(
    State(state): State<AppState>,
    current: CurrentUser,
    headers: HeaderMap,
    Path(id): Path<i64>,
    Form(form): Form<PreviewForm>,
) -> PageResult {
    if !is_partial(&headers) {
        return Err(
            AppError::BadRequest("This address answers the editor's script only.".into()).into(),
        );
    }
    owned_draft(&state, &current.user, id).await?;
    Ok(Html(vidpress_draft::render_html(&form.markdown)).into_response())
}

struct RevisionRow {
    revision: i64,
    author: String,
    at: String,
    title: String,
}

#[derive(Template)]
#[template(path = "revisions.html")]
struct RevisionsPage {
    layout: Layout,
    id: i64,
    title: String,
    rows: Vec<RevisionRow>,
}

async fn owned_revisions(
    state: &AppState,
    user: &User,
    id: i64,
) -> Result<Vec<Revision>, PageError> {
    state
        .store
        .revisions(user.id, id)
        .await?
        .ok_or(PageError::from(AppError::NotFound))
}

async fn revisions(
    State(state): State<AppState>,
    current: CurrentUser,
    Path(id): Path<i64>,
) -> PageResult {
    let (draft, _) = owned_draft(&state, &current.user, id).await?;
    let revisions = owned_revisions(&state, &current.user, id).await?;
    Ok(render(&RevisionsPage {
        layout: Layout::new(&current, "History", "videos").await?,
        id,
        title: draft.title.clone(),
        rows: revisions
            .iter()
            .map(|r| RevisionRow {
                revision: r.revision,
                author: r.author.clone(),
                at: format_time(r.created_at, &current.user),
                title: r.title.clone(),
            })
            .collect(),
    }))
}

/// One line of a diff: `add`, `del` or `same`, and its text.
pub struct DiffLine {
    pub kind: &'static str,
    pub text: String,
}

/// A line diff of two texts, with unchanged stretches trimmed to three lines of context.
pub fn diff_lines(old: &str, new: &str) -> Vec<DiffLine> {
    let diff = similar::TextDiff::from_lines(old, new);
    let mut lines = Vec::new();
    for group in diff.grouped_ops(3) {
        if !lines.is_empty() {
            lines.push(DiffLine {
                kind: "gap",
                text: "…".into(),
            });
        }
        for op in group {
            for change in diff.iter_changes(&op) {
                let kind = match change.tag() {
                    similar::ChangeTag::Insert => "add",
                    similar::ChangeTag::Delete => "del",
                    similar::ChangeTag::Equal => "same",
                };
                lines.push(DiffLine {
                    kind,
                    text: change.value().trim_end_matches('\n').to_owned(),
                });
            }
        }
    }
    lines
}

#[derive(Template)]
#[template(path = "revision.html")]
struct RevisionPage {
    layout: Layout,
    id: i64,
    revision: i64,
    author: String,
    at: String,
    /// (field, before, after) of changed single-line fields.
    changed: Vec<(&'static str, String, String)>,
    diff: Vec<DiffLine>,
    version: i64,
    is_current: bool,
}

async fn revision(
    State(state): State<AppState>,
    current: CurrentUser,
    Path((id, number)): Path<(i64, i64)>,
) -> PageResult {
    let (draft, _) = owned_draft(&state, &current.user, id).await?;
    let revisions = owned_revisions(&state, &current.user, id).await?;
    let index = revisions
        .iter()
        .position(|r| r.revision == number)
        .ok_or(PageError::from(AppError::NotFound))?;
    let this = &revisions[index];
    let empty = Revision {
        revision: 0,
        author: String::new(),
        created_at: 0,
        title: String::new(),
        slug: String::new(),
        description: String::new(),
        tags: Vec::new(),
        markdown: String::new(),
    };
    let before = revisions.get(index + 1).unwrap_or(&empty);
    let mut changed = Vec::new();
    for (name, old, new) in [
        ("Title", &before.title, &this.title),
        ("Slug", &before.slug, &this.slug),
        ("Description", &before.description, &this.description),
    ] {
        if old != new {
            changed.push((name, old.clone(), new.clone()));
        }
    }
    if before.tags != this.tags {
        changed.push(("Tags", before.tags.join(", "), this.tags.join(", ")));
    }
    Ok(render(&RevisionPage {
        layout: Layout::new(&current, format!("Revision {number}"), "videos").await?,
        id,
        revision: number,
        author: this.author.clone(),
        at: format_time(this.created_at, &current.user),
        changed,
        diff: diff_lines(&before.markdown, &this.markdown),
        version: draft.version,
        is_current: index == 0,
    }))
}

#[derive(Debug, Deserialize)]
struct RestoreForm {
    version: i64,
}

/// Restores a revision by saving its content as a new revision (history is never rewritten).
async fn restore(
    State(state): State<AppState>,
    current: CurrentUser,
    Path((id, number)): Path<(i64, i64)>,
    Form(form): Form<RestoreForm>,
) -> PageResult {
    owned_draft(&state, &current.user, id).await?;
    let revisions = owned_revisions(&state, &current.user, id).await?;
    let old = revisions
        .iter()
        .find(|r| r.revision == number)
        .ok_or(PageError::from(AppError::NotFound))?;
    let html = vidpress_draft::render_html(&old.markdown);
    let edit = DraftEdit {
        title: &old.title,
        slug: &old.slug,
        description: &old.description,
        tags: &old.tags,
        markdown: &old.markdown,
        html: &html,
    };
    let author = format!("{} (restored revision {number})", current.user.email);
    let outcome = state
        .store
        .save_draft_edit(current.user.id, id, form.version, &edit, &author)
        .await?
        .ok_or(PageError::from(AppError::NotFound))?;
    let message = match outcome {
        SaveOutcome::Saved { revision, .. } => {
            flash(&current.session, "ok", format!("Revision {number} restored as revision {revision}.")).await;
            return Ok(Redirect::to(&format!("/drafts/{id}")).into_response());
        }
        SaveOutcome::SlugTaken => format!(
            "Revision {number}'s slug “{}” is now used by another of your posts; change the slug in the editor instead.",
            old.slug
        ),
        SaveOutcome::Conflict { .. } => {
            "The draft was saved elsewhere while you looked at this revision. Open the history again and retry.".into()
        }
    };
    flash(&current.session, "error", message).await;
    Ok(Redirect::to(&format!("/drafts/{id}/revisions")).into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_read_like_a_player() {
        assert_eq!(timestamp(0), "0:00");
        assert_eq!(timestamp(83_500), "1:23");
        assert_eq!(timestamp(3_723_000), "1:02:03");
    }

    #[test]
    fn diffs_show_changed_lines_with_context() {
        let lines = diff_lines("a\nb\nc\n", "a\nB\nc\n");
        let kinds: Vec<_> = lines.iter().map(|l| (l.kind, l.text.as_str())).collect();
        assert_eq!(
            kinds,
            [("same", "a"), ("del", "b"), ("add", "B"), ("same", "c")]
        );
    }
}

#[derive(Debug, Deserialize)]
struct ImageQuery {
    #[serde(default)]
    size: Option<String>,
}

/// The draft's header image (or `?size=square`), for its owner only.
#[tracing::instrument(skip_all, fields(draft = id))]
async fn header_image(
    State(state): State<AppState>,
    current: CurrentUser,
    Path(id): Path<i64>,
    axum::extract::Query(query): axum::extract::Query<ImageQuery>,
) -> Result<axum::response::Response, PageError> {
    let (_, video) = owned_draft(&state, &current.user, id).await?;
    let size = crate::header_images::ImageSize::from_query(query.size.as_deref());
    Ok(crate::header_images::image_response(&state, current.user.id, video.id, size).await?)
}

#[derive(Debug, Deserialize)]
struct RegenerateForm {
    #[serde(default)]
    style: String,
}

/// The image panel's "Regenerate": a new seed, in the style picked.
#[tracing::instrument(skip_all, fields(draft = id))]
async fn regenerate_image(
    State(state): State<AppState>,
    current: CurrentUser,
    Path(id): Path<i64>,
    Form(form): Form<RegenerateForm>,
) -> PageResult {
    let (_, video) = owned_draft(&state, &current.user, id).await?;
    match crate::header_images::request_regeneration(
        &state,
        current.user.id,
        video.id,
        Some(&form.style),
        None,
    )
    .await
    {
        Ok(queued) => {
            flash(
                &current.session,
                "ok",
                format!(
                    "A new header image ({} style) is being made; the current one stays until it is ready.",
                    queued.style
                ),
            )
            .await;
        }
        Err(AppError::BadRequest(message)) => flash(&current.session, "error", message).await,
        Err(e) => return Err(e.into()),
    }
    Ok(Redirect::to(&format!("/drafts/{id}#header-heading")).into_response())
}
