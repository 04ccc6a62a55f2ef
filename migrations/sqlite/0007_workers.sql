-- Worker processes (the pool in `vidpress serve` and each `vidpress worker`): a row is made when
-- one starts, its `last_seen_at` moves with every heartbeat, and a clean shutdown sets
-- `stopped_at`. One whose heartbeats stop is shown as gone; its jobs come back through their
-- leases. `name` is the prefix of the lease owners its jobs carry (`name/…`).
CREATE TABLE workers (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    name TEXT NOT NULL UNIQUE,
    host TEXT NOT NULL,
    pid BIGINT NOT NULL,
    version TEXT NOT NULL,
    device TEXT NOT NULL,
    kinds TEXT NOT NULL,
    concurrency BIGINT NOT NULL,
    heartbeat_ms BIGINT NOT NULL,
    started_at BIGINT NOT NULL,
    last_seen_at BIGINT NOT NULL,
    stopped_at BIGINT
);

CREATE INDEX workers_by_last_seen ON workers (last_seen_at);

-- The lease owner of a job's latest run, kept after it ends (`lease_owner` is cleared), so
-- operators and tests can tell which worker ran it.
ALTER TABLE jobs ADD COLUMN last_owner TEXT;
