-- A segment of the request log is kept zlib-compressed: `data` holds the compressed JSON and
-- `raw_size` the JSON's length in bytes, as SQLite's archives (`sqlar`) keep a file. Segments
-- written before (and any that would not shrink) keep their JSON as TEXT, `raw_size` NULL.
--
-- Why: the JSON of 500 requests (150 KB, the same key, path and headers over and over)
-- compresses twentyfold at zlib's fastest level. Written as it was, the flusher copied it to
-- the WAL and again into the database at each checkpoint, about 40 pages a batch: half of the
-- log's thread time was the kernel's, and the disk filled at 300 bytes a request.
ALTER TABLE api_request_segments ADD COLUMN raw_size INTEGER CHECK (raw_size IS NULL OR raw_size > 0);

-- The view reads both kinds. `sqlar_uncompress` is defined on every connection of the portal
-- and by the sqlite3 shell.
DROP VIEW api_requests;
CREATE VIEW api_requests AS
SELECT s.id * 4096 + j.key AS id, j.value ->> 0 AS request_id, j.value ->> 1 AS created_at, s.organization_id, s.environment,
       j.value ->> 2 AS credential_id, j.value ->> 3 AS credential_name, j.value ->> 4 AS credential_label, j.value ->> 5 AS method,
       j.value ->> 6 AS path, j.value ->> 7 AS status, j.value ->> 8 AS duration_us, j.value ->> 9 AS ip, j.value ->> 10 AS user_agent,
       j.value ->> 11 AS request_headers, j.value ->> 12 AS response_headers
FROM api_request_segments s,
     json_each(CASE WHEN s.raw_size IS NULL THEN s.data ELSE CAST(sqlar_uncompress(s.data, s.raw_size) AS TEXT) END) j;
