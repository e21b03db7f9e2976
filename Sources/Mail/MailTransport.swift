import Logging

/// Something that hands a mail over for delivery: a blocking call that returns once the mail
/// was accepted, or throws.
///
/// ``MailDelivery`` calls it on a job worker's thread, outside any database transaction, for
/// one mail at a time. A transport must be safe to call from several threads (the worker
/// runs a few jobs at once), and its `description` is what start-up logs show, so it must
/// never contain a secret. Errors it throws are stored in the job's `last_error`
/// (shortened), so their descriptions must not contain credentials either.
public protocol MailTransport: Sendable, CustomStringConvertible {
    /// Sends `mail` from `from` (`Portal <no-reply@example.com>` or a bare address).
    func send(_ mail: OutgoingMail, from: String) throws
}

/// The development transport: it does not send anything but writes each mail to the log
/// at `info` level (sender, recipient, subject and the whole plain-text body), so that a
/// developer running `make run` without a mail server can follow the links in the mails.
///
/// **Development only.** Mails carry one-time tokens (e-mail confirmation, password reset),
/// and this transport puts them in the log on purpose: it is the one place where a secret
/// link reaches the log. Configure ``SMTPTransport`` in any shared or production setting.
public struct LogTransport: MailTransport {
    private let logger: Logger

    public init(logger: Logger) {
        self.logger = logger
    }

    public func send(_ mail: OutgoingMail, from: String) throws {
        try mail.validate()
        logger.info("mail not sent (LogTransport, development only)", metadata: [
            "from": "\(from)",
            "to": "\(mail.to)",
            "subject": "\(mail.subject)",
            "text": "\(mail.text)",
            "html": "\(mail.html == nil ? "no" : "yes")",
        ])
    }

    public var description: String { "log (development: mails are written to the log, not sent)" }
}
