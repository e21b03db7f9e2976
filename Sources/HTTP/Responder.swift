/// What the server asks of the application. The HTTP layer knows nothing else about it.
public protocol HTTPResponder: Sendable {
    /// The largest body, in bytes, that this request may carry. Called on the event-loop
    /// thread as soon as the header section is parsed, so it must be quick and must not
    /// block: a declared body over the limit is refused with 413 before it is read.
    func bodyLimit(for head: HTTPRequestHead) -> Int

    /// Produces the response. Called on a worker thread, never on the event loop; it may
    /// block (database, hashing). It must not throw: errors become error responses.
    func respond(to request: HTTPRequest) -> HTTPResponse

    /// The response to `request` if it can be made at once from memory, else nil. Called on
    /// the event-loop thread for every request before it is handed to a worker, so it must
    /// be quick and must never block (no file or database access, no locks held for long):
    /// answering here saves the hop to a worker and back, which is most of the cost of a
    /// small response (a cached static file, say). Nil sends the request to `respond` on a
    /// worker as usual. A streamed body returned here is still produced on a worker.
    func respondInline(to request: HTTPRequest) -> HTTPResponse?

    /// The response for a request the server refused before it reached `respond`
    /// (malformed framing, limits, timeouts, overload). `head` is the request's head when
    /// it was parsed far enough. Called on a worker thread; the connection is closed after.
    func errorResponse(status: HTTPStatus, head: HTTPRequestHead?) -> HTTPResponse

    /// The same, for a request refused before its head was parsed whose target began with
    /// `prefix`, one of ``HTTPServer/Configuration/refusalPrefixes`` (nil: none, or no
    /// target was read). The server calls this one; by default it ignores the prefix.
    func errorResponse(status: HTTPStatus, head: HTTPRequestHead?, prefix: String?) -> HTTPResponse

    /// The 503 sent, without reading the request, to connections above the cap. Asked for
    /// once at start-up and kept as bytes, so it must not depend on a request.
    func overloadResponse() -> HTTPResponse

    /// The 503 for connections above the cap whose request target began with `prefix` (see
    /// ``HTTPServer/Configuration/refusalPrefixes``); asked for once per prefix, and once
    /// with nil, at start-up. By default it ignores the prefix.
    func overloadResponse(prefix: String?) -> HTTPResponse
}

extension HTTPResponder {
    public func respondInline(to request: HTTPRequest) -> HTTPResponse? { nil }

    public func overloadResponse() -> HTTPResponse {
        errorResponse(status: .serviceUnavailable, head: nil)
    }

    public func overloadResponse(prefix: String?) -> HTTPResponse { overloadResponse() }

    public func errorResponse(status: HTTPStatus, head: HTTPRequestHead?, prefix: String?) -> HTTPResponse {
        errorResponse(status: status, head: head)
    }

    public func errorResponse(status: HTTPStatus, head: HTTPRequestHead?) -> HTTPResponse {
        HTTPResponse(status: status, contentType: "text/plain; charset=utf-8", body: "\(status)\n")
    }
}

/// A responder built from closures, handy in tests.
public struct ClosureResponder: HTTPResponder {
    let limit: @Sendable (HTTPRequestHead) -> Int
    let handler: @Sendable (HTTPRequest) -> HTTPResponse
    /// Answers on the event loop when it returns a response (see ``HTTPResponder/respondInline(to:)``).
    public var inline: (@Sendable (HTTPRequest) -> HTTPResponse?)?

    public init(bodyLimit: Int = 1 << 20, _ handler: @escaping @Sendable (HTTPRequest) -> HTTPResponse) {
        self.limit = { _ in bodyLimit }
        self.handler = handler
    }

    public init(bodyLimit: @escaping @Sendable (HTTPRequestHead) -> Int, _ handler: @escaping @Sendable (HTTPRequest) -> HTTPResponse) {
        self.limit = bodyLimit
        self.handler = handler
    }

    public func bodyLimit(for head: HTTPRequestHead) -> Int { limit(head) }
    public func respond(to request: HTTPRequest) -> HTTPResponse { handler(request) }
    public func respondInline(to request: HTTPRequest) -> HTTPResponse? { inline?(request) }
}
