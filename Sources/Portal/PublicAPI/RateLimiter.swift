import Foundation
import Synchronization

/// Token buckets per credential, in memory: a request costs no database write (the limit is
/// about protecting the server's time, and a restart forgetting a second of history is
/// harmless). Each bucket holds up to `burst` tokens and refills at `rate` per second; a
/// request takes one, and an empty bucket is a 429.
final class RateLimiter: Sendable {
    struct Policy: Sendable {
        var rate: Double
        var burst: Double
    }

    /// What one request got: the headers every `/v1` response carries.
    struct Decision: Sendable {
        let allowed: Bool
        /// `RateLimit-Limit`: the bucket's size.
        let limit: Int
        /// `RateLimit-Remaining`: whole requests left right now.
        let remaining: Int
        /// `RateLimit-Reset`: seconds until the bucket is full again.
        let reset: Int
        /// `Retry-After` when refused: seconds until one token is back.
        let retryAfter: Int
    }

    private struct Bucket {
        var tokens: Double
        var updated: ContinuousClock.Instant
    }

    let policy: Policy
    private let buckets = Mutex<(all: [String: Bucket], swept: ContinuousClock.Instant)>(([:], .now))
    /// Past this many buckets, the full ones (idle callers) are dropped: they are the same as
    /// a new bucket.
    private let sweepAbove = 10_000

    init(policy: Policy) {
        self.policy = policy
    }

    func take(_ key: String, now: ContinuousClock.Instant = .now) -> Decision {
        let p = policy
        return buckets.withLock { state in
            // At most once a second, so many callers at once do not make every request a sweep.
            if state.all.count > sweepAbove && now - state.swept > .seconds(1) {
                state.all = state.all.filter { Self.refilled($0.value, now: now, p) < p.burst }
                state.swept = now
            }
            var b = state.all[key] ?? Bucket(tokens: p.burst, updated: now)
            b.tokens = Self.refilled(b, now: now, p)
            b.updated = now
            let allowed = b.tokens >= 1
            if allowed { b.tokens -= 1 }
            state.all[key] = b
            let reset = p.rate > 0 ? Int(((p.burst - b.tokens) / p.rate).rounded(.up)) : 0
            let retry = allowed ? 0 : max(1, p.rate > 0 ? Int(((1 - b.tokens) / p.rate).rounded(.up)) : 1)
            return Decision(allowed: allowed, limit: Int(p.burst), remaining: max(0, Int(b.tokens.rounded(.down))), reset: reset, retryAfter: retry)
        }
    }

    private static func refilled(_ b: Bucket, now: ContinuousClock.Instant, _ p: Policy) -> Double {
        let elapsed = now - b.updated
        let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
        return min(p.burst, b.tokens + max(0, seconds) * p.rate)
    }
}
