import CSQLite

/// An error from SQLite, or from this layer's own checks (type mismatch on read, wrong
/// argument count, use after close), expressed with SQLite's result codes.
///
/// It carries the SQL text but **never the bound values**, which may be passwords, tokens
/// or personal data, so it is safe to log as a whole. Constraint failures are easy to tell
/// apart: `catch let e as DatabaseError where e.isUniqueViolation { … }`.
public struct DatabaseError: Error, CustomStringConvertible, Sendable {
    /// The primary result code (`SQLITE_CONSTRAINT`, `SQLITE_BUSY`, ...).
    public let code: Int32
    /// The extended result code (`Self.constraintUnique`, ...); equals `code` when SQLite gave none.
    public let extendedCode: Int32
    /// SQLite's message, or ours for errors raised by this layer.
    public let message: String
    /// The statement being run, when there was one.
    public let sql: String?

    public init(code: Int32, extendedCode: Int32? = nil, message: String, sql: String? = nil) {
        self.code = code & 0xFF
        self.extendedCode = extendedCode ?? code
        self.message = message
        self.sql = sql
    }

    /// The error SQLite last recorded on `db`.
    init(connection db: OpaquePointer, sql: String?) {
        let extended = sqlite3_extended_errcode(db)
        self.init(code: extended, extendedCode: extended, message: String(cString: sqlite3_errmsg(db)), sql: sql)
    }

    /// Any constraint failure: UNIQUE, PRIMARY KEY, NOT NULL, CHECK, FOREIGN KEY, ...
    // Extended codes are `(SQLITE_CONSTRAINT | (n<<8))` macros, which Swift does not import.
    static let constraintCheck: Int32 = 19 | (1 << 8)
    static let constraintForeignKey: Int32 = 19 | (3 << 8)
    static let constraintNotNull: Int32 = 19 | (5 << 8)
    static let constraintPrimaryKey: Int32 = 19 | (6 << 8)
    static let constraintUnique: Int32 = 19 | (8 << 8)

    public var isConstraintViolation: Bool { code == SQLITE_CONSTRAINT }
    /// A UNIQUE index or PRIMARY KEY already holds the value.
    public var isUniqueViolation: Bool {
        extendedCode == Self.constraintUnique || extendedCode == Self.constraintPrimaryKey
    }
    public var isForeignKeyViolation: Bool { extendedCode == Self.constraintForeignKey }
    public var isNotNullViolation: Bool { extendedCode == Self.constraintNotNull }
    public var isCheckViolation: Bool { extendedCode == Self.constraintCheck }
    /// The database stayed locked for longer than the busy timeout.
    public var isBusy: Bool { code == SQLITE_BUSY || code == SQLITE_LOCKED }

    public var description: String {
        var text = "SQLite error \(code)"
        if extendedCode != code { text += "/\(extendedCode)" }
        text += " (\(String(cString: sqlite3_errstr(code)))): \(message)"
        if let sql {
            let shown = sql.count > 1000 ? sql.prefix(1000) + "…" : Substring(sql)
            text += " — SQL: \(shown)"
        }
        return text
    }
}

extension DatabaseError {
    static func misuse(_ message: String, sql: String? = nil) -> DatabaseError {
        DatabaseError(code: SQLITE_MISUSE, message: message, sql: sql)
    }

    static let closed = DatabaseError.misuse("the database connection is closed")
}
