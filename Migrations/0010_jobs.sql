-- Durable jobs (target Jobs): work to do outside a request, written in the same transaction
-- as the change that causes it, done by JobWorker threads, retried with backoff, kept after
-- it ends. The worker knows nothing of what a job does: `kind` picks the handler and
-- `payload` is that handler's business (an id, or JSON).
--
-- Times are integer Unix seconds (UTC), always passed in by the code (no CURRENT_TIMESTAMP),
-- so that tests can move time and the same SQL runs on PostgreSQL.
--
-- state:  queued   waiting until run_at
--         running  leased by lease_owner until lease_expires_at; a worker that dies leaves
--                  it to be taken again once the lease has passed
--         done     finished_at is when it succeeded
--         failed   finished_at is when it was given up (a permanent failure, or still
--                  failing at the deadline); last_error says why
CREATE TABLE jobs(
    id INTEGER PRIMARY KEY,
    kind TEXT NOT NULL,                -- e.g. 'mail.send'
    payload TEXT NOT NULL,
    state TEXT NOT NULL DEFAULT 'queued' CHECK (state IN ('queued', 'running', 'done', 'failed')),
    attempts INTEGER NOT NULL DEFAULT 0,  -- claims so far, the current one included
    run_at INTEGER NOT NULL,           -- when it is due (next attempt)
    lease_owner TEXT,                  -- the worker running it, while running
    lease_expires_at INTEGER,          -- while running
    last_error TEXT,                   -- short, never holds credentials
    created_at INTEGER NOT NULL,
    finished_at INTEGER
);

-- The claim query: queued jobs that are due, and running jobs whose lease has passed. Both
-- partial, so they hold only unfinished jobs however many finished ones the table keeps.
CREATE INDEX jobs_due ON jobs(run_at, id) WHERE state = 'queued';
CREATE INDEX jobs_lease ON jobs(lease_expires_at, id) WHERE state = 'running';

-- Mail becomes the first kind of job. An outbox row keeps the mail itself (what to send);
-- its delivery (attempts, next try, outcome) becomes a 'mail.send' job whose payload is the
-- outbox id. Every row moves over, so nothing queued is lost on upgrade: pending rows stay
-- pending at their next attempt time (a row claimed mid-send by the old worker is due again
-- when its lease ends, as before), and sent and failed rows keep their history.
INSERT INTO jobs(kind, payload, state, attempts, run_at, last_error, created_at, finished_at)
SELECT 'mail.send', CAST(id AS TEXT),
       CASE WHEN sent_at IS NOT NULL THEN 'done' WHEN failed_at IS NOT NULL THEN 'failed' ELSE 'queued' END,
       attempts, next_attempt_at, last_error, created_at, COALESCE(sent_at, failed_at)
FROM outbox ORDER BY id;

-- No index on kind or payload: one led by kind tempts the claim query to walk every
-- finished job of a kind instead of the two small partial indexes above, and payloads may
-- be long JSON. A feature that must find its jobs again keeps the job id in its own table.

DROP INDEX outbox_due;
ALTER TABLE outbox DROP COLUMN attempts;
ALTER TABLE outbox DROP COLUMN next_attempt_at;
ALTER TABLE outbox DROP COLUMN sent_at;
ALTER TABLE outbox DROP COLUMN failed_at;
ALTER TABLE outbox DROP COLUMN last_error;
