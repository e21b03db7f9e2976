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
/// ## Pipelines
///
/// A group declared with `errors:` is a *pipeline* (Hummingbird's route groups, plus an
/// error shape): the middleware a route needs is visible where the route is declared, and
/// the group owns every request whose path falls under its prefix:
///
/// - errors thrown by its routes and middleware are answered by its ``ErrorResponder``
///   (an HTML page for people, a JSON object for programs);
/// - a request under its prefix that matches no route still runs the group's middleware
///   before the 404/405 (so the 404 page knows who is signed in, and an API 404 is JSON);
/// - refusals made by the HTTP layer before routing (413, 400…) use the responder of the
///   group the path falls in (see ``WebApplication/errorResponse(status:head:)``).
///
/// When pipelines nest or overlap, the longest prefix wins. Routes registered outside any
/// pipeline run with no group middleware at all (e.g. `/healthz`), and their errors use the
/// pipeline their path falls in.
///
/// ```swift
/// router.group("", middleware: [session, csrf, flash], errors: ErrorPages(templates: t)) { web in
///     AccountsController(…).register(on: &web)
/// }
/// router.group("/v1", middleware: [apiCredentials], errors: JSONErrors()) { api in
///     api.get("/ping") { _ in try .json(["ok": true]) }
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
        /// The error shape of the innermost pipeline the route was declared in.
        let errors: (any ErrorResponder)?

        func match(_ segments: [String]) -> Parameters? {
            matches(segments) ? parameters(segments) : nil
        }

        /// The parameters of segments the pattern ``matches(_:)``.
        func parameters(_ segments: [String]) -> Parameters {
            var params = Parameters()
            for (i, seg) in pattern.enumerated() {
                switch seg {
                case .wildcard:
                    params.wildcard = Array(segments[i...])
                    return params
                case .literal:
                    break
                case .parameter(let name):
                    params.values.append((name: name, value: segments[i]))
                }
            }
            return params
        }

        /// Whether the pattern matches, checked before any parameter is kept: most routes tried
        /// for a path fail on a literal after a parameter (`/orgs/:org/members` for
        /// `/orgs/:org/:env/transactions`), and keeping the parameter first cost each an allocation.
        func matches(_ segments: [String]) -> Bool {
            if case .wildcard? = pattern.last {
                guard segments.count >= pattern.count - 1 else { return false }
            } else {
                guard segments.count == pattern.count else { return false }
            }
            for (i, seg) in pattern.enumerated() {
                switch seg {
                case .wildcard:
                    return true
                case .literal(let lit):
                    guard segments[i] == lit else { return false }
                case .parameter:
                    guard !segments[i].isEmpty else { return false }
                }
            }
            return true
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

    /// A pipeline: a group declared with an error shape (see "Pipelines" above).
    struct Pipeline: Sendable {
        let prefix: [Segment]
        let errors: any ErrorResponder
        /// The group's middleware around a handler that throws the request's 404/405, for
        /// requests under the prefix that match no route. Composed once, at registration.
        let unmatched: Handler

        func covers(_ segments: [String]) -> Bool {
            guard segments.count >= prefix.count else { return false }
            for (i, seg) in prefix.enumerated() {
                switch seg {
                case .literal(let lit): if segments[i] != lit { return false }
                case .parameter: if segments[i].isEmpty { return false }
                case .wildcard: return true
                }
            }
            return true
        }
    }

    /// Routes kept ordered from most to least specific (stable among equals).
    private(set) var routes: [Route] = []
    /// For each literal first segment, the indices in `routes` of the routes that could match
    /// a path beginning with it (that literal, or a parameter or `*` first), in `routes`' order;
    /// a path whose first segment is none of them (or `/`) is tried against
    /// `notLiteralFirst`. Matching thus looks at the routes of one area, not at all of them.
    private var byFirstSegment: [String: [Int]] = [:]
    private var notLiteralFirst: [Int] = []
    /// Pipelines ordered from the longest prefix to the shortest.
    private(set) var pipelines: [Pipeline] = []
    /// Per method, the body limit when every route of that
    /// method shares one (nil when they differ): lets ``bodyLimit(method:path:)`` answer a
    /// GET without matching the path, so a GET costs one route lookup, not two.
    private var uniformLimits: [HTTPMethod: Int?] = [:]
    private let prefix: [Segment]
    private let middleware: [any Middleware]
    private let groupBodyLimit: Int?
    private let groupErrors: (any ErrorResponder)?

    public init() {
        self.prefix = []
        self.middleware = []
        self.groupBodyLimit = nil
        self.groupErrors = nil
    }

    private init(prefix: [Segment], middleware: [any Middleware], bodyLimit: Int?, errors: (any ErrorResponder)?) {
        self.prefix = prefix
        self.middleware = middleware
        self.groupBodyLimit = bodyLimit
        self.groupErrors = errors
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
        let route = Route(method: method, pattern: pattern, bodyLimit: bodyLimit ?? groupBodyLimit ?? Self.defaultBodyLimit,
                          handler: composed, errors: groupErrors)
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
    /// parameters, e.g. `/orgs/:org`), wrapped in `middleware` (outermost first, inside any
    /// enclosing group's), with an optional shared body limit.
    ///
    /// With `errors`, the group is a pipeline (see "Pipelines" above): its responder answers
    /// the errors of its routes and middleware, and requests under `prefix` that match no
    /// route run its middleware before the 404/405. Without it, the group inherits the
    /// enclosing pipeline's.
    public mutating func group(
        _ prefix: String, middleware: [any Middleware] = [], bodyLimit: Int? = nil, errors: (any ErrorResponder)? = nil,
        _ build: (inout Router) -> Void
    ) {
        let fullPrefix = self.prefix + Self.parsePattern(prefix)
        let fullMiddleware = self.middleware + middleware
        var sub = Router(prefix: fullPrefix, middleware: fullMiddleware, bodyLimit: bodyLimit ?? groupBodyLimit,
                         errors: errors ?? groupErrors)
        build(&sub)
        for r in sub.routes { insert(r) }
        for p in sub.pipelines { insert(p) }
        if let errors {
            precondition(!fullPrefix.contains(.wildcard), "a pipeline prefix cannot hold '*'")
            let unmatched = MiddlewareChain.compose(fullMiddleware) { req in
                throw req.routingError ?? HTTPError(.notFound)
            }
            insert(Pipeline(prefix: fullPrefix, errors: errors, unmatched: unmatched))
        }
    }

    private mutating func insert(_ route: Route) {
        let i = routes.firstIndex { route.isMoreSpecific(than: $0) } ?? routes.endIndex
        routes.insert(route, at: i)
        reindex()
        let key = route.method
        if let existing = uniformLimits[key] {
            if existing != route.bodyLimit { uniformLimits[key] = .some(nil) }
        } else {
            uniformLimits[key] = route.bodyLimit
        }
    }

    private mutating func reindex() {
        var literals: [String: [Int]] = [:]
        var others: [Int] = []
        for (i, route) in routes.enumerated() {
            if case .literal(let first)? = route.pattern.first {
                literals[first, default: []].append(i)
            } else {
                others.append(i)
            }
        }
        notLiteralFirst = others
        byFirstSegment = literals.mapValues { own in (own + others).sorted() }
    }

    private mutating func insert(_ pipeline: Pipeline) {
        let i = pipelines.firstIndex { pipeline.prefix.count > $0.prefix.count } ?? pipelines.endIndex
        pipelines.insert(pipeline, at: i)
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

    /// Every route as `METHOD /pattern`, parameters written `{name}` as OpenAPI writes them:
    /// lets a test compare the routes with a description of them.
    public var routeList: [String] {
        routes.map { r in
            "\(r.method.rawValue) /" + r.pattern.map { seg -> String in
                switch seg {
                case .literal(let l): l
                case .parameter(let n): "{\(n)}"
                case .wildcard: "*"
                }
            }.joined(separator: "/")
        }
    }

    // MARK: matching

    /// Splits a raw path into percent-decoded segments; nil when it is not an origin-form
    /// path or holds a malformed escape or invalid UTF-8.
    static func decodeSegments(_ path: String) -> [String]? {
        var path = path
        // Over the path's bytes, each segment made a string once (split into substrings and
        // then strings, a page's five segments cost 10,000 instructions).
        return path.withUTF8 { b -> [String]? in
            guard b.first == UInt8(ascii: "/") else { return nil }
            if b.count == 1 { return [] }
            var out: [String] = []
            out.reserveCapacity(8)
            var start = 1
            for i in 1...b.count where i == b.count || b[i] == UInt8(ascii: "/") {
                let raw = UnsafeBufferPointer(rebasing: b[start..<i])
                if raw.contains(UInt8(ascii: "%")) {
                    guard let s = PercentDecoding.decode(raw, plusAsSpace: false) else { return nil }
                    out.append(s)
                } else {
                    out.append(String(decoding: raw, as: UTF8.self))  // a whole segment of valid UTF-8
                }
                start = i + 1
            }
            return out
        }
    }

    func match(method: HTTPMethod, segments: [String]) -> Match {
        var allowed: [HTTPMethod] = []
        var headFallback: (Route, Parameters)?
        let candidates = segments.first.flatMap { byFirstSegment[$0] } ?? notLiteralFirst
        for i in candidates where routes[i].matches(segments) {
            let routeMethod = routes[i].method
            if routeMethod == method { return .found(routes[i], routes[i].parameters(segments)) }
            if method == .HEAD, routeMethod == .GET, headFallback == nil { headFallback = (routes[i], routes[i].parameters(segments)) }
            if !allowed.contains(routeMethod) { allowed.append(routeMethod) }
        }
        if let (route, params) = headFallback { return .found(route, params) }
        if allowed.isEmpty { return .notFound }
        if allowed.contains(.GET), !allowed.contains(.HEAD) { allowed.insert(.HEAD, at: allowed.firstIndex(of: .GET)! + 1) }
        return .methodNotAllowed(allowed)
    }

    /// The body limit for a request head; used by ``WebApplication/bodyLimit(for:)`` on
    /// the event loop, so it only matches, it never runs anything. When every route of the
    /// method (and of GET, for HEAD) shares one limit, that limit is the answer without
    /// matching the path at all.
    public func bodyLimit(method: HTTPMethod, path: String) -> Int {
        if let uniform = uniformLimit(method) { return uniform }
        guard let segments = Self.decodeSegments(path),
            case .found(let route, _) = match(method: method, segments: segments)
        else { return Self.defaultBodyLimit }
        return route.bodyLimit
    }

    private func uniformLimit(_ method: HTTPMethod) -> Int? {
        let own = uniformLimits[method]
        // No route for the method: 405 or 404 whatever the body; the default limit applies.
        guard method == .HEAD else { return own == nil ? Self.defaultBodyLimit : own! }
        let get = uniformLimits[.GET]
        switch (own, get) {
        case (nil, nil): return Self.defaultBodyLimit
        case (nil, let g?): return g
        case (let h?, nil): return h
        case (let h?, let g?): return h == g ? h : nil
        }
    }

    /// The pipeline that owns a path (the longest prefix that covers it), or nil.
    func pipeline(for segments: [String]) -> Pipeline? {
        pipelines.first { $0.covers(segments) }
    }

    /// The error shape for a raw path: its pipeline's, or nil when no pipeline covers it
    /// (or the path cannot be decoded).
    public func errorResponder(forPath path: String) -> (any ErrorResponder)? {
        guard !pipelines.isEmpty else { return nil }
        return pipeline(forRawPath: path)?.errors
    }

    /// The pipeline for a path, decoded; a path that cannot be decoded (`/v1/%zz`) is
    /// placed by its raw segments, so its 400 still has the shape its caller reads.
    func pipeline(forRawPath path: String) -> Pipeline? {
        if let segments = Self.decodeSegments(path) { return pipeline(for: segments) }
        guard path.hasPrefix("/") else { return nil }
        return pipeline(for: path.dropFirst().split(separator: "/", omittingEmptySubsequences: false).map(String.init))
    }

    /// Finds the handler for a request, once: sets ``Request/parameters``,
    /// ``Request/isRouted`` and the error shape (``Request/errorResponder``). A request that
    /// matches no route gets its pipeline's middleware around the 404/405 (or, outside any
    /// pipeline, a handler that throws it).
    public func resolve(_ req: Request) -> Handler {
        guard let segments = Self.decodeSegments(req.path) else {
            req.routingError = HTTPError(.badRequest, "The address is not valid.")
            req.errorResponder = pipeline(forRawPath: req.path)?.errors
            return Self.throwRoutingError
        }
        let error: HTTPError
        switch match(method: req.method, segments: segments) {
        case .found(let route, let params):
            req.parameters = params
            req.isRouted = true
            req.errorResponder = route.errors ?? pipeline(for: segments)?.errors
            return route.handler
        case .methodNotAllowed(let allowed):
            error = HTTPError(.methodNotAllowed, headers: ["Allow": allowed.map(\.rawValue).joined(separator: ", ")])
        case .notFound:
            error = HTTPError(.notFound)
        }
        req.routingError = error
        guard let pipeline = pipeline(for: segments) else { return Self.throwRoutingError }
        req.errorResponder = pipeline.errors
        return pipeline.unmatched
    }

    private static let throwRoutingError: Handler = { req in throw req.routingError ?? HTTPError(.notFound) }

    /// Runs the matching route's handler (with its group's middleware), or throws 400/404/405
    /// as an ``HTTPError`` (after the pipeline's middleware, when a pipeline covers the path).
    public func respond(to req: Request) throws -> HTTPResponse {
        try resolve(req)(req)
    }
}
