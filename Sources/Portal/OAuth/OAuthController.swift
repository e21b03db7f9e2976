import Foundation
import HTTP
import Security
import Web

/// The OAuth endpoints (`/oauth/token`, `/oauth/revoke`, `/oauth/introspect`) and the RFC 8414
/// metadata. Every answer is RFC 6749's: JSON with `Cache-Control: no-store` and
/// `Pragma: no-cache`; errors `{"error", "error_description"}` (``OAuthErrors``).
struct OAuthController {
    let oauth: OAuth
    /// `https://portal.example.com`, the issuer and the base of every endpoint's URL.
    let issuer: String
    /// The API's per-credential limit, applied to each client after it authenticated (the
    /// same bucket as its tokens' calls on `/v1`, kept under the client id).
    var limiter: RateLimiter? = nil

    static let realm = "portal"

    func register(on router: inout Router) {
        router.post("/token", bodyLimit: 16 * 1024) { req in try token(req) }
        router.post("/revoke", bodyLimit: 16 * 1024) { req in try revoke(req) }
        router.post("/introspect", bodyLimit: 16 * 1024) { req in try introspect(req) }
    }

    /// Outside both pipelines: public, no credential, no session.
    func registerMetadata(on router: inout Router) {
        router.get("/.well-known/oauth-authorization-server") { _ in metadata() }
    }

    // MARK: - metadata (RFC 8414)

    struct Metadata: JSONWritable {
        let issuer: String

        func write(to w: inout JSONWriter) {
            w.object { w in
                w.key("issuer"); w.string(issuer)
                w.key("authorization_endpoint"); w.string(issuer + "/oauth/authorize")
                w.key("token_endpoint"); w.string(issuer + "/oauth/token")
                w.key("revocation_endpoint"); w.string(issuer + "/oauth/revoke")
                w.key("introspection_endpoint"); w.string(issuer + "/oauth/introspect")
                w.key("scopes_supported"); w.array(OAuthScope.all) { w, s in w.string(s) }
                w.key("response_types_supported"); w.array(["code"]) { w, s in w.string(s) }
                w.key("grant_types_supported"); w.array(["authorization_code", "client_credentials", "refresh_token"]) { w, s in w.string(s) }
                w.key("code_challenge_methods_supported"); w.array(["S256"]) { w, s in w.string(s) }
                w.key("token_endpoint_auth_methods_supported"); w.array(["client_secret_basic", "client_secret_post"]) { w, s in w.string(s) }
                w.key("revocation_endpoint_auth_methods_supported"); w.array(["client_secret_basic", "client_secret_post"]) { w, s in w.string(s) }
                w.key("introspection_endpoint_auth_methods_supported"); w.array(["client_secret_basic", "client_secret_post"]) { w, s in w.string(s) }
                w.key("tls_client_certificate_bound_access_tokens"); w.bool(true)
            }
        }
    }

    func metadata() -> HTTPResponse {
        var res = HTTPResponse.json(writing: Metadata(issuer: issuer))
        res.headers.set("Cache-Control", "public, max-age=3600")
        return res
    }

    // MARK: - the request's parameters and client

    /// The form body; RFC 6749 §3.2: urlencoded, and no parameter sent twice.
    static func parameters(_ req: Request) throws -> URLEncodedForm {
        guard req.mediaType == "application/x-www-form-urlencoded" else {
            throw OAuthError(.invalidRequest, "Send the parameters as application/x-www-form-urlencoded.")
        }
        let form: URLEncodedForm
        do { form = try req.form() } catch {
            throw OAuthError(.invalidRequest, "The body is not a well-formed application/x-www-form-urlencoded form.")
        }
        var seen = Set<String>()
        for p in form where !seen.insert(p.name).inserted {
            throw OAuthError(.invalidRequest, "The parameter \(p.name.prefix(40)) is sent more than once.")
        }
        return form
    }

    /// How the client authenticated: HTTP Basic (`client_secret_basic`, RFC 6749 §2.3.1:
    /// id and secret form-urlencoded before base64) or form fields (`client_secret_post`).
    struct ClientAuth {
        let clientID: String
        let secret: String
        let basic: Bool
    }

    static func clientAuth(_ req: Request, _ form: URLEncodedForm) throws -> ClientAuth {
        let posted = form["client_secret"] != nil
        if let header = req.headers["Authorization"] {
            let parts = header.split(separator: " ", omittingEmptySubsequences: true)
            guard parts.count == 2, parts[0].utf8.count == 5, parts[0].lowercased() == "basic", let decoded = Base64.decode(String(parts[1])),
                  let text = String(validating: decoded, as: UTF8.self), let colon = text.firstIndex(of: ":"),
                  let id = formDecode(String(text[..<colon])), let secret = formDecode(String(text[text.index(after: colon)...])) else {
                throw OAuthError(.invalidClient, "The Authorization header must be HTTP Basic with the client_id and the client secret.")
                    .basic()
            }
            guard !posted else {
                throw OAuthError(.invalidRequest, "Authenticate the client one way only: the Authorization header or client_secret, not both.")
            }
            if let formID = form["client_id"], formID != id {
                throw OAuthError(.invalidRequest, "client_id in the body differs from the one in the Authorization header.")
            }
            return ClientAuth(clientID: id, secret: secret, basic: true)
        }
        guard let id = form["client_id"], let secret = form["client_secret"] else {
            throw OAuthError(.invalidClient, "Authenticate the client: HTTP Basic with client_id and client secret, or client_id and client_secret in the body.")
                .basic()
        }
        return ClientAuth(clientID: id, secret: secret, basic: false)
    }

    /// `application/x-www-form-urlencoded` decoding of one value (`+` is a space).
    static func formDecode(_ raw: String) -> String? {
        guard !raw.utf8.contains(where: { $0 == UInt8(ascii: "&") || $0 == UInt8(ascii: "=") }) else { return nil }
        return URLEncodedForm.decodeValue(raw)
    }

    /// The authenticated client, rate limited per client. A wrong or expired secret for a
    /// known client id is counted in its credentials' health (never the secret), under a
    /// bucket of its own: a flood of wrong secrets is answered 429 and written no more often
    /// than the client may call, and cannot spend the real client's allowance.
    func client(_ req: Request, _ form: URLEncodedForm) throws -> Apps.Client {
        let auth = try Self.clientAuth(req, form)
        let client: Apps.Client
        do {
            client = try oauth.authenticate(clientID: auth.clientID, secret: auth.secret)
        } catch let refused as OAuth.ClientRefused {
            if let credentialID = refused.credentialID {
                if let limiter {
                    let decision = limiter.take("credential_failure:" + auth.clientID)
                    guard decision.allowed else { throw RateLimited(retryAfter: decision.retryAfter, rate: limiter.policy.rate) }
                }
                try oauth.recordFailedAuthentication(credentialID: credentialID)
            }
            throw auth.basic ? refused.error.basic() : refused.error
        }
        if let limiter {
            let decision = limiter.take("credential:" + client.credential.clientID)
            req.storage[RateLimitDecisionKey.self] = decision
            guard decision.allowed else { throw RateLimited(retryAfter: decision.retryAfter, rate: limiter.policy.rate) }
        }
        return client
    }

    /// Too many requests from one client: 429 with `Retry-After`, in RFC 6749's shape.
    struct RateLimited: Error {
        let retryAfter: Int
        let rate: Double
    }

    // MARK: - endpoints

    func token(_ req: Request) throws -> HTTPResponse {
        try answer(req) {
            let form = try Self.parameters(req)
            guard let grantType = form["grant_type"], !grantType.isEmpty else {
                throw OAuthError(.invalidRequest, "grant_type is missing.")
            }
            let client = try client(req, form)
            let ip = req.remoteAddress
            do {
                switch grantType {
                case "client_credentials":
                    return Self.json(TokenJSON(issued: try oauth.clientCredentials(client, scope: form["scope"], ip: ip)))
                case "authorization_code":
                    return Self.json(TokenJSON(issued: try oauth.exchangeCode(client, code: form["code"], redirectURI: form["redirect_uri"],
                                                                              verifier: form["code_verifier"], ip: ip)))
                case "refresh_token":
                    return Self.json(TokenJSON(issued: try oauth.refresh(client, token: form["refresh_token"], scope: form["scope"], ip: ip)))
                default:
                    throw OAuthError(.unsupportedGrantType, "grant_type \(grantType.prefix(40)) is not supported: use client_credentials, authorization_code or refresh_token.")
                }
            } catch let e as OAuthError {
                // The client did authenticate: a refused grant still counts as its last use.
                try oauth.recordUse(client, ip: ip)
                throw e
            }
        }
    }

    struct TokenJSON: JSONWritable {
        let issued: OAuth.Issued

        func write(to w: inout JSONWriter) {
            w.object { w in
                w.key("access_token"); w.string(issued.accessToken)
                w.key("token_type"); w.string("Bearer")
                w.key("expires_in"); w.integer(issued.expiresIn)
                w.key("scope"); w.string(issued.scopes.joined(separator: " "))
                if let r = issued.refreshToken { w.key("refresh_token"); w.string(r) }
            }
        }
    }

    func revoke(_ req: Request) throws -> HTTPResponse {
        try answer(req) {
            let form = try Self.parameters(req)
            let client = try client(req, form)
            guard let token = form["token"], !token.isEmpty else {
                try oauth.recordUse(client, ip: req.remoteAddress)
                throw OAuthError(.invalidRequest, "token is missing.")
            }
            try oauth.revoke(client, token: token, actor: Actor(userID: nil, ip: req.remoteAddress, userAgent: "OAuth client \(client.credential.clientID)"))
            var res = HTTPResponse(status: .ok, contentType: "application/json", body: "{}")
            Self.noStore(&res)
            return res
        }
    }

    struct IntrospectionJSON: JSONWritable {
        let result: OAuth.Introspection?
        let clientID: String

        func write(to w: inout JSONWriter) {
            w.object { w in
                w.key("active"); w.bool(result != nil)
                if let t = result?.token {
                    w.key("client_id"); w.string(clientID)
                    if let thumbprint = t.thumbprint {
                        w.key("cnf"); w.object { w in w.key("x5t#S256"); w.string(thumbprint) }
                    }
                    w.key("environment"); w.string(t.environment.rawValue)
                    w.key("exp"); w.integer(t.expiresAt)
                    w.key("iat"); w.integer(t.createdAt)
                    w.key("scope"); w.string(t.scopes.joined(separator: " "))
                    w.key("token_type"); w.string("Bearer")
                } else if let r = result?.refresh {
                    w.key("client_id"); w.string(clientID)
                    w.key("exp"); w.integer(r.expiresAt)
                    w.key("iat"); w.integer(r.createdAt)
                    w.key("scope"); w.string(r.scopes.joined(separator: " "))
                    w.key("token_type"); w.string("refresh_token")
                }
            }
        }
    }

    func introspect(_ req: Request) throws -> HTTPResponse {
        try answer(req) {
            let form = try Self.parameters(req)
            let client = try client(req, form)
            guard let token = form["token"], !token.isEmpty else {
                try oauth.recordUse(client, ip: req.remoteAddress)
                throw OAuthError(.invalidRequest, "token is missing.")
            }
            return Self.json(IntrospectionJSON(result: try oauth.introspect(client, token: token, ip: req.remoteAddress), clientID: client.credential.clientID))
        }
    }

    // MARK: - answers

    static func noStore(_ res: inout HTTPResponse) {
        res.headers.set("Cache-Control", "no-store")
        res.headers.set("Pragma", "no-cache")
    }

    static func json(_ value: some JSONWritable) -> HTTPResponse {
        var res = HTTPResponse.json(writing: value, capacity: 256)
        noStore(&res)
        return res
    }

    /// Runs an endpoint, answering its ``OAuthError`` in RFC 6749's shape.
    func answer(_ req: Request, _ body: () throws -> HTTPResponse) throws -> HTTPResponse {
        do { return try body() } catch let e as OAuthError {
            return OAuthErrors.response(e)
        } catch let e as OAuthError.Basic {
            var res = OAuthErrors.response(e.error)
            res.headers.set("WWW-Authenticate", "Basic realm=\"\(Self.realm)\"")
            return res
        } catch let e as RateLimited {
            var res = HTTPResponse.json(writing: OAuthErrors.Body(error: "invalid_request",
                description: "Too many requests: this client may make \(Int(e.rate)) requests a second. Retry after \(e.retryAfter) s."),
                status: .tooManyRequests, capacity: 256)
            Self.noStore(&res)
            res.headers.set("Retry-After", String(e.retryAfter))
            return res
        }
    }
}

extension OAuthError {
    /// The same error, for a client that authenticated with HTTP Basic: 401 with a
    /// `WWW-Authenticate: Basic` challenge (RFC 6749 §5.2).
    struct Basic: Error { let error: OAuthError }
    func basic() -> Basic { Basic(error: self) }
}

/// The error shape of `/oauth`: `{"error", "error_description"}` (RFC 6749 §5.2), for the
/// endpoints' refusals and for whatever the router or the server refuses under `/oauth`
/// (404, 405, 413…). A 5xx says `server_error` and the request id only.
struct OAuthErrors: ErrorResponder {
    struct Body: JSONWritable {
        let error: String
        let description: String

        func write(to w: inout JSONWriter) {
            w.object { w in
                w.key("error"); w.string(error)
                w.key("error_description"); w.string(description)
            }
        }
    }

    static func status(_ code: OAuthError.Code) -> HTTPStatus {
        switch code {
        case .invalidClient: .unauthorized
        case .serverError: .internalServerError
        default: .badRequest
        }
    }

    static func response(_ e: OAuthError) -> HTTPResponse {
        var res = HTTPResponse.json(writing: Body(error: e.code.rawValue, description: e.description), status: status(e.code), capacity: 256)
        OAuthController.noStore(&res)
        return res
    }

    func response(for error: any Error, request: Request) -> HTTPResponse {
        if let e = error as? OAuthError { return Self.response(e) }
        let httpError = ErrorLogging.httpError(for: error, request: request)
        var res = refusal(status: httpError.status, requestID: request.id, head: nil)
        for (name, value) in httpError.headers { res.headers.set(name, value) }
        return res
    }

    func refusal(status: HTTPStatus, requestID: String, head: HTTPRequestHead?) -> HTTPResponse {
        let code = status.code == 503 ? "temporarily_unavailable" : status.code >= 500 ? "server_error" : "invalid_request"
        let description = status.code >= 500
            ? "The server could not answer" + (requestID.isEmpty ? "." : " (request \(requestID)).")
            : "The request was refused: \(status.code) \(status.reason)."
        var res = HTTPResponse.json(writing: Body(error: code, description: description), status: status, capacity: 256)
        OAuthController.noStore(&res)
        return res
    }
}

/// `GET /oauth/authorize` and the consent form (pages pipeline: a signed-in member who has
/// passed their second factor). An unknown client or an unregistered redirect URI is an
/// error page (400), never a redirect.
struct OAuthConsentController {
    let oauth: OAuth
    let templates: Templates

    static let scopeTexts = [
        "balances:read": "read the balance of each account",
        "transactions:read": "list and read transactions",
        "transactions:write": "create Sandbox transactions and request cancellations",
        "payouts:read": "list and read payouts",
        "payouts:write": "prepare payouts (a person still authorizes them)",
    ]

    func register(on router: inout Router) {
        // Signed out: to the login page, which comes back here; half signed in: to the next step.
        router.group("", middleware: [Gate(allowed: [.active])]) { r in
            r.get("/oauth/authorize") { req in try authorize(req, params: req.query) }
            r.post("/oauth/authorize", bodyLimit: 16 * 1024) { req in try decide(req) }
            r.post("/account/security/grants/:grant/revoke") { req in try revokeGrant(req) }
        }
    }

    static let carried = ["response_type", "client_id", "redirect_uri", "scope", "state", "code_challenge", "code_challenge_method"]

    func authorize(_ req: Request, params: URLEncodedForm, error: String? = nil) throws -> HTTPResponse {
        let (_, user) = try req.activeUser()
        let request: OAuth.AuthorizeRequest
        do { request = try oauth.checkAuthorize(params) } catch let e as OAuth.AuthorizePageError {
            return try errorPage(req, e.message)
        } catch let e as OAuth.AuthorizeRedirect {
            return .redirect(to: e.location)
        }
        let choices = try oauth.choices(for: user, scopes: request.scopes)
        let context: [String: Any] = [
            "title": "Authorize \(request.client.app.name)",
            "appName": request.client.app.name,
            "appOrganization": request.organizationName,
            "appEnvironment": request.client.app.environment.title,
            "redirectURI": request.redirectURI,
            "scopes": request.scopes.map { ["name": $0, "text": Self.scopeTexts[$0] ?? $0] },
            "hidden": Self.carried.compactMap { n in params[n].map { ["name": n, "value": $0] } },
            "hasChoices": !choices.isEmpty,
            "choices": choices.enumerated().map { i, c in
                ["value": c.value, "organization": c.organizationName, "environment": c.environment == .production ? "Production" : "Sandbox",
                 "checked": i == 0] as [String: Any]
            },
            "error": error ?? "",
        ]
        var res = try templates.render(page: "oauth/authorize", context: context, request: req, status: error == nil ? .ok : .unprocessableContent)
        res.headers.set("Cache-Control", "no-store")
        // The consent page must not be framed by the client (clickjacking).
        res.headers.set("X-Frame-Options", "DENY")
        // Approving or denying answers with a redirect to the client: a browser applies the
        // page's `form-action` to that redirect too, so the client's origin must be in it
        // (with the site's own `form-action 'self'` alone, Chromium stops at the consent page).
        if let source = Self.formActionSource(request.redirectURI) {
            res.headers.set("Content-Security-Policy", SecurityHeadersMiddleware.contentSecurityPolicy(formAction: source))
        }
        return res
    }

    /// The CSP source for a registered redirect URI: its origin (`http://127.0.0.1:8765`) or,
    /// for a native app's private-use scheme, the scheme (`com.example.app:`). Nil for
    /// anything with characters a policy could be bent by (the URI rules already refuse them).
    static func formActionSource(_ uri: String) -> String? {
        guard let c = URLComponents(string: uri), let scheme = c.scheme?.lowercased(),
              scheme.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || "+-.".contains($0)) }) else { return nil }
        guard scheme == "http" || scheme == "https" else { return scheme + ":" }
        guard let host = c.host, !host.isEmpty,
              host.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || ".-:[]".contains($0)) }) else { return nil }
        let bracketed = host.contains(":") && !host.hasPrefix("[") ? "[\(host)]" : host
        return "\(scheme)://\(bracketed)" + (c.port.map { ":\($0)" } ?? "")
    }

    func errorPage(_ req: Request, _ message: String) throws -> HTTPResponse {
        try templates.render(page: "oauth/error", context: ["title": "Authorization refused", "message": message] as [String: Any], request: req, status: .badRequest)
    }

    func decide(_ req: Request) throws -> HTTPResponse {
        let (_, user) = try req.activeUser()
        let form = try req.form()
        let request: OAuth.AuthorizeRequest
        do { request = try oauth.checkAuthorize(form) } catch let e as OAuth.AuthorizePageError {
            return try errorPage(req, e.message)
        } catch let e as OAuth.AuthorizeRedirect {
            return .redirect(to: e.location)
        }
        if form["decision"] == "deny" { return .redirect(to: oauth.deny(request)) }
        do {
            return .redirect(to: try oauth.approve(request, user: user, choice: form["choice"] ?? "", actor: req.actor()))
        } catch let e as OAuth.AuthorizePageError {
            return try authorize(req, params: form, error: e.message)
        }
    }

    /// The "Apps you authorized" section of `/account/security`.
    func grantsSection(_ req: Request, user: UserRecord) throws -> String {
        let zone = user.timeZone
        let grants = try oauth.grants(of: user).map { g -> [String: Any] in
            ["app": g.appName, "organization": g.organizationName, "environment": g.environment == .production ? "Production" : "Sandbox",
             "scopes": g.scopes.joined(separator: " "), "since": PageTime.full(g.createdAt, zone: zone),
             "action": "/account/security/grants/\(g.publicID)/revoke"]
        }
        return try templates.renderString(page: "oauth/_grants", context: ["grants": grants, "hasGrants": !grants.isEmpty] as [String: Any],
                                          request: req, layout: nil)
    }

    func revokeGrant(_ req: Request) throws -> HTTPResponse {
        let (_, user) = try req.activeUser()
        try oauth.revokeGrant(req.parameters["grant"] ?? "", user: user, actor: req.actor())
        return .redirect(to: "/account/security#grants")
    }
}
