#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import Logging
import Synchronization

/// A SQLite database shared by the server's worker threads: one writer connection and a
/// small pool of read-only WAL reader connections.
///
/// SQLite allows one writer at a time, so ``write(_:)`` serialises writers on a lock and runs
/// each call in a `BEGIN IMMEDIATE` transaction on the single writer connection. Writers that
/// queue up behind one another share a transaction (group commit): each body runs alone, in
/// its own savepoint, and one `COMMIT` — one `fsync` under `synchronous=FULL` — ends them all,
/// with every caller returning only once its work is durable. See ``WriterGate``. In WAL mode
/// readers do not block the writer, nor the writer readers: ``read(_:)`` lends an idle reader
/// (waiting while all are lent) and sees the last committed state, never a write in progress.
///
/// The API is synchronous and blocking, for worker threads; never call it on an event loop.
/// Borrowing a reader costs two uncontended mutex operations and no allocation.
///
/// Rules for callers:
/// - Use the ``Connection`` you are given only inside the closure, on the calling thread.
/// - Do not call `write` inside `write` on the same thread (that would deadlock; it throws
///   instead). Nested transactions go through ``Connection/transaction(_:_:)``, which uses a
///   SAVEPOINT.
/// - A `read` inside a `write` works, but sees the state before the write's transaction.
/// - Do not nest `read` calls: a thread holding a reader while waiting for another can
///   exhaust the pool.
public final class Database: Sendable {
    /// The database file.
    public let path: String
    private let writer: WriterGate
    private let readers: ReaderPool
    private let logger: Logger
    private let ended = Atomic<UInt64>(0)

    /// How many ``write(_:)`` calls have ended (committed or rolled back) in this process.
    /// A value read before a query and unchanged afterwards means no write of this process
    /// ended in between, so a cache of what was read may keep it: see `APIKeys.key(sha256:)`.
    /// Writes by other processes are not counted; such a cache must also expire.
    public var writesEnded: UInt64 { ended.load(ordering: .acquiring) }

    /// How many threads wait for the writer now (for tests).
    var writersWaiting: Int { writer.waitingCount }
    /// How many transactions ``write(_:)`` has committed (for tests: a group counts once).
    var commits: UInt64 { writer.commits.load(ordering: .acquiring) }

    /// Opens the database at `path`, creating the file and its parent directory if missing.
    /// - Parameter readers: how many reader connections to keep (at least 1).
    /// - Parameter waits: told when a writer is about to block (for the writer, for its
    ///   commit's `fsync`, for its group's commit) and when it is done; see ``WaitObserver``.
    public init(path: String, readers: Int = 4, logger: Logger? = nil, waits: WaitObserver? = nil) throws {
        precondition(readers >= 1, "a Database needs at least one reader connection")
        self.path = path
        self.logger = logger ?? Logger(label: "portal.database", factory: { _ in SwiftLogNoOpLogHandler() })

        if let slash = path.lastIndex(of: "/"), slash != path.startIndex {
            let directory = String(path[..<slash])
            do {
                try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
            } catch {
                throw DatabaseError(code: 14 /* SQLITE_CANTOPEN */, message: "cannot create directory '\(directory)': \(error)")
            }
        }

        // The writer creates the file and switches it to WAL before any reader opens it.
        let writerConnection = try Connection(path: path)
        let mode = try writerConnection.scalar("PRAGMA journal_mode", as: String.self)
        guard mode?.lowercased() == "wal" else {
            throw DatabaseError.misuse("'\(path)' could not be switched to WAL journal mode (it is \(mode ?? "unknown"))")
        }
        var readerConnections: [Connection] = []
        for _ in 0..<readers {
            readerConnections.append(try Connection(path: path, readOnly: true))
        }
        self.writer = WriterGate(writerConnection, waits: waits)
        self.readers = ReaderPool(readerConnections)
        self.logger.debug("opened database", metadata: ["path": "\(path)", "readers": "\(readers)"])
    }

    deinit { close() }

    /// Runs `body` with a reader connection, waiting while all readers are lent out.
    ///
    /// Each statement sees the latest committed state; for one consistent snapshot across
    /// several queries, wrap them in `conn.transaction(.deferred) { … }`.
    public func read<T>(_ body: (Connection) throws -> T) throws -> T {
        let connection = try readers.borrow()
        defer { readers.giveBack(connection) }
        return try body(connection)
    }

    /// Runs `body` on the writer connection inside a `BEGIN IMMEDIATE` transaction, one
    /// writer at a time, and returns once its changes are committed; when it throws, none of
    /// its changes are kept and the error is rethrown.
    ///
    /// Bodies that queued up while another ran may be committed together with it (one
    /// transaction, each body in its own savepoint): a body that throws rolls back only its
    /// own savepoint, and if the shared `COMMIT` fails every caller of the group gets the error.
    @discardableResult
    public func write<T>(_ body: (Connection) throws -> T) throws -> T {
        // Counted once the write's group has ended (committed or rolled back): a reader that
        // saw the count before this write began cannot keep what it read past it.
        defer { ended.add(1, ordering: .releasing) }
        return try writer.write(body)
    }

    /// Closes every connection. Readers still lent out are closed when given back; later
    /// calls to `read` and `write` throw. Must not be called from inside `write`.
    public func close() {
        readers.close()
        writer.close()
    }
}

// MARK: - Locks

/// A pthread mutex with condition variables, at a stable address.
///
/// `Synchronization.Mutex` has no condition variable, and the reader pool must sleep while
/// all readers are lent, hence pthreads. `wait`/`signal`/`broadcast` use the first
/// condition; the writer gate also sleeps on a second one (`.second`).
private final class Monitor {
    enum Condition: Int { case first = 0, second = 1 }

    private let mutex = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
    private let conditions = UnsafeMutablePointer<pthread_cond_t>.allocate(capacity: 2)

    init() {
        pthread_mutex_init(mutex, nil)
        pthread_cond_init(conditions, nil)
        pthread_cond_init(conditions + 1, nil)
    }

    deinit {
        pthread_cond_destroy(conditions)
        pthread_cond_destroy(conditions + 1)
        pthread_mutex_destroy(mutex)
        conditions.deallocate()
        mutex.deallocate()
    }

    func lock() { pthread_mutex_lock(mutex) }
    func unlock() { pthread_mutex_unlock(mutex) }
    /// Atomically unlocks, sleeps until signalled, and locks again. Call with the lock held.
    func wait(_ c: Condition = .first) { pthread_cond_wait(conditions + c.rawValue, mutex) }
    func signal(_ c: Condition = .first) { pthread_cond_signal(conditions + c.rawValue) }
    func broadcast(_ c: Condition = .first) { pthread_cond_broadcast(conditions + c.rawValue) }
}

private func currentThreadID() -> UInt {
    #if canImport(Darwin)
    UInt(bitPattern: pthread_self())
    #else
    UInt(pthread_self())
    #endif
}

/// The idle reader connections.
///
/// `@unchecked Sendable` because its mutable state (`idle`, `closed`) is only touched with
/// `monitor` locked, and a connection is in `idle` exactly when no thread is using it, so
/// each connection is used by one thread at a time.
private final class ReaderPool: @unchecked Sendable {
    private let monitor = Monitor()
    private var idle: [Connection]
    private var closed = false

    init(_ connections: [Connection]) {
        idle = connections
        idle.reserveCapacity(connections.count) // giveBack never reallocates
    }

    func borrow() throws -> Connection {
        monitor.lock()
        defer { monitor.unlock() }
        while idle.isEmpty && !closed { monitor.wait() }
        guard !closed, let connection = idle.popLast() else { throw DatabaseError.closed }
        return connection
    }

    func giveBack(_ connection: Connection) {
        // A body that opened a transaction and did not finish it must not leak it to the next borrower.
        if connection.isInTransaction { _ = try? connection.execute("ROLLBACK") }
        monitor.lock()
        defer { monitor.unlock() }
        if closed {
            connection.close()
        } else {
            idle.append(connection)
            monitor.signal()
        }
    }

    func close() {
        monitor.lock()
        defer { monitor.unlock() }
        closed = true
        idle.forEach { $0.close() }
        idle.removeAll()
        monitor.broadcast()
    }
}

/// What a thread pool wants to know about its threads' waits: `begin` before a thread blocks
/// (not computing), `end` after, on the same thread. A pool running one awake thread per core
/// (the HTTP server's) wakes another meanwhile: without it, a request waiting for its
/// commit's `fsync` held the only core's worker, no other write could queue behind it, and
/// every write paid an `fsync` of its own (no group commit formed).
public struct WaitObserver: Sendable {
    public let begin: @Sendable () -> Void
    public let end: @Sendable () -> Void

    public init(begin: @escaping @Sendable () -> Void, end: @escaping @Sendable () -> Void) {
        self.begin = begin
        self.end = end
    }
}

/// The writer connection behind a lock, with group commit.
///
/// One thread at a time holds the writer (`busy`) and runs its body. Each transaction is a
/// *group*: the first writer opens it with `BEGIN IMMEDIATE` and runs its body directly; a
/// writer that finds a group open runs its body in a savepoint of it. When a body is done,
/// its writer looks at the queue: if others are waiting for the writer (and the group is
/// younger than ``maxAge`` and smaller than ``maxMembers``), it hands the writer on and sleeps
/// until the group ends; otherwise it commits the group and wakes its members. So under load
/// many writes share one `COMMIT` and one `fsync`, and alone a write commits at once, as
/// before. No caller returns before its changes are committed, and none returns success when
/// the group's `COMMIT` failed.
///
/// A body that throws, or leaves a deferred foreign key violation, rolls back its savepoint (the first body: the whole transaction, which
/// is only its own) and its writer returns the error without waiting. When an error ended the
/// whole transaction (SQLite rolls back on SQLITE_FULL, SQLITE_IOERR, a `ROLLBACK` conflict
/// clause), the group ends with that error for every member.
///
/// `@unchecked Sendable` because `connection`, `busy`, `waiting` and `group` are only touched
/// with `monitor` locked or, for the connection and the open group's `members`, by the one
/// thread that holds `busy`. `owner` records the thread holding the writer so that a nested
/// `write` on that thread fails instead of deadlocking; only the owner ever stores its own id
/// there, so a relaxed load is enough for that comparison.
private final class WriterGate: @unchecked Sendable {
    /// The writes sharing one transaction. Its fields are guarded by the gate's monitor,
    /// except `members` and `startedAt`, which only the writer holding `busy` touches.
    private final class Group {
        var members = 1
        let startedAt = monotonicNanoseconds()
        var ended = false
        var error: (any Error)?
    }

    static let maxMembers = 128
    static let maxAge: UInt64 = 20_000_000 // 20 ms

    private let monitor = Monitor() // .first: the writer is free; .second: a group ended
    private let owner = Atomic<UInt>(0)
    private var connection: Connection?
    private var busy = false
    private var waiting = 0
    private var group: Group?

    let commits = Atomic<UInt64>(0)

    private let waits: WaitObserver?

    init(_ connection: Connection, waits: WaitObserver?) {
        self.connection = connection
        self.waits = waits
    }

    var waitingCount: Int {
        monitor.lock()
        defer { monitor.unlock() }
        return waiting
    }

    func write<T>(_ body: (Connection) throws -> T) throws -> T {
        let me = currentThreadID()
        guard owner.load(ordering: .relaxed) != me else {
            throw DatabaseError.misuse("Database.write called inside Database.write on the same thread; use the Connection you were given")
        }
        monitor.lock()
        waiting += 1
        if busy {
            // The observer's lock is a leaf (it never calls back here), so it is told with ours held.
            waits?.begin()
            while busy { monitor.wait(.first) }
            waits?.end()
        }
        waiting -= 1
        guard let connection else {
            monitor.signal(.first)
            monitor.unlock()
            throw DatabaseError.closed
        }
        busy = true
        owner.store(me, ordering: .relaxed)
        let joined = group
        monitor.unlock()

        let mine: Group
        let outcome: Result<T, any Error>
        if let joined {
            mine = joined
            mine.members += 1
            outcome = Result { try connection.transaction(.immediate) { try Self.run(body, on: connection) } } // a savepoint
            if case .failure(let error) = outcome, !connection.isInTransaction {
                end(mine, error: error)
                throw error
            }
        } else {
            do {
                try connection.execute(TransactionKind.immediate.beginSQL)
            } catch {
                release()
                throw error
            }
            mine = Group()
            outcome = Result { try Self.run(body, on: connection) }
            if case .failure(let error) = outcome {
                if connection.isInTransaction { _ = try? connection.execute("ROLLBACK") }
                release()
                throw error
            }
        }

        monitor.lock()
        if waiting > 0, mine.members < Self.maxMembers, monotonicNanoseconds() &- mine.startedAt < Self.maxAge {
            // Hand the writer to the next in line; the group stays open for it.
            group = mine
            busy = false
            owner.store(0, ordering: .relaxed)
            monitor.signal(.first)
            if case .failure(let error) = outcome {
                monitor.unlock()
                throw error
            }
            waits?.begin()
            while !mine.ended { monitor.wait(.second) }
            waits?.end()
            let error = mine.error
            monitor.unlock()
            if let error { throw error }
            return try outcome.get()
        }
        monitor.unlock()

        var commitError: (any Error)?
        do {
            waits?.begin()
            defer { waits?.end() }
            try connection.execute("COMMIT")
            commits.add(1, ordering: .releasing)
        } catch {
            commitError = error
            if connection.isInTransaction { _ = try? connection.execute("ROLLBACK") }
        }
        end(mine, error: commitError)
        if let commitError { throw commitError }
        return try outcome.get()
    }

    /// Runs one body. One that leaves a deferred foreign key violation fails here, where only
    /// its own work is undone, instead of failing the group's `COMMIT` for everyone.
    private static func run<T>(_ body: (Connection) throws -> T, on connection: Connection) throws -> T {
        let result = try body(connection)
        if connection.hasDeferredForeignKeyViolations {
            throw DatabaseError(code: 19 /* SQLITE_CONSTRAINT */, extendedCode: 787 /* SQLITE_CONSTRAINT_FOREIGNKEY */,
                                message: "FOREIGN KEY constraint failed")
        }
        return result
    }

    /// Ends `group` (committed when `error` is nil), wakes its members and frees the writer.
    private func end(_ g: Group, error: (any Error)?) {
        monitor.lock()
        g.ended = true
        g.error = error
        group = nil
        busy = false
        owner.store(0, ordering: .relaxed)
        monitor.broadcast(.second)
        monitor.signal(.first)
        monitor.unlock()
    }

    /// Frees the writer when no group is open (the first body failed or could not begin).
    private func release() {
        monitor.lock()
        busy = false
        owner.store(0, ordering: .relaxed)
        monitor.broadcast(.second) // for close()
        monitor.signal(.first)
        monitor.unlock()
    }

    func close() {
        precondition(owner.load(ordering: .relaxed) != currentThreadID(), "Database.close() called inside Database.write")
        monitor.lock()
        defer { monitor.unlock() }
        while busy || group != nil { monitor.wait(.second) }
        connection?.close()
        connection = nil
        monitor.broadcast(.first)
    }
}

private func monotonicNanoseconds() -> UInt64 {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return UInt64(ts.tv_sec) &* 1_000_000_000 &+ UInt64(ts.tv_nsec)
}
