-- Monthly reports: the organization's time zone, which decides where its months begin and
-- end (and the offset of every time in its CSV reports), and the checksums of closed months.

-- An IANA zone name ('Europe/Amsterdam'), checked by the service against the same list the
-- profile page offers. Existing organizations keep reporting in UTC.
ALTER TABLE organizations ADD COLUMN time_zone TEXT NOT NULL DEFAULT 'UTC';

-- The SHA-256 of a closed month's report, computed once by the job worker over exactly the
-- bytes the download serves. A month is a month in a time zone: should the organization
-- change its zone, the old rows no longer match any month it is shown and new ones are made.
CREATE TABLE report_checksums (
    organization_id INTEGER NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
    environment     TEXT    NOT NULL CHECK (environment IN ('sandbox', 'production')),
    time_zone       TEXT    NOT NULL,
    month           TEXT    NOT NULL,                         -- 'YYYY-MM'
    kind            TEXT    NOT NULL CHECK (kind IN ('transactions', 'accounts')),
    row_count       INTEGER NOT NULL,                         -- data rows, the header not counted
    byte_count      INTEGER NOT NULL,
    sha256          TEXT    NOT NULL,                         -- 64 lower-case hex digits
    computed_at     INTEGER NOT NULL,
    PRIMARY KEY (organization_id, environment, time_zone, month, kind)
) WITHOUT ROWID;
