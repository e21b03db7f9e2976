import Foundation
import Synchronization
import Web

/// Times as people read them, in the reader's time zone: one place for every page, mail and
/// export. Formatted by hand from the zone's offset: a DateFormatter per call cost more than
/// the rest of a page.
enum PageTime {
    /// "4 Dec 2026, 16:40 (Europe/Amsterdam)": pages and mails.
    static func full(_ t: Int64, zone: String) -> String {
        let z = Zone(zone)
        return TimeText.string(extra: z.label.utf8.count) { writeFull(CivilTime(unixSeconds: t + z.offsetAt(t)), label: z.label, into: &$0) }
    }

    /// "4 Dec 2026": the day in the viewer's zone, for tables where the full time would wrap.
    static func day(_ t: Int64, zone: String) -> String {
        let z = Zone(zone)
        return TimeText.string { writeDay(CivilTime(unixSeconds: t + z.offsetAt(t)), into: &$0) }
    }

    /// A `<time>` element showing the day, with the full time in its `title` (shown on hover)
    /// and the instant in `datetime`; one raw `{{{tag}}}` in a table row instead of three. The
    /// CSS keeps it on one line.
    static func compact(_ t: Int64, zone: String) -> String {
        var w = HTMLWriter(capacity: 128)
        var zone = Zone(zone)
        compact(t, in: &zone, into: &w)
        return w.string
    }

    /// A reader's zone, looked up once for a table of times, with the offset of the last hour
    /// asked about: a page's rows mostly fall in one hour, and each offset asked of ICU costs
    /// more than writing the row's time.
    struct Zone {
        let tz: TimeZone
        /// What the full time shows in brackets: the identifier, UTC for GMT.
        let label: String
        /// The label escaped for an attribute (identifiers hold nothing HTML would change, but
        /// a page does not rely on that).
        let labelHTML: String
        private var hour = Int64.min
        private var hourOffset: Int64 = 0

        init(_ identifier: String) {
            tz = PageTime.timeZone(identifier)
            label = tz.identifier == "GMT" ? "UTC" : tz.identifier
            labelHTML = htmlEscape(label)
        }

        /// The zone's offset from UTC at `t`, in seconds, asked of ICU (one time alone).
        func offsetAt(_ t: Int64) -> Int64 { Int64(tz.secondsFromGMT(for: Date(timeIntervalSince1970: TimeInterval(t)))) }

        /// The zone's offset from UTC at `t`, in seconds, for one of many times.
        mutating func offset(_ t: Int64) -> Int64 {
            let h = t >= 0 ? t / 3600 : (t - 3599) / 3600
            if h == hour { return hourOffset }
            // The same offset at both ends of the hour: no change of offset inside it (no zone
            // changes and changes back within an hour), so it holds for the whole hour.
            let first = offsetAt(h * 3600)
            guard first == offsetAt(h * 3600 + 3599) else { return offsetAt(t) }
            hour = h
            hourOffset = first
            return first
        }
    }

    /// ``compact(_:zone:)`` written into a page: a list writes one per row, composed on the
    /// stack and written at once (it was some twenty calls into the page's writer a row, a
    /// tenth of a page of transactions).
    static func compact(_ t: Int64, in zone: inout Zone, into w: inout HTMLWriter) {
        let local = CivilTime(unixSeconds: t + zone.offset(t))
        TimeText.compose(extra: zone.labelHTML.utf8.count) { b in
            b.put("<time datetime=\"")
            writeISO8601(t, offset: 0, into: &b)
            b.put("\" title=\"")
            writeFull(local, label: zone.labelHTML, into: &b)
            b.put("\">")
            writeDay(local, into: &b)
            b.put("</time>")
        } use: { w.raw(trusted: $0) }
    }

    /// "4 Dec 2026" of a local date and time.
    @inline(__always) private static func writeDay(_ c: CivilTime, into b: inout TimeText) {
        b.number(c.day); b.put(UInt8(ascii: " ")); b.month(c.month); b.put(UInt8(ascii: " ")); b.number(c.year)
    }

    /// "4 Dec 2026, 16:40 (Europe/Amsterdam)" of a local date and time; `label` is written as
    /// it is (escaped already where it goes into markup).
    @inline(__always) private static func writeFull(_ c: CivilTime, label: String, into b: inout TimeText) {
        writeDay(c, into: &b)
        b.put(", "); b.two(c.hour); b.put(UInt8(ascii: ":")); b.two(c.minute)
        b.put(" ("); b.put(text: label); b.put(UInt8(ascii: ")"))
    }

    /// `2027-01-12T14:05:09Z`, or with the offset (`2027-01-12T15:05:09+01:00`).
    @inline(__always) private static func writeISO8601(_ t: Int64, offset: Int64, into b: inout TimeText) {
        let c = CivilTime(unixSeconds: t + offset)
        b.number(c.year, width: 4); b.put(UInt8(ascii: "-")); b.two(c.month); b.put(UInt8(ascii: "-")); b.two(c.day)
        b.put(UInt8(ascii: "T")); b.two(c.hour); b.put(UInt8(ascii: ":")); b.two(c.minute); b.put(UInt8(ascii: ":")); b.two(c.second)
        if offset == 0 {
            b.put(UInt8(ascii: "Z"))
        } else {
            let a = abs(offset)
            b.put(offset < 0 ? UInt8(ascii: "-") : UInt8(ascii: "+"))
            b.two(Int(a / 3600 % 100)); b.put(UInt8(ascii: ":")); b.two(Int(a % 3600 / 60))
        }
    }

    /// `2027-01-12T14:05:09Z`, or in `zone` with its offset (`2027-01-12T15:05:09+01:00`):
    /// exports and `datetime` attributes.
    static func iso8601(_ t: Int64, zone: String = "UTC") -> String {
        let offset = zone == "UTC" ? 0 : Int64(timeZone(zone).secondsFromGMT(for: Date(timeIntervalSince1970: TimeInterval(t))))
        return TimeText.string { writeISO8601(t, offset: offset, into: &$0) }
    }

    /// The zones a person may choose (the profile's list).
    static let zones: Set<String> = Set(TimeZone.knownTimeZoneIdentifiers + ["UTC"])

    private static let zoneCache = Mutex<[String: TimeZone]>([:])

    /// The zone named `identifier`, UTC for a name that is not a zone.
    static func timeZone(_ identifier: String) -> TimeZone {
        if let tz = zoneCache.withLock({ $0[identifier] }) { return tz }
        let tz = TimeZone(identifier: identifier) ?? TimeZone(identifier: "UTC")!
        if zones.contains(identifier) { zoneCache.withLock { $0[identifier] = tz } }
        return tz
    }
}

/// A time's text composed in a buffer on the stack: the few dozen bytes of a date, written
/// into a page in one piece or made one string. Holds at most ``capacity`` + the `extra`
/// asked for (a zone's label): every number fits, whatever the year.
struct TimeText {
    /// The fixed text of the longest composition (``PageTime/compact(_:in:into:)``) and three
    /// numbers of twenty digits and a sign each.
    static let capacity = 192

    private let base: UnsafeMutablePointer<UInt8>
    private(set) var count = 0

    private init(_ base: UnsafeMutablePointer<UInt8>) { self.base = base }

    /// What `body` composes, handed to `use` in place while the buffer lives.
    static func compose<R>(extra: Int = 0, _ body: (inout TimeText) -> Void, use: (UnsafeBufferPointer<UInt8>) -> R) -> R {
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: capacity + extra) { buffer in
            var b = TimeText(buffer.baseAddress!)
            body(&b)
            return use(UnsafeBufferPointer(start: buffer.baseAddress, count: b.count))
        }
    }

    /// What `body` composes, as a string.
    static func string(extra: Int = 0, _ body: (inout TimeText) -> Void) -> String {
        compose(extra: extra, body) { String(decoding: $0, as: UTF8.self) }
    }

    @inline(__always) mutating func put(_ byte: UInt8) {
        base[count] = byte
        count += 1
    }

    @inline(__always) mutating func put(_ s: StaticString) {
        s.withUTF8Buffer { b in
            (base + count).update(from: b.baseAddress!, count: b.count)
            count += b.count
        }
    }

    /// Text of the code's own (a zone's label): not a literal, which takes the StaticString way.
    mutating func put(text s: String) {
        var s = s
        s.withUTF8 { b in
            guard let p = b.baseAddress else { return }
            (base + count).update(from: p, count: b.count)
            count += b.count
        }
    }

    /// A month's short English name, "Jan" for 1.
    @inline(__always) mutating func month(_ m: Int) {
        let names: StaticString = "JanFebMarAprMayJunJulAugSepOctNovDec"
        names.withUTF8Buffer { b in
            let from = (min(max(m, 1), 12) - 1) * 3
            base[count] = b[from]
            base[count + 1] = b[from + 1]
            base[count + 2] = b[from + 2]
        }
        count += 3
    }

    /// Two digits of 0...99 (hours, minutes, months).
    @inline(__always) mutating func two(_ n: Int) {
        base[count] = UInt8(ascii: "0") + UInt8(truncatingIfNeeded: n / 10)
        base[count + 1] = UInt8(ascii: "0") + UInt8(truncatingIfNeeded: n % 10)
        count += 2
    }

    /// `n` in decimal, at least `width` digits (zero-padded), as `String(n)` pads.
    mutating func number(_ n: Int, width: Int = 1) {
        if n >= 0 && n < 10 && width <= 1 { put(UInt8(ascii: "0") + UInt8(n)); return }
        if n >= 10 && n < 100 && width <= 2 { two(n); return }
        if n >= 1000 && n < 10_000 && width <= 4 { two(n / 100); two(n % 100); return }
        var digits = 0, m = n.magnitude
        repeat { digits += 1; m /= 10 } while m > 0
        if n < 0 { put(UInt8(ascii: "-")) }
        let total = max(digits, min(width, 20))
        m = n.magnitude
        for i in stride(from: total - 1, through: 0, by: -1) {
            base[count + i] = UInt8(ascii: "0") + UInt8(m % 10)
            m /= 10
        }
        count += total
    }

}
