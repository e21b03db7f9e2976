import Database

/// The SQL of the API request log: batch inserts for the flusher, the page and detail reads,
/// the pruning deletes. Every statement is parameterized; writes run inside the caller's
/// transaction.
struct APILogsStore {
    /// What narrows the page (all optional).
    struct Query: Sendable, Equatable {
        var credentialID: String?
        /// `[lower, upper)` of status codes: 200..<300 for "2xx".
        var statuses: Range<Int>?
        var pathPrefix: String?
        var from: Int64?
        var until: Int64?
    }

    /// A row of the page or the head of the detail page.
    struct LogRow: Sendable, Equatable {
        let id: Int64
        let requestID: String
        let createdAt: Int64
        let credentialID: String?
        let credentialName: String?
        let credentialLabel: String?
        let method: String
        let path: String
        let status: Int
        let durationMicroseconds: Int64
        let ip: String
        let userAgent: String
    }

    struct Detail: Sendable, Equatable {
        let row: LogRow
        let requestHeaders: String
        let responseHeaders: String
        /// Nil when none were kept (a success) or they were pruned.
        let requestBody: String?
        let responseBody: String?
    }

    static let rowColumns = "r.id, r.request_id, r.created_at, r.credential_id, r.credential_name, r.credential_label, r.method, r.path, r.status, r.duration_us, r.ip, r.user_agent"

    static func row(_ r: Row) throws -> LogRow {
        LogRow(id: try r.int64(0), requestID: try r.string(1), createdAt: try r.int64(2), credentialID: try r.optionalString(3),
            credentialName: try r.optionalString(4), credentialLabel: try r.optionalString(5), method: try r.string(6), path: try r.string(7),
            status: try r.int(8), durationMicroseconds: try r.int64(9), ip: try r.string(10), userAgent: try r.string(11))
    }

    // MARK: writing a batch

    static let insertColumns = """
        INSERT INTO api_requests(request_id, request_key, created_at, organization_id, environment, credential_id, credential_name, credential_label, method, path,
                                 status, duration_us, ip, user_agent, request_headers, response_headers) VALUES
        """
    /// The columns ``append(_:to:)`` binds, in ``insertColumns``' order.
    static let columnCount = 16
    static let rowMarks = "(" + Array(repeating: "?", count: columnCount).joined(separator: ", ") + ")"
    /// Rows per INSERT when a batch is written: one statement per 16 rows costs less per row
    /// than one each (fewer steps, resets and cache lookups), and 256 parameters stay far
    /// below SQLite's limit.
    static let rowsPerInsert = 16
    static let insertMany = insertColumns + Array(repeating: rowMarks, count: rowsPerInsert).joined(separator: ", ")

    /// Writes `batch` in order: rows without bodies 16 to a statement, a row with bodies
    /// alone (its bodies need its id), so ids keep the batch's order. The last rows of a batch,
    /// fewer than 16, go one by one.
    func insert(_ batch: [APIRequestEntry], on db: Connection) throws {
        var i = 0
        while i < batch.count {
            let e = batch[i]
            if i + Self.rowsPerInsert <= batch.count,
               batch[i..<(i + Self.rowsPerInsert)].allSatisfy({ $0.requestBody == nil }) {
                var args: [any SQLBindable] = []
                args.reserveCapacity(Self.columnCount * Self.rowsPerInsert)
                for e in batch[i..<(i + Self.rowsPerInsert)] { Self.append(e, to: &args) }
                _ = try db.execute(Self.insertMany, arguments: args)
                i += Self.rowsPerInsert
            } else {
                try insert(e, on: db)
                i += 1
            }
        }
    }

    func insert(_ e: APIRequestEntry, on db: Connection) throws {
        var args: [any SQLBindable] = []
        args.reserveCapacity(Self.columnCount)
        Self.append(e, to: &args)
        _ = try db.execute(Self.insertColumns + Self.rowMarks, arguments: args)
        if let request = e.requestBody, let response = e.responseBody {
            _ = try db.execute("INSERT INTO api_request_bodies(api_request_id, created_at, request_body, response_body) VALUES (?, ?, ?, ?)",
                               db.lastInsertRowID, e.createdAt, request, response)
        }
    }

    private static func append(_ e: APIRequestEntry, to args: inout [any SQLBindable]) {
        args.append(e.requestID); args.append(requestKey(e.requestID)); args.append(e.createdAt); args.append(e.organizationID)
        args.append(e.environment?.rawValue); args.append(e.credentialID); args.append(e.credentialName); args.append(e.credentialLabel)
        args.append(e.method); args.append(e.path); args.append(e.status); args.append(e.durationMicroseconds)
        args.append(e.ip); args.append(e.userAgent); args.append(e.requestHeaders); args.append(e.responseHeaders)
    }

    /// The first 16 hex digits of a request id as the 64-bit integer the index holds (its bits,
    /// signed): for ids made now (``Request/makeID(now:)``, 24 digits) the second they were
    /// made and 32 random bits, so the index grows at its end; ids of 16 digits (made before)
    /// map whole. Anything else maps to 0 and is still found by its text.
    static func requestKey(_ id: String) -> Int64 {
        let n = id.utf8.count
        guard n == 16 || n == 24, let v = UInt64(id.prefix(16), radix: 16) else { return 0 }
        return Int64(bitPattern: v)
    }

    func noteCredential(organizationID: Int64, environment: Environment, credentialID: String, name: String, label: String?, at: Int64, on db: Connection) throws {
        _ = try db.execute("""
            INSERT INTO api_request_credentials(organization_id, environment, credential_id, credential_name, credential_label, last_seen_at)
            VALUES (?, ?, ?, ?, ?, ?)
            ON CONFLICT(organization_id, environment, credential_id)
            DO UPDATE SET credential_name = excluded.credential_name, credential_label = excluded.credential_label,
                          last_seen_at = max(last_seen_at, excluded.last_seen_at)
            """, organizationID, environment.rawValue, credentialID, name, label, at)
    }

    // MARK: the page

    /// A page of `limit` rows of one environment, newest first: older than `before`, newer than
    /// `after` (read upwards, returned newest first), or the newest.
    func page(organizationID: Int64, environment: Environment, _ q: Query, before: Int64?, after: Int64?, limit: Int, on db: Connection) throws -> [LogRow] {
        var sql = "SELECT \(Self.rowColumns) FROM api_requests r WHERE r.organization_id = ? AND r.environment = ?"
        var args: [any SQLBindable] = [organizationID, environment.rawValue]
        Self.narrow(q, &sql, &args)
        if let before {
            sql += " AND r.id < ? ORDER BY r.id DESC"
            args.append(before)
        } else if let after {
            sql += " AND r.id > ? ORDER BY r.id ASC"
            args.append(after)
        } else {
            sql += " ORDER BY r.id DESC"
        }
        sql += " LIMIT ?"
        args.append(limit)
        let rows = try db.query(sql, arguments: args).map(Self.row)
        return after != nil && before == nil ? rows.reversed() : rows
    }

    /// Whether a row of the query lies beyond `id`: newer (`newer` true) or older.
    func exists(organizationID: Int64, environment: Environment, _ q: Query, beyond id: Int64, newer: Bool, on db: Connection) throws -> Bool {
        var sql = "SELECT 1 FROM api_requests r WHERE r.organization_id = ? AND r.environment = ?"
        var args: [any SQLBindable] = [organizationID, environment.rawValue]
        Self.narrow(q, &sql, &args)
        sql += newer ? " AND r.id > ? LIMIT 1" : " AND r.id < ? LIMIT 1"
        args.append(id)
        return try db.queryOne(sql, arguments: args) != nil
    }

    private static func narrow(_ q: Query, _ sql: inout String, _ args: inout [any SQLBindable]) {
        if let c = q.credentialID { sql += " AND r.credential_id = ?"; args.append(c) }
        if let s = q.statuses { sql += " AND r.status >= ? AND r.status < ?"; args += [s.lowerBound, s.upperBound] }
        // A prefix compared as a prefix (no LIKE: `%` and `_` in it mean themselves).
        if let p = q.pathPrefix { sql += " AND substr(r.path, 1, ?) = ?"; args += [p.utf8.count, p] }
        if let from = q.from { sql += " AND r.created_at >= ?"; args.append(from) }
        if let until = q.until { sql += " AND r.created_at < ?"; args.append(until) }
    }

    /// Whether the environment has any request at all (for the page's first-request advice).
    func hasAny(organizationID: Int64, environment: Environment, on db: Connection) throws -> Bool {
        try db.queryOne("SELECT 1 FROM api_requests WHERE organization_id = ? AND environment = ? LIMIT 1", organizationID, environment.rawValue) != nil
    }

    /// The credentials seen in the environment, most recently used first.
    func credentials(organizationID: Int64, environment: Environment, on db: Connection) throws -> [(id: String, name: String, label: String?)] {
        try db.query("""
            SELECT credential_id, credential_name, credential_label FROM api_request_credentials WHERE organization_id = ? AND environment = ?
            ORDER BY last_seen_at DESC, credential_id LIMIT 200
            """, organizationID, environment.rawValue).map { (try $0.string(0), try $0.string(1), try $0.optionalString(2)) }
    }

    func detail(organizationID: Int64, environment: Environment, requestID: String, on db: Connection) throws -> Detail? {
        guard let r = try db.queryOne("""
            SELECT \(Self.rowColumns), r.request_headers, r.response_headers, b.request_body, b.response_body
            FROM api_requests r LEFT JOIN api_request_bodies b ON b.api_request_id = r.id
            WHERE r.request_key = ? AND r.request_id = ? AND r.organization_id = ? AND r.environment = ? ORDER BY r.id DESC LIMIT 1
            """, Self.requestKey(requestID), requestID, organizationID, environment.rawValue) else { return nil }
        return Detail(row: try Self.row(r), requestHeaders: try r.string(12), responseHeaders: try r.string(13),
                      requestBody: try r.optionalString(14), responseBody: try r.optionalString(15))
    }

    // MARK: pruning

    /// Deletes what is older than `cutoff` among the `limit` oldest rows (their bodies go with
    /// them); returns how many went. Rows are inserted in the order their requests ended, so
    /// the oldest are the lowest ids: the primary key is walked, no index on the time is kept
    /// (a clock stepped back only delays the rows behind it until it has aged too).
    func deleteRows(olderThan cutoff: Int64, limit: Int, on db: Connection) throws -> Int {
        try db.execute("""
            DELETE FROM api_requests WHERE id IN
              (SELECT id FROM (SELECT id, created_at FROM api_requests ORDER BY id LIMIT ?) WHERE created_at < ?)
            """, limit, cutoff)
    }

    func deleteBodies(olderThan cutoff: Int64, limit: Int, on db: Connection) throws -> Int {
        try db.execute("""
            DELETE FROM api_request_bodies WHERE api_request_id IN
              (SELECT api_request_id FROM (SELECT api_request_id, created_at FROM api_request_bodies ORDER BY api_request_id LIMIT ?)
               WHERE created_at < ?)
            """, limit, cutoff)
    }

    func deleteCredentials(lastSeenBefore cutoff: Int64, on db: Connection) throws -> Int {
        try db.execute("DELETE FROM api_request_credentials WHERE last_seen_at < ?", cutoff)
    }
}
