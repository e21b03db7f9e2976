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

    /// A zlib stream kept for many values, one at a time (not Sendable: one thread uses it):
    /// its 256 KB of state are allocated once, not faulted in and cleared for every value. A
    /// value comes in pieces (the request log's elements where they lie in their batch), which
    /// are gathered into a staging buffer and deflated 64 KB at a time: a call of `deflate`
    /// per piece of a few hundred bytes cost as much again as the compression itself.
    public final class Compressor {
        private var stream = z_stream()
        private let ready: Bool
        private var staging = [UInt8](repeating: 0, count: 64 * 1024)
        private var scratch = [UInt8](repeating: 0, count: 64 * 1024)

        public init(level: Int32 = 1) {
            ready = czlib_deflate_init_zlib(&stream, level) == Z_OK
        }

        deinit { if ready { deflateEnd(&stream) } }

        /// What ``SQLArchive/compress(_:level:)`` makes of the bytes `body` hands to `write`,
        /// joined in order, with their count (nil when it would be no smaller, or zlib fails).
        public func compress(_ body: (_ write: (UnsafeBufferPointer<UInt8>) -> Void) -> Void) -> (data: [UInt8], size: Int)? {
            guard ready else { return nil }
            defer { deflateReset(&stream) }
            var out: [UInt8] = []
            var size = 0
            var failed = false
            staging.withUnsafeMutableBufferPointer { staging in
                scratch.withUnsafeMutableBufferPointer { scratch in
                    /// Deflates `input` until it is taken and no output is left pending.
                    func deflateAll(_ input: UnsafeBufferPointer<UInt8>, _ flush: Int32) -> Bool {
                        stream.next_in = UnsafeMutablePointer(mutating: input.baseAddress)
                        stream.avail_in = uInt(input.count)
                        var rc: Int32 = Z_OK
                        repeat {
                            stream.next_out = scratch.baseAddress
                            stream.avail_out = uInt(scratch.count)
                            rc = deflate(&stream, flush)
                            out.append(contentsOf: UnsafeBufferPointer(rebasing: scratch[..<(scratch.count - Int(stream.avail_out))]))
                        } while rc == Z_OK && (stream.avail_out == 0 || stream.avail_in > 0)
                        // Z_BUF_ERROR is no progress, not a fault.
                        return flush == Z_FINISH ? rc == Z_STREAM_END : rc == Z_OK || rc == Z_BUF_ERROR
                    }
                    var staged = 0
                    body { piece in
                        guard !failed, let base = piece.baseAddress, piece.count > 0 else { return }
                        size += piece.count
                        var from = base, left = piece.count
                        while left > 0 && !failed {
                            let n = min(left, staging.count - staged)
                            (staging.baseAddress! + staged).update(from: from, count: n)
                            staged += n
                            from += n
                            left -= n
                            if staged == staging.count {
                                failed = !deflateAll(UnsafeBufferPointer(staging), Z_NO_FLUSH)
                                staged = 0
                            }
                        }
                    }
                    if !failed { failed = !deflateAll(UnsafeBufferPointer(rebasing: staging[..<staged]), Z_FINISH) }
                }
            }
            stream.next_in = nil
            guard !failed, size > 0, out.count < size else { return nil }
            return (out, size)
        }
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
