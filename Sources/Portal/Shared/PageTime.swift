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
        var w = HTMLWriter(capacity: 64)
        writeFull(CivilTime(unixSeconds: t + z.offsetAt(t)), label: z.label, into: &w)
        return w.string
    }

    /// "4 Dec 2026": the day in the viewer's zone, for tables where the full time would wrap.
    static func day(_ t: Int64, zone: String) -> String {
        let z = Zone(zone)
        var w = HTMLWriter(capacity: 16)
        writeDay(CivilTime(unixSeconds: t + z.offsetAt(t)), into: &w)
        return w.string
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

    /// ``compact(_:zone:)`` written into a page: a list writes one per row.
    static func compact(_ t: Int64, in zone: inout Zone, into w: inout HTMLWriter) {
        let local = CivilTime(unixSeconds: t + zone.offset(t))
        w.raw("<time datetime=\"")
        writeISO8601(t, offset: 0, into: &w)
        w.raw("\" title=\"")
        writeFull(local, label: zone.labelHTML, into: &w)
        w.raw("\">")
        writeDay(local, into: &w)
        w.raw("</time>")
    }

    /// "4 Dec 2026" of a local date and time.
    private static func writeDay(_ c: CivilTime, into w: inout HTMLWriter) {
        w.integer(c.day); w.byte(UInt8(ascii: " ")); w.raw(months[c.month - 1]); w.byte(UInt8(ascii: " ")); w.integer(c.year)
    }

    /// "4 Dec 2026, 16:40 (Europe/Amsterdam)" of a local date and time; `label` is written as
    /// it is (escaped already where it goes into markup).
    private static func writeFull(_ c: CivilTime, label: String, into w: inout HTMLWriter) {
        writeDay(c, into: &w)
        w.raw(", "); w.integer(c.hour, width: 2); w.byte(UInt8(ascii: ":")); w.integer(c.minute, width: 2)
        w.raw(" ("); w.raw(trusted: label); w.raw(")")
    }

    /// `2027-01-12T14:05:09Z`, or with the offset (`2027-01-12T15:05:09+01:00`).
    private static func writeISO8601(_ t: Int64, offset: Int64, into w: inout HTMLWriter) {
        let c = CivilTime(unixSeconds: t + offset)
        w.integer(c.year, width: 4); w.byte(UInt8(ascii: "-")); w.integer(c.month, width: 2); w.byte(UInt8(ascii: "-")); w.integer(c.day, width: 2)
        w.byte(UInt8(ascii: "T")); w.integer(c.hour, width: 2); w.byte(UInt8(ascii: ":")); w.integer(c.minute, width: 2)
        w.byte(UInt8(ascii: ":")); w.integer(c.second, width: 2)
        if offset == 0 {
            w.byte(UInt8(ascii: "Z"))
        } else {
            let a = abs(offset)
            w.byte(offset < 0 ? UInt8(ascii: "-") : UInt8(ascii: "+"))
            w.integer(a / 3600, width: 2); w.byte(UInt8(ascii: ":")); w.integer(a % 3600 / 60, width: 2)
        }
    }

    private static let months: [StaticString] = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]

    /// `2027-01-12T14:05:09Z`, or in `zone` with its offset (`2027-01-12T15:05:09+01:00`):
    /// exports and `datetime` attributes.
    static func iso8601(_ t: Int64, zone: String = "UTC") -> String {
        let offset = zone == "UTC" ? 0 : Int64(timeZone(zone).secondsFromGMT(for: Date(timeIntervalSince1970: TimeInterval(t))))
        var w = HTMLWriter(capacity: 32)
        writeISO8601(t, offset: offset, into: &w)
        return w.string
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
