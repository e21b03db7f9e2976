import Foundation

/// Builds the RFC 5322 / MIME text of a mail, as handed to SMTP `DATA`.
///
/// - Headers: `Date`, `From`, `To`, `Subject`, `Message-ID`, `MIME-Version`,
///   `Auto-Submitted: auto-generated` (RFC 3834: no auto-replies, please), then the content
///   headers. Non-ASCII text in `Subject` and the sender's display name becomes RFC 2047
///   encoded-words (`=?UTF-8?B?…?=`, at most 75 characters, each holding whole UTF-8
///   sequences), one per line; every header line is folded to at most 78 characters.
/// - Body: `text/plain` alone, or `multipart/alternative` with `text/plain` then `text/html`
///   (the last part is the preferred one), both UTF-8 and quoted-printable, so every line
///   stays ASCII and under 77 characters whatever the content.
/// - Every line ends in CRLF. Dot-stuffing is *not* done here: libcurl's SMTP upload escapes
///   a `.` at the start of a line itself (and writes the final `CRLF.CRLF`); stuffing here
///   too would double the dots. The tests send lines consisting of `.` to check this.
///
/// Callers validate the mail first (``OutgoingMail/validate()``): this type trusts that the
/// recipient and subject hold no line breaks.
enum MIMEMessage {
    static func build(_ mail: OutgoingMail, from sender: Sender, date: Date, messageID: String, boundary: String) -> [UInt8] {
        var m = ""
        m += "Date: \(rfc5322Date(date))\r\n"
        m += "From: \(senderHeader(sender))\r\n"
        m += "To: \(mail.to)\r\n"
        m += headerLine(name: "Subject", value: mail.subject)
        m += "Message-ID: \(messageID)\r\n"
        m += "MIME-Version: 1.0\r\n"
        m += "Auto-Submitted: auto-generated\r\n"
        if let html = mail.html {
            m += "Content-Type: multipart/alternative; boundary=\"\(boundary)\"\r\n"
            m += "\r\n"
            m += "This is a multi-part message in MIME format.\r\n"
            m += "--\(boundary)\r\n"
            m += part(contentType: "text/plain; charset=utf-8", body: mail.text)
            m += "--\(boundary)\r\n"
            m += part(contentType: "text/html; charset=utf-8", body: html)
            m += "--\(boundary)--\r\n"
        } else {
            m += "Content-Type: text/plain; charset=utf-8\r\n"
            m += "Content-Transfer-Encoding: quoted-printable\r\n"
            m += "\r\n"
            m += terminated(quotedPrintable(mail.text))
        }
        return Array(m.utf8)
    }

    /// A body part. The CRLF before the next boundary belongs to the boundary (RFC 2046
    /// §5.1.1), so it is added after the content, which keeps its own final line end.
    private static func part(contentType: String, body: String) -> String {
        "Content-Type: \(contentType)\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n" + quotedPrintable(body) + "\r\n"
    }

    private static func terminated(_ s: String) -> String {
        s.hasSuffix("\r\n") ? s : s + "\r\n"
    }

    /// A boundary that cannot occur in quoted-printable or base64 text (`=_` is neither).
    static func makeBoundary() -> String {
        "=_portal_" + randomHex(bytes: 12)
    }

    static func randomHex(bytes: Int) -> String {
        var rng = SystemRandomNumberGenerator()
        var out = ""
        for _ in 0..<bytes {
            let b = UInt8.random(in: 0...255, using: &rng)
            out += hexDigits[Int(b >> 4)] + hexDigits[Int(b & 0xF)]
        }
        return out
    }

    private static let hexDigits = ["0", "1", "2", "3", "4", "5", "6", "7", "8", "9", "a", "b", "c", "d", "e", "f"]

    // MARK: - Headers

    /// RFC 5322's recommended line length, which every header line here keeps to.
    static let maximumLineLength = 78
    /// RFC 2047 §2: an encoded-word is at most 75 characters.
    static let maximumEncodedWordLength = 75

    /// `Name: value\r\n`, folded so that no line exceeds 78 characters: plain ASCII is
    /// folded at spaces; anything else — non-ASCII, text containing `=?` (which a reader would
    /// take for the start of an encoded-word), or a word too long to fit a line — becomes
    /// RFC 2047 encoded-words, one per line. Header names must be short (`Subject`, `From`).
    static func headerLine(name: String, value: String) -> String {
        var out = name + ":"
        let words = value.split(separator: " ", omittingEmptySubsequences: false)
        let plain = value.utf8.allSatisfy { $0 >= 0x20 && $0 < 0x7F } && !value.contains("=?")
            && words.enumerated().allSatisfy { i, word in (i == 0 ? out.utf8.count : 0) + 1 + word.utf8.count <= maximumLineLength }
        if plain {
            // Folding turns a space into CRLF + that space, which unfolding (dropping the
            // CRLF) undoes exactly.
            var lineLength = out.utf8.count
            for (i, word) in words.enumerated() {
                if i > 0 && !word.isEmpty && lineLength + 1 + word.utf8.count > maximumLineLength {
                    out += "\r\n " + word
                    lineLength = 1 + word.utf8.count
                } else {
                    out += " " + word
                    lineLength += 1 + word.utf8.count
                }
            }
        } else {
            // Whitespace between adjacent encoded-words is ignored when decoding.
            out += " " + encodedWords(value, firstLineUsed: out.utf8.count + 1).joined(separator: "\r\n ")
        }
        return out + "\r\n"
    }

    /// RFC 2047 `B` encoded-words for `text`, each at most 75 characters and each fitting its
    /// line: the first after `firstLineUsed` characters, the others after the one space that
    /// folding puts first. A word holds whole Unicode scalars (a UTF-8 sequence is never
    /// split); a grapheme may continue in the next word, which decoders join back, so a
    /// "character" carrying a thousand combining marks still makes short words.
    static func encodedWords(_ text: String, firstLineUsed: Int = 1) -> [String] {
        var words: [String] = []
        var chunk: [UInt8] = []
        var capacity = encodedWordCapacity(room: maximumLineLength - firstLineUsed)
        for scalar in text.unicodeScalars {
            let bytes = Array(String(scalar).utf8)
            if !chunk.isEmpty && chunk.count + bytes.count > capacity {
                words.append(encodedWord(chunk))
                chunk.removeAll(keepingCapacity: true)
                capacity = encodedWordCapacity(room: maximumLineLength - 1)
            }
            chunk += bytes
        }
        if !chunk.isEmpty || words.isEmpty { words.append(encodedWord(chunk)) }
        return words
    }

    /// How many bytes one encoded-word can carry in `room` characters: `=?UTF-8?B?` and `?=`
    /// take 12, base64 makes 4 characters of each 3 bytes. At least 4 bytes (one scalar).
    static func encodedWordCapacity(room: Int) -> Int {
        let base64 = (min(room, maximumEncodedWordLength) - 12) / 4 * 4
        return max(4, base64 / 4 * 3)
    }

    private static func encodedWord(_ bytes: [UInt8]) -> String {
        "=?UTF-8?B?" + Data(bytes).base64EncodedString() + "?="
    }

    /// `"Display Name" <address>`, `=?UTF-8?B?…?= <address>` or just the address, after
    /// `From: `.
    static func senderHeader(_ sender: Sender) -> String {
        guard let name = sender.name else { return sender.address }
        if name.utf8.allSatisfy({ $0 >= 0x20 && $0 < 0x7F }) && !name.contains("=?") {
            return "\"\(name)\" <\(sender.address)>" // Sender refuses `"` and `\` in names
        }
        let words = encodedWords(name, firstLineUsed: "From: ".utf8.count)
        // The address goes on a line of its own when it would push the last word's line over.
        let fits = (words.count == 1 ? "From: ".utf8.count : 1) + words.last!.utf8.count + " <>".utf8.count + sender.address.utf8.count <= maximumLineLength
        return words.joined(separator: "\r\n ") + (fits ? " " : "\r\n ") + "<\(sender.address)>"
    }

    /// `Tue, 01 Jul 2025 09:05:00 +0000`.
    static func rfc5322Date(_ date: Date) -> String {
        var t = time_t(date.timeIntervalSince1970.rounded(.down))
        var parts = tm()
        gmtime_r(&t, &parts)
        let days = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"]
        let months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
        func two(_ n: Int32) -> String { n < 10 ? "0\(n)" : "\(n)" }
        return "\(days[Int(parts.tm_wday)]), \(two(parts.tm_mday)) \(months[Int(parts.tm_mon)]) \(parts.tm_year + 1900) "
            + "\(two(parts.tm_hour)):\(two(parts.tm_min)):\(two(parts.tm_sec)) +0000"
    }

    // MARK: - Quoted-printable

    /// RFC 2045 quoted-printable of the UTF-8 bytes of `text`. Line ends (`\n`, `\r\n` or a
    /// lone `\r`) become CRLF hard breaks; lines longer than 76 characters get soft breaks
    /// (`=` CRLF); `=`, non-ASCII, control bytes and a space or tab ending a line are escaped.
    static func quotedPrintable(_ text: String) -> String {
        var out: [UInt8] = []
        out.reserveCapacity(text.utf8.count + text.utf8.count / 8)
        let lines = normalizedLines(text)
        for (index, line) in lines.enumerated() {
            var lineLength = 0
            for (j, byte) in line.enumerated() {
                let last = j == line.count - 1
                let literal = (byte >= 33 && byte <= 126 && byte != UInt8(ascii: "="))
                    || ((byte == 0x20 || byte == 0x09) && !last)
                let width = literal ? 1 : 3
                if lineLength + width > 75 {
                    out += [UInt8(ascii: "="), 0x0D, 0x0A]
                    lineLength = 0
                }
                if literal {
                    out.append(byte)
                } else {
                    out += [UInt8(ascii: "="), upperHex[Int(byte >> 4)], upperHex[Int(byte & 0xF)]]
                }
                lineLength += width
            }
            if index < lines.count - 1 { out += [0x0D, 0x0A] }
        }
        return String(decoding: out, as: UTF8.self)
    }

    private static let upperHex = Array("0123456789ABCDEF".utf8)

    /// The lines of `text` as bytes, split at `\r\n`, `\n` or `\r`; a final line end yields a
    /// last, empty line.
    static func normalizedLines(_ text: String) -> [[UInt8]] {
        var lines: [[UInt8]] = []
        var current: [UInt8] = []
        var previousCR = false
        for byte in text.utf8 {
            if byte == 0x0A && previousCR {
                previousCR = false
                continue
            }
            previousCR = byte == 0x0D
            if byte == 0x0A || byte == 0x0D {
                lines.append(current)
                current.removeAll(keepingCapacity: true)
            } else {
                current.append(byte)
            }
        }
        lines.append(current)
        return lines
    }
}
