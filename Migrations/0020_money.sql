-- Money: accounts and balances, the ledger, transactions with their status history,
-- payouts, cancellation requests, the dashboard's rollup, and the event rows webhooks will
-- deliver. Everything lives in one organization and one environment ('sandbox' or
-- 'production'). Amounts are integer minor units of `currency` (ISO 4217; the exponent comes
-- from the code's currency table, never a float). Times are UTC unix seconds.

-- One account per currency the organization holds in an environment. The balances are the
-- running sums of the account's ledger entries per bucket, kept in the same transaction as
-- each entry (a test rebuilds them from the entries); the CHECKs make "never below zero" a
-- rule SQLite enforces whatever the code does.
CREATE TABLE money_accounts (
    id              INTEGER PRIMARY KEY,
    public_id       TEXT    NOT NULL UNIQUE,                 -- acct_…
    organization_id INTEGER NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
    environment     TEXT    NOT NULL CHECK (environment IN ('sandbox', 'production')),
    currency        TEXT    NOT NULL CHECK (length(currency) = 3),
    available       INTEGER NOT NULL DEFAULT 0 CHECK (available >= 0),
    pending         INTEGER NOT NULL DEFAULT 0 CHECK (pending >= 0),
    created_at      INTEGER NOT NULL,
    updated_at      INTEGER NOT NULL,
    UNIQUE (organization_id, environment, currency)
);

-- Prepared by one member, authorized (or rejected) by another; the amount is held from
-- creation (available → pending) until it is rejected, expires, or its transaction ends.
-- beneficiary_account is kept whole (the payout must reach it) and shown masked.
CREATE TABLE payouts (
    id                  INTEGER PRIMARY KEY,
    public_id           TEXT    NOT NULL UNIQUE,             -- po_…
    organization_id     INTEGER NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
    environment         TEXT    NOT NULL CHECK (environment IN ('sandbox', 'production')),
    account_id          INTEGER NOT NULL REFERENCES money_accounts(id),
    status              TEXT    NOT NULL DEFAULT 'pending_authorization'
                                CHECK (status IN ('pending_authorization', 'authorized', 'rejected', 'expired')),
    amount              INTEGER NOT NULL CHECK (amount > 0),
    currency            TEXT    NOT NULL,
    beneficiary_name    TEXT    NOT NULL,
    beneficiary_country TEXT    NOT NULL,                    -- ISO 3166-1 alpha-2
    method              TEXT    NOT NULL CHECK (method IN ('bank', 'mobile')),
    beneficiary_account TEXT    NOT NULL,                    -- IBAN or E.164 number, normalized
    reference           TEXT    NOT NULL,
    created_by          INTEGER REFERENCES users(id) ON DELETE SET NULL,
    created_by_name     TEXT    NOT NULL,                    -- as it was, should the user go
    decided_by          INTEGER REFERENCES users(id) ON DELETE SET NULL,
    decided_by_name     TEXT,
    reject_reason       TEXT,
    transaction_id      INTEGER REFERENCES transactions(id),
    created_at          INTEGER NOT NULL,
    expires_at          INTEGER NOT NULL,
    decided_at          INTEGER,
    updated_at          INTEGER NOT NULL,
    CHECK (created_by IS NULL OR decided_by IS NULL OR created_by <> decided_by)  -- four eyes
);
CREATE INDEX payouts_by_env ON payouts(organization_id, environment, status, created_at);
CREATE INDEX payouts_expiring ON payouts(expires_at) WHERE status = 'pending_authorization';

-- type: payin (money in), payout, fee, refund (money out).
-- status: pending → processing → paid, or failed (error_code + a note a person reads), or
-- cancelled. Account numbers of the parties are kept as their last 4 characters only.
CREATE TABLE transactions (
    id                  INTEGER PRIMARY KEY,
    public_id           TEXT    NOT NULL UNIQUE,             -- txn_…
    organization_id     INTEGER NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
    environment         TEXT    NOT NULL CHECK (environment IN ('sandbox', 'production')),
    account_id          INTEGER NOT NULL REFERENCES money_accounts(id),
    external_id         TEXT,                                -- the integrator's own id
    type                TEXT    NOT NULL CHECK (type IN ('payin', 'payout', 'fee', 'refund')),
    status              TEXT    NOT NULL CHECK (status IN ('pending', 'processing', 'paid', 'failed', 'cancelled')),
    amount              INTEGER NOT NULL CHECK (amount > 0),
    currency            TEXT    NOT NULL,
    error_code          TEXT,
    error_note          TEXT,
    sender_name         TEXT    NOT NULL DEFAULT '',
    sender_country      TEXT    NOT NULL DEFAULT '',
    sender_method       TEXT    CHECK (sender_method IN ('bank', 'mobile')),
    sender_last4        TEXT    NOT NULL DEFAULT '',
    recipient_name      TEXT    NOT NULL DEFAULT '',
    recipient_country   TEXT    NOT NULL DEFAULT '',
    recipient_method    TEXT    CHECK (recipient_method IN ('bank', 'mobile')),
    recipient_last4     TEXT    NOT NULL DEFAULT '',
    metadata            TEXT    NOT NULL DEFAULT '{}',       -- the integrator's small JSON map
    payout_id           INTEGER REFERENCES payouts(id),
    created_at          INTEGER NOT NULL,
    updated_at          INTEGER NOT NULL,
    settled_at          INTEGER
);
CREATE UNIQUE INDEX transactions_by_external_id ON transactions(organization_id, environment, external_id)
    WHERE external_id IS NOT NULL;
-- Lists, date ranges and keyset pages walk this index: (created_at, id) is the page key.
CREATE INDEX transactions_by_time ON transactions(organization_id, environment, created_at, id);

CREATE TABLE transaction_status_history (
    id              INTEGER PRIMARY KEY,
    transaction_id  INTEGER NOT NULL REFERENCES transactions(id) ON DELETE CASCADE,
    status          TEXT    NOT NULL,
    error_code      TEXT,
    note            TEXT,
    actor           TEXT    NOT NULL,   -- 'simulator', 'operator', 'api', or a member's name
    at              INTEGER NOT NULL
);
CREATE INDEX transaction_status_history_by_txn ON transaction_status_history(transaction_id, id);

-- Every movement of money. amount is signed; a bucket's running balance after the entry is
-- kept beside it, so a statement's opening balance is one lookup, not a sum of the past.
CREATE TABLE ledger_entries (
    id              INTEGER PRIMARY KEY,
    account_id      INTEGER NOT NULL REFERENCES money_accounts(id),
    bucket          TEXT    NOT NULL CHECK (bucket IN ('available', 'pending')),
    amount          INTEGER NOT NULL CHECK (amount <> 0),
    available_after INTEGER NOT NULL CHECK (available_after >= 0),
    pending_after   INTEGER NOT NULL CHECK (pending_after >= 0),
    transaction_id  INTEGER REFERENCES transactions(id),
    payout_id       INTEGER REFERENCES payouts(id),
    reason          TEXT    NOT NULL,   -- e.g. 'payin.pending', 'payout.hold', 'payout.paid'
    created_at      INTEGER NOT NULL,
    CHECK (transaction_id IS NOT NULL OR payout_id IS NOT NULL)
);
CREATE INDEX ledger_entries_by_account ON ledger_entries(account_id, created_at, id);
CREATE INDEX ledger_entries_by_transaction ON ledger_entries(transaction_id) WHERE transaction_id IS NOT NULL;

-- A member's request to cancel a transaction not yet paid: applied at once in Sandbox; in
-- Production it waits for support (support_requests kind 'transaction_cancellation').
CREATE TABLE transaction_cancellations (
    id                  INTEGER PRIMARY KEY,
    public_id           TEXT    NOT NULL UNIQUE,             -- cxl_…
    transaction_id      INTEGER NOT NULL REFERENCES transactions(id) ON DELETE CASCADE,
    requested_by        INTEGER REFERENCES users(id) ON DELETE SET NULL,
    requested_by_name   TEXT    NOT NULL,
    reason              TEXT    NOT NULL,
    status              TEXT    NOT NULL CHECK (status IN ('requested', 'applied', 'refused', 'withdrawn')),
    support_request_id  INTEGER REFERENCES support_requests(id),
    created_at          INTEGER NOT NULL,
    decided_at          INTEGER
);
CREATE INDEX transaction_cancellations_by_txn ON transaction_cancellations(transaction_id);
CREATE UNIQUE INDEX transaction_cancellations_one_open ON transaction_cancellations(transaction_id) WHERE status = 'requested';

-- The dashboard's rollup, kept on every write: per hour of creation (unix seconds / 3600),
-- currency and current status, how many transactions and how much. The 30-day chart and the
-- totals by status read at most 720 rows per currency, never the transactions.
CREATE TABLE transaction_stats (
    organization_id INTEGER NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
    environment     TEXT    NOT NULL,
    currency        TEXT    NOT NULL,
    hour            INTEGER NOT NULL,
    status          TEXT    NOT NULL,
    count           INTEGER NOT NULL CHECK (count >= 0),
    amount          INTEGER NOT NULL CHECK (amount >= 0),
    PRIMARY KEY (organization_id, environment, currency, hour, status)
) WITHOUT ROWID;

-- What changed, for the integrator's systems: webhooks deliver these rows. data is the
-- object's JSON as the API shows it, at the moment of the change.
CREATE TABLE events (
    id              INTEGER PRIMARY KEY,
    public_id       TEXT    NOT NULL UNIQUE,                 -- evt_…
    organization_id INTEGER NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
    environment     TEXT    NOT NULL CHECK (environment IN ('sandbox', 'production')),
    type            TEXT    NOT NULL,                        -- e.g. transaction.updated, payout.authorized
    object_id       TEXT    NOT NULL,                        -- the public id of the object
    data            TEXT    NOT NULL,
    created_at      INTEGER NOT NULL
);
CREATE INDEX events_by_env ON events(organization_id, environment, id);
