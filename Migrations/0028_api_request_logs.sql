-- The API request log (feature APILogs): one row per request under /v1 and /oauth, written
-- in batches by a background flusher (never on the request path), read by the "API
-- requests" page of an environment, pruned on the job worker.
--
-- organization_id and environment are NULL when the request carried no accepted credential
-- (a 401, a ping without a key): such rows are kept for the operator's own diagnosis but no
-- organization's page ever shows them, since nothing says whose they are.
-- Times are integer Unix seconds (UTC) from the portal's clock; duration in microseconds.
CREATE TABLE api_requests(
    id INTEGER PRIMARY KEY,
    request_id TEXT NOT NULL,              -- the Request-Id / X-Request-Id the caller saw
    request_key INTEGER NOT NULL,          -- its 16 hex digits as a 64-bit integer, for the lookup
    created_at INTEGER NOT NULL,
    organization_id INTEGER REFERENCES organizations(id) ON DELETE CASCADE,
    environment TEXT CHECK (environment IN ('sandbox', 'production')),
    credential_id TEXT,                    -- key_… (never a secret)
    credential_name TEXT,                  -- prefix…last4, as the key list shows it
    credential_label TEXT,                 -- the key's name, as it was when the request came
    method TEXT NOT NULL,
    path TEXT NOT NULL,                    -- without the query, secret segments masked
    status INTEGER NOT NULL,
    duration_us INTEGER NOT NULL,
    ip TEXT NOT NULL,
    user_agent TEXT NOT NULL,              -- first 256 characters
    request_headers TEXT NOT NULL,         -- a summary: a few named headers, Authorization masked
    response_headers TEXT NOT NULL
);
-- The page: newest first within one environment, by key or not. Rows are inserted in the
-- order the requests ended, so the row id is the time order and the page key.
CREATE INDEX api_requests_by_env ON api_requests(organization_id, environment, id);
CREATE INDEX api_requests_by_key ON api_requests(organization_id, environment, credential_id, id);
-- The detail page, by the id the caller quotes. Request ids are random, so each insert lands
-- anywhere in this index: on the integer (8 bytes, not a 16-character text) the index stays a
-- quarter of the size and in cache, which halves what a logged row costs the one writer.
-- No index on created_at: rows are written in the order their requests ended, so the oldest
-- are the lowest ids and the pruning walks the primary key.
CREATE INDEX api_requests_by_request_key ON api_requests(request_key);

-- Bodies of failed requests (status >= 400), their first 4 KB with secrets and card-like
-- numbers masked before they were ever written; kept 7 days, apart from the row so that
-- pruning them is a delete of their own and the row stays.
CREATE TABLE api_request_bodies(
    api_request_id INTEGER PRIMARY KEY REFERENCES api_requests(id) ON DELETE CASCADE,
    created_at INTEGER NOT NULL,
    request_body TEXT NOT NULL,
    response_body TEXT NOT NULL
);

-- The credentials seen per environment, for the page's key filter (a DISTINCT over the log
-- would read every row): one upsert per credential per flushed batch.
CREATE TABLE api_request_credentials(
    organization_id INTEGER NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
    environment TEXT NOT NULL CHECK (environment IN ('sandbox', 'production')),
    credential_id TEXT NOT NULL,
    credential_name TEXT NOT NULL,
    credential_label TEXT,
    last_seen_at INTEGER NOT NULL,
    PRIMARY KEY (organization_id, environment, credential_id)
) WITHOUT ROWID;
