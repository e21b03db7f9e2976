import Dispatch
import Foundation
import Synchronization
import Testing
@testable import Database

/// A value shared between test threads.
private final class Shared<Value: Sendable>: Sendable {
    private let mutex: Mutex<Value>
    init(_ value: Value) { mutex = Mutex(value) }
    func update<R: Sendable>(_ body: (inout Value) -> R) -> R { mutex.withLock { body(&$0) } }
    var value: Value { mutex.withLock { $0 } }
}

/// Starts `count` threads running `body(index)`, runs `whileRunning` on the calling thread,
/// then waits for all threads, at most `timeout` seconds. Returns `false` on timeout (a
/// deadlock) instead of hanging the suite.
private func runThreads(
    _ count: Int, timeout: Double = 60,
    _ body: @escaping @Sendable (Int) -> Void,
    whileRunning: () -> Void = {}
) -> Bool {
    let group = DispatchGroup()
    for index in 0..<count {
        group.enter()
        Thread {
            body(index)
            group.leave()
        }.start()
    }
    whileRunning()
    return group.wait(timeout: .now() + timeout) == .success
}

@Suite struct DatabaseTests {
    @Test func createsFileAndParentDirectory() throws {
        try withDatabase { db, directory in
            #expect(FileManager.default.fileExists(atPath: directory + "/var/db/portal.sqlite"))
            #expect(db.path == directory + "/var/db/portal.sqlite")
        }
    }

    /// The writer and every reader carry the house settings.
    @Test func everyConnectionIsConfigured() throws {
        try withDatabase(readers: 3) { db, _ in
            func settings(_ conn: Connection) throws -> [String] {
                [
                    try conn.scalar("PRAGMA journal_mode", as: String.self) ?? "",
                    "fk=\(try conn.scalar("PRAGMA foreign_keys", as: Int.self) ?? -1)",
                    "sync=\(try conn.scalar("PRAGMA synchronous", as: Int.self) ?? -1)",
                    "busy=\(try conn.scalar("PRAGMA busy_timeout", as: Int.self) ?? -1)",
                ]
            }
            let expected = ["wal", "fk=1", "sync=2", "busy=5000"]
            #expect(try db.write { try settings($0) } == expected)
            // Nesting reads borrows each of the three readers once.
            let readers = try db.read { a in try db.read { b in try db.read { c in
                #expect(a !== b && b !== c && a !== c)
                return [try settings(a), try settings(b), try settings(c)]
            } } }
            #expect(readers == [expected, expected, expected])
        }
    }

    /// `writesEnded` moves once per write, committed or rolled back, and only once it has
    /// ended: a cache keyed on it (API keys) never keeps a row read before a write it missed.
    @Test func writesEndedCountsEveryWriteAfterItEnds() throws {
        struct Boom: Error {}
        try withDatabase { db, _ in
            let start = db.writesEnded
            try db.write { try $0.execute("CREATE TABLE t(v TEXT)") }
            #expect(db.writesEnded == start + 1)
            let during = try db.write { conn -> UInt64 in
                try conn.execute("INSERT INTO t VALUES ('a')")
                return db.writesEnded
            }
            #expect(during == start + 1)
            #expect(db.writesEnded == start + 2)
            #expect(throws: Boom.self) { try db.write { _ in throw Boom() } }
            #expect(db.writesEnded == start + 3)
            _ = try db.read { try $0.scalar("SELECT count(*) FROM t", as: Int.self) }
            #expect(db.writesEnded == start + 3)
        }
    }

    @Test func writeCommitsAndReadersSeeIt() throws {
        try withDatabase { db, _ in
            try db.write { try $0.execute("CREATE TABLE t(v TEXT)") }
            let id = try db.write { conn in
                try conn.execute("INSERT INTO t VALUES (?)", "hello")
                return conn.lastInsertRowID
            }
            #expect(id == 1)
            #expect(try db.read { try $0.scalar("SELECT v FROM t", as: String.self) } == "hello")
        }
    }

    @Test func writeRollsBackWhenBodyThrows() throws {
        struct Boom: Error {}
        try withDatabase { db, _ in
            try db.write { try $0.execute("CREATE TABLE t(v)") }
            #expect(throws: Boom.self) {
                try db.write { conn in
                    try conn.execute("INSERT INTO t VALUES (1)")
                    throw Boom()
                }
            }
            #expect(try db.read { try $0.scalar("SELECT count(*) FROM t", as: Int.self) } == 0)
            #expect(try db.write { $0.isInTransaction }) // the next write starts a fresh transaction
        }
    }

    @Test func readersCannotWrite() throws {
        try withDatabase { db, _ in
            try db.write { try $0.execute("CREATE TABLE t(v)") }
            let error = try #require(thrownError { _ = try db.read { try $0.execute("INSERT INTO t VALUES (1)") } } as? DatabaseError)
            #expect(error.code == 8) // SQLITE_READONLY
        }
    }

    @Test func nestedWriteThrowsInsteadOfDeadlocking() throws {
        try withDatabase { db, _ in
            try db.write { try $0.execute("CREATE TABLE t(v)") }
            let error = try #require(thrownError {
                try db.write { _ in try db.write { try $0.execute("INSERT INTO t VALUES (1)") } }
            } as? DatabaseError)
            #expect(error.message.contains("inside Database.write"))
            #expect(try db.read { try $0.scalar("SELECT count(*) FROM t", as: Int.self) } == 0)
            // The writer is usable afterwards.
            try db.write { try $0.execute("INSERT INTO t VALUES (1)") }
        }
    }

    /// A transaction a read body left open is rolled back before the reader is lent again,
    /// so the next borrower does not read a stale snapshot forever.
    @Test func readerIsReturnedWithoutOpenTransaction() throws {
        struct Boom: Error {}
        try withDatabase(readers: 1) { db, _ throws in
            #expect(throws: Boom.self) {
                try db.read { conn in
                    try conn.execute("BEGIN")
                    _ = try conn.scalar("SELECT count(*) FROM sqlite_master", as: Int.self)
                    throw Boom()
                }
            }
            #expect(try db.read { $0.isInTransaction } == false)
        }
    }

    /// In WAL mode a reader is not blocked by an open write transaction, and does not see it.
    @Test func readersProceedWhileWriteTransactionIsOpen() throws {
        try withDatabase { db, _ in
            try db.write { try $0.execute("CREATE TABLE t(v)") }
            let seen = Shared<Int?>(nil)
            let readerFinished = DispatchSemaphore(value: 0)
            try db.write { conn in
                try conn.execute("INSERT INTO t VALUES (1)")
                Thread {
                    let count = try? db.read { try $0.scalar("SELECT count(*) FROM t", as: Int.self) }
                    seen.update { $0 = count ?? -1 }
                    readerFinished.signal()
                }.start()
                // The writer holds its transaction open until the reader is done.
                #expect(readerFinished.wait(timeout: .now() + 10) == .success, "reader blocked by the writer")
            }
            #expect(seen.value == 0) // the uncommitted row was invisible
            #expect(try db.read { try $0.scalar("SELECT count(*) FROM t", as: Int.self) } == 1)
        }
    }

    /// With every reader lent out, `read` waits for one to come back instead of failing.
    @Test func readWaitsForAFreeReader() throws {
        try withDatabase(readers: 1) { db, _ in
            let holderHasReader = DispatchSemaphore(value: 0)
            let releaseHolder = DispatchSemaphore(value: 0)
            let waiterDone = Shared(false)
            let finished = runThreads(2) { index in
                if index == 0 {
                    try? db.read { _ in
                        holderHasReader.signal()
                        releaseHolder.wait()
                    }
                } else {
                    holderHasReader.wait()
                    _ = try? db.read { try $0.scalar("SELECT 1", as: Int.self) }
                    waiterDone.update { $0 = true }
                }
            } whileRunning: {
                // Give the waiter ample time to (wrongly) get through while the only reader is lent.
                Thread.sleep(forTimeInterval: 0.3)
                #expect(waiterDone.value == false)
                releaseHolder.signal()
            }
            #expect(finished)
            #expect(waiterDone.value == true)
        }
    }

    /// Many threads read while one writes batches of 5 rows per transaction. Readers must
    /// only ever see whole batches, never a count going backwards, and never more threads
    /// inside `read` than there are readers; and everything must finish (no deadlock).
    @Test func concurrentReadersAndWriter() throws {
        let readerCount = 3
        try withDatabase(readers: readerCount) { db, _ in
            try db.write { try $0.execute("CREATE TABLE t(n INTEGER)") }
            let batches = 150
            let writerDone = Shared(false)
            let inside = Shared(0)
            let maxInside = Shared(0)
            let reads = Shared(0)
            let violations = Shared<[String]>([])

            let finished = runThreads(1 + 6) { index in
                if index == 0 {
                    do {
                        for batch in 0..<batches {
                            try db.write { conn in
                                for i in 0..<5 { try conn.execute("INSERT INTO t VALUES (?)", batch * 5 + i) }
                            }
                        }
                    } catch {
                        violations.update { $0.append("writer: \(error)") }
                    }
                    writerDone.update { $0 = true }
                    return
                }
                var last = 0
                while true {
                    let done = writerDone.value
                    do {
                        let count = try db.read { conn -> Int in
                            let now = inside.update { $0 += 1; return $0 }
                            maxInside.update { $0 = max($0, now) }
                            defer { inside.update { $0 -= 1 } }
                            return try conn.scalar("SELECT count(*) FROM t", as: Int.self) ?? -1
                        }
                        reads.update { $0 += 1 }
                        if count % 5 != 0 { violations.update { $0.append("partial batch visible: \(count)") } }
                        if count < last { violations.update { $0.append("count went back from \(last) to \(count)") } }
                        last = count
                    } catch {
                        violations.update { $0.append("reader: \(error)") }
                        return
                    }
                    if done { break }
                }
                if last != batches * 5 { violations.update { $0.append("final read saw \(last)") } }
            }
            #expect(finished, "threads did not finish: deadlock?")
            #expect(violations.value == [])
            #expect(maxInside.value <= readerCount)
            #expect(reads.value > 6)
            #expect(try db.read { try $0.scalar("SELECT count(*) FROM t", as: Int.self) } == batches * 5)
        }
    }

    /// Writers from many threads are serialised: read-modify-write cycles lose no update.
    @Test func writesAreSerialised() throws {
        try withDatabase { db, _ in
            try db.write { try $0.executeScript("CREATE TABLE counter(n INTEGER); INSERT INTO counter VALUES (0);") }
            let failures = Shared(0)
            let finished = runThreads(4) { _ in
                for _ in 0..<50 {
                    do {
                        try db.write { conn in
                            let n = try conn.scalar("SELECT n FROM counter", as: Int.self) ?? 0
                            try conn.execute("UPDATE counter SET n = ?", n + 1)
                        }
                    } catch {
                        failures.update { $0 += 1 }
                    }
                }
            }
            #expect(finished)
            #expect(failures.value == 0)
            #expect(try db.read { try $0.scalar("SELECT n FROM counter", as: Int.self) } == 200)
        }
    }

    @Test func closeMakesFurtherUseThrow() throws {
        try withDatabase { db, _ in
            try db.write { try $0.execute("CREATE TABLE t(v)") }
            db.close()
            #expect(throws: DatabaseError.self) { try db.read { _ in } }
            #expect(throws: DatabaseError.self) { try db.write { _ in } }
            db.close() // idempotent
        }
    }

    @Test func dataSurvivesReopening() throws {
        try withTemporaryDirectory { directory in
            let path = directory + "/reopen.sqlite"
            do {
                let db = try Database(path: path, readers: 1)
                try db.write { conn in
                    try conn.execute("CREATE TABLE t(v TEXT)")
                    try conn.execute("INSERT INTO t VALUES ('kept')")
                }
                db.close()
            }
            let db = try Database(path: path, readers: 1)
            defer { db.close() }
            #expect(try db.read { try $0.scalar("SELECT v FROM t", as: String.self) } == "kept")
        }
    }
}
