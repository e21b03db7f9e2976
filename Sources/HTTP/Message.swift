/// The plain values that cross the HTTP layer's boundary: methods, versions, statuses,
/// headers, requests and responses. Everything here is a value type and `Sendable`.

/// A request method token. Only the methods the server is willing to route are
/// recognised; any other well-formed token is answered with 501 (and TRACE with 405).
public struct HTTPMethod: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    public let rawValue: String
    public init(rawValue: String) { self.rawValue = rawValue }

    public static let GET = HTTPMethod(rawValue: "GET")
    public static let HEAD = HTTPMethod(rawValue: "HEAD")
    public static let POST = HTTPMethod(rawValue: "POST")
    public static let PUT = HTTPMethod(rawValue: "PUT")
    public static let PATCH = HTTPMethod(rawValue: "PATCH")
    public static let DELETE = HTTPMethod(rawValue: "DELETE")
    public static let OPTIONS = HTTPMethod(rawValue: "OPTIONS")

    /// Methods a route may be registered for.
    public static let supported: [HTTPMethod] = [.GET, .HEAD, .POST, .PUT, .PATCH, .DELETE, .OPTIONS]

    public var description: String { rawValue }
}

public struct HTTPVersion: Hashable, Sendable, CustomStringConvertible {
    public let major: Int
    public let minor: Int
    public init(major: Int, minor: Int) { self.major = major; self.minor = minor }
    public static let http1_0 = HTTPVersion(major: 1, minor: 0)
    public static let http1_1 = HTTPVersion(major: 1, minor: 1)
    public var description: String { "HTTP/\(major).\(minor)" }
}

/// A response status code with its reason phrase.
public struct HTTPStatus: Hashable, Sendable, CustomStringConvertible {
    public let code: Int
    public let reason: String
    public init(_ code: Int, _ reason: String? = nil) {
        self.code = code
        self.reason = reason ?? HTTPStatus.reasons[code] ?? "Status \(code)"
    }
    public var description: String { "\(code) \(reason)" }

    public static let `continue` = HTTPStatus(100)
    public static let ok = HTTPStatus(200)
    public static let created = HTTPStatus(201)
    public static let noContent = HTTPStatus(204)
    public static let movedPermanently = HTTPStatus(301)
    public static let found = HTTPStatus(302)
    public static let seeOther = HTTPStatus(303)
    public static let notModified = HTTPStatus(304)
    public static let badRequest = HTTPStatus(400)
    public static let unauthorized = HTTPStatus(401)
    public static let forbidden = HTTPStatus(403)
    public static let notFound = HTTPStatus(404)
    public static let methodNotAllowed = HTTPStatus(405)
    public static let requestTimeout = HTTPStatus(408)
    public static let conflict = HTTPStatus(409)
    public static let gone = HTTPStatus(410)
    public static let lengthRequired = HTTPStatus(411)
    public static let payloadTooLarge = HTTPStatus(413)
    public static let uriTooLong = HTTPStatus(414)
    public static let unsupportedMediaType = HTTPStatus(415)
    public static let expectationFailed = HTTPStatus(417)
    public static let unprocessableContent = HTTPStatus(422)
    public static let tooManyRequests = HTTPStatus(429)
    public static let headerFieldsTooLarge = HTTPStatus(431)
    public static let internalServerError = HTTPStatus(500)
    public static let notImplemented = HTTPStatus(501)
    public static let serviceUnavailable = HTTPStatus(503)
    public static let httpVersionNotSupported = HTTPStatus(505)

    static let reasons: [Int: String] = [
        100: "Continue", 200: "OK", 201: "Created", 202: "Accepted", 204: "No Content",
        206: "Partial Content", 301: "Moved Permanently", 302: "Found", 303: "See Other",
        304: "Not Modified", 307: "Temporary Redirect", 308: "Permanent Redirect",
        400: "Bad Request", 401: "Unauthorized", 403: "Forbidden", 404: "Not Found",
        405: "Method Not Allowed", 406: "Not Acceptable", 408: "Request Timeout", 409: "Conflict",
        410: "Gone", 411: "Length Required", 412: "Precondition Failed", 413: "Content Too Large",
        414: "URI Too Long", 415: "Unsupported Media Type", 416: "Range Not Satisfiable",
        417: "Expectation Failed", 422: "Unprocessable Content", 429: "Too Many Requests",
        431: "Request Header Fields Too Large", 500: "Internal Server Error", 501: "Not Implemented",
        502: "Bad Gateway", 503: "Service Unavailable", 504: "Gateway Timeout",
        505: "HTTP Version Not Supported",
    ]
}

/// An ordered list of header fields. Names compare case-insensitively; order and
/// repetitions are kept as received.
public struct HTTPHeaders: Sendable, Sequence, ExpressibleByDictionaryLiteral, CustomStringConvertible {
    public typealias Element = (name: String, value: String)
    @usableFromInline var fields: [Element]

    public init() { fields = [] }
    public init(_ fields: [(String, String)]) { self.fields = fields.map { (name: $0.0, value: $0.1) } }
    public init(dictionaryLiteral elements: (String, String)...) { self.init(elements) }

    public var count: Int { fields.count }
    public var isEmpty: Bool { fields.isEmpty }
    public func makeIterator() -> IndexingIterator<[Element]> { fields.makeIterator() }

    /// The first value for `name`, if any.
    ///
    /// Over the bytes of native strings when it can (header names always are): a request's
    /// middlewares ask a dozen names each, of a dozen fields, and the generic comparison
    /// walked both strings with iterators.
    public subscript(name: String) -> String? {
        let found: String?? = name.utf8.withContiguousStorageIfAvailable { wanted -> String? in
            for f in fields {
                let hit = f.name.utf8.withContiguousStorageIfAvailable { asciiCaseInsensitiveEquals(bytes: $0, wanted) }
                    ?? asciiCaseInsensitiveEquals(f.name, name)
                if hit { return f.value }
            }
            return nil
        }
        if let found { return found }
        for f in fields where asciiCaseInsensitiveEquals(f.name, name) { return f.value }
        return nil
    }

    /// Every value for `name`, in order.
    public func values(_ name: String) -> [String] {
        fields.compactMap { asciiCaseInsensitiveEquals($0.name, name) ? $0.value : nil }
    }

    public func contains(_ name: String) -> Bool { self[name] != nil }

    public mutating func add(_ name: String, _ value: String) { fields.append((name: name, value: value)) }

    /// Replaces every field called `name` with one field, or adds it.
    public mutating func set(_ name: String, _ value: String) {
        remove(name)
        fields.append((name: name, value: value))
    }

    /// Adds the field only when no field of that name is present.
    public mutating func setIfAbsent(_ name: String, _ value: String) {
        if !contains(name) { fields.append((name: name, value: value)) }
    }

    public mutating func remove(_ name: String) {
        fields.removeAll { asciiCaseInsensitiveEquals($0.name, name) }
    }

    /// True when a comma-separated list header (such as `Connection`) has `token`.
    public func hasToken(_ token: String, in name: String) -> Bool {
        // Straight over the fields and their bytes (no array of values, no substrings): asked
        // for every request's keep-alive and every response's compression.
        for f in fields where asciiCaseInsensitiveEquals(f.name, name) {
            if Self.list(f.value, contains: token) { return true }
        }
        return false
    }

    /// Whether the comma-separated `list` has `token` as an element (spaces and tabs around
    /// elements ignored, letters compared without case).
    public static func list(_ list: String, contains token: String) -> Bool {
        var list = list, token = token
        return list.withUTF8 { v in
            token.withUTF8 { t in
                var start = 0
                while start <= v.count {
                    var end = start
                    while end < v.count && v[end] != UInt8(ascii: ",") { end += 1 }
                    var a = start, b = end
                    while a < b && (v[a] == 0x20 || v[a] == 0x09) { a += 1 }
                    while b > a && (v[b - 1] == 0x20 || v[b - 1] == 0x09) { b -= 1 }
                    if b - a == t.count && asciiCaseInsensitiveEquals(bytes: UnsafeBufferPointer(rebasing: v[a..<b]), t) { return true }
                    start = end + 1
                }
                return false
            }
        }
    }

    public var description: String { fields.map { "\($0.name): \($0.value)" }.joined(separator: "\n") }

    /// A set of header names asked for together (``firstValues(of:_:)``), made once.
    public struct Names: Sendable {
        public let names: [String]
        fileprivate let bytes: [[UInt8]]

        public init(_ names: [String]) {
            self.names = names
            bytes = names.map { Array($0.utf8) }
        }
    }

    /// The first value of each of `names`, found in one pass over the fields rather than a
    /// pass per name: `body` gets each present name's position in `names` and its value, in the
    /// order of `names`. For a middleware that summarizes a dozen names of every message.
    public func firstValues(of names: Names, _ body: (Int, String) throws -> Void) rethrows {
        try withUnsafeTemporaryAllocation(of: Int.self, capacity: names.bytes.count) { found in
            found.initialize(repeating: -1)
            var missing = names.bytes.count
            for f in fields.indices where missing > 0 {
                let hit: Int? = fields[f].name.utf8.withContiguousStorageIfAvailable { field -> Int? in
                    for n in names.bytes.indices where found[n] < 0 && names.bytes[n].count == field.count {
                        if names.bytes[n].withUnsafeBufferPointer({ asciiCaseInsensitiveEquals(bytes: field, $0) }) { return n }
                    }
                    return nil
                } ?? names.names.indices.first { found[$0] < 0 && asciiCaseInsensitiveEquals(fields[f].name, names.names[$0]) }
                if let hit {
                    found[hit] = f
                    missing -= 1
                }
            }
            for n in found.indices where found[n] >= 0 { try body(n, fields[found[n]].value) }
        }
    }
}

/// The part of a request known once its header section has been read: enough to
/// route it and decide how large a body it may have.
public struct HTTPRequestHead: Sendable {
    public var method: HTTPMethod
    /// The request target as sent (origin-form `/a?b`, or absolute-form `http://h/a?b`).
    public var target: String
    /// The path component, still percent-encoded, always starting with `/` (or `*`).
    public var path: String
    /// The query component without `?`, if present.
    public var query: String?
    public var version: HTTPVersion
    public var headers: HTTPHeaders

    public init(method: HTTPMethod, target: String, version: HTTPVersion = .http1_1, headers: HTTPHeaders = HTTPHeaders()) {
        self.method = method
        self.target = target
        self.version = version
        self.headers = headers
        let (p, q) = splitTarget(target)
        self.path = p
        self.query = q
    }

    /// Whether the connection stays open after this request (RFC 9112 §9.3).
    public var keepAlive: Bool {
        if headers.hasToken("close", in: "Connection") { return false }
        if version.major == 1 && version.minor == 0 { return headers.hasToken("keep-alive", in: "Connection") }
        return true
    }
}

/// A complete request, body included, handed to the application on a worker thread.
public struct HTTPRequest: Sendable {
    public var head: HTTPRequestHead
    public var body: [UInt8]
    /// The peer's address, e.g. `127.0.0.1`.
    public var remoteAddress: String

    public init(head: HTTPRequestHead, body: [UInt8] = [], remoteAddress: String = "") {
        self.head = head
        self.body = body
        self.remoteAddress = remoteAddress
    }

    public var method: HTTPMethod { head.method }
    public var path: String { head.path }
    public var query: String? { head.query }
    public var headers: HTTPHeaders { head.headers }
    public var version: HTTPVersion { head.version }
}

/// Writes a streamed response body chunk by chunk. `write` blocks the calling worker
/// thread while the connection's output buffer is full (back-pressure), and throws
/// once the client has gone away.
public protocol BodyWriter: Sendable {
    func write(_ bytes: [UInt8]) throws
}

/// The source of a pulled body (``HTTPBody/pull(_:)``). It keeps its own position between
/// calls (a file offset, a keyset cursor), because the server calls it once per chunk, each
/// time on whichever worker is free, never two calls at once for one body and never after it
/// returned nil or threw. It must not block waiting for the client: the server only asks when
/// the client has taken the previous chunks.
///
/// - Return the next bytes (about 64 KB is a good size; an empty array is skipped and the
///   producer asked again at once), or nil once the body is complete.
/// - Throwing before the first chunk answers 500 instead; throwing later ends the connection
///   without the chunked terminator, so the client sees a truncated body, never a complete
///   looking one.
/// - If the client goes away, the producer is simply not asked again and is released.
public protocol BodyProducer: AnyObject, Sendable {
    func nextChunk() throws -> [UInt8]?
}

public enum HTTPBody: Sendable {
    /// A body held in memory, sent with `Content-Length`.
    case bytes([UInt8])
    /// A body produced while it is sent, with chunked transfer coding (HTTP/1.1) or
    /// until close (HTTP/1.0). The closure runs on a worker thread.
    case stream(@Sendable (any BodyWriter) throws -> Void)
    /// A body the server pulls chunk by chunk (chunked transfer coding on HTTP/1.1, until
    /// close on HTTP/1.0): the producer is asked for its next chunk on a worker thread only
    /// when the connection's output has drained below ``HTTPServer/Configuration/pullLowWater``.
    /// Between pulls no thread waits for the client, so a slow download costs a cursor, not a
    /// worker. See ``BodyProducer``.
    case pull(any BodyProducer)

    public static let empty = HTTPBody.bytes([])
}

/// A response as a plain value.
public struct HTTPResponse: Sendable {
    public var status: HTTPStatus
    public var headers: HTTPHeaders
    public var body: HTTPBody
    /// When set, the server sends this response no sooner than this long after it was made
    /// (a tarpit for abusive callers, say). The wait holds no worker thread: the event loop
    /// keeps the encoded bytes and a timer, and sends them when it fires. The connection
    /// reads nothing more meanwhile, so pipelined requests are still answered in order; a
    /// peer that hangs up during the wait gets nothing and its connection is closed at once.
    /// Honoured for buffered bodies (`.bytes`); streamed and pulled bodies ignore it.
    public var deliverAfter: Duration? = nil

    public init(status: HTTPStatus = .ok, headers: HTTPHeaders = HTTPHeaders(), body: HTTPBody = .empty) {
        self.status = status
        self.headers = headers
        self.body = body
    }

    public init(status: HTTPStatus = .ok, contentType: String, body: String) {
        self.init(status: status, headers: ["Content-Type": contentType], body: .bytes(Array(body.utf8)))
    }

    /// The body bytes if buffered, else nil.
    public var bufferedBody: [UInt8]? {
        if case .bytes(let b) = body { return b }
        return nil
    }
}

// MARK: - small helpers shared inside the module

/// ``asciiCaseInsensitiveEquals(_:_:)`` over two byte buffers.
@inlinable
func asciiCaseInsensitiveEquals(bytes a: UnsafeBufferPointer<UInt8>, _ b: UnsafeBufferPointer<UInt8>) -> Bool {
    guard a.count == b.count else { return false }
    for i in 0..<a.count {
        let x = a[i], y = b[i]
        if x == y { continue }
        let l = x | 0x20
        if l != (y | 0x20) || l < 0x61 || l > 0x7A { return false }
    }
    return true
}

@inlinable
func asciiCaseInsensitiveEquals<A: StringProtocol, B: StringProtocol>(_ a: A, _ b: B) -> Bool {
    let au = a.utf8, bu = b.utf8
    guard au.count == bu.count else { return false }
    // Native strings (every header name) are contiguous: compare their bytes where they lie.
    // Through the views' iterators it was ~10 instructions a byte, and a response's encoding
    // and its middleware's `set`s compare dozens of names of equal length.
    if let equal = au.withContiguousStorageIfAvailable({ x in bu.withContiguousStorageIfAvailable { y in asciiCaseInsensitiveEquals(bytes: x, y) } }),
       let equal {
        return equal
    }
    var i = bu.makeIterator()
    for x in au {
        let y = i.next()!
        if x == y { continue }
        if (x | 0x20) != (y | 0x20) { return false }
        let l = x | 0x20
        if l < 0x61 || l > 0x7A { return false }
    }
    return true
}

extension StringProtocol {
    /// The string without leading and trailing spaces and tabs.
    var trimmingSpaces: Substring {
        var s = Substring(self)
        while let f = s.first, f == " " || f == "\t" { s.removeFirst() }
        while let l = s.last, l == " " || l == "\t" { s.removeLast() }
        return s
    }
}

/// Splits a request target into its path and query, turning the absolute form
/// (`http://host/p?q`) into the path it names.
func splitTarget(_ target: String) -> (path: String, query: String?) {
    // Origin-form, nearly every request: the first `?` found in the bytes (a Character search
    // segmented graphemes, 20,000 instructions for a search page's target).
    let bytes = target.utf8
    if bytes.first == UInt8(ascii: "/") {
        guard let q = bytes.firstIndex(of: UInt8(ascii: "?")) else { return (target, nil) }
        return (String(target[..<q]), String(target[bytes.index(after: q)...]))
    }
    var rest = Substring(target)
    if !rest.hasPrefix("/") && rest != "*" {
        // absolute-form: scheme://authority/path?query
        if let r = rest.firstRange(of: "://") {
            rest = rest[r.upperBound...]
            if let slash = rest.firstIndex(where: { $0 == "/" || $0 == "?" }) {
                rest = rest[slash...]
            } else {
                rest = ""
            }
        }
        if !rest.hasPrefix("/") { rest = Substring("/" + rest) }
    }
    if let q = rest.firstIndex(of: "?") {
        return (String(rest[..<q]), String(rest[rest.index(after: q)...]))
    }
    return (String(rest), nil)
}
