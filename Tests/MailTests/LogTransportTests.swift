import TestSupport
import Foundation
import Testing
@testable import Mail

@Suite("LogTransport and secrets in logs")
struct LogTransportTests {
    @Test("LogTransport writes recipient, subject and the whole text, link included, at info level")
    func logsTheMail() throws {
        let db = try TestDatabase()
        let capture = LogCapture()
        let delivery = mailDelivery(database: db.database, transport: LogTransport(logger: capture.logger), logger: capture.logger)
        let mailer = try Mailer(templates: try realTemplates(), baseURL: testBaseURL, from: testSender, jobs: delivery)
        let link = mailer.url(path: "/verify-email?token=devToken123&x=1")
        let id = try db.database.write { conn in
            try mailer.enqueue(template: "verify_email", to: "dev@example.com", subject: "Confirm your e-mail address",
                               context: ["name": "Dev", "link": link], on: conn)
        }
        #expect(try delivery.deliverDue() == 1)
        #expect(try db.row(id)?.sentAt != nil)

        let line = try #require(capture.lines.first { $0.message.contains("LogTransport") })
        #expect(line.level == .info)
        #expect(line.metadata["to"] == "dev@example.com")
        #expect(line.metadata["subject"] == "Confirm your e-mail address")
        let text = try #require(line.metadata["text"]).description
        #expect(text.split(separator: "\n").contains(Substring(link)))
        #expect(text.contains("Hello Dev,"))
    }

    @Test("Describing and running an SMTPTransport never logs its password")
    func smtpPasswordNeverLogged() throws {
        let db = try TestDatabase()
        let server = try TestSMTPServer() // down
        defer { server.stop() }
        let capture = LogCapture()
        let transport = try SMTPTransport(url: "smtp://mailer:S3cr%C3%A9t%2Bpw@127.0.0.1:\(server.port)")
        let logger = capture.logger
        logger.info("configured", metadata: ["transport": "\(transport)", "debug": "\(String(reflecting: transport))"])
        var dumped = ""
        dump(transport, to: &dumped)
        logger.info("dump", metadata: ["value": "\(dumped)"])

        let delivery = mailDelivery(database: db.database, transport: transport, logger: logger)
        let mailer = try Mailer(templates: try realTemplates(), baseURL: testBaseURL, from: testSender)
        let id = try db.database.write { conn in
            try mailer.enqueue(OutgoingMail(to: "a@example.com", subject: "S", text: "T"), on: conn)
        }
        delivery.start()
        #expect(eventually { (try? db.row(id))??.attempts == 1 && (try? db.row(id))??.lastError != nil })
        delivery.stop()

        let all = capture.all
        #expect(all.contains("mailer:***@127.0.0.1:\(server.port)"))
        #expect(all.contains("mail not sent, will retry"))
        for secret in ["S3cr", "%C3%A9t", "Sécret", "Scrét", "t+pw", "%2Bpw"] {
            #expect(!all.contains(secret), "\(secret) leaked")
        }
        #expect(try db.row(id)?.lastError?.contains("S3cr") == false)
    }
}
