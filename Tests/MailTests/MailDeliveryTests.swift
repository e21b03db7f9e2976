import TestSupport
import Database
import Dispatch
import Foundation
import Synchronization
import Testing
@testable import Jobs
@testable import Mail

@Suite("MailDelivery: the outbox worker")
struct MailDeliveryTests {
    static let password = "hunter2-Secret"

    /// A database, a mailer and a loopback SMTP server (not listening until told).
    final class Fixture {
        let db: TestDatabase
        let server: TestSMTPServer
        let mailer: Mailer
        let transport: SMTPTransport

        init() throws {
            db = try TestDatabase()
            server = try TestSMTPServer()
            mailer = try Mailer(templates: try realTemplates(), baseURL: testBaseURL, from: testSender)
            transport = try SMTPTransport(url: "smtp://portal:\(MailDeliveryTests.password)@127.0.0.1:\(server.port)")
        }

        deinit { server.stop() }

        func delivery(logger: LogCapture? = nil) -> JobWorker {
            mailDelivery(database: db.database, transport: transport, logger: logger?.logger)
        }

        @discardableResult
        func enqueue(_ to: String = "ann@example.com", token: String = "t0k3n") throws -> Int64 {
            try db.database.write { conn in
                try mailer.enqueue(template: "reset_password", to: to, subject: "Reset your password",
                                   context: ["name": "Ann", "link": mailer.url(path: "/reset?token=\(token)"), "expiresIn": "1 hour"], on: conn)
            }
        }

        func row(_ id: Int64) throws -> OutboxRow { try #require(try db.row(id)) }
    }

    @Test("Server down: the attempt is recorded and retried later; once up, the mail goes out exactly once")
    func retriesUntilTheServerIsUp() throws {
        let f = try Fixture()
        let capture = LogCapture()
        let delivery = f.delivery(logger: capture)
        let id = try f.enqueue()
        let t0 = Date()
        let s0 = unixSeconds(t0)

        #expect(try delivery.deliverDue(now: t0) == 0)
        var row = try f.row(id)
        #expect(row.attempts == 1)
        #expect(row.sentAt == nil && row.failedAt == nil)
        #expect(row.nextAttemptAt >= s0 + 30 && row.nextAttemptAt <= s0 + 31)
        let lastError = try #require(row.lastError)
        #expect(lastError.contains("connect"))
        #expect(!lastError.contains(Self.password))
        #expect(!capture.all.contains(Self.password))
        #expect(capture.lines.contains { $0.level == .warning && $0.message == "mail not sent, will retry" })

        // Not due yet: nothing is tried.
        #expect(try delivery.deliverDue(now: t0.addingTimeInterval(10)) == 0)
        #expect(try f.row(id).attempts == 1)

        f.server.listen()
        #expect(try delivery.deliverDue(now: t0.addingTimeInterval(31)) == 1)
        row = try f.row(id)
        #expect(row.attempts == 2)
        #expect(row.sentAt != nil && row.failedAt == nil)
        #expect(f.server.received.count == 1)

        #expect(try delivery.deliverDue(now: t0.addingTimeInterval(7200)) == 0)
        #expect(f.server.received.count == 1)
        let parsed = try ParsedMail(try #require(f.server.received.first).data)
        #expect(parsed.header("Message-ID") == row.messageID)
        #expect(parsed.part("text/plain")?.contains("\nhttp://127.0.0.1:8080/reset?token=t0k3n\n") == true)
        #expect(!capture.all.contains("t0k3n"), "the SMTP path never logs a mail's content")
    }

    @Test("A new MailDelivery on the same database (a restart) delivers what the old one left, including a mail claimed mid-send")
    func restartLosesNothing() throws {
        let f = try Fixture()
        let first = f.delivery()
        let failed = try f.enqueue("one@example.com", token: "one")
        let t0 = Date()
        #expect(try first.deliverDue(now: t0) == 0) // server down
        // The old process dies while sending the second mail: it is claimed, never recorded.
        // Queued with the clock's second at the time, which may be one after t0's: the dead
        // worker claims it when it is due, not at t0.
        let inFlight = try f.enqueue("two@example.com", token: "two")
        let claimedAt = Date()
        let claimed = try f.db.database.write {
            try JobStore.claim(kinds: [MailDelivery.kind], owner: "dead", now: unixSeconds(claimedAt), lease: { _ in 600 }, on: $0)
        }
        #expect(claimed?.payload == String(inFlight))

        f.server.listen()
        let restarted = f.delivery()
        #expect(try restarted.deliverDue(now: t0.addingTimeInterval(1)) == 0, "nothing is due yet")
        #expect(try restarted.deliverDue(now: t0.addingTimeInterval(31)) == 1, "the failed one, after its backoff")
        #expect(try f.row(failed).sentAt != nil)
        #expect(try f.row(inFlight).sentAt == nil)
        #expect(try restarted.deliverDue(now: claimedAt.addingTimeInterval(601)) == 1, "the one claimed mid-send, after its lease")
        #expect(try f.row(inFlight).sentAt != nil)
        #expect(try f.row(inFlight).attempts == 2)
        #expect(try restarted.deliverDue(now: t0.addingTimeInterval(100_000)) == 0)
        #expect(f.server.received.map(\.recipients).sorted { $0[0] < $1[0] } == [["one@example.com"], ["two@example.com"]])
    }

    @Test("Two workers on one database send every mail exactly once")
    func twoWorkers() throws {
        let f = try Fixture()
        f.server.listen()
        var ids: [Int64] = []
        for i in 0..<12 { ids.append(try f.enqueue("user\(i)@example.com", token: "t\(i)")) }
        let workers = [f.delivery(), f.delivery()]
        let now = Date()
        let counts = Mutex<[Int]>([])
        DispatchQueue.concurrentPerform(iterations: 2) { i in
            let n = (try? workers[i].deliverDue(now: now)) ?? -100
            counts.withLock { $0.append(n) }
        }
        #expect(counts.withLock { $0.reduce(0, +) } == 12)
        let recipients = f.server.received.flatMap(\.recipients)
        #expect(recipients.count == 12)
        #expect(Set(recipients).count == 12)
        for id in ids { #expect(try f.row(id).attempts == 1) }
    }

    @Test("After the cut-off the mail is marked failed and kept")
    func givesUp() throws {
        let f = try Fixture()
        let delivery = f.delivery()
        let id = try f.enqueue()
        let t0 = Date()
        #expect(try delivery.deliverDue(now: t0) == 0)
        #expect(try delivery.deliverDue(now: t0.addingTimeInterval(47 * 3600)) == 0)
        var row = try f.row(id)
        #expect(row.attempts == 2 && row.failedAt == nil)
        #expect(row.nextAttemptAt >= unixSeconds(t0) + 47 * 3600 + 60)

        let cutoff = t0.addingTimeInterval(49 * 3600)
        #expect(try delivery.deliverDue(now: cutoff) == 0)
        row = try f.row(id)
        #expect(row.attempts == 3)
        #expect(row.failedAt != nil && row.failedAt! >= unixSeconds(cutoff))
        #expect(row.sentAt == nil)
        #expect(row.lastError != nil)
        #expect(row.text.contains("/reset?token=t0k3n"))

        // Failed mails are left alone, even once a server is up.
        f.server.listen()
        #expect(try delivery.deliverDue(now: t0.addingTimeInterval(100 * 3600)) == 0)
        #expect(try f.row(id).attempts == 3)
        #expect(f.server.received.isEmpty)
        #expect(try f.db.outboxCount() == 1)
    }

    @Test("A 5xx refusal ends the mail at once, recorded as failed with the server's answer; a 4xx is retried")
    func permanentRefusal() throws {
        let f = try Fixture()
        let capture = LogCapture()
        let delivery = f.delivery(logger: capture)
        f.server.mode = .rejectRecipient("550 5.1.1 <ann@example.com>: Recipient address rejected: User unknown")
        f.server.listen()
        let refused = try f.enqueue()
        let t0 = Date()
        #expect(try delivery.deliverDue(now: t0) == 0)
        var row = try f.row(refused)
        #expect(row.attempts == 1)
        #expect(row.failedAt != nil && row.failedAt! >= unixSeconds(t0) && row.sentAt == nil)
        #expect(row.lastError?.contains("550 5.1.1 <ann@example.com>: Recipient address rejected: User unknown") == true)
        #expect(capture.lines.contains { $0.level == .error && $0.message == "mail refused, not retried" })

        // A temporary refusal is tried again after its backoff.
        f.server.mode = .rejectRecipient("451 4.7.1 Greylisted, try again later")
        let greylisted = try f.enqueue("bob@example.com", token: "bob")
        // Taken after the enqueue: the mail is due from the second it was queued, which may be after t0.
        let t1 = Date()
        #expect(try delivery.deliverDue(now: t1) == 0)
        row = try f.row(greylisted)
        #expect(row.attempts == 1 && row.failedAt == nil && row.nextAttemptAt >= unixSeconds(t1) + 30)
        #expect(row.lastError?.contains("451 4.7.1 Greylisted") == true)

        // Once the server accepts, only the greylisted one goes out: the refused one is over.
        f.server.mode = .accept
        #expect(try delivery.deliverDue(now: t0.addingTimeInterval(3600)) == 1)
        #expect(f.server.received.map(\.recipients) == [["bob@example.com"]])
        #expect(try f.row(refused).attempts == 1)
        #expect(!capture.all.contains(Self.password))
    }

    @Test("Backoff: 30 s, doubling, capped at an hour")
    func backoff() {
        let policy = MailDelivery.retry
        #expect([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 100, Int.max].map { policy.delay(afterAttempts: $0) } == [30, 30, 60, 120, 240, 480, 960, 1920, 3600, 3600, 3600, 3600])
        #expect(policy.giveUpAfter == .seconds(48 * 3600))
    }

    @Test("A failed record from a worker whose claim expired does not undo a newer claim")
    func staleClaimIsIgnored() throws {
        let f = try Fixture()
        let id = try f.enqueue()
        let now = unixSeconds(Date())
        func claim(_ time: Int64) throws -> Job? {
            try f.db.database.write { try JobStore.claim(kinds: [MailDelivery.kind], owner: "w\(time)", now: time, lease: { _ in 600 }, on: $0) }
        }
        let old = try #require(try claim(now))
        let newer = try #require(try claim(now + 601))
        #expect(old.payload == String(id) && newer.id == old.id)
        #expect(newer.attempt == old.attempt + 1)
        try f.db.database.write { try JobStore.reschedule(id: old.id, attempts: old.attempt, runAt: now + 630, error: "late", on: $0) }
        var row = try f.row(id)
        #expect(row.nextAttemptAt == now + 601 + 600 && row.lastError == nil)
        try f.db.database.write { try JobStore.markDone(id: old.id, at: now + 602, on: $0) }
        try f.db.database.write { try JobStore.markFailed(id: newer.id, attempts: newer.attempt, at: now + 603, error: "x", on: $0) }
        row = try f.row(id)
        #expect(row.sentAt == now + 602 && row.failedAt == nil)
    }

    @Test("The thread delivers what is due at start, wakes on notify, and stops cleanly")
    func thread() throws {
        let f = try Fixture()
        f.server.listen()
        let leftOver = try f.enqueue("left@example.com", token: "left")
        let capture = LogCapture()
        let delivery = mailDelivery(database: f.db.database, transport: f.transport, logger: capture.logger, pollInterval: .seconds(3600))
        delivery.start()
        delivery.start() // idempotent
        #expect(eventually { (try? f.row(leftOver).sentAt) != nil })

        let mailer = try Mailer(templates: try realTemplates(), baseURL: testBaseURL, from: testSender, jobs: delivery)
        let id = try f.db.database.write { conn in
            try mailer.enqueue(OutgoingMail(to: "new@example.com", subject: "Hi", text: "Hello\n"), on: conn)
        }
        #expect(eventually(within: 5) { (try? f.row(id).sentAt) != nil })
        #expect(delivery.stop(timeout: .seconds(10)))
        #expect(delivery.stop())
        #expect(f.server.received.count == 2)
        #expect(capture.lines.contains { $0.message == "mail delivery started" })
        #expect(capture.lines.contains { $0.message == "mail delivery stopped" })
        #expect(!capture.all.contains(Self.password))
        #expect(capture.all.contains("portal:***@127.0.0.1"))

        // After stop nothing is sent until started again.
        let later = try f.enqueue("later@example.com", token: "later")
        usleep(300_000)
        #expect(try f.row(later).sentAt == nil)
        delivery.start()
        defer { delivery.stop() }
        #expect(eventually { (try? f.row(later).sentAt) != nil })
    }
}

@Suite("Upgrading the outbox to jobs (0010)")
struct OutboxUpgradeTests {
    @Test("Every outbox row keeps its state across the upgrade: pending mails are sent, a mail claimed mid-send after its lease, history stays")
    func nothingQueuedIsLost() throws {
        // A database as the previous release left it: migrated up to 0009, outbox rows in
        // the 0003 format.
        let directory = NSTemporaryDirectory() + "portal-upgrade-" + UUID().uuidString
        let before = directory + "/migrations-before-jobs"
        try FileManager.default.createDirectory(atPath: before, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        for file in try FileManager.default.contentsOfDirectory(atPath: repoRoot + "/Migrations")
        where file.hasSuffix(".sql") && Int(file.prefix(4))! < 10 {
            try FileManager.default.copyItem(atPath: repoRoot + "/Migrations/" + file, toPath: before + "/" + file)
        }
        let database = try Database(path: directory + "/portal.sqlite", readers: 2)
        defer { database.close() }
        try Migrator(directory: before).migrate(database)
        let t0 = unixSeconds(Date()) - 100
        try database.write { conn in
            func insert(_ id: Int, _ to: String, attempts: Int, next: Int64, sent: Int64? = nil, failed: Int64? = nil, error: String? = nil) throws {
                try conn.execute("""
                    INSERT INTO outbox(id, sender, recipient, subject, text_body, html_body, message_id, created_at,
                                       attempts, next_attempt_at, sent_at, failed_at, last_error)
                    VALUES (?, ?, ?, 'Hello', 'Body', NULL, ?, ?, ?, ?, ?, ?, ?)
                    """, id, testSender, to, "<\(id)@portal.test>", t0, attempts, next, sent, failed, error)
            }
            try insert(1, "queued@example.com", attempts: 0, next: t0)
            try insert(2, "retrying@example.com", attempts: 2, next: t0 + 60, error: "SMTP error (curl 7): down")
            try insert(3, "inflight@example.com", attempts: 1, next: t0 + 600) // claimed when the old process stopped
            try insert(4, "sent@example.com", attempts: 1, next: t0, sent: t0 + 1)
            try insert(5, "failed@example.com", attempts: 9, next: t0, failed: t0 + 5, error: "gave up")
        }

        #expect(try Migrator(directory: repoRoot + "/Migrations").migrate(database).contains("0010_jobs.sql"))
        let db = UpgradedDatabase(database: database)
        var row = try #require(try db.row(1))
        #expect(row.attempts == 0 && row.nextAttemptAt == t0 && row.sentAt == nil && row.failedAt == nil)
        row = try #require(try db.row(2))
        #expect(row.attempts == 2 && row.nextAttemptAt == t0 + 60 && row.lastError == "SMTP error (curl 7): down")
        row = try #require(try db.row(3))
        #expect(row.attempts == 1 && row.nextAttemptAt == t0 + 600 && row.sentAt == nil)
        row = try #require(try db.row(4))
        #expect(row.sentAt == t0 + 1 && row.failedAt == nil)
        row = try #require(try db.row(5))
        #expect(row.failedAt == t0 + 5 && row.attempts == 9 && row.lastError == "gave up")
        #expect(row.messageID == "<5@portal.test>" && row.recipient == "failed@example.com")

        let server = try TestSMTPServer()
        server.listen()
        defer { server.stop() }
        let worker = mailDelivery(database: database, transport: try SMTPTransport(url: "smtp://127.0.0.1:\(server.port)"))
        #expect(try worker.runDue(now: t0 + 59) == 1)
        #expect(try worker.runDue(now: t0 + 60) == 1)
        #expect(try worker.runDue(now: t0 + 600) == 1)
        #expect(try worker.runDue(now: t0 + 100_000) == 0)
        #expect(server.received.map(\.recipients).sorted { $0[0] < $1[0] } == [["inflight@example.com"], ["queued@example.com"], ["retrying@example.com"]])
        #expect(try db.row(2)?.attempts == 3)
        // New mails use the same tables after the upgrade.
        let mailer = try Mailer(templates: try realTemplates(), baseURL: testBaseURL, from: testSender)
        let id = try database.write { try mailer.enqueue(OutgoingMail(to: "new@example.com", subject: "S", text: "T"), on: $0) }
        #expect(id == 6)
        #expect(try worker.runDue() == 1)
    }
}
