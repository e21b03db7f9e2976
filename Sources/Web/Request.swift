import HTTP
import Synchronization
#if canImport(Glibc)
import Glibc
#endif
import Logging

/// A request as the Web layer's handlers and middleware see it: the ``HTTPRequest`` plus
/// the route's path parameters, lazily decoded query and cookies, form decoding, a
/// request id, a logger tagged with that id, and typed storage that middleware uses to
/// hand values down the chain (the session, the signed-in user, flash state…).
///
/// `Request` is a class so that middleware can attach values that later code sees
/// without threading copies around. It is `@unchecked Sendable` because it is created
/// per request and used by one worker thread at a time: the server hands the request to
/// a single worker, and the middleware chain and handler run synchronously on it. It is
/// never shared between threads concurrently; don't stash it somewhere another thread
/// can reach (spawned tasks, caches) while the request is running.
public final class Request: @unchecked Sendable {
    /// The request as the HTTP layer delivered it.
    public let http: HTTPRequest
    /// A short random identifier, in the log line and on the 500 page.
    public let id: String
    /// A logger whose metadata carries `request-id`. Middleware may add metadata.
    public var logger: Logger
    /// The path as the request log writes it, when it must differ from `path`: a route whose
    /// path carries a secret (a mailed link's token) puts a placeholder there.
    public var loggedPath: String?

    /// Path parameters of the matched route (`:org` → `parameters["org"]`).
    public internal(set) var parameters: Parameters
    /// Whether a route matched this method and path. Pipeline middleware runs for requests
    /// that match none too (before their 404/405): it checks this rather than looking the
    /// route up a second time (e.g. CSRF leaves a POST to nowhere to the 404).
    public internal(set) var isRouted = false
    /// The 400/404/405 the router found for a request that matched no route.
    var routingError: HTTPError?
    /// The error shape of the pipeline the request falls in, set when it is routed; nil
    /// before routing and outside any pipeline (``WebApplication`` then uses its default).
    public internal(set) var errorResponder: (any ErrorResponder)?
    /// The handler ``Router/resolve(_:)`` found, run by ``WebApplication`` after its global middleware.
    var resolvedHandler: Handler?
    /// Typed values attached by middleware: `req.storage[SessionKey.self]`.
    public var storage: RequestStorage
    /// Values merged into every template rendered for this request (e.g. `csrfToken`,
    /// `currentUser`). Page view models take precedence over these names.
    public var templateValues: [String: Any]

    public init(_ http: HTTPRequest, id: String = Request.makeID(), logger: Logger = Logger(label: "web")) {
        self.http = http
        self.id = id
        var logger = logger
        logger[metadataKey: "request-id"] = .string(id)
        self.logger = logger
        self.parameters = Parameters()
        self.storage = RequestStorage()
        self.templateValues = [:]
    }

    public var method: HTTPMethod { http.head.method }
    /// The path, still percent-encoded, without the query.
    public var path: String { http.head.path }
    public var headers: HTTPHeaders { http.head.headers }
    public var body: [UInt8] { http.body }
    public var remoteAddress: String { http.remoteAddress }

    /// The decoded query parameters (leniently decoded; see ``URLEncodedForm/parseQuery(_:maxFields:)``).
    public lazy var query: URLEncodedForm = http.head.query.map { URLEncodedForm.parseQuery($0) } ?? URLEncodedForm()

    /// Cookies sent with the request, by name (the first wins when a name repeats).
    public lazy var cookies: [String: String] = Cookies.parse(http.head.headers)

    /// The media type of the body without parameters, lowercased (`multipart/form-data`).
    public var mediaType: String? {
        guard let ct = headers["Content-Type"] else { return nil }
        return ct.split(separator: ";", maxSplits: 1).first.map { $0.trimmingSpacesAndTabs.lowercased() }
    }

    private var cachedForm: URLEncodedForm?
    private var cachedMultipart: MultipartForm?

    /// The body decoded as `application/x-www-form-urlencoded`.
    ///
    /// Throws ``FormError``, which the error pages answer with 400, 413 or 415.
    public func form(limits: FormLimits = .default) throws -> URLEncodedForm {
        if let f = cachedForm { return f }
        guard mediaType == "application/x-www-form-urlencoded" else { throw FormError.unsupportedContentType }
        let f = try URLEncodedForm.parse(http.body, limits: limits)
        cachedForm = f
        return f
    }

    /// The body decoded as `multipart/form-data`.
    ///
    /// Throws ``MultipartError``, which the error pages answer with 400, 413 or 415.
    public func multipart(limits: MultipartLimits = .default) throws -> MultipartForm {
        if let m = cachedMultipart { return m }
        let m = try MultipartForm.parse(body: http.body, contentType: headers["Content-Type"], limits: limits)
        cachedMultipart = m
        return m
    }

    /// A request id: 24 lowercase hex digits, the unix second it was made (8 digits) then 64
    /// random-looking bits (16). The random part makes it unique; the time in front says when,
    /// so the API request log finds a request by its id among the few batches written around then.
    ///
    /// The 64 bits are a counter through SipHash (`Hasher`, keyed with the process's random
    /// seed): distinct for every id the process makes, and as hard to guess as random bits,
    /// without the `getrandom` system call each request made for them.
    public static func makeID(now: Int = time(nil)) -> String {
        var hasher = Hasher()
        hasher.combine(idCounter.wrappingAdd(1, ordering: .relaxed).newValue)
        hasher.combine(idSalt)
        let n = UInt64(UInt(bitPattern: hasher.finalize()))
        let seconds = UInt64(truncatingIfNeeded: now) & 0xFFFF_FFFF
        let hex = Array("0123456789abcdef".utf8)
        return String(unsafeUninitializedCapacity: 24) { buf in
            for i in 0..<8 { buf[i] = hex[Int((seconds >> (28 - 4 * UInt64(i))) & 0xF)] }
            for i in 0..<16 { buf[8 + i] = hex[Int((n >> (60 - 4 * UInt64(i))) & 0xF)] }
            return 24
        }
    }

    private static let idCounter = Atomic<UInt64>(0)
    /// Random per process, so two processes' counters never give the same ids.
    private static let idSalt: UInt64 = .random(in: .min ... .max)
}

/// The path parameters captured by a route pattern, already percent-decoded.
public struct Parameters: Sendable {
    var values: [(name: String, value: String)] = []
    /// The segments matched by a trailing `*` in the pattern, decoded.
    public internal(set) var wildcard: [String] = []

    public init() {}

    public subscript(name: String) -> String? {
        for v in values where v.name == name { return v.value }
        return nil
    }

    /// The parameter, or a 404 ``HTTPError`` when absent (a programming error in the pattern).
    public func require(_ name: String) throws -> String {
        guard let v = self[name] else { throw HTTPError(.notFound) }
        return v
    }

    /// The parameter converted to an integer, or 404 when absent or not a number:
    /// `/orgs/abc` is as missing as `/orgs/999`.
    public func require(_ name: String, as: Int.Type) throws -> Int {
        guard let v = self[name], let n = Int(v) else { throw HTTPError(.notFound) }
        return n
    }
}

/// A key for ``RequestStorage``: the key type names the value's type.
///
/// ```swift
/// enum SessionKey: RequestStorageKey { typealias Value = Session }
/// req.storage[SessionKey.self] = session
/// ```
public protocol RequestStorageKey {
    associatedtype Value
}

/// Typed per-request values, keyed by ``RequestStorageKey`` types.
///
/// A request holds a handful of them, read a few dozen times between the middleware and
/// the page: each is kept in a box of its own type beside its key's identity, found by a
/// scan and read without a cast (the key's type names the value's type), where a
/// dictionary of `Any` hashed the key and dynamically cast the value on every read.
///
/// The subscript is inlinable so that it is specialized for each key where it is used: as a
/// generic call from another module it built the tuple's and the optional's type metadata
/// at run time on every read and write (~1,000 instructions each, a dozen a page).
public struct RequestStorage {
    @usableFromInline
    final class Box<Value> {
        @usableFromInline let value: Value
        @usableFromInline init(_ value: Value) { self.value = value }
    }

    /// Boxes are never changed, only replaced, so a copy of the storage keeps its values.
    @usableFromInline var entries: [(key: ObjectIdentifier, box: AnyObject)] = []

    public init() {}

    @inlinable
    public subscript<Key: RequestStorageKey>(key: Key.Type) -> Key.Value? {
        get {
            let id = ObjectIdentifier(key)
            for entry in entries where entry.key == id {
                // Safe: only this subscript stores under `id`, always a `Box<Key.Value>`.
                return unsafeDowncast(entry.box, to: Box<Key.Value>.self).value
            }
            return nil
        }
        set {
            let id = ObjectIdentifier(key)
            let i = entries.firstIndex { $0.key == id }
            switch (i, newValue) {
            case (let i?, let v?): entries[i].box = Box(v)
            case (let i?, nil): entries.remove(at: i)
            case (nil, let v?):
                if entries.isEmpty { entries.reserveCapacity(8) }
                entries.append((id, Box(v)))
            case (nil, nil): break
            }
        }
    }
}

extension StringProtocol {
    var trimmingSpacesAndTabs: Substring {
        var s = Substring(self)
        while let f = s.first, f == " " || f == "\t" { s.removeFirst() }
        while let l = s.last, l == " " || l == "\t" { s.removeLast() }
        return s
    }
}

extension String {
    /// Whether the string's bytes begin with `prefix`'s, compared in place (the generic
    /// `utf8.starts(with:)` steps two iterators byte by byte): for the checks every request
    /// makes, such as a media type or a path prefix.
    func utf8HasPrefix(_ prefix: String) -> Bool {
        let found = utf8.withContiguousStorageIfAvailable { s in
            prefix.utf8.withContiguousStorageIfAvailable { p in
                p.count <= s.count && (p.isEmpty || memcmp(s.baseAddress!, p.baseAddress!, p.count) == 0)
            }
        }
        if let found = found ?? nil { return found }
        return utf8.starts(with: prefix.utf8)
    }
}
