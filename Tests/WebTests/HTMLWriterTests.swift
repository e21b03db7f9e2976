import Foundation
import Testing
import Web

/// `HTMLWriter` writes the hottest pages without a template: its escaping must be the
/// templates' own (`htmlEscape`), and its numbers and dates what the C library would give.
@Suite("HTML writer: escaping and numbers of the pages written in code")
struct HTMLWriterTests {
    private static let awkward: [String] = (0..<128).map { String(Character(Unicode.Scalar(UInt8($0)))) }
        + ["&amp;", "<script>", "\"'", "é", "e\u{301}", "€", "日本", "🙂", "👩‍👩‍👧", "\u{202E}", "عربى"]

    @Test("text is escaped exactly as the templates escape it, around markup written as it is")
    func textMatchesTheTemplatesEscaping() {
        var g = SystemRandomNumberGenerator()
        for _ in 0..<3_000 {
            let s = (0..<Int.random(in: 0...24, using: &g)).map { _ in Self.awkward.randomElement(using: &g)! }.joined()
            var w = HTMLWriter(capacity: 4)
            w.raw("<td title=\"")
            w.text(s)
            w.raw("\">")
            #expect(w.string == "<td title=\"" + htmlEscape(s) + "\">", "\(s.debugDescription)")
        }
        var w = HTMLWriter()
        w.text("<a href=\"x\" onclick='y'>&</a>")
        #expect(w.string == "&lt;a href=&quot;x&quot; onclick=&#39;y&#39;&gt;&amp;&lt;/a&gt;")
    }

    /// The escape check reads eight bytes at a time: each character to escape (and each near
    /// miss) at every place of every length up to 40.
    @Test("a character to escape is found wherever it stands, and near misses are left alone")
    func escapesAtEveryPlace() {
        for s in stringsWithOneAtEveryPlace(["&", "<", ">", "\"", "'", "%", "=", "?", ";", "(", "é", "🙂", "\u{0}"]) {
            var w = HTMLWriter(capacity: 4)
            w.text(s)
            #expect(w.string == htmlEscape(s), "\(s.debugDescription)")
        }
    }

    @Test("integers are zero-padded to their width and keep their sign")
    func integers() {
        var w = HTMLWriter()
        for (n, width) in [(0, 1), (7, 2), (2026, 4), (5, 4), (123_456, 2), (-12, 3), (Int(Int64.min), 1), (Int(Int64.max), 1)] {
            w.integer(n, width: width)
            w.raw("|")
        }
        #expect(w.string == "0|07|2026|0005|123456|-012|-9223372036854775808|9223372036854775807|")
    }

    @Test("civil dates and times are gmtime's, either side of 1970, over leap years and centuries")
    func civilTimeIsGmtime() {
        var g = SystemRandomNumberGenerator()
        let samples = (0..<20_000).map { _ in Int64.random(in: -4_000_000_000...8_000_000_000, using: &g) }
            + [0, -1, 86_399, 86_400, 951_782_400 /* 2000-02-29 */, 4_107_542_400 /* 2100-03-01 */, -2_203_891_200 /* 1900-03-01 */]
        for t in samples {
            var time = time_t(t)
            var tm = tm()
            gmtime_r(&time, &tm)
            let c = CivilTime(unixSeconds: t)
            let mine: [Int] = [c.year, c.month, c.day, c.hour, c.minute, c.second]
            let libc: [Int] = [Int(tm.tm_year) + 1900, Int(tm.tm_mon) + 1, Int(tm.tm_mday), Int(tm.tm_hour), Int(tm.tm_min), Int(tm.tm_sec)]
            #expect(mine == libc, "\(t)")
        }
    }
}
