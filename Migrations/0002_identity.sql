-- Identity: users, TOTP, recovery codes, server-side sessions, e-mail tokens, throttling,
-- the audit log and support requests. Times are UTC unix seconds.

CREATE TABLE users (
    id                  INTEGER PRIMARY KEY,
    email               TEXT    NOT NULL COLLATE NOCASE UNIQUE,
    name                TEXT    NOT NULL,
    password_hash       TEXT    NOT NULL,               -- scrypt, parameters included
    email_verified_at   INTEGER,
    phone               TEXT    NOT NULL DEFAULT '',
    time_zone           TEXT    NOT NULL DEFAULT 'UTC',
    pref_product_news   INTEGER NOT NULL DEFAULT 0 CHECK (pref_product_news IN (0, 1)),
    pref_report_ready   INTEGER NOT NULL DEFAULT 1 CHECK (pref_report_ready IN (0, 1)),
    totp_secret         BLOB,                           -- AES-256-GCM sealed; NULL until enrolled
    totp_pending_secret BLOB,                           -- sealed; during enrolment only
    totp_enabled_at     INTEGER,
    totp_last_step      INTEGER,                        -- last accepted time step (no replay)
    created_at          INTEGER NOT NULL,
    updated_at          INTEGER NOT NULL
);

CREATE TABLE recovery_codes (
    id         INTEGER PRIMARY KEY,
    user_id    INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    code_hash  TEXT    NOT NULL,
    used_at    INTEGER,
    created_at INTEGER NOT NULL
);
CREATE INDEX recovery_codes_by_user ON recovery_codes(user_id);

-- The cookie holds a 256-bit random token; only its SHA-256 is stored.
-- stage: 'verify' (signed up, e-mail not verified), 'enrol' (must set up TOTP),
--        'mfa' (password given, second factor pending), 'active' (fully signed in).
CREATE TABLE sessions (
    id                      INTEGER PRIMARY KEY,
    token_hash              TEXT    NOT NULL UNIQUE,
    user_id                 INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    stage                   TEXT    NOT NULL CHECK (stage IN ('verify', 'enrol', 'mfa', 'active')),
    csrf_token              TEXT    NOT NULL,
    pending_recovery_codes  BLOB,                       -- sealed; shown once after enrolment
    ip                      TEXT    NOT NULL,
    user_agent              TEXT    NOT NULL,
    created_at              INTEGER NOT NULL,
    last_seen_at            INTEGER NOT NULL,
    expires_at              INTEGER NOT NULL,           -- absolute lifetime
    revoked_at              INTEGER
);
CREATE INDEX sessions_by_user ON sessions(user_id);

-- Single-use links sent by e-mail: verify_email, reset_password, change_email.
CREATE TABLE user_tokens (
    id         INTEGER PRIMARY KEY,
    user_id    INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    purpose    TEXT    NOT NULL CHECK (purpose IN ('verify_email', 'reset_password', 'change_email')),
    token_hash TEXT    NOT NULL UNIQUE,
    new_email  TEXT,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    used_at    INTEGER
);
CREATE INDEX user_tokens_by_user ON user_tokens(user_id, purpose);

-- Failed-attempt counters per account and per IP, kept across restarts.
CREATE TABLE throttles (
    key              TEXT    PRIMARY KEY,
    failures         INTEGER NOT NULL,
    first_failure_at INTEGER NOT NULL,
    last_failure_at  INTEGER NOT NULL,
    locked_until     INTEGER
);

CREATE TABLE audit_events (
    id              INTEGER PRIMARY KEY,
    at              INTEGER NOT NULL,
    actor_user_id   INTEGER REFERENCES users(id) ON DELETE SET NULL,
    organization_id INTEGER,
    action          TEXT    NOT NULL,
    subject         TEXT    NOT NULL DEFAULT '',
    ip              TEXT    NOT NULL DEFAULT '',
    user_agent      TEXT    NOT NULL DEFAULT '',
    details         TEXT    NOT NULL DEFAULT ''
);
CREATE INDEX audit_events_by_actor ON audit_events(actor_user_id, id);
CREATE INDEX audit_events_by_org ON audit_events(organization_id, id);

-- Requests that need a person at the operator (MFA reset now; more kinds later).
CREATE TABLE support_requests (
    id              INTEGER PRIMARY KEY,
    kind            TEXT    NOT NULL,
    user_id         INTEGER REFERENCES users(id) ON DELETE SET NULL,
    email           TEXT    NOT NULL,
    note            TEXT    NOT NULL,
    status          TEXT    NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'approved', 'rejected')),
    created_at      INTEGER NOT NULL,
    resolved_at     INTEGER,
    resolved_by     INTEGER REFERENCES users(id),
    resolution_note TEXT
);
CREATE INDEX support_requests_by_status ON support_requests(status, id);
