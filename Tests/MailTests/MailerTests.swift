import Database
import Foundation
import Testing
import Web
@testable import Mail

@Suite("Mailer: rendering and queueing")
struct MailerTests {
    struct Boom: Error {}

    @Test("A mail is queued if and only if the caller's transaction commits")
    func enqueueFollowsTheTransaction() throws {
        let db = try TestDatabase()
        let mailer = try Mailer(templates: try realTemplates(), baseURL: testBaseURL + "/", from: testSender)
        let link = mailer.url(path: "/verify-email?token=abc123&lang=en")
        let context: [String: Any] = ["name": "Zoë O'Brien <b>", "link": link]

        #expect(throws: Boom.self) {
            try db.database.write { conn in
                try mailer.enqueue(template: "verify_email", to: "zoe@example.com", subject: "Confirm your e-mail address", context: context, on: conn)
                throw Boom()
            }
        }
        #expect(try db.outboxCount() == 0)

        let before = unixSeconds(Date())
        let id = try db.database.write { conn in
            try mailer.enqueue(template: "verify_email", to: "zoe@example.com", subject: "Confirm your e-mail address", context: context, on: conn)
        }
        #expect(try db.outboxCount() == 1)
        let row = try #require(try db.row(id))
        #expect(row.recipient == "zoe@example.com")
        #expect(row.sender == testSender)
        #expect(row.subject == "Confirm your e-mail address")
        #expect(row.attempts == 0)
        #expect(row.sentAt == nil && row.failedAt == nil && row.lastError == nil)
        #expect(row.createdAt >= before && row.nextAttemptAt == row.createdAt)
        #expect(row.messageID.hasPrefix("<") && row.messageID.hasSuffix("@portal.test>"))

        // Plain text: the absolute link on a line of its own, nothing HTML-escaped.
        #expect(link == "http://127.0.0.1:8080/verify-email?token=abc123&lang=en")
        #expect(row.text.split(separator: "\n", omittingEmptySubsequences: false).filter { $0 == link }.count == 1)
        #expect(row.text.contains("Hello Zoë O'Brien <b>,"))
        for entity in ["&amp;", "&lt;", "&gt;", "&#39;", "&quot;"] { #expect(!row.text.contains(entity)) }
        #expect(!row.text.hasPrefix("\n") && row.text.hasSuffix("\n") && !row.text.contains("{{"))

        // HTML: escaped.
        let html = try #require(row.html)
        #expect(html.contains("Hello Zoë O&#39;Brien &lt;b&gt;,"))
        #expect(!html.contains("<b>"))
        #expect(html.contains("href=\"http://127.0.0.1:8080/verify-email?token=abc123&amp;lang=en\""))
        #expect(html.contains(">Confirm your e-mail address</h1>"))
    }

    static let badRecipients = [
        "alice@example.com\r\nBcc: eve@evil.test", "alice@example.com\n", "alice@example.com\r", "\nalice@example.com",
        "alice@example.com>\r\nRCPT TO:<eve@evil.test", "alice example@example.com", "alice@@example.com",
        "alice@example@com", "no-at-sign", "", "@example.com", "alice@", "alice@.example.com", "alice@exa_mple.com",
        ".alice@example.com", "al..ice@example.com", "<alice@example.com>", "Alice <alice@example.com>",
        "alice@example.com,eve@evil.test", "zoë@example.com", "alice@example.com\u{0}",
        String(repeating: "a", count: 65) + "@example.com", "a@" + String(repeating: "b", count: 250) + ".com",
    ]

    @Test("Recipients with line breaks or not exactly one @ are refused", arguments: badRecipients)
    func refusesBadRecipients(_ recipient: String) throws {
        let db = try TestDatabase()
        let mailer = try Mailer(templates: try realTemplates(), baseURL: testBaseURL, from: testSender)
        #expect(!MailAddress.isValid(recipient))
        let error = #expect(throws: MailError.self) {
            try db.database.write { conn in
                try mailer.enqueue(template: "verify_email", to: recipient, subject: "Hi", context: ["name": "A", "link": "http://x/"], on: conn)
            }
        }
        guard case .invalidRecipient = error else {
            Issue.record("expected invalidRecipient, got \(String(describing: error))")
            return
        }
        #expect(throws: MailError.self) {
            try db.database.write { conn in
                try mailer.enqueue(OutgoingMail(to: recipient, subject: "Hi", text: "Hello"), on: conn)
            }
        }
        #expect(try db.outboxCount() == 0)
    }

    @Test("Valid addresses pass", arguments: ["alice@example.com", "a.b+tag@mail.example.co.uk", "o'brien@example.ie", "x@localhost", "UPPER_case-1@Sub-Domain.Example"])
    func acceptsValidRecipients(_ recipient: String) {
        #expect(MailAddress.isValid(recipient))
    }

    static let badSubjects = [
        "Hello\r\nBcc: eve@evil.test", "Hello\nBcc: eve@evil.test", "Hello\rX: y", "Tab\there", "Nul\u{0}",
        "Line\u{2028}separator", "Next\u{85}line", "", String(repeating: "s", count: 251),
    ]

    @Test("Subjects with line breaks or control characters are refused", arguments: badSubjects)
    func refusesBadSubjects(_ subject: String) throws {
        let db = try TestDatabase()
        let mailer = try Mailer(templates: try realTemplates(), baseURL: testBaseURL, from: testSender)
        let error = #expect(throws: MailError.self) {
            try db.database.write { conn in
                try mailer.enqueue(template: "verify_email", to: "alice@example.com", subject: subject, context: ["name": "A", "link": "http://x/"], on: conn)
            }
        }
        guard case .invalidSubject = error else {
            Issue.record("expected invalidSubject, got \(String(describing: error))")
            return
        }
        #expect(throws: MailError.self) {
            try SMTPTransport(url: "smtp://127.0.0.1:9").send(OutgoingMail(to: "alice@example.com", subject: subject, text: "x"), from: testSender)
        }
        #expect(try db.outboxCount() == 0)
    }

    @Test("Without an HTML template the mail is text only; without a text template nothing is queued")
    func textOnlyAndMissingTemplates() throws {
        let db = try TestDatabase()
        let templates = try Templates(sources: [
            "mail/plain.text": "{{% CONTENT_TYPE: TEXT}}\nHi {{name}} & co\n{{link}}\n",
            "mail/htmlonly.html": "<p>{{name}}</p>",
        ])
        let mailer = try Mailer(templates: templates, baseURL: testBaseURL, from: "no-reply@portal.test")
        let id = try db.database.write { conn in
            try mailer.enqueue(template: "plain", to: "bob@example.com", subject: "Plain", context: ["name": "<Bob>", "link": mailer.url(path: "x")], on: conn)
        }
        let row = try #require(try db.row(id))
        #expect(row.html == nil)
        #expect(row.text == "Hi <Bob> & co\nhttp://127.0.0.1:8080/x\n")

        #expect(throws: MailError.templateNotFound("mail/htmlonly.text")) {
            try db.database.write { conn in
                try mailer.enqueue(template: "htmlonly", to: "bob@example.com", subject: "X", context: [:], on: conn)
            }
        }
        #expect(try db.outboxCount() == 1)
    }

    @Test("url(path:) builds absolute links; bad base URLs and senders are refused")
    func absoluteLinksAndConfiguration() throws {
        let templates = try realTemplates()
        let mailer = try Mailer(templates: templates, baseURL: "https://portal.example.com/app//", from: testSender)
        #expect(mailer.baseURL == "https://portal.example.com/app")
        #expect(mailer.url(path: "/reset?token=a") == "https://portal.example.com/app/reset?token=a")
        #expect(mailer.url(path: "reset") == "https://portal.example.com/app/reset")
        for bad in ["portal.example.com", "ftp://x", "http://", "http://x y", "http://x/?q=1", "http://u:p@x", "http://x\r\n"] {
            #expect(throws: MailError.self, "\(bad)") { try Mailer(templates: templates, baseURL: bad, from: testSender) }
        }
        for bad in ["Portal", "Portal <no-reply@portal.test", "a@b.c\r\nBcc: x@y.z", "\"Por\"tal\" <a@b.c>", "Portal <a@@b.c>"] {
            #expect(throws: MailError.self, "\(bad)") { try Mailer(templates: templates, baseURL: testBaseURL, from: bad) }
        }
    }

    struct TemplateCase: Sendable, CustomTestStringConvertible {
        let name: String
        let context: [String: String]
        /// Values that must appear verbatim in the text part.
        let expected: [String]
        var testDescription: String { name }
    }

    static let link = "http://127.0.0.1:8080/account/confirm?token=Zx9_-q&next=%2Fhome"
    static let otherLink = "http://127.0.0.1:8080/forgot-password?from=mail&x=1"
    static let identityTemplates = [
        TemplateCase(name: "account_exists", context: ["name": "Ann <&>", "loginLink": link, "resetLink": otherLink], expected: []),
        TemplateCase(name: "verify_email", context: ["name": "Ann <&>", "link": link], expected: []),
        TemplateCase(name: "reset_password", context: ["name": "Ann <&>", "link": link, "expiresIn": "1 hour"], expected: ["within 1 hour"]),
        TemplateCase(name: "email_changed_alert", context: ["name": "Ann <&>", "newEmail": "ann+new@example.com"], expected: ["ann+new@example.com"]),
        TemplateCase(name: "verify_new_email", context: ["name": "Ann <&>", "link": link], expected: []),
        TemplateCase(name: "security_alert", context: ["name": "Ann <&>", "what": "Two-factor authentication was turned off.", "when": "1 July 2025, 09:05 UTC", "ip": "203.0.113.7"],
                     expected: ["Two-factor authentication was turned off.", "1 July 2025, 09:05 UTC", "203.0.113.7"]),
    ]

    @Test("The identity mails render: link once on its own line, text unescaped, HTML escaped and self-contained", arguments: identityTemplates)
    func identityTemplatesRender(_ c: TemplateCase) throws {
        let templates = try realTemplates()
        let mailer = try Mailer(templates: templates, baseURL: testBaseURL, from: testSender)
        // Each file documents its context keys in a comment at the top.
        for part in ["text", "html"] {
            let source = try String(contentsOfFile: "\(repoRoot)/Templates/mail/\(c.name).\(part).mustache", encoding: .utf8)
            #expect(source.hasPrefix("{{!"), "\(c.name).\(part) starts with its documentation comment")
            let comment = source[..<(source.range(of: "}}")?.lowerBound ?? source.endIndex)]
            for key in c.context.keys { #expect(comment.contains(key), "\(c.name).\(part) documents \(key)") }
        }

        let mail = try mailer.render(template: c.name, to: "ann@example.com", subject: "Subject", context: c.context)
        let lines = mail.text.split(separator: "\n", omittingEmptySubsequences: false)
        let links = c.context.filter { $0.key.lowercased().hasSuffix("link") }.map(\.value)
        for link in links {
            #expect(lines.filter { $0 == link }.count == 1, "\(link) is on a line of its own")
            #expect(mail.text.components(separatedBy: link).count == 2, "\(link) appears exactly once")
        }
        #expect(mail.text.components(separatedBy: "http").count == links.count + 1, "no other link")
        #expect(mail.text.hasPrefix("Hello Ann <&>,"))
        for value in c.expected { #expect(mail.text.contains(value)) }
        #expect(!mail.text.contains("{{") && !mail.text.contains("&amp;") && !mail.text.contains("&lt;") && !mail.text.contains("<p"))

        let html = try #require(mail.html)
        #expect(html.hasPrefix("<!DOCTYPE html>"))
        #expect(html.contains("Hello Ann &lt;&amp;&gt;,"))
        #expect(!html.contains("Ann <&>"))
        for link in links {
            #expect(html.contains("href=\"\(link.replacingOccurrences(of: "&", with: "&amp;"))\""))
        }
        for value in c.expected { #expect(html.contains(value)) }
        let lower = html.lowercased()
        for forbidden in ["<script", "<img", "<link", "src=", "url(", "@import", "<style", "{{"] {
            #expect(!lower.contains(forbidden), "no \(forbidden) in \(c.name).html")
        }
        #expect(lower.contains("style=\""))
    }

    @Test("Queueing nudges the delivery worker")
    func enqueueNotifiesDelivery() throws {
        let db = try TestDatabase()
        let capture = LogCapture()
        let delivery = mailDelivery(database: db.database, transport: LogTransport(logger: capture.logger), logger: capture.logger, pollInterval: .seconds(3600))
        let mailer = try Mailer(templates: try realTemplates(), baseURL: testBaseURL, from: testSender, jobs: delivery)
        delivery.start()
        defer { delivery.stop() }
        // Let the first round (nothing due) pass, so that only the nudge can deliver.
        #expect(eventually { capture.lines.contains { $0.message == "mail delivery started" } })
        usleep(200_000)
        let id = try db.database.write { conn in
            try mailer.enqueue(template: "verify_email", to: "ann@example.com", subject: "Confirm", context: ["name": "Ann", "link": mailer.url(path: "/v?t=1")], on: conn)
        }
        #expect(eventually(within: 5) { (try? db.row(id))??.sentAt != nil })
    }
}
