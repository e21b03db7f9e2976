import HTTP

/// Maps a method and a path to a handler.
///
/// Patterns are matched against the percent-decoded path segments: literal segments,
/// `:name` parameters (one whole segment, `req.parameters["name"]`) and a trailing `*`
/// that takes the remaining segments (`req.parameters.wildcard`). When several patterns
/// match, literals beat parameters and parameters beat `*`, segment by segment, whatever
/// the order of registration. A trailing slash is significant: `/orgs/` is not `/orgs`.
///
/// - No pattern matches the path → 404.
/// - A pattern matches but not for this method → 405 with an `Allow` header.
/// - HEAD is answered by the GET route unless a HEAD route exists.
///
/// ```swift
/// var router = Router()
/// router.get("/") { req in try templates.render(page: "home/index", context: [:], request: req) }
/// router.group("/orgs/:org", middleware: [RequireMember()]) { org in
///     org.get("/keys") { req in … }
///     org.post("/keys", bodyLimit: 16 * 1024) { req in … }
/// }
/// ```
///
/// The router is a value built once at start-up and then handed to ``WebApplication``.
public struct Router: Sendable {
    /// The body limit of a route that declares none, and of requests that match no route.
    public static let defaultBodyLimit = 1 << 20

    enum Segment: Sendable, Equatable {
        case literal(String)
        case parameter(String)
        case wildcard

        var rank: Int {
            switch self {
            case .literal: 0
            case .parameter: 1
            case .wildcard: 2
            }
        }
    }

    struct Route: Sendable {
        let method: HTTPMethod
        let pattern: [Segment]
        let bodyLimit: Int
        let handler: Handler

        func match(_ segments: [String]) -> Parameters? {
            var params = Parameters()
            for (i, seg) in pattern.enumerated() {
                switch seg {
                case .wildcard:
                    params.wildcard = Array(segments[i...])
                    return params
                case .literal(let lit):
                    guard i < segments.count, segments[i] == lit else { return nil }
                case .parameter(let name):
                    guard i < segments.count, !segments[i].isEmpty else { return nil }
                    params.values.append((name: name, value: segments[i]))
                }
            }
            return segments.count == pattern.count ? params : nil
        }

        /// Orders more specific patterns first.
        func isMoreSpecific(than other: Route) -> Bool {
            for (a, b) in zip(pattern, other.pattern) where a.rank != b.rank {
                return a.rank < b.rank
            }
            return pattern.count < other.pattern.count
        }
    }

    enum Match {
        case found(Route, Parameters)
        case methodNotAllowed([HTTPMethod])
        case notFound
    }

    /// Routes kept ordered from most to least specific (stable among equals).
    private(set) var routes: [Route] = []
    private let prefix: [Segment]
    private let middleware: [any Middleware]
    private let groupBodyLimit: Int?

    public init() {
        self.prefix = []
        self.middleware = []
        self.groupBodyLimit = nil
    }

    private init(prefix: [Segment], middleware: [any Middleware], bodyLimit: Int?) {
        self.prefix = prefix
        self.middleware = middleware
        self.groupBodyLimit = bodyLimit
    }

    // MARK: registration

    /// Registers `handler` for `method` and `path`.
    /// - Parameters:
    ///   - bodyLimit: the largest request body accepted, in bytes; larger declared bodies
    ///     are refused with 413 before they are read. Defaults to the group's limit or 1 MiB.
    ///   - middleware: middleware for this route only, inside the group's middleware.
    public mutating func on(
        _ method: HTTPMethod, _ path: String, bodyLimit: Int? = nil, middleware: [any Middleware] = [],
        _ handler: @escaping Handler
    ) {
        let pattern = prefix + Self.parsePattern(path)
        let composed = MiddlewareChain.compose(self.middleware + middleware, handler)
        let route = Route(method: method, pattern: pattern, bodyLimit: bodyLimit ?? groupBodyLimit ?? Self.defaultBodyLimit, handler: composed)
        insert(route)
    }

    public mutating func get(_ path: String, bodyLimit: Int? = nil, middleware: [any Middleware] = [], _ handler: @escaping Handler) {
        on(.GET, path, bodyLimit: bodyLimit, middleware: middleware, handler)
    }

    public mutating func post(_ path: String, bodyLimit: Int? = nil, middleware: [any Middleware] = [], _ handler: @escaping Handler) {
        on(.POST, path, bodyLimit: bodyLimit, middleware: middleware, handler)
    }

    public mutating func put(_ path: String, bodyLimit: Int? = nil, middleware: [any Middleware] = [], _ handler: @escaping Handler) {
        on(.PUT, path, bodyLimit: bodyLimit, middleware: middleware, handler)
    }

    public mutating func patch(_ path: String, bodyLimit: Int? = nil, middleware: [any Middleware] = [], _ handler: @escaping Handler) {
        on(.PATCH, path, bodyLimit: bodyLimit, middleware: middleware, handler)
    }

    public mutating func delete(_ path: String, bodyLimit: Int? = nil, middleware: [any Middleware] = [], _ handler: @escaping Handler) {
        on(.DELETE, path, bodyLimit: bodyLimit, middleware: middleware, handler)
    }

    /// Registers the routes that `build` adds under a shared path prefix (which may hold
    /// parameters, e.g. `/orgs/:org`), wrapped in `middleware`, with an optional shared body limit.
    public mutating func group(
        _ prefix: String, middleware: [any Middleware] = [], bodyLimit: Int? = nil, _ build: (inout Router) -> Void
    ) {
        var sub = Router(
            prefix: self.prefix + Self.parsePattern(prefix), middleware: self.middleware + middleware,
            bodyLimit: bodyLimit ?? groupBodyLimit)
        build(&sub)
        for r in sub.routes { insert(r) }
    }

    private mutating func insert(_ route: Route) {
        let i = routes.firstIndex { route.isMoreSpecific(than: $0) } ?? routes.endIndex
        routes.insert(route, at: i)
    }

    static func parsePattern(_ path: String) -> [Segment] {
        precondition(path.isEmpty || path.hasPrefix("/"), "route pattern must start with '/': \(path)")
        if path.isEmpty || path == "/" { return [] }
        let parts = path.dropFirst().split(separator: "/", omittingEmptySubsequences: false)
        return parts.enumerated().map { i, part in
            if part == "*" {
                precondition(i == parts.count - 1, "'*' must be the last segment: \(path)")
                return .wildcard
            }
            if part.hasPrefix(":") {
                precondition(part.count > 1, "parameter without a name: \(path)")
                return .parameter(String(part.dropFirst()))
            }
            return .literal(String(part))
        }
    }

    // MARK: matching

    /// Splits a raw path into percent-decoded segments; nil when it is not an origin-form
    /// path or holds a malformed escape or invalid UTF-8.
    static func decodeSegments(_ path: String) -> [String]? {
        guard path.hasPrefix("/") else { return nil }
        if path == "/" { return [] }
        var out: [String] = []
        for raw in path.utf8.dropFirst().split(separator: UInt8(ascii: "/"), omittingEmptySubsequences: false) {
            guard let s = PercentDecoding.decode(Substring(raw), plusAsSpace: false) else { return nil }
            out.append(s)
        }
        return out
    }

    func match(method: HTTPMethod, segments: [String]) -> Match {
        var allowed: [HTTPMethod] = []
        var headFallback: (Route, Parameters)?
        for route in routes {
            guard let params = route.match(segments) else { continue }
            if route.method == method { return .found(route, params) }
            if method == .HEAD, route.method == .GET, headFallback == nil { headFallback = (route, params) }
            if !allowed.contains(route.method) { allowed.append(route.method) }
        }
        if let (route, params) = headFallback { return .found(route, params) }
        if allowed.isEmpty { return .notFound }
        if allowed.contains(.GET), !allowed.contains(.HEAD) { allowed.insert(.HEAD, at: allowed.firstIndex(of: .GET)! + 1) }
        return .methodNotAllowed(allowed)
    }

    /// The body limit for a request head; used by ``WebApplication/bodyLimit(for:)`` on
    /// the event loop, so it only matches, it never runs anything.
    public func bodyLimit(method: HTTPMethod, path: String) -> Int {
        guard let segments = Self.decodeSegments(path),
            case .found(let route, _) = match(method: method, segments: segments)
        else { return Self.defaultBodyLimit }
        return route.bodyLimit
    }

    /// Whether a route answers this method and path (so middleware can leave 404 and 405
    /// to the router rather than, say, refusing a form first).
    public func hasRoute(method: HTTPMethod, path: String) -> Bool {
        guard let segments = Self.decodeSegments(path), case .found = match(method: method, segments: segments) else { return false }
        return true
    }

    /// Runs the matching route's handler, or throws 400/404/405 as an ``HTTPError``.
    public func respond(to req: Request) throws -> HTTPResponse {
        guard let segments = Self.decodeSegments(req.path) else {
            throw HTTPError(.badRequest, "The address is not valid.")
        }
        switch match(method: req.method, segments: segments) {
        case .found(let route, let params):
            req.parameters = params
            return try route.handler(req)
        case .methodNotAllowed(let allowed):
            throw HTTPError(.methodNotAllowed, headers: ["Allow": allowed.map(\.rawValue).joined(separator: ", ")])
        case .notFound:
            throw HTTPError(.notFound)
        }
    }
}
