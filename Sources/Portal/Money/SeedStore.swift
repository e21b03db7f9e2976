import Database

/// The bulk SQL of ``MoneySeeder``: the same rows as ``MoneyStore`` writes one request at a
/// time (transactions, their history, ledger entries, the rollup, balances, payouts), written a
/// batch at a time. Each statement's SQL text is a constant, so the connection's statement
/// cache prepares it once and reuses it for the million rows; ids come from
/// `lastInsertRowID`, not `RETURNING`.
struct SeedStore {
    /// A larger page cache for the seeding connection (the random `public_id` index of a million
    /// rows does not fit SQLite's default 2 MB and would be read back from disk), and back.
    func setCacheSize(kibibytes: Int, on db: Connection) throws {
        try db.execute("PRAGMA cache_size = -\(kibibytes)")
    }

    func transactionCount(_ scope: MoneyScope, on db: Connection) throws -> Int {
        try db.scalar("SELECT count(*) FROM transactions WHERE organization_id = ? AND environment = ?",
                      scope.organizationID, scope.environment.rawValue, as: Int.self) ?? 0
    }

    struct Row {
        var publicID: String
        var accountID: Int64
        var externalID: String?
        var type: TransactionType
        var status: TransactionStatus
        var amount: Int64
        var currency: String
        var error: (code: String, note: String)?
        var sender: Party
        var recipient: Party
        var metadata: String
        var createdAt: Int64
        var updatedAt: Int64
        var settledAt: Int64?
    }

    func insertTransaction(_ t: Row, scope: MoneyScope, on db: Connection) throws -> Int64 {
        try db.execute(
            """
            INSERT INTO transactions (public_id, organization_id, environment, account_id, external_id, type, status, amount, currency,
                error_code, error_note, sender_name, sender_country, sender_method, sender_last4,
                recipient_name, recipient_country, recipient_method, recipient_last4, metadata, created_at, updated_at, settled_at)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
            """,
            arguments: [t.publicID, scope.organizationID, scope.environment.rawValue, t.accountID, t.externalID, t.type.rawValue,
                        t.status.rawValue, t.amount, t.currency, t.error?.code, t.error?.note,
                        t.sender.name, t.sender.country, t.sender.method?.rawValue, t.sender.last4,
                        t.recipient.name, t.recipient.country, t.recipient.method?.rawValue, t.recipient.last4,
                        t.metadata, t.createdAt, t.updatedAt, t.settledAt])
        return db.lastInsertRowID
    }

    func insertHistory(transactionID: Int64, status: TransactionStatus, errorCode: String?, note: String?, actor: String, at: Int64,
                       on db: Connection) throws {
        try db.execute("INSERT INTO transaction_status_history (transaction_id, status, error_code, note, actor, at) VALUES (?, ?, ?, ?, ?, ?)",
                       transactionID, status.rawValue, errorCode, note, actor, at)
    }

    func insertEntry(accountID: Int64, bucket: String, amount: Int64, availableAfter: Int64, pendingAfter: Int64,
                     transactionID: Int64?, payoutID: Int64?, reason: String, at: Int64, on db: Connection) throws {
        try db.execute(
            """
            INSERT INTO ledger_entries (account_id, bucket, amount, available_after, pending_after, transaction_id, payout_id, reason, created_at)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
            """, accountID, bucket, amount, availableAfter, pendingAfter, transactionID, payoutID, reason, at)
    }

    /// Adds a batch's counts to the rollup (the rows of earlier batches stay and grow).
    func addStats(_ scope: MoneyScope, currency: String, hour: Int64, status: TransactionStatus, count: Int64, amount: Int64, on db: Connection) throws {
        try db.execute(
            """
            INSERT INTO transaction_stats (organization_id, environment, currency, hour, status, count, amount) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)
            ON CONFLICT (organization_id, environment, currency, hour, status) DO UPDATE SET count = count + ?6, amount = amount + ?7
            """, scope.organizationID, scope.environment.rawValue, currency, hour, status.rawValue, count, amount)
    }

    /// The balances the batch's entries add up to (computed beside them, as `post` does).
    func setBalances(accountID: Int64, available: Int64, pending: Int64, at: Int64, on db: Connection) throws {
        try db.execute("UPDATE money_accounts SET available = ?, pending = ?, updated_at = ? WHERE id = ?", available, pending, at, accountID)
    }

    struct PayoutRow {
        var publicID: String
        var accountID: Int64
        var amount: Int64
        var currency: String
        var beneficiary: Party
        var account: String
        var reference: String
        var createdBy: Int64
        var createdByName: String
        var createdAt: Int64
    }

    /// A payout waiting for authorization, as the payouts service leaves one: expiring 7 days
    /// after it was prepared.
    func insertPendingPayout(_ p: PayoutRow, scope: MoneyScope, on db: Connection) throws -> Int64 {
        try db.execute(
            """
            INSERT INTO payouts (public_id, organization_id, environment, account_id, status, amount, currency, beneficiary_name,
                beneficiary_country, method, beneficiary_account, reference, created_by, created_by_name, created_at, expires_at, updated_at)
            VALUES (?, ?, ?, ?, 'pending_authorization', ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
            """,
            arguments: [p.publicID, scope.organizationID, scope.environment.rawValue, p.accountID, p.amount, p.currency, p.beneficiary.name,
                        p.beneficiary.country, p.beneficiary.method?.rawValue ?? "bank", p.account, p.reference, p.createdBy, p.createdByName,
                        p.createdAt, p.createdAt + MoneySeeder.payoutLifetime, p.createdAt])
        return db.lastInsertRowID
    }
}
