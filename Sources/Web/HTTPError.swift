import HTTP

/// An error that a handler or middleware throws to answer with a given status.
///
/// The error pages show `message` to the user for 4xx statuses, so it must be written
/// for the user (it is never taken from another error's description). For 5xx
/// statuses the message is only logged. `headers` are added to the error response,
/// e.g. `Allow` for 405 or `Retry-After` for 429.
///
/// ```swift
/// guard let org = try store.organization(id) else { throw HTTPError(.notFound) }
/// ```
public struct HTTPError: Error, Sendable, CustomStringConvertible {
    public var status: HTTPStatus
    public var message: String?
    public var headers: HTTPHeaders

    public init(_ status: HTTPStatus, _ message: String? = nil, headers: HTTPHeaders = HTTPHeaders()) {
        self.status = status
        self.message = message
        self.headers = headers
    }

    public var description: String {
        message.map { "HTTPError(\(status): \($0))" } ?? "HTTPError(\(status))"
    }
}

/// An error that knows which ``HTTPError`` it should be answered with: form and
/// multipart errors are 400/413/415 rather than 500.
public protocol HTTPErrorConvertible: Error {
    var httpError: HTTPError { get }
}

extension HTTPError: HTTPErrorConvertible {
    public var httpError: HTTPError { self }
}
