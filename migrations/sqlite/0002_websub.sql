-- WebSub: one subscription per linked channel, with the secret the hub signs with and the
-- unguessable token in its callback URL. A subscription outlives its channel row (channel_id
-- becomes NULL) so the hub's unsubscribe verification still finds it after an unlink.
-- state: pending (asked, not yet verified), active (verified; lease_expires_at set),
-- failed (the hub refused, or denied it; last_error says why), unsubscribed (we asked to end it).

CREATE TABLE subscriptions (
    id INTEGER PRIMARY KEY,
    channel_id BIGINT UNIQUE REFERENCES channels (id) ON DELETE SET NULL,
    topic TEXT NOT NULL,
    callback_token TEXT NOT NULL UNIQUE,
    secret TEXT NOT NULL,
    state TEXT NOT NULL DEFAULT 'pending',
    lease_seconds BIGINT,
    lease_expires_at BIGINT,
    verified_at BIGINT,
    last_error TEXT,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
