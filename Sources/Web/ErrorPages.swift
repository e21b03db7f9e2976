import HTTP
import Logging

/// Error pages rendered from templates, for every status.
///
/// The page for status `N` is the template `errors/N` if it exists, else `errors/error`,
/// inside the layout (`_layout/layout`) when that exists. The view model holds:
/// `status` (404), `reason` ("Not Found"), `title` ("404 Not Found"), `message` (a sentence
/// for the user), `requestId`, `isServerError`, plus the request's `templateValues`.
/// For 4xx, `message` is the ``HTTPError``'s message when one was given; for 5xx it is
/// always a fixed sentence: nothing about the error reaches the client, the details go
/// to the log with the request id. If no template is available the page falls back to
/// a small built-in HTML page.
public struct ErrorPages: ErrorResponder {
    public let templates: Templates?
    public let layout: String?

    public init(templates: Templates?, layout: String? = Templates.defaultLayout) {
        self.templates = templates
        self.layout = layout
    }

    /// The page for an error thrown while handling `request`; logs it (5xx at `error`
    /// level with the error's full description, 4xx at `debug`).
    public func response(for error: any Error, request: Request) -> HTTPResponse {
        let httpError = ErrorLogging.httpError(for: error, request: request)
        let message = httpError.status.code < 500 ? httpError.message : nil
        var res = response(status: httpError.status, message: message, requestID: request.id, templateValues: request.templateValues)
        for (name, value) in httpError.headers { res.headers.set(name, value) }
        return res
    }

    public func refusal(status: HTTPStatus, requestID: String, head: HTTPRequestHead?) -> HTTPResponse {
        response(status: status, message: nil, requestID: requestID)
    }

    /// The page for `status`. `message` is shown as is (escaped); nil uses a default sentence.
    public func response(status: HTTPStatus, message: String?, requestID: String, templateValues: [String: Any] = [:]) -> HTTPResponse {
        let text = message ?? Self.defaultMessage(status)
        if let html = render(status: status, message: text, requestID: requestID, templateValues: templateValues) {
            return HTTPResponse(status: status, contentType: "text/html; charset=utf-8", body: html)
        }
        return HTTPResponse(status: status, contentType: "text/html; charset=utf-8", body: Self.builtInPage(status: status, message: text, requestID: requestID))
    }

    private func render(status: HTTPStatus, message: String, requestID: String, templateValues: [String: Any]) -> String? {
        guard let templates else { return nil }
        let specific = "errors/\(status.code)"
        let page = templates.contains(specific) ? specific : "errors/error"
        guard templates.contains(page) else { return nil }
        var context = templateValues
        context["status"] = status.code
        context["reason"] = status.reason
        context["title"] = "\(status.code) \(status.reason)"
        context["message"] = message
        context["requestId"] = requestID
        context["isServerError"] = status.code >= 500
        context["showRequestId"] = status.code >= 500 && !requestID.isEmpty
        let layout = self.layout.flatMap { templates.contains($0) ? $0 : nil }
        return try? templates.renderString(page: page, context: context, request: nil, layout: layout)
    }

    /// A sentence for the user for each status.
    public static func defaultMessage(_ status: HTTPStatus) -> String {
        switch status.code {
        case 400: "The request could not be understood."
        case 401: "Please sign in to continue."
        case 403: "You do not have permission to do this."
        case 404: "The page you asked for does not exist."
        case 405: "This address does not accept this kind of request."
        case 408: "The request took too long to arrive."
        case 413: "The request is too large."
        case 414: "The address is too long."
        case 415: "The request was sent in an unsupported format."
        case 422: "The request could not be processed."
        case 429: "Too many requests. Please wait a moment and try again."
        case 431: "The request headers are too large."
        case 500..<600: "Something went wrong on our side. Please try again later."
        default: status.reason
        }
    }

    static func builtInPage(status: HTTPStatus, message: String, requestID: String) -> String {
        let title = htmlEscape("\(status.code) \(status.reason)")
        return """
            <!doctype html>
            <html lang="en"><head><meta charset="utf-8"><title>\(title)</title></head>
            <body><h1>\(title)</h1><p>\(htmlEscape(message))</p><p>Request id: <code>\(htmlEscape(requestID))</code></p></body></html>

            """
    }
}

/// Whether any of `& < > " '` is among `bytes`: one look at each byte (none above `>` is one),
/// so text that needs no escaping is copied at once (``htmlEscape(_:)``, ``HTMLWriter/text(_:)``).
func needsHTMLEscaping<S: Sequence<UInt8>>(_ bytes: S) -> Bool {
    for b in bytes where b <= 0x3E && (b == 0x26 || b == 0x3C || b == 0x3E || b == 0x22 || b == 0x27) { return true }
    return false
}

/// The same for bytes in memory, eight at a time (a table row's values).
@usableFromInline
func needsHTMLEscaping(_ bytes: UnsafeBufferPointer<UInt8>) -> Bool {
    ByteScan.any(bytes, word: { x in
        (ByteScan.zeroByte(x ^ ByteScan.splat(0x26)) | ByteScan.zeroByte(x ^ ByteScan.splat(0x3C)) | ByteScan.zeroByte(x ^ ByteScan.splat(0x3E))
            | ByteScan.zeroByte(x ^ ByteScan.splat(0x22)) | ByteScan.zeroByte(x ^ ByteScan.splat(0x27))) != 0
    }, byte: { $0 <= 0x3E && ($0 == 0x26 || $0 == 0x3C || $0 == 0x3E || $0 == 0x22 || $0 == 0x27) })
}

/// Escapes `& < > " '` for HTML text and attribute values. A string with none of them
/// (the usual case) is returned as is, without copying.
public func htmlEscape(_ s: String) -> String {
    guard needsHTMLEscaping(s.utf8) else { return s }
    var out = [UInt8]()
    out.reserveCapacity(s.utf8.count + 16)
    for b in s.utf8 {
        switch b {
        case 0x26: out.append(contentsOf: [0x26, 0x61, 0x6D, 0x70, 0x3B])       // &amp;
        case 0x3C: out.append(contentsOf: [0x26, 0x6C, 0x74, 0x3B])             // &lt;
        case 0x3E: out.append(contentsOf: [0x26, 0x67, 0x74, 0x3B])             // &gt;
        case 0x22: out.append(contentsOf: [0x26, 0x71, 0x75, 0x6F, 0x74, 0x3B]) // &quot;
        case 0x27: out.append(contentsOf: [0x26, 0x23, 0x33, 0x39, 0x3B])       // &#39;
        default: out.append(b)
        }
    }
    return String(decoding: out, as: UTF8.self)
}
