import Database
import Foundation
import Jobs
import Synchronization
import Web

/// What features use to send mail: renders a mail from templates and queues it — an `outbox`
/// row and its `mail.send` job (see ``MailDelivery``) — **through the caller's connection**,
/// so that the mail is queued if and only if the caller's transaction commits (a sign-up
/// that rolls back sends nothing).
///
/// ```swift
/// try database.write { conn in
///     let userID = try store.createUser(…, on: conn)
///     try mailer.enqueue(template: "verify_email", to: email, subject: "Confirm your e-mail address",
///                        context: ["name": name, "link": mailer.url(path: "/verify-email?token=\(token)")],
///                        on: conn)
/// }
/// ```
///
/// A template `name` is two files under `Templates/mail/`: `<name>.text.mustache` (required,
/// rendered without HTML escaping: it starts with `{{% CONTENT_TYPE: TEXT}}`) and
/// `<name>.html.mustache` (optional, HTML-escaped; without it the mail is text only).
/// Links in mails must be absolute: build them with ``url(path:)``.
///
/// After queueing, the ``JobWorker`` given at init is nudged, and ``onEnqueue`` called
/// (use either). Inside `Database.write` the nudge comes before the commit, but the worker's
/// claim is itself a write and so waits for the commit; in any case the worker's poll finds
/// the job.
public final class Mailer: Sendable {
    public let templates: Templates
    /// Scheme, host, port and optional path prefix, without a trailing slash:
    /// `http://127.0.0.1:8080`.
    public let baseURL: String
    /// The From header: `Portal <no-reply@example.com>` or a bare address.
    public let from: String
    private let sender: Sender
    private let jobs: JobWorker?
    private let enqueueHook = Mutex<(@Sendable () -> Void)?>(nil)

    /// Called after each mail is queued (for example `{ jobs.notify() }`), when the
    /// ``JobWorker`` is made after the mailer. Must be quick and must not throw.
    public var onEnqueue: (@Sendable () -> Void)? {
        get { enqueueHook.withLock { $0 } }
        set { enqueueHook.withLock { $0 = newValue } }
    }

    /// Throws ``MailError`` if `baseURL` is not an absolute http(s) URL without query or
    /// fragment, or `from` is not a valid sender.
    public init(templates: Templates, baseURL: String, from: String, jobs: JobWorker? = nil) throws {
        var base = baseURL
        while base.hasSuffix("/") { base.removeLast() }
        let lower = base.lowercased()
        guard lower.hasPrefix("http://") || lower.hasPrefix("https://") else {
            throw MailError.invalidBaseURL("must start with http:// or https://")
        }
        guard !base.unicodeScalars.contains(where: { $0.value <= 0x20 || $0.value >= 0x7F }),
              !base.contains("?"), !base.contains("#"), !base.contains("@"),
              base.split(separator: "/", omittingEmptySubsequences: false).count >= 3,
              !base.split(separator: "/", omittingEmptySubsequences: false)[2].isEmpty
        else {
            throw MailError.invalidBaseURL("expected scheme://host[:port][/prefix] in printable ASCII, without user, query or fragment")
        }
        self.templates = templates
        self.baseURL = base
        self.from = from
        self.sender = try Sender(from)
        self.jobs = jobs
    }

    /// An absolute URL for a path of the portal: `url(path: "/reset?token=x")` →
    /// `http://127.0.0.1:8080/reset?token=x`. The path is used as given (percent-encode
    /// what needs it).
    public func url(path: String) -> String {
        path.hasPrefix("/") ? baseURL + path : baseURL + "/" + path
    }

    /// Renders `mail/<name>.text` and, if it exists, `mail/<name>.html` into a mail, and
    /// validates it. Throws ``MailError`` (bad address or subject, missing text template).
    public func render(template name: String, to: String, subject: String, context: [String: Any]) throws -> OutgoingMail {
        let textName = "mail/\(name).text", htmlName = "mail/\(name).html"
        guard templates.contains(textName) else { throw MailError.templateNotFound(textName) }
        let text = Self.tidyText(try templates.renderString(page: textName, context: context, request: nil, layout: nil))
        // The blank lines that the documentation comments at the top leave are dropped.
        let html = try templates.contains(htmlName)
            ? String(templates.renderString(page: htmlName, context: context, request: nil, layout: nil).drop { $0.isWhitespace })
            : nil
        let mail = OutgoingMail(to: to, subject: subject, text: text, html: html)
        try mail.validate()
        return mail
    }

    /// Renders the `name` templates (see ``render(template:to:subject:context:)``) and queues
    /// the mail on `conn`; returns the outbox row's id. Call inside the transaction of the
    /// change the mail is about.
    @discardableResult
    public func enqueue(template name: String, to: String, subject: String, context: [String: Any], on conn: Connection) throws -> Int64 {
        try enqueue(render(template: name, to: to, subject: subject, context: context), on: conn)
    }

    /// Validates `mail` and queues it on `conn`: the outbox row and its `mail.send` job;
    /// returns the outbox row's id. The Message-ID and Date are fixed now, so every attempt
    /// sends the same message.
    @discardableResult
    public func enqueue(_ mail: OutgoingMail, on conn: Connection) throws -> Int64 {
        var mail = mail
        mail.messageID = nil // the outbox makes its own, below
        try mail.validate()
        guard !mail.text.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty else { throw MailError.invalidMessage("the text body is empty") }
        let now = Int64(Date().timeIntervalSince1970.rounded(.down))
        let messageID = "<\(now).\(MIMEMessage.randomHex(bytes: 12))@\(sender.domain)>"
        let id = try OutboxStore.insert(mail, sender: from, messageID: messageID, now: now, on: conn)
        try JobQueue.enqueue(MailDelivery.kind, payload: String(id), now: now, on: conn)
        jobs?.notify()
        enqueueHook.withLock { $0 }?()
        return id
    }

    /// Text as rendered, without the blank lines that standalone tags at the top leave, with
    /// trailing spaces removed and one final line end.
    static func tidyText(_ text: String) -> String {
        // "\r\n" is a single Character in Swift: normalise line ends before splitting.
        let normalized = text.replacingOccurrences(of: "\r\n", with: "\n").replacingOccurrences(of: "\r", with: "\n")
        var lines = normalized.split(separator: "\n", omittingEmptySubsequences: false).map { line in
            var l = line
            while let last = l.last, last == " " || last == "\t" || last == "\r" { l.removeLast() }
            return l
        }
        while let first = lines.first, first.isEmpty { lines.removeFirst() }
        while let last = lines.last, last.isEmpty { lines.removeLast() }
        return lines.joined(separator: "\n") + "\n"
    }
}
