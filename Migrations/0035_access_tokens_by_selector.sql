-- Access tokens are found by their public id, which the token's text carries, and then
-- checked against their SHA-256 in constant time (issue 12).
--
-- Why: the token endpoint inserted each token into two indexes ordered by random values (its
-- public id and the hash of its text). Each insert landed on a different page of each, so a
-- group commit of two dozen tokens wrote some fifty pages to the WAL, the checkpoints copied
-- them again, and the pages no longer fitted SQLite's cache as the table grew: tokens/s fell
-- by a sixth within half a minute and p99 doubled. A token's public id now begins with the
-- time it was issued (`tok_` + 11 characters of microseconds + 16 random ones) and its text is
-- `oat_` + that id's characters + 32 random bytes: both inserts land at the right edge of an
-- index, and the hash needs no index of its own (the selector/verifier split, which also
-- keeps the lookup's timing independent of the secret).
--
-- Access tokens issued before this migration no longer verify (they live an hour, and a
-- client asks for a new one on a 401); their rows stay until pruned.
CREATE TABLE oauth_access_tokens_new (
    id               INTEGER PRIMARY KEY,
    public_id        TEXT    NOT NULL UNIQUE,                 -- tok_… (logs, rate limits; the token's selector)
    token_sha256     BLOB    NOT NULL CHECK (length(token_sha256) = 32),
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
INSERT INTO oauth_access_tokens_new SELECT id, public_id, token_sha256, credential_id, app_id, organization_id, environment,
    scope, user_id, grant_id, code_id, family, cnf_x5t_s256, created_at, expires_at, revoked_at FROM oauth_access_tokens;
DROP TABLE oauth_access_tokens;
ALTER TABLE oauth_access_tokens_new RENAME TO oauth_access_tokens;
CREATE INDEX oauth_access_tokens_by_family ON oauth_access_tokens(family) WHERE family IS NOT NULL;
CREATE INDEX oauth_access_tokens_by_grant ON oauth_access_tokens(grant_id) WHERE grant_id IS NOT NULL;
CREATE INDEX oauth_access_tokens_by_expiry ON oauth_access_tokens(expires_at);
CREATE INDEX oauth_access_tokens_by_credential ON oauth_access_tokens(credential_id, created_at);
