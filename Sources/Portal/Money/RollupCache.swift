import Synchronization

/// What the dashboard read from the hourly rollup, kept in memory under the rollup's version
/// (`transaction_stats_versions`, bumped by SQLite on every change to `transaction_stats`, in
/// the change's own transaction, whichever process writes). A view whose version, window,
/// zone and currencies are those of the entry reuses its numbers and drawings; any change
/// makes a new version, so what is shown is never older than the snapshot the page reads.
final class RollupCache: Sendable {
    struct Key: Hashable, Sendable {
        let organizationID: Int64
        let environment: Environment
        let zone: String
        /// The window's first hour: it moves at the viewer's midnight.
        let fromHour: Int64
        let currencies: [String]
    }

    struct Entry: Sendable {
        let version: Int64
        let charts: [VolumeChart]
        /// Each chart's figure, drawn once.
        let figures: [String]
        /// Per currency and status over the window, for the statistics.
        let byStatus: [(currency: String, status: String, count: Int64, amount: Int64)]
    }

    /// Entries kept at most (each holds its figures, ~8 KB per currency); beyond it the cache
    /// starts again: a portal with this many dashboards in view at once re-reads a month of
    /// hours per view, nothing worse.
    static let limit = 500

    private let entries = Mutex<[Key: Entry]>([:])

    func entry(_ key: Key, version: Int64) -> Entry? {
        entries.withLock { e in e[key].flatMap { $0.version == version ? $0 : nil } }
    }

    func keep(_ key: Key, _ entry: Entry) {
        entries.withLock { e in
            if e.count >= Self.limit && e[key] == nil { e.removeAll(keepingCapacity: true) }
            e[key] = entry
        }
    }
}
