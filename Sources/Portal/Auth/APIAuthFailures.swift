import Foundation
import Synchronization

/// A budget of failed credential attempts per client address (a token bucket each, in
/// memory), apart from the per-credential request rate (``RateLimiter``).
///
/// Only failures are charged: a request whose credential works never comes here, so a real
/// caller is never slowed by guesses made from its own address, and the budget cannot be
/// used to lock anyone out. Past the budget, a failure still gets the one
/// `invalid_credentials` 401, but late (``delay``, delivered by the event loop without
/// holding a worker: ``HTTP/HTTPResponse/deliverAfter``), so a flooding connection makes
/// about one attempt per delay instead of thousands a second.
///
/// An IPv6 client is counted by its /64 (one subscriber's network: rotating addresses inside
/// it would otherwise give a flood a fresh budget per address); IPv4, IPv4-mapped IPv6
/// included, by its address.
///
/// Sharded by address, so failures from different addresses rarely meet on a lock; the
/// buckets of one shard are swept (full ones dropped: same as new) when it grows large.
final class APIAuthFailures: Sendable {
    struct Policy: Sendable {
        /// Failures a second an address may make before its 401s are delayed…
        var rate: Double = 20
        /// …in bursts of this many.
        var burst: Double = 40
        /// How late a 401 past the budget is answered.
        var delay: Duration = .seconds(1)
    }

    /// What a failure costs its address.
    enum Verdict: Equatable, Sendable {
        /// Within the budget: answer at once.
        case allowed
        /// Over it: answer after ``Policy/delay``. `first` is true for the first failure of
        /// an episode (the bucket had tokens before), the one worth a log line.
        case delayed(first: Bool)
    }

    private struct Bucket {
        var tokens: Double
        var updated: UInt64 // monotonic nanoseconds
        var over: Bool
    }

    private final class Shard: Sendable {
        let state = Mutex<(buckets: [String: Bucket], swept: UInt64)>(([:], 0))
    }

    let policy: Policy
    private static let shardCount = 16
    private let shards: [Shard]
    /// Past this many buckets in a shard, the full ones are dropped (at most once a second).
    private let sweepAbove = 4096

    init(policy: Policy) {
        self.policy = policy
        shards = (0..<Self.shardCount).map { _ in Shard() }
    }

    /// Charges one failed attempt to `address` at `now` (monotonic nanoseconds).
    func charge(_ address: String, now: UInt64 = DispatchTime.now().uptimeNanoseconds) -> Verdict {
        let address = Self.budgetKey(address)
        let p = policy
        let shard = shards[Int(UInt(bitPattern: address.hashValue) % UInt(Self.shardCount))]
        return shard.state.withLock { state in
            if state.buckets.count > sweepAbove && now &- state.swept > 1_000_000_000 {
                state.buckets = state.buckets.filter { Self.refilled($0.value, now: now, p) < p.burst }
                state.swept = now
            }
            var b = state.buckets[address] ?? Bucket(tokens: p.burst, updated: now, over: false)
            b.tokens = Self.refilled(b, now: now, p)
            b.updated = now
            let verdict: Verdict
            if b.tokens >= 1 {
                b.tokens -= 1
                b.over = false
                verdict = .allowed
            } else {
                verdict = .delayed(first: !b.over)
                b.over = true
            }
            state.buckets[address] = b
            return verdict
        }
    }

    /// Whose budget a failure from `address` is charged to: `v4:a.b.c.d`, `v6:<first 64 bits>`,
    /// or the text itself when it is no address (a Unix socket, say).
    static func budgetKey(_ address: String) -> String {
        guard let (bytes, isIPv4) = CIDR.address(address) else { return address }
        if isIPv4 { return "v4:" + bytes[12...].map { String($0) }.joined(separator: ".") }
        return "v6:" + bytes[..<8].map { String($0, radix: 16) }.joined(separator: ":")
    }

    private static func refilled(_ b: Bucket, now: UInt64, _ p: Policy) -> Double {
        let seconds = now > b.updated ? Double(now - b.updated) / 1e9 : 0
        return min(p.burst, b.tokens + seconds * p.rate)
    }
}
