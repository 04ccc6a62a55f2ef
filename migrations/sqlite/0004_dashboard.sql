-- The dashboard: accounts with roles and time zones, sessions stored in the database (any web
-- node answers), per-user API tokens (only a hash is stored), and the draft editor's fields,
-- version (for conflict detection between two tabs) and full revisions.

ALTER TABLE users ADD COLUMN is_admin BIGINT NOT NULL DEFAULT 0;
ALTER TABLE users ADD COLUMN time_zone TEXT NOT NULL DEFAULT 'UTC';

-- id_hash: SHA-256 of the session id in the cookie, so a copy of this table opens no session.
CREATE TABLE sessions (
    id_hash TEXT PRIMARY KEY,
    user_id BIGINT REFERENCES users (id) ON DELETE CASCADE,
    data TEXT NOT NULL,
    expires_at BIGINT NOT NULL
);
CREATE INDEX sessions_by_user ON sessions (user_id);
CREATE INDEX sessions_by_expiry ON sessions (expires_at);

CREATE TABLE api_tokens (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    token_hash TEXT NOT NULL UNIQUE,
    prefix TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    last_used_at BIGINT
);
CREATE INDEX api_tokens_by_user ON api_tokens (user_id);

ALTER TABLE drafts ADD COLUMN description TEXT;
ALTER TABLE drafts ADD COLUMN tags TEXT;
ALTER TABLE drafts ADD COLUMN version BIGINT NOT NULL DEFAULT 1;
CREATE INDEX drafts_by_user ON drafts (user_id, slug);

ALTER TABLE draft_revisions ADD COLUMN title TEXT;
ALTER TABLE draft_revisions ADD COLUMN slug TEXT;
ALTER TABLE draft_revisions ADD COLUMN description TEXT;
ALTER TABLE draft_revisions ADD COLUMN tags TEXT;

-- The video list: newest first per user, optionally by state or channel.
CREATE INDEX videos_by_user ON videos (user_id, id);
CREATE INDEX videos_by_user_state ON videos (user_id, state, id);
CREATE INDEX videos_by_channel ON videos (channel_id, id);
