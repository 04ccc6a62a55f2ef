//! Editing drafts: the editor's fields, saving with a version check (two tabs on one draft get
//! a conflict instead of one silently overwriting the other), and revisions with restore.
//! Every function takes the owner and filters by it.

use sqlx::Row;
use sqlx::any::AnyRow;

use crate::{Store, StoreError, UserId, VideoKey, now_ms};

/// A draft as the editor shows it.
#[derive(Debug, Clone)]
pub struct EditableDraft {
    pub id: i64,
    pub video_id: VideoKey,
    pub title: String,
    pub slug: String,
    pub description: String,
    pub tags: Vec<String>,
    pub markdown: String,
    pub html: String,
    pub header_image: Option<String>,
    pub header_note: Option<String>,
    /// Grows by one with every save; a save names the version it started from.
    pub version: i64,
    pub updated_at: i64,
}

/// The fields a save writes.
#[derive(Debug, Clone, Copy)]
pub struct DraftEdit<'a> {
    pub title: &'a str,
    pub slug: &'a str,
    pub description: &'a str,
    pub tags: &'a [String],
    pub markdown: &'a str,
    /// The rendered, sanitised HTML of `markdown`.
    pub html: &'a str,
}

/// What a save did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SaveOutcome {
    /// Saved as this revision; the draft is now at `version`.
    Saved { revision: i64, version: i64 },
    /// The draft changed since `expected` (another tab saved): nothing was written.
    Conflict { current: i64 },
    /// Another of the user's drafts has this slug: nothing was written.
    SlugTaken,
}

/// A revision in a draft's history.
#[derive(Debug, Clone)]
pub struct Revision {
    pub revision: i64,
    pub author: String,
    pub created_at: i64,
    pub title: String,
    pub slug: String,
    pub description: String,
    pub tags: Vec<String>,
    pub markdown: String,
}

/// Values a pipeline-made draft keeps in its structured body (before its first edit).
struct BodyFields {
    title: String,
    slug: String,
    description: String,
    tags: Vec<String>,
}

fn body_fields(body: &str) -> BodyFields {
    let value: serde_json::Value = serde_json::from_str(body).unwrap_or_default();
    let text = |key: &str| value[key].as_str().unwrap_or_default().to_owned();
    BodyFields {
        title: text("title"),
        slug: text("slug"),
        description: text("description"),
        tags: value["tags"]
            .as_array()
            .map(|tags| {
                tags.iter()
                    .filter_map(|t| t.as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default(),
    }
}

fn tags_from_text(text: Option<String>) -> Option<Vec<String>> {
    text.and_then(|t| serde_json::from_str(&t).ok())
}

fn tags_to_text(tags: &[String]) -> String {
    serde_json::to_string(tags).unwrap_or_else(|_| "[]".to_owned())
}

fn draft_from_row(row: &AnyRow) -> Result<EditableDraft, StoreError> {
    let body: String = row.try_get("body")?;
    let description: Option<String> = row.try_get("description")?;
    let tags: Option<String> = row.try_get("tags")?;
    // A draft never edited keeps its description and tags in the pipeline's structured body.
    let (description, tags) = match (description, tags_from_text(tags)) {
        (Some(d), Some(t)) => (d, t),
        (d, t) => {
            let fields = body_fields(&body);
            (d.unwrap_or(fields.description), t.unwrap_or(fields.tags))
        }
    };
    Ok(EditableDraft {
        id: row.try_get("id")?,
        video_id: VideoKey(row.try_get("video_id")?),
        title: row.try_get("title")?,
        slug: row.try_get("slug")?,
        description,
        tags,
        markdown: row.try_get("markdown")?,
        html: row.try_get("html")?,
        header_image: row.try_get("header_image")?,
        header_note: row.try_get("header_note")?,
        version: row.try_get("version")?,
        updated_at: row.try_get("updated_at")?,
    })
}

const DRAFT_COLUMNS: &str = "id, video_id, title, slug, description, tags, body, markdown, html, \
     header_image, header_note, version, updated_at";

impl Store {
    /// One of the user's drafts; `None` when it does not exist or belongs to someone else.
    pub async fn draft_for_user(
        &self,
        user: UserId,
        id: i64,
    ) -> Result<Option<EditableDraft>, StoreError> {
        let row = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {DRAFT_COLUMNS} FROM drafts WHERE id = $1 AND user_id = $2"
        )))
        .bind(id)
        .bind(user.0)
        .fetch_optional(self.pool())
        .await?;
        row.as_ref().map(draft_from_row).transpose()
    }

    /// Saves an edit as a new revision, if the draft is still at `expected_version` and the
    /// slug is not another of the user's drafts'. `author` is recorded with the revision.
    pub async fn save_draft_edit(
        &self,
        user: UserId,
        id: i64,
        expected_version: i64,
        edit: &DraftEdit<'_>,
        author: &str,
    ) -> Result<Option<SaveOutcome>, StoreError> {
        let now = now_ms();
        let mut tx = self.begin().await?;
        let Some(current) =
            sqlx::query("SELECT version FROM drafts WHERE id = $1 AND user_id = $2")
                .bind(id)
                .bind(user.0)
                .fetch_optional(&mut *tx)
                .await?
        else {
            return Ok(None);
        };
        let current: i64 = current.try_get("version")?;
        if current != expected_version {
            return Ok(Some(SaveOutcome::Conflict { current }));
        }
        let taken =
            sqlx::query("SELECT id FROM drafts WHERE user_id = $1 AND slug = $2 AND id <> $3")
                .bind(user.0)
                .bind(edit.slug)
                .bind(id)
                .fetch_optional(&mut *tx)
                .await?;
        if taken.is_some() {
            return Ok(Some(SaveOutcome::SlugTaken));
        }
        let tags = tags_to_text(edit.tags);
        let updated = sqlx::query(
            "UPDATE drafts SET title = $1, slug = $2, description = $3, tags = $4, markdown = $5, \
             html = $6, version = version + 1, updated_at = $7 \
             WHERE id = $8 AND user_id = $9 AND version = $10",
        )
        .bind(edit.title)
        .bind(edit.slug)
        .bind(edit.description)
        .bind(&tags)
        .bind(edit.markdown)
        .bind(edit.html)
        .bind(now)
        .bind(id)
        .bind(user.0)
        .bind(expected_version)
        .execute(&mut *tx)
        .await?;
        if updated.rows_affected() != 1 {
            return Ok(Some(SaveOutcome::Conflict { current }));
        }
        let next = sqlx::query(
            "SELECT COALESCE(MAX(revision), 0) + 1 AS next FROM draft_revisions WHERE draft_id = $1",
        )
        .bind(id)
        .fetch_one(&mut *tx)
        .await?;
        let revision: i64 = next.try_get("next")?;
        sqlx::query(
            "INSERT INTO draft_revisions (draft_id, revision, author, markdown, title, slug, \
             description, tags, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        )
        .bind(id)
        .bind(revision)
        .bind(author)
        .bind(edit.markdown)
        .bind(edit.title)
        .bind(edit.slug)
        .bind(edit.description)
        .bind(&tags)
        .bind(now)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(Some(SaveOutcome::Saved {
            revision,
            version: expected_version + 1,
        }))
    }

    /// A draft's revisions, newest first; `None` when the user has no such draft.
    pub async fn revisions(
        &self,
        user: UserId,
        draft: i64,
    ) -> Result<Option<Vec<Revision>>, StoreError> {
        let Some(body) = sqlx::query("SELECT body FROM drafts WHERE id = $1 AND user_id = $2")
            .bind(draft)
            .bind(user.0)
            .fetch_optional(self.pool())
            .await?
        else {
            return Ok(None);
        };
        let fields = body_fields(&body.try_get::<String, _>("body")?);
        let rows = sqlx::query(
            "SELECT revision, author, created_at, title, slug, description, tags, markdown \
             FROM draft_revisions WHERE draft_id = $1 ORDER BY revision DESC",
        )
        .bind(draft)
        .fetch_all(self.pool())
        .await?;
        rows.iter()
            .map(|row| {
                // The pipeline's revision keeps its fields in the draft's structured body.
                let title: Option<String> = row.try_get("title")?;
                let slug: Option<String> = row.try_get("slug")?;
                let description: Option<String> = row.try_get("description")?;
                let tags = tags_from_text(row.try_get("tags")?);
                Ok(Revision {
                    revision: row.try_get("revision")?,
                    author: row.try_get("author")?,
                    created_at: row.try_get("created_at")?,
                    title: title.unwrap_or_else(|| fields.title.clone()),
                    slug: slug.unwrap_or_else(|| fields.slug.clone()),
                    description: description.unwrap_or_else(|| fields.description.clone()),
                    tags: tags.unwrap_or_else(|| fields.tags.clone()),
                    markdown: row.try_get("markdown")?,
                })
            })
            .collect::<Result<Vec<_>, StoreError>>()
            .map(Some)
    }
}
