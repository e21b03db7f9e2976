import CSQLite

/// Column names of a result set and the SQL that produced it: shared, never copied, by
/// every ``Row`` of one query.
final class RowLayout: Sendable {
    let names: [String]
    let sql: String

    init(names: [String], sql: String) {
        self.names = names
        self.sql = sql
    }
}

/// How a column is addressed when reading a row: by 0-based index (`Int`) or by name (`String`).
public protocol ColumnKey {
    /// The column's index among `names`, or `nil` when there is no such column.
    func columnIndex(in names: [String]) -> Int?
}

extension Int: ColumnKey {
    public func columnIndex(in names: [String]) -> Int? {
        names.indices.contains(self) ? self : nil
    }
}

extension String: ColumnKey {
    /// Exact match first, then ASCII case-insensitive (SQLite's own rule for identifiers).
    public func columnIndex(in names: [String]) -> Int? {
        if let i = names.firstIndex(of: self) { return i }
        let wanted = lowercased()
        return names.firstIndex { $0.lowercased() == wanted }
    }
}

/// Typed reads shared by ``Row`` (a materialized row) and ``RowView`` (the live row of a
/// ``Connection/forEach(_:_:body:)`` loop).
///
/// Every read takes a column index or name. Non-optional reads (`int`, `string`, ...) throw a
/// ``DatabaseError`` (`SQLITE_MISMATCH`) when the value is NULL or of another storage class;
/// the `optional…` variants return `nil` for NULL and still throw on a mismatch. An unknown
/// column throws `SQLITE_RANGE`. See ``SQLDecodable`` for which storage classes each Swift
/// type accepts.
public protocol RowReading {
    /// The result's column names, in order.
    var columnNames: [String] { get }
    /// The statement that produced the row (for error messages).
    var sql: String { get }
    /// The value at a column index, which must be in `0..<columnCount` (prefer the checked
    /// ``value(_:)``).
    func value(at index: Int) -> SQLValue
}

extension RowReading {
    public var columnCount: Int { columnNames.count }

    /// The raw value of a column (any storage class, NULL included).
    public func value<K: ColumnKey>(_ column: K) throws -> SQLValue {
        value(at: try index(of: column))
    }

    /// Reads a column as any ``SQLDecodable`` type: `let n: Int? = try row.decode("count")`.
    public func decode<T: SQLDecodable, K: ColumnKey>(_ column: K, as type: T.Type = T.self) throws -> T {
        let i = try index(of: column)
        let v = value(at: i)
        if let decoded = T.decode(v) { return decoded }
        let name = columnNames[i]
        let problem = v.isNull
            ? "is NULL; read it with an optional accessor if NULL is allowed"
            : "holds \(v.typeName), which cannot be read as \(T.self)"
        throw DatabaseError(code: SQLITE_MISMATCH, message: "column '\(name)' (index \(i)) \(problem)", sql: sql)
    }

    public func isNull<K: ColumnKey>(_ column: K) throws -> Bool { try value(column).isNull }

    public func int<K: ColumnKey>(_ column: K) throws -> Int { try decode(column) }
    public func int64<K: ColumnKey>(_ column: K) throws -> Int64 { try decode(column) }
    public func double<K: ColumnKey>(_ column: K) throws -> Double { try decode(column) }
    public func string<K: ColumnKey>(_ column: K) throws -> String { try decode(column) }
    public func blob<K: ColumnKey>(_ column: K) throws -> [UInt8] { try decode(column) }
    public func bool<K: ColumnKey>(_ column: K) throws -> Bool { try decode(column) }

    public func optionalInt<K: ColumnKey>(_ column: K) throws -> Int? { try decode(column) }
    public func optionalInt64<K: ColumnKey>(_ column: K) throws -> Int64? { try decode(column) }
    public func optionalDouble<K: ColumnKey>(_ column: K) throws -> Double? { try decode(column) }
    public func optionalString<K: ColumnKey>(_ column: K) throws -> String? { try decode(column) }
    public func optionalBlob<K: ColumnKey>(_ column: K) throws -> [UInt8]? { try decode(column) }
    public func optionalBool<K: ColumnKey>(_ column: K) throws -> Bool? { try decode(column) }

    // By index, without generics: a page of 25 transactions reads ~600 columns, and each
    // generic read instantiated `Optional<Optional<T>>` metadata at run time (a tenth of the
    // page's time). The generic path still answers every mismatch, with its message.
    public func int(_ i: Int) throws -> Int {
        if i >= 0, i < columnCount, case .integer(let n) = value(at: i), let v = Int(exactly: n) { return v }
        return try decode(i, as: Int.self)
    }
    public func int64(_ i: Int) throws -> Int64 {
        if i >= 0, i < columnCount, case .integer(let n) = value(at: i) { return n }
        return try decode(i, as: Int64.self)
    }
    public func string(_ i: Int) throws -> String {
        if i >= 0, i < columnCount, case .text(let t) = value(at: i) { return t }
        return try decode(i, as: String.self)
    }
    public func bool(_ i: Int) throws -> Bool {
        if i >= 0, i < columnCount, case .integer(let n) = value(at: i), n == 0 || n == 1 { return n == 1 }
        return try decode(i, as: Bool.self)
    }
    public func optionalInt64(_ i: Int) throws -> Int64? {
        if i >= 0, i < columnCount {
            switch value(at: i) {
            case .null: return nil
            case .integer(let n): return n
            default: break
            }
        }
        return try decode(i, as: Int64?.self)
    }
    public func optionalString(_ i: Int) throws -> String? {
        if i >= 0, i < columnCount {
            switch value(at: i) {
            case .null: return nil
            case .text(let t): return t
            default: break
            }
        }
        return try decode(i, as: String?.self)
    }

    private func index<K: ColumnKey>(of column: K) throws -> Int {
        if let i = column.columnIndex(in: columnNames) { return i }
        throw DatabaseError(
            code: SQLITE_RANGE,
            message: "no column \(column is String ? "named '\(column)'" : "at index \(column)") in result with columns [\(columnNames.joined(separator: ", "))]",
            sql: sql)
    }
}

/// One row of a query result, copied out of SQLite, so it outlives the statement and may
/// be sent to another thread.
public struct Row: RowReading, Sendable {
    let rowLayout: RowLayout
    /// The row's values, in column order.
    public let values: [SQLValue]

    init(layout: RowLayout, values: [SQLValue]) {
        self.rowLayout = layout
        self.values = values
    }

    public var columnNames: [String] { rowLayout.names }
    public var sql: String { rowLayout.sql }
    public func value(at index: Int) -> SQLValue { values[index] }
}

/// The current row of a ``Connection/forEach(_:_:body:)`` loop, read straight from the
/// statement without copying the row.
///
/// Valid only during the call of the loop's closure for that row: copy what you need out of
/// it (or use ``Connection/query(_:_:)`` to get ``Row`` values). Reading a view after its
/// statement moved on is a programming error and traps.
///
/// (It would be `~Copyable` to make escaping impossible, but the Swift 6.3 optimizer crashes
/// inlining non-copyable temporaries here.)
public struct RowView: RowReading {
    let statement: Statement
    let generation: UInt64

    init(statement: Statement) {
        self.statement = statement
        self.generation = statement.generation
    }

    public var columnNames: [String] { statement.layout.names }
    public var sql: String { statement.sql }
    public func value(at index: Int) -> SQLValue {
        precondition(statement.generation == generation, "RowView used after its row was left; copy values out inside the forEach body")
        return statement.column(index)
    }

    // Straight from the statement, without an ``SQLValue`` or a `String` in between: for
    // rows written out as they are read (a `/v1` page of JSON). A mismatch or an unknown
    // column takes the checked path, which throws with its message.

    /// An INTEGER column, read without building an ``SQLValue``.
    public func int64(_ i: Int) throws -> Int64 {
        precondition(statement.generation == generation, "RowView used after its row was left; copy values out inside the forEach body")
        if let v = statement.columnValue(i), sqlite3_value_type(v) == SQLITE_INTEGER { return sqlite3_value_int64(v) }
        return try decode(i, as: Int64.self)
    }

    /// An INTEGER column or NULL, read without building an ``SQLValue``.
    public func optionalInt64(_ i: Int) throws -> Int64? {
        precondition(statement.generation == generation, "RowView used after its row was left; copy values out inside the forEach body")
        if let v = statement.columnValue(i) {
            switch sqlite3_value_type(v) {
            case SQLITE_INTEGER: return sqlite3_value_int64(v)
            case SQLITE_NULL where statement.hasColumn(i): return nil
            default: break
            }
        }
        return try decode(i, as: Int64?.self)
    }

    /// A TEXT column, read without building an ``SQLValue``.
    public func string(_ i: Int) throws -> String {
        precondition(statement.generation == generation, "RowView used after its row was left; copy values out inside the forEach body")
        if let v = statement.columnValue(i), sqlite3_value_type(v) == SQLITE_TEXT { return Self.text(v) }
        return try decode(i, as: String.self)
    }

    /// A TEXT column or NULL, read without building an ``SQLValue``.
    public func optionalString(_ i: Int) throws -> String? {
        precondition(statement.generation == generation, "RowView used after its row was left; copy values out inside the forEach body")
        if let v = statement.columnValue(i) {
            switch sqlite3_value_type(v) {
            case SQLITE_TEXT: return Self.text(v)
            case SQLITE_NULL where statement.hasColumn(i): return nil
            default: break
            }
        }
        return try decode(i, as: String?.self)
    }

    private static func text(_ v: OpaquePointer) -> String {
        // Pointer first, then size (SQLite's recommended order); no pointer reads as "".
        guard let text = sqlite3_value_text(v) else { return "" }
        return String(decoding: UnsafeBufferPointer(start: text, count: Int(sqlite3_value_bytes(v))), as: UTF8.self)
    }

    /// Calls `body` with the UTF-8 bytes of a TEXT column in SQLite's own memory (no copy) and
    /// returns true; returns false without calling it when the value is NULL. The bytes are
    /// valid only during the call: copy what must outlive it. (Not generic, so that a caller
    /// in another module pays no generic value handling: it runs for every text of every row.)
    public func withUTF8(_ i: Int, _ body: (UnsafeBufferPointer<UInt8>) throws -> Void) throws -> Bool {
        try withStoredBytes(i, blobs: false, body)
    }

    /// The UTF-8 bytes of a TEXT column in SQLite's own memory (no copy), nil when NULL: valid
    /// while this row is the statement's (until the `forEach` body returns), as the view
    /// itself is, for a row read into a value that lives as long as the view (a table row
    /// written straight from the statement).
    public func utf8(_ i: Int) throws -> UnsafeBufferPointer<UInt8>? {
        var bytes: UnsafeBufferPointer<UInt8>?
        _ = try withStoredBytes(i, blobs: false) { bytes = $0 }
        return bytes
    }

    /// Calls `body` with the bytes of a BLOB or TEXT column in SQLite's own memory (no copy)
    /// and returns true; returns false without calling it when the value is NULL. As with
    /// ``withUTF8(_:_:)``, the bytes are valid only during the call.
    public func withBytes(_ i: Int, _ body: (UnsafeBufferPointer<UInt8>) throws -> Void) throws -> Bool {
        try withStoredBytes(i, blobs: true, body)
    }

    /// A TEXT value's bytes (and a BLOB's, with `blobs`) in place; NULL none; anything else,
    /// or a column out of range, the checked read's error.
    @inline(__always)
    private func withStoredBytes(_ i: Int, blobs: Bool, _ body: (UnsafeBufferPointer<UInt8>) throws -> Void) throws -> Bool {
        precondition(statement.generation == generation, "RowView used after its row was left; copy values out inside the forEach body")
        if let v = statement.columnValue(i) {
            let type = sqlite3_value_type(v)
            if type == SQLITE_TEXT || (blobs && type == SQLITE_BLOB) {
                // Pointer first, then size (SQLite's recommended order); no pointer reads as
                // empty, as in ``Statement/column(_:)``.
                let p = type == SQLITE_TEXT ? UnsafeRawPointer(sqlite3_value_text(v)) : sqlite3_value_blob(v)
                try body(UnsafeBufferPointer(start: p?.assumingMemoryBound(to: UInt8.self), count: p == nil ? 0 : Int(sqlite3_value_bytes(v))))
                return true
            }
            if type == SQLITE_NULL && statement.hasColumn(i) { return false }
        }
        // Throws the mismatch or the unknown column.
        if blobs { _ = try decode(i, as: [UInt8]?.self) } else { _ = try decode(i, as: String?.self) }
        return false
    }
}
