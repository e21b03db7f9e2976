import Dispatch
import Foundation
import Synchronization
import Testing
@testable import Database

/// Group commit: writers that queue behind another share its transaction and its `fsync`,
/// and none of them is told "saved" before its changes are committed, or when they were not.
@Suite struct GroupCommitTests {
    struct Boom: Error {}

    /// What each writer thread learnt: nil for success, else the error's text.
    private final class Outcomes: Sendable {
        private let m = Mutex<[Int: String?]>([:])
        func set(_ i: Int, _ v: String?) { m.withLock { $0[i] = .some(v) } }
        subscript(_ i: Int) -> String?? { m.withLock { $0[i] } }
    }

    /// Runs writer 0, whose body holds the writer until `followers` more threads wait for it
    /// (then they all queue behind it), and the followers, each started once the previous is
    /// waiting so their order is known. Each thread's write result lands in `outcomes`.
    private func queueBehindOne(_ db: Database, followers: [@Sendable (Connection) throws -> Void],
                                first: @escaping @Sendable (Connection) throws -> Void) -> Outcomes {
        let outcomes = Outcomes()
        let group = DispatchGroup()
        func start(_ i: Int, _ body: @escaping @Sendable (Connection) throws -> Void) {
            group.enter()
            Thread {
                do { try db.write { try body($0) }; outcomes.set(i, nil) } catch { outcomes.set(i, "\(error)") }
                group.leave()
            }.start()
        }
        let holding = Atomic<Bool>(false)
        start(0) { conn in
            holding.store(true, ordering: .releasing)
            try first(conn)
            let deadline = Date().addingTimeInterval(10)
            while db.writersWaiting < followers.count, Date() < deadline { usleep(1000) }
        }
        while !holding.load(ordering: .acquiring) { usleep(500) }
        for (i, body) in followers.enumerated() {
            while db.writersWaiting < i { usleep(500) }
            usleep(2000)
            start(i + 1, body)
        }
        #expect(group.wait(timeout: .now() + 30) == .success)
        return outcomes
    }

    private func ids(_ db: Database) throws -> [Int] {
        try db.read { try $0.query("SELECT id FROM t ORDER BY id").map { try $0.int(0) } }
    }

    @Test("Writers waiting behind one share its COMMIT, and each returns with its row already visible to readers")
    func queuedWritersShareOneCommit() throws {
        try withDatabase { db, _ in
            try db.write { try $0.execute("CREATE TABLE t(id INTEGER PRIMARY KEY)") }
            let before = db.commits
            let followers: [@Sendable (Connection) throws -> Void] = (1...4).map { i in { try $0.execute("INSERT INTO t VALUES (?)", i) } }
            let outcomes = queueBehindOne(db, followers: followers) { try $0.execute("INSERT INTO t VALUES (0)") }
            for i in 0...4 { #expect(outcomes[i] == .some(nil)) }
            #expect(try ids(db) == [0, 1, 2, 3, 4])
            // Five writes, fewer commits: they were grouped (all five in one, as they all queued).
            #expect(db.commits - before == 1)
            // Alone, a write commits by itself and is visible when it returns.
            try db.write { try $0.execute("INSERT INTO t VALUES (5)") }
            #expect(try ids(db).contains(5))
            #expect(db.commits - before == 2)
        }
    }

    @Test("A writer whose body throws in a group loses only its own rows; the others are saved")
    func aFailingMemberLosesOnlyItsOwnWork() throws {
        try withDatabase { db, _ in
            try db.write { try $0.execute("CREATE TABLE t(id INTEGER PRIMARY KEY)") }
            let outcomes = queueBehindOne(db, followers: [
                { try $0.execute("INSERT INTO t VALUES (1)"); throw Boom() },
                { try $0.execute("INSERT INTO t VALUES (2)") },
            ]) { try $0.execute("INSERT INTO t VALUES (0)") }
            #expect(outcomes[0] == .some(nil))
            #expect(outcomes[1] == .some("Boom()"))
            #expect(outcomes[2] == .some(nil))
            #expect(try ids(db) == [0, 2])
        }
    }

    @Test("A deferred foreign key violation fails its own write, not the group's COMMIT")
    func deferredViolationFailsOnlyItsWriter() throws {
        try withDatabase { db, _ in
            try db.write {
                try $0.executeScript("""
                    CREATE TABLE parent(id INTEGER PRIMARY KEY);
                    CREATE TABLE t(id INTEGER PRIMARY KEY, parent INTEGER REFERENCES parent(id) DEFERRABLE INITIALLY DEFERRED);
                    INSERT INTO parent VALUES (1);
                    """)
            }
            let outcomes = queueBehindOne(db, followers: [
                { try $0.execute("INSERT INTO t VALUES (1, 99)") },
                { try $0.execute("INSERT INTO t VALUES (2, 1)") },
            ]) { try $0.execute("INSERT INTO t VALUES (0, 1)") }
            #expect(outcomes[0] == .some(nil))
            #expect(outcomes[1]??.contains("FOREIGN KEY constraint failed") == true)
            #expect(outcomes[2] == .some(nil))
            #expect(try ids(db) == [0, 2])
            // Alone, too.
            #expect(throws: DatabaseError.self) { try db.write { try $0.execute("INSERT INTO t VALUES (3, 42)") } }
            #expect(try ids(db) == [0, 2])
        }
    }

    @Test("When one member's error ends the whole transaction, every member of the group is told it failed")
    func aWholeTransactionRollbackFailsEveryMember() throws {
        try withDatabase { db, _ in
            try db.write { try $0.executeScript("CREATE TABLE t(id INTEGER PRIMARY KEY); INSERT INTO t VALUES (7);") }
            let outcomes = queueBehindOne(db, followers: [
                { try $0.execute("INSERT OR ROLLBACK INTO t VALUES (7)") },
            ]) { try $0.execute("INSERT INTO t VALUES (0)") }
            #expect(outcomes[0] != .some(nil)) // its row was rolled back with the transaction
            #expect(outcomes[1] != .some(nil))
            #expect(try ids(db) == [7])
            // The writer is free and works again.
            try db.write { try $0.execute("INSERT INTO t VALUES (8)") }
            #expect(try ids(db) == [7, 8])
        }
    }

    @Test("Many threads writing at once lose no update and take fewer commits than writes")
    func contentionLosesNothing() throws {
        try withDatabase { db, _ in
            try db.write { try $0.executeScript("CREATE TABLE counter(n INTEGER); INSERT INTO counter VALUES (0); CREATE TABLE t(id INTEGER PRIMARY KEY)") }
            let before = db.commits
            let failures = Mutex(0)
            let group = DispatchGroup()
            for thread in 0..<16 {
                group.enter()
                Thread {
                    for k in 0..<50 {
                        do {
                            try db.write { conn in
                                let n = try conn.scalar("SELECT n FROM counter", as: Int.self) ?? 0
                                try conn.execute("UPDATE counter SET n = ?", n + 1)
                                if k % 10 == 9 { throw Boom() } // rolled back: not counted
                                try conn.execute("INSERT INTO t VALUES (?)", thread * 100 + k)
                            }
                        } catch is Boom {
                        } catch {
                            failures.withLock { $0 += 1 }
                        }
                    }
                    group.leave()
                }.start()
            }
            #expect(group.wait(timeout: .now() + 60) == .success)
            #expect(failures.withLock { $0 } == 0)
            #expect(try db.read { try $0.scalar("SELECT n FROM counter", as: Int.self) } == 16 * 45)
            #expect(try db.read { try $0.scalar("SELECT count(*) FROM t", as: Int.self) } == 16 * 45)
            #expect(db.commits - before < 16 * 45)
        }
    }

    @Test("A deferred write commits without its fsync, is seen by readers when it returns, and never lends that to a durable write queued beside it")
    func deferredWritesAreGroupedApart() throws {
        try withDatabase { db, _ in
            try db.write { try $0.execute("CREATE TABLE t(id INTEGER PRIMARY KEY, sync INTEGER)") }
            // Each body records the writer connection's synchronous setting as it ran: 2 is FULL, 1 NORMAL.
            @Sendable func insert(_ id: Int) -> @Sendable (Connection) throws -> Void {
                { c in try c.execute("INSERT INTO t VALUES (?, ?)", id, try c.scalar("PRAGMA synchronous", as: Int.self) ?? -1) }
            }
            try db.write(durability: .deferred, insert(1))
            #expect(try db.read { try $0.scalar("SELECT sync FROM t WHERE id = 1", as: Int.self) } == 1)
            try db.write(insert(2))
            #expect(try db.read { try $0.scalar("SELECT sync FROM t WHERE id = 2", as: Int.self) } == 2)

            // Queued together behind a holder, alternating: each runs at its own setting.
            let group = DispatchGroup()
            let holding = Atomic<Bool>(false)
            group.enter()
            Thread {
                try? db.write { c in
                    holding.store(true, ordering: .releasing)
                    let deadline = Date().addingTimeInterval(10)
                    while db.writersWaiting < 4, Date() < deadline { usleep(1000) }
                    try insert(10)(c)
                }
                group.leave()
            }.start()
            while !holding.load(ordering: .acquiring) { usleep(500) }
            for (i, deferred) in [true, false, true, false].enumerated() {
                while db.writersWaiting < i { usleep(500) }
                group.enter()
                Thread {
                    try? db.write(durability: deferred ? .deferred : .immediate, insert(11 + i))
                    group.leave()
                }.start()
            }
            #expect(group.wait(timeout: .now() + 30) == .success)
            let rows = try db.read { try $0.query("SELECT id, sync FROM t WHERE id >= 10 ORDER BY id").map { [try $0.int(0), try $0.int(1)] } }
            #expect(rows == [[10, 2], [11, 1], [12, 2], [13, 1], [14, 2]])
        }
    }

    /// Records what a `WaitObserver` is told: per thread, how deep in waits it is, and every
    /// begin and end.
    private final class Waits: Sendable {
        private let state = Mutex<(depth: [UInt: Int], begins: Int, ends: Int, unbalanced: Int)>(([:], 0, 0, 0))
        private static func me() -> UInt { UInt(pthread_self()) }
        var observer: WaitObserver {
            WaitObserver(begin: { self.state.withLock { $0.depth[Self.me(), default: 0] += 1; $0.begins += 1 } },
                         end: { self.state.withLock { s in
                             s.ends += 1
                             if (s.depth[Self.me()] ?? 0) <= 0 { s.unbalanced += 1 } else { s.depth[Self.me()]! -= 1 }
                         } })
        }
        /// Threads inside a wait now.
        var inWait: Int { state.withLock { $0.depth.values.filter { $0 > 0 }.count } }
        var counts: (begins: Int, ends: Int, unbalanced: Int) { state.withLock { ($0.begins, $0.ends, $0.unbalanced) } }
    }

    @Test("A writer that blocks (for the writer, for its group's commit, for its fsync) says so before and after, on its own thread")
    func blockingWritersTellTheirObserver() throws {
        try withTemporaryDirectory { directory in
            let waits = Waits()
            let db = try Database(path: directory + "/var/db/portal.sqlite", waits: waits.observer)
            defer { db.close() }
            try db.write { try $0.execute("CREATE TABLE t(id INTEGER PRIMARY KEY)") }
            // Alone: the commit is the only wait, and it ended before write returned.
            #expect(waits.counts == (1, 1, 0))
            // A writer queued behind a busy one is inside a wait while it queues.
            let seenWaiting = Atomic<Bool>(false)
            let done = DispatchSemaphore(value: 0)
            let holding = Atomic<Bool>(false)
            Thread {
                try? db.write { c in
                    holding.store(true, ordering: .releasing)
                    let deadline = Date().addingTimeInterval(10)
                    while db.writersWaiting < 1, Date() < deadline { usleep(1000) }
                    seenWaiting.store(waits.inWait >= 1, ordering: .releasing)
                    try c.execute("INSERT INTO t VALUES (1)")
                }
                done.signal()
            }.start()
            while !holding.load(ordering: .acquiring) { usleep(500) }
            try db.write { try $0.execute("INSERT INTO t VALUES (2)") }
            #expect(done.wait(timeout: .now() + 30) == .success)
            let sawWait = seenWaiting.load(ordering: .acquiring)
            #expect(sawWait)
            let c = waits.counts
            #expect(c.begins == c.ends && c.unbalanced == 0 && c.begins >= 3)
            #expect(waits.inWait == 0)
            #expect(try db.read { try $0.scalar("SELECT count(*) FROM t", as: Int.self) } == 2)
        }
    }
}
