import HTTP

/// Percent-decoding (RFC 3986 §2.1) for path segments, query strings and
/// `application/x-www-form-urlencoded` bodies.
enum PercentDecoding {
    /// Decodes `%XX` escapes (and `+` as a space when `plusAsSpace`).
    ///
    /// Returns nil when an escape is malformed (`%`, `%4`, `%zz`) or the decoded bytes are
    /// not valid UTF-8.
    static func decode<C: Collection<UInt8>>(_ input: C, plusAsSpace: Bool) -> String? {
        decodeBytes(input, plusAsSpace: plusAsSpace, lenient: false).flatMap { String(validating: $0, as: UTF8.self) }
    }

    /// Like ``decode(_:plusAsSpace:)`` but never fails: malformed escapes are kept as
    /// written and invalid UTF-8 is replaced with U+FFFD.
    static func decodeLeniently<C: Collection<UInt8>>(_ input: C, plusAsSpace: Bool) -> String {
        String(decoding: decodeBytes(input, plusAsSpace: plusAsSpace, lenient: true)!, as: UTF8.self)
    }

    static func decode(_ s: Substring, plusAsSpace: Bool) -> String? {
        let u = s.utf8
        if !u.contains(where: { $0 == UInt8(ascii: "%") || (plusAsSpace && $0 == UInt8(ascii: "+")) }) {
            return String(s)  // fast path: nothing to decode, already valid UTF-8
        }
        return decode(u, plusAsSpace: plusAsSpace)
    }

    private static func decodeBytes<C: Collection<UInt8>>(_ input: C, plusAsSpace: Bool, lenient: Bool) -> [UInt8]? {
        var out: [UInt8] = []
        out.reserveCapacity(input.count)
        var i = input.startIndex
        while i != input.endIndex {
            let b = input[i]
            if b == UInt8(ascii: "%") {
                let h1 = input.index(after: i)
                if h1 != input.endIndex {
                    let h2 = input.index(after: h1)
                    if h2 != input.endIndex, let hi = hexValue(input[h1]), let lo = hexValue(input[h2]) {
                        out.append(hi << 4 | lo)
                        i = input.index(after: h2)
                        continue
                    }
                }
                if !lenient { return nil }
                out.append(b)
            } else if b == UInt8(ascii: "+") && plusAsSpace {
                out.append(UInt8(ascii: " "))
            } else {
                out.append(b)
            }
            i = input.index(after: i)
        }
        return out
    }

    @inline(__always)
    static func hexValue(_ c: UInt8) -> UInt8? { HexDigit.value(c) }
}

/// One hexadecimal digit's value (either case): for percent-decoding here, and for the
/// features that read hex of their own (request ids, JSON `\u` escapes).
public enum HexDigit {
    @inlinable
    public static func value(_ c: UInt8) -> UInt8? {
        switch c {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): return c &- UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): return c &- UInt8(ascii: "a") &+ 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): return c &- UInt8(ascii: "A") &+ 10
        default: return nil
        }
    }
}

/// Percent-encoding for building URLs and form bodies.
public enum PercentEncoding {
    /// Encodes everything but RFC 3986 unreserved characters (`A-Z a-z 0-9 - . _ ~`).
    public static func encode(_ s: String) -> String {
        // Most values (ids, dates) need nothing: returned as they are.
        if s.utf8.allSatisfy(isUnreserved) { return s }
        var out: [UInt8] = []
        out.reserveCapacity(s.utf8.count * 3)
        for b in s.utf8 {
            if isUnreserved(b) {
                out.append(b)
            } else {
                out.append(UInt8(ascii: "%"))
                out.append(hex[Int(b >> 4)])
                out.append(hex[Int(b & 0xF)])
            }
        }
        return String(decoding: out, as: UTF8.self)
    }

    @inline(__always)
    static func isUnreserved(_ b: UInt8) -> Bool {
        switch b {
        case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
            UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "_"), UInt8(ascii: "~"):
            true
        default:
            false
        }
    }

    private static let hex: [UInt8] = Array("0123456789ABCDEF".utf8)
}

/// Limits applied while decoding an `application/x-www-form-urlencoded` body.
public struct FormLimits: Sendable {
    /// The most `name=value` pairs accepted.
    public var maxFields: Int
    /// The longest encoded field name, in bytes.
    public var maxNameBytes: Int
    /// The longest encoded field value, in bytes.
    public var maxValueBytes: Int

    public init(maxFields: Int = 256, maxNameBytes: Int = 256, maxValueBytes: Int = 256 * 1024) {
        self.maxFields = maxFields
        self.maxNameBytes = maxNameBytes
        self.maxValueBytes = maxValueBytes
    }

    public static let `default` = FormLimits()
}

/// Why a form body could not be decoded. Each case becomes an error page with a 4xx status.
public enum FormError: Error, Equatable, HTTPErrorConvertible {
    /// The request's `Content-Type` is not the one the handler expects.
    case unsupportedContentType
    /// A malformed percent escape or bytes that are not UTF-8.
    case malformedEncoding
    /// More fields than ``FormLimits/maxFields``.
    case tooManyFields
    /// A name or value longer than the limits allow.
    case fieldTooLarge

    public var httpError: HTTPError {
        switch self {
        case .unsupportedContentType: HTTPError(.unsupportedMediaType, "The form was sent in an unsupported format.")
        case .malformedEncoding: HTTPError(.badRequest, "The form data could not be read.")
        case .tooManyFields: HTTPError(.payloadTooLarge, "The form has too many fields.")
        case .fieldTooLarge: HTTPError(.payloadTooLarge, "A form field is too long.")
        }
    }
}

/// Decoded `name=value` pairs from a query string or an urlencoded form, in the order sent.
/// Repeated names are kept (`values(_:)`); the subscript returns the first.
public struct URLEncodedForm: Sendable, Sequence {
    public typealias Element = (name: String, value: String)
    public private(set) var pairs: [Element]

    public init(_ pairs: [(String, String)] = []) {
        self.pairs = pairs.map { (name: $0.0, value: $0.1) }
    }

    public func makeIterator() -> IndexingIterator<[Element]> { pairs.makeIterator() }
    public var isEmpty: Bool { pairs.isEmpty }
    public var count: Int { pairs.count }

    /// The first value sent for `name`.
    public subscript(name: String) -> String? {
        for p in pairs where p.name == name { return p.value }
        return nil
    }

    /// Every value sent for `name`, in order (checkbox groups, multi-selects).
    public func values(_ name: String) -> [String] {
        pairs.compactMap { $0.name == name ? $0.value : nil }
    }

    public func contains(_ name: String) -> Bool { self[name] != nil }

    /// Parses an urlencoded body strictly: a malformed escape, invalid UTF-8 or a limit
    /// exceeded throws ``FormError``.
    public static func parse<C: Collection<UInt8>>(_ bytes: C, limits: FormLimits = .default) throws(FormError) -> URLEncodedForm {
        var form = URLEncodedForm()
        for piece in bytes.split(separator: UInt8(ascii: "&"), omittingEmptySubsequences: true) {
            if form.pairs.count >= limits.maxFields { throw .tooManyFields }
            let eq = piece.firstIndex(of: UInt8(ascii: "="))
            let rawName = piece[piece.startIndex..<(eq ?? piece.endIndex)]
            let rawValue = eq.map { piece[piece.index(after: $0)...] } ?? piece[piece.endIndex...]
            if rawName.count > limits.maxNameBytes || rawValue.count > limits.maxValueBytes { throw .fieldTooLarge }
            guard let name = PercentDecoding.decode(rawName, plusAsSpace: true),
                let value = PercentDecoding.decode(rawValue, plusAsSpace: true)
            else { throw .malformedEncoding }
            form.pairs.append((name: name, value: value))
        }
        return form
    }

    /// One value as a form carries it (`+` is a space), e.g. each half of an OAuth client's
    /// HTTP Basic credentials (RFC 6749 §2.3.1); nil if an escape is malformed or the bytes
    /// are not UTF-8. Decoded here, where the generic decoder is specialized: through the
    /// generic `parse` from another module it was a twentieth of a token request.
    public static func decodeValue(_ raw: String) -> String? {
        PercentDecoding.decode(Substring(raw), plusAsSpace: true)
    }

    /// Parses a query string leniently: malformed escapes are kept as written, invalid
    /// UTF-8 becomes U+FFFD, and pairs past `maxFields` are ignored. Query parameters are
    /// untrusted input either way; handlers validate the values they use.
    public static func parseQuery(_ query: String, maxFields: Int = 256) -> URLEncodedForm {
        var query = query
        // Native strings are contiguous: split their bytes where they lie. Through the UTF-8
        // view's generic `split` and `firstIndex` a search page's query cost ~6,700
        // instructions, more than its SQL's lookup.
        return query.withUTF8 { parseQuery(bytes: $0, maxFields: maxFields) }
    }

    static func parseQuery(bytes: UnsafeBufferPointer<UInt8>, maxFields: Int) -> URLEncodedForm {
        var form = URLEncodedForm()
        form.pairs.reserveCapacity(8)
        var start = 0
        let end = bytes.count
        while start < end, form.pairs.count < maxFields {
            var stop = start, eq = -1, plain = true
            while stop < end {
                let b = bytes[stop]
                if b == UInt8(ascii: "&") { break }
                if b == UInt8(ascii: "=") { if eq < 0 { eq = stop } } else if b == UInt8(ascii: "%") || b == UInt8(ascii: "+") { plain = false }
                stop += 1
            }
            if stop > start {
                let nameEnd = eq < 0 ? stop : eq
                let name = UnsafeBufferPointer(rebasing: bytes[start..<nameEnd])
                let value = UnsafeBufferPointer(rebasing: bytes[(eq < 0 ? stop : eq + 1)..<stop])
                form.pairs.append(plain
                    ? (name: String(decoding: name, as: UTF8.self), value: String(decoding: value, as: UTF8.self))
                    : (name: PercentDecoding.decodeLeniently(name, plusAsSpace: true),
                       value: PercentDecoding.decodeLeniently(value, plusAsSpace: true)))
            }
            start = stop + 1
        }
        return form
    }

    /// Encodes pairs as `application/x-www-form-urlencoded` (spaces as `%20`).
    public static func encode(_ pairs: [(String, String)]) -> String {
        pairs.map { PercentEncoding.encode($0.0) + "=" + PercentEncoding.encode($0.1) }.joined(separator: "&")
    }
}
