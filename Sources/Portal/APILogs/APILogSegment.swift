import Web

/// The stored form of a segment of the request log: a flushed batch's requests of one
/// organization and environment as a JSON array of arrays, oldest first (migration 0033 says
/// which field is where). JSON, so that the migration could turn old rows into segments and
/// the `api_requests` view can show them with SQLite's own `json_each`; kept compressed
/// (migration 0036), which the view undoes with `sqlar_uncompress`.
///
/// Reading one is two steps: ``parse(_:)`` finds where each field lies (no strings made),
/// then a ``Fields`` gives the values of the requests a page keeps, so a filter that passes
/// over most of a segment makes none of its strings.
enum APILogSegment {
    /// Requests a segment holds at most: a request's id on the page is segment id * 4096 +
    /// its position.
    static let capacity = 4096
    static let fieldCount = 13

    // Field positions in an element.
    static let requestID = 0, createdAt = 1, credentialID = 2, credentialName = 3, credentialLabel = 4, method = 5, path = 6,
               status = 7, duration = 8, ip = 9, userAgent = 10, requestHeaders = 11, responseHeaders = 12

    /// The JSON of `entries`, in their order.
    static func encode(_ entries: ArraySlice<APIRequestEntry>) -> [UInt8] {
        let batch = APILogBatch(entries.lazy.map { APIRequestRecord($0) })
        return encode(batch, Array(0..<batch.count))
    }

    /// The JSON of the batch's items at `indices`, whose elements are encoded already: their
    /// bytes between brackets.
    static func encode(_ batch: APILogBatch, _ indices: [Int]) -> [UInt8] {
        var out = [UInt8]()
        out.reserveCapacity(indices.reduce(2) { $0 + batch.items[$1].end - batch.items[$1].start + 1 })
        out.append(UInt8(ascii: "["))
        for (n, i) in indices.enumerated() {
            if n > 0 { out.append(UInt8(ascii: ",")) }
            batch.withElement(i) { out.append(contentsOf: $0) }
        }
        out.append(UInt8(ascii: "]"))
        return out
    }

    /// The same JSON handed to `write` piece by piece from where the elements lie (no copy).
    static func encode(_ batch: APILogBatch, _ indices: [Int], into write: (UnsafeBufferPointer<UInt8>) -> Void) {
        func piece(_ s: StaticString) { s.withUTF8Buffer(write) }
        piece("[")
        for (n, i) in indices.enumerated() {
            if n > 0 { piece(",") }
            batch.withElement(i, write)
        }
        piece("]")
    }

    /// One request's element: the JSON array of its fields.
    static func element(_ e: APIRequestEntry, credential: APICredentialLogIdentity?) -> JSONWriter {
        element(requestID: e.requestID, createdAt: e.createdAt, credential: credential, method: e.method, path: e.path, status: e.status,
                durationMicroseconds: e.durationMicroseconds, ip: e.ip, userAgent: e.userAgent,
                capacity: 320 + e.requestHeaders.utf8.count + e.responseHeaders.utf8.count,
                requestHeaders: { $0.stringPiece(e.requestHeaders) }, responseHeaders: { $0.stringPiece(e.responseHeaders) })
    }

    /// An element from its fields, in the order the segment stores them (the one place that
    /// order is written). The two header summaries are written by the caller into their open
    /// JSON string: whole (an entry's), or piece by piece (``APILogMiddleware/record(_:_:micros:)``).
    /// Field by field, no closure or copy per field: it runs for every logged request.
    static func element(requestID: String, createdAt: Int64, credential: APICredentialLogIdentity?, method: String, path: String, status: Int, durationMicroseconds: Int64, ip: String, userAgent: String,
                        capacity: Int, requestHeaders: (inout JSONWriter) -> Void, responseHeaders: (inout JSONWriter) -> Void) -> JSONWriter {
        var w = JSONWriter(capacity: capacity + path.utf8.count + userAgent.utf8.count)
        w.array { w in
            w.nextElement(); w.string(requestID)
            w.nextElement(); w.integer(createdAt)
            // The credential's three fields, escaped when the key was read.
            w.nextElement()
            w.raw(credential?.elementFields ?? Self.noCredential)
            w.nextElement(); w.string(method)
            w.nextElement(); w.string(path)
            w.nextElement(); w.integer(status)
            w.nextElement(); w.integer(durationMicroseconds)
            w.nextElement(); w.string(ip)
            w.nextElement(); w.string(userAgent)
            w.nextElement(); w.openString(); requestHeaders(&w); w.closeString()
            w.nextElement(); w.openString(); responseHeaders(&w); w.closeString()
        }
        return w
    }

    private static let noCredential = Array("null,null,null".utf8)

    // MARK: reading

    struct Malformed: Error {}

    /// Where a field's value lies in the segment's bytes.
    enum Slot {
        case null
        case integer(Int64)
        /// A string's bytes between its quotes; `escaped` when they hold a backslash.
        case text(Range<Int>, escaped: Bool)
    }

    /// The slots of every request, `fieldCount` to a request, in order. Throws on anything
    /// this writer (or SQLite's `json_array`) would not have written.
    static func parse(_ b: UnsafeBufferPointer<UInt8>) throws -> [Slot] {
        var slots: [Slot] = []
        var i = 0
        func skipSpace() { while i < b.count, b[i] == 0x20 || b[i] == 0x0A || b[i] == 0x0D || b[i] == 0x09 { i += 1 } }
        func expect(_ c: UInt8) throws {
            skipSpace()
            guard i < b.count, b[i] == c else { throw Malformed() }
            i += 1
        }
        func value() throws -> Slot {
            skipSpace()
            guard i < b.count else { throw Malformed() }
            switch b[i] {
            case UInt8(ascii: "\""):
                i += 1
                let start = i
                var escaped = false
                while true {
                    guard i < b.count else { throw Malformed() }
                    let c = b[i]
                    if c == UInt8(ascii: "\"") { break }
                    if c == UInt8(ascii: "\\") { escaped = true; i += 1 }
                    i += 1
                }
                defer { i += 1 }
                return .text(start..<i, escaped: escaped)
            case UInt8(ascii: "n"):
                guard i + 4 <= b.count, b[i + 1] == UInt8(ascii: "u"), b[i + 2] == UInt8(ascii: "l"), b[i + 3] == UInt8(ascii: "l") else { throw Malformed() }
                i += 4
                return .null
            case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"):
                let negative = b[i] == UInt8(ascii: "-")
                if negative { i += 1 }
                var n: Int64 = 0
                let start = i
                while i < b.count, b[i] >= UInt8(ascii: "0"), b[i] <= UInt8(ascii: "9") {
                    let (m, o1) = n.multipliedReportingOverflow(by: 10)
                    let (s, o2) = m.addingReportingOverflow(Int64(b[i] - UInt8(ascii: "0")))
                    guard !o1, !o2 else { throw Malformed() }
                    n = s
                    i += 1
                }
                guard i > start else { throw Malformed() }
                return .integer(negative ? -n : n)
            default:
                throw Malformed()
            }
        }
        try expect(UInt8(ascii: "["))
        skipSpace()
        if i < b.count, b[i] == UInt8(ascii: "]") { i += 1; return slots }
        while true {
            try expect(UInt8(ascii: "["))
            for f in 0..<fieldCount {
                if f > 0 { try expect(UInt8(ascii: ",")) }
                slots.append(try value())
            }
            try expect(UInt8(ascii: "]"))
            skipSpace()
            guard i < b.count else { throw Malformed() }
            if b[i] == UInt8(ascii: "]") { break }
            try expect(UInt8(ascii: ","))
        }
        return slots
    }

    /// The values of one request of a parsed segment; valid while the segment's bytes are.
    struct Fields {
        let bytes: UnsafeBufferPointer<UInt8>
        let slots: ArraySlice<Slot>

        /// The request at `position` of a segment that ``parse(_:)`` made `slots` of.
        init(_ position: Int, of slots: [Slot], in bytes: UnsafeBufferPointer<UInt8>) {
            self.bytes = bytes
            self.slots = slots[(position * fieldCount)..<((position + 1) * fieldCount)]
        }

        func integer(_ f: Int) throws -> Int64 {
            guard case .integer(let n) = slots[slots.startIndex + f] else { throw Malformed() }
            return n
        }

        func optionalString(_ f: Int) throws -> String? {
            switch slots[slots.startIndex + f] {
            case .null: return nil
            case .integer: throw Malformed()
            case .text(let r, let escaped):
                let raw = UnsafeBufferPointer(rebasing: bytes[r])
                return escaped ? try APILogSegment.unescape(raw) : String(decoding: raw, as: UTF8.self)
            }
        }

        func string(_ f: Int) throws -> String {
            guard let s = try optionalString(f) else { throw Malformed() }
            return s
        }

        /// Whether a string field is `text`, without making the string when it has no escapes.
        func equals(_ f: Int, _ text: String) throws -> Bool {
            guard case .text(let r, let escaped) = slots[slots.startIndex + f] else { return false }
            if escaped { return try string(f) == text }
            return text.utf8.elementsEqual(UnsafeBufferPointer(rebasing: bytes[r]))
        }
    }

    /// A JSON string's contents (between the quotes) with its escapes undone.
    static func unescape(_ b: UnsafeBufferPointer<UInt8>) throws -> String {
        var out: [UInt8] = []
        out.reserveCapacity(b.count)
        var i = 0
        func hex4() throws -> UInt32 {
            guard i + 4 < b.count else { throw Malformed() }
            var v: UInt32 = 0
            for k in 1...4 {
                guard let d = HexDigit.value(b[i + k]) else { throw Malformed() }
                v = v << 4 | UInt32(d)
            }
            i += 4
            return v
        }
        while i < b.count {
            let c = b[i]
            guard c == UInt8(ascii: "\\") else { out.append(c); i += 1; continue }
            guard i + 1 < b.count else { throw Malformed() }
            i += 1
            switch b[i] {
            case UInt8(ascii: "\""): out.append(0x22)
            case UInt8(ascii: "\\"): out.append(0x5C)
            case UInt8(ascii: "/"): out.append(0x2F)
            case UInt8(ascii: "b"): out.append(0x08)
            case UInt8(ascii: "f"): out.append(0x0C)
            case UInt8(ascii: "n"): out.append(0x0A)
            case UInt8(ascii: "r"): out.append(0x0D)
            case UInt8(ascii: "t"): out.append(0x09)
            case UInt8(ascii: "u"):
                var scalar = try hex4()
                if (0xD800..<0xDC00).contains(scalar), i + 2 < b.count, b[i + 1] == UInt8(ascii: "\\"), b[i + 2] == UInt8(ascii: "u") {
                    let save = i
                    i += 2
                    let low = try hex4()
                    if (0xDC00..<0xE000).contains(low) {
                        scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
                    } else {
                        i = save
                    }
                }
                // A lone surrogate becomes U+FFFD, as a decoder of bad UTF-8 would make it.
                out.append(contentsOf: Array(String(Character(Unicode.Scalar(scalar) ?? "\u{FFFD}")).utf8))
            default: throw Malformed()
            }
            i += 1
        }
        return String(decoding: out, as: UTF8.self)
    }
}
