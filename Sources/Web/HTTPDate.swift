#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// HTTP dates in the IMF-fixdate form of RFC 9110 §5.6.7: `Sun, 06 Nov 1994 08:49:37 GMT`.
public enum HTTPDate {
    private static let days = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"]
    private static let months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]

    /// Formats seconds since 1970 (UTC).
    public static func format(_ secondsSince1970: Int) -> String {
        var t = time_t(secondsSince1970)
        var tm = tm()
        gmtime_r(&t, &tm)
        func two(_ n: Int32) -> String { n < 10 ? "0\(n)" : "\(n)" }
        return "\(days[Int(tm.tm_wday)]), \(two(tm.tm_mday)) \(months[Int(tm.tm_mon)]) \(tm.tm_year + 1900) "
            + "\(two(tm.tm_hour)):\(two(tm.tm_min)):\(two(tm.tm_sec)) GMT"
    }

    /// Parses an IMF-fixdate into seconds since 1970, or nil. The obsolete RFC 850 and
    /// asctime forms are not accepted; callers treat nil as "no date".
    public static func parse(_ s: String) -> Int? {
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
