import Foundation
import Testing
import Web

/// `JSONWriter` promises `JSONEncoder`'s bytes (`.sortedKeys`, `.withoutEscapingSlashes`): these
/// compare the two on values chosen to be awkward, so a difference in escaping, number or date
/// formatting shows up here and not in an integrator's parser.
@Suite("JSON writer: the encoder's bytes without the encoder")
struct JSONWriterTests {
    private static func encoded(_ value: some Encodable) throws -> [UInt8] {
        let e = JSONEncoder()
        e.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return Array(try e.encode(value))
    }

    private static func written(_ body: (inout JSONWriter) -> Void) -> [UInt8] {
        var w = JSONWriter(capacity: 8)
        body(&w)
        return w.bytes
    }

    /// Every ASCII byte, the C1 range, line and paragraph separators, surrogate-pair emoji,
    /// combining marks and right-to-left text, in random strings.
    private static let awkward: [String] = (0..<128).map { String(Character(Unicode.Scalar(UInt8($0)))) }
        + ["\u{80}", "\u{9F}", "\u{A0}", "\u{2028}", "\u{2029}", "\u{FEFF}", "é", "e\u{301}", "ß", "€", "日本", "🙂", "👩‍👩‍👧", "\u{202E}", "عربى", "/", "\\/"]

    private static func randomString<G: RandomNumberGenerator>(_ g: inout G) -> String {
        (0..<Int.random(in: 0...24, using: &g)).map { _ in awkward.randomElement(using: &g)! }.joined()
    }

    @Test("strings with every control character, quote, backslash, slash and non-ASCII text match")
    func stringsMatch() throws {
        var g = SystemRandomNumberGenerator()
        for _ in 0..<3_000 {
            let s = Self.randomString(&g)
            let mine = Self.written { $0.string(s) }
            #expect(mine == (try Self.encoded([s])).dropFirst().dropLast().map { $0 }, "\(s.debugDescription)")
        }
        // Every single byte below 0x80 on its own, so a gap in the escape table cannot hide.
        for b in 0..<128 {
            let s = String(Character(Unicode.Scalar(UInt8(b))))
            #expect(Self.written { $0.string(s) } == (try Self.encoded([s])).dropFirst().dropLast().map { $0 }, "byte \(b)")
        }
    }

    @Test("integers at the edges match")
    func integersMatch() throws {
        var values: [Int64] = [0, 1, -1, 9, 10, 99, 100, Int64.max, Int64.min, Int64.max - 1, Int64.min + 1]
        for _ in 0..<2_000 { values.append(Int64.random(in: .min ... .max)) }
        for _ in 0..<2_000 { values.append(Int64.random(in: -100_000...100_000)) }
        for n in values {
            #expect(Self.written { $0.integer(n) } == (try Self.encoded([n])).dropFirst().dropLast().map { $0 }, "\(n)")
        }
    }

    @Test("objects with run-time keys, nested arrays, booleans and null match a sorted-keys encoding")
    func structuresMatch() throws {
        struct Row: Encodable { let a: Bool; let b: [Int64]; let c: String?; let d: [String: String] }
        var g = SystemRandomNumberGenerator()
        for _ in 0..<300 {
            var map: [String: String] = [:]
            for _ in 0..<Int.random(in: 0...6, using: &g) { map["k" + Self.randomString(&g)] = Self.randomString(&g) }
            let row = Row(a: Bool.random(using: &g), b: (0..<Int.random(in: 0...4, using: &g)).map { _ in Int64.random(in: -9_999...9_999, using: &g) },
                          c: Bool.random(using: &g) ? Self.randomString(&g) : nil, d: map)
            let mine = Self.written { w in
                w.object { w in
                    w.key("a"); w.bool(row.a)
                    w.key("b"); w.array(row.b) { w, n in w.integer(n) }
                    if let c = row.c { w.key("c"); w.string(c) }
                    w.key("d")
                    w.object { w in
                        for (k, v) in row.d.sorted(by: { $0.key.utf8.lexicographicallyPrecedes($1.key.utf8) }) { w.key(escaping: k); w.string(v) }
                    }
                }
            }
            let theirs = try Self.encoded(row)
            #expect(mine == theirs, "\(String(decoding: mine, as: UTF8.self)) vs \(String(decoding: theirs, as: UTF8.self))")
        }
        #expect(Self.written { w in w.array([Int64]()) { w, n in w.integer(n) } } == Array("[]".utf8))
        #expect(Self.written { w in w.object { _ in } } == Array("{}".utf8))
        #expect(Self.written { w in w.null() } == Array("null".utf8))
    }

    @Test("times are RFC 3339 in UTC, the same as gmtime gives, across leap years and centuries")
    func timesMatchGmtime() {
        var seconds: [Int64] = [0, 86_399, 86_400, 951_782_400 /* 2000-02-29 */, 4_107_542_400 /* 2100-03-01 */, 1_798_761_599, 253_402_300_799 /* 9999-12-31 */, -1, -86_401]
        for _ in 0..<5_000 { seconds.append(Int64.random(in: -2_000_000_000...253_402_300_799)) }
        for t in seconds {
            var tm = tm()
            var tt = time_t(t)
            gmtime_r(&tt, &tm)
            let expected = String(format: "\"%04d-%02d-%02dT%02d:%02d:%02dZ\"", Int(tm.tm_year) + 1900, Int(tm.tm_mon) + 1, Int(tm.tm_mday),
                                  Int(tm.tm_hour), Int(tm.tm_min), Int(tm.tm_sec))
            #expect(String(decoding: Self.written { $0.utcTime(t) }, as: UTF8.self) == expected, "\(t)")
        }
    }

    /// The escape check reads eight bytes at a time: a byte to escape (and each near miss) at
    /// every place of every length up to 40, in the word, across words and in the last bytes.
    @Test("an escape is found wherever it stands in a string, and near misses are not escaped")
    func escapesAtEveryPlace() throws {
        let specials: [String] = ["\u{0}", "\u{1}", "\u{1F}", "\"", "\\", "\n", " ", "!", "#", "[", "]", "\u{7F}", "é", "🙂", "/"]
        for s in stringsWithOneAtEveryPlace(specials) {
            #expect(Self.written { $0.string(s) } == (try Self.encoded([s])).dropFirst().dropLast().map { $0 }, "\(s.debugDescription)")
        }
    }

    @Test("a line written as prefix, escaped value and suffix is the string of the three")
    func prefixValueSuffixIsOneString() throws {
        var g = SystemRandomNumberGenerator()
        let prefix = Array("RateLimit-Remaining: ".utf8)
        for _ in 0..<1_000 {
            let s = Self.randomString(&g)
            let mine = prefix.withUnsafeBufferPointer { p in
                Self.written { $0.openString(); $0.stringPiece(prefix: p, s, suffix: "\\n"); $0.closeString() }
            }
            #expect(mine == (try Self.encoded(["RateLimit-Remaining: " + s + "\n"])).dropFirst().dropLast().map { $0 }, "\(s.debugDescription)")
        }
    }

    @Test("strings given as UTF-8 bytes are written as the same strings, at every length")
    func bytesMatchStrings() {
        var g = SystemRandomNumberGenerator()
        var strings = (0..<3_000).map { _ in Self.randomString(&g) }
        // Every length around the writer's short-copy cases, plain and with an escape at either end.
        for n in 0...40 {
            strings.append(String(repeating: "a", count: n))
            strings.append("\"" + String(repeating: "é", count: n))
            strings.append(String(repeating: "b", count: n) + "\n")
        }
        for s in strings {
            var copy = s
            let fromBytes = copy.withUTF8 { utf8 in Self.written { $0.string(utf8: utf8) } }
            #expect(fromBytes == Self.written { $0.string(s) }, "\(s.debugDescription)")
            #expect(copy.withUTF8 { utf8 in Self.written { $0.raw(utf8) } } == Array(s.utf8))
        }
    }

    @Test("an array written element by element has the commas of a sequence's")
    func elementByElement() {
        for n in 0..<5 {
            let items = (0..<n).map { Int64($0) - 2 }
            let streamed = Self.written { w in
                w.array { w in
                    for i in items { w.nextElement(); w.object { w in w.key("n"); w.integer(i) } }
                }
            }
            let listed = Self.written { w in w.array(items) { w, i in w.object { w in w.key("n"); w.integer(i) } } }
            #expect(streamed == listed)
        }
        #expect(Self.written { w in w.object { w in w.key("a"); w.array { w in w.nextElement(); w.bool(true) } } } == Array("{\"a\":[true]}".utf8))
    }

    @Test("amounts as decimal strings: fixed point with the exponent's digits, never a float")
    func decimalStrings() {
        func reference(_ minor: Int64, _ exponent: Int) -> String {
            var scale: UInt64 = 1
            for _ in 0..<exponent { scale *= 10 }
            var text = String(minor.magnitude / scale)
            if exponent > 0 {
                let frac = String(minor.magnitude % scale)
                text += "." + String(repeating: "0", count: exponent - frac.count) + frac
            }
            return "\"" + (minor < 0 ? "-" : "") + text + "\""
        }
        var values: [Int64] = [0, 1, -1, 5, 9, 10, 99, 100, 101, 1_000, 123_456, -5, -100, Int64.max, Int64.min + 1]
        for _ in 0..<3_000 { values.append(Int64.random(in: -10_000_000_000...10_000_000_000)) }
        for v in values {
            for exponent in [0, 1, 2, 3, 4] {
                #expect(String(decoding: Self.written { $0.decimalString(v, exponent: exponent) }, as: UTF8.self) == reference(v, exponent),
                        "\(v) e\(exponent)")
            }
        }
        #expect(String(decoding: Self.written { $0.decimalString(Int64.min, exponent: 2) }, as: UTF8.self) == "\"-92233720368547758.08\"")
    }

    @Test("a copied writer writes on its own, and a small one grows")
    func copiesAndGrowth() {
        var a = JSONWriter(capacity: 1)
        a.array { w in w.nextElement(); w.string("first") }
        var b = a
        b.string(String(repeating: "x", count: 5_000))
        a.integer(7)
        #expect(a.bytes == Array("[\"first\"]7".utf8))
        #expect(b.bytes == Array("[\"first\"]".utf8) + Array(("\"" + String(repeating: "x", count: 5_000) + "\"").utf8))
        let c = b
        b.null()
        #expect(c.bytes.count == b.bytes.count - 4)
    }
}
