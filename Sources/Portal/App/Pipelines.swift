import Web

/// The two pipelines every Portal route belongs to (see DESIGN.md, "Two pipelines"):
/// declared where the routes are, so the middleware a route runs is visible there.
///
/// - Pages for people: session (``AuthMiddleware``: cookie → session → CSRF and Origin
///   check on unsafe requests) → flash (kept in the session row) → HTML error pages.
/// - JSON for programs (`/v1`, `/oauth`): credentials from the `Authorization` header only
///   (``APICredentialsMiddleware``), no cookie, no CSRF, errors as JSON (``JSONErrors``).
struct Pipelines {
    let session: AuthMiddleware
    let flash: FlashMiddleware
    let errorPages: ErrorPages
    let verifiers: [any APICredentialVerifier]
    /// API middleware around the credentials (response headers on every answer) and after
    /// them (the rate limit, which needs the credential).
    var apiOuter: [any Middleware] = []
    var apiInner: [any Middleware] = []
    /// The API request log (``APILogMiddleware``), outermost so it sees every final status;
    /// nil when the operator turned the log off.
    var apiLog: (any Middleware)? = nil
    /// The per-address budget of failed credentials (nil: none; tests of other things).
    var authFailures: APIAuthFailures? = nil

    /// Where the JSON pipelines live. The HTTP server is told too
    /// (``HTTPServer/Configuration/refusalPrefixes``), so that what it refuses before any
    /// routing (408, 414, 431, the overload 503) under them is JSON as well.
    static let apiPrefixes = ["/v1", "/oauth"]

    /// The pages pipeline at the root: every path not claimed by an API prefix.
    func pages(_ router: inout Router, _ build: (inout Router) -> Void) {
        router.group("", middleware: [session, flash], errors: errorPages, build)
    }

    /// The OAuth server under `/oauth`: the API pipeline's log and headers, but the client
    /// authenticates itself inside each endpoint (HTTP Basic with a client id is not an API
    /// key), and errors take RFC 6749's shape (``OAuthErrors``), not the `/v1` one.
    func oauth(_ router: inout Router, _ prefix: String, _ build: (inout Router) -> Void) {
        let log: [any Middleware] = apiLog.map { [$0] } ?? []
        router.group(prefix, middleware: log + apiOuter, errors: OAuthErrors(), build)
    }

    /// An API pipeline under `prefix` (`/v1`).
    func api(_ router: inout Router, _ prefix: String, _ build: (inout Router) -> Void) {
        let log: [any Middleware] = apiLog.map { [$0] } ?? []
        router.group(prefix, middleware: log + apiOuter + [APICredentialsMiddleware(verifiers: verifiers, failures: authFailures)] + apiInner, errors: JSONErrors(), build)
    }
}
