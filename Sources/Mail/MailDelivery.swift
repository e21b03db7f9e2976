import Database
import Foundation
import Jobs
import Logging

/// Sending the outbox: the handler of `mail.send` jobs, run by a ``JobWorker``.
///
/// ``Mailer`` writes each mail as an `outbox` row plus a `mail.send` job whose payload is
/// the row's id, in the caller's transaction. The worker claims the job, this handler reads
/// the row and hands it to the ``MailTransport`` (outside any transaction), and the worker
/// records the outcome on the job: done; or retried after 30 s, 1 min, 2 min, … at most 1 h;
/// or failed once a mail has been failing for 48 hours since it was queued. A refusal that
/// retrying cannot change — an SMTP 5xx reply, a mail that no longer validates — fails it at
/// once, with the server's answer as the job's `last_error`. The outbox row is kept either way.
///
/// A worker that dies mid-send leaves the job to be taken again after its 10-minute lease:
/// a duplicate is possible after a crash, a loss is not (the Message-ID is the same on every
/// attempt, so a mail client can tell). The lease must outlast a send: keep it well above the
/// transport's own timeout (SMTP: 70 s at most).
///
/// ```swift
/// let jobs = JobWorker(database: database, logger: logger)
/// MailDelivery.register(on: jobs, transport: transport, logger: logger)
/// mailer.onEnqueue = { jobs.notify() }
/// jobs.start()
/// ```
public struct MailDelivery: JobHandler {
    /// The job kind; the payload is the outbox id in decimal.
    public static let kind = "mail.send"
    /// 30 s, doubling, at most 1 h; given up 48 h after queueing.
    public static let retry = RetryPolicy(firstDelay: .seconds(30), maximumDelay: .seconds(3600), giveUpAfter: .seconds(48 * 3600))
    public static let lease: Duration = .seconds(600)

    public let database: Database
    public let transport: any MailTransport

    public init(database: Database, transport: any MailTransport) {
        self.database = database
        self.transport = transport
    }

    /// Registers mail sending on `worker` (reading the outbox from the worker's database).
    public static func register(on worker: JobWorker, transport: any MailTransport, logger: Logger? = nil) {
        worker.register(kind: kind, retry: retry, lease: lease, handler: MailDelivery(database: worker.database, transport: transport))
        (logger ?? Logger(label: "portal.mail")).info("mail delivery registered", metadata: ["transport": "\(transport)"])
    }

    public func run(_ job: Job) throws {
        guard let id = Int64(job.payload) else { throw JobError.permanent("malformed mail job payload") }
        guard let queued = try database.read({ try OutboxStore.load(id: id, on: $0) }) else {
            throw JobError.permanent("outbox row \(id) does not exist")
        }
        do {
            try transport.send(queued.mail, from: queued.sender)
        } catch let error as SMTPTransport.Error where error.isPermanent {
            throw JobError.permanent(error.description)
        } catch let error as MailError {
            // The stored mail does not validate: it never will.
            throw JobError.permanent(error.description)
        }
    }

    public func report(_ outcome: JobOutcome, of job: Job, logger: Logger) {
        let metadata: Logger.Metadata = ["outbox_id": "\(job.payload)", "job_id": "\(job.id)", "attempt": "\(job.attempt)"]
        switch outcome {
        case .done:
            logger.info("mail sent", metadata: metadata)
        case .willRetry(let at, let error):
            logger.warning("mail not sent, will retry", metadata: metadata.merging(["retry_at": "\(at)", "error": "\(error)"]) { $1 })
        case .failed(let error, let permanent):
            logger.error(permanent ? "mail refused, not retried" : "mail given up", metadata: metadata.merging(["error": "\(error)"]) { $1 })
        }
    }
}
