import Foundation
import Portal

/// The progress of `portal seed-demo --transactions N` on stderr. On a terminal: one bar
/// redrawn in place with `\r` (transactions, rate, time left) at most ten times a second, ended
/// with a newline. Otherwise (a pipe, a log file, CI): a plain line at the start, every few
/// seconds, and at the end, so a log never fills with carriage returns.
final class SeedProgressBar {
    let total: Int
    let isTerminal: Bool
    let interval: Double
    private let started = Date()
    private var lastDrawn = -Double.infinity
    private var lastWidth = 0

    init(total: Int, isTerminal: Bool = isatty(STDERR_FILENO) == 1, interval: Double? = nil) {
        self.total = total
        self.isTerminal = isTerminal
        self.interval = interval ?? (isTerminal ? 0.1 : 3)
    }

    func update(_ p: DemoMoneyProgress) {
        let elapsed = Date().timeIntervalSince(started)
        // The first report is always shown; the last one is `finish`'s.
        guard elapsed - lastDrawn >= interval || lastDrawn.isInfinite else { return }
        lastDrawn = elapsed
        draw(p, elapsed: elapsed)
    }

    func finish(_ s: DemoMoneySummary) {
        let elapsed = Date().timeIntervalSince(started)
        let done = DemoMoneyProgress(transactions: s.transactions, total: total, rows: s.rows)
        if isTerminal {
            draw(done, elapsed: elapsed)
            write("\n")
        } else {
            write(line(done, elapsed: elapsed) + "\n")
        }
    }

    private func draw(_ p: DemoMoneyProgress, elapsed: Double) {
        if isTerminal {
            let width = 30
            let filled = total > 0 ? min(width, p.transactions * width / total) : width
            let bar = String(repeating: "█", count: filled) + String(repeating: "░", count: width - filled)
            var text = "\(bar) \(Self.grouped(p.transactions))/\(Self.grouped(total)) transactions  \(Self.grouped(Int(rate(p.transactions, elapsed))))/s  \(eta(p, elapsed))"
            // Pad over what a longer previous line left on the screen.
            let count = text.count
            if count < lastWidth { text += String(repeating: " ", count: lastWidth - count) }
            lastWidth = count
            write("\r" + text)
        } else {
            write(line(p, elapsed: elapsed) + "\n")
        }
    }

    private func line(_ p: DemoMoneyProgress, elapsed: Double) -> String {
        let percent = total > 0 ? p.transactions * 100 / total : 100
        return "seed-demo: \(p.transactions)/\(total) transactions (\(percent)%), \(p.rows) rows, "
            + "\(Int(rate(p.transactions, elapsed))) transactions/s, \(Int(rate(p.rows, elapsed))) rows/s, "
            + (p.transactions >= total ? String(format: "done in %.1f s", elapsed) : eta(p, elapsed))
    }

    private func rate(_ n: Int, _ elapsed: Double) -> Double { elapsed > 0 ? Double(n) / elapsed : 0 }

    private func eta(_ p: DemoMoneyProgress, _ elapsed: Double) -> String {
        guard p.transactions > 0, p.transactions < total else { return p.transactions >= total ? "done" : "time left unknown" }
        let left = Int((Double(total - p.transactions) / rate(p.transactions, elapsed)).rounded())
        return String(format: "%d:%02d left", left / 60, left % 60)
    }

    static func grouped(_ n: Int) -> String {
        var digits = String(n), out = ""
        while digits.count > 3 {
            out = "," + digits.suffix(3) + out
            digits.removeLast(3)
        }
        return digits + out
    }

    private func write(_ s: String) { FileHandle.standardError.write(Data(s.utf8)) }
}
