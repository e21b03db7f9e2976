import HTTP

/// Writes JSON straight into bytes, for the responses a program asks for many times a second
/// (`/v1` lists): Foundation's `JSONEncoder` builds a tree of boxed values first and cost most
/// of such a request. The output is the encoder's own with `.sortedKeys` and
/// `.withoutEscapingSlashes`, byte for byte, as long as the caller writes keys in sorted order:
/// `JSONWriterTests` compares the two on random values.
///
///     var w = JSONWriter()
///     w.object { w in
///         w.key("id"); w.string(id)
///         w.key("tags"); w.array(tags) { w, t in w.string(t) }
///     }
public struct JSONWriter: Sendable {
    private var buffer: ByteBuffer

    public init(capacity: Int = 1024) {
        buffer = ByteBuffer(capacity: capacity)
    }

    /// What has been written.
    public var bytes: [UInt8] { buffer.array }

    /// How many bytes have been written.
    public var count: Int { buffer.count }

    /// The bytes written so far, read in place (no copy).
    public func withBytes<R>(_ body: (UnsafeBufferPointer<UInt8>) throws -> R) rethrows -> R { try buffer.withBytes(body) }

    // MARK: - structure

    public mutating func object(_ body: (inout JSONWriter) throws -> Void) rethrows {
        buffer.append(UInt8(ascii: "{"))
        try body(&self)
        buffer.append(UInt8(ascii: "}"))
    }

    /// An array whose elements `body` writes as they come (rows read from a statement), each
    /// after a call to ``nextElement()``.
    public mutating func array(_ body: (inout JSONWriter) throws -> Void) rethrows {
        buffer.append(UInt8(ascii: "["))
        try body(&self)
        buffer.append(UInt8(ascii: "]"))
    }

    /// Before each element of an ``array(_:)``: the comma, unless it is the first.
    public mutating func nextElement() {
        if let last = buffer.last, last != UInt8(ascii: "[") { buffer.append(UInt8(ascii: ",")) }
    }

    /// An array of `items`, each written by `element` (the commas are the writer's).
    public mutating func array<S: Sequence>(_ items: S, _ element: (inout JSONWriter, S.Element) -> Void) {
        buffer.append(UInt8(ascii: "["))
        var first = true
        for item in items {
            if !first { buffer.append(UInt8(ascii: ",")) }
            first = false
            element(&self, item)
        }
        buffer.append(UInt8(ascii: "]"))
    }

    /// A member's name: written after a comma unless it is the object's first. Names are ASCII
    /// literals chosen in code, so they are written without escaping.
    public mutating func key(_ name: StaticString) {
        if let bytes = name.utf8Bytes { key(bytes: bytes) } else { name.withUTF8Buffer { key(bytes: $0) } }
    }

    private mutating func key(bytes name: UnsafeBufferPointer<UInt8>) {
        let comma = buffer.last.map { $0 != UInt8(ascii: "{") } ?? false
        // `,"name":` written at once: a page of 25 transactions writes some 600 names.
        let p = buffer.claim(name.count + (comma ? 4 : 3))
        var i = 0
        if comma { p[0] = UInt8(ascii: ","); i = 1 }
        p[i] = UInt8(ascii: "\"")
        ByteBuffer.copy(name, to: p + i + 1)
        p[i + 1 + name.count] = UInt8(ascii: "\"")
        p[i + 2 + name.count] = UInt8(ascii: ":")
    }

    /// A member's name chosen at run time (a map's keys): escaped like any string.
    public mutating func key(escaping name: String) {
        if let last = buffer.last, last != UInt8(ascii: "{") { buffer.append(UInt8(ascii: ",")) }
        string(name)
        buffer.append(UInt8(ascii: ":"))
    }

    // MARK: - values

    public mutating func string(_ s: String) {
        var s = s
        s.withUTF8 { string(utf8: $0) }
    }

    /// A string given as UTF-8 bytes (a column read in place), escaped as ``string(_:)`` does.
    /// The bytes are copied as they are: they must be valid UTF-8.
    public mutating func string(utf8: UnsafeBufferPointer<UInt8>) {
        // Most strings need no escape: quotes and text written at once.
        if !Self.needsEscape(utf8) {
            let p = buffer.claim(utf8.count + 2)
            p[0] = UInt8(ascii: "\"")
            ByteBuffer.copy(utf8, to: p + 1)
            p[utf8.count + 1] = UInt8(ascii: "\"")
            return
        }
        buffer.append(UInt8(ascii: "\""))
        escaped(utf8)
        buffer.append(UInt8(ascii: "\""))
    }

    /// A string written in pieces (a summary of several values, without joining them first):
    /// ``openString()``, then ``stringPiece(_:)`` for each piece, escaped as ``string(_:)``
    /// escapes, then ``closeString()``.
    public mutating func openString() { buffer.append(UInt8(ascii: "\"")) }

    public mutating func stringPiece(_ s: String) {
        var s = s
        s.withUTF8 { utf8 in
            if !Self.needsEscape(utf8) {
                buffer.append(contentsOf: utf8)
            } else {
                escaped(utf8)
            }
        }
    }

    /// Three pieces at once: `prefix` and `suffix` JSON string content already (ASCII text
    /// without quotes, backslashes or controls; `\\n`), copied as they are, and `s` between
    /// them escaped: a summary's line, in one claim of the buffer.
    public mutating func stringPiece(prefix: UnsafeBufferPointer<UInt8>, _ s: String, suffix: StaticString) {
        guard let suffix = suffix.utf8Bytes else {
            buffer.append(contentsOf: prefix)
            stringPiece(s)
            suffix.withUTF8Buffer { buffer.append(contentsOf: $0) }
            return
        }
        var s = s
        s.withUTF8 { utf8 in
            if Self.needsEscape(utf8) {
                buffer.append(contentsOf: prefix)
                escaped(utf8)
                buffer.append(contentsOf: suffix)
                return
            }
            let p = buffer.claim(prefix.count + utf8.count + suffix.count)
            ByteBuffer.copy(prefix, to: p)
            ByteBuffer.copy(utf8, to: p + prefix.count)
            ByteBuffer.copy(suffix, to: p + prefix.count + utf8.count)
        }
    }

    public mutating func closeString() { buffer.append(UInt8(ascii: "\"")) }

    /// Whether any byte needs escaping: `"`, `\` or a C0 control. Eight bytes at a time (a
    /// request's log entry checks a dozen strings and header values, a page of JSON hundreds).
    @inline(__always)
    static func needsEscape(_ utf8: UnsafeBufferPointer<UInt8>) -> Bool {
        ByteScan.any(utf8, word: { x in
            (ByteScan.byteBelow(x, 0x20) | ByteScan.zeroByte(x ^ ByteScan.splat(0x22)) | ByteScan.zeroByte(x ^ ByteScan.splat(0x5C))) != 0
        }, byte: { $0 < 0x20 || $0 == 0x22 || $0 == 0x5C })
    }

    /// The bytes of a string's content, escaped (no quotes).
    private mutating func escaped(_ utf8: UnsafeBufferPointer<UInt8>) {
        do {
            var start = 0
            for i in 0..<utf8.count {
                let b = utf8[i]
                // Only `"`, `\` and the C0 controls need escaping; everything else (including
                // `/` and non-ASCII UTF-8) is copied as it is.
                guard b < 0x20 || b == 0x22 || b == 0x5C else { continue }
                if start < i { buffer.append(contentsOf: UnsafeBufferPointer(rebasing: utf8[start..<i])) }
                start = i + 1
                buffer.append(UInt8(ascii: "\\"))
                switch b {
                case 0x22: buffer.append(0x22)
                case 0x5C: buffer.append(0x5C)
                case 0x08: buffer.append(UInt8(ascii: "b"))
                case 0x0C: buffer.append(UInt8(ascii: "f"))
                case 0x0A: buffer.append(UInt8(ascii: "n"))
                case 0x0D: buffer.append(UInt8(ascii: "r"))
                case 0x09: buffer.append(UInt8(ascii: "t"))
                default:
                    buffer.append(contentsOf: [UInt8(ascii: "u"), UInt8(ascii: "0"), UInt8(ascii: "0"),
                                              Self.hex[Int(b >> 4)], Self.hex[Int(b & 0x0F)]])
                }
            }
            if start < utf8.count { buffer.append(contentsOf: UnsafeBufferPointer(rebasing: utf8[start...])) }
        }
    }

    public mutating func integer(_ n: Int64) { buffer.appendDecimal(n) }

    public mutating func integer(_ n: Int) { integer(Int64(n)) }

    public mutating func bool(_ b: Bool) {
        buffer.append(contentsOf: b ? Self.trueBytes : Self.falseBytes)
    }

    public mutating func null() { buffer.append(contentsOf: Self.nullBytes) }

    /// A unix time as an RFC 3339 string in UTC, `"2026-12-05T07:21:38Z"`: what
    /// `gmtime_r` and `String(format:)` would give, without either.
    public mutating func utcTime(_ unixSeconds: Int64) {
        let c = CivilTime(unixSeconds: unixSeconds)
        let (year, month, day) = (c.year, c.month, c.day)
        guard (0...9999).contains(year) else { string(String(unixSeconds)); return }
        // `"2026-12-05T07:21:38Z"`: 22 bytes written at once.
        let p = buffer.claim(22)
        @inline(__always) func two(_ n: Int, at i: Int) {
            p[i] = UInt8(ascii: "0") + UInt8(truncatingIfNeeded: n / 10)
            p[i + 1] = UInt8(ascii: "0") + UInt8(truncatingIfNeeded: n % 10)
        }
        p[0] = UInt8(ascii: "\"")
        two(year / 100, at: 1); two(year % 100, at: 3); p[5] = UInt8(ascii: "-"); two(month, at: 6); p[8] = UInt8(ascii: "-"); two(day, at: 9)
        p[11] = UInt8(ascii: "T")
        two(c.hour, at: 12); p[14] = UInt8(ascii: ":"); two(c.minute, at: 15); p[17] = UInt8(ascii: ":"); two(c.second, at: 18)
        p[20] = UInt8(ascii: "Z")
        p[21] = UInt8(ascii: "\"")
    }

    /// Bytes that are already JSON (a value stored as JSON text), copied as they are.
    public mutating func raw(_ json: [UInt8]) { buffer.append(contentsOf: json) }

    /// Bytes that are already JSON, read in place.
    public mutating func raw(_ json: UnsafeBufferPointer<UInt8>) { buffer.append(contentsOf: json) }

    /// A fixed-point amount as a decimal string: `minor` units of which 10^`exponent` make one,
    /// `"1234.50"`, `"1500"` (exponent 0), `"-0.05"`; no grouping, no exponent, never a float.
    public mutating func decimalString(_ minor: Int64, exponent: Int) {
        // At most 20 digits, the point, the zeros of a fraction wider than the number, the sign
        // and the quotes: composed backwards on the stack, appended at once.
        let width = max(exponent + 2, 22) + 3
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: width) { out in
            var m = minor.magnitude
            var i = width - 1
            out[i] = UInt8(ascii: "\"")
            var written = 0
            repeat {
                if exponent > 0 && written == exponent { i -= 1; out[i] = UInt8(ascii: ".") }
                i -= 1
                out[i] = UInt8(ascii: "0") + UInt8(m % 10)
                m /= 10
                written += 1
            } while m > 0 || written <= exponent
            if minor < 0 { i -= 1; out[i] = UInt8(ascii: "-") }
            i -= 1
            out[i] = UInt8(ascii: "\"")
            buffer.append(contentsOf: UnsafeBufferPointer(rebasing: out[i..<width]))
        }
    }

    private static let hex: [UInt8] = Array("0123456789abcdef".utf8)
    private static let trueBytes: [UInt8] = Array("true".utf8)
    private static let falseBytes: [UInt8] = Array("false".utf8)
    private static let nullBytes: [UInt8] = Array("null".utf8)
}

/// A value that writes itself with a ``JSONWriter``: the fast path of
/// ``HTTPResponse/json(writing:status:)``.
public protocol JSONWritable {
    func write(to w: inout JSONWriter)
}

extension HTTPResponse {
    /// A JSON response written by `value` itself (see ``JSONWritable``).
    public static func json(writing value: some JSONWritable, status: HTTPStatus = .ok, capacity: Int = 1024) -> HTTPResponse {
        var w = JSONWriter(capacity: capacity)
        value.write(to: &w)
        return json(written: w, status: status)
    }

    /// A JSON response of what `w` holds.
    public static func json(written w: JSONWriter, status: HTTPStatus = .ok) -> HTTPResponse {
        HTTPResponse(status: status, headers: ["Content-Type": JSONBody.contentType], body: .bytes(w.bytes))
    }
}

/// The bytes of a ``JSONWriter``: an append is a capacity check, a uniqueness check and a copy
/// (`[UInt8]`'s generic append paths were a tenth of a `/v1/transactions` page of 25, at some
/// 2,000 small appends). Copied on write, like an array, so a copied writer writes on its own.
///
/// Its appends are inlinable: a page written in another module (a table of 25 rows, some 350
/// pieces) paid a call, a uniqueness check and a length switch for each literal.
@usableFromInline
struct ByteBuffer: @unchecked Sendable { // the storage is written only when uniquely referenced
    @usableFromInline
    final class Storage {
        @usableFromInline let base: UnsafeMutablePointer<UInt8>
        @usableFromInline let capacity: Int

        init(capacity: Int) {
            self.capacity = capacity
            base = .allocate(capacity: capacity)
        }

        deinit { base.deallocate() }
    }

    @usableFromInline var storage: Storage
    @usableFromInline var count = 0

    init(capacity: Int) {
        storage = Storage(capacity: max(capacity, 16))
    }

    var array: [UInt8] { Array(UnsafeBufferPointer(start: storage.base, count: count)) }

    /// The bytes written so far, read in place.
    func withBytes<R>(_ body: (UnsafeBufferPointer<UInt8>) throws -> R) rethrows -> R {
        try withExtendedLifetime(storage) { try body(UnsafeBufferPointer(start: storage.base, count: count)) }
    }

    var last: UInt8? { count > 0 ? storage.base[count - 1] : nil }

    /// Room for `n` more bytes: where they go (the count already covers them; the caller
    /// writes every one of them).
    @inlinable @inline(__always)
    mutating func claim(_ n: Int) -> UnsafeMutablePointer<UInt8> {
        if _slowPath(n > storage.capacity - count || !isKnownUniquelyReferenced(&storage)) { reallocate(adding: n) }
        let p = storage.base + count
        count += n
        return p
    }

    @usableFromInline
    mutating func reallocate(adding n: Int) {
        let needed = count + n
        let new = Storage(capacity: needed > storage.capacity ? max(storage.capacity * 2, needed) : storage.capacity)
        new.base.initialize(from: storage.base, count: count)
        storage = new
    }

    @inlinable
    mutating func append(_ b: UInt8) {
        claim(1).initialize(to: b)
    }

    @inlinable @inline(__always)
    mutating func append(contentsOf b: UnsafeBufferPointer<UInt8>) {
        guard b.count > 0 else { return }
        ByteBuffer.copy(b, to: claim(b.count))
    }

    /// Copies `source` to `target`: the few bytes of a name or a short string in two
    /// overlapping word moves, not a call to `memmove` each (most copies here are under 16 bytes).
    @inlinable @inline(__always)
    static func copy(_ source: UnsafeBufferPointer<UInt8>, to target: UnsafeMutablePointer<UInt8>) {
        let n = source.count
        guard n > 0, let s = source.baseAddress else { return }
        let from = UnsafeRawPointer(s), to = UnsafeMutableRawPointer(target)
        switch n {
        case 8...16:
            to.storeBytes(of: from.loadUnaligned(as: UInt64.self), as: UInt64.self)
            (to + n - 8).storeBytes(of: (from + n - 8).loadUnaligned(as: UInt64.self), as: UInt64.self)
        case 4..<8:
            to.storeBytes(of: from.loadUnaligned(as: UInt32.self), as: UInt32.self)
            (to + n - 4).storeBytes(of: (from + n - 4).loadUnaligned(as: UInt32.self), as: UInt32.self)
        case 1..<4:
            target[0] = s[0]
            target[n / 2] = s[n / 2]
            target[n - 1] = s[n - 1]
        default:
            target.update(from: s, count: n)
        }
    }

    mutating func append(contentsOf b: [UInt8]) {
        b.withUnsafeBufferPointer { append(contentsOf: $0) }
    }

    /// `n` in decimal, at least `width` digits (zero-padded), `-` before a negative one: what
    /// `String(n)` gives, without the string.
    mutating func appendDecimal(_ n: Int64, width: Int = 1) {
        // Days, hours and minutes, the most common numbers of a page: written at once.
        if n >= 0 && n < 100 && width <= 2 {
            if n < 10 && width < 2 { append(UInt8(ascii: "0") + UInt8(n)); return }
            let p = claim(2)
            p[0] = UInt8(ascii: "0") + UInt8(n / 10)
            p[1] = UInt8(ascii: "0") + UInt8(n % 10)
            return
        }
        // At most 20 digits and the sign, composed backwards on the stack.
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 21 + max(width, 1)) { out in
            var m = n.magnitude
            var i = out.count
            repeat {
                i -= 1
                out[i] = UInt8(ascii: "0") + UInt8(m % 10)
                m /= 10
            } while m > 0 || out.count - i < width
            if n < 0 { i -= 1; out[i] = UInt8(ascii: "-") }
            append(contentsOf: UnsafeBufferPointer(rebasing: out[i...]))
        }
    }
}

extension StaticString {
    /// A string literal's UTF-8 bytes where the binary keeps them, without `withUTF8Buffer`'s
    /// closure (a call of its own for every name of every object written); nil for a literal
    /// of one scalar, which has no such bytes.
    @inlinable
    var utf8Bytes: UnsafeBufferPointer<UInt8>? {
        hasPointerRepresentation ? UnsafeBufferPointer(start: utf8Start, count: utf8CodeUnitCount) : nil
    }
}
