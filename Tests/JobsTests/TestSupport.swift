@_exported import TestSupport
import Database
import Foundation
import Synchronization
@testable import Jobs

/// The repository root, found from this file's path, for Migrations/.
let repoRoot: String = {
    var url = URL(fileURLWithPath: #filePath)
    for _ in 0..<3 { url.deleteLastPathComponent() }
    return url.path
}()

/// A migrated database file in a fresh temporary folder, removed on deinit. ``reopen()``
/// closes it and opens the same file again, as a restarted process would.
final class TestDatabase {
    let directory: String
    private(set) var database: Database

    init() throws {
        directory = NSTemporaryDirectory() + "portal-jobs-tests-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        database = try Database(path: directory + "/portal.sqlite", readers: 2)
        try Migrator(directory: repoRoot + "/Migrations").migrate(database)
    }

    func reopen() throws {
        database.close()
        database = try Database(path: directory + "/portal.sqlite", readers: 2)
    }

    deinit {
        database.close()
        try? FileManager.default.removeItem(atPath: directory)
    }

    @discardableResult
    func enqueue(_ kind: String = "test", payload: String, at now: Int64) throws -> Int64 {
        try database.write { try JobQueue.enqueue(kind, payload: payload, now: now, on: $0) }
    }

    func job(_ id: Int64) throws -> JobRow {
        try database.read { conn in
            guard let row = try conn.queryOne("SELECT * FROM jobs WHERE id = ?", id) else { throw Missing() }
            return try JobRow(row)
        }
    }

    func jobs() throws -> [JobRow] {
        try database.read { try $0.query("SELECT * FROM jobs ORDER BY id").map(JobRow.init) }
    }

    struct Missing: Error {}
}

/// One `jobs` row as the tests inspect it.
struct JobRow {
    let id: Int64
    let kind: String
    let payload: String
    let state: String
    let attempts: Int
    let runAt: Int64
    let leaseOwner: String?
    let leaseExpiresAt: Int64?
    let lastError: String?
    let createdAt: Int64
    let finishedAt: Int64?

    init(_ row: Row) throws {
        id = try row.int64("id")
        kind = try row.string("kind")
        payload = try row.string("payload")
        state = try row.string("state")
        attempts = try row.int("attempts")
        runAt = try row.int64("run_at")
        leaseOwner = try row.optionalString("lease_owner")
        leaseExpiresAt = try row.optionalInt64("lease_expires_at")
        lastError = try row.optionalString("last_error")
        createdAt = try row.int64("created_at")
        finishedAt = try row.optionalInt64("finished_at")
    }
}

/// A clock the test moves by hand.
final class ManualClock: Sendable {
    private let seconds: Atomic<Int64>
    init(_ start: Int64 = 1_800_000_000) { seconds = Atomic(start) }
    var now: Int64 { seconds.load(ordering: .relaxed) }
    func set(_ value: Int64) { seconds.store(value, ordering: .relaxed) }
    var clock: JobClock { JobClock { [self] in now } }
}

/// Counts calls and remembers them, from any thread.
final class Calls: Sendable {
    private let state = Mutex<[String]>([])
    func record(_ s: String) { state.withLock { $0.append(s) } }
    var all: [String] { state.withLock { $0 } }
    var count: Int { state.withLock { $0.count } }
}

struct Temporary: Error, CustomStringConvertible {
    var description: String { "try later" }
}
