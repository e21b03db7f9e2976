import Foundation
import Web

/// The last 30 days' volume of one currency, by day in the viewer's time zone, and its
/// drawing: an inline SVG made on the server (no script, no stylesheet needed: colours are
/// attributes, the `<title>` and `<desc>` say what it shows, each bar has its own `<title>`),
/// linked to the same numbers as a table on the volume page (``VolumeChart/Day``).
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

    /// Plain arithmetic on the zone's offsets (Foundation's calendar cost more than the rest of
    /// the page): day numbers are days since 1970 in local wall time, each day's start is the
    /// UTC second at which its local midnight falls.
    /// The window's first hour alone, as `window(now:zone:).fromHour` gives it, without the
    /// thirty days' labels: what a dashboard view needs to find its kept part.
    static func firstHour(now: Int64, zone: String) -> Int64 {
        let tz = PageTime.timeZone(zone)
        func offset(_ t: Int64) -> Int64 { Int64(tz.secondsFromGMT(for: Date(timeIntervalSince1970: TimeInterval(t)))) }
        func floorDiv(_ a: Int64, _ b: Int64) -> Int64 { a >= 0 ? a / b : -((-a + b - 1) / b) }
        let number = floorDiv(now + offset(now), 86400) - Int64(dayCount) + 1
        var start = number * 86400 - offset(number * 86400 - offset(now))
        start = number * 86400 - offset(start)
        return floorDiv(start, 3600)
    }

    static func window(now: Int64, zone: String) -> Window {
        let tz = PageTime.timeZone(zone)
        func offset(_ t: Int64) -> Int64 { Int64(tz.secondsFromGMT(for: Date(timeIntervalSince1970: TimeInterval(t)))) }
        func floorDiv(_ a: Int64, _ b: Int64) -> Int64 { a >= 0 ? a / b : -((-a + b - 1) / b) }
        let today = floorDiv(now + offset(now), 86400)
        var days: [Day] = []
        var spans: [TransactionListStore.OffsetSpan] = []
        var firstStart: Int64 = 0
        for number in (today - Int64(dayCount) + 1)...today {
            // The offset at midnight itself (a DST change may lie between it and now).
            var start = number * 86400 - offset(number * 86400 - offset(now))
            start = number * 86400 - offset(start)
            let o = offset(start)
            if days.isEmpty { firstStart = start }
            // The local midnight's offset holds until the next midnight: a DST change moves
            // at most the night's first hours, which stay on the same local day either way.
            if spans.last?.offsetSeconds != o { spans.append(.init(fromHour: floorDiv(start, 3600), offsetSeconds: o)) }
            var t = time_t(number * 86400)
            var tm = tm()
            gmtime_r(&t, &tm)
            let (y, m, d) = (Int(tm.tm_year) + 1900, Int(tm.tm_mon) + 1, Int(tm.tm_mday))
            days.append(Day(number: number, label: "\(d) \(Self.months[m - 1])", iso: "\(y)-\(m < 10 ? "0" : "")\(m)-\(d < 10 ? "0" : "")\(d)"))
        }
        return Window(days: days, fromHour: floorDiv(firstStart, 3600), spans: spans)
    }

    static let months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]

    // MARK: drawing

    /// The whole figure: caption, drawing, and a link to the same numbers as a table on the
    /// volume page (`tableURL`, ``table(id:)``). Made here rather than in the template because
    /// it is cached with the numbers (``RollupCache``). The tables lived hidden inside the
    /// figures once: eight currencies' tables were a third of the dashboard's bytes, sent on
    /// every view to be read by nobody but a screen reader, which now follows the link.
    func figure(id: String, tableURL: String) -> String {
        var s = "<figure class=\"card chart\">\n  <figcaption><strong>\(currency.code)</strong>: \(htmlEscape(Amount.display(total, currency))) in \(count) transactions</figcaption>\n"
        s += svg(id: id)
        return s + "\n  <p class=\"hint\"><a href=\"\(htmlEscape(tableURL))#\(id)\">\(currency.code) volume per day as a table</a></p>\n</figure>"
    }

    /// The chart's numbers as a table (newest day first), for the volume page; `id` is the
    /// anchor the dashboard's figure links to.
    func table(id: String) -> String {
        var s = "<table class=\"table volume\" id=\"\(id)\">\n  <caption>\(currency.code) volume per day, last \(days.count) days, newest first: "
        s += "\(htmlEscape(Amount.display(total, currency))) in \(count) transactions</caption>\n"
        s += "  <thead><tr><th scope=\"col\">Day</th><th scope=\"col\" class=\"num\">Volume</th><th scope=\"col\" class=\"num\">Transactions</th></tr></thead>\n  <tbody>\n"
        for d in days.reversed() {
            s += "<tr><th scope=\"row\"><time datetime=\"\(d.iso)\">\(d.label)</time></th><td class=\"num\">\(htmlEscape(Amount.display(d.amount, currency)))</td><td class=\"num\">\(d.count)</td></tr>\n"
        }
        return s + "  </tbody>\n</table>"
    }

    static let width = 600, height = 160, top = 16, bottom = 24

    /// The SVG, escaped where it holds text; `id` makes its title and desc referable.
    func svg(id: String) -> String {
        let maxAmount = days.map(\.amount).max() ?? 0
        let plot = Self.height - Self.top - Self.bottom
        let slot = Self.width / max(days.count, 1)
        let barWidth = max(1, slot * 7 / 10)
        let first = days.first?.label ?? "", last = days.last?.label ?? ""
        var s = """
            <svg xmlns="http://www.w3.org/2000/svg" class="volume-chart" viewBox="0 0 \(Self.width) \(Self.height)" width="\(Self.width)" height="\(Self.height)" role="img" aria-labelledby="\(id)-title \(id)-desc">
            <title id="\(id)-title">\(htmlEscape("\(currency.code) volume, last \(days.count) days"))</title>
            <desc id="\(id)-desc">\(htmlEscape("Daily volume from \(first) to \(last): \(Amount.display(total, currency)) in \(count) transactions; the highest day \(Amount.display(maxAmount, currency)). The volume page lists every day."))</desc>
            <line x1="0" y1="\(Self.height - Self.bottom)" x2="\(Self.width)" y2="\(Self.height - Self.bottom)" stroke="#9aa3af" stroke-width="1"/>
            <g fill="#2f6fed">

            """
        s.reserveCapacity(200 * days.count + 1000)
        for (i, d) in days.enumerated() {
            // Rounded up, so a day with any volume shows at least one pixel.
            let h = maxAmount > 0 ? Int((Double(d.amount) / Double(maxAmount) * Double(plot)).rounded(.up)) : 0
            let x = i * slot + (slot - barWidth) / 2
            s += "<rect x=\"\(x)\" y=\"\(Self.height - Self.bottom - h)\" width=\"\(barWidth)\" height=\"\(h)\">"
            s += "<title>\(htmlEscape("\(d.label): \(Amount.display(d.amount, currency)), \(d.count) \(d.count == 1 ? "transaction" : "transactions")"))</title></rect>\n"
        }
        // The bars share one fill: eight charts of thirty bars are much of the dashboard's bytes.
        s += "</g>\n<text x=\"0\" y=\"12\" font-size=\"11\" fill=\"#4b5563\">\(htmlEscape(Amount.display(maxAmount, currency)))</text>\n"
        s += "<text x=\"0\" y=\"\(Self.height - 6)\" font-size=\"11\" fill=\"#4b5563\">\(htmlEscape(first))</text>\n"
        s += "<text x=\"\(Self.width)\" y=\"\(Self.height - 6)\" font-size=\"11\" fill=\"#4b5563\" text-anchor=\"end\">\(htmlEscape(last))</text>\n"
        return s + "</svg>"
    }

}
