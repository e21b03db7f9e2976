import CSQLite

/// One prepared statement (`sqlite3_stmt`), owned by a ``Connection`` and usually kept in
/// its statement cache. Finalized when the last reference goes away.
final class Statement {
    let handle: OpaquePointer
    let sql: String
    let parameterCount: Int
    /// Column names; refreshed if SQLite re-prepares the statement after a schema change.
    private(set) var layout: RowLayout
    private var reprepareCount: Int32
    /// Set while a call is running the statement, so a re-entrant call with the same SQL
    /// (from inside a `forEach` body) gets a fresh statement instead of clobbering this one.
    var inUse = false
    /// The connection's use counter at the last use, for LRU eviction.
    var lastUsed: UInt64 = 0
    /// Incremented at every step and reset, so a ``RowView`` can tell it has gone stale.
    private(set) var generation: UInt64 = 0

    init(handle: OpaquePointer, sql: String) {
        self.handle = handle
        self.sql = sql
        self.parameterCount = Int(sqlite3_bind_parameter_count(handle))
        self.layout = Statement.layout(of: handle, sql: sql)
        self.reprepareCount = sqlite3_stmt_status(handle, SQLITE_STMTSTATUS_REPREPARE, 0)
    }

    deinit { sqlite3_finalize(handle) }

    private static func layout(of handle: OpaquePointer, sql: String) -> RowLayout {
        let names = (0..<sqlite3_column_count(handle)).map { i in
            sqlite3_column_name(handle, i).map { String(cString: $0) } ?? ""
        }
        return RowLayout(names: names, sql: sql)
    }

    /// Binds `arguments` to parameters 1...n; their count must match the statement's.
    func bind(_ arguments: [any SQLBindable]) throws {
        guard arguments.count == parameterCount else {
            throw DatabaseError(
                code: SQLITE_RANGE,
                message: "statement has \(parameterCount) parameter(s) but \(arguments.count) argument(s) were given",
                sql: sql)
        }
        for (offset, argument) in arguments.enumerated() {
            let rc: Int32
            if let text = argument.utf8Text {
                rc = text.withUnsafeBytes { b in
                    // As for a String: a NULL pointer would bind SQL NULL, not the empty string.
                    guard let base = b.baseAddress, !b.isEmpty else { return sqlite3_bind_text(handle, Int32(offset + 1), "", 0, csqlite_transient()) }
                    return sqlite3_bind_text64(handle, Int32(offset + 1), base.assumingMemoryBound(to: CChar.self), UInt64(b.count),
                                               csqlite_transient(), UInt8(SQLITE_UTF8))
                }
            } else {
                rc = bind(argument.sqlValue, at: Int32(offset + 1))
            }
            if rc != SQLITE_OK {
                throw DatabaseError(connection: sqlite3_db_handle(handle), sql: sql)
            }
        }
    }

    private func bind(_ value: SQLValue, at index: Int32) -> Int32 {
        switch value {
        case .null:
            return sqlite3_bind_null(handle, index)
        case .integer(let v):
            return sqlite3_bind_int64(handle, index, v)
        case .real(let v):
            return sqlite3_bind_double(handle, index, v)
        case .text(var s):
            return s.withUTF8 { utf8 in
                // A NULL pointer would bind SQL NULL, not the empty string.
                guard let base = utf8.baseAddress, !utf8.isEmpty else {
                    return sqlite3_bind_text(handle, index, "", 0, csqlite_transient())
                }
                return base.withMemoryRebound(to: CChar.self, capacity: utf8.count) {
                    sqlite3_bind_text64(handle, index, $0, UInt64(utf8.count), csqlite_transient(), UInt8(SQLITE_UTF8))
                }
            }
        case .blob(let bytes):
            // Likewise, an empty blob must not be bound from a NULL pointer.
            if bytes.isEmpty { return sqlite3_bind_zeroblob(handle, index, 0) }
            return bytes.withUnsafeBytes {
                sqlite3_bind_blob64(handle, index, $0.baseAddress, UInt64($0.count), csqlite_transient())
            }
        }
    }

    /// Advances to the next row: `true` when there is one, `false` when done.
    func step() throws -> Bool {
        generation &+= 1
        switch sqlite3_step(handle) {
        case SQLITE_ROW:
            let count = sqlite3_stmt_status(handle, SQLITE_STMTSTATUS_REPREPARE, 0)
            if count != reprepareCount {
                reprepareCount = count
                layout = Statement.layout(of: handle, sql: sql)
            }
            return true
        case SQLITE_DONE:
            return false
        default:
            throw DatabaseError(connection: sqlite3_db_handle(handle), sql: sql)
        }
    }

    /// Resets the statement and clears its bindings (so no argument lingers in memory).
    func reset() {
        generation &+= 1
        sqlite3_reset(handle)
        sqlite3_clear_bindings(handle)
    }

    /// The SQL with the current bindings substituted (lets tests check bindings are cleared).
    var expandedSQL: String? {
        guard let text = sqlite3_expanded_sql(handle) else { return nil }
        defer { sqlite3_free(text) }
        return String(cString: text)
    }

    /// Column `index` of the current row as SQLite's own value, to read its type and content
    /// with `sqlite3_value_*`: one column lookup, where `sqlite3_column_type`, `_text` and
    /// `_bytes` make one each (a third of the reads of a page written in place). The value is
    /// "unprotected", which matters only when a connection is shared between threads; ours
    /// never is (`SQLITE_OPEN_NOMUTEX`, one user at a time). Out of range gives a NULL value.
    func columnValue(_ index: Int) -> OpaquePointer? {
        sqlite3_column_value(handle, Int32(truncatingIfNeeded: index))
    }

    /// Whether `index` is a column of the result.
    func hasColumn(_ index: Int) -> Bool {
        index >= 0 && index < Int(sqlite3_column_count(handle))
    }

    /// The value of column `index` of the current row, read through ``columnValue(_:)`` (one
    /// column lookup for its type and its content).
    func column(_ index: Int) -> SQLValue {
        guard let v = columnValue(index) else { return .null }
        switch sqlite3_value_type(v) {
        case SQLITE_INTEGER:
            return .integer(sqlite3_value_int64(v))
        case SQLITE_FLOAT:
            return .real(sqlite3_value_double(v))
        case SQLITE_TEXT:
            // Pointer first, then size (SQLite's recommended order).
            guard let text = sqlite3_value_text(v) else { return .text("") }
            let count = Int(sqlite3_value_bytes(v))
            return .text(String(decoding: UnsafeBufferPointer(start: text, count: count), as: UTF8.self))
        case SQLITE_BLOB:
            // A zero-length blob has a NULL pointer.
            let bytes = sqlite3_value_blob(v)
            let count = Int(sqlite3_value_bytes(v))
            guard let bytes, count > 0 else { return .blob([]) }
            return .blob(Array(UnsafeRawBufferPointer(start: bytes, count: count)))
        default:
            return .null
        }
    }
}
