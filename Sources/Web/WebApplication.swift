import HTTP
import Logging

/// The Web layer's ``HTTPResponder``: the router, the middleware, the templates and the
/// static files, put together once at start-up.
///
/// Every request runs through this fixed outer pipeline, then its route's:
///
/// 1. ``RequestLogMiddleware`` — one log line with the final status;
/// 2. ``SecurityHeadersMiddleware`` — on every response, error pages included;
/// 3. ``CompressionMiddleware`` — gzip for text bodies (JSON included);
/// 4. errors — anything thrown further in is answered in the shape of the pipeline the
///    request falls in (``Router``'s groups with `errors:`), else by `errors` (by default
///    the HTML ``ErrorPages``); a 500 shows only the request id;
/// 5. ``StaticFiles`` — `/static/…`, before any routing, session or database work;
/// 6. the route is looked up, once (``Router/resolve(_:)``);
/// 7. `middleware` — the app's global middleware, if any (prefer a pipeline's);
/// 8. the route's group middleware (its pipeline's, e.g. session → CSRF → flash for pages,
///    credentials for the API), then its handler.
///
/// HEAD requests are answered like GET and their body is dropped here, keeping a
/// `Content-Length` equal to the GET body's (after compression). Every response carries
/// `X-Request-Id`, the id in the log line, on the 500 page and in a JSON error.
public final class WebApplication: HTTPResponder {
    public let router: Router
    public let templates: Templates?
    public let errorPages: ErrorPages
    /// The error shape for requests outside any pipeline.
    public let defaultErrors: any ErrorResponder
    public let logger: Logger
    private let securityHeaders: SecurityHeadersMiddleware
    /// The request log's, for the refusals logged here.
    private let redaction: PathRedaction
    private let handler: Handler
    /// For ``respondInline(to:)``: the static files, and the outer pipeline (1-4) around
    /// the response they made.
    private let staticFiles: StaticFiles?
    private let inlineHandler: Handler?

    /// - Parameters:
    ///   - router: the routes, and their pipelines.
    ///   - templates: used for error pages (and handed to handlers by the app itself).
    ///   - staticFiles: the public directory, if any.
    ///   - middleware: the app's global middleware, outermost first, run after static files
    ///     and routing, around every route's own. Middleware that only some routes need
    ///     belongs to their group (see ``Router/group(_:middleware:bodyLimit:errors:_:)``).
    ///   - errors: the error shape outside any pipeline; nil means the HTML error pages.
    ///   - compression: nil turns gzip off.
    ///   - logger: the base logger; each request gets a copy with `request-id` metadata.
    public init(
        router: Router,
        templates: Templates? = nil,
        staticFiles: StaticFiles? = nil,
        middleware: [any Middleware] = [],
        errors: (any ErrorResponder)? = nil,
        compression: CompressionMiddleware? = CompressionMiddleware(),
        securityHeaders: SecurityHeadersMiddleware = SecurityHeadersMiddleware(),
        requestLog: RequestLogMiddleware? = RequestLogMiddleware(),
        logger: Logger = Logger(label: "web")
    ) {
        self.router = router
        self.templates = templates
        let errorPages = ErrorPages(templates: templates)
        self.errorPages = errorPages
        let defaultErrors = errors ?? errorPages
        self.defaultErrors = defaultErrors
        self.logger = logger
        self.securityHeaders = securityHeaders
        self.redaction = requestLog?.redaction ?? PathRedaction()
        var chain: [any Middleware] = []
        if let requestLog { chain.append(requestLog) }
        chain.append(securityHeaders)
        if let compression { chain.append(compression) }
        chain.append(PipelineErrors(router: router, fallback: defaultErrors))
        self.staticFiles = staticFiles
        // Compression is left out: StaticFiles negotiates its own (precompressed) encoding and
        // marks every compressible type with `Vary: Accept-Encoding`, which the compression
        // middleware leaves alone, as it does other types.
        let inlineChain = chain.filter { !($0 is CompressionMiddleware) }
        self.inlineHandler = staticFiles.map { _ in
            MiddlewareChain.compose(inlineChain) { req in
                guard let res = req.storage[InlineResponseKey.self] else { throw HTTPError(.notFound) }
                return res
            }
        }
        if let staticFiles { chain.append(staticFiles) }
        // The route is found once; the global middleware then runs around its handler.
        let routed = MiddlewareChain.compose(middleware) { req in
            guard let h = req.resolvedHandler else { return try router.respond(to: req) }
            return try h(req)
        }
        self.handler = MiddlewareChain.compose(chain) { [router] req in
            req.resolvedHandler = router.resolve(req)
            return try routed(req)
        }
    }

    /// Answers on the event loop, without the hop to a worker, what needs no blocking work:
    /// a static file already in memory (``StaticFiles/cachedResponse(for:)``). The response
    /// passes through the same outer pipeline (log line, security headers, request id, HEAD;
    /// compression has nothing to do there) as on a worker, so it is what `respond` would
    /// have sent. Anything else: nil, and `respond` runs on a worker.
    public func respondInline(to request: HTTPRequest) -> HTTPResponse? {
        guard let staticFiles, let inlineHandler, request.head.path.hasPrefix(staticFiles.urlPrefix) else { return nil }
        let req = Request(request, id: Request.makeID(), logger: logger)
        guard let cached = staticFiles.cachedResponse(for: req) else { return nil }
        req.storage[InlineResponseKey.self] = cached
        guard var res = try? inlineHandler(req) else { return nil }
        res.headers.setIfAbsent("X-Request-Id", req.id)
        if req.method == .HEAD { Self.dropBody(&res) }
        return res
    }

    private enum InlineResponseKey: RequestStorageKey { typealias Value = HTTPResponse }

    public func bodyLimit(for head: HTTPRequestHead) -> Int {
        router.bodyLimit(method: head.method, path: head.path)
    }

    public func respond(to request: HTTPRequest) -> HTTPResponse {
        let req = Request(request, id: Request.makeID(), logger: logger)
        var res: HTTPResponse
        do {
            res = try handler(req)
        } catch {
            // Only when a middleware outside the error stage threw; still the right shape.
            res = errorResponder(for: req).response(for: error, request: req)
            securityHeaders.apply(to: &res)
        }
        res.headers.setIfAbsent("X-Request-Id", req.id)
        if req.method == .HEAD { Self.dropBody(&res) }
        return res
    }

    /// The error shape for a request: its pipeline's, else the default.
    func errorResponder(for req: Request) -> any ErrorResponder {
        req.errorResponder ?? router.errorResponder(forPath: req.path) ?? defaultErrors
    }

    /// The 503 page for connections over the cap: rendered once at start-up, not logged
    /// (the server logs refusals itself). No request is read, so its shape is the default's.
    public func overloadResponse() -> HTTPResponse {
        overloadResponse(prefix: nil)
    }

    /// The 503 for connections over the cap whose target began with `prefix` (the server's
    /// ``HTTPServer/Configuration/refusalPrefixes``): the shape of the pipeline there, a
    /// JSON error under `/v1`. Rendered once per prefix at start-up; no request id (none
    /// was made: the request was not read).
    public func overloadResponse(prefix: String?) -> HTTPResponse {
        let errors = prefix.flatMap { router.errorResponder(forPath: $0) } ?? defaultErrors
        var res = errors.refusal(status: .serviceUnavailable, requestID: "", head: nil)
        securityHeaders.apply(to: &res)
        return res
    }

    /// A refusal by the HTTP layer (413, 400, 431…), in the shape of the pipeline the path
    /// falls in: a JSON error under `/v1`, a page elsewhere.
    public func errorResponse(status: HTTPStatus, head: HTTPRequestHead?) -> HTTPResponse {
        errorResponse(status: status, head: head, prefix: nil)
    }

    /// The same when the head could not be parsed (408, 414, 431): the server passes the
    /// configured prefix the request target began with, and its pipeline's shape is used.
    public func errorResponse(status: HTTPStatus, head: HTTPRequestHead?, prefix: String?) -> HTTPResponse {
        let id = Request.makeID()
        var log = logger
        log[metadataKey: "request-id"] = .string(id)
        var metadata: Logger.Metadata = ["status": .stringConvertible(status.code)]
        if let head {
            metadata["method"] = .string(head.method.rawValue)
            metadata["path"] = .string(redaction.apply(head.path))
        } else if let prefix {
            metadata["path_prefix"] = .string(prefix)
        }
        log.info("request refused", metadata: metadata)
        let errors = head.flatMap { router.errorResponder(forPath: $0.path) } ?? prefix.flatMap { router.errorResponder(forPath: $0) } ?? defaultErrors
        var res: HTTPResponse
        if status == .notImplemented, let head, !HTTPMethod.supported.contains(head.method) {
            // A method no route can have (QUERY, BREW): for the resource it names, that is a
            // method it does not allow (405 with the ones it does), or a missing one (404); a
            // 5xx would tell the client the server is at fault, and it is not.
            res = unroutableMethod(head, errors: errors, requestID: id)
        } else {
            res = errors.refusal(status: status, requestID: id, head: head)
        }
        securityHeaders.apply(to: &res)
        res.headers.setIfAbsent("X-Request-Id", id)
        if head?.method == .HEAD { Self.dropBody(&res) }
        return res
    }

    /// The 405 (with `Allow`) or 404 for a method the HTTP layer does not recognise.
    private func unroutableMethod(_ head: HTTPRequestHead, errors: any ErrorResponder, requestID: String) -> HTTPResponse {
        guard let segments = Router.decodeSegments(head.path),
              case .methodNotAllowed(let allowed) = router.match(method: head.method, segments: segments) else {
            return errors.refusal(status: .notFound, requestID: requestID, head: head)
        }
        var res = errors.refusal(status: .methodNotAllowed, requestID: requestID, head: head)
        res.headers.set("Allow", allowed.map(\.rawValue).joined(separator: ", "))
        return res
    }

    /// Removes the body of a response to HEAD, keeping the length the GET body would have.
    static func dropBody(_ res: inout HTTPResponse) {
        if case .bytes(let b) = res.body, res.status.code >= 200, res.status.code != 204, res.status.code != 304 {
            res.headers.setIfAbsent("Content-Length", String(b.count))
        }
        res.body = .empty
    }
}

/// Answers errors thrown further in with the responder of the request's pipeline (set when
/// the route was resolved, else found from the path), else the app's default.
struct PipelineErrors: Middleware {
    let router: Router
    let fallback: any ErrorResponder

    func handle(_ req: Request, next: (Request) throws -> HTTPResponse) throws -> HTTPResponse {
        do {
            return try next(req)
        } catch {
            let responder = req.errorResponder ?? router.errorResponder(forPath: req.path) ?? fallback
            return responder.response(for: error, request: req)
        }
    }
}
