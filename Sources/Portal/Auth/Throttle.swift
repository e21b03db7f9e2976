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
        try ThrottleStore().state(key, on: db)
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
            try ThrottleStore().save(key, failures: failures, now: now, lockedUntil: lockUntil, fresh: fresh, on: db)
        }
        return locked
    }

    /// Takes back one counted failure (an attempt claimed up front that turned out right).
    func refund(_ key: String, on db: Connection) throws {
        try ThrottleStore().refund(key, on: db)
    }

    func clear(_ key: String, on db: Connection) throws {
        try ThrottleStore().clear(key, on: db)
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
