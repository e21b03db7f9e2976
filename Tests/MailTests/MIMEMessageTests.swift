import Foundation
import Testing
@testable import Mail

@Suite("MIME message building")
struct MIMEMessageTests {
    @Test("Quoted-printable keeps lines short and ASCII, and decodes back to the text")
    func quotedPrintableRoundTrip() throws {
        let text = "Grüße, Zoë = 100% 🎉\nA line with a trailing space \n"
            + String(repeating: "long-", count: 40) + "\n"
            + "http://127.0.0.1:8080/verify?token=" + String(repeating: "x", count: 90) + "&a=b\n.\n..dots\r\nCRLF too\rlone CR\n"
        let encoded = MIMEMessage.quotedPrintable(text)
        for line in encoded.components(separatedBy: "\r\n") {
            #expect(line.utf8.count <= 76, "\(line)")
            #expect(line.utf8.allSatisfy { $0 >= 0x20 && $0 < 0x7F })
            #expect(!line.hasSuffix(" ") && !line.hasSuffix("\t"))
        }
        #expect(!encoded.replacingOccurrences(of: "\r\n", with: "").contains("\n"))
        #expect(encoded.contains("space=20\r\n"))
        #expect(encoded.contains("Zo=C3=AB =3D 100%"))
        let decoded = try ParsedMail.decodeQuotedPrintable(encoded)
        #expect(decoded == text.replacingOccurrences(of: "\r\n", with: "\n").replacingOccurrences(of: "\r", with: "\n"))
    }

    @Test("Non-ASCII subjects become encoded-words of whole characters; long ASCII subjects fold and unfold exactly")
    func headerEncoding() {
        let subject = "Bestätigen Sie Ihre E-Mail-Adresse für Portal – jetzt, bitte 🙂 " + String(repeating: "é", count: 40)
        let line = MIMEMessage.headerLine(name: "Subject", value: subject)
        #expect(line.hasPrefix("Subject: =?UTF-8?B?") && line.hasSuffix("?=\r\n"))
        let physical = withoutCRLF(line).components(separatedBy: "\r\n")
        #expect(physical.count > 1)
        for l in physical { #expect(l.utf8.count <= 78 && l.utf8.allSatisfy { $0 < 0x80 }) }
        for word in MIMEMessage.encodedWords(subject) {
            // Each word decodes on its own: no character is split across words.
            let data = Data(base64Encoded: String(word.dropFirst(10).dropLast(2)))
            #expect(data.flatMap { String(data: $0, encoding: .utf8) } != nil)
        }
        let headers = ParsedMail.parseHeaders(withoutCRLF(line))
        #expect(ParsedMail.decodeEncodedWords(headers[0].value) == subject)

        let ascii = "Your monthly report for Acme Payments Ltd is ready: 3 files, 1,204 transactions, 2 payouts awaiting approval"
        let folded = MIMEMessage.headerLine(name: "Subject", value: ascii)
        #expect(folded.contains("\r\n "))
        for l in withoutCRLF(folded).components(separatedBy: "\r\n") { #expect(l.utf8.count <= 78) }
        #expect(ParsedMail.parseHeaders(withoutCRLF(folded))[0].value == ascii)
        #expect(MIMEMessage.headerLine(name: "Subject", value: "Hi") == "Subject: Hi\r\n")
        // Text that looks like an encoded-word is encoded, so it reads back as written.
        #expect(MIMEMessage.headerLine(name: "Subject", value: "=?UTF-8?B?SGk=?=").hasPrefix("Subject: =?UTF-8?B?PT9"))
    }

    /// A name of 40 characters, each a letter carrying 1,000 combining marks: 40 characters
    /// to `String.count`, 80 KB of UTF-8.
    static let swollenName = String(repeating: "Z" + String(repeating: "\u{0301}", count: 1000), count: 40)

    /// The header block of a built message, as its physical lines (no CRLF).
    static func headerLines(_ message: [UInt8]) -> [String] {
        let text = String(decoding: message, as: UTF8.self)
        let block = text.components(separatedBy: "\r\n\r\n")[0]
        return block.components(separatedBy: "\r\n")
    }

    static func encodedWordsIn(_ line: String) -> [Substring] {
        line.split(separator: " ").filter { $0.hasPrefix("=?") }
    }

    @Test("A 40-character subject of 80 KB folds into encoded-words of at most 75 characters on lines of at most 78, and decodes back")
    func swollenSubject() throws {
        let subject = "Welcome, " + Self.swollenName
        #expect(subject.count < MailAddress.maximumSubjectLength) // passes validation: it is 49 "characters"
        try OutgoingMail(to: "ann@example.com", subject: subject, text: "x").validate()
        let mail = OutgoingMail(to: "ann@example.com", subject: subject, text: "Hi\n", messageID: "<1@portal.test>", date: Date(timeIntervalSince1970: 0))
        let message = MIMEMessage.build(mail, from: try Sender("Pörtal Ünïcödé Dëlivery Sërvice of the Pörtal Ëxample Cömpany <no-reply@portal.test>"),
                                        date: mail.date!, messageID: mail.messageID!, boundary: "=_b")
        let lines = Self.headerLines(message)
        #expect(lines.count > 1000)
        for line in lines {
            #expect(line.utf8.count <= 78, "\(line.prefix(90))")
            #expect(line.utf8.allSatisfy { $0 >= 0x20 && $0 < 0x7F })
            for word in Self.encodedWordsIn(line) {
                #expect(word.utf8.count <= 75)
                // Each word holds whole UTF-8 sequences: it decodes on its own.
                let data = Data(base64Encoded: String(word.dropFirst(10).dropLast(2)))
                #expect(data.flatMap { String(data: $0, encoding: .utf8) } != nil, "\(word)")
            }
        }
        let parsed = try ParsedMail(String(decoding: message, as: UTF8.self))
        #expect(parsed.decodedHeader("Subject") == subject)
        #expect(parsed.decodedHeader("From") == "Pörtal Ünïcödé Dëlivery Sërvice of the Pörtal Ëxample Cömpany <no-reply@portal.test>")

        // A reader written by others agrees: Python's email package.
        if let decoded = try pythonHeaders(message) {
            #expect(decoded["subject"] == subject)
            // Python reads whitespace between encoded-words of a display name as a space, against
            // RFC 2047 §6.2, so only the address is compared here; our reader checks the name.
            #expect(decoded["from"]?.hasPrefix("Pörtal Ünïcödé") == true)
            #expect(decoded["from"]?.hasSuffix("Cömpany <no-reply@portal.test>") == true)
        }
    }

    @Test("Encoded-words never exceed 75 characters nor split a UTF-8 sequence, whatever the header name and text")
    func encodedWordLimits() throws {
        let samples = ["é", "🎉🎉🎉", String(repeating: "日本語", count: 40), String(repeating: "a\u{0301}\u{0327}", count: 200),
                       "=?UTF-8?B?SGk=?= " + String(repeating: "x", count: 70), String(repeating: "👩‍👩‍👧‍👦", count: 30)]
        for text in samples {
            for name in ["Subject", "X", "A-Rather-Long-Header-Name"] {
                let line = MIMEMessage.headerLine(name: name, value: text)
                let physical = withoutCRLF(line).components(separatedBy: "\r\n")
                for (i, l) in physical.enumerated() {
                    #expect(l.utf8.count <= 78, "\(name): \(l)")
                    #expect(i == 0 || l.hasPrefix(" "))
                    for word in Self.encodedWordsIn(l) {
                        #expect(word.utf8.count <= 75)
                        #expect(Data(base64Encoded: String(word.dropFirst(10).dropLast(2))).flatMap { String(data: $0, encoding: .utf8) } != nil)
                    }
                }
                #expect(ParsedMail.decodeEncodedWords(ParsedMail.parseHeaders(withoutCRLF(line))[0].value) == text)
            }
        }
        // A plain ASCII word too long for a line is encoded rather than left on a long line.
        let long = "Report " + String(repeating: "0123456789", count: 12)
        let line = MIMEMessage.headerLine(name: "Subject", value: long)
        #expect(line.hasPrefix("Subject: =?UTF-8?B?"))
        for l in withoutCRLF(line).components(separatedBy: "\r\n") { #expect(l.utf8.count <= 78) }
        #expect(ParsedMail.decodeEncodedWords(ParsedMail.parseHeaders(withoutCRLF(line))[0].value) == long)
        // Capacities: 45 bytes on a continuation line (75 characters), 42 after "Subject: ".
        #expect(MIMEMessage.encodedWordCapacity(room: 77) == 45)
        #expect(MIMEMessage.encodedWordCapacity(room: 78 - 9) == 42)
    }

    @Test("An encoded sender name of any length keeps every From line within 78 characters")
    func senderFolding() throws {
        for n in 1...100 {
            for local in 1...40 {
                let name = String(repeating: "é", count: n), address = String(repeating: "a", count: local) + "@portal.test"
                let header = "From: " + MIMEMessage.senderHeader(try Sender("\(name) <\(address)>"))
                let lines = header.components(separatedBy: "\r\n")
                if lines.contains(where: { $0.utf8.count > 78 }) { Issue.record("\(n), \(local): \(lines)") }
                #expect(ParsedMail.decodeEncodedWords(ParsedMail.parseHeaders(header)[0].value) == "\(name) <\(address)>")
            }
        }
    }

    @Test("Senders: display names quoted or encoded, addresses validated")
    func senders() throws {
        #expect(MIMEMessage.senderHeader(try Sender("Portal <no-reply@portal.test>")) == "\"Portal\" <no-reply@portal.test>")
        #expect(MIMEMessage.senderHeader(try Sender("\"Portal Team\" <team@portal.test>")) == "\"Portal Team\" <team@portal.test>")
        #expect(MIMEMessage.senderHeader(try Sender("no-reply@portal.test")) == "no-reply@portal.test")
        let encoded = MIMEMessage.senderHeader(try Sender("Portál <no-reply@portal.test>"))
        #expect(encoded == "=?UTF-8?B?UG9ydMOhbA==?= <no-reply@portal.test>")
        #expect(try Sender("Portal <no-reply@portal.test>").domain == "portal.test")
        for bad in ["", "Portal <>", "Portal\r\n <a@b.c>", "a@b.c\nBcc: e@f.g", "A \\ B <a@b.c>"] {
            #expect(throws: MailError.self, "\(bad)") { try Sender(bad) }
        }
    }

    @Test("RFC 5322 dates")
    func dates() {
        #expect(MIMEMessage.rfc5322Date(Date(timeIntervalSince1970: 0)) == "Thu, 01 Jan 1970 00:00:00 +0000")
        #expect(MIMEMessage.rfc5322Date(Date(timeIntervalSince1970: 1_751_360_700.9)) == "Tue, 01 Jul 2025 09:05:00 +0000")
    }

    @Test("A whole message: headers, multipart/alternative, CRLF everywhere")
    func wholeMessage() throws {
        let mail = OutgoingMail(to: "ann@example.com", subject: "Hello", text: "Plain\nhttp://x.test/a?b=c\n", html: "<p>Plain</p>\n",
                                messageID: "<1.abc@portal.test>", date: Date(timeIntervalSince1970: 0))
        let bytes = MIMEMessage.build(mail, from: try Sender("Portal <no-reply@portal.test>"), date: mail.date!, messageID: mail.messageID!, boundary: "=_b")
        let text = String(decoding: bytes, as: UTF8.self)
        #expect(!text.replacingOccurrences(of: "\r\n", with: "").contains("\n"))
        #expect(!text.replacingOccurrences(of: "\r\n", with: "").contains("\r"))
        let parsed = try ParsedMail(text)
        #expect(parsed.header("Date") == "Thu, 01 Jan 1970 00:00:00 +0000")
        #expect(parsed.header("From") == "\"Portal\" <no-reply@portal.test>")
        #expect(parsed.header("To") == "ann@example.com")
        #expect(parsed.header("Subject") == "Hello")
        #expect(parsed.header("Message-ID") == "<1.abc@portal.test>")
        #expect(parsed.header("MIME-Version") == "1.0")
        #expect(parsed.header("Content-Type") == "multipart/alternative; boundary=\"=_b\"")
        #expect(parsed.parts.map(\.contentType) == ["text/plain; charset=utf-8", "text/html; charset=utf-8"])
        #expect(parsed.part("text/plain") == "Plain\nhttp://x.test/a?b=c\n")
        #expect(parsed.part("text/html") == "<p>Plain</p>\n")

        let plain = MIMEMessage.build(OutgoingMail(to: "ann@example.com", subject: "Hi", text: "Only text"), from: try Sender("a@b.c"),
                                      date: Date(), messageID: "<x@b.c>", boundary: "=_b")
        let parsedPlain = try ParsedMail(String(decoding: plain, as: UTF8.self))
        #expect(parsedPlain.header("Content-Type") == "text/plain; charset=utf-8")
        #expect(parsedPlain.parts.count == 1 && parsedPlain.part("text/plain") == "Only text\n")
    }
}

/// The Subject and From headers of `message` as Python's `email` package decodes them, or
/// `nil` when python3 is not installed.
func pythonHeaders(_ message: [UInt8]) throws -> [String: String]? {
    let script = """
        import email, email.policy, json, sys
        m = email.message_from_bytes(sys.stdin.buffer.read(), policy=email.policy.default)
        sys.stdout.write(json.dumps({"subject": str(m["subject"]), "from": str(m["from"])}))
        """
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    process.arguments = ["python3", "-c", script]
    let input = Pipe(), output = Pipe()
    process.standardInput = input
    process.standardOutput = output
    do { try process.run() } catch { return nil }
    // Write from another thread: the message is larger than a pipe's buffer.
    let writer = Thread { input.fileHandleForWriting.write(Data(message)); try? input.fileHandleForWriting.close() }
    writer.start()
    let data = output.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    guard process.terminationStatus == 0 else { throw ParsedMail.ParseError("python3 could not read the message") }
    return try JSONDecoder().decode([String: String].self, from: data)
}
