import Database

/// Failed-attempt throttling for passwords and codes, kept in SQLite so a restart does not
/// reset it.
///
/// Each key (an account or an IP, per kind of attempt) counts failures within a window.
/// From the `freeFailures`-th failure on, the next attempt must wait `2^(n - free)` seconds
/// (capped); at `lockAfter` failures the key is locked for `lockSeconds`. A success clears
/// the account's key. Attempts refused by the throttle are not checked at all, so a locked
/// account cannot be probed.
struct Throttle: Sendable {
    var freeFailures = 5
    var lockAfter = 20
    var lockSeconds: Int64 = 15 * 60
    var maxDelay: Int64 = 60
    /// Failures older than this are forgotten.
    var window: Int64 = 60 * 60

    enum Verdict: Equatable {
        case allowed
        case wait(seconds: Int64)
        case locked(seconds: Int64)
    }

    struct State { let failures: Int; let lastFailureAt: Int64; let firstFailureAt: Int64; let lockedUntil: Int64? }

    func state(_ key: String, on db: Connection) throws -> State? {
        try db.queryOne("SELECT failures, last_failure_at, first_failure_at, locked_until FROM throttles WHERE key = ?", key).map {
            State(failures: try $0.int(0), lastFailureAt: try $0.int64(1), firstFailureAt: try $0.int64(2), lockedUntil: try $0.optionalInt64(3))
        }
    }

    /// May an attempt for these keys go ahead now? The strictest key decides.
    func check(_ keys: [String], now: Int64, on db: Connection) throws -> Verdict {
        var worst = Verdict.allowed
        for key in keys {
            guard let s = try state(key, on: db), now - s.lastFailureAt < window || (s.lockedUntil ?? 0) > now else { continue }
            let v: Verdict
            if let until = s.lockedUntil, until > now {
                v = .locked(seconds: until - now)
            } else if s.failures >= freeFailures {
                let delay = min(maxDelay, Int64(1) << min(62, s.failures - freeFailures + 1))
                let ready = s.lastFailureAt + delay
                v = ready > now ? .wait(seconds: ready - now) : .allowed
            } else {
                v = .allowed
            }
            worst = stricter(worst, v)
        }
        return worst
    }

    /// Counts a failure against each key; returns true when this failure locked one.
    @discardableResult
    func fail(_ keys: [String], now: Int64, on db: Connection) throws -> Bool {
        var locked = false
        for key in keys {
            let s = try state(key, on: db)
            let fresh = s == nil || now - s!.lastFailureAt >= window
            let failures = fresh ? 1 : s!.failures + 1
            let lockUntil: Int64? = failures >= lockAfter && failures % lockAfter == 0 ? now + lockSeconds : (fresh ? nil : s!.lockedUntil)
            if failures >= lockAfter && failures % lockAfter == 0 { locked = true }
            try db.execute(
                """
                INSERT INTO throttles (key, failures, first_failure_at, last_failure_at, locked_until) VALUES (?, ?, ?, ?, ?)
                ON CONFLICT(key) DO UPDATE SET failures = excluded.failures, last_failure_at = excluded.last_failure_at,
                    locked_until = excluded.locked_until,
                    first_failure_at = CASE WHEN ? THEN excluded.first_failure_at ELSE first_failure_at END
                """, key, failures, now, now, lockUntil, fresh)
        }
        return locked
    }

    /// Takes back one counted failure (an attempt claimed up front that turned out right).
    func refund(_ key: String, on db: Connection) throws {
        try db.execute("UPDATE throttles SET failures = max(failures - 1, 0) WHERE key = ?", key)
    }

    func clear(_ key: String, on db: Connection) throws {
        try db.execute("DELETE FROM throttles WHERE key = ?", key)
    }

    private func stricter(_ a: Verdict, _ b: Verdict) -> Verdict {
        func rank(_ v: Verdict) -> (Int, Int64) {
            switch v {
            case .allowed: return (0, 0)
            case .wait(let s): return (1, s)
            case .locked(let s): return (2, s)
            }
        }
        return rank(b) > rank(a) ? b : a
    }
}
