import HTTP
import Logging

/// The shape of a pipeline's errors: an HTML page for people (``ErrorPages``), a JSON
/// object for programs (``JSONErrors``). ``WebApplication`` asks the responder of the
/// pipeline a request falls in (see ``Router``), so an error is answered in the shape the
/// caller reads, whether a handler threw it, a middleware did, or the HTTP layer refused
/// the request before routing.
public protocol ErrorResponder: Sendable {
    /// The response for an error thrown while handling `request`. Logs it (see
    /// ``ErrorLogging/httpError(for:request:)``); for 5xx nothing about the error reaches
    /// the client but the request id.
    func response(for error: any Error, request: Request) -> HTTPResponse

    /// The response for a request the HTTP layer refused before it was routed (413, 400,
    /// 431, 408…), or for an overloaded server (`requestID` empty, no head).
    func refusal(status: HTTPStatus, requestID: String, head: HTTPRequestHead?) -> HTTPResponse
}

/// What every ``ErrorResponder`` does first: turn an error into the ``HTTPError`` to
/// answer with, and log it once.
public enum ErrorLogging {
    /// The ``HTTPError`` for `error` (an ``HTTPErrorConvertible``'s, else a bare 500), logged
    /// at `error` level with its full description for 5xx and `debug` for 4xx.
    public static func httpError(for error: any Error, request: Request) -> HTTPError {
        if let convertible = error as? any HTTPErrorConvertible {
            let httpError = convertible.httpError
            if httpError.status.code >= 500 {
                request.logger.error("request failed", metadata: ["status": .stringConvertible(httpError.status.code), "error": .string(String(reflecting: error))])
            } else {
                request.logger.debug("request refused", metadata: ["status": .stringConvertible(httpError.status.code), "error": .string(String(reflecting: error))])
            }
            return httpError
        }
        request.logger.error("unhandled error", metadata: ["error": .string(String(reflecting: error)), "type": .string(String(reflecting: type(of: error)))])
        return HTTPError(.internalServerError)
    }
}
