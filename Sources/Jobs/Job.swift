import Foundation
import Logging

/// One attempt at a job, as a handler sees it.
public struct Job: Sendable, Hashable {
    public let id: Int64
    /// The registered kind that chose the handler, e.g. `mail.send`.
    public let kind: String
    /// What the enqueuer wrote: an id of the row the job is about, or JSON.
    public let payload: String
    /// This attempt's number: 1 the first time.
    public let attempt: Int
    /// When the job was enqueued (Unix seconds); the retry deadline counts from here.
    public let createdAt: Int64

    public init(id: Int64, kind: String, payload: String, attempt: Int, createdAt: Int64) {
        self.id = id
        self.kind = kind
        self.payload = payload
        self.attempt = attempt
        self.createdAt = createdAt
    }
}

/// Throw this from a handler when trying again cannot help (an SMTP 5xx, a row that no
/// longer exists, a payload that does not parse): the job is marked failed at once. Any
/// other error is temporary and the job is tried again on its kind's ``RetryPolicy``.
public enum JobError: Error, Sendable, Equatable, CustomStringConvertible {
    case permanent(String)

    public var description: String {
        switch self {
        case .permanent(let why): why
        }
    }
}

/// What became of one attempt, once recorded.
public enum JobOutcome: Sendable, Equatable {
    case done
    /// A temporary failure; the next attempt is due at `at` (Unix seconds).
    case willRetry(at: Int64, error: String)
    /// Given up: `permanent` when the handler said so, otherwise the deadline had passed.
    case failed(error: String, permanent: Bool)
}

/// The code that does one kind of job. It runs on a worker thread, outside any database
/// transaction (it may take its own), one attempt at a time per job.
///
/// - Return normally when the job is done.
/// - Throw ``JobError/permanent(_:)`` when retrying cannot help; throw anything else to be
///   tried again later. Error descriptions are stored in `jobs.last_error` and logged, so
///   they must not contain secrets.
/// - A job can run more than once (its worker died after doing it, before recording it):
///   make handlers idempotent or tolerant of a duplicate.
/// - It must finish well within its kind's lease, or another worker may start it too.
public protocol JobHandler: Sendable {
    func run(_ job: Job) throws

    /// Called after each attempt's outcome was recorded, to log it in the kind's own words.
    /// The default logs one generic line.
    func report(_ outcome: JobOutcome, of job: Job, logger: Logger)
}

extension JobHandler {
    public func report(_ outcome: JobOutcome, of job: Job, logger: Logger) {
        let metadata: Logger.Metadata = ["job_id": "\(job.id)", "kind": "\(job.kind)", "attempt": "\(job.attempt)"]
        switch outcome {
        case .done:
            logger.info("job done", metadata: metadata)
        case .willRetry(let at, let error):
            logger.warning("job failed, will retry", metadata: metadata.merging(["retry_at": "\(at)", "error": "\(error)"]) { $1 })
        case .failed(let error, let permanent):
            logger.error("job given up", metadata: metadata.merging(["permanent": "\(permanent)", "error": "\(error)"]) { $1 })
        }
    }
}

/// A handler made of a closure, for ``JobWorker/register(kind:retry:lease:run:)``.
struct ClosureHandler: JobHandler {
    let body: @Sendable (Job) throws -> Void
    func run(_ job: Job) throws { try body(job) }
}

/// Where the worker reads the time: UTC Unix seconds. Tests pass their own to move time
/// on (leases, backoff, deadlines) without sleeping.
public struct JobClock: Sendable {
    public let now: @Sendable () -> Int64
    public init(_ now: @escaping @Sendable () -> Int64) { self.now = now }
    public static let system = JobClock { Int64(Date().timeIntervalSince1970.rounded(.down)) }
}
