-- The pipeline's stored outputs: the media file a video's audio comes from, its transcript, and
-- its draft with revisions. Each step stores its output before the next step's job is enqueued.

ALTER TABLE videos ADD COLUMN media_path TEXT;
ALTER TABLE videos ADD COLUMN error TEXT;

CREATE TABLE transcripts (
    video_id BIGINT PRIMARY KEY REFERENCES videos (id) ON DELETE CASCADE,
    language TEXT,
    model TEXT NOT NULL,
    body TEXT NOT NULL,
    created_at BIGINT NOT NULL
);

CREATE TABLE drafts (
    id INTEGER PRIMARY KEY,
    video_id BIGINT NOT NULL UNIQUE REFERENCES videos (id) ON DELETE CASCADE,
    user_id BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    title TEXT NOT NULL,
    slug TEXT NOT NULL,
    body TEXT NOT NULL,
    markdown TEXT NOT NULL,
    html TEXT NOT NULL,
    header_image TEXT,
    header_note TEXT,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);

CREATE TABLE draft_revisions (
    id INTEGER PRIMARY KEY,
    draft_id BIGINT NOT NULL REFERENCES drafts (id) ON DELETE CASCADE,
    revision BIGINT NOT NULL,
    author TEXT NOT NULL,
    markdown TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    UNIQUE (draft_id, revision)
);
