-- An Owner may withdraw an open request before support decides it: status 'withdrawn'.
-- SQLite cannot alter a CHECK, so the table is rebuilt (nothing references it).
CREATE TABLE support_requests_new (
    id              INTEGER PRIMARY KEY,
    kind            TEXT    NOT NULL,
    user_id         INTEGER REFERENCES users(id) ON DELETE SET NULL,
    email           TEXT    NOT NULL,
    note            TEXT    NOT NULL,
    status          TEXT    NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'approved', 'rejected', 'withdrawn')),
    created_at      INTEGER NOT NULL,
    resolved_at     INTEGER,
    resolved_by     INTEGER REFERENCES users(id),
    resolution_note TEXT,
    public_id       TEXT,
    organization_id INTEGER REFERENCES organizations(id) ON DELETE CASCADE,
    changes         TEXT    NOT NULL DEFAULT '{}'
);
INSERT INTO support_requests_new (id, kind, user_id, email, note, status, created_at, resolved_at, resolved_by, resolution_note,
                                  public_id, organization_id, changes)
SELECT id, kind, user_id, email, note, status, created_at, resolved_at, resolved_by, resolution_note, public_id, organization_id, changes
FROM support_requests;
DROP TABLE support_requests;
ALTER TABLE support_requests_new RENAME TO support_requests;
CREATE INDEX support_requests_by_status ON support_requests(status, id);
CREATE UNIQUE INDEX support_requests_public_id ON support_requests(public_id);
CREATE INDEX support_requests_by_org ON support_requests(organization_id, id);
