-- API keys: a secret per organization and environment that opens the /v1 API.
--
-- The secret itself is never stored: only its SHA-256 (looked up by the verifier), and for
-- people a display prefix (`sk_sandbox_` and the first 4 characters after it) and the last
-- 4 characters. A roll makes a new row with the same settings; the old row points at it
-- (replaced_by) and keeps working until ends_at (the chosen overlap).
CREATE TABLE api_keys (
    id               INTEGER PRIMARY KEY,
    public_id        TEXT    NOT NULL UNIQUE,                 -- key_…
    organization_id  INTEGER NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
    environment      TEXT    NOT NULL CHECK (environment IN ('sandbox', 'production')),
    name             TEXT    NOT NULL,
    secret_sha256    BLOB    NOT NULL UNIQUE CHECK (length(secret_sha256) = 32),
    display_prefix   TEXT    NOT NULL,                        -- 'sk_sandbox_Ab3x'
    last4            TEXT    NOT NULL,
    -- NULL: unrestricted (write on every resource, those added later included). Otherwise
    -- 'balances=read payouts=none transactions=write': one word per resource, sorted.
    restrictions     TEXT,
    -- NULL: any address. Otherwise normalized CIDRs separated by spaces.
    ip_allowlist     TEXT,
    created_by       INTEGER REFERENCES users(id) ON DELETE SET NULL,
    created_by_name  TEXT    NOT NULL,                        -- as it was, should the user go
    created_at       INTEGER NOT NULL,
    expires_at       INTEGER,                                 -- NULL: never
    revoked_at       INTEGER,
    revoked_by_name  TEXT,
    rolled_from      INTEGER REFERENCES api_keys(id),         -- the key this one replaced
    replaced_by      INTEGER REFERENCES api_keys(id),         -- set by a roll
    ends_at          INTEGER,                                 -- a rolled key's overlap end
    last_used_at     INTEGER,
    last_used_ip     TEXT,
    -- Reminder bookkeeping (the api_key.remind job): when each mail went out, so each goes
    -- once, and when the expiry was recorded (audited once).
    reminded_30_at   INTEGER,
    reminded_7_at    INTEGER,
    reminded_1_at    INTEGER,
    expired_at       INTEGER,
    CHECK (replaced_by IS NULL OR ends_at IS NOT NULL)
);
CREATE INDEX api_keys_by_env ON api_keys(organization_id, environment, created_at);
