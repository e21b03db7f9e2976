/// One SQLite value, as stored in a column or bound to a `?` parameter.
///
/// SQLite has five storage classes and this enum has exactly one case for each. Literals
/// convert directly, so a heterogeneous argument list reads naturally:
/// `let args: [SQLValue] = [1, "ada", nil, 2.5, true]` (`true` binds as the integer 1).
public enum SQLValue: Sendable, Hashable {
    case null
    case integer(Int64)
    case real(Double)
    case text(String)
    case blob([UInt8])

    /// SQLite's name for the storage class, used in error messages ("INTEGER", "TEXT", ...).
    public var typeName: String {
        switch self {
        case .null: "NULL"
        case .integer: "INTEGER"
        case .real: "REAL"
        case .text: "TEXT"
        case .blob: "BLOB"
        }
    }

    public var isNull: Bool {
        if case .null = self { true } else { false }
    }
}

extension SQLValue: ExpressibleByNilLiteral {
    public init(nilLiteral: ()) { self = .null }
}

extension SQLValue: ExpressibleByIntegerLiteral {
    public init(integerLiteral value: Int64) { self = .integer(value) }
}

extension SQLValue: ExpressibleByFloatLiteral {
    public init(floatLiteral value: Double) { self = .real(value) }
}

extension SQLValue: ExpressibleByStringLiteral {
    public init(stringLiteral value: String) { self = .text(value) }
}

extension SQLValue: ExpressibleByBooleanLiteral {
    public init(booleanLiteral value: Bool) { self = .integer(value ? 1 : 0) }
}

// MARK: - Binding

/// A Swift value that can be bound to a statement parameter.
///
/// `Int`, `Int64`, `Int32`, `Bool` (0/1), `Double`, `String`, `Substring`, `[UInt8]` (a BLOB),
/// `SQLValue` and `Optional` of any of these (`nil` binds NULL) conform, so arguments are passed
/// as they are: `try conn.execute("INSERT INTO t(a, b) VALUES (?, ?)", 1, "x")`.
public protocol SQLBindable: Sendable {
    /// The value to bind.
    var sqlValue: SQLValue { get }
    /// Text already in UTF-8 bytes, bound as they are (``UTF8Text``); nil for everything else,
    /// which binds ``sqlValue``.
    var utf8Text: [UInt8]? { get }
}

extension SQLBindable {
    public var utf8Text: [UInt8]? { nil }
}

/// TEXT bound straight from bytes the caller made as valid UTF-8 (JSON it wrote), without
/// making a `String` of them first: for large values, that was a pass to validate and a copy.
/// SQLite does not check; bytes that are not UTF-8 would be stored as they are.
public struct UTF8Text: SQLBindable {
    public let bytes: [UInt8]

    public init(unchecked bytes: [UInt8]) { self.bytes = bytes }

    public var sqlValue: SQLValue { .text(String(decoding: bytes, as: UTF8.self)) }
    public var utf8Text: [UInt8]? { bytes }
}

extension SQLValue: SQLBindable {
    public var sqlValue: SQLValue { self }
}

extension Int: SQLBindable {
    public var sqlValue: SQLValue { .integer(Int64(self)) }
}

extension Int64: SQLBindable {
    public var sqlValue: SQLValue { .integer(self) }
}

extension Int32: SQLBindable {
    public var sqlValue: SQLValue { .integer(Int64(self)) }
}

extension Bool: SQLBindable {
    public var sqlValue: SQLValue { .integer(self ? 1 : 0) }
}

extension Double: SQLBindable {
    public var sqlValue: SQLValue { .real(self) }
}

extension String: SQLBindable {
    public var sqlValue: SQLValue { .text(self) }
}

extension Substring: SQLBindable {
    public var sqlValue: SQLValue { .text(String(self)) }
}

extension Array: SQLBindable where Element == UInt8 {
    public var sqlValue: SQLValue { .blob(self) }
}

extension Optional: SQLBindable where Wrapped: SQLBindable {
    public var sqlValue: SQLValue { self?.sqlValue ?? .null }
}

// MARK: - Decoding

/// A Swift type a column value can be read as, strictly: no silent coercion between
/// storage classes except INTEGER → `Double`.
///
/// | type | accepts |
/// |---|---|
/// | `Int`, `Int64` | INTEGER |
/// | `Int32` | INTEGER within `Int32`'s range |
/// | `Bool` | INTEGER 0 or 1 |
/// | `Double` | REAL or INTEGER |
/// | `String` | TEXT |
/// | `[UInt8]` | BLOB |
/// | `SQLValue` | anything, NULL included |
/// | `Optional<T>` | NULL (as `nil`) or whatever `T` accepts |
///
/// Anything else is a type mismatch, reported as a thrown ``DatabaseError`` by the readers
/// in ``RowReading``, never a crash.
public protocol SQLDecodable {
    /// The decoded value, or `nil` when `value` cannot be read as `Self`.
    static func decode(_ value: SQLValue) -> Self?
}

extension SQLValue: SQLDecodable {
    public static func decode(_ value: SQLValue) -> SQLValue? { value }
}

extension Int: SQLDecodable {
    public static func decode(_ value: SQLValue) -> Int? {
        if case .integer(let v) = value { Int(exactly: v) } else { nil }
    }
}

extension Int64: SQLDecodable {
    public static func decode(_ value: SQLValue) -> Int64? {
        if case .integer(let v) = value { v } else { nil }
    }
}

extension Int32: SQLDecodable {
    public static func decode(_ value: SQLValue) -> Int32? {
        if case .integer(let v) = value { Int32(exactly: v) } else { nil }
    }
}

extension Bool: SQLDecodable {
    public static func decode(_ value: SQLValue) -> Bool? {
        switch value {
        case .integer(0): false
        case .integer(1): true
        default: nil
        }
    }
}

extension Double: SQLDecodable {
    public static func decode(_ value: SQLValue) -> Double? {
        switch value {
        case .real(let v): v
        case .integer(let v): Double(v)
        default: nil
        }
    }
}

extension String: SQLDecodable {
    public static func decode(_ value: SQLValue) -> String? {
        if case .text(let v) = value { v } else { nil }
    }
}

extension Array: SQLDecodable where Element == UInt8 {
    public static func decode(_ value: SQLValue) -> [UInt8]? {
        if case .blob(let v) = value { v } else { nil }
    }
}

extension Optional: SQLDecodable where Wrapped: SQLDecodable {
    /// `.some(nil)` for NULL, `.some(.some(v))` for a value `Wrapped` accepts, `nil` otherwise.
    public static func decode(_ value: SQLValue) -> Wrapped?? {
        if case .null = value { return .some(nil) }
        return Wrapped.decode(value).map { .some($0) }
    }
}
