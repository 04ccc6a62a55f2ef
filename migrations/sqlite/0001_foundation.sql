-- Foundation: accounts, linked channels, videos and the durable job queue.
-- Times are milliseconds since the Unix epoch (BIGINT), so one set of queries serves SQLite and PostgreSQL.

CREATE TABLE users (
    id INTEGER PRIMARY KEY,
    email TEXT NOT NULL UNIQUE,
    password_hash TEXT,
    created_at BIGINT NOT NULL
);

CREATE TABLE channels (
    id INTEGER PRIMARY KEY,
    user_id BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    youtube_id TEXT NOT NULL,
    title TEXT NOT NULL DEFAULT '',
    created_at BIGINT NOT NULL,
    UNIQUE (user_id, youtube_id)
);

CREATE TABLE videos (
    id INTEGER PRIMARY KEY,
    user_id BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    channel_id BIGINT REFERENCES channels (id) ON DELETE SET NULL,
    youtube_id TEXT,
    source_url TEXT,
    title TEXT NOT NULL DEFAULT '',
    state TEXT NOT NULL DEFAULT 'new',
    published_at BIGINT,
    feed_updated_at BIGINT,
    deleted_at BIGINT,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    UNIQUE (channel_id, youtube_id)
);

CREATE TABLE jobs (
    id INTEGER PRIMARY KEY,
    kind TEXT NOT NULL,
    payload TEXT NOT NULL,
    video_id BIGINT REFERENCES videos (id) ON DELETE CASCADE,
    state TEXT NOT NULL DEFAULT 'queued',
    attempts BIGINT NOT NULL DEFAULT 0,
    max_attempts BIGINT NOT NULL,
    run_at BIGINT NOT NULL,
    lease_owner TEXT,
    lease_expires_at BIGINT,
    progress BIGINT NOT NULL DEFAULT 0,
    progress_message TEXT NOT NULL DEFAULT '',
    last_error TEXT,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    finished_at BIGINT
);

CREATE INDEX jobs_claimable ON jobs (state, run_at);
CREATE INDEX jobs_by_video ON jobs (video_id);
