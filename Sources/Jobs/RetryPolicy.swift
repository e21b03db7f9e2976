/// When to try a job again after a temporary failure, and when to give up. Each kind of job
/// registers its own.
///
/// Two shapes: exponential (`firstDelay`, doubling, at most `maximumDelay`; mail's 30 s, 1 min,
/// 2 min … 1 h), or an explicit `schedule` of waits (webhooks publish theirs, e.g. 5 s, 5 min,
/// 30 min, 2 h…), after which the job is given up. Either way a job still failing
/// `giveUpAfter` after it was enqueued is given up at its next failure.
public struct RetryPolicy: Sendable, Equatable {
    /// The wait after the first failed attempt; it doubles after each further failure.
    public var firstDelay: Duration
    public var maximumDelay: Duration
    /// A job still failing this long after it was enqueued is marked failed.
    public var giveUpAfter: Duration
    /// Explicit waits after failure 1, 2, …; when set, a failure past its end gives up.
    public var schedule: [Duration]?

    public init(firstDelay: Duration = .seconds(30), maximumDelay: Duration = .seconds(3600), giveUpAfter: Duration = .seconds(48 * 3600)) {
        self.firstDelay = firstDelay
        self.maximumDelay = maximumDelay
        self.giveUpAfter = giveUpAfter
        self.schedule = nil
    }

    /// Waits of `schedule[0]` after the first failure, `schedule[1]` after the second…; the
    /// failure after the last wait gives up, as does one after `giveUpAfter`.
    public init(schedule: [Duration], giveUpAfter: Duration) {
        self.firstDelay = schedule.first ?? .zero
        self.maximumDelay = schedule.max() ?? .zero
        self.giveUpAfter = giveUpAfter
        self.schedule = schedule
    }

    /// 30 s, doubling, at most 1 h; given up after 48 h.
    public static let `default` = RetryPolicy()

    /// No retry: the first failure of any kind ends the job.
    public static let never = RetryPolicy(schedule: [], giveUpAfter: .zero)

    /// Seconds to wait after `attempts` failed attempts (1 → the first wait), or `nil` when
    /// the schedule is exhausted.
    public func delay(afterAttempts attempts: Int) -> Int64? {
        if let schedule {
            let index = max(attempts, 1) - 1
            return index < schedule.count ? max(1, schedule[index].components.seconds) : nil
        }
        let first = max(1, firstDelay.components.seconds)
        let maximum = max(first, maximumDelay.components.seconds)
        let doublings = min(max(attempts - 1, 0), 40)
        let (delay, overflow) = first.multipliedReportingOverflow(by: Int64(1) << doublings)
        return overflow ? maximum : min(delay, maximum)
    }

    /// What to do after failed attempt number `attempts` of a job created at `createdAt`,
    /// failing at `now`: the time of the next attempt, or `nil` to give up.
    func nextAttempt(afterAttempts attempts: Int, createdAt: Int64, now: Int64) -> Int64? {
        guard now - createdAt < giveUpAfter.components.seconds, let delay = delay(afterAttempts: attempts) else { return nil }
        return now + delay
    }
}
