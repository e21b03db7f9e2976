import Database
import Foundation

/// The SQL of accounts, the ledger, transactions, their history and the dashboard's rollup.
/// Every write here happens inside the caller's transaction; the service decides the rules.
struct MoneyStore {
    // MARK: accounts

    static let accountColumns = "id, public_id, organization_id, environment, currency, available, pending, created_at, updated_at"

    static func account(_ r: some RowReading) throws -> MoneyAccountRecord {
        let code = try r.string(4)
        guard let currency = Currency(code: code) else { throw MoneyStoreError("unknown currency \(code) in money_accounts") }
        return MoneyAccountRecord(
            id: try r.int64(0), publicID: try r.string(1),
            scope: MoneyScope(organizationID: try r.int64(2), environment: Environment(rawValue: try r.string(3)) ?? .sandbox),
            currency: currency, available: try r.int64(5), pending: try r.int64(6), createdAt: try r.int64(7), updatedAt: try r.int64(8))
    }

    func accounts(_ scope: MoneyScope, on db: Connection) throws -> [MoneyAccountRecord] {
        try db.query("SELECT \(Self.accountColumns) FROM money_accounts WHERE organization_id = ? AND environment = ? ORDER BY currency",
                     scope.organizationID, scope.environment.rawValue).map(Self.account)
    }

    func account(_ scope: MoneyScope, currency: Currency, on db: Connection) throws -> MoneyAccountRecord? {
        try db.queryOne("SELECT \(Self.accountColumns) FROM money_accounts WHERE organization_id = ? AND environment = ? AND currency = ?",
                        scope.organizationID, scope.environment.rawValue, currency.code).map(Self.account)
    }

    func account(id: Int64, on db: Connection) throws -> MoneyAccountRecord? {
        try db.queryOne("SELECT \(Self.accountColumns) FROM money_accounts WHERE id = ?", id).map(Self.account)
    }

    /// The account of `currency`, opened (empty) if the organization has none yet.
    func openAccount(_ scope: MoneyScope, currency: Currency, at now: Int64, on db: Connection) throws -> MoneyAccountRecord {
        if let a = try account(scope, currency: currency, on: db) { return a }
        try db.execute("INSERT INTO money_accounts (public_id, organization_id, environment, currency, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?)",
                       PublicID.make("acct"), scope.organizationID, scope.environment.rawValue, currency.code, now, now)
        guard let a = try account(scope, currency: currency, on: db) else { throw MoneyStoreError("account not found after insert") }
        return a
    }

    // MARK: the ledger

    /// Moves `available` and `pending` of an account by the given signed amounts and writes
    /// one ledger entry per bucket that moved, with the balances after it. Returns false, and
    /// writes nothing, if a balance would fall below zero (the guard is part of the update statement,
    /// so it holds whoever else writes).
    func post(accountID: Int64, available: Int64, pending: Int64, transactionID: Int64?, payoutID: Int64?, reason: String,
              at now: Int64, on db: Connection) throws -> Bool {
        guard available != 0 || pending != 0 else { return true }
        guard let after = try db.queryOne(
            """
            UPDATE money_accounts SET available = available + ?1, pending = pending + ?2, updated_at = ?3
            WHERE id = ?4 AND available + ?1 >= 0 AND pending + ?2 >= 0
            RETURNING available, pending
            """, available, pending, now, accountID) else { return false }
        let (a, p) = (try after.int64(0), try after.int64(1))
        let insert = """
            INSERT INTO ledger_entries (account_id, bucket, amount, available_after, pending_after, transaction_id, payout_id, reason, created_at)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
            """
        // Available first, then pending: "available_after/pending_after" of the second entry are
        // the account's balances; those of the first are the state in between.
        if available != 0 {
            try db.execute(insert, accountID, "available", available, a, pending != 0 ? p - pending : p, transactionID, payoutID, reason, now)
        }
        if pending != 0 {
            try db.execute(insert, accountID, "pending", pending, a, p, transactionID, payoutID, reason, now)
        }
        return true
    }

    /// The sums of an account's entries per bucket: what its balances must equal.
    func ledgerSums(accountID: Int64, on db: Connection) throws -> (available: Int64, pending: Int64) {
        let row = try db.queryOne(
            """
            SELECT coalesce(sum(CASE WHEN bucket = 'available' THEN amount END), 0),
                   coalesce(sum(CASE WHEN bucket = 'pending' THEN amount END), 0)
            FROM ledger_entries WHERE account_id = ?
            """, accountID)
        return (try row?.int64(0) ?? 0, try row?.int64(1) ?? 0)
    }

    // MARK: transactions

    static let transactionColumns = """
        t.id, t.public_id, t.organization_id, t.environment, t.account_id, t.external_id, t.type, t.status, t.amount, t.currency,
        t.error_code, t.error_note, t.sender_name, t.sender_country, t.sender_method, t.sender_last4,
        t.recipient_name, t.recipient_country, t.recipient_method, t.recipient_last4, t.metadata, t.payout_id,
        t.created_at, t.updated_at, t.settled_at
        """

    /// The index of each of ``transactionColumns`` in a row, for code that reads a row in place
    /// (``TransactionJSON/write(row:to:)``) rather than through ``transaction(_:offset:)``.
    enum TransactionColumn {
        static let id = 0, publicID = 1, organizationID = 2, environment = 3, accountID = 4, externalID = 5, type = 6, status = 7
        static let amount = 8, currency = 9, errorCode = 10, errorNote = 11
        static let senderName = 12, senderCountry = 13, senderMethod = 14, senderLast4 = 15
        static let recipientName = 16, recipientCountry = 17, recipientMethod = 18, recipientLast4 = 19
        static let metadata = 20, payoutID = 21, createdAt = 22, updatedAt = 23, settledAt = 24
    }

    static func transaction(_ r: some RowReading, offset o: Int = 0) throws -> TransactionRecord {
        let code = try r.string(o + 9)
        guard let currency = Currency(code: code) else { throw MoneyStoreError("unknown currency \(code) in transactions") }
        return TransactionRecord(
            id: try r.int64(o), publicID: try r.string(o + 1),
            scope: MoneyScope(organizationID: try r.int64(o + 2), environment: Environment(rawValue: try r.string(o + 3)) ?? .sandbox),
            accountID: try r.int64(o + 4), externalID: try r.optionalString(o + 5),
            type: TransactionType(rawValue: try r.string(o + 6)) ?? .payin,
            status: TransactionStatus(rawValue: try r.string(o + 7)) ?? .pending,
            amount: Amount(minor: try r.int64(o + 8), currency: currency),
            errorCode: try r.optionalString(o + 10), errorNote: try r.optionalString(o + 11),
            sender: Party(name: try r.string(o + 12), country: try r.string(o + 13),
                          method: try r.optionalString(o + 14).flatMap(PaymentMethod.init(rawValue:)), last4: try r.string(o + 15)),
            recipient: Party(name: try r.string(o + 16), country: try r.string(o + 17),
                             method: try r.optionalString(o + 18).flatMap(PaymentMethod.init(rawValue:)), last4: try r.string(o + 19)),
            metadataJSON: try r.string(o + 20), payoutID: try r.optionalInt64(o + 21),
            createdAt: try r.int64(o + 22), updatedAt: try r.int64(o + 23), settledAt: try r.optionalInt64(o + 24))
    }

    /// The columns of a ``TransactionSummary``, read by ``summary(_:)``.
    static let summaryColumns = "t.id, t.public_id, t.external_id, t.type, t.status, t.amount, t.currency, t.sender_name, t.recipient_name, t.created_at"

    /// Read from the row in place (``RowView``'s own readers, not the generic ones).
    static func summary(_ r: RowView) throws -> TransactionSummary { TransactionSummary(try SummaryRow(r)) }

    /// A row of ``summaryColumns`` read where SQLite holds it, for a table row written straight
    /// from the statement: no ``TransactionSummary`` (three strings) made of it. Its texts are
    /// SQLite's bytes, valid only during the call that hands the row over.
    struct SummaryRow: TransactionRowFields {
        let id: Int64
        let createdAt: Int64
        let type: TransactionType
        let status: TransactionStatus
        let amount: Amount
        let publicID: UnsafeBufferPointer<UInt8>
        let externalID: UnsafeBufferPointer<UInt8>?
        /// Only the party the row names is read: the sender of money coming in, else the recipient.
        let counterparty: UnsafeBufferPointer<UInt8>

        init(_ r: RowView) throws {
            // Type, status and currency are read from the row's bytes, without a string each.
            var currency: Currency?, type = TransactionType.payin, status = TransactionStatus.pending
            _ = try r.withUTF8(6) { currency = Currency(storedCode: $0) }
            guard let currency else { throw MoneyStoreError("unknown currency \(try r.string(6)) in transactions") }
            _ = try r.withUTF8(3) { type = TransactionType(stored: $0) ?? .payin }
            _ = try r.withUTF8(4) { status = TransactionStatus(stored: $0) ?? .pending }
            self.type = type
            self.status = status
            id = try r.int64(0)
            createdAt = try r.int64(9)
            amount = Amount(minor: try r.int64(5), currency: currency)
            publicID = try r.utf8(1) ?? UnsafeBufferPointer(start: nil, count: 0)
            externalID = try r.utf8(2)
            counterparty = try r.utf8(type.isIncoming ? 7 : 8) ?? UnsafeBufferPointer(start: nil, count: 0)
        }

        func withPublicID(_ body: (UnsafeBufferPointer<UInt8>) -> Void) { body(publicID) }
        func withExternalID(_ body: (UnsafeBufferPointer<UInt8>) -> Void) -> Bool {
            guard let externalID else { return false }
            body(externalID)
            return true
        }
        func withCounterparty(_ body: (UnsafeBufferPointer<UInt8>) -> Void) { body(counterparty) }
    }

    static func decodeMetadata(_ json: String) -> [String: String] {
        guard json != "{}", let d = try? JSONDecoder().decode([String: String].self, from: Data(json.utf8)) else { return [:] }
        return d
    }

    static func encodeMetadata(_ m: [String: String]) -> String {
        guard !m.isEmpty else { return "{}" }
        let e = JSONEncoder()
        e.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return (try? e.encode(m)).map { String(decoding: $0, as: UTF8.self) } ?? "{}"
    }

    struct NewRow {
        let publicID: String
        let scope: MoneyScope
        let accountID: Int64
        let externalID: String?
        let type: TransactionType
        let status: TransactionStatus
        let amount: Amount
        let sender: Party
        let recipient: Party
        let metadata: [String: String]
        let payoutID: Int64?
        let createdAt: Int64
    }

    func insert(_ t: NewRow, on db: Connection) throws -> Int64 {
        try db.scalar(
            """
            INSERT INTO transactions (public_id, organization_id, environment, account_id, external_id, type, status, amount, currency,
                sender_name, sender_country, sender_method, sender_last4, recipient_name, recipient_country, recipient_method, recipient_last4,
                metadata, payout_id, created_at, updated_at)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
            RETURNING id
            """,
            arguments: [t.publicID, t.scope.organizationID, t.scope.environment.rawValue, t.accountID, t.externalID, t.type.rawValue,
                        t.status.rawValue, t.amount.minor, t.amount.currency.code,
                        t.sender.name, t.sender.country, t.sender.method?.rawValue, t.sender.last4,
                        t.recipient.name, t.recipient.country, t.recipient.method?.rawValue, t.recipient.last4,
                        Self.encodeMetadata(t.metadata), t.payoutID, t.createdAt, t.createdAt]) ?? 0
    }

    func transaction(id: Int64, on db: Connection) throws -> TransactionRecord? {
        try db.queryOne("SELECT \(Self.transactionColumns) FROM transactions t WHERE t.id = ?", id).map { try Self.transaction($0) }
    }

    func transaction(publicID: String, in scope: MoneyScope, on db: Connection) throws -> TransactionRecord? {
        try db.queryOne("SELECT \(Self.transactionColumns) FROM transactions t WHERE t.public_id = ? AND t.organization_id = ? AND t.environment = ?",
                        publicID, scope.organizationID, scope.environment.rawValue).map { try Self.transaction($0) }
    }

    func transaction(externalID: String, in scope: MoneyScope, on db: Connection) throws -> TransactionRecord? {
        try db.queryOne("SELECT \(Self.transactionColumns) FROM transactions t WHERE t.organization_id = ? AND t.environment = ? AND t.external_id = ?",
                        scope.organizationID, scope.environment.rawValue, externalID).map { try Self.transaction($0) }
    }

    /// Sets the status (only if it is still `from`: a concurrent move loses, not overwrites).
    func setStatus(id: Int64, from: TransactionStatus, to: TransactionStatus, errorCode: String?, errorNote: String?,
                   settledAt: Int64?, at now: Int64, on db: Connection) throws -> Bool {
        try db.execute(
            "UPDATE transactions SET status = ?, error_code = ?, error_note = ?, settled_at = coalesce(?, settled_at), updated_at = ? WHERE id = ? AND status = ?",
            to.rawValue, errorCode, errorNote, settledAt, now, id, from.rawValue) == 1
    }

    func addHistory(transactionID: Int64, status: TransactionStatus, errorCode: String?, note: String?, actor: String, at now: Int64, on db: Connection) throws {
        try db.execute("INSERT INTO transaction_status_history (transaction_id, status, error_code, note, actor, at) VALUES (?, ?, ?, ?, ?, ?)",
                       transactionID, status.rawValue, errorCode, note, actor, now)
    }

    func history(transactionID: Int64, on db: Connection) throws -> [StatusChange] {
        try db.query("SELECT status, error_code, note, actor, at FROM transaction_status_history WHERE transaction_id = ? ORDER BY id", transactionID).map {
            StatusChange(status: TransactionStatus(rawValue: try $0.string(0)) ?? .pending, errorCode: try $0.optionalString(1),
                         note: try $0.optionalString(2), actor: try $0.string(3), at: try $0.int64(4))
        }
    }

    // MARK: the rollup

    /// Adds (`sign` 1) or removes (`sign` -1) one transaction from its hour's row.
    func count(_ scope: MoneyScope, currency: String, createdAt: Int64, status: TransactionStatus, amount: Int64, sign: Int64, on db: Connection) throws {
        // A removal updates the row it counted into (the upsert's CHECK would see the negative
        // row it proposes before the conflict turns it into an update).
        if sign < 0 {
            try db.execute(
                """
                UPDATE transaction_stats SET count = count - 1, amount = amount - ?
                WHERE organization_id = ? AND environment = ? AND currency = ? AND hour = ? AND status = ?
                """, amount, scope.organizationID, scope.environment.rawValue, currency, createdAt / 3600, status.rawValue)
            return
        }
        try db.execute(
            """
            INSERT INTO transaction_stats (organization_id, environment, currency, hour, status, count, amount) VALUES (?1, ?2, ?3, ?4, ?5, 1, ?6)
            ON CONFLICT (organization_id, environment, currency, hour, status) DO UPDATE SET count = count + 1, amount = amount + ?6
            """, scope.organizationID, scope.environment.rawValue, currency, createdAt / 3600, status.rawValue, amount)
    }
}

/// Stored data the code cannot read (a currency removed from the table): a 500, never a guess.
struct MoneyStoreError: Error, CustomStringConvertible {
    let description: String
    init(_ d: String) { description = d }
}

extension TransactionSummary {
    /// A row read in place, copied out.
    init(_ row: MoneyStore.SummaryRow) {
        self.init(id: row.id, publicID: String(decoding: row.publicID, as: UTF8.self),
                  externalID: row.externalID.map { String(decoding: $0, as: UTF8.self) }, type: row.type, status: row.status,
                  amount: row.amount, counterparty: String(decoding: row.counterparty, as: UTF8.self), createdAt: row.createdAt)
    }
}
