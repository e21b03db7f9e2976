-- Webhooks: endpoints per environment, the durable delivery queue (one row per event and
-- endpoint) with its attempts, and the cursor the fan-out moves over `events`.

CREATE TABLE webhook_endpoints (
    id               INTEGER PRIMARY KEY,
    public_id        TEXT    NOT NULL UNIQUE,                 -- we_…
    organization_id  INTEGER NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
    environment      TEXT    NOT NULL CHECK (environment IN ('sandbox', 'production')),
    url              TEXT    NOT NULL,
    description      TEXT    NOT NULL DEFAULT '',
    event_types      TEXT    NOT NULL DEFAULT '*',            -- '*' or space-separated types
    secret           BLOB    NOT NULL,                        -- sealed whsec_… (SecretBox)
    old_secret       BLOB,                                    -- the previous one during a rotation's overlap
    old_secret_until INTEGER,
    enabled          INTEGER NOT NULL DEFAULT 1,
    disabled_reason  TEXT,
    disabled_at      INTEGER,
    failing_since    INTEGER,                                 -- first failure since the last success
    last_success_at  INTEGER,
    created_by_name  TEXT    NOT NULL DEFAULT '',
    created_at       INTEGER NOT NULL,
    deleted_at       INTEGER
);
CREATE INDEX webhook_endpoints_by_env ON webhook_endpoints(organization_id, environment, id);

CREATE TABLE webhook_deliveries (
    id              INTEGER PRIMARY KEY,
    public_id       TEXT    NOT NULL UNIQUE,                  -- whd_…
    endpoint_id     INTEGER NOT NULL REFERENCES webhook_endpoints(id) ON DELETE CASCADE,
    event_id        INTEGER NOT NULL REFERENCES events(id) ON DELETE CASCADE,
    event_type      TEXT    NOT NULL,
    state           TEXT    NOT NULL CHECK (state IN ('pending', 'succeeded', 'failed')),
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at INTEGER,                                  -- NULL once settled
    lease_until     INTEGER NOT NULL DEFAULT 0,
    last_attempt_at INTEGER,
    last_status     INTEGER,
    last_error      TEXT,
    replay_of       INTEGER,
    created_at      INTEGER NOT NULL
);
CREATE INDEX webhook_deliveries_due ON webhook_deliveries(next_attempt_at) WHERE state = 'pending';
CREATE INDEX webhook_deliveries_by_endpoint ON webhook_deliveries(endpoint_id, id);
CREATE INDEX webhook_deliveries_by_time ON webhook_deliveries(created_at);

CREATE TABLE webhook_attempts (
    id               INTEGER PRIMARY KEY,
    delivery_id      INTEGER NOT NULL REFERENCES webhook_deliveries(id) ON DELETE CASCADE,
    number           INTEGER NOT NULL,
    at               INTEGER NOT NULL,
    duration_ms      INTEGER NOT NULL,
    url              TEXT    NOT NULL,
    request_headers  TEXT    NOT NULL,                        -- "name: value" lines
    request_body     TEXT    NOT NULL,
    response_status  INTEGER,
    response_headers TEXT,
    response_body    BLOB,                                    -- first 4 KB
    error            TEXT,
    next_attempt_at  INTEGER                                  -- the retry it scheduled, if any
);
CREATE INDEX webhook_attempts_by_delivery ON webhook_attempts(delivery_id, id);

-- How far the fan-out has read `events`: starts after the events that exist now (no endpoint
-- existed for them).
CREATE TABLE webhook_cursor (
    id            INTEGER PRIMARY KEY CHECK (id = 1),
    last_event_id INTEGER NOT NULL
);
INSERT INTO webhook_cursor (id, last_event_id) SELECT 1, coalesce(max(id), 0) FROM events;
