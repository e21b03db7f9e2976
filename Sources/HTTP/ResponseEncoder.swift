import Foundation
import Synchronization

/// Turns a response value into bytes on the wire: status line, `Date`, framing headers
/// (`Content-Length`, or chunked for streamed bodies), `Connection`, then the body.
/// Runs on worker threads, so the event loop only copies bytes to sockets.
enum ResponseEncoder {
    /// Encodes the head of `response`. `bodyLength` nil means a streamed body.
    static func head(_ response: HTTPResponse, version: HTTPVersion, keepAlive: Bool,
                     bodyLength: Int?, chunked: Bool, into out: inout [UInt8]) {
        out.append(contentsOf: version.minor == 0 ? http10 : http11)
        appendDecimal(response.status.code, to: &out)
        out.append(0x20)
        out.append(contentsOf: response.status.reason.utf8)
        out.append(contentsOf: crlf)
        for f in response.headers {
            // Framing is ours to decide; a handler's own framing fields are dropped,
            // except an explicit Content-Length on a HEAD/304 answer (body-less).
            if asciiCaseInsensitiveEquals(f.name, "Transfer-Encoding") || asciiCaseInsensitiveEquals(f.name, "Connection") { continue }
            if asciiCaseInsensitiveEquals(f.name, "Content-Length") && bodyLength != nil { continue }
            if asciiCaseInsensitiveEquals(f.name, "Date") { continue }
            appendField(f.name, f.value, to: &out)
        }
        out.append(contentsOf: HTTPDate.shared.fieldBytes())
        if let bodyLength {
            out.append(contentsOf: contentLengthPrefix)
            appendDecimal(bodyLength, to: &out)
            out.append(contentsOf: crlf)
        } else if chunked {
            out.append(contentsOf: chunkedField)
        }
        if !keepAlive {
            out.append(contentsOf: closeField)
        } else if version.minor == 0 {
            out.append(contentsOf: keepAliveField)
        }
        out.append(contentsOf: crlf)
    }

    /// Appends a field, dropping CR, LF and NUL so a handler can never split a response.
    static func appendField(_ name: String, _ value: String, to out: inout [UInt8]) {
        // Bulk copies in the usual case, scanning the string's own bytes (native strings are
        // contiguous: this runs for every field of every response); byte-by-byte filtering
        // only for a bad field.
        let nameCopied = name.utf8.withContiguousStorageIfAvailable { b -> Bool in
            for x in b where !isTokenByte(x) { return false }
            out.append(contentsOf: b)
            return true
        }
        if nameCopied != true {
            for b in name.utf8 where isTokenByte(b) { out.append(b) }
        }
        out.append(0x3A); out.append(0x20)
        let valueCopied = value.utf8.withContiguousStorageIfAvailable { b -> Bool in
            if containsLineBreakOrNUL(b) { return false }
            out.append(contentsOf: b)
            return true
        }
        if valueCopied != true {
            for b in value.utf8 where b != 0x0D && b != 0x0A && b != 0x00 { out.append(b) }
        }
        out.append(0x0D); out.append(0x0A)
    }

    /// Whether `b` holds a CR, LF or NUL. Eight bytes at a time: a word with no byte below
    /// 0x0E has none of them, and only a word with one is looked at byte by byte (values such
    /// as the content security policy run to hundreds of bytes, and a byte-by-byte scan of
    /// every field was ~4,000 instructions a response).
    static func containsLineBreakOrNUL(_ b: UnsafeBufferPointer<UInt8>) -> Bool {
        guard let base = b.baseAddress else { return false }
        let raw = UnsafeRawPointer(base)
        let n = b.count
        var i = 0
        while i + 8 <= n {
            let v = raw.loadUnaligned(fromByteOffset: i, as: UInt64.self)
            // Set in some byte's top bit if a byte is below 0x0E (exact as to whether one is;
            // which bytes it flags does not matter, they are checked one by one).
            if (v &- 0x0E0E_0E0E_0E0E_0E0E) & ~v & 0x8080_8080_8080_8080 != 0 {
                for j in i..<(i + 8) where b[j] == 0x0D || b[j] == 0x0A || b[j] == 0x00 { return true }
            }
            i += 8
        }
        while i < n {
            if b[i] == 0x0D || b[i] == 0x0A || b[i] == 0x00 { return true }
            i += 1
        }
        return false
    }

    static func appendDecimal(_ n: Int, to out: inout [UInt8]) {
        if n < 10 { out.append(UInt8(0x30 + n)); return }
        var digits: (UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8,
                     UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8) =
            (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
        var count = 0
        var v = n
        withUnsafeMutableBytes(of: &digits) { d in
            while v > 0 && count < 20 {
                d[19 - count] = UInt8(0x30 + v % 10)
                v /= 10
                count += 1
            }
            out.append(contentsOf: d[(20 - count)...])
        }
    }

    static func chunkHeader(_ size: Int, into out: inout [UInt8]) {
        out.append(contentsOf: Array(String(size, radix: 16).utf8))
        out.append(contentsOf: crlf)
    }

    static let http11 = Array("HTTP/1.1 ".utf8)
    static let http10 = Array("HTTP/1.0 ".utf8)
    static let crlf: [UInt8] = [0x0D, 0x0A]
    static let contentLengthPrefix = Array("Content-Length: ".utf8)
    static let chunkedField = Array("Transfer-Encoding: chunked\r\n".utf8)
    static let closeField = Array("Connection: close\r\n".utf8)
    static let keepAliveField = Array("Connection: keep-alive\r\n".utf8)
    static let lastChunk = Array("0\r\n\r\n".utf8)
    static let continueResponse = Array("HTTP/1.1 100 Continue\r\n\r\n".utf8)
}

/// The IMF-fixdate for `Date` headers, formatted at most once a second.
final class HTTPDate: Sendable {
    static let shared = HTTPDate()
    private let cache = Mutex<(second: Int, bytes: [UInt8])>((-1, []))

    /// `Date: <IMF-fixdate>\r\n`
    func fieldBytes() -> [UInt8] {
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME_COARSE, &ts)
        let now = ts.tv_sec
        return cache.withLock { c in
            if c.second != now {
                c = (now, Array("Date: \(HTTPDate.format(time_t(now)))\r\n".utf8))
            }
            return c.bytes
        }
    }

    static let days = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"]
    static let months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]

    /// Formats a UNIX time as an IMF-fixdate (`Sun, 06 Nov 1994 08:49:37 GMT`).
    static func format(_ t: time_t) -> String {
        var t = t
        var tm = tm()
        gmtime_r(&t, &tm)
        func two(_ n: Int32) -> String { n < 10 ? "0\(n)" : "\(n)" }
        return "\(days[Int(tm.tm_wday)]), \(two(tm.tm_mday)) \(months[Int(tm.tm_mon)]) \(tm.tm_year + 1900) \(two(tm.tm_hour)):\(two(tm.tm_min)):\(two(tm.tm_sec)) GMT"
    }

    /// Parses an IMF-fixdate into seconds since 1970, or nil. The obsolete RFC 850 and
    /// asctime forms are not accepted; callers treat nil as "no date".
    static func parse(_ s: String) -> Int? {
        // "Sun, 06 Nov 1994 08:49:37 GMT"
        let u = Array(s.utf8)
        guard u.count == 29, u[3] == UInt8(ascii: ","), u[4] == 32, u[7] == 32, u[11] == 32, u[16] == 32,
            u[19] == UInt8(ascii: ":"), u[22] == UInt8(ascii: ":"), u[25] == 32,
            String(decoding: u[26...], as: UTF8.self) == "GMT"
        else { return nil }
        func num(_ r: Range<Int>) -> Int? {
            var n = 0
            for i in r {
                guard u[i] >= 48 && u[i] <= 57 else { return nil }
                n = n * 10 + Int(u[i] - 48)
            }
            return n
        }
        let monthName = String(decoding: u[8..<11], as: UTF8.self)
        guard let day = num(5..<7), let month = months.firstIndex(of: monthName), let year = num(12..<16),
            let hour = num(17..<19), let minute = num(20..<22), let second = num(23..<25),
            (1...31).contains(day), hour < 24, minute < 60, second < 61
        else { return nil }
        var tm = tm()
        tm.tm_year = Int32(year - 1900)
        tm.tm_mon = Int32(month)
        tm.tm_mday = Int32(day)
        tm.tm_hour = Int32(hour)
        tm.tm_min = Int32(minute)
        tm.tm_sec = Int32(second)
        return Int(timegm(&tm))
    }
}

/// Public formatting helpers for other layers (Last-Modified, If-Modified-Since).
public enum HTTPDateFormat {
    public static func string(from unixTime: Int) -> String { HTTPDate.format(time_t(unixTime)) }
    public static func unixTime(from string: String) -> Int? { HTTPDate.parse(string) }
}
