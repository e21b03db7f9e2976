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
        // One zone lookup and one broken-down time for both texts: a list draws 25 of these.
        let (tm, tz) = local(t, zone: zone)
        let day = "\(tm.tm_mday) \(months[Int(tm.tm_mon)]) \(tm.tm_year + 1900)"
        let full = "\(day), \(two(tm.tm_hour)):\(two(tm.tm_min)) (\(tz.identifier == "GMT" ? "UTC" : tz.identifier))"
        return "<time datetime=\"\(iso8601(t))\" title=\"\(htmlEscape(full))\">\(day)</time>"
    }

    /// `2027-01-12T14:05:09Z`, or in `zone` with its offset (`2027-01-12T15:05:09+01:00`):
    /// exports and `datetime` attributes.
    static func iso8601(_ t: Int64, zone: String = "UTC") -> String {
        let offset = zone == "UTC" ? 0 : Int64(timeZone(zone).secondsFromGMT(for: Date(timeIntervalSince1970: TimeInterval(t))))
        var local = time_t(t + offset)
        var tm = tm()
        gmtime_r(&local, &tm)
        func pad(_ n: Int32, _ w: Int = 2) -> String { let s = String(n); return String(repeating: "0", count: max(0, w - s.count)) + s }
        let date = "\(pad(tm.tm_year + 1900, 4))-\(pad(tm.tm_mon + 1))-\(pad(tm.tm_mday))T\(pad(tm.tm_hour)):\(pad(tm.tm_min)):\(pad(tm.tm_sec))"
        guard offset != 0 else { return date + "Z" }
        let a = abs(offset)
        return date + (offset < 0 ? "-" : "+") + pad(Int32(a / 3600)) + ":" + pad(Int32(a % 3600 / 60))
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
