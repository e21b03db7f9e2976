import Database
import Foundation
import Logging
import Synchronization

/// The durable job worker: a few dedicated threads that claim due jobs from the `jobs` table,
/// run each kind's registered ``JobHandler``, and record the outcome. It knows nothing of
/// what a job does.
///
/// Each job is handled in three steps, so that no handler ever runs inside a write
/// transaction and no job can be lost:
/// 1. **claim** (one `Database.write`): take the oldest due job of a registered kind, count
///    the attempt, and lease it to this worker for the kind's `lease`;
/// 2. **run** the handler, outside any transaction;
/// 3. **record** (one `Database.write`): done; or, after a temporary failure, the next
///    attempt on the kind's ``RetryPolicy``; or failed (a ``JobError/permanent(_:)``, or
///    still failing at the policy's deadline). Rows are kept either way.
///
/// If the process dies between 1 and 3, the job is taken again once its lease has passed:
/// a job may run twice after a crash, it is never lost. A restart needs no recovery step:
/// the new worker runs whatever is due. All state is in the table, so several workers (or
/// several processes on one database) can share it.
///
/// At most `concurrency` jobs run at once, one per thread. Threads wake when ``notify()``
/// is called (``enqueue(_:payload:runAt:on:)`` does) and every `pollInterval`. They never
/// run on the HTTP event loop or Swift's cooperative pool. ``runDue(now:limit:)`` does one
/// round on the calling thread, for tests and tools.
///
/// A feature adds a kind of job in two places:
/// ```swift
/// // App/ (the composition root), before start():
/// jobs.register(kind: "webhook.deliver", retry: RetryPolicy(schedule: [.seconds(5), .seconds(300)], giveUpAfter: .seconds(86400)),
///               lease: .seconds(120), handler: WebhookDelivery(database: database))
/// // The service, in the transaction of the change that causes the job:
/// try database.write { conn in
///     let eventID = try store.insertEvent(…, on: conn)
///     try jobs.enqueue("webhook.deliver", payload: String(eventID), on: conn)
/// }
/// ```
public final class JobWorker: Sendable {
    public let database: Database
    /// Names the worker in logs (`"<name> started"`) and its threads.
    public let name: String
    /// Identifies this worker's leases in `jobs.lease_owner`: host, process and a random part.
    public let owner: String
    public let concurrency: Int
    public let pollInterval: Duration
    public let clock: JobClock
    private let logger: Logger

    private struct Registration: Sendable {
        let retry: RetryPolicy
        let lease: Int64
        let handler: any JobHandler
    }

    private let registrations = Mutex<[String: Registration]>([:])
    private let wakeups = Wakeups()
    private let current = Mutex<Run?>(nil)

    /// One start…stop of the threads.
    private final class Run: Sendable {
        let stopping = Atomic<Bool>(false)
        let finished = DispatchSemaphore(value: 0)
        /// Set by a `stop()` that gave up waiting. Held while a thread claims or records, so
        /// once `stop()` has set it no thread of this run touches the database again (the
        /// owner may close it).
        let abandoned = Mutex<Bool>(false)
        var isStopping: Bool { stopping.load(ordering: .relaxed) }

        /// Runs `body` (a claim or a record) unless the run was abandoned; nil if it was.
        func unlessAbandoned<T>(_ body: () throws -> T) throws -> T? {
            try abandoned.withLock { abandoned -> T? in abandoned ? nil : try body() }
        }
    }

    /// The `nice` value the worker's threads run at (0: the process's own). Background work
    /// at a higher value takes only the CPU that requests leave, so a month's report over a
    /// million rows does not slow the pages and API calls served meanwhile.
    public let niceness: Int32

    public init(
        database: Database, name: String = "job worker", concurrency: Int = 2, pollInterval: Duration = .seconds(5),
        niceness: Int32 = 0, clock: JobClock = .system, logger: Logger = Logger(label: "portal.jobs")
    ) {
        self.database = database
        self.name = name
        self.niceness = niceness
        self.concurrency = max(1, concurrency)
        self.pollInterval = pollInterval
        self.clock = clock
        self.logger = logger
        var host = [CChar](repeating: 0, count: 256)
        let hostName = gethostname(&host, host.count) == 0 ? String(cString: host) : "host"
        var random = SystemRandomNumberGenerator()
        owner = "\(hostName):\(getpid()):\(String(random.next() as UInt32, radix: 16))"
    }

    // MARK: - Handlers and enqueueing

    /// Registers the handler of `kind` (replacing any earlier one). `lease` is how long a
    /// claimed job is reserved for the worker running it: keep it well above the longest
    /// run the handler can take (its network timeouts included).
    public func register(kind: String, retry: RetryPolicy = .default, lease: Duration = .seconds(600), handler: some JobHandler) {
        precondition(!kind.isEmpty, "a job kind needs a name")
        let registration = Registration(retry: retry, lease: max(1, lease.components.seconds), handler: handler)
        registrations.withLock { $0[kind] = registration }
    }

    /// Registers a closure as the handler of `kind`; see ``JobHandler`` for its contract.
    public func register(kind: String, retry: RetryPolicy = .default, lease: Duration = .seconds(600), run: @escaping @Sendable (Job) throws -> Void) {
        register(kind: kind, retry: retry, lease: lease, handler: ClosureHandler(body: run))
    }

    /// The kinds this worker runs.
    public var kinds: [String] { registrations.withLock { $0.keys.sorted() } }

    /// ``JobQueue/enqueue(_:payload:runAt:now:on:)`` at this worker's clock, then ``notify()``.
    /// Inside `Database.write` the nudge comes before the commit, but a claim is itself a
    /// write and so waits for the commit; the poll would find the job anyway.
    @discardableResult
    public func enqueue(_ kind: String, payload: String, runAt: Int64? = nil, on conn: Connection) throws -> Int64 {
        let id = try JobQueue.enqueue(kind, payload: payload, runAt: runAt, now: clock.now(), on: conn)
        notify()
        return id
    }

    /// Wakes the threads to look for due jobs now instead of at the next poll.
    public func notify() {
        wakeups.signal()
    }

    // MARK: - The threads

    /// Starts the threads (does nothing if they are running). Jobs already due, for example
    /// left by a previous run, are taken at once.
    public func start() {
        let run: Run? = current.withLock { current in
            guard current == nil else { return nil }
            let run = Run()
            current = run
            return run
        }
        guard let run else { return }
        logger.info("\(name) started", metadata: ["kinds": "\(kinds.joined(separator: ","))", "concurrency": "\(concurrency)"])
        for index in 0..<concurrency {
            let thread = Thread { [self] in
                // Named from inside: on Linux only the running thread can name itself.
                Thread.current.name = "jobs-\(index + 1)"
                // On Linux `setpriority` with who = 0 sets the calling thread's value only.
                if niceness != 0 { _ = setpriority(__priority_which_t(PRIO_PROCESS.rawValue), 0, niceness) }
                loop(run)
                run.finished.signal()
            }
            thread.start()
        }
    }

    /// Stops the threads: each finishes the job it is running, if any, records it and exits.
    /// Waits at most `timeout`; returns `false` if a job was still running then. That job is
    /// abandoned: when its handler returns, the outcome is not recorded (the job keeps its
    /// lease and runs again after it, as after a crash), and from the return of `stop` on
    /// no thread of this worker touches the database, so the caller may close it. (The
    /// handler's own database work, if it does any after that, finds it closed and fails.)
    @discardableResult
    public func stop(timeout: Duration = .seconds(30)) -> Bool {
        guard let run = current.withLock({ current in defer { current = nil }; return current }) else { return true }
        run.stopping.store(true, ordering: .relaxed)
        wakeups.signal()
        let deadline = DispatchTime.now() + .milliseconds(Self.milliseconds(timeout))
        var stopped = true
        for _ in 0..<concurrency where run.finished.wait(timeout: deadline) != .success {
            stopped = false
            break
        }
        if stopped {
            logger.info("\(name) stopped")
        } else {
            // Waits for a claim or record in progress (one short write), never for a handler.
            run.abandoned.withLock { $0 = true }
            logger.warning("\(name) still running a job at shutdown: abandoned, it runs again after its lease")
        }
        return stopped
    }

    private func loop(_ run: Run) {
        while !run.isStopping {
            let seen = wakeups.generation
            do {
                while !run.isStopping, try runNext(now: clock.now, run: run) != nil {}
            } catch {
                logger.error("\(name) failed to read or update the jobs table", metadata: ["error": "\(error)"])
            }
            if run.isStopping { break }
            wakeups.wait(unlessChangedFrom: seen, timeout: pollInterval) { run.isStopping }
        }
    }

    // MARK: - One job, one round

    /// Runs the jobs due at `now` (Unix seconds; default: the clock), one after the other,
    /// at most `limit`, and returns how many were done. `now` advances with the real time
    /// spent running. Throws only database errors; a failed job is recorded and retried
    /// later. Must not be called inside `Database.write`.
    @discardableResult
    public func runDue(now: Int64? = nil, limit: Int = 100) throws -> Int {
        let base = now ?? clock.now()
        let start = ContinuousClock.now
        let time: () -> Int64 = { base + (ContinuousClock.now - start).components.seconds }
        var done = 0
        for _ in 0..<max(0, limit) {
            guard let outcome = try runNext(now: time) else { break }
            if outcome == .done { done += 1 }
        }
        return done
    }

    /// Claims, runs and records one due job; `nil` when none is due, or when `run` (the
    /// threads' run; nil for ``runDue(now:limit:)``) was abandoned by `stop()`.
    private func runNext(now: () -> Int64, run: Run? = nil) throws -> JobOutcome? {
        let registry = registrations.withLock { $0 }
        // The claim and the record go through the run's lock: neither starts once `stop()`
        // has abandoned the run and its caller may have closed the database.
        func guarded<T>(_ body: () throws -> T?) throws -> T? {
            guard let run else { return try body() }
            return try run.unlessAbandoned(body) ?? nil
        }
        guard let job = try guarded({
            try database.write { conn in
                try JobStore.claim(kinds: registry.keys.sorted(), owner: owner, now: now(), lease: { registry[$0]?.lease ?? 600 }, on: conn)
            }
        }) else { return nil }
        guard let registration = registry[job.kind] else { return nil } // cannot happen: only registered kinds are claimed
        let result = Result<Void, any Error> { try registration.handler.run(job) }
        let time = now()
        let recorded: JobOutcome? = try guarded {
            switch result {
            case .success:
                try database.write { try JobStore.markDone(id: job.id, at: time, on: $0) }
                return .done
            case .failure(let error):
                let message = Self.shortError(error)
                let permanent = error is JobError
                if !permanent, let next = registration.retry.nextAttempt(afterAttempts: job.attempt, createdAt: job.createdAt, now: time) {
                    try database.write { try JobStore.reschedule(id: job.id, attempts: job.attempt, runAt: next, error: message, on: $0) }
                    return .willRetry(at: next, error: message)
                } else {
                    try database.write { try JobStore.markFailed(id: job.id, attempts: job.attempt, at: time, error: message, on: $0) }
                    return .failed(error: message, permanent: permanent)
                }
            }
        }
        guard let outcome = recorded else {
            logger.info("job abandoned at shutdown, not recorded; it runs again after its lease",
                        metadata: ["job_id": "\(job.id)", "kind": "\(job.kind)", "attempt": "\(job.attempt)"])
            return nil
        }
        registration.handler.report(outcome, of: job, logger: logger)
        return outcome
    }

    /// The error as one line of at most 300 characters, for `jobs.last_error`.
    static func shortError(_ error: any Error) -> String {
        let text = String(String(describing: error).map { $0.isNewline || ($0.asciiValue.map { $0 < 0x20 } ?? false) ? " " : $0 })
        return text.count > 300 ? String(text.prefix(299)) + "…" : text
    }

    static func milliseconds(_ d: Duration) -> Int {
        max(0, Int(d.components.seconds) * 1000 + Int(d.components.attoseconds / 1_000_000_000_000_000))
    }
}

/// A wake-up counter the threads sleep on: ``signal()`` bumps it and wakes them all, and a
/// thread that read the counter before its round does not sleep if it moved meanwhile, so
/// no nudge is lost between a round and the wait.
private final class Wakeups: @unchecked Sendable {
    // NSCondition guards `count`; every access is under it.
    private let condition = NSCondition()
    private var count: UInt64 = 0

    var generation: UInt64 {
        condition.lock()
        defer { condition.unlock() }
        return count
    }

    func signal() {
        condition.lock()
        count &+= 1
        condition.broadcast()
        condition.unlock()
    }

    func wait(unlessChangedFrom seen: UInt64, timeout: Duration, stopping: () -> Bool) {
        let deadline = Date().addingTimeInterval(max(0.01, Double(JobWorker.milliseconds(timeout)) / 1000))
        condition.lock()
        defer { condition.unlock() }
        while count == seen && !stopping() {
            if !condition.wait(until: deadline) { return }
        }
    }
}
