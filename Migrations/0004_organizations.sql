-- Organizations, their members and invitations, staff accounts, and the support queue's
-- organization requests. Times are UTC unix seconds. Rows a URL names carry a random
-- public id (never the row number), so ids cannot be guessed or counted.

-- Staff of the portal operator: they review support requests and belong to no organization.
ALTER TABLE users ADD COLUMN is_staff INTEGER NOT NULL DEFAULT 0 CHECK (is_staff IN (0, 1));

CREATE TABLE organizations (
    id                   INTEGER PRIMARY KEY,
    public_id            TEXT    NOT NULL UNIQUE,
    legal_name           TEXT    NOT NULL,
    trading_name         TEXT    NOT NULL,
    country              TEXT    NOT NULL,                 -- ISO 3166-1 alpha-2
    registration_number  TEXT    NOT NULL,
    address              TEXT    NOT NULL,
    website              TEXT    NOT NULL,
    industry             TEXT    NOT NULL,
    compliance_email     TEXT    NOT NULL,
    status               TEXT    NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'closed')),
    -- Sandbox is usable at once; Production after support approves a request.
    production_enabled_at INTEGER,
    created_by           INTEGER REFERENCES users(id) ON DELETE SET NULL,
    created_at           INTEGER NOT NULL,
    updated_at           INTEGER NOT NULL,
    closed_at            INTEGER
);

-- permissions: the member's permission identifiers, space-separated, sorted.
-- version: raised on every change, so two editors cannot overwrite each other unseen.
CREATE TABLE memberships (
    id              INTEGER PRIMARY KEY,
    public_id       TEXT    NOT NULL UNIQUE,
    organization_id INTEGER NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
    user_id         INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    role            TEXT    NOT NULL CHECK (role IN ('owner', 'admin', 'manager', 'employee', 'developer', 'custom')),
    permissions     TEXT    NOT NULL DEFAULT '',
    status          TEXT    NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'disabled')),
    version         INTEGER NOT NULL DEFAULT 1,
    last_active_at  INTEGER,
    created_at      INTEGER NOT NULL,
    updated_at      INTEGER NOT NULL,
    UNIQUE (organization_id, user_id)
);
CREATE INDEX memberships_by_user ON memberships(user_id);
-- One Owner per organization, always.
CREATE UNIQUE INDEX memberships_one_owner ON memberships(organization_id) WHERE role = 'owner';

-- status 'pending' past expires_at is shown as expired; resending gives a new token and expiry.
CREATE TABLE invitations (
    id              INTEGER PRIMARY KEY,
    public_id       TEXT    NOT NULL UNIQUE,
    organization_id INTEGER NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
    email           TEXT    NOT NULL COLLATE NOCASE,
    name            TEXT    NOT NULL,
    role            TEXT    NOT NULL CHECK (role IN ('admin', 'manager', 'employee', 'developer', 'custom')),
    permissions     TEXT    NOT NULL DEFAULT '',
    token_hash      TEXT    NOT NULL UNIQUE,
    invited_by      INTEGER REFERENCES users(id) ON DELETE SET NULL,
    status          TEXT    NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'accepted', 'declined', 'revoked')),
    created_at      INTEGER NOT NULL,
    sent_at         INTEGER NOT NULL,
    expires_at      INTEGER NOT NULL,
    responded_at    INTEGER,
    accepted_user_id INTEGER REFERENCES users(id) ON DELETE SET NULL
);
CREATE INDEX invitations_by_org ON invitations(organization_id, id);
CREATE INDEX invitations_by_email ON invitations(email);

-- Staff set their first password through a single-use link: user_tokens gains that purpose
-- (SQLite cannot alter a CHECK, so the table is rebuilt; nothing references it).
CREATE TABLE user_tokens_new (
    id         INTEGER PRIMARY KEY,
    user_id    INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    purpose    TEXT    NOT NULL CHECK (purpose IN ('verify_email', 'reset_password', 'change_email', 'staff_setup')),
    token_hash TEXT    NOT NULL UNIQUE,
    new_email  TEXT,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    used_at    INTEGER
);
INSERT INTO user_tokens_new SELECT id, user_id, purpose, token_hash, new_email, created_at, expires_at, used_at FROM user_tokens;
DROP TABLE user_tokens;
ALTER TABLE user_tokens_new RENAME TO user_tokens;
CREATE INDEX user_tokens_by_user ON user_tokens(user_id, purpose);

-- Support requests: organization requests join the lost-authenticator ones.
-- kind: 'mfa_reset', 'org_details', 'org_name', 'offboarding', 'production_access'.
-- changes: JSON object field → proposed value (before values are read at review time).
ALTER TABLE support_requests ADD COLUMN public_id TEXT;
ALTER TABLE support_requests ADD COLUMN organization_id INTEGER REFERENCES organizations(id) ON DELETE CASCADE;
ALTER TABLE support_requests ADD COLUMN changes TEXT NOT NULL DEFAULT '{}';
UPDATE support_requests SET public_id = lower(hex(randomblob(10))) WHERE public_id IS NULL;
CREATE UNIQUE INDEX support_requests_public_id ON support_requests(public_id);
CREATE INDEX support_requests_by_org ON support_requests(organization_id, id);

-- The audit log names the environment a change touched ('sandbox', 'production' or '').
ALTER TABLE audit_events ADD COLUMN environment TEXT NOT NULL DEFAULT '';
CREATE INDEX audit_events_by_org_action ON audit_events(organization_id, action, id);
