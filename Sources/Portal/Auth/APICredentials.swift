import HTTP
import Web

/// A resource of the `/v1` API, as a key's restrictions name it (Stripe's restricted keys).
enum APIResource: String, CaseIterable, Sendable {
    case balances, transactions, payouts
}

/// How far a credential may act on one ``APIResource``. Ordered: `write` includes `read`.
enum APIAccessLevel: String, CaseIterable, Sendable, Comparable {
    case none, read, write

    private var rank: Int { self == .none ? 0 : self == .read ? 1 : 2 }
    static func < (a: APIAccessLevel, b: APIAccessLevel) -> Bool { a.rank < b.rank }
}

/// What an API request acts as, found from its `Authorization` header. API keys and OAuth
/// access tokens (issue 12) are the kinds; each decides the organization and the
/// environment, which the request itself never does.
protocol APICredential: Sendable {
    /// A non-secret name for the log line (a key's prefix and last four, a token's id).
    var logName: String { get }
    /// The credential's stable public id (`key_…`, later `tok_…`): rate-limit buckets,
    /// request logs and "last used" are kept under it.
    var publicID: String { get }
    /// The organization (row id) and environment every call with it acts in.
    var organizationID: Int64 { get }
    var environment: Environment { get }
    /// What it may do to `resource`; endpoints answer 403 naming the resource below what they need.
    func access(to resource: APIResource) -> APIAccessLevel
    /// The member who made the credential, if a person did. Payouts prepared with it name
    /// that member as their creator, so the four-eyes rule holds through the API: the person
    /// behind a key can never also authorize what the key prepared.
    var createdByUserID: Int64? { get }
    /// The scope an OAuth token lacks for `level` access to `resource` (`payouts:write`),
    /// named in the 403; nil for a credential without scopes (an API key).
    func missingScope(_ resource: APIResource, _ level: APIAccessLevel) -> String?
    /// How the audit log and the money features name the caller.
    var actorName: String { get }
    /// The name people gave it, for the request log beside ``logName`` (a key's "Checkout
    /// server"); nil when it has none.
    var logLabel: String? { get }
    /// What the request log keeps of it, asked once per request (one call through the
    /// existential, not one per field).
    var logIdentity: APICredentialLogIdentity { get }
}

/// A credential as the request log names it: its public id, display name and label, and
/// those three as a segment's element holds them, escaped once. Made once per key record
/// (``APIKeyRecord/logIdentity``) and shared by every request with it: one reference kept
/// per logged request instead of three strings, and one copy instead of three escaped writes.
final class APICredentialLogIdentity: Sendable {
    let publicID: String?
    let name: String?
    let label: String?
    /// `"key_…","sk_sandbox_…wXyZ","Checkout server"` (JSON `null` for a missing one).
    let elementFields: [UInt8]

    init(publicID: String?, name: String?, label: String?) {
        self.publicID = publicID
        self.name = name
        self.label = label
        var w = JSONWriter(capacity: 64)
        for (n, field) in [publicID, name, label].enumerated() {
            if n > 0 { w.raw([UInt8(ascii: ",")]) }
            if let field { w.string(field) } else { w.null() }
        }
        elementFields = w.bytes
    }
}

extension APICredential {
    /// How the audit log and the money features name the caller ("API key sk_…abcd").
    var actorName: String { "API key \(logName)" }
    var createdByUserID: Int64? { nil }
    func missingScope(_ resource: APIResource, _ level: APIAccessLevel) -> String? { nil }
    var logLabel: String? { nil }
    var logIdentity: APICredentialLogIdentity { APICredentialLogIdentity(publicID: publicID, name: logName, label: logLabel) }
}

/// Recognises one kind of credential. The API pipeline asks each verifier in turn.
protocol APICredentialVerifier: Sendable {
    /// The credential behind `token` sent with `scheme` (`Bearer`, compared
    /// case-insensitively by the caller: `scheme` is lower-cased), or nil when this verifier
    /// does not know it. Runs on a worker thread: it may read the database. It must compare
    /// secrets in constant time and never log them.
    func verify(scheme: String, token: String, request: Request) throws -> (any APICredential)?
}

enum APICredentialKey: RequestStorageKey { typealias Value = any APICredential }

extension Request {
    /// The credential the API pipeline accepted, nil for a request that sent none.
    var apiCredential: (any APICredential)? { storage[APICredentialKey.self] }
}

/// The API pipeline's authentication: credentials come from the `Authorization` header
/// only. No cookie is read (a browser's session cannot call the API on a page's behalf,
/// so the API needs no CSRF check), and there is no form token.
///
/// A request without the header goes on unauthenticated (routes that need a credential
/// add ``RequireAPICredential``); a header that is malformed or that no verifier accepts is
/// a 401, never silently ignored, so a client with a wrong key learns it at once.
///
/// Every one of those 401s is the same one (``refusal``): a missing, malformed, mistyped,
/// unknown, revoked or expired key cannot be told apart from the answer.
///
/// Each of those failures is charged to the client address's budget (``APIAuthFailures``);
/// past it, the same 401 is delivered late, so a flood of guesses cannot take the server's
/// time from callers whose credentials work (they are never charged, nor delayed).
struct APICredentialsMiddleware: Middleware {
    let verifiers: [any APICredentialVerifier]
    var failures: APIAuthFailures? = nil

    static let challenge: HTTPHeaders = ["WWW-Authenticate": "Bearer realm=\"portal\""]

    /// The one answer to a request without a working credential.
    static var refusal: HTTPError {
        HTTPError(.unauthorized, "Send a valid API key as \"Authorization: Bearer <key>\".", headers: challenge, code: "invalid_credentials")
    }

    func handle(_ req: Request, next: (Request) throws -> HTTPResponse) throws -> HTTPResponse {
        guard let header = req.headers["Authorization"] else { return try next(req) }
        guard let (scheme, token) = Self.parse(header) else { return try refuse(req) }
        for verifier in verifiers {
            if let credential = try verifier.verify(scheme: scheme, token: token, request: req) {
                req.storage[APICredentialKey.self] = credential
                req.logger[metadataKey: "credential"] = .string(credential.logName)
                return try next(req)
            }
        }
        return try refuse(req)
    }

    /// The refusal of a failed attempt: thrown (answered at once) within the address's
    /// budget; past it, the same response made here and marked to be delivered late.
    private func refuse(_ req: Request) throws -> HTTPResponse {
        guard let failures, case .delayed(let first) = failures.charge(req.remoteAddress) else { throw Self.refusal }
        if first {
            req.logger.warning("failed API credentials over the address's budget: 401s delayed", metadata: [
                "ip": .string(req.remoteAddress), "rate": .stringConvertible(failures.policy.rate),
                "delay_ms": .stringConvertible(failures.policy.delay.components.seconds * 1000 + failures.policy.delay.components.attoseconds / 1_000_000_000_000_000)])
        }
        var res = (req.errorResponder ?? JSONErrors()).response(for: Self.refusal, request: req)
        res.deliverAfter = failures.policy.delay
        return res
    }

    /// `scheme token68` (RFC 9110 §11.4): the scheme lower-cased; nil when either part is
    /// missing or the token holds anything but token68 characters.
    ///
    /// Over the header's bytes (runs of spaces between the parts, as `split` by characters
    /// did): grapheme by grapheme, the split alone cost more than the key's SHA-256.
    static func parse(_ header: String) -> (scheme: String, token: String)? {
        var header = header
        return header.withUTF8 { b -> (scheme: String, token: String)? in
            let space = UInt8(ascii: " ")
            var i = 0
            while i < b.count, b[i] == space { i += 1 }
            let schemeStart = i
            while i < b.count, b[i] != space { i += 1 }
            let schemeEnd = i
            while i < b.count, b[i] == space { i += 1 }
            let tokenStart = i
            while i < b.count, b[i] != space { i += 1 }
            let tokenEnd = i
            while i < b.count, b[i] == space { i += 1 }
            guard schemeEnd > schemeStart, tokenEnd > tokenStart, i == b.count, tokenEnd - tokenStart <= 4096 else { return nil }
            let scheme = UnsafeBufferPointer(rebasing: b[schemeStart..<schemeEnd])
            let token = UnsafeBufferPointer(rebasing: b[tokenStart..<tokenEnd])
            let isToken68 = token.allSatisfy { b in
                (b >= 0x30 && b <= 0x39) || (b >= 0x41 && b <= 0x5A) || (b >= 0x61 && b <= 0x7A)
                    || b == 0x2D || b == 0x2E || b == 0x5F || b == 0x7E || b == 0x2B || b == 0x2F || b == 0x3D
            }
            guard isToken68, scheme.allSatisfy({ ($0 >= 0x41 && $0 <= 0x5A) || ($0 >= 0x61 && $0 <= 0x7A) || $0 == 0x2D }) else {
                return nil
            }
            // ASCII alone now: lower-cased byte by byte.
            let lower = String(unsafeUninitializedCapacity: scheme.count) { out in
                for k in 0..<scheme.count { out[k] = scheme[k] | (scheme[k] >= 0x41 && scheme[k] <= 0x5A ? 0x20 : 0) }
                return scheme.count
            }
            return (lower, String(decoding: token, as: UTF8.self))
        }
    }
}

/// Refuses an API request that carries no accepted credential with 401.
struct RequireAPICredential: Middleware {
    func handle(_ req: Request, next: (Request) throws -> HTTPResponse) throws -> HTTPResponse {
        guard req.apiCredential != nil else { throw APICredentialsMiddleware.refusal }
        return try next(req)
    }
}
