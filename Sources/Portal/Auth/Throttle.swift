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

/// Account-wide slowing down, never locking (OWASP: lock-outs let anyone who knows an address
/// shut its owner out; slow down instead).
///
/// Failures against an account are counted whichever network they come from. From the
/// `freeFailures`-th on, every requester (a network, for this account) must wait
/// `2^(n - free)` seconds, capped at `maxDelay`, between its attempts, and before its first:
/// a network that was not trying this account starts waiting when it first asks. The wait is
/// measured from the requester's own clock, not from the last failure anyone caused, so an
/// attacker hammering from other networks cannot starve the owner: the owner waits at most
/// `maxDelay`, then their attempt is checked like any other.
///
/// Requesters are answered "try again in N seconds" at once rather than held: a worker
/// sleeping through the delay would let a few hundred parallel guesses park every worker
/// (and an idle connection costs no thread only while nobody sleeps on it). The state is
/// two throttle rows, so it survives a restart and a second instance sees it.
struct Slowdown: Sendable {
    var freeFailures = 10
    var maxDelay: Int64 = 60
    /// Failures older than this are forgotten.
    var window: Int64 = 60 * 60

    /// Counts the account's failures; it never locks.
    private var counter: Throttle { Throttle(freeFailures: freeFailures, lockAfter: .max, maxDelay: maxDelay, window: window) }

    /// The wait every requester owes between attempts on this account now (0: none).
    func delay(account: String, now: Int64, on db: Connection) throws -> Int64 {
        guard let s = try counter.state(account, on: db), now - s.lastFailureAt < window, s.failures >= freeFailures else { return 0 }
        return min(maxDelay, Int64(1) << min(62, s.failures - freeFailures + 1))
    }

    /// Seconds `requester` must still wait before an attempt on `account`, or nil if it may
    /// go ahead. A requester that had no running wait starts one now.
    func check(account: String, requester: String, now: Int64, on db: Connection) throws -> Int64? {
        let delay = try delay(account: account, now: now, on: db)
        guard delay > 0 else { return nil }
        if let since = try counter.state(requester, on: db)?.lastFailureAt, now - since < window {
            return now - since >= delay ? nil : delay - (now - since)
        }
        try stamp(requester, now: now, on: db)
        return delay
    }

    /// An attempt goes ahead: the account counts it as a failure until it proves right, and
    /// the requester's next attempt waits from now.
    func claim(account: String, requester: String, now: Int64, on db: Connection) throws {
        try counter.fail([account], now: now, on: db)
        try stamp(requester, now: now, on: db)
    }

    /// The attempt was right: the account is no longer slowed.
    func succeeded(account: String, requester: String, on db: Connection) throws {
        try counter.clear(account, on: db)
        try counter.clear(requester, on: db)
    }

    /// The attempt could not be checked (the hasher was busy): it does not count.
    func refund(account: String, on db: Connection) throws {
        try counter.refund(account, on: db)
    }

    /// The requester's wait starts (or starts again) now: a row with no failures whose
    /// `last_failure_at` is the start.
    private func stamp(_ requester: String, now: Int64, on db: Connection) throws {
        try ThrottleStore().stamp(requester, now: now, on: db)
    }
}
