-- Apps (OAuth clients) of an organization's environment, their credentials, subscriptions
-- to API products, redirect URIs, and the organization's certificate store (mTLS).
--
-- A client secret is never stored: only its SHA-256 (compared in constant time after the
-- one lookup by client_id), and its last 4 characters for people. A reset moves the current
-- hash to previous_sha256, which keeps working until previous_ends_at (the chosen overlap).
-- Deleting an app deletes its credentials, subscriptions and redirect URIs (and, later, the
-- tokens issued to them) at once; the audit log keeps the record.
CREATE TABLE certificates (
    id               INTEGER PRIMARY KEY,
    public_id        TEXT    NOT NULL UNIQUE,                 -- cert_…
    organization_id  INTEGER NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
    sha256           BLOB    NOT NULL CHECK (length(sha256) = 32),
    der              BLOB    NOT NULL,                        -- the certificate (public), never a key
    subject          TEXT    NOT NULL,
    issuer           TEXT    NOT NULL,
    serial           TEXT    NOT NULL,
    key_type         TEXT    NOT NULL,                        -- 'RSA 2048', 'EC P-256'
    not_before       INTEGER NOT NULL,
    not_after        INTEGER NOT NULL,
    alt_names        TEXT    NOT NULL,                        -- 'DNS:a.example.com, IP:127.0.0.1'
    created_by_name  TEXT    NOT NULL,
    created_at       INTEGER NOT NULL,
    reminded_at      INTEGER,                                 -- the "expires within 30 days" mail went out
    UNIQUE (organization_id, sha256)
);

CREATE TABLE apps (
    id               INTEGER PRIMARY KEY,
    public_id        TEXT    NOT NULL UNIQUE,                 -- app_…
    organization_id  INTEGER NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
    environment      TEXT    NOT NULL CHECK (environment IN ('sandbox', 'production')),
    name             TEXT    NOT NULL,
    certificate_id   INTEGER REFERENCES certificates(id) ON DELETE SET NULL,
    created_by_name  TEXT    NOT NULL,
    created_at       INTEGER NOT NULL
);
-- Names are unique in an environment regardless of case ("Checkout" and "checkout" collide).
CREATE UNIQUE INDEX apps_name_in_env ON apps(organization_id, environment, name COLLATE NOCASE);

CREATE TABLE app_credentials (
    id               INTEGER PRIMARY KEY,
    app_id           INTEGER NOT NULL REFERENCES apps(id) ON DELETE CASCADE,
    client_id        TEXT    NOT NULL UNIQUE,                 -- client_… (public)
    name             TEXT    NOT NULL,
    secret_sha256    BLOB    NOT NULL UNIQUE CHECK (length(secret_sha256) = 32),
    last4            TEXT    NOT NULL,
    previous_sha256  BLOB    CHECK (previous_sha256 IS NULL OR length(previous_sha256) = 32),
    previous_ends_at INTEGER,
    created_by_name  TEXT    NOT NULL,
    created_at       INTEGER NOT NULL,
    reset_at         INTEGER,
    last_used_at     INTEGER,
    last_used_ip     TEXT,
    expires_at       INTEGER,                                 -- NULL: never
    -- Reminder bookkeeping (the app_credential.remind job): when each mail went out.
    reminded_30_at   INTEGER,
    reminded_7_at    INTEGER,
    reminded_1_at    INTEGER,
    CHECK (previous_sha256 IS NULL OR previous_ends_at IS NOT NULL)
);
CREATE INDEX app_credentials_by_app ON app_credentials(app_id, created_at);

CREATE TABLE app_subscriptions (
    app_id           INTEGER NOT NULL REFERENCES apps(id) ON DELETE CASCADE,
    product          TEXT    NOT NULL,                        -- 'balances', 'psd2_ais', …
    created_by_name  TEXT    NOT NULL,
    created_at       INTEGER NOT NULL,
    PRIMARY KEY (app_id, product)
) WITHOUT ROWID;

CREATE TABLE app_redirect_uris (
    id               INTEGER PRIMARY KEY,
    public_id        TEXT    NOT NULL UNIQUE,                 -- uri_…
    app_id           INTEGER NOT NULL REFERENCES apps(id) ON DELETE CASCADE,
    uri              TEXT    NOT NULL,
    created_at       INTEGER NOT NULL,
    UNIQUE (app_id, uri)
);
