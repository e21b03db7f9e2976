import Database
import Foundation

/// The SQL of payouts. Every write happens inside the caller's transaction; status changes are
/// guarded by the status they expect, so of two deciders (or a decider and the expiry job)
/// exactly one wins. Money moves through ``MoneyStore/post``, never here.
struct PayoutsStore {
    static let columns = """
        p.id, p.public_id, p.organization_id, p.environment, p.account_id, p.status, p.amount, p.currency,
        p.beneficiary_name, p.beneficiary_country, p.method, p.beneficiary_account, p.reference,
        p.created_by, p.created_by_name, p.decided_by, p.decided_by_name, p.reject_reason, p.transaction_id,
        (SELECT t.public_id FROM transactions t WHERE t.id = p.transaction_id),
        p.created_at, p.expires_at, p.decided_at, p.updated_at
        """

    static func payout(_ r: some RowReading) throws -> PayoutRecord {
        let code = try r.string(7)
        guard let currency = Currency(code: code) else { throw MoneyStoreError("unknown currency \(code) in payouts") }
        return PayoutRecord(
            id: try r.int64(0), publicID: try r.string(1),
            scope: MoneyScope(organizationID: try r.int64(2), environment: Environment(rawValue: try r.string(3)) ?? .sandbox),
            accountID: try r.int64(4), status: PayoutStatus(rawValue: try r.string(5)) ?? .expired,
            amount: Amount(minor: try r.int64(6), currency: currency),
            beneficiaryName: try r.string(8), beneficiaryCountry: try r.string(9), method: PaymentMethod(rawValue: try r.string(10)) ?? .bank,
            beneficiaryAccount: try r.string(11), reference: try r.string(12),
            createdBy: try r.optionalInt64(13), createdByName: try r.string(14), decidedBy: try r.optionalInt64(15),
            decidedByName: try r.optionalString(16), rejectReason: try r.optionalString(17), transactionID: try r.optionalInt64(18),
            transactionPublicID: try r.optionalString(19),
            createdAt: try r.int64(20), expiresAt: try r.int64(21), decidedAt: try r.optionalInt64(22), updatedAt: try r.int64(23))
    }

    struct NewPayout {
        let publicID: String
        let scope: MoneyScope
        let accountID: Int64
        let amount: Amount
        let beneficiaryName: String
        let beneficiaryCountry: String
        let method: PaymentMethod
        let beneficiaryAccount: String
        let reference: String
        let createdBy: Int64?
        let createdByName: String
        let createdAt: Int64
        let expiresAt: Int64
    }

    func insert(_ p: NewPayout, on db: Connection) throws -> Int64 {
        try db.scalar(
            """
            INSERT INTO payouts (public_id, organization_id, environment, account_id, amount, currency, beneficiary_name, beneficiary_country,
                method, beneficiary_account, reference, created_by, created_by_name, created_at, expires_at, updated_at)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
            RETURNING id
            """,
            arguments: [p.publicID, p.scope.organizationID, p.scope.environment.rawValue, p.accountID, p.amount.minor, p.amount.currency.code,
                        p.beneficiaryName, p.beneficiaryCountry, p.method.rawValue, p.beneficiaryAccount, p.reference, p.createdBy,
                        p.createdByName, p.createdAt, p.expiresAt, p.createdAt]) ?? 0
    }

    func payout(id: Int64, on db: Connection) throws -> PayoutRecord? {
        try db.queryOne("SELECT \(Self.columns) FROM payouts p WHERE p.id = ?", id).map(Self.payout)
    }

    func payout(publicID: String, in scope: MoneyScope, on db: Connection) throws -> PayoutRecord? {
        try db.queryOne("SELECT \(Self.columns) FROM payouts p WHERE p.public_id = ? AND p.organization_id = ? AND p.environment = ?",
                        publicID, scope.organizationID, scope.environment.rawValue).map(Self.payout)
    }

    /// A page of the environment's payouts: those waiting for authorization first (oldest
    /// first: they expire first), then the decided ones, newest first.
    func list(_ scope: MoneyScope, limit: Int, offset: Int, on db: Connection) throws -> [PayoutRecord] {
        try db.query(
            """
            SELECT \(Self.columns) FROM payouts p WHERE p.organization_id = ? AND p.environment = ?
            ORDER BY p.status = 'pending_authorization' DESC,
                     CASE WHEN p.status = 'pending_authorization' THEN p.created_at ELSE -p.created_at END, p.id DESC
            LIMIT ? OFFSET ?
            """, scope.organizationID, scope.environment.rawValue, limit, offset).map(Self.payout)
    }

    /// Up to `limit` payouts, newest first, older than `(createdAt, id)` when given: the
    /// API's cursor pages.
    func newest(_ scope: MoneyScope, olderThan key: (createdAt: Int64, id: Int64)?, limit: Int, on db: Connection) throws -> [PayoutRecord] {
        var sql = "SELECT \(Self.columns) FROM payouts p WHERE p.organization_id = ? AND p.environment = ?"
        var args: [any SQLBindable] = [scope.organizationID, scope.environment.rawValue]
        if let key {
            sql += " AND (p.created_at, p.id) < (?, ?)"
            args += [key.createdAt, key.id]
        }
        sql += " ORDER BY p.created_at DESC, p.id DESC LIMIT ?"
        args.append(limit)
        return try db.query(sql, arguments: args).map(Self.payout)
    }

    func count(_ scope: MoneyScope, on db: Connection) throws -> Int {
        try db.scalar("SELECT count(*) FROM payouts WHERE organization_id = ? AND environment = ?",
                      scope.organizationID, scope.environment.rawValue, as: Int.self) ?? 0
    }

    /// Authorizes or rejects, only if still waiting and not expired; false when someone (or the
    /// expiry job) decided first.
    func decide(id: Int64, to status: PayoutStatus, by userID: Int64, name: String, reason: String?, at now: Int64, on db: Connection) throws -> Bool {
        try db.execute(
            """
            UPDATE payouts SET status = ?, decided_by = ?, decided_by_name = ?, reject_reason = ?, decided_at = ?, updated_at = ?
            WHERE id = ? AND status = 'pending_authorization' AND expires_at > ?
            """, status.rawValue, userID, name, reason, now, now, id, now) == 1
    }

    func setTransaction(id: Int64, transactionID: Int64, on db: Connection) throws {
        try db.execute("UPDATE payouts SET transaction_id = ? WHERE id = ?", transactionID, id)
    }

    /// Expires the payout if it is still waiting at or after its expiry; false otherwise.
    func expire(id: Int64, at now: Int64, on db: Connection) throws -> Bool {
        try db.execute(
            "UPDATE payouts SET status = 'expired', decided_at = ?, updated_at = ? WHERE id = ? AND status = 'pending_authorization' AND expires_at <= ?",
            now, now, id, now) == 1
    }
}
