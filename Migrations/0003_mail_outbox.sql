-- The e-mail outbox (target Mail): every mail the portal sends is first a row here, written
-- in the same transaction as the change that caused it, then delivered by MailDelivery.
-- Rows are kept after delivery (sent_at) and after giving up (failed_at).
--
-- Times are integer Unix seconds (UTC).
-- A row is pending while sent_at and failed_at are both NULL. While a worker is sending it,
-- next_attempt_at is pushed a lease into the future (the claim), so that no other worker
-- takes it; a worker that dies mid-send leaves it due again once the lease has passed.
CREATE TABLE outbox(
    id INTEGER PRIMARY KEY,
    sender TEXT NOT NULL,              -- the From header, e.g. 'Portal <no-reply@example.com>'
    recipient TEXT NOT NULL,           -- one validated addr-spec
    subject TEXT NOT NULL,
    text_body TEXT NOT NULL,
    html_body TEXT,                    -- NULL: a text-only mail
    message_id TEXT NOT NULL UNIQUE,   -- '<…@domain>', the same on every attempt
    created_at INTEGER NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_at INTEGER NOT NULL,
    sent_at INTEGER,
    failed_at INTEGER,
    last_error TEXT                    -- short, never holds credentials
);

-- The delivery query: pending rows that are due, oldest first.
CREATE INDEX outbox_due ON outbox(next_attempt_at, id) WHERE sent_at IS NULL AND failed_at IS NULL;
