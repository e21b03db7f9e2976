import HTTP
import Logging

/// The Web layer's ``HTTPResponder``: the router, the middleware, the templates and the
/// static files, put together once at start-up.
///
/// Every request runs through this fixed outer pipeline, then the app's own middleware
/// and the router:
///
/// 1. ``RequestLogMiddleware`` — one log line with the final status;
/// 2. ``SecurityHeadersMiddleware`` — on every response, error pages included;
/// 3. ``CompressionMiddleware`` — gzip for text bodies;
/// 4. ``ErrorMiddleware`` — thrown errors become error pages (500 shows only the request id);
/// 5. ``StaticFiles`` — `/static/…`, before any session or database work;
/// 6. `middleware` — e.g. ``FlashMiddleware``, sessions, CSRF, authentication;
/// 7. the ``Router``.
///
/// HEAD requests are answered like GET and their body is dropped here, keeping a
/// `Content-Length` equal to the GET body's (after compression). Every response carries
/// `X-Request-Id`, the id in the log line and on the 500 page.
public final class WebApplication: HTTPResponder {
    public let router: Router
    public let templates: Templates?
    public let errorPages: ErrorPages
    public let logger: Logger
    private let securityHeaders: SecurityHeadersMiddleware
    private let handler: Handler
    /// For ``respondInline(to:)``: the static files, and the outer pipeline (1-4) around
    /// the response they made.
    private let staticFiles: StaticFiles?
    private let inlineHandler: Handler?

    /// - Parameters:
    ///   - router: the routes.
    ///   - templates: used for error pages (and handed to handlers by the app itself).
    ///   - staticFiles: the public directory, if any.
    ///   - middleware: the app's global middleware, outermost first, run after static files.
    ///   - compression: nil turns gzip off.
    ///   - logger: the base logger; each request gets a copy with `request-id` metadata.
    public init(
        router: Router,
        templates: Templates? = nil,
        staticFiles: StaticFiles? = nil,
        middleware: [any Middleware] = [],
        compression: CompressionMiddleware? = CompressionMiddleware(),
        securityHeaders: SecurityHeadersMiddleware = SecurityHeadersMiddleware(),
        requestLog: RequestLogMiddleware? = RequestLogMiddleware(),
        logger: Logger = Logger(label: "web")
    ) {
        self.router = router
        self.templates = templates
        self.errorPages = ErrorPages(templates: templates)
        self.logger = logger
        self.securityHeaders = securityHeaders
        var chain: [any Middleware] = []
        if let requestLog { chain.append(requestLog) }
        chain.append(securityHeaders)
        if let compression { chain.append(compression) }
        chain.append(ErrorMiddleware(pages: errorPages))
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
        chain += middleware
        self.handler = MiddlewareChain.compose(chain) { [router] req in try router.respond(to: req) }
    }

    /// Answers on the event loop, without the hop to a worker, what needs no blocking work:
    /// a static file already in memory (``StaticFiles/cachedResponse(for:)``). The response
    /// passes through the same outer pipeline (log line, security headers, request id, HEAD;
    /// compression has nothing to do there) as on a worker, so it is what `respond` would
    /// have sent. Anything else:
    /// nil, and `respond` runs on a worker.
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
            // Only when a middleware outside ErrorMiddleware threw; still a proper page.
            res = errorPages.response(for: error, request: req)
            securityHeaders.apply(to: &res)
        }
        res.headers.setIfAbsent("X-Request-Id", req.id)
        if req.method == .HEAD { Self.dropBody(&res) }
        return res
    }

    /// The 503 page for connections over the cap: rendered once at start-up, not logged
    /// (the server logs refusals itself).
    public func overloadResponse() -> HTTPResponse {
        var res = errorPages.response(status: .serviceUnavailable, message: nil, requestID: "")
        securityHeaders.apply(to: &res)
        return res
    }

    public func errorResponse(status: HTTPStatus, head: HTTPRequestHead?) -> HTTPResponse {
        let id = Request.makeID()
        var log = logger
        log[metadataKey: "request-id"] = .string(id)
        var metadata: Logger.Metadata = ["status": .stringConvertible(status.code)]
        if let head {
            metadata["method"] = .string(head.method.rawValue)
            metadata["path"] = .string(head.path)
        }
        log.info("request refused", metadata: metadata)
        var res = errorPages.response(status: status, message: nil, requestID: id)
        securityHeaders.apply(to: &res)
        res.headers.setIfAbsent("X-Request-Id", id)
        if head?.method == .HEAD { Self.dropBody(&res) }
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
