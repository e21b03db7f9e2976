-- Idempotency keys of the /v1 API (PublicAPI). A POST sent with `Idempotency-Key` records
-- here, in the same transaction as the change it made, the response it got; a retry with the
-- same key from the same credential within 24 hours is answered with that response. Rows
-- older than 24 hours are pruned by the job worker (`idempotency.prune`).
CREATE TABLE api_idempotency_keys (
    id             INTEGER PRIMARY KEY,
    credential_id  TEXT    NOT NULL,             -- the credential's public id (key_…)
    idempotency_key TEXT   NOT NULL,
    method         TEXT    NOT NULL,
    path           TEXT    NOT NULL,
    request_hash   TEXT    NOT NULL,             -- SHA-256 of method, path and body
    status         INTEGER NOT NULL,
    response_body  BLOB    NOT NULL,
    created_at     INTEGER NOT NULL
);
CREATE UNIQUE INDEX api_idempotency_keys_by_key ON api_idempotency_keys(credential_id, idempotency_key);
CREATE INDEX api_idempotency_keys_by_age ON api_idempotency_keys(created_at);
