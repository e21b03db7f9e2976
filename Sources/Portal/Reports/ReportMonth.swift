import Foundation

/// A calendar month in an organization's time zone: `2026-11` in Europe/Amsterdam runs from
/// 2026-11-01T00:00+01:00 up to (not including) 2026-12-01T00:00+01:00. Reports cover the
/// transactions created, and the ledger entries written, in `[start, end)`.
struct ReportMonth: Hashable, Comparable, Sendable {
    let year: Int
    let month: Int
    /// Unix seconds of the first instant of the month, and of the next month, in the zone.
    let start: Int64
    let end: Int64

    /// `2026-11`: in URLs, file names and the checksums table.
    var key: String { "\(year)-\(month < 10 ? "0" : "")\(month)" }
    /// "November 2026": on the page.
    var title: String { "\(Self.names[month - 1]) \(year)" }

    /// Closed once its last instant has passed: from then on its reports never change.
    func isClosed(now: Int64) -> Bool { end <= now }

    static func < (a: ReportMonth, b: ReportMonth) -> Bool { (a.year, a.month) < (b.year, b.month) }

    init(year: Int, month: Int, zone: TimeZone) {
        self.year = year
        self.month = month
        start = Self.firstInstant(year: year, month: month, zone: zone)
        end = month == 12 ? Self.firstInstant(year: year + 1, month: 1, zone: zone) : Self.firstInstant(year: year, month: month + 1, zone: zone)
    }

    /// The month holding the instant `t` in `zone`.
    init(containing t: Int64, zone: TimeZone) {
        let c = Self.calendar(zone).dateComponents([.year, .month], from: Date(timeIntervalSince1970: TimeInterval(t)))
        self.init(year: c.year ?? 1970, month: c.month ?? 1, zone: zone)
    }

    /// `2026-11` → that month in `zone`; nil for anything else (years 2000–2999 only).
    init?(key: String, zone: TimeZone) {
        let u = Array(key.utf8)
        guard u.count == 7, u[4] == UInt8(ascii: "-"), u.enumerated().allSatisfy({ $0.offset == 4 || ($0.element >= 48 && $0.element <= 57) }),
              let y = Int(key.prefix(4)), let m = Int(key.suffix(2)), (2000...2999).contains(y), (1...12).contains(m)
        else { return nil }
        self.init(year: y, month: m, zone: zone)
    }

    /// The month after this one.
    func next(zone: TimeZone) -> ReportMonth {
        month == 12 ? ReportMonth(year: year + 1, month: 1, zone: zone) : ReportMonth(year: year, month: month + 1, zone: zone)
    }

    private static func firstInstant(year: Int, month: Int, zone: TimeZone) -> Int64 {
        // Midnight exists on the first of every month in every zone in use (DST moves at night,
        // but not across midnight on the 1st); `date(from:)` resolves a gap forward anyway.
        let d = calendar(zone).date(from: DateComponents(year: year, month: month, day: 1, hour: 0, minute: 0, second: 0))
        return Int64((d ?? Date(timeIntervalSince1970: 0)).timeIntervalSince1970)
    }

    private static func calendar(_ zone: TimeZone) -> Calendar {
        var c = Calendar(identifier: .gregorian)
        c.timeZone = zone
        return c
    }

    private static let names = ["January", "February", "March", "April", "May", "June", "July", "August", "September",
                                "October", "November", "December"]
}

/// Writes instants as ISO 8601 with the zone's offset (`2026-11-04T16:40:09+01:00`, `…Z` in
/// UTC) straight into a byte buffer, for rows by the hundred thousand. Rows come in time
/// order, so the zone is asked for its offset once per offset period (a DST transition at
/// most twice a year), not once per row.
struct LocalTimeWriter {
    let zone: TimeZone
    private var validFrom: Int64 = 1
    private var validUntil: Int64 = 0
    private var offset: Int64 = 0

    private let isUTC: Bool

    init(zone: TimeZone) {
        self.zone = zone
        isUTC = zone.identifier == "UTC" || zone.identifier == "GMT"
    }

    mutating func append(_ t: Int64, to out: inout [UInt8]) {
        if t < validFrom || t >= validUntil {
            let date = Date(timeIntervalSince1970: TimeInterval(t))
            offset = Int64(zone.secondsFromGMT(for: date))
            validFrom = t
            validUntil = zone.nextDaylightSavingTimeTransition(after: date).map { Int64($0.timeIntervalSince1970) } ?? .max
        }
        let local = t + offset
        let days = Int64((Double(local) / 86400).rounded(.down))
        let secs = local - days * 86400
        let (y, m, d) = Self.civil(days: days)
        Self.digits(y, 4, &out); out.append(0x2D)
        Self.digits(m, 2, &out); out.append(0x2D)
        Self.digits(d, 2, &out); out.append(0x54)
        Self.digits(secs / 3600, 2, &out); out.append(0x3A)
        Self.digits(secs % 3600 / 60, 2, &out); out.append(0x3A)
        Self.digits(secs % 60, 2, &out)
        if isUTC {
            out.append(0x5A) // Z; other zones always give their offset, +00:00 included
            return
        }
        out.append(offset < 0 ? 0x2D : 0x2B)
        let a = abs(offset)
        Self.digits(a / 3600, 2, &out); out.append(0x3A)
        Self.digits(a % 3600 / 60, 2, &out)
    }

    /// The text of one instant (tests, pages).
    mutating func string(_ t: Int64) -> String {
        var out: [UInt8] = []
        append(t, to: &out)
        return String(decoding: out, as: UTF8.self)
    }

    /// Year, month, day of a day count since 1970-01-01 (Howard Hinnant's `civil_from_days`).
    static func civil(days z0: Int64) -> (Int64, Int64, Int64) {
        let z = z0 + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let doe = z - era * 146_097
        let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let d = doy - (153 * mp + 2) / 5 + 1
        let m = mp < 10 ? mp + 3 : mp - 9
        return (yoe + era * 400 + (m <= 2 ? 1 : 0), m, d)
    }

    private static func digits(_ n: Int64, _ width: Int, _ out: inout [UInt8]) {
        var buf: (UInt8, UInt8, UInt8, UInt8) = (48, 48, 48, 48)
        var v = n
        withUnsafeMutableBytes(of: &buf) { b in
            var i = 3
            while v > 0 && i >= 0 {
                b[i] = UInt8(48 + v % 10)
                v /= 10
                i -= 1
            }
            out.append(contentsOf: b[(4 - width)...])
        }
    }
}
