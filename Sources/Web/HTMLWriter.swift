/// Writes HTML straight into bytes, for the parts of pages drawn many times a second (a table
/// of 25 transactions): built from Swift strings joined with `+`, each row's pieces were
/// allocated, copied and freed several times over, more than the query behind them cost.
///
/// Markup is written as it is (``raw(_:)``: literals; ``raw(trusted:)``: strings the code chose,
/// such as an enum's title); every value from data goes through ``text(_:)``, which escapes the
/// same five characters as the templates (`& < > " '`), so it is safe in element text and in
/// quoted attribute values.
///
///     var w = HTMLWriter()
///     w.raw("<td>"); w.text(name); w.raw("</td>\n")
///     let html = w.string
public struct HTMLWriter: Sendable {
    @usableFromInline var buffer: ByteBuffer

    public init(capacity: Int = 4096) {
        buffer = ByteBuffer(capacity: capacity)
    }

    /// What has been written, as text.
    public var string: String {
        buffer.withBytes { String(decoding: $0, as: UTF8.self) }
    }

    /// What has been written.
    public var bytes: [UInt8] { buffer.array }

    /// How many bytes have been written.
    public var count: Int { buffer.count }

    func withBytes<R>(_ body: (UnsafeBufferPointer<UInt8>) throws -> R) rethrows -> R { try buffer.withBytes(body) }

    /// What another writer wrote (a part written ahead of its place, such as a page's rows),
    /// copied as it is: it was escaped when it was written.
    public mutating func append(_ other: HTMLWriter) {
        other.buffer.withBytes { buffer.append(contentsOf: $0) }
    }

    /// Markup chosen in code, written as it is. (This and the other hot writes are inlinable:
    /// pages are written in the modules above, a few hundred pieces a page.)
    @inlinable
    public mutating func raw(_ markup: StaticString) {
        // A literal's bytes where they lie (withUTF8Buffer's closure was a call of its own).
        if let bytes = markup.utf8Bytes {
            buffer.append(contentsOf: bytes)
        } else {
            markup.withUTF8Buffer { buffer.append(contentsOf: $0) }
        }
    }

    /// Text or HTML the code chose itself (an enum's title, a kept fragment), written as it
    /// is: the label marks every unescaped string in review. Never data.
    @inlinable
    public mutating func raw(trusted html: String) {
        var html = html
        html.withUTF8 { buffer.append(contentsOf: $0) }
    }

    /// Markup the code composed itself (a time's element), written as it is. Never data.
    @inlinable
    public mutating func raw(trusted html: UnsafeBufferPointer<UInt8>) {
        buffer.append(contentsOf: html)
    }

    /// Text from data, escaped for element text and quoted attribute values.
    @inlinable
    public mutating func text(_ s: String) {
        var s = s
        s.withUTF8 { text(utf8: $0) }
    }

    /// Text given as UTF-8 bytes, escaped as ``text(_:)`` escapes.
    @inlinable
    public mutating func text(utf8: UnsafeBufferPointer<UInt8>) {
        // Most values need no escaping: one pass that only looks, then one copy. A table row
        // writes five values; the five-way switch below cost some 19 instructions a byte.
        if !needsHTMLEscaping(utf8) {
            buffer.append(contentsOf: utf8)
            return
        }
        escaping(utf8)
    }

    @usableFromInline
    mutating func escaping(_ utf8: UnsafeBufferPointer<UInt8>) {
        var start = 0
        for i in 0..<utf8.count {
            let replacement: StaticString
            switch utf8[i] {
            case UInt8(ascii: "&"): replacement = "&amp;"
            case UInt8(ascii: "<"): replacement = "&lt;"
            case UInt8(ascii: ">"): replacement = "&gt;"
            case UInt8(ascii: "\""): replacement = "&quot;"
            case UInt8(ascii: "'"): replacement = "&#39;"
            default: continue
            }
            if start < i { buffer.append(contentsOf: UnsafeBufferPointer(rebasing: utf8[start..<i])) }
            replacement.withUTF8Buffer { buffer.append(contentsOf: $0) }
            start = i + 1
        }
        if start < utf8.count { buffer.append(contentsOf: UnsafeBufferPointer(rebasing: utf8[start...])) }
    }

    /// A whole number in decimal, at least `width` digits (zero-padded): `07`, `2026`, `-12`.
    public mutating func integer(_ n: Int64, width: Int = 1) { buffer.appendDecimal(n, width: width) }

    public mutating func integer(_ n: Int, width: Int = 1) { integer(Int64(n), width: width) }

    /// One byte of markup.
    @inlinable
    public mutating func byte(_ b: UInt8) { buffer.append(b) }
}
