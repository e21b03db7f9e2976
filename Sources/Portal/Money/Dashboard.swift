import Database
import Foundation

/// What an environment's pages read: the dashboard (every active member), the transactions
/// list and a transaction's page (`transactions.read`). Each page is one read transaction
/// of a handful of indexed queries: balances are the accounts' running columns, the chart
/// and the statistics come from the hourly rollup, lists walk `transactions_by_time`.
final class Dashboard: Sendable {
    let database: Database
    let clock: PortalClock
    let transactions: Transactions
    let organizations: Organizations
    let store = TransactionListStore()
    let cache = RollupCache()
    /// The dashboard's money part, rendered, under the version the data was read at.
    let fragments = DashboardFragments()

    static let recentCount = 25
    static let pageSize = 25

    init(transactions: Transactions, organizations: Organizations) {
        self.database = transactions.database
        self.clock = transactions.clock
        self.transactions = transactions
        self.organizations = organizations
    }

    // MARK: - the dashboard

    struct StatusTotal: Sendable {
        let status: TransactionStatus
        let count: Int64
        /// Per currency, in the accounts' order.
        let amounts: [Amount]
    }

    /// The totals by status and the failure rate of the last 30 days (`statistics.read`).
    struct Statistics: Sendable {
        let totals: [StatusTotal]
        let failed: Int64
        let finished: Int64
        /// Failed ÷ (paid + failed), nil before anything finished.
        var failureRate: Double? { finished > 0 ? Double(failed) / Double(finished) : nil }
    }

    struct StepState: Sendable {
        let step: GettingStartedStep
        let done: Bool
    }

    struct Overview: Sendable {
        let accounts: [MoneyAccountRecord]
        let recent: [TransactionSummary]
        let charts: [VolumeChart]
        /// Each chart drawn, with its table.
        let figures: [String]
        let statistics: Statistics?
        /// Empty once every step is done.
        let steps: [StepState]
        /// The money version (`transaction_stats_versions`) in the snapshot all of this was read from.
        let version: Int64
    }

    /// What a dashboard view reads when its money part is already rendered: the money version
    /// and the getting-started steps (empty once all are done), in one snapshot.
    func glance(_ env: EnvAccess) throws -> (version: Int64, steps: [StepState]) {
        try database.read { db in
            try db.transaction(.deferred) {
                let version = try store.statsVersion(env.scope, on: db)
                return (version, try steps(env, recentIsEmpty: nil, on: db))
            }
        }
    }

    private func steps(_ env: EnvAccess, recentIsEmpty: Bool?, on db: Connection) throws -> [StepState] {
        // The Sandbox's own recent list answers the first step when it was read and has rows.
        let context = GettingStarted.Context(env: env, organizations: organizations, sandboxHasTransactions: { [store] db in
            if env.environment == .sandbox && recentIsEmpty == false { return true }
            return try store.hasTransactions(MoneyScope(organizationID: env.org.id, environment: .sandbox), on: db)
        })
        let states = try GettingStarted.steps.map { StepState(step: $0, done: try $0.isDone(context, db)) }
        return states.allSatisfy(\.done) ? [] : states
    }

    func overview(_ env: EnvAccess) throws -> Overview {
        let scope = env.scope
        let now = clock.now()
        let window = VolumeChart.window(now: now, zone: env.user.timeZone)
        return try database.read { db in
            try db.transaction(.deferred) {
                let accounts = try transactions.accounts(scope, on: db)
                let recent = try store.recent(scope, limit: Self.recentCount, on: db)
                let currencies = accounts.map(\.currency.code)
                let rollup = try self.rollup(env, window: window, currencies: currencies, on: db)
                var statistics: Statistics?
                if env.can(.statisticsRead) {
                    let totals = TransactionStatus.allCases.map { status in
                        let mine = rollup.byStatus.filter { $0.status == status.rawValue }
                        return StatusTotal(status: status, count: mine.reduce(0) { $0 + $1.count },
                                           amounts: accounts.map { a in
                                               Amount(minor: mine.filter { $0.currency == a.currency.code }.reduce(0) { $0 + $1.amount }, currency: a.currency)
                                           })
                    }
                    let count = { (s: TransactionStatus) in totals.first { $0.status == s }?.count ?? 0 }
                    statistics = Statistics(totals: totals, failed: count(.failed), finished: count(.failed) + count(.paid))
                }
                return Overview(accounts: accounts, recent: recent, charts: rollup.charts, figures: rollup.figures, statistics: statistics,
                                steps: try steps(env, recentIsEmpty: recent.isEmpty, on: db), version: rollup.version)
            }
        }
    }

    /// The window's numbers per currency (day and status), from the cache when the rollup has
    /// not changed since they were read, else read (one primary-key range per currency) and kept.
    private func rollup(_ env: EnvAccess, window: VolumeChart.Window, currencies: [String], on db: Connection) throws -> RollupCache.Entry {
        let scope = env.scope
        let key = RollupCache.Key(organizationID: scope.organizationID, environment: scope.environment, zone: env.user.timeZone,
                                  fromHour: window.fromHour, currencies: currencies)
        let version = try store.statsVersion(scope, on: db)
        if let hit = cache.entry(key, version: version) { return hit }
        var charts = currencies.compactMap(Currency.init(code:)).map { VolumeChart(currency: $0, days: window.days) }
        let index = Dictionary(uniqueKeysWithValues: window.days.enumerated().map { ($1.number, $0) })
        var byStatus: [String: (currency: String, status: String, count: Int64, amount: Int64)] = [:]
        for row in try store.daily(scope, currencies: currencies, fromHour: window.fromHour, spans: window.spans, on: db) {
            guard let c = currencies.firstIndex(of: row.currency), let d = index[row.day] else { continue }
            charts[c].days[d].count += row.count
            charts[c].days[d].amount += row.amount
            let k = row.currency + " " + row.status
            let before = byStatus[k] ?? (row.currency, row.status, 0, 0)
            byStatus[k] = (row.currency, row.status, before.count + row.count, before.amount + row.amount)
        }
        let entry = RollupCache.Entry(version: version, charts: charts,
                                      figures: charts.map { $0.figure(id: Self.chartID($0), tableURL: Self.volumePath(env)) },
                                      byStatus: Array(byStatus.values))
        cache.keep(key, entry)
        return entry
    }

    /// The anchor of a currency's chart and table (`chart-eur`).
    static func chartID(_ chart: VolumeChart) -> String { "chart-\(chart.currency.code.lowercased())" }
    /// The volume page: every chart's numbers as tables.
    static func volumePath(_ env: EnvAccess) -> String { EnvHeader(env: env).base + "/volume" }

    /// The last 30 days per currency for the volume page: the dashboard's numbers (and its
    /// cache), read in one snapshot.
    func volume(_ env: EnvAccess) throws -> [VolumeChart] {
        let window = VolumeChart.window(now: clock.now(), zone: env.user.timeZone)
        return try database.read { db in
            try db.transaction(.deferred) {
                let currencies = try transactions.accounts(env.scope, on: db).map(\.currency.code)
                return try rollup(env, window: window, currencies: currencies, on: db).charts
            }
        }
    }

    // MARK: - the list

    struct ListPage: Sendable {
        /// How many rows the page handed over.
        let count: Int
        let resolved: TransactionSearch.Resolved
        /// Cursors of the neighbouring pages, when there are rows beyond.
        let next: String?
        let previous: String?
    }

    /// A page of the list: its rows handed to `row` newest first while the read holds them (a
    /// page is written straight from the statement; no record is made of a row), and what is
    /// around them.
    func list(_ env: EnvAccess, search: TransactionSearch, row: (MoneyStore.SummaryRow) throws -> Void) throws -> ListPage {
        try env.require(.transactionsRead)
        var resolved = search.resolve(zone: env.user.timeZone)
        let scope = env.scope
        return try database.read { db in
            try db.transaction(.deferred) {
                if let externalID = resolved.externalID {
                    // An index lookup: at most one row, the other filters checked on it.
                    var count = 0
                    try store.forEachSummary(externalID: externalID, scope, resolved.query, on: db) { try row($0); count += 1 }
                    return ListPage(count: count, resolved: resolved, next: nil, previous: nil)
                }
                var count = 0, more = false
                var first: TransactionListStore.Key?, last: TransactionListStore.Key?
                func read() throws {
                    // Downwards one row more than a page: the extra row says there are older ones.
                    let limit = resolved.after == nil ? Self.pageSize + 1 : Self.pageSize
                    try store.forEachSummary(scope, resolved.query, before: resolved.before, after: resolved.after, limit: limit, on: db) { r in
                        guard count < Self.pageSize else { more = true; return }
                        let key = TransactionListStore.Key(createdAt: r.createdAt, id: r.id)
                        try row(r)
                        count += 1
                        if first == nil { first = key }
                        last = key
                    }
                }
                try read()
                if count == 0 && (resolved.before != nil || resolved.after != nil) {
                    // A cursor past either end (a stale link): the first page, said so.
                    resolved.errors["page"] = "That page is past the end of the list, so it starts again from the newest transactions."
                    resolved.before = nil
                    resolved.after = nil
                    try read()
                }
                var hasOlder = more, hasNewer = false
                if resolved.after != nil, let last {
                    hasOlder = try store.exists(scope, resolved.query, beyond: last, newer: false, on: db)
                }
                if resolved.before != nil || resolved.after != nil, let first {
                    hasNewer = try store.exists(scope, resolved.query, beyond: first, newer: true, on: db)
                }
                return ListPage(count: count, resolved: resolved, next: hasOlder ? last.map(TransactionSearch.cursor) : nil,
                                previous: hasNewer ? first.map(TransactionSearch.cursor) : nil)
            }
        }
    }

    // MARK: - a transaction

    struct Detail: Sendable {
        let transaction: TransactionRecord
        let history: [StatusChange]
        let cancellations: [CancellationRecord]
        let payout: (publicID: String, status: String)?

        var openCancellation: CancellationRecord? { cancellations.first(where: \.isOpen) }
    }

    /// The transaction of this environment (another organization's id or environment's: the
    /// same ``TransactionProblem/notFound``).
    func transaction(_ env: EnvAccess, publicID: String) throws -> Detail {
        try env.require(.transactionsRead)
        return try database.read { db in
            try db.transaction(.deferred) {
                guard let t = try transactions.find(publicID, in: env.scope, on: db) else { throw TransactionProblem.notFound }
                return Detail(transaction: t, history: try transactions.history(t, on: db),
                              cancellations: try store.cancellations(transactionID: t.id, on: db),
                              payout: try t.payoutID.flatMap { try store.payout(id: $0, on: db) })
            }
        }
    }
}
