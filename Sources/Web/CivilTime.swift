/// A unix time's date and time of day in the proleptic Gregorian calendar: what `gmtime_r`
/// gives, without the call and its `tm`. In UTC; add a zone's offset to the time first for
/// its local date and time.
public struct CivilTime: Sendable, Equatable {
    public let year: Int
    /// 1...12
    public let month: Int
    /// 1...31
    public let day: Int
    public let hour: Int
    public let minute: Int
    public let second: Int

    public init(unixSeconds: Int64) {
        let days = unixSeconds >= 0 ? unixSeconds / 86_400 : (unixSeconds - 86_399) / 86_400
        let secs = Int(unixSeconds - days * 86_400)
        // Howard Hinnant's civil_from_days.
        let z = days + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let doe = z - era * 146_097
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        day = Int(doy - (153 * mp + 2) / 5 + 1)
        month = Int(mp < 10 ? mp + 3 : mp - 9)
        year = Int(yoe + era * 400 + (month <= 2 ? 1 : 0))
        hour = secs / 3600
        minute = secs / 60 % 60
        second = secs % 60
    }
}
