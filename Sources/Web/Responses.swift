import HTTP

/// Convenience constructors for the responses handlers return most.
extension HTTPResponse {
    /// A redirect. The default 303 See Other is the right answer to a POST (POST-redirect-GET);
    /// use `.found` (302) for a plain GET redirect. CR and LF are removed from `location`.
    ///
    /// `location` is used as given: redirect only to paths you built, never to a URL taken
    /// from the request without checking it (see ``isLocalRedirectTarget(_:)``).
    public static func redirect(to location: String, status: HTTPStatus = .seeOther) -> HTTPResponse {
        let clean = String(String.UnicodeScalarView(location.unicodeScalars.filter { $0 != "\r" && $0 != "\n" && $0 != "\0" }))
        return HTTPResponse(status: status, headers: ["Location": clean], body: .empty)
    }

    /// True for a same-site path such as `/orgs/1?tab=keys`, and false for anything that
    /// could lead off the site (`//evil.example`, `/\evil.example`, `https://…`, `javascript:`).
    /// Use it before redirecting to a `next=` parameter.
    public static func isLocalRedirectTarget(_ s: String) -> Bool {
        guard s.hasPrefix("/"), !s.hasPrefix("//"), !s.hasPrefix("/\\") else { return false }
        return !s.unicodeScalars.contains { $0.value < 0x20 || $0 == "\\" || $0.value == 0x7F }
    }

    /// An HTML page.
    public static func html(_ html: String, status: HTTPStatus = .ok) -> HTTPResponse {
        HTTPResponse(status: status, contentType: "text/html; charset=utf-8", body: html)
    }

    /// A plain-text body.
    public static func text(_ text: String, status: HTTPStatus = .ok) -> HTTPResponse {
        HTTPResponse(status: status, contentType: "text/plain; charset=utf-8", body: text)
    }
}
