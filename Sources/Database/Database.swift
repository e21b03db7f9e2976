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
    ///
    /// With `durability: .deferred` it returns once the changes are committed (every reader
    /// sees them) without waiting for them to reach the disk: that happens with the next
    /// durable commit or checkpoint. A crash of the process loses nothing either way (the WAL
    /// is in the kernel's hands); a power cut may lose what was written that way since. For
    /// what is buffered anyway before it is written (the API request log, flushed once a
    /// second): the `fsync` would protect a moment where the buffer already protects nothing.
    /// Such writes are grouped only with each other.
    @discardableResult
    public func write<T>(durability: Durability = .immediate, _ body: (Connection) throws -> T) throws -> T {
        // Counted once the write's group has ended (committed or rolled back): a reader that
        // saw the count before this write began cannot keep what it read past it.
        defer { ended.add(1, ordering: .releasing) }
        return try writer.write(durable: durability == .immediate, body)
    }

    /// When a write's changes are on the disk: before ``write(durability:_:)`` returns, or later.
    public enum Durability: Sendable {
        case immediate
        case deferred
    }

    /// ``write(_:)`` for a body that only inserts rows under new unique keys (an issued
    /// token): no read made before it could have seen those rows, nor a remembered "not
    /// found" (no cache keeps those), so it is not counted in ``writesEnded`` and what readers
    /// remember stays remembered. Anything that updates or deletes goes through `write`.
    @discardableResult
    public func insertOnly<T>(_ body: (Connection) throws -> T) throws -> T {
        try writer.write(durable: true, body)
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
    /// Like `wait`, on a condition of the caller's.
    func wait(on condition: UnsafeMutablePointer<pthread_cond_t>) { pthread_cond_wait(condition, mutex) }
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

/// The writer connection, with group commit by flat combining.
///
/// A writer queues its body and, when no other thread is writing, becomes the *leader*: it
/// opens a transaction (`BEGIN IMMEDIATE`), runs its own body, then the bodies that queued
/// meanwhile, each in its own savepoint, and takes more while they keep coming (up to
/// ``maxMembers`` bodies, for at most ``maxAge``); then it commits them all with one
/// `COMMIT` — one `fsync` — and wakes each member once, with its outcome. A body waiting in
/// the queue when the leader is done makes its writer the next leader. So under load many
/// writes share one commit, and a waiting writer sleeps once and is woken once, where handing
/// the connection from thread to thread woke each of them twice; alone, a write commits at
/// once. No caller returns before its changes are committed, and none returns success when
/// its group's `COMMIT` failed.
///
/// A body runs on the leader's thread while its own thread sleeps (`withoutActuallyEscaping`:
/// the leader drops the body before waking its writer). A body that throws, or leaves a
/// deferred foreign key violation, rolls back its own savepoint (the first body: the whole
/// transaction, which is only its own) and its writer gets the error. When an error ended the
/// whole transaction (SQLite rolls back on SQLITE_FULL, SQLITE_IOERR, a `ROLLBACK` conflict
/// clause), every member whose work it held gets that error, and the leader goes on with the
/// rest in a new transaction.
///
/// `@unchecked Sendable` because `connection` is used only by the leader, and `queue`,
/// `leading` and every ``Pending``'s flags only with `monitor` locked (a pending write's body
/// and outcome by the leader, handed over under the lock). `owner` records the leading thread
/// so that a nested `write` there fails instead of deadlocking; only the leader stores its id,
/// so a relaxed load is enough for that comparison.
private final class WriterGate: @unchecked Sendable {
    /// One caller's write, queued for the leader.
    private class Pending {
        /// Whether its `COMMIT` must reach the disk before it returns (`synchronous=FULL`).
        var durable = true
        /// Set when the leader is done with it (committed, or failed).
        var done = false
        /// Set when its writer is to lead the next group.
        var leads = false
        /// The error of a group that failed as a whole after this body ran.
        var groupError: (any Error)?
        /// Where its writer sleeps, on the gate's mutex.
        let wake = UnsafeMutablePointer<pthread_cond_t>.allocate(capacity: 1)

        init() { pthread_cond_init(wake, nil) }
        deinit {
            pthread_cond_destroy(wake)
            wake.deallocate()
        }

        /// Runs the body (then drops it): nil, or the error it threw.
        func run(on connection: Connection) -> (any Error)? { fatalError("abstract") }
        /// Ends it with `error` (instead of running the body, or of what it returned), and drops the body.
        func refuse(_ error: any Error) { fatalError("abstract") }
    }

    private final class Write<T>: Pending {
        var body: ((Connection) throws -> T)?
        var outcome: Result<T, any Error>?

        init(_ body: @escaping (Connection) throws -> T) { self.body = body }

        override func run(on connection: Connection) -> (any Error)? {
            guard let body else { return DatabaseError.closed }
            self.body = nil
            do {
                outcome = .success(try WriterGate.run(body, on: connection))
                return nil
            } catch {
                outcome = .failure(error)
                return error
            }
        }

        override func refuse(_ error: any Error) {
            body = nil
            outcome = .failure(error)
        }

        func result() throws -> T {
            if let groupError { throw groupError }
            guard let outcome else { throw DatabaseError.closed }
            return try outcome.get()
        }
    }

    static let maxMembers = 128
    static let maxAge: UInt64 = 20_000_000 // 20 ms

    private let monitor = Monitor() // .second: the gate went idle (for close)
    private let owner = Atomic<UInt>(0)
    private var connection: Connection?
    private var queue: [Pending] = []
    private var leading = false
    /// The writer connection's `synchronous` setting now (FULL at open); the leader's alone.
    private var synchronousFull = true

    let commits = Atomic<UInt64>(0)

    private let waits: WaitObserver?

    init(_ connection: Connection, waits: WaitObserver?) {
        self.connection = connection
        self.waits = waits
        queue.reserveCapacity(Self.maxMembers)
    }

    /// Writes queued and not yet taken by a leader.
    var waitingCount: Int {
        monitor.lock()
        defer { monitor.unlock() }
        return queue.count
    }

    func write<T>(durable: Bool, _ body: (Connection) throws -> T) throws -> T {
        let me = currentThreadID()
        guard owner.load(ordering: .relaxed) != me else {
            throw DatabaseError.misuse("Database.write called inside Database.write on the same thread; use the Connection you were given")
        }
        return try withoutActuallyEscaping(body) { body in
            let mine = Write(body)
            mine.durable = durable
            defer { mine.body = nil }
            monitor.lock()
            guard let connection else {
                monitor.unlock()
                throw DatabaseError.closed
            }
            queue.append(mine)
            if leading {
                // The observer's lock is a leaf (it never calls back here), so it is told with ours held.
                waits?.begin()
                while !mine.done && !mine.leads { monitor.wait(on: mine.wake) }
                waits?.end()
                if mine.done {
                    monitor.unlock()
                    return try mine.result()
                }
            }
            leading = true
            owner.store(me, ordering: .relaxed)
            let members = take(Self.maxMembers, durable: queue[0].durable)
            monitor.unlock()
            lead(members, on: connection)
            return try mine.result()
        }
    }

    /// Up to `n` queued writes of one durability, oldest first (the others keep their places).
    /// Call with the monitor locked.
    private func take(_ n: Int, durable: Bool) -> [Pending] {
        var taken: [Pending] = []
        var kept: [Pending] = []
        for p in queue {
            if taken.count < n && p.durable == durable { taken.append(p) } else { kept.append(p) }
        }
        queue = kept
        return taken
    }

    /// Runs `first` and the writes that keep queuing behind it in as few transactions as
    /// errors allow, commits, wakes every member but the leader's own (the first), and
    /// hands the lead to the oldest write still queued.
    private func lead(_ first: [Pending], on connection: Connection) {
        let startedAt = monotonicNanoseconds()
        // A group is of one durability; the setting can only change between transactions.
        let durable = first[0].durable
        var all = first
        var next = first
        var settingFailed = false
        if durable != synchronousFull {
            do {
                try connection.execute(durable ? "PRAGMA synchronous = FULL" : "PRAGMA synchronous = NORMAL")
                synchronousFull = durable
            } catch {
                // Durable writes are never committed without their fsync: they fail instead.
                // (Deferred ones may be made durable: that only costs time.)
                if durable {
                    for p in first { p.refuse(error) }
                    next = []
                    settingFailed = true
                }
            }
        }
        var kept: [Pending] = [] // bodies done whose work the open transaction holds
        var open = false
        while true {
            for p in next {
                if !open {
                    do {
                        try connection.execute(TransactionKind.immediate.beginSQL)
                        open = true
                    } catch {
                        p.refuse(error)
                        continue
                    }
                    // Alone in its transaction so far: no savepoint needed.
                    if p.run(on: connection) == nil {
                        kept.append(p)
                    } else {
                        if connection.isInTransaction { _ = try? connection.execute("ROLLBACK") }
                        open = false
                    }
                    continue
                }
                do {
                    try connection.transaction(.immediate) { // a savepoint
                        if let error = p.run(on: connection) { throw error }
                    }
                    kept.append(p)
                } catch {
                    p.refuse(error) // the body's error, or its savepoint's own
                    if !connection.isInTransaction {
                        // The error ended the whole transaction: the work it held is gone.
                        for k in kept { k.groupError = error }
                        kept.removeAll()
                        open = false
                    }
                }
            }
            monitor.lock()
            if !settingFailed, queue.contains(where: { $0.durable == durable }), all.count < Self.maxMembers, monotonicNanoseconds() &- startedAt < Self.maxAge {
                next = take(Self.maxMembers - all.count, durable: durable)
                all += next
                monitor.unlock()
                continue
            }
            monitor.unlock()
            break
        }

        if open {
            do {
                waits?.begin()
                defer { waits?.end() }
                try connection.execute("COMMIT")
                commits.add(1, ordering: .releasing)
            } catch {
                if connection.isInTransaction { _ = try? connection.execute("ROLLBACK") }
                for k in kept { k.groupError = error }
            }
        }

        monitor.lock()
        owner.store(0, ordering: .relaxed)
        for p in all.dropFirst() {
            p.done = true
            pthread_cond_signal(p.wake)
        }
        all[0].done = true
        if let heir = queue.first {
            heir.leads = true
            pthread_cond_signal(heir.wake)
        } else {
            leading = false
            monitor.broadcast(.second)
        }
        monitor.unlock()
    }

    /// Runs one body. One that leaves a deferred foreign key violation fails here, where only
    /// its own work is undone, instead of failing the group's `COMMIT` for everyone.
    fileprivate static func run<T>(_ body: (Connection) throws -> T, on connection: Connection) throws -> T {
        let result = try body(connection)
        if connection.hasDeferredForeignKeyViolations {
            throw DatabaseError(code: 19 /* SQLITE_CONSTRAINT */, extendedCode: 787 /* SQLITE_CONSTRAINT_FOREIGNKEY */,
                                message: "FOREIGN KEY constraint failed")
        }
        return result
    }

    func close() {
        precondition(owner.load(ordering: .relaxed) != currentThreadID(), "Database.close() called inside Database.write")
        monitor.lock()
        defer { monitor.unlock() }
        while leading || !queue.isEmpty { monitor.wait(.second) }
        connection?.close()
        connection = nil
    }
}

private func monotonicNanoseconds() -> UInt64 {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return UInt64(ts.tv_sec) &* 1_000_000_000 &+ UInt64(ts.tv_nsec)
}
