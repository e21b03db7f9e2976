import Database
import Synchronization

/// Credentials found by their SHA-256 (API keys, OAuth access tokens, session cookies) and
/// what they open (a member's access to an organization), remembered for at most a second
/// and only while no write of this process has ended since they were read
/// (``Database/writesEnded``): a revocation, a roll, a sign-out, an expiry written by a job or
/// a closed organization takes effect on the next request, and a change by another process
/// (the CLI) within the second. Lookups that find nothing are never remembered, so guesses
/// cannot fill the memory; at `capacity` entries the whole map is dropped. Callers still check
/// what depends on the time (an expiry, an idle timeout) on every use.
final class VerifiedCredentials<Key: Hashable & Sendable, Record: Sendable>: Sendable {
    private struct Entry: Sendable {
        let record: Record
        let writes: UInt64
        let until: ContinuousClock.Instant
    }

    private let entries = Mutex<[Key: Entry]>([:])
    private let database: Database
    private let capacity: Int

    init(database: Database, capacity: Int = 10_000) {
        self.database = database
        self.capacity = capacity
    }

    /// The record for `key`: remembered, or `read` (nil: not found, not remembered).
    func record(_ key: Key, read: () throws -> Record?) rethrows -> Record? {
        let writes = database.writesEnded
        let now = ContinuousClock.now
        if let hit = entries.withLock({ $0[key] }), hit.writes == writes, hit.until > now { return hit.record }
        guard let record = try read() else { return nil }
        entries.withLock { map in
            if map.count >= capacity { map.removeAll(keepingCapacity: true) }
            map[key] = Entry(record: record, writes: writes, until: now.advanced(by: .seconds(1)))
        }
        return record
    }
}
