import Database
import Foundation

/// The reads of the dashboard and the transactions list, and the cancellation requests.
/// Every list walks `transactions_by_time` (organization, environment, created_at, id) in
/// index order; the chart and the statistics read `transaction_stats`, never the
/// transactions. Writes happen inside the caller's transaction.
struct TransactionListStore {
    typealias Columns = MoneyStore

    /// A page key: the (created_at, id) of a row.
    struct Key: Sendable, Equatable {
        let createdAt: Int64
        let id: Int64
    }

    /// The parts of a list query that narrow it (all optional).
    struct Query: Sendable {
        var from: Int64?
        var until: Int64?
        var status: TransactionStatus?
        var type: TransactionType?
    }

    /// The newest `limit` transactions.
    func recent(_ scope: MoneyScope, limit: Int, on db: Connection) throws -> [TransactionSummary] {
        // Decoded in place, not copied into rows of values first (a third of the read).
        var rows: [TransactionSummary] = []
        rows.reserveCapacity(limit)
        try db.forEach(Shape.summary.firstPageSQL, arguments: [scope.organizationID, scope.environment.rawValue, limit]) {
            rows.append(try Columns.summary($0))
        }
        return rows
    }

    /// The rows of a page of the list, newest first, each read in place while SQLite holds it
    /// (``MoneyStore/SummaryRow``): older than `before`, or the `limit` rows just newer than
    /// `after` (read upwards, handed over newest first), or the first `limit` rows.
    func forEachSummary(_ scope: MoneyScope, _ q: Query, before: Key?, after: Key?, limit: Int, on db: Connection,
                        _ body: (MoneyStore.SummaryRow) throws -> Void) throws {
        var (sql, args) = Self.pageSQL(.summary, scope, q, before: before, after: after, limit: limit)
        if after != nil, before == nil {
            // The rows just above the key, turned newest first by SQLite (a sort of `limit` rows).
            sql = "SELECT * FROM (\(sql)) ORDER BY created_at DESC, id DESC"
        }
        try db.forEach(sql, arguments: args) { try body(try MoneyStore.SummaryRow($0)) }
    }

    /// The transaction with an integrator's external id, if it also meets the rest of `q`: one
    /// look-up in `transactions_by_external_id`, its row read in place.
    func forEachSummary(externalID: String, _ scope: MoneyScope, _ q: Query, on db: Connection,
                        _ body: (MoneyStore.SummaryRow) throws -> Void) throws {
        var sql = "SELECT \(Columns.summaryColumns) FROM transactions t INDEXED BY transactions_by_external_id WHERE t.organization_id = ? AND t.environment = ? AND t.external_id = ?"
        var args: [any SQLBindable] = [scope.organizationID, scope.environment.rawValue, externalID]
        Self.narrow(q, &sql, &args)
        try db.forEach(sql, arguments: args) { try body(try MoneyStore.SummaryRow($0)) }
    }

    /// The rows of a page (newest first, older than `before`) read
    /// in place: `body` gets each row of ``MoneyStore/transactionColumns`` while SQLite holds it,
    /// and no record is built (a `/v1` page written straight into its JSON).
    func forEachInPage(_ scope: MoneyScope, _ q: Query, before: Key?, limit: Int, on db: Connection,
                       _ body: (RowView) throws -> Void) throws {
        let (sql, args) = Self.pageSQL(.record, scope, q, before: before, after: nil, limit: limit)
        try db.forEach(sql, arguments: args, body: body)
    }

    /// Which columns a page reads: whole transactions (the API writes every field) or what a
    /// table row shows (``TransactionSummary``).
    enum Shape {
        case record, summary

        var columns: String {
            switch self {
            case .record: Columns.transactionColumns
            case .summary: Columns.summaryColumns
            }
        }

        /// The first page with no narrowing (the API's most common list, the dashboard's
        /// recent rows): its SQL is built once.
        var firstPageSQL: String {
            switch self {
            case .record: Self.firstRecords
            case .summary: Self.firstSummaries
            }
        }
        private static let firstRecords = firstPage(Columns.transactionColumns)
        private static let firstSummaries = firstPage(Columns.summaryColumns)
        private static func firstPage(_ columns: String) -> String {
            "SELECT \(columns) FROM transactions t INDEXED BY transactions_by_time WHERE t.organization_id = ? AND t.environment = ? ORDER BY t.created_at DESC, t.id DESC LIMIT ?"
        }
    }

    private static func pageSQL(_ shape: Shape, _ scope: MoneyScope, _ q: Query, before: Key?, after: Key?, limit: Int) -> (String, [any SQLBindable]) {
        var args: [any SQLBindable] = [scope.organizationID, scope.environment.rawValue]
        if before == nil, after == nil, q.from == nil, q.until == nil, q.status == nil, q.type == nil {
            args.append(limit)
            return (shape.firstPageSQL, args)
        }
        var sql = "SELECT \(shape.columns) FROM transactions t INDEXED BY transactions_by_time WHERE t.organization_id = ? AND t.environment = ?"
        Self.narrow(q, &sql, &args)
        if let before {
            sql += " AND (t.created_at, t.id) < (?, ?) ORDER BY t.created_at DESC, t.id DESC"
            args += [before.createdAt, before.id]
        } else if let after {
            sql += " AND (t.created_at, t.id) > (?, ?) ORDER BY t.created_at ASC, t.id ASC"
            args += [after.createdAt, after.id]
        } else {
            sql += " ORDER BY t.created_at DESC, t.id DESC"
        }
        sql += " LIMIT ?"
        args.append(limit)
        return (sql, args)
    }

    /// Whether any row of the query lies beyond `key`: newer (`newer` true) or older.
    func exists(_ scope: MoneyScope, _ q: Query, beyond key: Key, newer: Bool, on db: Connection) throws -> Bool {
        var sql = "SELECT 1 FROM transactions t INDEXED BY transactions_by_time WHERE t.organization_id = ? AND t.environment = ?"
        var args: [any SQLBindable] = [scope.organizationID, scope.environment.rawValue]
        Self.narrow(q, &sql, &args)
        sql += newer ? " AND (t.created_at, t.id) > (?, ?) LIMIT 1" : " AND (t.created_at, t.id) < (?, ?) LIMIT 1"
        args += [key.createdAt, key.id]
        return try db.queryOne(sql, arguments: args) != nil
    }

    private static func narrow(_ q: Query, _ sql: inout String, _ args: inout [any SQLBindable]) {
        if let from = q.from { sql += " AND t.created_at >= ?"; args.append(from) }
        if let until = q.until { sql += " AND t.created_at < ?"; args.append(until) }
        if let s = q.status { sql += " AND t.status = ?"; args.append(s.rawValue) }
        if let t = q.type { sql += " AND t.type = ?"; args.append(t.rawValue) }
    }

    /// Whether the environment holds any transaction (one step of the index).
    func hasTransactions(_ scope: MoneyScope, on db: Connection) throws -> Bool {
        try db.queryOne("SELECT 1 FROM transactions WHERE organization_id = ? AND environment = ? LIMIT 1",
                        scope.organizationID, scope.environment.rawValue) != nil
    }

    // MARK: the rollup

    /// A span of hours over which the viewer's zone keeps one offset from UTC.
    struct OffsetSpan: Sendable {
        let fromHour: Int64
        let offsetSeconds: Int64
    }

    /// How many transactions and how much per currency, local day and current status since
    /// `fromHour`: the chart sums the statuses, the statistics the days. An hour row counts on
    /// the local day its hour starts in (`(hour·3600 + offset) / 86400` is that day's number,
    /// the offset being the zone's at that hour; `spans` lists the offsets, a DST change adding
    /// one). Reads only `transaction_stats`, one primary-key range per currency: at most
    /// 720 rows per currency and status, whatever the number of transactions.
    func daily(_ scope: MoneyScope, currencies: [String], fromHour: Int64, spans: [OffsetSpan], on db: Connection) throws
        -> [(currency: String, day: Int64, status: String, count: Int64, amount: Int64)] {
        guard !currencies.isEmpty, let first = spans.first else { return [] }
        var offset = "?"
        var args: [any SQLBindable] = []
        if spans.count == 1 {
            args.append(first.offsetSeconds)
        } else {
            offset = "CASE"
            for s in spans.dropFirst().reversed() {
                offset += " WHEN hour >= ? THEN ?"
                args += [s.fromHour, s.offsetSeconds]
            }
            offset += " ELSE ? END"
            args.append(first.offsetSeconds)
        }
        args += [scope.organizationID, scope.environment.rawValue] + currencies.map { $0 as any SQLBindable } + [fromHour]
        let marks = Array(repeating: "?", count: currencies.count).joined(separator: ", ")
        return try db.query("""
            SELECT currency, (hour * 3600 + \(offset)) / 86400 AS day, status, sum(count), sum(amount)
            FROM transaction_stats WHERE organization_id = ? AND environment = ? AND currency IN (\(marks)) AND hour >= ?
            GROUP BY currency, day, status
            """, arguments: args).map { (try $0.string(0), try $0.int64(1), try $0.string(2), try $0.int64(3), try $0.int64(4)) }
    }

    /// The rollup's version (0 before anything was counted): see ``RollupCache``.
    func statsVersion(_ scope: MoneyScope, on db: Connection) throws -> Int64 {
        try db.scalar("SELECT version FROM transaction_stats_versions WHERE organization_id = ? AND environment = ?",
                      scope.organizationID, scope.environment.rawValue, as: Int64.self) ?? 0
    }

    // MARK: payouts (read)

    /// The public id and status of a payout, for the transaction page's link.
    func payout(id: Int64, on db: Connection) throws -> (publicID: String, status: String)? {
        try db.queryOne("SELECT public_id, status FROM payouts WHERE id = ?", id).map { (try $0.string(0), try $0.string(1)) }
    }

    // MARK: cancellations

    static let cancellationColumns = "c.id, c.public_id, c.transaction_id, c.requested_by, c.requested_by_name, c.reason, c.status, c.support_request_id, c.created_at, c.decided_at"

    static func cancellation(_ r: some RowReading) throws -> CancellationRecord {
        CancellationRecord(id: try r.int64(0), publicID: try r.string(1), transactionID: try r.int64(2), requestedBy: try r.optionalInt64(3),
                           requestedByName: try r.string(4), reason: try r.string(5),
                           status: CancellationRecord.Status(rawValue: try r.string(6)) ?? .requested,
                           supportRequestID: try r.optionalInt64(7), createdAt: try r.int64(8), decidedAt: try r.optionalInt64(9))
    }

    /// A transaction's cancellation requests, newest first.
    func cancellations(transactionID: Int64, on db: Connection) throws -> [CancellationRecord] {
        try db.query("SELECT \(Self.cancellationColumns) FROM transaction_cancellations c WHERE c.transaction_id = ? ORDER BY c.id DESC",
                     transactionID).map(Self.cancellation)
    }

    func cancellation(publicID: String, on db: Connection) throws -> CancellationRecord? {
        try db.queryOne("SELECT \(Self.cancellationColumns) FROM transaction_cancellations c WHERE c.public_id = ?", publicID).map(Self.cancellation)
    }

    func insertCancellation(publicID: String, transactionID: Int64, requestedBy: Int64?, requestedByName: String, reason: String,
                            status: CancellationRecord.Status, now: Int64, on db: Connection) throws -> Int64 {
        try db.scalar("""
            INSERT INTO transaction_cancellations (public_id, transaction_id, requested_by, requested_by_name, reason, status, created_at, decided_at)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?) RETURNING id
            """, publicID, transactionID, requestedBy, requestedByName, reason, status.rawValue, now,
            status == .requested ? nil : now, as: Int64.self) ?? 0
    }

    func linkSupportRequest(cancellationID: Int64, supportRequestID: Int64, on db: Connection) throws {
        try db.execute("UPDATE transaction_cancellations SET support_request_id = ? WHERE id = ?", supportRequestID, cancellationID)
    }

    /// Decides an open request; false if it was decided already.
    func decideCancellation(id: Int64, status: CancellationRecord.Status, now: Int64, on db: Connection) throws -> Bool {
        try db.execute("UPDATE transaction_cancellations SET status = ?, decided_at = ? WHERE id = ? AND status = 'requested'",
                       status.rawValue, now, id) == 1
    }
}
