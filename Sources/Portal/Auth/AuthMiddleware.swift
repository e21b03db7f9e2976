import Database
import HTTP
import Security
import Web

/// Who is asking: the session (if any) and its user, found once per request.
struct AuthContext {
    var session: SessionRecord?
    var user: UserRecord?
    /// The masked CSRF token for forms on this page (per session, or a signed cookie for
    /// visitors without one).
    var csrf: LazyTemplateValue
}

enum AuthKey: RequestStorageKey { typealias Value = AuthContext }

extension Request {
    var auth: AuthContext? { storage[AuthKey.self] }

    /// The signed-in user of an `active` session. Routes behind ``Gate`` can rely on it.
    func activeUser() throws -> (SessionRecord, UserRecord) {
        guard let a = auth, let s = a.session, s.stage == .active, let u = a.user else { throw HTTPError(.unauthorized) }
        return (s, u)
    }

    func actor() -> Actor { Actor(self, userID: auth?.user?.id) }
}

/// Finds the session from its cookie, checks CSRF on every unsafe request, and marks
/// signed-in pages `Cache-Control: no-store`.
///
/// CSRF: every form carries `_csrf`. With a session, it is the session's token; without
/// one (sign-up, login, password reset), it is an HMAC of a random `portal_csrf` cookie
/// under the server key, so a cookie planted by a neighbour site cannot be paired with a
/// forged field. Either way the field is masked with a fresh random pad on each page, so
/// a compressed page does not leak it (BREACH). POSTs also need `Sec-Fetch-Site` to be
/// same-origin (or absent, or `none`) and any `Origin` to be this site's.
struct AuthMiddleware: Middleware {
    let sessions: Sessions
    let csrfKey: [UInt8]
    let baseOrigin: String
    /// The visitor CSRF cookie: `__Host-` prefixed behind TLS, like the session cookie.
    var anonymousCookie: String { sessions.secureCookies ? "__Host-portal_csrf" : "portal_csrf" }

    func handle(_ req: Request, next: (Request) throws -> HTTPResponse) throws -> HTTPResponse {
        var session: SessionRecord?
        var user: UserRecord?
        if let token = req.cookies[sessions.cookieName], let (s, u) = try sessions.find(token: token) {
            session = s
            user = u
        }
        // Visitors without a session get a CSRF cookie only when a page renders a form.
        let existingAnon = req.cookies[anonymousCookie].flatMap { $0.utf8.count == 43 ? $0 : nil }
        // A visitor's new cookie value is made only if a page asks for a token.
        let newAnon = LazyTemplateValue { SecureRandom.token(bytes: 32) }
        let secret: () -> [UInt8]
        if let session {
            secret = { Array(session.csrfToken.utf8) }
        } else if let existingAnon {
            secret = { [csrfKey] in Digest.hmacSHA256(key: csrfKey, message: Array(existingAnon.utf8)) }
        } else {
            secret = { [csrfKey] in Digest.hmacSHA256(key: csrfKey, message: Array(newAnon.text.utf8)) }
        }
        let csrf = LazyTemplateValue { CSRFToken.mask(secret()) }
        req.storage[AuthKey.self] = AuthContext(session: session, user: user, csrf: csrf)
        // Room for the page's globals at once (this, the header's user, the organization
        // bar): grown one by one, the dictionary was rebuilt at each.
        req.templateValues.reserveCapacity(4)
        req.templateValues["csrfToken"] = csrf
        if let user, session?.stage == .active {
            req.templateValues["currentUser"] = HeaderUser(user: user)
        } else if let user, session != nil {
            // Half-way through signing in (confirming the address, setting up or entering the
            // second factor): the header says who, and offers the way out.
            req.templateValues["signingIn"] = HeaderUser(user: user)
        }

        // Requests for no route are left to the pipeline's 404/405 (the router found that
        // already: no second lookup).
        if req.method != .GET && req.method != .HEAD && req.method != .OPTIONS && req.isRouted {
            try checkOrigin(req)
            // An unsafe request without the anonymous cookie cannot carry a valid token.
            if session == nil && existingAnon == nil { throw HTTPError(.forbidden, "Your form expired. Go back, reload the page and try again.") }
            let field = try req.formField("_csrf")
            guard let field, CSRFToken.verify(masked: field, secret: secret()) else {
                throw HTTPError(.forbidden, "Your form expired. Go back, reload the page and try again.")
            }
        }

        var res = try next(req)
        if newAnon.wasUsed {
            res.setCookie(SetCookie(name: anonymousCookie, value: newAnon.text, path: "/", secure: sessions.secureCookies, httpOnly: true, sameSite: .lax))
        }
        if session != nil { res.headers.set("Cache-Control", "no-store") }
        return res
    }

    private func checkOrigin(_ req: Request) throws {
        if let site = req.headers["Sec-Fetch-Site"]?.lowercased(), site != "same-origin" && site != "none" {
            throw HTTPError(.forbidden, "This form was sent from another site.")
        }
        if let origin = req.headers["Origin"], origin != "null" {
            // Behind TLS only the real origin will do (a network attacker could serve plain
            // http under the same host); in development, the Host the browser used is fine.
            let host = req.headers["Host"] ?? ""
            let matchesHost = !sessions.secureCookies && (origin == "http://\(host)" || origin == "https://\(host)")
            guard origin == baseOrigin || matchesHost else { throw HTTPError(.forbidden, "This form was sent from another site.") }
        } else if req.headers["Origin"] == "null" {
            throw HTTPError(.forbidden, "This form was sent from another site.")
        }
    }
}

extension Request {
    /// A field of an urlencoded or multipart body (nil when absent or the body is neither).
    func formField(_ name: String) throws -> String? {
        switch mediaType ?? "" {
        case "multipart/form-data": return try multipart()[name]
        case "application/x-www-form-urlencoded": return try form()[name]
        default: return nil
        }
    }
}
