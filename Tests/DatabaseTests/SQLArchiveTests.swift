import Foundation
import Testing
@testable import Database

/// Compressed columns in SQLite's `sqlar` convention, read back by our `sqlar_uncompress`
/// and by the `sqlite3` shell's own (a counterpart nobody here wrote).
@Suite struct SQLArchiveTests {
    /// Some JSON of the request log's kind: long, repetitive, with non-ASCII text.
    static let text = Array((0..<400).map { "[\"6b16fe36\($0)\",1796668982,\"Zoë ✓\",\"GET\",\"/v1/balances\",200,\($0 * 7)]" }.joined(separator: ",").utf8)

    @Test func roundTripsAndShrinksWhatRepeats() throws {
        let compressed = try #require(SQLArchive.compress(Self.text))
        #expect(compressed.count * 5 < Self.text.count)
        #expect(try compressed.withUnsafeBufferPointer { try SQLArchive.uncompress($0, size: Self.text.count) } == Self.text)
    }

    @Test func keepsWhatDoesNotShrinkAsItIs() {
        #expect(SQLArchive.compress([UInt8]()) == nil)
        #expect(SQLArchive.compress(Array("ab".utf8)) == nil)
        var random = SystemRandomNumberGenerator()
        #expect(SQLArchive.compress((0..<4096).map { _ in UInt8.random(in: 0...255, using: &random) }) == nil)
    }

    /// A value handed over in pieces, split anywhere, compresses to what the whole value does,
    /// value after value on one stream; one that would not shrink (or nothing) gives nil.
    @Test func aKeptStreamCompressesPiecesAsTheWholeValue() throws {
        let compressor = SQLArchive.Compressor()
        var random = SystemRandomNumberGenerator()
        for round in 0..<30 {
            let text = round % 3 == 0 ? Self.text : Array(Self.text.prefix(Int.random(in: 1...Self.text.count, using: &random)))
            var cuts = (0..<Int.random(in: 0...60, using: &random)).map { _ in Int.random(in: 0...text.count, using: &random) }.sorted()
            cuts = [0] + cuts + [text.count]
            let whole = SQLArchive.compress(text)
            let pieces = compressor.compress { write in
                text.withUnsafeBufferPointer { t in
                    for k in 1..<cuts.count { write(UnsafeBufferPointer(rebasing: t[cuts[k - 1]..<cuts[k]])) }
                }
            }
            #expect(pieces?.data == whole, "round \(round)")
            if let pieces {
                #expect(pieces.size == text.count)
                #expect(try pieces.data.withUnsafeBufferPointer { try SQLArchive.uncompress($0, size: pieces.size) } == text)
            }
        }
        var random4k = (0..<4096).map { _ in UInt8.random(in: 0...255, using: &random) }
        #expect(compressor.compress { write in random4k.withUnsafeBufferPointer(write) } == nil)
        #expect(compressor.compress { _ in } == nil)
        random4k = Self.text
        #expect(compressor.compress { write in random4k.withUnsafeBufferPointer(write) }?.data == SQLArchive.compress(Self.text))
    }

    /// Values of hundreds of kilobytes, in pieces small and larger than the compressor's
    /// 64 KB staging buffer (and ones ending exactly at its edge), compress as the whole value.
    @Test func valuesLargerThanTheStagingBufferCompressAsTheWhole() throws {
        let compressor = SQLArchive.Compressor()
        let big = Array((0..<6000).map { "[\"6b16fe36\($0 * 7919 % 10007)\",\($0),\"/v1/transactions?limit=\($0 % 97)\"]" }.joined(separator: ",").utf8)
        #expect(big.count > 3 * 65536)
        var random = SystemRandomNumberGenerator()
        let edges = [65536, 2 * 65536, 65535, 65537]
        for round in 0..<6 {
            var cuts: [Int]
            switch round {
            case 0: cuts = []                                                             // one piece, larger than the buffer
            case 1: cuts = edges                                                          // pieces ending at the buffer's edge, and beside it
            case 2: cuts = Array(stride(from: 300, to: big.count, by: 300))               // a log's elements
            default: cuts = (0..<200).map { _ in Int.random(in: 0...big.count, using: &random) }
            }
            cuts = [0] + cuts.sorted() + [big.count]
            let pieces = try #require(compressor.compress { write in
                big.withUnsafeBufferPointer { b in
                    for k in 1..<cuts.count { write(UnsafeBufferPointer(rebasing: b[cuts[k - 1]..<cuts[k]])) }
                }
            })
            #expect(pieces.data == SQLArchive.compress(big), "round \(round)")
            #expect(try pieces.data.withUnsafeBufferPointer { try SQLArchive.uncompress($0, size: pieces.size) } == big)
        }
    }

    /// A wrong size, a cut or altered stream, a size past the limit: an error, never a short
    /// or padded value and never an allocation of what a corrupt size says.
    @Test func refusesCorruptValues() throws {
        let compressed = try #require(SQLArchive.compress(Self.text))
        func inflate(_ b: [UInt8], _ size: Int) throws -> [UInt8] { try b.withUnsafeBufferPointer { try SQLArchive.uncompress($0, size: size) } }
        #expect(throws: SQLArchive.Corrupt.self) { try inflate(compressed, Self.text.count - 1) }
        #expect(throws: SQLArchive.Corrupt.self) { try inflate(compressed, Self.text.count + 1) }
        #expect(throws: SQLArchive.Corrupt.self) { try inflate(Array(compressed.dropLast(9)), Self.text.count) }
        var altered = compressed
        altered[altered.count / 2] ^= 0xFF
        #expect(throws: SQLArchive.Corrupt.self) { try inflate(altered, Self.text.count) }
        #expect(throws: SQLArchive.Corrupt.self) { try inflate(compressed, SQLArchive.largestSize + 1) }
        #expect(throws: SQLArchive.Corrupt.self) { try inflate(compressed, -1) }
        #expect(throws: SQLArchive.Corrupt.self) { try inflate(Array("x".utf8), 0) }
        #expect(try inflate([], 0) == [])
    }

    /// In SQL: a compressed value inflates, a value of its size comes back as it is, NULL
    /// stays NULL, and a corrupt one is an error of the statement.
    @Test func everyConnectionDefinesSqlarUncompress() throws {
        try withConnection { conn in
            let compressed = try #require(SQLArchive.compress(Self.text))
            try conn.execute("CREATE TABLE t(data, size INTEGER)")
            try conn.execute("INSERT INTO t VALUES (?, ?)", compressed, Self.text.count)
            try conn.execute("INSERT INTO t VALUES ('plain', 5)")
            try conn.execute("INSERT INTO t VALUES (NULL, 9)")
            let rows = try conn.query("SELECT CAST(sqlar_uncompress(data, size) AS TEXT) FROM t ORDER BY rowid")
            #expect(try rows.map { try $0.optionalString(0) } == [String(decoding: Self.text, as: UTF8.self), "plain", nil])
            try conn.execute("UPDATE t SET size = size + 1 WHERE rowid = 1")
            #expect(throws: DatabaseError.self) { try conn.query("SELECT sqlar_uncompress(data, size) FROM t WHERE rowid = 1") }
        }
    }

    /// The `sqlite3` shell reads what we compressed with its `sqlar_uncompress`, and we read
    /// what its `sqlar_compress` wrote: the same format both ways.
    @Test func theSqliteShellAgrees() throws {
        try withTemporaryDirectory { dir in
            let path = dir + "/a.sqlite"
            try withExtendedLifetime(try Connection(path: path)) { conn in
                try conn.execute("CREATE TABLE ours(data, size INTEGER)")
                try conn.execute("INSERT INTO ours VALUES (?, ?)", try #require(SQLArchive.compress(Self.text)), Self.text.count)
                conn.close()
            }
            let text = String(decoding: Self.text, as: UTF8.self)
            let shellRead = try Self.sqlite3(path, "SELECT CAST(sqlar_uncompress(data, size) AS TEXT) FROM ours;")
            #expect(shellRead == text + "\n")
            // The shell compresses a copy of the same text; we inflate it.
            _ = try Self.sqlite3(path, "CREATE TABLE theirs AS SELECT sqlar_compress(CAST(data AS BLOB)) AS data, size FROM "
                                 + "(SELECT CAST(sqlar_uncompress(data, size) AS TEXT) AS data, size FROM ours);")
            let conn = try Connection(path: path)
            defer { conn.close() }
            let row = try #require(try conn.queryOne("SELECT data, size, length(data) FROM theirs"))
            #expect(try row.int(2) < Self.text.count) // the shell did compress it
            let data = try row.blob(0)
            #expect(try data.withUnsafeBufferPointer { try SQLArchive.uncompress($0, size: try row.int(1)) } == Self.text)
        }
    }

    /// Runs the `sqlite3` shell (`make deps` installs it) on `path` with `sql`; its output.
    static func sqlite3(_ path: String, _ sql: String) throws -> String {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = ["sqlite3", path, sql]
        let out = Pipe(), err = Pipe()
        p.standardOutput = out
        p.standardError = err
        try p.run()
        let data = out.fileHandleForReading.readDataToEndOfFile()
        let errors = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        p.waitUntilExit()
        #expect(p.terminationStatus == 0, "sqlite3 failed (is it installed? make deps installs it): \(errors)")
        return String(decoding: data, as: UTF8.self)
    }
}
