import Database

/// One transaction as the monthly report shows it, with its status as at the end of the
/// report's period (from the status history), not its status today.
struct ReportTransactionLine: Sendable {
    let id: Int64
    let createdAt: Int64
    let publicID: String
    let externalID: String
    let type: String
    let amount: Int64
    let currency: String
    let senderName, senderCountry, senderMethod, senderLast4: String
    let recipientName, recipientCountry, recipientMethod, recipientLast4: String
    let status: String
    let statusAt: Int64
    let errorCode: String
    let statusNote: String
}

/// One ledger entry as the account statement shows it.
struct ReportLedgerLine: Sendable {
    let id: Int64
    let createdAt: Int64
    let bucket: String
    let amount: Int64
    let availableAfter: Int64
    let pendingAfter: Int64
    let reason: String
    let transactionPublicID: String
    let payoutPublicID: String
}

struct ReportAccount: Sendable {
    let id: Int64
    let publicID: String
    let currency: String
}

/// A stored checksum of a closed month's report.
struct ReportChecksum: Sendable {
    let month: String
    let kind: String
    let rowCount: Int
    let byteCount: Int
    let sha256: String
    let computedAt: Int64
}

/// The reports' SQL. It only *reads* the money tables (Money owns them) and owns
/// `report_checksums`. Every read here is one short statement: the CSV producers page through
/// a month by keyset, one read per chunk, so no read snapshot outlives a chunk.
struct ReportsStore {
    // The rows of a month are read by the hundred thousand: these read a column straight from
    // the row's value, without the generic checked accessors (their unspecialized generic
    // lookups cost more than the query). The SELECTs below guarantee each column's type
    // (`coalesce` where a column may be NULL).
    @inline(__always) private func text(_ r: RowView, _ i: Int) -> String {
        if case .text(let s) = r.value(at: i) { return s }
        return ""
    }

    @inline(__always) private func int(_ r: RowView, _ i: Int) -> Int64 {
        if case .integer(let v) = r.value(at: i) { return v }
        return 0
    }

    // MARK: what a month holds

    /// The first instant anything happened in the environment: a transaction or a ledger entry
    /// (a payout's hold is an entry without a transaction).
    func earliestActivity(_ scope: MoneyScope, on db: Connection) throws -> Int64? {
        try db.scalar(
            """
            SELECT min(t) FROM (
                SELECT min(created_at) AS t FROM transactions WHERE organization_id = ?1 AND environment = ?2
                UNION ALL
                SELECT min(e.created_at) FROM ledger_entries e JOIN money_accounts a ON a.id = e.account_id
                WHERE a.organization_id = ?1 AND a.environment = ?2
            )
            """, scope.organizationID, scope.environment.rawValue, as: Int64.self)
    }

    func transactionCount(_ scope: MoneyScope, from start: Int64, to end: Int64, on db: Connection) throws -> Int {
        try db.scalar(
            "SELECT count(*) FROM transactions WHERE organization_id = ? AND environment = ? AND created_at >= ? AND created_at < ?",
            scope.organizationID, scope.environment.rawValue, start, end, as: Int.self) ?? 0
    }

    func ledgerCount(accountID: Int64, from start: Int64, to end: Int64, on db: Connection) throws -> Int {
        try db.scalar("SELECT count(*) FROM ledger_entries WHERE account_id = ? AND created_at >= ? AND created_at < ?",
                      accountID, start, end, as: Int.self) ?? 0
    }

    /// The environment's accounts opened before `end`, by currency: each gets a statement.
    func accounts(_ scope: MoneyScope, openedBefore end: Int64, on db: Connection) throws -> [ReportAccount] {
        try db.query(
            "SELECT id, public_id, currency FROM money_accounts WHERE organization_id = ? AND environment = ? AND created_at < ? ORDER BY currency",
            scope.organizationID, scope.environment.rawValue, end
        ).map { ReportAccount(id: try $0.int64(0), publicID: try $0.string(1), currency: try $0.string(2)) }
    }

    /// The account's balances just before `t`: the running balances kept beside its last
    /// entry before then (one index lookup), or zero.
    func balances(accountID: Int64, before t: Int64, on db: Connection) throws -> (available: Int64, pending: Int64) {
        let row = try db.queryOne(
            "SELECT available_after, pending_after FROM ledger_entries WHERE account_id = ? AND created_at < ? ORDER BY created_at DESC, id DESC LIMIT 1",
            accountID, t)
        return (try row?.int64(0) ?? 0, try row?.int64(1) ?? 0)
    }

    // MARK: pages of rows (keyset over (created_at, id))
    //
    // The index range starts at the cursor's time (`created_at >= max(start, cursor time)`):
    // SQLite does not seek on the row value `(created_at, id) > (?, ?)` alone, and scanning
    // from the month's start for every page would make a month quadratic in its size.

    /// Up to `limit` transactions created in `[start, end)` after the cursor, in time order,
    /// each with its last status change before `asOf`.
    func transactions(_ scope: MoneyScope, from start: Int64, to end: Int64, asOf: Int64, after cursor: (Int64, Int64),
                      limit: Int, on db: Connection) throws -> [ReportTransactionLine] {
        var out: [ReportTransactionLine] = []
        out.reserveCapacity(limit)
        try db.forEach(
            """
            SELECT t.id, t.created_at, t.public_id, coalesce(t.external_id, ''), t.type, t.amount, t.currency,
                   t.sender_name, t.sender_country, coalesce(t.sender_method, ''), t.sender_last4,
                   t.recipient_name, t.recipient_country, coalesce(t.recipient_method, ''), t.recipient_last4,
                   coalesce(h.status, 'pending'), coalesce(h.at, t.created_at), coalesce(h.error_code, ''), coalesce(h.note, '')
            FROM transactions t
            LEFT JOIN transaction_status_history h ON h.id = (
                SELECT max(x.id) FROM transaction_status_history x WHERE x.transaction_id = t.id AND x.at < ?)
            WHERE t.organization_id = ? AND t.environment = ? AND t.created_at >= ? AND t.created_at < ?
              AND (t.created_at, t.id) > (?, ?)
            ORDER BY t.created_at, t.id
            LIMIT ?
            """, asOf, scope.organizationID, scope.environment.rawValue, max(start, cursor.0), end, cursor.0, cursor.1, limit
        ) { r in
            out.append(ReportTransactionLine(
                id: int(r, 0), createdAt: int(r, 1), publicID: text(r, 2), externalID: text(r, 3), type: text(r, 4),
                amount: int(r, 5), currency: text(r, 6),
                senderName: text(r, 7), senderCountry: text(r, 8), senderMethod: text(r, 9), senderLast4: text(r, 10),
                recipientName: text(r, 11), recipientCountry: text(r, 12), recipientMethod: text(r, 13),
                recipientLast4: text(r, 14),
                status: text(r, 15), statusAt: int(r, 16), errorCode: text(r, 17), statusNote: text(r, 18)))
        }
        return out
    }

    /// Up to `limit` entries of the account written in `[start, end)` after the cursor.
    func ledger(accountID: Int64, from start: Int64, to end: Int64, after cursor: (Int64, Int64), limit: Int,
                on db: Connection) throws -> [ReportLedgerLine] {
        var out: [ReportLedgerLine] = []
        out.reserveCapacity(limit)
        try db.forEach(
            """
            SELECT e.id, e.created_at, e.bucket, e.amount, e.available_after, e.pending_after, e.reason,
                   coalesce(t.public_id, ''), coalesce(p.public_id, '')
            FROM ledger_entries e
            LEFT JOIN transactions t ON t.id = e.transaction_id
            LEFT JOIN payouts p ON p.id = e.payout_id
            WHERE e.account_id = ? AND e.created_at >= ? AND e.created_at < ? AND (e.created_at, e.id) > (?, ?)
            ORDER BY e.created_at, e.id
            LIMIT ?
            """, accountID, max(start, cursor.0), end, cursor.0, cursor.1, limit
        ) { r in
            out.append(ReportLedgerLine(
                id: int(r, 0), createdAt: int(r, 1), bucket: text(r, 2), amount: int(r, 3),
                availableAfter: int(r, 4), pendingAfter: int(r, 5), reason: text(r, 6),
                transactionPublicID: text(r, 7), payoutPublicID: text(r, 8)))
        }
        return out
    }

    // MARK: the organization (read for the job, which has no member's access)

    func organization(id: Int64, on db: Connection) throws -> (name: String, timeZone: String, hasProduction: Bool, isActive: Bool)? {
        try db.queryOne(
            """
            SELECT CASE WHEN trading_name = '' THEN legal_name ELSE trading_name END, time_zone,
                   production_enabled_at IS NOT NULL, status = 'active'
            FROM organizations WHERE id = ?
            """, id
        ).map { (try $0.string(0), try $0.string(1), try $0.bool(2), try $0.bool(3)) }
    }

    /// Every organization and environment that holds money (an account is opened by the
    /// first movement): what the daily checksum sweep visits.
    func environmentsWithMoney(on db: Connection) throws -> [MoneyScope] {
        try db.query("SELECT DISTINCT organization_id, environment FROM money_accounts ORDER BY organization_id, environment").compactMap { r in
            let id = try r.int64(0)
            return Environment(rawValue: try r.string(1)).map { MoneyScope(organizationID: id, environment: $0) }
        }
    }

    // MARK: checksums

    func checksums(_ scope: MoneyScope, timeZone: String, on db: Connection) throws -> [ReportChecksum] {
        try db.query(
            """
            SELECT month, kind, row_count, byte_count, sha256, computed_at FROM report_checksums
            WHERE organization_id = ? AND environment = ? AND time_zone = ?
            """, scope.organizationID, scope.environment.rawValue, timeZone
        ).map {
            ReportChecksum(month: try $0.string(0), kind: try $0.string(1), rowCount: try $0.int(2), byteCount: try $0.int(3),
                           sha256: try $0.string(4), computedAt: try $0.int64(5))
        }
    }

    /// Keeps the first checksum computed for a month: a second run (a job taken twice after a
    /// crash) computes the same bytes and changes nothing.
    /// Stores the checksum; false if one was already there.
    @discardableResult
    func saveChecksum(_ scope: MoneyScope, timeZone: String, _ c: ReportChecksum, on db: Connection) throws -> Bool {
        try db.execute(
            """
            INSERT OR IGNORE INTO report_checksums (organization_id, environment, time_zone, month, kind, row_count, byte_count, sha256, computed_at)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
            """, scope.organizationID, scope.environment.rawValue, timeZone, c.month, c.kind, c.rowCount, c.byteCount, c.sha256, c.computedAt) == 1
    }
}
