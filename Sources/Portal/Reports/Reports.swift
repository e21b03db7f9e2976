import Database
import Foundation
import HTTP
import Jobs
import Security
import Synchronization

/// Monthly reports of an environment, for every active member (no permission needed, as
/// TransferZero's Reports page): which months have activity in the organization's time zone,
/// their row counts and, once closed, the SHA-256 of each file; and the files themselves as
/// pulled bodies (see ``TransactionReport`` and ``AccountStatementReport``).
final class Reports: Sendable {
    let database: Database
    let clock: PortalClock
    let jobs: JobWorker?
    let store = ReportsStore()
    /// Checksum jobs asked for lately, by "org environment zone": a page seen again and again
    /// before the worker has run enqueues one job, not one per view.
    private let asked = Mutex<[String: Int64]>([:])

    init(database: Database, clock: PortalClock, jobs: JobWorker?) {
        self.database = database
        self.clock = clock
        self.jobs = jobs
    }

    struct FileSummary: Sendable {
        let kind: ReportKind
        let rows: Int
        /// The SHA-256 (hex) of a closed month's file, once the job has computed it.
        let sha256: String?
    }

    struct MonthSummary: Sendable {
        let month: ReportMonth
        let closed: Bool
        let files: [FileSummary]
    }

    struct Overview: Sendable {
        let zone: String
        /// Newest first; the current month always first.
        let months: [MonthSummary]
    }

    /// The months with activity, newest first, the current month (to date) always included.
    func overview(_ env: EnvAccess) throws -> Overview {
        let scope = env.scope
        let zoneName = env.org.timeZone
        let zone = PageTime.timeZone(zoneName)
        let now = clock.now()
        let current = ReportMonth(containing: now, zone: zone)
        var months: [MonthSummary] = []
        var missing = false
        try database.read { db in
            let stored = Dictionary(try store.checksums(scope, timeZone: zoneName, on: db).map { ("\($0.month) \($0.kind)", $0) },
                                    uniquingKeysWith: { a, _ in a })
            var month = try store.earliestActivity(scope, on: db).map { ReportMonth(containing: $0, zone: zone) } ?? current
            if current < month { month = current }
            while month <= current {
                let closed = month.isClosed(now: now)
                let known = ReportKind.allCases.map { stored["\(month.key) \($0.rawValue)"] }
                var files: [FileSummary] = []
                var active = false
                if closed, let t = known[0], let a = known[1] {
                    files = [FileSummary(kind: .transactions, rows: t.rowCount, sha256: t.sha256),
                             FileSummary(kind: .accounts, rows: a.rowCount, sha256: a.sha256)]
                    active = true
                } else {
                    let txns = try store.transactionCount(scope, from: month.start, to: month.end, on: db)
                    let accounts = try store.accounts(scope, openedBefore: month.end, on: db)
                    var entries = 0
                    for a in accounts { entries += try store.ledgerCount(accountID: a.id, from: month.start, to: month.end, on: db) }
                    active = txns + entries > 0
                    files = [FileSummary(kind: .transactions, rows: txns, sha256: known[0]?.sha256),
                             FileSummary(kind: .accounts, rows: entries + 2 * accounts.count, sha256: known[1]?.sha256)]
                    if closed && active { missing = true }
                }
                if active || month == current { months.append(MonthSummary(month: month, closed: closed, files: files)) }
                month = month.next(zone: zone)
            }
        }
        if missing { try askForChecksums(scope, zone: zoneName) }
        return Overview(zone: zoneName, months: months.reversed())
    }

    /// A report file ready to stream.
    struct Download: Sendable {
        let filename: String
        let producer: any BodyProducer
        /// The stored SHA-256 of the file (closed months, once computed).
        let sha256: String?
    }

    /// The `kind` report of the month `key` (`2026-11`): any month up to the current one (a
    /// month without activity is a header and, for accounts, their balances); a later month,
    /// or anything else in its place, is not found.
    func download(_ env: EnvAccess, month key: String, kind rawKind: String) throws -> Download {
        let zoneName = env.org.timeZone
        let zone = PageTime.timeZone(zoneName)
        let now = clock.now()
        guard let kind = ReportKind(rawValue: rawKind), let month = ReportMonth(key: key, zone: zone),
              month.start <= now else { throw OrgProblem.notFound }
        let sha = month.isClosed(now: now)
            ? try database.read { try store.checksums(env.scope, timeZone: zoneName, on: $0) }.first { $0.month == month.key && $0.kind == kind.rawValue }?.sha256
            : nil
        return Download(filename: kind.filename(organization: env.org.displayName, environment: env.environment, month: month),
                        producer: producer(kind, scope: env.scope, month: month, zone: zone, now: now), sha256: sha)
    }

    /// The one way a file's bytes are made, for the download and for its checksum alike.
    func producer(_ kind: ReportKind, scope: MoneyScope, month: ReportMonth, zone: TimeZone, now: Int64) -> any ReportBody {
        switch kind {
        case .transactions:
            // Statuses as at the month's end; for the current month, as now (this second included).
            let asOf = month.isClosed(now: now) ? month.end : now + 1
            return TransactionReport(database: database, store: store, scope: scope, month: month, zone: zone, asOf: asOf)
        case .accounts:
            return AccountStatementReport(database: database, store: store, scope: scope, month: month, zone: zone, closingAt: min(month.end, now))
        }
    }

    /// How long after a month's end its checksum waits: a write that read the clock just before
    /// midnight may commit just after it, and the checksum must cover the month's final bytes.
    static let settleSeconds: Int64 = 300

    // MARK: - checksums

    static let checksumKind = "reports.checksum"

    /// Enqueues the checksum job for the environment, at most once per quarter hour per process.
    func askForChecksums(_ scope: MoneyScope, zone: String) throws {
        guard let jobs else { return }
        let key = "\(scope.organizationID) \(scope.environment.rawValue) \(zone)"
        let now = clock.now()
        let fresh = asked.withLock { asked -> Bool in
            if let at = asked[key], now - at < 900 { return false }
            asked[key] = now
            return true
        }
        guard fresh else { return }
        try database.write { db in
            _ = try jobs.enqueue(Self.checksumKind, payload: "\(scope.organizationID) \(scope.environment.rawValue)", on: db)
        }
    }

    static let sweepKind = "reports.sweep"

    /// Makes sure the daily sweep is queued (at start-up; it then queues its own next run).
    func scheduleSweep() throws {
        guard jobs != nil else { return }
        let now = clock.now()
        try database.write { _ = try JobQueue.enqueueUnlessQueued(Self.sweepKind, payload: "", runAt: now, now: now, on: $0) }
    }

    /// The daily sweep: asks for the checksums of every environment holding money, so a closed
    /// month gets its checksum whether or not anyone opens the Reports page, and queues itself
    /// for shortly after the next UTC midnight's settling time. Returns how many it asked for.
    @discardableResult
    func sweep() throws -> Int {
        let now = clock.now()
        let next = (now / 86_400 + 1) * 86_400 + Self.settleSeconds + 60
        return try database.write { db in
            var asked = 0
            for scope in try store.environmentsWithMoney(on: db) {
                let payload = "\(scope.organizationID) \(scope.environment.rawValue)"
                if try JobQueue.enqueueUnlessQueued(Self.checksumKind, payload: payload, now: now, on: db) != nil { asked += 1 }
            }
            try JobQueue.enqueueUnlessQueued(Self.sweepKind, payload: "", runAt: next, now: now, on: db)
            return asked
        }
    }

    /// The job: for each closed month with activity and no checksum yet (in the organization's
    /// zone now), makes each file with the same producer the download uses, hashing the bytes
    /// as they come (constant memory), and stores the SHA-256 with the row and byte counts.
    /// Returns how many checksums it stored.
    @discardableResult
    func computeChecksums(organizationID: Int64, environment: Environment) throws -> Int {
        guard let org = try database.read({ try store.organization(id: organizationID, on: $0) }), org.isActive,
              environment == .sandbox || org.hasProduction else { return 0 }
        let scope = MoneyScope(organizationID: organizationID, environment: environment)
        let zone = PageTime.timeZone(org.timeZone)
        let now = clock.now()
        let (earliest, stored) = try database.read { db in
            (try store.earliestActivity(scope, on: db), Set(try store.checksums(scope, timeZone: org.timeZone, on: db).map { "\($0.month) \($0.kind)" }))
        }
        guard let earliest else { return 0 }
        var saved = 0
        var month = ReportMonth(containing: earliest, zone: zone)
        while month.end + Self.settleSeconds <= now {
            // A month whose files are all summed already is passed over without reading it: the
            // daily sweep otherwise counted a year of rows again (~5 s of CPU on a million).
            let due = ReportKind.allCases.filter { !stored.contains("\(month.key) \($0.rawValue)") }
            if due.isEmpty {
                month = month.next(zone: zone)
                continue
            }
            let active = try database.read { db -> Bool in
                if try store.transactionCount(scope, from: month.start, to: month.end, on: db) > 0 { return true }
                return try store.accounts(scope, openedBefore: month.end, on: db).contains {
                    try store.ledgerCount(accountID: $0.id, from: month.start, to: month.end, on: db) > 0
                }
            }
            for kind in due where active {
                let producer = producer(kind, scope: scope, month: month, zone: zone, now: now)
                let digest = StreamingDigest(.sha256)
                var bytes = 0
                while let chunk = try producer.nextChunk() {
                    digest.update(chunk)
                    bytes += chunk.count
                }
                let sum = ReportChecksum(month: month.key, kind: kind.rawValue, rowCount: producer.rows, byteCount: bytes,
                                         sha256: Hex.encode(digest.finish()), computedAt: clock.now())
                try database.write { db in
                    // `report.ready`: the month's file can be fetched and checked against its checksum.
                    if try store.saveChecksum(scope, timeZone: org.timeZone, sum, on: db) {
                        try Events(clock: clock).record("report.ready", objectID: "\(month.key)-\(kind.rawValue)", data: ReportReadyJSON(sum),
                                                        organizationID: organizationID, environment: environment, on: db)
                    }
                }
                saved += 1
            }
            month = month.next(zone: zone)
        }
        return saved
    }
}

/// `report.ready`'s object: a closed month's report and its checksum.
struct ReportReadyJSON: Encodable {
    let object = "report"
    let month: String
    let kind: String
    let rows: Int
    let bytes: Int
    let sha256: String
    let computed_at: String

    init(_ c: ReportChecksum) {
        month = c.month
        kind = c.kind
        rows = c.rowCount
        bytes = c.byteCount
        sha256 = c.sha256
        computed_at = PageTime.iso8601(c.computedAt)
    }
}
