-- Credential health (issue 12): what an app's page tells about each of its credentials.
--
-- - Last used: app_credentials.last_used_at / last_used_ip (0030), written by the OAuth
--   server at most once a minute per credential.
-- - Tokens issued in the last 24 hours: counted from oauth_access_tokens by credential and
--   created_at. Pruning keeps a token a day past its expiry, so every token of the last 24
--   hours is still there. The index also serves the cascade when credentials are deleted.
-- - Failed authentications: a known client_id with a wrong or expired secret, counted per
--   credential per hour (one row per hour however many attempts; the secret is never kept).
CREATE INDEX oauth_access_tokens_by_credential ON oauth_access_tokens(credential_id, created_at);

CREATE TABLE app_credential_failures (
    credential_id    INTEGER NOT NULL REFERENCES app_credentials(id) ON DELETE CASCADE,
    hour             INTEGER NOT NULL,                        -- unix time / 3600
    failures         INTEGER NOT NULL CHECK (failures > 0),
    PRIMARY KEY (credential_id, hour)
) WITHOUT ROWID;
