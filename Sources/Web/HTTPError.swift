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
///
/// For the JSON pipeline, `code` (a stable, machine-readable reason such as
/// `parameter_invalid`), `param` (the field at fault, e.g. `address.city`) and `type` (the
/// error's family, e.g. `invalid_request_error`) fill the matching members of the error
/// object; ``JSONErrors`` picks defaults from the status for the ones left nil. HTML pages
/// ignore them.
public struct HTTPError: Error, Sendable, CustomStringConvertible {
    public var status: HTTPStatus
    public var message: String?
    public var headers: HTTPHeaders
    public var code: String?
    public var param: String?
    public var type: String?

    public init(_ status: HTTPStatus, _ message: String? = nil, headers: HTTPHeaders = HTTPHeaders(),
                code: String? = nil, param: String? = nil, type: String? = nil) {
        self.status = status
        self.message = message
        self.headers = headers
        self.code = code
        self.param = param
        self.type = type
    }

    public var description: String {
        var d = "HTTPError(\(status)"
        if let code { d += " \(code)" }
        if let param { d += " param=\(param)" }
        if let message { d += ": \(message)" }
        return d + ")"
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
