import Foundation
import Web

/// The last 30 days' volume of one currency, by day in the viewer's time zone, and its
/// drawing: an inline SVG made on the server (no script, no stylesheet needed: colours are
/// attributes, the `<title>` and `<desc>` say what it shows, each bar has its own `<title>`),
/// with the same numbers in a table for screen readers (``VolumeChart/Day``).
struct VolumeChart: Sendable {
    struct Day: Sendable {
        /// Days since 1970-01-01 in the viewer's wall time.
        let number: Int64
        /// "4 Dec".
        let label: String
        /// "2026-12-04".
        let iso: String
        var count: Int64 = 0
        var amount: Int64 = 0
    }

    let currency: Currency
    var days: [Day]

    var total: Int64 { days.reduce(0) { $0 + $1.amount } }
    var count: Int64 { days.reduce(0) { $0 + $1.count } }

    static let dayCount = 30

    /// The window in the viewer's zone: the start (UTC seconds) of each of the last 30 local
    /// days, today last, with each day's number and the offsets the rollup's hours need.
    struct Window: Sendable {
        let days: [Day]
        let fromHour: Int64
        let spans: [TransactionListStore.OffsetSpan]
    }

    static func window(now: Int64, zone: String) -> Window {
        var calendar = Calendar(identifier: .gregorian)
        let tz = PageTime.timeZone(zone)
        calendar.timeZone = tz
        let today = calendar.startOfDay(for: Date(timeIntervalSince1970: TimeInterval(now)))
        var days: [Day] = []
        var spans: [TransactionListStore.OffsetSpan] = []
        var firstStart: Int64 = 0
        for back in stride(from: dayCount - 1, through: 0, by: -1) {
            guard let date = calendar.date(byAdding: .day, value: -back, to: today) else { continue }
            let start = Int64(calendar.startOfDay(for: date).timeIntervalSince1970)
            let offset = Int64(tz.secondsFromGMT(for: Date(timeIntervalSince1970: TimeInterval(start))))
            if days.isEmpty { firstStart = start }
            // The local midnight's offset holds until the next midnight: a DST change moves
            // at most the night's first hours, which stay on the same local day either way.
            if spans.last?.offsetSeconds != offset { spans.append(.init(fromHour: start / 3600, offsetSeconds: offset)) }
            let c = calendar.dateComponents([.year, .month, .day], from: date)
            let (y, m, d) = (c.year ?? 1970, c.month ?? 1, c.day ?? 1)
            days.append(Day(number: (start + offset) / 86400, label: "\(d) \(Self.months[m - 1])",
                            iso: String(format: "%04d-%02d-%02d", y, m, d)))
        }
        return Window(days: days, fromHour: firstStart / 3600, spans: spans)
    }

    static let months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]

    // MARK: drawing

    static let width = 600, height = 160, top = 16, bottom = 24

    /// The SVG, escaped where it holds text; `id` makes its title and desc referable.
    func svg(id: String) -> String {
        let maxAmount = days.map(\.amount).max() ?? 0
        let plot = Self.height - Self.top - Self.bottom
        let slot = Double(Self.width) / Double(max(days.count, 1))
        let barWidth = max(1, slot * 0.7)
        let first = days.first?.label ?? "", last = days.last?.label ?? ""
        var s = """
            <svg xmlns="http://www.w3.org/2000/svg" class="volume-chart" viewBox="0 0 \(Self.width) \(Self.height)" width="\(Self.width)" height="\(Self.height)" role="img" aria-labelledby="\(id)-title \(id)-desc">
            <title id="\(id)-title">\(htmlEscape("\(currency.code) volume, last \(days.count) days"))</title>
            <desc id="\(id)-desc">\(htmlEscape("Daily volume from \(first) to \(last): \(Amount.display(total, currency)) in \(count) transactions; the highest day \(Amount.display(maxAmount, currency)). The table below lists every day."))</desc>
            <line x1="0" y1="\(Self.height - Self.bottom)" x2="\(Self.width)" y2="\(Self.height - Self.bottom)" stroke="#9aa3af" stroke-width="1"/>

            """
        for (i, d) in days.enumerated() {
            let h = maxAmount > 0 ? Int((Double(d.amount) / Double(maxAmount) * Double(plot)).rounded(.up)) : 0
            let x = Double(i) * slot + (slot - barWidth) / 2
            let y = Self.height - Self.bottom - h
            s += "<rect x=\"\(Self.fmt(x))\" y=\"\(y)\" width=\"\(Self.fmt(barWidth))\" height=\"\(h)\" fill=\"#2f6fed\">"
            s += "<title>\(htmlEscape("\(d.label): \(Amount.display(d.amount, currency)), \(d.count) \(d.count == 1 ? "transaction" : "transactions")"))</title></rect>\n"
        }
        s += "<text x=\"0\" y=\"12\" font-size=\"11\" fill=\"#4b5563\">\(htmlEscape(Amount.display(maxAmount, currency)))</text>\n"
        s += "<text x=\"0\" y=\"\(Self.height - 6)\" font-size=\"11\" fill=\"#4b5563\">\(htmlEscape(first))</text>\n"
        s += "<text x=\"\(Self.width)\" y=\"\(Self.height - 6)\" font-size=\"11\" fill=\"#4b5563\" text-anchor=\"end\">\(htmlEscape(last))</text>\n"
        return s + "</svg>"
    }

    private static func fmt(_ v: Double) -> String { String(format: "%.1f", v) }
}
