import HTTP

/// A handler: turns a request into a response on a worker thread, or throws (an
/// ``HTTPError`` for a chosen status; anything else becomes a 500 page).
public typealias Handler = @Sendable (Request) throws -> HTTPResponse

/// Code that wraps handlers: it may change the request, answer by itself, or call `next`
/// and change the response. Middleware runs synchronously on the request's worker thread.
///
/// ```swift
/// struct RequireUser: Middleware {
///     func handle(_ req: Request, next: (Request) throws -> HTTPResponse) throws -> HTTPResponse {
///         guard req.storage[UserKey.self] != nil else { return .redirect(to: "/login", status: .found) }
///         return try next(req)
///     }
/// }
/// ```
public protocol Middleware: Sendable {
    func handle(_ req: Request, next: (Request) throws -> HTTPResponse) throws -> HTTPResponse
}

/// A middleware made from a closure.
public struct ClosureMiddleware: Middleware {
    let body: @Sendable (Request, (Request) throws -> HTTPResponse) throws -> HTTPResponse

    public init(_ body: @escaping @Sendable (Request, (Request) throws -> HTTPResponse) throws -> HTTPResponse) {
        self.body = body
    }

    public func handle(_ req: Request, next: (Request) throws -> HTTPResponse) throws -> HTTPResponse {
        try body(req, next)
    }
}

/// Composition of middleware around a handler.
public enum MiddlewareChain {
    /// A handler that runs `middleware` in order (the first is the outermost) and then `handler`.
    public static func compose(_ middleware: [any Middleware], _ handler: @escaping Handler) -> Handler {
        var h = handler
        for m in middleware.reversed() {
            let next = h
            h = { req in try m.handle(req, next: next) }
        }
        return h
    }
}
