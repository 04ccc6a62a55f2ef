-- Export: each user's connections to WordPress and Ghost sites, and where each draft was exported.
-- A connection's secret (Application Password or Admin API key) is stored only sealed with the
-- server's secret key. An export row is one draft on one connection: it keeps the remote post's
-- id (so exporting again updates that post), its URL, Ghost's updated_at, the uploaded image,
-- and the state and message of the latest export.

CREATE TABLE connections (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    kind TEXT NOT NULL,
    name TEXT NOT NULL,
    url TEXT NOT NULL,
    username TEXT,
    sealed_secret TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    tested_at BIGINT,
    test_ok BIGINT,
    test_message TEXT,
    UNIQUE (user_id, name)
);

CREATE TABLE exports (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    draft_id BIGINT NOT NULL REFERENCES drafts (id) ON DELETE CASCADE,
    connection_id BIGINT NOT NULL REFERENCES connections (id) ON DELETE CASCADE,
    post_status TEXT NOT NULL,
    state TEXT NOT NULL,
    job_id BIGINT,
    remote_id TEXT,
    remote_url TEXT,
    remote_updated_at TEXT,
    remote_image TEXT,
    message TEXT,
    requested_at BIGINT NOT NULL,
    exported_at BIGINT,
    UNIQUE (draft_id, connection_id)
);
CREATE INDEX exports_by_user ON exports (user_id, id);
