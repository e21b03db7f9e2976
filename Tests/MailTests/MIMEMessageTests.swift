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
