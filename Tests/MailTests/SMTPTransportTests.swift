import TestSupport
import Foundation
import Testing
@testable import Mail

@Suite("SMTPTransport against a loopback SMTP server")
struct SMTPTransportTests {
    static let password = "p@ss:w0rd/Secret"
    static let encodedPassword = "p%40ss%3Aw0rd%2FSecret"

    @Test("Delivers a multipart mail: envelope, credentials, headers, both parts, link intact, dots transparent")
    func delivers() throws {
        let server = try TestSMTPServer()
        server.listen()
        defer { server.stop() }
        let transport = try SMTPTransport(url: "smtp://portal%40relay.test:\(Self.encodedPassword)@127.0.0.1:\(server.port)")
        let link = "http://127.0.0.1:8080/verify-email?token=" + String(repeating: "Ab9_", count: 20) + "&lang=en"
        let text = "Hello Zoë,\n\nopen this link:\n\n\(link)\n\n.\n.leading dot\n..two dots\nThe end.\n"
        let html = "<p>Hello Zo&euml;</p>\n<p><a href=\"\(link.replacingOccurrences(of: "&", with: "&amp;"))\">Confirm</a></p>\n.\n"
        let subject = "Bestätigen Sie Ihre E-Mail-Adresse – Portal"
        let mail = OutgoingMail(to: "zoe@example.com", subject: subject, text: text, html: html, messageID: "<42.abc@portal.test>")

        try transport.send(mail, from: "Portal <no-reply@portal.test>")

        let received = server.received
        try #require(received.count == 1)
        let message = received[0]
        #expect(message.mailFrom == "no-reply@portal.test")
        #expect(message.recipients == ["zoe@example.com"])
        #expect(message.username == "portal@relay.test")
        #expect(message.password == Self.password)

        let parsed = try ParsedMail(message.data)
        #expect(parsed.header("From") == "\"Portal\" <no-reply@portal.test>")
        #expect(parsed.header("To") == "zoe@example.com")
        #expect(parsed.header("Subject")?.hasPrefix("=?UTF-8?B?") == true)
        #expect(parsed.decodedHeader("Subject") == subject)
        #expect(parsed.header("Message-ID") == "<42.abc@portal.test>")
        #expect(parsed.header("MIME-Version") == "1.0")
        #expect(parsed.header("Date")?.hasSuffix("+0000") == true)
        #expect(parsed.header("Content-Type")?.hasPrefix("multipart/alternative; boundary=") == true)
        #expect(parsed.parts.map(\.contentType) == ["text/plain; charset=utf-8", "text/html; charset=utf-8"])
        #expect(parsed.part("text/plain") == text)
        #expect(parsed.part("text/html") == html)
        #expect(parsed.part("text/plain")?.split(separator: "\n").contains(Substring(link)) == true)
    }

    @Test("A 451 from the server is an error that names the reply, not the password")
    func refusal() throws {
        let server = try TestSMTPServer()
        server.mode = .refuse
        server.listen()
        defer { server.stop() }
        let transport = try SMTPTransport(url: "smtp://user:\(Self.encodedPassword)@127.0.0.1:\(server.port)")
        let error = #expect(throws: SMTPTransport.Error.self) {
            try transport.send(OutgoingMail(to: "a@example.com", subject: "S", text: "T"), from: "no-reply@portal.test")
        }
        let description = String(describing: error)
        #expect(description.contains("451"))
        #expect(!description.contains("w0rd") && !description.contains("%40ss"))
        #expect(server.received.isEmpty)
    }

    struct ReplyCase: Sendable, CustomTestStringConvertible {
        let mode: TestSMTPServer.Mode
        let reply: Int
        let answer: String
        let command: String
        let permanent: Bool
        var testDescription: String { "\(command): \(answer)" }
    }

    static let replies = [
        ReplyCase(mode: .refuse, reply: 451, answer: "451 4.3.0 Try again later", command: "MAIL", permanent: false),
        ReplyCase(mode: .rejectRecipient("550 5.1.1 <a@example.com>: Recipient address rejected: User unknown"), reply: 550,
                  answer: "550 5.1.1 <a@example.com>: Recipient address rejected: User unknown", command: "RCPT", permanent: true),
        ReplyCase(mode: .rejectRecipient("451 4.7.1 Greylisted, please try again in 5 minutes"), reply: 451,
                  answer: "451 4.7.1 Greylisted, please try again in 5 minutes", command: "RCPT", permanent: false),
        ReplyCase(mode: .rejectData("554 5.6.0 Message header too long"), reply: 554, answer: "554 5.6.0 Message header too long",
                  command: "DATA", permanent: true),
        ReplyCase(mode: .rejectData("452 4.3.1 Insufficient system storage"), reply: 452, answer: "452 4.3.1 Insufficient system storage",
                  command: "DATA", permanent: false),
        // Wrong credentials are the relay's configuration, not the mail: an operator fixes
        // them and the mail still goes out.
        ReplyCase(mode: .rejectAuth("535 5.7.8 Authentication credentials invalid"), reply: 535,
                  answer: "535 5.7.8 Authentication credentials invalid", command: "AUTH", permanent: false),
    ]

    @Test("An error reply is read back with its code and the server's words: 5xx is permanent, 4xx is not", arguments: replies)
    func errorReplies(_ c: ReplyCase) throws {
        let server = try TestSMTPServer()
        server.mode = c.mode
        server.listen()
        defer { server.stop() }
        let transport = try SMTPTransport(url: "smtp://user:\(Self.encodedPassword)@127.0.0.1:\(server.port)")
        let error = try #require(#expect(throws: SMTPTransport.Error.self) {
            try transport.send(OutgoingMail(to: "a@example.com", subject: "S", text: "T"), from: "no-reply@portal.test")
        })
        guard case .refused(let reply, let answer, let command) = error else { Issue.record("unexpected \(error)"); return }
        #expect(command == c.command)
        #expect(reply == c.reply)
        #expect(answer == c.answer)
        #expect(error.isPermanent == c.permanent)
        #expect(String(describing: error).contains(c.answer))
        for secret in ["w0rd", "%40ss", "dXNlcg"] { #expect(!String(describing: error).contains(secret)) } // dXNlcg: base64 of "user"
        #expect(server.received.isEmpty)
    }

    @Test("A 40-character, 80 KB subject travels folded and arrives whole")
    func swollenSubjectDelivered() throws {
        let server = try TestSMTPServer()
        server.listen()
        defer { server.stop() }
        let subject = "Welcome, " + MIMEMessageTests.swollenName
        try SMTPTransport(url: "smtp://127.0.0.1:\(server.port)").send(OutgoingMail(to: "a@example.com", subject: subject, text: "T"), from: "no-reply@portal.test")
        let message = try #require(server.received.first)
        let headerBlock = message.data.components(separatedBy: "\r\n\r\n")[0]
        #expect(headerBlock.components(separatedBy: "\r\n").allSatisfy { $0.utf8.count <= 78 })
        #expect(try ParsedMail(message.data).decodedHeader("Subject") == subject)
    }

    @Test("With requireTLS, a server without STARTTLS gets neither the password nor the mail")
    func requireTLS() throws {
        let server = try TestSMTPServer()
        server.listen()
        defer { server.stop() }
        let transport = try SMTPTransport(url: "smtp://user:\(Self.encodedPassword)@127.0.0.1:\(server.port)", requireTLS: true)
        #expect(transport.security == .startTLSRequired)
        #expect(throws: SMTPTransport.Error.self) {
            try transport.send(OutgoingMail(to: "a@example.com", subject: "S", text: "T"), from: "no-reply@portal.test")
        }
        #expect(server.connections == 1)
        #expect(server.authentications.isEmpty)
        #expect(server.received.isEmpty)
    }

    @Test("A server that is down is a quick, clear error")
    func serverDown() throws {
        let server = try TestSMTPServer() // bound, not listening
        defer { server.stop() }
        let transport = try SMTPTransport(url: "smtp://127.0.0.1:\(server.port)")
        let error = #expect(throws: SMTPTransport.Error.self) {
            try transport.send(OutgoingMail(to: "a@example.com", subject: "S", text: "T"), from: "no-reply@portal.test")
        }
        guard case .failed(let code, _) = error else { Issue.record("unexpected \(String(describing: error))"); return }
        #expect(code == 7) // CURLE_COULDNT_CONNECT
        #expect(error?.isPermanent == false)
    }

    @Test("URLs are parsed, credentials percent-decoded, and the password never shown")
    func urlParsingAndRedaction() throws {
        let t = try SMTPTransport(url: "smtp://mailer%40portal.test:\(Self.encodedPassword)@smtp.example.com:587")
        #expect(t.host == "smtp.example.com" && t.port == 587 && t.username == "mailer@portal.test")
        #expect(t.security == .startTLSIfOffered)
        #expect(t.redactedURL == "smtp://mailer%40portal.test:***@smtp.example.com:587")
        var dumped = ""
        dump(t, to: &dumped)
        for shown in [t.description, t.debugDescription, String(reflecting: t), "\(t)", dumped, String(describing: Mirror(reflecting: t).children.map { "\($0)" })] {
            #expect(!shown.contains("w0rd") && !shown.contains("%40ss") && !shown.contains("Secret"), "\(shown)")
            #expect(shown.contains("smtp.example.com"))
        }

        let tls = try SMTPTransport(url: "SMTPS://smtp.example.com")
        #expect(tls.security == .implicitTLS && tls.port == nil && tls.username == nil)
        #expect(tls.redactedURL == "smtps://smtp.example.com")
        let v6 = try SMTPTransport(url: "smtp://[::1]:2525/portal.test")
        #expect(v6.host == "[::1]" && v6.port == 2525)
        #expect(try SMTPTransport(url: "smtp://user@localhost").redactedURL == "smtp://user@localhost")

        for bad in ["http://smtp.example.com", "smtp.example.com:25", "smtp://", "smtp://user:pw@", "smtp://host:0", "smtp://host:99999",
                    "smtp://host:x", "smtp://ho st", "smtp://host\r\n", "smtp://host/?q", "smtp://u:%zz@host"] {
            let error = #expect(throws: SMTPTransport.Error.self, "\(bad)") { try SMTPTransport(url: bad) }
            #expect(!String(describing: error).contains("%zz"))
        }
    }
}
