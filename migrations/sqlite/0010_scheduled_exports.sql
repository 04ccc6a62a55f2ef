-- A scheduled export: when the remote publishes the post (ms since the Unix epoch, UTC).
ALTER TABLE exports ADD COLUMN publish_at BIGINT;
