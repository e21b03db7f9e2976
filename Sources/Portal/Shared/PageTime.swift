import Foundation

/// Times as pages show them, in the viewer's time zone: one place for every page.
/// (Mails use ``Accounts/formatTime(_:zone:)``, which `full` is.)
enum PageTime {
    /// "4 Dec 2026, 16:40 (Europe/Amsterdam)".
    static func full(_ t: Int64, zone: String) -> String { Accounts.formatTime(t, zone: zone) }

    /// "4 Dec 2026": the day in the viewer's zone, for tables where the full time would wrap.
    static func day(_ t: Int64, zone: String) -> String {
        let tz = Accounts.timeZone(zone)
        var local = time_t(t + Int64(tz.secondsFromGMT(for: Date(timeIntervalSince1970: TimeInterval(t)))))
        var tm = tm()
        gmtime_r(&local, &tm)
        return "\(tm.tm_mday) \(months[Int(tm.tm_mon)]) \(tm.tm_year + 1900)"
    }

    /// A `<time>` element showing the day, with the full time in its `title` (shown on hover)
    /// and the instant in `datetime`; one raw `{{{tag}}}` in a table row instead of three. The
    /// CSS keeps it on one line.
    static func compact(_ t: Int64, zone: String) -> String {
        var iso = tm()
        var raw = time_t(t)
        gmtime_r(&raw, &iso)
        func two(_ n: Int32) -> String { n < 10 ? "0\(n)" : "\(n)" }
        let datetime = "\(iso.tm_year + 1900)-\(two(iso.tm_mon + 1))-\(two(iso.tm_mday))T\(two(iso.tm_hour)):\(two(iso.tm_min)):\(two(iso.tm_sec))Z"
        return "<time datetime=\"\(datetime)\" title=\"\(escape(full(t, zone: zone)))\">\(escape(day(t, zone: zone)))</time>"
    }

    private static let months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]

    /// Zone names are letters, digits and `/_+-`, but the element is built here, so escape.
    private static func escape(_ s: String) -> String {
        s.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
            .replacingOccurrences(of: ">", with: "&gt;").replacingOccurrences(of: "\"", with: "&quot;")
    }
}
