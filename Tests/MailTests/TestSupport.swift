@_exported import TestSupport
import Database
import Foundation
import Logging
import Synchronization
import Web
import Jobs
@testable import Mail

/// The repository root, found from this file's path, for Templates/ and Migrations/.
let repoRoot: String = {
    var url = URL(fileURLWithPath: #filePath)
    for _ in 0..<3 { url.deleteLastPathComponent() }
    return url.path
}()

/// The real templates of the repository.
func realTemplates() throws -> Templates {
    try Templates(directory: repoRoot + "/Templates")
}

/// Reading outbox rows with their delivery, for a test database or any other.
protocol OutboxReading {
    var database: Database { get }
}

/// A database opened by the test itself.
struct UpgradedDatabase: OutboxReading {
    let database: Database
}

/// A migrated database in a fresh temporary folder, removed (with the folder) on deinit.
final class TestDatabase: OutboxReading {
    let directory: String
    let database: Database

    init() throws {
        directory = NSTemporaryDirectory() + "portal-mail-tests-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        database = try Database(path: directory + "/portal.sqlite", readers: 2)
        try Migrator(directory: repoRoot + "/Migrations").migrate(database)
    }

    deinit {
        database.close()
        try? FileManager.default.removeItem(atPath: directory)
    }

    func outboxCount() throws -> Int {
        try database.read { try $0.scalar("SELECT count(*) FROM outbox", as: Int.self) } ?? -1
    }

    func jobCount() throws -> Int {
        try database.read { try $0.scalar("SELECT count(*) FROM jobs", as: Int.self) } ?? -1
    }
}

extension OutboxReading {
    /// The outbox row with its delivery, read from its `mail.send` job in the columns the
    /// outbox had before jobs (0003): the next attempt is the lease's end while it runs.
    func row(_ id: Int64) throws -> OutboxRow? {
        try database.read { conn in
            try conn.queryOne("""
                SELECT o.*, j.attempts,
                       CASE j.state WHEN 'running' THEN j.lease_expires_at ELSE j.run_at END AS next_attempt_at,
                       CASE j.state WHEN 'done' THEN j.finished_at END AS sent_at,
                       CASE j.state WHEN 'failed' THEN j.finished_at END AS failed_at,
                       j.last_error
                FROM outbox o JOIN jobs j ON j.kind = 'mail.send' AND j.payload = CAST(o.id AS TEXT)
                WHERE o.id = ?
                """, id).map(OutboxRow.init)
        }
    }
}

/// One `outbox` row as the tests inspect it.
struct OutboxRow {
    let id: Int64
    let sender: String
    let recipient: String
    let subject: String
    let text: String
    let html: String?
    let messageID: String
    let createdAt: Int64
    let attempts: Int
    let nextAttemptAt: Int64
    let sentAt: Int64?
    let failedAt: Int64?
    let lastError: String?

    init(_ row: Row) throws {
        id = try row.int64("id")
        sender = try row.string("sender")
        recipient = try row.string("recipient")
        subject = try row.string("subject")
        text = try row.string("text_body")
        html = try row.optionalString("html_body")
        messageID = try row.string("message_id")
        createdAt = try row.int64("created_at")
        attempts = try row.int("attempts")
        nextAttemptAt = try row.int64("next_attempt_at")
        sentAt = try row.optionalInt64("sent_at")
        failedAt = try row.optionalInt64("failed_at")
        lastError = try row.optionalString("last_error")
    }
}

/// A job worker that runs mail only, as the outbox's worker did before jobs (named so in its
/// logs: "mail delivery started").
func mailDelivery(database: Database, transport: any MailTransport, logger: Logger? = nil, pollInterval: Duration = .seconds(5)) -> JobWorker {
    let worker = logger.map { JobWorker(database: database, name: "mail delivery", pollInterval: pollInterval, logger: $0) }
        ?? JobWorker(database: database, name: "mail delivery", pollInterval: pollInterval)
    MailDelivery.register(on: worker, transport: transport, logger: logger)
    return worker
}

extension JobWorker {
    /// One round at `now`; returns how many mails were sent.
    @discardableResult
    func deliverDue(now: Date = Date()) throws -> Int {
        try runDue(now: unixSeconds(now))
    }
}

let testSender = "Portal <no-reply@portal.test>"
let testBaseURL = "http://127.0.0.1:8080"

func unixSeconds(_ date: Date) -> Int64 { Int64(date.timeIntervalSince1970.rounded(.down)) }

// MARK: - Reading a received message

// Careful: in Swift "\r\n" is ONE Character, so CRLF is removed on UTF-8 bytes here.

/// `s` without one trailing CRLF.
func withoutCRLF(_ s: String) -> String {
    s.utf8.count >= 2 && s.utf8.suffix(2).elementsEqual([0x0D, 0x0A]) ? String(s.utf8.dropLast(2))! : s
}

/// `s` without one leading CRLF.
func withoutLeadingCRLF(_ s: String) -> String {
    s.utf8.count >= 2 && s.utf8.prefix(2).elementsEqual([0x0D, 0x0A]) ? String(s.utf8.dropFirst(2))! : s
}

/// A mail as received over SMTP, parsed the way a mail client would: headers unfolded,
/// encoded-words decoded, MIME parts split and quoted-printable decoded.
struct ParsedMail {
    var headers: [(name: String, value: String)] = []
    /// (content type, decoded body with `\n` line ends)
    var parts: [(contentType: String, body: String)] = []

    init(_ data: String) throws {
        guard let split = data.range(of: "\r\n\r\n") else { throw ParseError("no blank line after the headers") }
        headers = Self.parseHeaders(String(data[..<split.lowerBound]))
        let body = String(data[split.upperBound...])
        let contentType = header("Content-Type") ?? "text/plain"
        if contentType.hasPrefix("multipart/") {
            guard let b = contentType.range(of: "boundary=\"") else { throw ParseError("no boundary") }
            let boundary = String(contentType[b.upperBound...].prefix { $0 != "\"" })
            var segments = body.components(separatedBy: "\r\n--" + boundary)
            guard segments.count >= 2, segments.last!.hasPrefix("--") else { throw ParseError("unterminated multipart") }
            segments.removeFirst() // the preamble
            segments.removeLast()  // "--" and the epilogue
            for segment in segments {
                let part = withoutLeadingCRLF(segment)
                guard let s = part.range(of: "\r\n\r\n") else { throw ParseError("part without headers") }
                let partHeaders = Self.parseHeaders(String(part[..<s.lowerBound]))
                let type = partHeaders.first { $0.name.lowercased() == "content-type" }?.value ?? ""
                let encoding = partHeaders.first { $0.name.lowercased() == "content-transfer-encoding" }?.value ?? ""
                guard encoding == "quoted-printable" else { throw ParseError("unexpected encoding \(encoding)") }
                parts.append((type, try Self.decodeQuotedPrintable(String(part[s.upperBound...]))))
            }
        } else {
            parts.append((contentType, try Self.decodeQuotedPrintable(body)))
        }
    }

    func header(_ name: String) -> String? {
        headers.first { $0.name.lowercased() == name.lowercased() }?.value
    }

    /// The header with RFC 2047 encoded-words decoded.
    func decodedHeader(_ name: String) -> String? {
        header(name).map(Self.decodeEncodedWords)
    }

    func part(_ type: String) -> String? {
        parts.first { $0.contentType.hasPrefix(type) }?.body
    }

    struct ParseError: Error, CustomStringConvertible {
        let description: String
        init(_ d: String) { description = d }
    }

    static func parseHeaders(_ block: String) -> [(name: String, value: String)] {
        // Unfolding: a CRLF followed by a space or tab is removed, the whitespace kept.
        let unfolded = block.replacingOccurrences(of: "\r\n ", with: " ").replacingOccurrences(of: "\r\n\t", with: "\t")
        return unfolded.components(separatedBy: "\r\n").compactMap { line in
            guard let colon = line.firstIndex(of: ":") else { return nil }
            return (String(line[..<colon]), String(line[line.index(after: colon)...]).trimmingCharacters(in: .whitespaces))
        }
    }

    static func decodeEncodedWords(_ value: String) -> String {
        let tokens = value.split(whereSeparator: { $0 == " " || $0 == "\t" })
        var bytes: [UInt8] = []
        var out: [String] = []
        for token in tokens {
            if token.hasPrefix("=?UTF-8?B?"), token.hasSuffix("?="),
               let data = Data(base64Encoded: String(token.dropFirst(10).dropLast(2))) {
                bytes += data
            } else {
                if !bytes.isEmpty { out.append(String(decoding: bytes, as: UTF8.self)); bytes = [] }
                out.append(String(token))
            }
        }
        if !bytes.isEmpty { out.append(String(decoding: bytes, as: UTF8.self)) }
        return out.joined(separator: " ")
    }

    static func decodeQuotedPrintable(_ text: String) throws -> String {
        var out: [UInt8] = []
        let bytes = Array(text.replacingOccurrences(of: "=\r\n", with: "").utf8)
        var i = 0
        while i < bytes.count {
            let b = bytes[i]
            if b == UInt8(ascii: "=") {
                guard i + 2 < bytes.count, let v = UInt8(String(decoding: bytes[(i + 1)...(i + 2)], as: UTF8.self), radix: 16) else {
                    throw ParseError("bad quoted-printable escape")
                }
                out.append(v)
                i += 3
            } else {
                guard b < 0x80 else { throw ParseError("8-bit byte in quoted-printable") }
                out.append(b)
                i += 1
            }
        }
        return String(decoding: out, as: UTF8.self).replacingOccurrences(of: "\r\n", with: "\n")
    }
}
