import HTTP

/// Errors for programs: always a JSON object, never an HTML page or a stack trace.
///
/// ```json
/// {"error": {"type": "invalid_request_error", "code": "parameter_invalid",
///            "message": "The field amount must be an integer.", "param": "amount",
///            "request_id": "3f2a9c0d1e4b5a67"}}
/// ```
///
/// - `type`: the family, from the status unless the ``HTTPError`` names one:
///   `invalid_request_error` (400, 404, 405, 409, 413, 415, 422 and other 4xx),
///   `authentication_error` (401), `permission_error` (403), `rate_limit_error` (429),
///   `api_error` (5xx).
/// - `code`: stable and machine-readable; the ``HTTPError``'s `code`, else one per status
///   (see ``defaultCode(_:)``).
/// - `message`: a sentence for the developer: the ``HTTPError``'s message for 4xx (or a
///   default), always a fixed sentence for 5xx; details go to the log with the request id.
/// - `param`: the field at fault, only when there is one.
/// - `request_id`: the id in `X-Request-Id` and in the log line.
///
/// The error's `headers` (`Allow`, `Retry-After`, `WWW-Authenticate`…) are kept.
public struct JSONErrors: ErrorResponder {
    public init() {}

    struct Envelope: Encodable {
        struct Body: Encodable {
            let type: String
            let code: String
            let message: String
            let param: String?
            let request_id: String

            func encode(to encoder: any Encoder) throws {
                var c = encoder.container(keyedBy: CodingKeys.self)
                try c.encode(type, forKey: .type)
                try c.encode(code, forKey: .code)
                try c.encode(message, forKey: .message)
                try c.encodeIfPresent(param, forKey: .param)
                try c.encode(request_id, forKey: .request_id)
            }

            enum CodingKeys: String, CodingKey { case type, code, message, param, request_id }
        }

        let error: Body
    }

    public func response(for error: any Error, request: Request) -> HTTPResponse {
        let httpError = ErrorLogging.httpError(for: error, request: request)
        var res = response(httpError, requestID: request.id)
        for (name, value) in httpError.headers { res.headers.set(name, value) }
        return res
    }

    public func refusal(status: HTTPStatus, requestID: String, head: HTTPRequestHead?) -> HTTPResponse {
        response(HTTPError(status), requestID: requestID)
    }

    /// The JSON response for `error` (without its headers).
    public func response(_ error: HTTPError, requestID: String) -> HTTPResponse {
        let status = error.status
        let isServer = status.code >= 500
        let body = Envelope(error: .init(
            type: error.type ?? Self.defaultType(status),
            code: isServer ? Self.defaultCode(status) : (error.code ?? Self.defaultCode(status)),
            message: isServer ? Self.defaultMessage(status) : (error.message ?? Self.defaultMessage(status)),
            param: isServer ? nil : error.param,
            request_id: requestID))
        // Encoding strings cannot fail; the fallback keeps the promise of JSON regardless.
        let bytes = (try? JSONBody.encode(body)) ?? Array(#"{"error":{"type":"api_error","code":"internal_error","message":"Something went wrong."}}"#.utf8)
        return HTTPResponse(status: status, headers: ["Content-Type": JSONBody.contentType, "Cache-Control": "no-store"], body: .bytes(bytes))
    }

    public static func defaultType(_ status: HTTPStatus) -> String {
        switch status.code {
        case 401: "authentication_error"
        case 403: "permission_error"
        case 429: "rate_limit_error"
        case 500...: "api_error"
        default: "invalid_request_error"
        }
    }

    public static func defaultCode(_ status: HTTPStatus) -> String {
        switch status.code {
        case 400: "bad_request"
        case 401: "unauthenticated"
        case 403: "forbidden"
        case 404: "resource_missing"
        case 405: "method_not_allowed"
        case 408: "request_timeout"
        case 409: "conflict"
        case 413: "body_too_large"
        case 414: "uri_too_long"
        case 415: "unsupported_media_type"
        case 422: "unprocessable"
        case 429: "rate_limited"
        case 431: "headers_too_large"
        case 501: "not_implemented"
        case 503: "unavailable"
        case 500...: "internal_error"
        default: "http_\(status.code)"
        }
    }

    /// A sentence for a developer, per status.
    public static func defaultMessage(_ status: HTTPStatus) -> String {
        switch status.code {
        case 400: "The request could not be understood."
        case 401: "Send valid credentials in the Authorization header."
        case 403: "These credentials may not do this."
        case 404: "No such resource."
        case 405: "This resource does not accept this method."
        case 408: "The request took too long to arrive."
        case 409: "The request conflicts with the current state of the resource."
        case 413: "The request body is too large."
        case 414: "The request URI is too long."
        case 415: "The request body is in an unsupported format."
        case 422: "The request could not be processed."
        case 429: "Too many requests. Wait and try again."
        case 431: "The request headers are too large."
        case 501: "The server does not implement what the request needs."
        case 503: "The service is unavailable. Try again later."
        case 500...: "Something went wrong on our side. Try again later; quote the request id if it persists."
        default: status.reason
        }
    }
}
