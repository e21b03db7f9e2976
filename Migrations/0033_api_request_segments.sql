-- The API request log is written as segments: one row per flushed batch per organization
-- and environment, its requests in a JSON array (oldest first), instead of one row per
-- request.
--
-- Why: a row per request cost the one writer about 8 µs of the server's core (row encoding,
-- three index inserts, the foreign-key probe, the WAL), a quarter of what /v1/balances
-- itself costs under load. A segment costs its index entries and its foreign-key probe once
-- per batch, and per request only the bytes of its JSON.
--
-- A request's id on the page (the page's cursor) is segment id * 4096 + its position in
-- the segment; a segment never holds more than 4096 requests.
--
-- Each element of `data` is
--   [request_id, created_at, credential_id, credential_name, credential_label, method, path,
--    status, duration_us, ip, user_agent, request_headers, response_headers]
-- with the meanings 0028 gave those columns. The view `api_requests` below shows them as
-- rows again, for the operator's own queries.
CREATE TABLE api_request_segments(
    id INTEGER PRIMARY KEY,
    organization_id INTEGER REFERENCES organizations(id) ON DELETE CASCADE,
    environment TEXT CHECK (environment IN ('sandbox', 'production')),
    -- What the page's filters look at before they read `data`: the credential ids in the
    -- segment (space-separated, with a space either side), the span of created_at, a bit per
    -- status class (1 << (status / 100)).
    credentials TEXT NOT NULL,
    first_at INTEGER NOT NULL,
    last_at INTEGER NOT NULL,
    statuses INTEGER NOT NULL,
    -- The span of the seconds the requests' ids begin with (when they started): the detail
    -- page finds an id's segment among the few whose span holds its second.
    first_second INTEGER NOT NULL,
    last_second INTEGER NOT NULL,
    entries INTEGER NOT NULL CHECK (entries BETWEEN 1 AND 4096),
    data TEXT NOT NULL
);
CREATE INDEX api_request_segments_by_env ON api_request_segments(organization_id, environment, id);
CREATE INDEX api_request_segments_by_second ON api_request_segments(organization_id, environment, first_second, last_second);

-- Each request logged before becomes a segment of one, under its own id (so its body keeps
-- its key). Its ids' second is not known here (the id is text), so the span is the hour
-- before it ended, which holds it: no request lasts an hour.
INSERT INTO api_request_segments(id, organization_id, environment, credentials, first_at, last_at, statuses, first_second, last_second, entries, data)
SELECT id, organization_id, environment, ' ' || coalesce(credential_id, '') || ' ', created_at, created_at, 1 << (status / 100),
       created_at - 3600, created_at, 1,
       json_array(json_array(request_id, created_at, credential_id, credential_name, credential_label, method, path,
                             status, duration_us, ip, user_agent, request_headers, response_headers))
FROM api_requests ORDER BY id;

-- Bodies of failed requests, now keyed by their segment and position.
CREATE TABLE api_request_segment_bodies(
    segment_id INTEGER NOT NULL REFERENCES api_request_segments(id) ON DELETE CASCADE,
    position INTEGER NOT NULL,
    created_at INTEGER NOT NULL,
    request_body TEXT NOT NULL,
    response_body TEXT NOT NULL,
    PRIMARY KEY (segment_id, position)
) WITHOUT ROWID;
INSERT INTO api_request_segment_bodies(segment_id, position, created_at, request_body, response_body)
SELECT api_request_id, 0, created_at, request_body, response_body FROM api_request_bodies ORDER BY api_request_id;

DROP TABLE api_request_bodies;
DROP TABLE api_requests;

-- One row per request, as before, read from the segments (for people querying the
-- database by hand; the portal reads the segments).
CREATE VIEW api_requests AS
SELECT s.id * 4096 + j.key AS id, j.value ->> 0 AS request_id, j.value ->> 1 AS created_at, s.organization_id, s.environment,
       j.value ->> 2 AS credential_id, j.value ->> 3 AS credential_name, j.value ->> 4 AS credential_label, j.value ->> 5 AS method,
       j.value ->> 6 AS path, j.value ->> 7 AS status, j.value ->> 8 AS duration_us, j.value ->> 9 AS ip, j.value ->> 10 AS user_agent,
       j.value ->> 11 AS request_headers, j.value ->> 12 AS response_headers
FROM api_request_segments s, json_each(s.data) j;

CREATE VIEW api_request_bodies AS
SELECT segment_id * 4096 + position AS api_request_id, created_at, request_body, response_body FROM api_request_segment_bodies;
