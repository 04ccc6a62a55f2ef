-- no-transaction
-- Row ids are never reused, so a stale job can never act on a new row: channels (deleted on
-- unlink) and jobs get AUTOINCREMENT. SQLite cannot add it to a table, so each is rebuilt, with
-- foreign keys off while the old table is dropped (so no ON DELETE action fires) and the whole
-- rebuild in one transaction. Videos are found per owner and YouTube id (one video per id and
-- owner, whatever happens to the channel link).

PRAGMA foreign_keys = OFF;

BEGIN;

CREATE TABLE channels_rebuilt (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    youtube_id TEXT NOT NULL,
    title TEXT NOT NULL DEFAULT '',
    created_at BIGINT NOT NULL,
    UNIQUE (user_id, youtube_id)
);
INSERT INTO channels_rebuilt (id, user_id, youtube_id, title, created_at)
    SELECT id, user_id, youtube_id, title, created_at FROM channels;
DROP TABLE channels;
ALTER TABLE channels_rebuilt RENAME TO channels;

CREATE TABLE jobs_rebuilt (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
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
INSERT INTO jobs_rebuilt SELECT id, kind, payload, video_id, state, attempts, max_attempts, run_at,
    lease_owner, lease_expires_at, progress, progress_message, last_error, created_at, updated_at,
    finished_at FROM jobs;
DROP TABLE jobs;
ALTER TABLE jobs_rebuilt RENAME TO jobs;
CREATE INDEX jobs_claimable ON jobs (state, run_at);
CREATE INDEX jobs_by_video ON jobs (video_id);

CREATE INDEX videos_by_user_youtube ON videos (user_id, youtube_id);

COMMIT;

PRAGMA foreign_keys = ON;
