import CSQLite

/// How `BEGIN` takes its lock. See <https://sqlite.org/lang_transaction.html>.
public enum TransactionKind: Sendable {
    /// Takes a read lock at the first read and a write lock at the first write. The only
    /// kind a read-only connection can use (for a consistent snapshot over several queries).
    case deferred
    /// Takes the write lock at once, so the transaction cannot fail later with `SQLITE_BUSY`
    /// when upgrading from reading to writing. The default for writes.
    case immediate
    case exclusive

    var beginSQL: String {
        switch self {
        case .deferred: "BEGIN DEFERRED"
        case .immediate: "BEGIN IMMEDIATE"
        case .exclusive: "BEGIN EXCLUSIVE"
        }
    }
}

/// One SQLite connection (`sqlite3*`) with a prepared-statement cache.
///
/// A connection is **not thread-safe**: it is opened with `SQLITE_OPEN_NOMUTEX` and must be
/// used by one thread at a time (``Database`` guarantees that for the connections it lends).
/// Every connection is configured with `journal_mode=WAL`, `foreign_keys=ON`,
/// `synchronous=FULL` and a busy timeout.
///
/// Statements are prepared once per SQL text and kept (up to `statementCacheCapacity`, least
/// recently used evicted first); after each use they are reset and their bindings cleared.
/// `execute`, `query`, `queryOne`, `forEach` and `scalar` run exactly one statement and
/// refuse SQL holding more; `executeScript` runs several.
///
/// Arguments bind to `?` parameters in order, either as a variadic list of ``SQLBindable``
/// values or, for lists built at run time, as an `arguments:` array.
public final class Connection {
    /// The database file.
    public let path: String
    public let isReadOnly: Bool

    private var handle: OpaquePointer?
    private var cache: [SQLKey: Statement] = [:]
    private let cacheCapacity: Int
    private var useCounter: UInt64 = 0
    private var savepointDepth = 0

    /// SQLite's process-wide settings, made once before the first connection opens.
    private static let configured: Void = { _ = csqlite_disable_memstatus() }()

    /// Opens (and, unless `readOnly`, creates) the database at `path`.
    public init(path: String, readOnly: Bool = false, busyTimeout milliseconds: Int32 = 5000, statementCacheCapacity: Int = 256) throws {
        Self.configured
        self.path = path
        self.isReadOnly = readOnly
        self.cacheCapacity = max(statementCacheCapacity, 1)

        var db: OpaquePointer?
        let flags = (readOnly ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE) | SQLITE_OPEN_NOMUTEX
        let rc = sqlite3_open_v2(path, &db, flags, nil)
        guard rc == SQLITE_OK, let db else {
            let message = db.map { String(cString: sqlite3_errmsg($0)) } ?? String(cString: sqlite3_errstr(rc))
            sqlite3_close_v2(db)
            throw DatabaseError(code: rc, message: "cannot open database '\(path)': \(message)")
        }
        handle = db
        sqlite3_extended_result_codes(db, 1)
        do {
            sqlite3_busy_timeout(db, milliseconds)
            let defined = SQLArchive.define(on: db)
            guard defined == SQLITE_OK else { throw DatabaseError(code: defined, message: "cannot define sqlar_uncompress: \(String(cString: sqlite3_errmsg(db)))") }
            // journal_mode is a property of the file: a read-only connection cannot set it, but
            // reports the mode the writer set.
            try executeScript("\(readOnly ? "" : "PRAGMA journal_mode = WAL; ")PRAGMA foreign_keys = ON; PRAGMA synchronous = FULL;")
        } catch {
            close()
            throw error
        }
    }

    deinit { close() }

    /// Finalizes the cached statements and closes the handle. Further use throws.
    public func close() {
        guard let db = handle else { return }
        cache.removeAll()
        sqlite3_close_v2(db)
        handle = nil
    }

    private func open() throws -> OpaquePointer {
        guard let handle else { throw DatabaseError.closed }
        return handle
    }

    // MARK: - Running statements

    /// Runs one statement to completion and returns how many rows it inserted, updated or
    /// deleted (0 for anything else). Any rows it returns are discarded.
    @discardableResult
    public func execute(_ sql: String, _ arguments: any SQLBindable...) throws -> Int {
        try execute(sql, arguments: arguments)
    }

    @discardableResult
    public func execute(_ sql: String, arguments: [any SQLBindable]) throws -> Int {
        try withStatement(sql, arguments) { statement in
            let db = sqlite3_db_handle(statement.handle)
            let before = sqlite3_total_changes64(db)
            while try statement.step() {}
            return sqlite3_total_changes64(db) == before ? 0 : Int(sqlite3_changes64(db))
        }
    }

    /// All rows of a query, copied out of SQLite.
    public func query(_ sql: String, _ arguments: any SQLBindable...) throws -> [Row] {
        try query(sql, arguments: arguments)
    }

    public func query(_ sql: String, arguments: [any SQLBindable]) throws -> [Row] {
        try withStatement(sql, arguments) { statement in
            var rows: [Row] = []
            while try statement.step() {
                rows.append(Self.copyRow(of: statement))
            }
            return rows
        }
    }

    /// The first row of a query, or `nil` when there is none. Stops after the first row.
    public func queryOne(_ sql: String, _ arguments: any SQLBindable...) throws -> Row? {
        try queryOne(sql, arguments: arguments)
    }

    public func queryOne(_ sql: String, arguments: [any SQLBindable]) throws -> Row? {
        try withStatement(sql, arguments) { statement in
            try statement.step() ? Self.copyRow(of: statement) : nil
        }
    }

    /// Calls `body` for each row, reading straight from the statement: no row is copied
    /// unless `body` copies it. The ``RowView`` is valid only during the call.
    public func forEach(_ sql: String, _ arguments: any SQLBindable..., body: (RowView) throws -> Void) throws {
        try forEach(sql, arguments: arguments, body: body)
    }

    public func forEach(_ sql: String, arguments: [any SQLBindable], body: (RowView) throws -> Void) throws {
        try withStatement(sql, arguments) { statement in
            while try statement.step() {
                try body(RowView(statement: statement))
            }
        }
    }

    /// The first column of the first row, or `nil` when there is no row or the value is NULL:
    /// `let count = try conn.scalar("SELECT count(*) FROM users", as: Int.self)`.
    /// Throws on a type mismatch (see ``SQLDecodable``).
    public func scalar<T: SQLDecodable>(_ sql: String, _ arguments: any SQLBindable..., as type: T.Type = T.self) throws -> T? {
        try scalar(sql, arguments: arguments, as: type)
    }

    public func scalar<T: SQLDecodable>(_ sql: String, arguments: [any SQLBindable], as type: T.Type = T.self) throws -> T? {
        try withStatement(sql, arguments) { statement in
            guard try statement.step() else { return nil }
            return try RowView(statement: statement).decode(0, as: T?.self)
        }
    }

    /// The rowid of the most recent successful INSERT on this connection.
    public var lastInsertRowID: Int64 {
        handle.map { sqlite3_last_insert_rowid($0) } ?? 0
    }

    /// Whether a transaction is open (`BEGIN` without `COMMIT`/`ROLLBACK` yet).
    public var isInTransaction: Bool {
        handle.map { sqlite3_get_autocommit($0) == 0 } ?? false
    }

    /// Whether the open transaction holds foreign key violations of `DEFERRABLE INITIALLY
    /// DEFERRED` constraints, which would make its `COMMIT` fail.
    public var hasDeferredForeignKeyViolations: Bool {
        guard let handle else { return false }
        var current: Int32 = 0, highest: Int32 = 0
        return sqlite3_db_status(handle, SQLITE_DBSTATUS_DEFERRED_FKS, &current, &highest, 0) == SQLITE_OK && current > 0
    }

    /// Runs SQL holding any number of statements (a migration, a schema), in order, stopping
    /// at the first error. Its statements are not cached.
    public func executeScript(_ script: String) throws {
        var offset = 0
        try executeScript(script, errorOffset: &offset)
    }

    /// `executeScript`, reporting the UTF-8 byte offset in `script` where the failing
    /// statement (or, for a syntax error, the offending token) starts.
    func executeScript(_ script: String, errorOffset: inout Int) throws {
        let db = try open()
        let length = script.utf8.count
        try script.withCString { start in
            let end = start + length
            var cursor = start
            while cursor < end {
                cursor = skipSpaceAndComments(cursor, end)
                errorOffset = cursor - start
                var statement: OpaquePointer?
                var tail: UnsafePointer<CChar>?
                let rc = sqlite3_prepare_v2(db, cursor, Int32(end - cursor), &statement, &tail)
                guard rc == SQLITE_OK else {
                    let tokenOffset = Int(sqlite3_error_offset(db))
                    if tokenOffset >= 0 { errorOffset += tokenOffset }
                    throw DatabaseError(connection: db, sql: statementSnippet(cursor, end))
                }
                guard let statement, let tail else { break } // only whitespace and comments were left
                defer { sqlite3_finalize(statement) }
                var stepped: Int32
                repeat { stepped = sqlite3_step(statement) } while stepped == SQLITE_ROW
                guard stepped == SQLITE_DONE else {
                    throw DatabaseError(connection: db, sql: String(cString: sqlite3_sql(statement)))
                }
                cursor = tail
            }
        }
    }

    // MARK: - Transactions

    /// Runs `body` in a transaction: COMMIT when it returns, ROLLBACK when it throws (the
    /// error is rethrown).
    ///
    /// Nesting is allowed: called while a transaction is already open (for example inside
    /// ``Database/write(_:)``), it runs `body` in a SAVEPOINT instead, so a failing inner
    /// block undoes only its own changes and the outer transaction goes on. `kind` only
    /// applies to the outermost level.
    @discardableResult
    public func transaction<T>(_ kind: TransactionKind = .immediate, _ body: () throws -> T) throws -> T {
        if isInTransaction { return try savepoint(body) }
        try execute(kind.beginSQL)
        do {
            let result = try body()
            try execute("COMMIT")
            return result
        } catch {
            // Some errors (SQLITE_FULL, a ROLLBACK conflict clause) already ended the transaction.
            if isInTransaction { _ = try? execute("ROLLBACK") }
            throw error
        }
    }

    private func savepoint<T>(_ body: () throws -> T) throws -> T {
        savepointDepth += 1
        defer { savepointDepth -= 1 }
        let name = "portal_savepoint_\(savepointDepth)"
        try execute("SAVEPOINT \(name)")
        do {
            let result = try body()
            try execute("RELEASE \(name)")
            return result
        } catch {
            if isInTransaction {
                _ = try? execute("ROLLBACK TO \(name)")
                _ = try? execute("RELEASE \(name)")
            }
            throw error
        }
    }

    // MARK: - Statement cache

    /// The number of prepared statements currently cached.
    public var cachedStatementCount: Int { cache.count }

    /// The cached statement for `sql`, if any (for tests).
    func cachedStatement(_ sql: String) -> Statement? { cache[SQLKey(sql)] }

    private func withStatement<R>(_ sql: String, _ arguments: [any SQLBindable], _ body: (Statement) throws -> R) throws -> R {
        let statement = try statement(for: sql)
        statement.inUse = true
        defer {
            statement.reset()
            statement.inUse = false
        }
        try statement.bind(arguments)
        return try body(statement)
    }

    private func statement(for sql: String) throws -> Statement {
        useCounter &+= 1
        let key = SQLKey(sql)
        if let cached = cache[key] {
            guard cached.inUse else {
                cached.lastUsed = useCounter
                return cached
            }
            return try prepare(sql) // re-entrant use of the same SQL: a one-off statement
        }
        let statement = try prepare(sql)
        if cache.count >= cacheCapacity { evictLeastRecentlyUsed() }
        if cache.count < cacheCapacity {
            statement.lastUsed = useCounter
            cache[key] = statement
        }
        return statement
    }

    private func evictLeastRecentlyUsed() {
        let victim = cache.lazy.filter { !$0.value.inUse }.min { $0.value.lastUsed < $1.value.lastUsed }
        if let victim { cache[victim.key] = nil }
    }

    /// A statement's SQL as the cache's key, hashed by its length and a sample of its bytes
    /// (the last 32 and 8 from the middle) rather than all of them: SQL texts run to hundreds
    /// of bytes, and hashing each whole was ~1,000 instructions a query, 3–4 a page. Equality
    /// is still the whole text's (and free for the same literal: one pointer), so texts that
    /// share the sample only share a bucket.
    struct SQLKey: Hashable {
        let sql: String

        init(_ sql: String) { self.sql = sql }

        static func == (a: SQLKey, b: SQLKey) -> Bool { a.sql == b.sql }

        func hash(into hasher: inout Hasher) {
            var sql = sql
            sql.withUTF8 { b in
                hasher.combine(b.count)
                guard let base = b.baseAddress else { return }
                let tail = min(b.count, 32)
                hasher.combine(bytes: UnsafeRawBufferPointer(start: base + (b.count - tail), count: tail))
                if b.count >= 48 { hasher.combine(bytes: UnsafeRawBufferPointer(start: base + b.count / 2, count: 8)) }
            }
        }
    }

    private func prepare(_ sql: String) throws -> Statement {
        let db = try open()
        let length = sql.utf8.count
        return try sql.withCString { text in
            var handle: OpaquePointer?
            var tail: UnsafePointer<CChar>?
            guard sqlite3_prepare_v3(db, text, -1, UInt32(SQLITE_PREPARE_PERSISTENT), &handle, &tail) == SQLITE_OK else {
                throw DatabaseError(connection: db, sql: sql)
            }
            guard let handle else { throw DatabaseError.misuse("the SQL holds no statement", sql: sql) }
            let statement = Statement(handle: handle, sql: sql) // finalizes on throw below
            if let tail, skipSpaceAndComments(tail, text + length).pointee != 0 {
                throw DatabaseError.misuse("the SQL holds more than one statement; use executeScript for scripts", sql: sql)
            }
            return statement
        }
    }

    private static func copyRow(of statement: Statement) -> Row {
        let layout = statement.layout
        var values: [SQLValue] = []
        values.reserveCapacity(layout.names.count)
        for i in layout.names.indices { values.append(statement.column(i)) }
        return Row(layout: layout, values: values)
    }
}

@available(*, unavailable, message: "a Connection must be used by one thread at a time; borrow one from Database")
extension Connection: Sendable {}

/// Skips whitespace, `-- line` comments and `/* block */` comments.
private func skipSpaceAndComments(_ start: UnsafePointer<CChar>, _ end: UnsafePointer<CChar>) -> UnsafePointer<CChar> {
    var p = start
    while p < end {
        switch UInt8(bitPattern: p.pointee) {
        case UInt8(ascii: " "), UInt8(ascii: "\t"), UInt8(ascii: "\n"), UInt8(ascii: "\r"), 0x0B, 0x0C, UInt8(ascii: ";"):
            p += 1
        case UInt8(ascii: "-") where p + 1 < end && p[1] == CChar(UInt8(ascii: "-")):
            while p < end && p.pointee != CChar(UInt8(ascii: "\n")) { p += 1 }
        case UInt8(ascii: "/") where p + 1 < end && p[1] == CChar(UInt8(ascii: "*")):
            p += 2
            while p < end && !(p.pointee == CChar(UInt8(ascii: "*")) && p + 1 < end && p[1] == CChar(UInt8(ascii: "/"))) { p += 1 }
            p = min(p + 2, end)
        default:
            return p
        }
    }
    return end
}

/// The text from `start` up to and including the next `;` (or 300 bytes), for error messages.
private func statementSnippet(_ start: UnsafePointer<CChar>, _ end: UnsafePointer<CChar>) -> String {
    var p = start
    while p < end && p - start < 300 && p.pointee != CChar(UInt8(ascii: ";")) { p += 1 }
    if p < end && p.pointee == CChar(UInt8(ascii: ";")) { p += 1 }
    return String(decoding: UnsafeRawBufferPointer(start: start, count: p - start), as: UTF8.self)
}
