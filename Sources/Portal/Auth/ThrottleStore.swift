import Database

/// The SQL for throttle counters, and nothing else.
struct ThrottleStore {
    func state(_ key: String, on db: Connection) throws -> Throttle.State? {
        try db.queryOne("SELECT failures, last_failure_at, first_failure_at, locked_until FROM throttles WHERE key = ?", key).map {
            Throttle.State(failures: try $0.int(0), lastFailureAt: try $0.int64(1), firstFailureAt: try $0.int64(2), lockedUntil: try $0.optionalInt64(3))
        }
    }

    /// Writes the key's count; `fresh` starts a new window at `now`.
    func save(_ key: String, failures: Int, now: Int64, lockedUntil: Int64?, fresh: Bool, on db: Connection) throws {
        try db.execute(
            """
            INSERT INTO throttles (key, failures, first_failure_at, last_failure_at, locked_until) VALUES (?, ?, ?, ?, ?)
            ON CONFLICT(key) DO UPDATE SET failures = excluded.failures, last_failure_at = excluded.last_failure_at,
                locked_until = excluded.locked_until,
                first_failure_at = CASE WHEN ? THEN excluded.first_failure_at ELSE first_failure_at END
            """, key, failures, now, now, lockedUntil, fresh)
    }

    func refund(_ key: String, on db: Connection) throws {
        try db.execute("UPDATE throttles SET failures = max(failures - 1, 0) WHERE key = ?", key)
    }

    func clear(_ key: String, on db: Connection) throws {
        try db.execute("DELETE FROM throttles WHERE key = ?", key)
    }

    /// A row with no failures whose `last_failure_at` is `now` (a requester's wait starts).
    func stamp(_ key: String, now: Int64, on db: Connection) throws {
        try db.execute(
            """
            INSERT INTO throttles (key, failures, first_failure_at, last_failure_at, locked_until) VALUES (?, 0, ?, ?, NULL)
            ON CONFLICT(key) DO UPDATE SET last_failure_at = excluded.last_failure_at
            """, key, now, now)
    }
}
