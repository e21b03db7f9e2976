-- The OAuth 2 authorization server (issue 12): access tokens, refresh tokens, authorization
-- codes and the grants members gave to apps.
--
-- No token or code is stored: only the SHA-256 of its text (each is ≥ 32 random bytes, so
-- one indexed lookup by hash is enough). Everything an app was given goes when the app or
-- its credentials go (ON DELETE CASCADE); the audit log keeps the record.

-- A member's consent: this app may act in this organization's environment, with these
-- scopes, as far as the member's permissions go. Revoking it revokes every token it gave.
CREATE TABLE oauth_grants (
    id               INTEGER PRIMARY KEY,
    public_id        TEXT    NOT NULL UNIQUE,                 -- grant_…
    app_id           INTEGER NOT NULL REFERENCES apps(id) ON DELETE CASCADE,
    user_id          INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    organization_id  INTEGER NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
    environment      TEXT    NOT NULL CHECK (environment IN ('sandbox', 'production')),
    scope            TEXT    NOT NULL,                        -- space-separated, sorted
    created_at       INTEGER NOT NULL,
    revoked_at       INTEGER
);
CREATE INDEX oauth_grants_by_user ON oauth_grants(user_id, created_at);

-- An authorization code: one use, 60 s to 10 min of life, bound to the client, the redirect
-- URI it was sent to and the PKCE S256 challenge. `state` is never stored.
CREATE TABLE oauth_codes (
    id               INTEGER PRIMARY KEY,
    code_sha256      BLOB    NOT NULL UNIQUE CHECK (length(code_sha256) = 32),
    grant_id         INTEGER NOT NULL REFERENCES oauth_grants(id) ON DELETE CASCADE,
    credential_id    INTEGER NOT NULL REFERENCES app_credentials(id) ON DELETE CASCADE,
    redirect_uri     TEXT    NOT NULL,
    code_challenge   TEXT    NOT NULL,                        -- base64url(SHA-256(verifier))
    scope            TEXT    NOT NULL,
    created_at       INTEGER NOT NULL,
    expires_at       INTEGER NOT NULL,
    used_at          INTEGER,
    CHECK (expires_at - created_at BETWEEN 60 AND 600)
);

-- An access token (1 hour). `user_id`/`grant_id` for the code flow (NULL for client
-- credentials); `code_id` lets a reused code revoke what it gave; `family` the refresh
-- family it came from; `cnf_x5t_s256` the RFC 8705 binding to the app's certificate.
CREATE TABLE oauth_access_tokens (
    id               INTEGER PRIMARY KEY,
    public_id        TEXT    NOT NULL UNIQUE,                 -- tok_… (logs, rate limits)
    token_sha256     BLOB    NOT NULL UNIQUE CHECK (length(token_sha256) = 32),
    credential_id    INTEGER NOT NULL REFERENCES app_credentials(id) ON DELETE CASCADE,
    app_id           INTEGER NOT NULL REFERENCES apps(id) ON DELETE CASCADE,
    organization_id  INTEGER NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
    environment      TEXT    NOT NULL CHECK (environment IN ('sandbox', 'production')),
    scope            TEXT    NOT NULL,
    user_id          INTEGER REFERENCES users(id) ON DELETE CASCADE,
    grant_id         INTEGER REFERENCES oauth_grants(id) ON DELETE CASCADE,
    code_id          INTEGER REFERENCES oauth_codes(id) ON DELETE SET NULL,
    family           TEXT,
    cnf_x5t_s256     TEXT,
    created_at       INTEGER NOT NULL,
    expires_at       INTEGER NOT NULL,
    revoked_at       INTEGER
);
CREATE INDEX oauth_access_tokens_by_family ON oauth_access_tokens(family) WHERE family IS NOT NULL;
CREATE INDEX oauth_access_tokens_by_grant ON oauth_access_tokens(grant_id) WHERE grant_id IS NOT NULL;
CREATE INDEX oauth_access_tokens_by_expiry ON oauth_access_tokens(expires_at);

-- A refresh token (code flow only). Each use rotates it: the old one is marked used and a new
-- one of the same family issued; presenting a used one revokes the whole family.
CREATE TABLE oauth_refresh_tokens (
    id               INTEGER PRIMARY KEY,
    token_sha256     BLOB    NOT NULL UNIQUE CHECK (length(token_sha256) = 32),
    family           TEXT    NOT NULL,
    grant_id         INTEGER NOT NULL REFERENCES oauth_grants(id) ON DELETE CASCADE,
    credential_id    INTEGER NOT NULL REFERENCES app_credentials(id) ON DELETE CASCADE,
    scope            TEXT    NOT NULL,
    created_at       INTEGER NOT NULL,
    expires_at       INTEGER NOT NULL,
    used_at          INTEGER,
    revoked_at       INTEGER
);
CREATE INDEX oauth_refresh_tokens_by_family ON oauth_refresh_tokens(family);
