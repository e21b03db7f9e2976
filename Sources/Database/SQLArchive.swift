import CSQLite
import CZlib

/// Values kept zlib-compressed in a column, the way SQLite's own archives (`sqlar`) keep
/// them: the compressed bytes in one column and the original size in another, and a value no
/// smaller compressed kept as it is. Every ``Connection`` defines `sqlar_uncompress(data, size)`,
/// the function the `sqlite3` shell defines, so a view that reads such a column reads alike in
/// the portal and in the operator's shell.
public enum SQLArchive {
    /// The zlib stream (RFC 1950) of `bytes` at `level` (1, the fastest, suits values written
    /// under load), or nil when it would be no smaller: keep those bytes as they are.
    public static func compress(_ bytes: UnsafeBufferPointer<UInt8>, level: Int32 = 1) -> [UInt8]? {
        guard let source = bytes.baseAddress, bytes.count > 0 else { return nil }
        let bound = Int(compressBound(uLong(bytes.count)))
        var length = uLongf(bound)
        let out = [UInt8](unsafeUninitializedCapacity: bound) { buffer, count in
            let rc = compress2(buffer.baseAddress, &length, source, uLong(bytes.count), level)
            count = rc == Z_OK ? Int(length) : 0
        }
        guard out.count > 0, out.count < bytes.count else { return nil }
        return out
    }

    public static func compress(_ bytes: [UInt8], level: Int32 = 1) -> [UInt8]? {
        bytes.withUnsafeBufferPointer { compress($0, level: level) }
    }

    public struct Corrupt: Error, CustomStringConvertible {
        public var description: String { "a compressed value does not inflate to its recorded size" }
    }

    /// The largest size ``uncompress(_:size:)`` believes: a corrupt size must not make it
    /// allocate without bound.
    public static let largestSize = 1 << 28

    /// The bytes `data` inflates to, which must be exactly `size` of them.
    public static func uncompress(_ data: UnsafeBufferPointer<UInt8>, size: Int) throws -> [UInt8] {
        guard size >= 0, size <= largestSize else { throw Corrupt() }
        guard size > 0 else { if data.isEmpty { return [] } else { throw Corrupt() } }
        guard let source = data.baseAddress else { throw Corrupt() }
        var length = uLongf(size)
        var rc: Int32 = Z_DATA_ERROR
        let out = [UInt8](unsafeUninitializedCapacity: size) { buffer, count in
            rc = CZlib.uncompress(buffer.baseAddress, &length, source, uLong(data.count))
            count = rc == Z_OK ? Int(length) : 0
        }
        guard rc == Z_OK, out.count == size else { throw Corrupt() }
        return out
    }

    /// Defines `sqlar_uncompress(data, size)` on a connection: `data` as it is when its length
    /// is `size` (or `size` is not positive), else the BLOB it inflates to; NULL for NULL.
    static func define(on db: OpaquePointer) -> Int32 {
        sqlite3_create_function_v2(db, "sqlar_uncompress", 2, SQLITE_UTF8 | SQLITE_DETERMINISTIC | SQLITE_INNOCUOUS, nil, { context, _, argv in
            guard let context, let argv, let data = argv[0], let sizeValue = argv[1] else { return }
            if sqlite3_value_type(data) == SQLITE_NULL { sqlite3_result_null(context); return }
            let size = sqlite3_value_int64(sizeValue)
            // Blob first, then its length (SQLite's recommended order).
            let pointer = sqlite3_value_blob(data)
            let count = Int(sqlite3_value_bytes(data))
            if size <= 0 || Int64(count) == size { sqlite3_result_value(context, data); return }
            let bytes = UnsafeBufferPointer(start: pointer?.assumingMemoryBound(to: UInt8.self), count: pointer == nil ? 0 : count)
            guard let out = try? SQLArchive.uncompress(bytes, size: Int(size)) else {
                sqlite3_result_error(context, "sqlar_uncompress: corrupt data", -1)
                return
            }
            out.withUnsafeBytes { sqlite3_result_blob64(context, $0.baseAddress, sqlite3_uint64($0.count), csqlite_transient()) }
        }, nil, nil, nil)
    }
}
