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
/// each call in a `BEGIN IMMEDIATE` transaction on the single writer connection. In WAL mode
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

    /// Opens the database at `path`, creating the file and its parent directory if missing.
    /// - Parameter readers: how many reader connections to keep (at least 1).
    public init(path: String, readers: Int = 4, logger: Logger? = nil) throws {
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
        self.writer = WriterGate(writerConnection)
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
    /// writer at a time: COMMIT when it returns, ROLLBACK (and rethrow) when it throws.
    @discardableResult
    public func write<T>(_ body: (Connection) throws -> T) throws -> T {
        // Counted after COMMIT or ROLLBACK, while still holding the writer: a reader that saw
        // the count before this write began cannot keep what it read past it.
        try writer.withConnection { connection in
            defer { ended.add(1, ordering: .releasing) }
            return try connection.transaction(.immediate) { try body(connection) }
        }
    }

    /// Closes every connection. Readers still lent out are closed when given back; later
    /// calls to `read` and `write` throw. Must not be called from inside `write`.
    public func close() {
        readers.close()
        writer.close()
    }
}

// MARK: - Locks

/// A pthread mutex with a condition variable, at a stable address.
///
/// `Synchronization.Mutex` has no condition variable, and the reader pool must sleep while
/// all readers are lent, hence pthreads.
private final class Monitor {
    private let mutex = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
    private let condition = UnsafeMutablePointer<pthread_cond_t>.allocate(capacity: 1)

    init() {
        pthread_mutex_init(mutex, nil)
        pthread_cond_init(condition, nil)
    }

    deinit {
        pthread_cond_destroy(condition)
        pthread_mutex_destroy(mutex)
        condition.deallocate()
        mutex.deallocate()
    }

    func lock() { pthread_mutex_lock(mutex) }
    func unlock() { pthread_mutex_unlock(mutex) }
    /// Atomically unlocks, sleeps until signalled, and locks again. Call with the lock held.
    func wait() { pthread_cond_wait(condition, mutex) }
    func signal() { pthread_cond_signal(condition) }
    func broadcast() { pthread_cond_broadcast(condition) }
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

/// The writer connection behind a lock.
///
/// `@unchecked Sendable` because `connection` is only touched with `monitor` locked, so one
/// thread at a time uses it. `owner` records the thread holding the lock so that a nested
/// `write` on that thread fails instead of deadlocking; only the owner ever stores its own
/// id there, so a relaxed load is enough for that comparison.
private final class WriterGate: @unchecked Sendable {
    private let monitor = Monitor()
    private let owner = Atomic<UInt>(0)
    private var connection: Connection?

    init(_ connection: Connection) { self.connection = connection }

    func withConnection<T>(_ body: (Connection) throws -> T) throws -> T {
        let me = currentThreadID()
        guard owner.load(ordering: .relaxed) != me else {
            throw DatabaseError.misuse("Database.write called inside Database.write on the same thread; use the Connection you were given")
        }
        monitor.lock()
        owner.store(me, ordering: .relaxed)
        defer {
            owner.store(0, ordering: .relaxed)
            monitor.unlock()
        }
        guard let connection else { throw DatabaseError.closed }
        return try body(connection)
    }

    func close() {
        precondition(owner.load(ordering: .relaxed) != currentThreadID(), "Database.close() called inside Database.write")
        monitor.lock()
        defer { monitor.unlock() }
        connection?.close()
        connection = nil
    }
}
