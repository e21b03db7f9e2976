import Synchronization

/// The dashboard's money part (balances, search form, chart, statistics, recent transactions)
/// kept rendered, under the money version it was read at (`transaction_stats_versions`, bumped
/// by SQLite triggers on every change to an account, a transaction or the rollup, whichever
/// process writes — migrations 0023 and 0024). A view reads the version and the
/// getting-started steps (a few indexed rows) and reuses the HTML while the version holds, so
/// with a million transactions a dashboard view costs about what `/account` costs; any change
/// to the money makes the next view read and render afresh, so nothing shown is older than the
/// snapshot that view read.
///
/// The key holds everything the part depends on besides the data: who may see what (the rows
/// link only for `transactions.read`, statistics only for `statistics.read`), the viewer's
/// time zone (days and times), and the chart window's first hour (it moves at midnight).
final class DashboardFragments: Sendable {
    struct Key: Hashable, Sendable {
        let organizationID: Int64
        let environment: Environment
        let zone: String
        let canRead: Bool
        let canStatistics: Bool
        let fromHour: Int64

        init(_ env: EnvAccess, fromHour: Int64) {
            organizationID = env.org.id
            environment = env.environment
            zone = env.user.timeZone
            canRead = env.can(.transactionsRead)
            canStatistics = env.can(.statisticsRead)
            self.fromHour = fromHour
        }
    }

    /// Parts kept at most (~80 KB each with eight currencies' charts): beyond it the cache starts
    /// again, so memory stays bounded whatever the number of organizations in view.
    static let limit = 200

    /// The whole page inside the layout (the shell with the getting-started steps around the
    /// money part): besides the part's key, it depends on which steps are done and on the
    /// organization's name and Production date, all read by every view anyway.
    struct PageKey: Hashable, Sendable {
        let part: Key
        let stepsDone: [Bool]
        /// Which steps this member may do (linked) or only read about (who can).
        let stepsAllowed: [Bool]
        let orgName: String
        let productionEnabledAt: Int64?

        init(_ part: Key, _ env: EnvAccess, stepsDone: [Bool]) {
            self.part = part
            self.stepsDone = stepsDone
            stepsAllowed = GettingStarted.steps.map { $0.mayDo(env) }
            orgName = env.org.displayName
            productionEnabledAt = env.org.productionEnabledAt
        }
    }

    private let parts = Kept<Key>()
    private let pages = Kept<PageKey>()

    func page(_ key: PageKey, version: Int64) -> String? { pages.html(key, version: version) }
    func keep(_ key: PageKey, version: Int64, html: String) { pages.keep(key, version: version, html: html) }
    func html(_ key: Key, version: Int64) -> String? { parts.html(key, version: version) }
    func keep(_ key: Key, version: Int64, html: String) { parts.keep(key, version: version, html: html) }

    /// HTML kept under a key and the money version it was made at; at most ``limit`` keys.
    final class Kept<K: Hashable & Sendable>: Sendable {
        private let entries = Mutex<[K: (version: Int64, html: String)]>([:])

        func html(_ key: K, version: Int64) -> String? {
            entries.withLock { e in e[key].flatMap { $0.version == version ? $0.html : nil } }
        }

        func keep(_ key: K, version: Int64, html: String) {
            entries.withLock { e in
                if e.count >= DashboardFragments.limit && e[key] == nil { e.removeAll(keepingCapacity: true) }
                e[key] = (version, html)
            }
        }
    }
}
