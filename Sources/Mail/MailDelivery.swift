import Database
import Dispatch
import Foundation
import Logging
import Synchronization

/// The outbox's delivery worker: a dedicated thread that sends the mails that are due and
/// records the outcome in the `outbox` table.
///
/// Each mail is handled in three steps, so that no network call ever runs inside a write
/// transaction and no mail can be lost:
/// 1. **claim** (one `Database.write`): take the oldest due row, count the attempt and push
///    its next attempt a lease (10 min) ahead, so that another worker leaves it alone;
/// 2. **send** through the ``MailTransport``, outside any transaction;
/// 3. **record** (one `Database.write`): `sent_at`, or a short `last_error` and the next
///    attempt after an exponential backoff (30 s, 1 min, 2 min, … at most 1 h). Once a mail
///    has been failing for 48 hours since it was queued, `failed_at` is set instead; the
///    row is kept either way.
///
/// If the process dies between 1 and 3, the row simply becomes due again when the lease
/// ends and is sent again: a duplicate is possible after a crash, a loss is not. (The
/// Message-ID is the same on every attempt, so a mail client can tell.) A restart needs no
/// recovery step: the new worker delivers whatever is due.
///
/// The thread wakes when ``notify()`` is called (``Mailer`` does after queueing) and every
/// `pollInterval` (5 s). It never runs on the HTTP event loop or Swift's cooperative pool.
/// ``deliverDue(now:)`` does one round synchronously, for tests and tools.
///
/// The lease must outlast a send: keep it well above the transport's own timeout (SMTP:
/// 70 s at most).
public final class MailDelivery: Sendable {
    /// When to try again after a failure, and when to give up.
    public struct RetryPolicy: Sendable, Equatable {
        /// The wait after the first failed attempt; it doubles after each further failure.
        public var firstDelay: Duration
        public var maximumDelay: Duration
        /// A mail still failing this long after it was queued is marked failed.
        public var giveUpAfter: Duration

        public init(firstDelay: Duration = .seconds(30), maximumDelay: Duration = .seconds(3600), giveUpAfter: Duration = .seconds(48 * 3600)) {
            self.firstDelay = firstDelay
            self.maximumDelay = maximumDelay
            self.giveUpAfter = giveUpAfter
        }

        public static let `default` = RetryPolicy()

        /// Seconds to wait after `attempts` failed attempts (1 → `firstDelay`).
        public func delay(afterAttempts attempts: Int) -> Int64 {
            let first = max(1, firstDelay.components.seconds)
            let maximum = max(first, maximumDelay.components.seconds)
            let doublings = min(max(attempts - 1, 0), 40)
            let (delay, overflow) = first.multipliedReportingOverflow(by: Int64(1) << doublings)
            return overflow ? maximum : min(delay, maximum)
        }
    }

    public let database: Database
    public let transport: any MailTransport
    public let retry: RetryPolicy
    public let pollInterval: Duration
    /// The most mails one round (one ``deliverDue(now:)``) takes.
    public let batchSize: Int
    /// How long a claimed mail is reserved for the worker sending it.
    public let claimLease: Duration
    private let logger: Logger

    private let wake = DispatchSemaphore(value: 0)
    private let wakePending = Atomic<Bool>(false)
    private let current = Mutex<Run?>(nil)

    /// One start…stop of the thread.
    private final class Run: Sendable {
        let stopping = Atomic<Bool>(false)
        let finished = DispatchSemaphore(value: 0)
    }

    public init(
        database: Database, transport: any MailTransport, logger: Logger = Logger(label: "portal.mail"),
        retry: RetryPolicy = .default, pollInterval: Duration = .seconds(5), batchSize: Int = 20,
        claimLease: Duration = .seconds(600)
    ) {
        self.database = database
        self.transport = transport
        self.logger = logger
        self.retry = retry
        self.pollInterval = pollInterval
        self.batchSize = max(1, batchSize)
        self.claimLease = claimLease
    }

    // MARK: - The thread

    /// Starts the delivery thread (does nothing if it is running). Mails already due,
    /// for example left by a previous run, go out at once.
    public func start() {
        let run: Run? = current.withLock { current in
            guard current == nil else { return nil }
            let run = Run()
            current = run
            return run
        }
        guard let run else { return }
        logger.info("mail delivery started", metadata: ["transport": "\(transport)"])
        let thread = Thread { [self] in
            loop(run)
            run.finished.signal()
        }
        thread.name = "mail-delivery"
        thread.start()
    }

    /// Stops the thread: it finishes the mail it is sending, if any, and exits. Waits at
    /// most `timeout`; returns `false` if the thread was still busy then (its mail is then
    /// recorded when the send ends, or sent again after the lease if the process exits).
    @discardableResult
    public func stop(timeout: Duration = .seconds(30)) -> Bool {
        guard let run = current.withLock({ current in defer { current = nil }; return current }) else { return true }
        run.stopping.store(true, ordering: .relaxed)
        wake.signal()
        let ms = Int(timeout.components.seconds) * 1000 + Int(timeout.components.attoseconds / 1_000_000_000_000_000)
        let stopped = run.finished.wait(timeout: .now() + .milliseconds(ms)) == .success
        if stopped {
            logger.info("mail delivery stopped")
        } else {
            logger.warning("mail delivery still sending at shutdown; the mail will be sent again after its lease if it is not recorded")
        }
        return stopped
    }

    /// Wakes the thread to look for due mails now instead of at the next poll.
    public func notify() {
        if !wakePending.exchange(true, ordering: .acquiringAndReleasing) {
            wake.signal()
        }
    }

    private func loop(_ run: Run) {
        while !run.stopping.load(ordering: .relaxed) {
            wakePending.store(false, ordering: .releasing)
            do {
                var claimed = batchSize
                while claimed == batchSize && !run.stopping.load(ordering: .relaxed) {
                    claimed = try deliver(now: Date(), shouldContinue: { !run.stopping.load(ordering: .relaxed) }).claimed
                }
            } catch {
                logger.error("mail delivery failed to read or update the outbox", metadata: ["error": "\(error)"])
            }
            if run.stopping.load(ordering: .relaxed) { break }
            let ms = Int(pollInterval.components.seconds) * 1000 + Int(pollInterval.components.attoseconds / 1_000_000_000_000_000)
            _ = wake.wait(timeout: .now() + .milliseconds(max(ms, 10)))
        }
    }

    // MARK: - One round

    /// Delivers the mails due at `now` (at most `batchSize`), one after the other, and
    /// returns how many were sent. Throws only database errors; a failed send is recorded
    /// and retried later. Must not be called inside `Database.write`.
    @discardableResult
    public func deliverDue(now: Date = Date()) throws -> Int {
        try deliver(now: now, shouldContinue: { true }).sent
    }

    /// The round: `now` is the clock at its start, advanced by the real time spent sending.
    func deliver(now: Date, shouldContinue: () -> Bool) throws -> (claimed: Int, sent: Int) {
        let start = ContinuousClock.now
        let base = Int64(now.timeIntervalSince1970.rounded(.down))
        func clock() -> Int64 { base + (ContinuousClock.now - start).components.seconds }
        let lease = max(1, claimLease.components.seconds)
        var claimed = 0, sent = 0
        while claimed < batchSize && shouldContinue() {
            let time = clock()
            guard let mail = try database.write({ try OutboxStore.claimNext(now: time, lease: lease, on: $0) }) else { break }
            claimed += 1
            if try attempt(mail, clock: clock) { sent += 1 }
        }
        return (claimed, sent)
    }

    /// Sends one claimed mail and records the outcome; true when it was sent.
    private func attempt(_ claimed: OutboxStore.Claimed, clock: () -> Int64) throws -> Bool {
        let outcome = Result<Void, any Error> { try transport.send(claimed.mail, from: claimed.sender) }
        let time = clock()
        switch outcome {
        case .success:
            try database.write { try OutboxStore.markSent(id: claimed.id, at: time, on: $0) }
            logger.info("mail sent", metadata: ["outbox_id": "\(claimed.id)", "attempt": "\(claimed.attempts)"])
            return true
        case .failure(let error):
            let message = Self.shortError(error)
            if time - claimed.createdAt >= retry.giveUpAfter.components.seconds {
                try database.write {
                    try OutboxStore.markFailed(id: claimed.id, attempts: claimed.attempts, at: time, error: message, on: $0)
                }
                logger.error("mail given up", metadata: [
                    "outbox_id": "\(claimed.id)", "attempts": "\(claimed.attempts)", "error": "\(message)",
                ])
            } else {
                let delay = retry.delay(afterAttempts: claimed.attempts)
                try database.write {
                    try OutboxStore.reschedule(
                        id: claimed.id, attempts: claimed.attempts, nextAttempt: time + delay, error: message, on: $0)
                }
                logger.warning("mail not sent, will retry", metadata: [
                    "outbox_id": "\(claimed.id)", "attempt": "\(claimed.attempts)", "retry_in_s": "\(delay)", "error": "\(message)",
                ])
            }
            return false
        }
    }

    /// The error as one line of at most 300 characters, for `outbox.last_error`.
    static func shortError(_ error: any Error) -> String {
        let text = String(String(describing: error).map { $0.isNewline || ($0.asciiValue.map { $0 < 0x20 } ?? false) ? " " : $0 })
        return text.count > 300 ? String(text.prefix(299)) + "…" : text
    }
}
