import Database
import Foundation
import Jobs
import Synchronization

/// The API request log: what the flusher writes, what the "API requests" page of an
/// environment reads (`logs.read`), and the pruning the job worker runs.
///
/// Reading the log is not a change, so it writes no audit event; pruning is the retention
/// the operator configured, applied to every organization alike, not anyone's action.
struct APILogs: Sendable {
    let database: Database
    let clock: PortalClock
    /// Rows older than this many days are deleted; bodies of failures after `bodyRetentionDays`.
    let retentionDays: Int
    let bodyRetentionDays: Int
    /// Sets a credential's "last used" (time and IP) on the flush's connection: the API keys'
    /// `recordUse`, wired by the composition root (the log does not know what a key is).
    let recordUse: @Sendable (_ publicID: String, _ at: Int64, _ ip: String, _ db: Connection) throws -> Void
    let store = APILogsStore()
    /// The flusher's zlib stream, kept from batch to batch (``SQLArchive/Compressor``).
    private let compressor = SegmentCompressor()

    static let pruneKind = "api_logs.prune"
    /// How often the pruning runs, and how many rows one of its transactions deletes at most:
    /// small batches, so the one writer is never held long and requests that write go between.
    static let pruneInterval: Int64 = 3600
    static let pruneBatch = 1000
    static let pageSize = 50

    init(database: Database, clock: PortalClock, retentionDays: Int = 30, bodyRetentionDays: Int = 7,
         recordUse: @escaping @Sendable (String, Int64, String, Connection) throws -> Void = { _, _, _, _ in }) {
        self.database = database
        self.clock = clock
        self.retentionDays = retentionDays
        self.bodyRetentionDays = bodyRetentionDays
        self.recordUse = recordUse
    }

    // MARK: the flush

    /// Writes a batch in one transaction, with each credential's newest use of the batch
    /// noted for the page's key filter and for its "last used". The segments are encoded
    /// before the transaction begins: the writer is held only for the inserts.
    func save(_ batch: APILogBatch, _ range: Range<Int>) throws {
        guard !range.isEmpty else { return }
        let segments = compressor.withCompressor { store.prepare(batch, range, compressor: $0) }
        // Each credential's newest item (by index: no copy of an item per request). Runs of one
        // credential, the common case, are told by comparing with the run's id, not hashed.
        var newest: [String: Int] = [:]
        func keep(_ r: (id: String, index: Int)) {
            if let n = newest[r.id], batch.items[n].facts.createdAt > batch.items[r.index].facts.createdAt { return }
            newest[r.id] = r.index
        }
        var run: (id: String, index: Int)? // the current run's credential and its newest item so far
        for i in range {
            guard let c = batch.items[i].facts.credentialID else { continue }
            if let r = run, r.id == c {
                if batch.items[r.index].facts.createdAt <= batch.items[i].facts.createdAt { run = (c, i) }
            } else {
                if let r = run { keep(r) }
                run = (c, i)
            }
        }
        if let r = run { keep(r) }
        let credentials = newest.sorted(by: { $0.key < $1.key }).map { ($0.key, batch.items[$0.value]) }
        // Deferred durability: these entries waited up to a second in memory, where a crash
        // loses them anyway; an fsync per batch guarded nothing more (see Database.Durability).
        try database.write(durability: .deferred) { db in
            try store.insert(segments, on: db)
            for (id, e) in credentials {
                if let org = e.organizationID, let env = e.environment {
                    try store.noteCredential(organizationID: org, environment: env, credentialID: id, name: e.credentialName ?? id,
                                              label: e.credentialLabel, at: e.createdAt, on: db)
                }
                try recordUse(id, e.createdAt, e.ip, db)
            }
        }
    }

    /// ``save(_:_:)`` for entries not yet encoded (tests, tools).
    func save(_ entries: [APIRequestEntry]) throws {
        let batch = APILogBatch(entries.lazy.map(APIRequestRecord.init))
        try save(batch, 0..<batch.count)
    }

    // MARK: the page

    struct Page: Sendable {
        let filter: APILogFilter
        let resolved: APILogFilter.Resolved
        let rows: [APILogsStore.LogRow]
        let credentials: [(id: String, name: String, label: String?)]
        /// Cursors of the neighbouring pages, when there are rows there.
        let newerCursor: Int64?
        let olderCursor: Int64?
        /// Whether the environment has any request at all (the empty state differs).
        let hasAny: Bool
        var isPaged: Bool { resolved.before != nil || resolved.after != nil }
    }

    func page(_ env: EnvAccess, filter: APILogFilter) throws -> Page {
        try env.require(.logsRead)
        let resolved = filter.resolve(zone: env.user.timeZone)
        let (org, e) = (env.org.id, env.environment)
        return try database.read { db in
            try db.transaction(.deferred) {
                // One row more than a page says whether there is a page beyond it in the reading's
                // direction; the other direction is asked only when there is a cursor (nothing is
                // newer than the newest page). Each reading parses segments, so it is done once.
                var rows = try store.page(organizationID: org, environment: e, resolved.query, before: resolved.before, after: resolved.after,
                                          limit: Self.pageSize + 1, on: db)
                var newer: Int64?, older: Int64?
                if resolved.after != nil && resolved.before == nil {
                    if rows.count > Self.pageSize { rows.removeFirst(); newer = rows.first?.id }
                    if let last = rows.last, try store.exists(organizationID: org, environment: e, resolved.query, beyond: last.id, newer: false, on: db) {
                        older = last.id
                    }
                } else {
                    if rows.count > Self.pageSize { rows.removeLast(); older = rows.last?.id }
                    if resolved.before != nil, let first = rows.first,
                       try store.exists(organizationID: org, environment: e, resolved.query, beyond: first.id, newer: true, on: db) {
                        newer = first.id
                    }
                }
                let hasAny = try !rows.isEmpty || store.hasAny(organizationID: org, environment: e, on: db)
                return Page(filter: filter, resolved: resolved, rows: rows, credentials: try store.credentials(organizationID: org, environment: e, on: db),
                            newerCursor: newer, olderCursor: older, hasAny: hasAny)
            }
        }
    }

    /// One request of the environment by the id its caller saw; another organization's or
    /// environment's is the same 404 as one that never was.
    func detail(_ env: EnvAccess, requestID: String) throws -> APILogsStore.Detail {
        try env.require(.logsRead)
        guard !requestID.isEmpty, requestID.utf8.count <= 64, requestID.utf8.allSatisfy({ ($0 >= 0x30 && $0 <= 0x39) || ($0 >= 0x61 && $0 <= 0x66) }) else {
            throw OrgProblem.notFound
        }
        guard let d = try database.read({ try store.detail(organizationID: env.org.id, environment: env.environment, requestID: requestID, on: $0) }) else {
            throw OrgProblem.notFound
        }
        return d
    }

    // MARK: pruning

    /// Deletes requests older than the retention (whole segments) and bodies older than
    /// theirs, a batch per transaction. Returns how many segments and bodies went.
    @discardableResult
    func prune() throws -> (segments: Int, bodies: Int) {
        let now = clock.now()
        func drain(batch: Int, _ delete: (Connection) throws -> Int) throws -> Int {
            var total = 0
            while true {
                let n = try database.write { try delete($0) }
                total += n
                if n < batch { return total }
            }
        }
        let rowCutoff = now - Int64(retentionDays) * 86400
        let bodyCutoff = now - Int64(bodyRetentionDays) * 86400
        let segments = try drain(batch: APILogsStore.pruneSegments) { try store.deleteSegments(olderThan: rowCutoff, on: $0) }
        let bodies = try drain(batch: Self.pruneBatch) { try store.deleteBodies(olderThan: bodyCutoff, limit: Self.pruneBatch, on: $0) }
        _ = try database.write { try store.deleteCredentials(lastSeenBefore: rowCutoff, on: $0) }
        return (segments, bodies)
    }

    /// Makes sure one pruning job is waiting: at start-up (due now) and at the end of each run
    /// (due an interval later). A restart, a second process or a re-run never adds a second.
    func schedulePruning(on jobs: JobWorker, at time: Int64) throws {
        try database.write { db in
            if try JobQueue.enqueueUnlessQueued(Self.pruneKind, payload: "", runAt: time, now: clock.now(), on: db) != nil { jobs.notify() }
        }
    }
}

/// One ``SQLArchive/Compressor`` for the flushes, one flush at a time (the flusher's thread,
/// and tests that save directly).
final class SegmentCompressor: Sendable {
    private let compressor = Mutex(SQLArchive.Compressor())

    func withCompressor<R>(_ body: (SQLArchive.Compressor) -> R) -> R {
        // Spelled out: Swift 6's region checker refuses `withLock { body($0) }` for a class
        // value that is not Sendable.
        compressor.withLock { c -> sending R in
            let result = body(c)
            return result
        }
    }
}
