import Foundation
import Synchronization
import Web

/// Times as people read them, in the reader's time zone: one place for every page, mail and
/// export. Formatted by hand from the zone's offset: a DateFormatter per call cost more than
/// the rest of a page.
enum PageTime {
    /// "4 Dec 2026, 16:40 (Europe/Amsterdam)": pages and mails.
    static func full(_ t: Int64, zone: String) -> String {
        let (tm, tz) = local(t, zone: zone)
        return "\(tm.tm_mday) \(months[Int(tm.tm_mon)]) \(tm.tm_year + 1900), \(two(tm.tm_hour)):\(two(tm.tm_min)) (\(tz.identifier == "GMT" ? "UTC" : tz.identifier))"
    }

    /// "4 Dec 2026": the day in the viewer's zone, for tables where the full time would wrap.
    static func day(_ t: Int64, zone: String) -> String {
        let (tm, _) = local(t, zone: zone)
        return "\(tm.tm_mday) \(months[Int(tm.tm_mon)]) \(tm.tm_year + 1900)"
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
        private var hour = Int64.min
        private var hourOffset: Int64 = 0

        init(_ identifier: String) {
            tz = PageTime.timeZone(identifier)
            label = tz.identifier == "GMT" ? "UTC" : tz.identifier
        }

        private func ask(_ t: Int64) -> Int64 { Int64(tz.secondsFromGMT(for: Date(timeIntervalSince1970: TimeInterval(t)))) }

        /// The zone's offset from UTC at `t`, in seconds.
        mutating func offset(_ t: Int64) -> Int64 {
            let h = t >= 0 ? t / 3600 : (t - 3599) / 3600
            if h == hour { return hourOffset }
            // The same offset at both ends of the hour: no change of offset inside it (no zone
            // changes and changes back within an hour), so it holds for the whole hour.
            let first = ask(h * 3600)
            guard first == ask(h * 3600 + 3599) else { return ask(t) }
            hour = h
            hourOffset = first
            return first
        }
    }

    /// ``compact(_:zone:)`` written into a page: a list writes one per row.
    static func compact(_ t: Int64, in zone: inout Zone, into w: inout HTMLWriter) {
        let utc = CivilTime(unixSeconds: t)
        let local = CivilTime(unixSeconds: t + zone.offset(t))
        func day(_ c: CivilTime) {
            w.integer(c.day); w.byte(UInt8(ascii: " ")); w.raw(monthBytes[c.month - 1]); w.byte(UInt8(ascii: " ")); w.integer(c.year)
        }
        w.raw("<time datetime=\"")
        w.integer(utc.year, width: 4); w.byte(UInt8(ascii: "-")); w.integer(utc.month, width: 2); w.byte(UInt8(ascii: "-")); w.integer(utc.day, width: 2)
        w.byte(UInt8(ascii: "T")); w.integer(utc.hour, width: 2); w.byte(UInt8(ascii: ":")); w.integer(utc.minute, width: 2)
        w.byte(UInt8(ascii: ":")); w.integer(utc.second, width: 2); w.raw("Z\" title=\"")
        day(local)
        w.raw(", "); w.integer(local.hour, width: 2); w.byte(UInt8(ascii: ":")); w.integer(local.minute, width: 2)
        w.raw(" ("); w.text(zone.label); w.raw(")\">")
        day(local)
        w.raw("</time>")
    }

    private static let monthBytes: [StaticString] = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]

    /// `2027-01-12T14:05:09Z`, or in `zone` with its offset (`2027-01-12T15:05:09+01:00`):
    /// exports and `datetime` attributes.
    static func iso8601(_ t: Int64, zone: String = "UTC") -> String {
        let offset = zone == "UTC" ? 0 : Int64(timeZone(zone).secondsFromGMT(for: Date(timeIntervalSince1970: TimeInterval(t))))
        var local = time_t(t + offset)
        var tm = tm()
        gmtime_r(&local, &tm)
        // Written digit by digit: exports write one per row and cell, lists one per row.
        var bytes: [UInt8] = []
        bytes.reserveCapacity(25)
        func digits(_ n: Int32, _ width: Int) {
            var n = Int(max(n, 0)), place = 1
            for _ in 1..<width { place *= 10 }
            if n >= place * 10 { bytes.append(contentsOf: String(n).utf8); return }
            while place > 0 { bytes.append(UInt8(48 + n / place)); n %= place; place /= 10 }
        }
        digits(tm.tm_year + 1900, 4); bytes.append(45); digits(tm.tm_mon + 1, 2); bytes.append(45); digits(tm.tm_mday, 2)
        bytes.append(84); digits(tm.tm_hour, 2); bytes.append(58); digits(tm.tm_min, 2); bytes.append(58); digits(tm.tm_sec, 2)
        if offset == 0 {
            bytes.append(90)
        } else {
            let a = abs(offset)
            bytes.append(offset < 0 ? 45 : 43); digits(Int32(a / 3600), 2); bytes.append(58); digits(Int32(a % 3600 / 60), 2)
        }
        return String(decoding: bytes, as: UTF8.self)
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

    /// The broken-down time of `t` in `zone`, and the zone.
    private static func local(_ t: Int64, zone: String) -> (tm, TimeZone) {
        let tz = timeZone(zone)
        var local = time_t(t + Int64(tz.secondsFromGMT(for: Date(timeIntervalSince1970: TimeInterval(t)))))
        var tm = tm()
        gmtime_r(&local, &tm)
        return (tm, tz)
    }

    private static func two(_ n: Int32) -> String { n < 10 ? "0\(n)" : "\(n)" }

    private static let months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
}
