import Database
import Foundation
import Jobs
import Security

/// The OAuth 2 authorization server's rules (RFC 6749, 7009, 7662, 8414; issue 12).
///
/// - A client is an app's credentials, authenticated by ``Apps/authenticateClient(clientID:secret:)``.
/// - An access token is `oat_` + its public id's letters (`tok_…`, which begin with the time
///   it was issued: ``PublicID/makeOrdered(_:micros:)``) + 32 random bytes (base64url). It is
///   found by that id and checked against its SHA-256, the only form stored, in constant time
///   (a selector and a verifier: no index over random hashes, and a lookup whose timing says
///   nothing of the secret). Valid 1 hour; acts in its app's organization and environment
///   with its scopes, never more than the app's subscriptions grant (``AppProduct``). A token
///   of an app with a certificate carries its RFC 8705 `x5t#S256` (`cnf`).
/// - Revoking is always possible for the client that holds the token; another client's token
///   is left alone and the answer is the same 200 (RFC 7009 §2.2).
/// - Introspection answers only for the calling app's own tokens; anything else is
///   `{"active": false}`.
final class OAuth: Sendable {
    let database: Database
    let clock: PortalClock
    let apps: Apps
    let store = OAuthStore()
    let audit: Audit
    private let verified: VerifiedCredentials<String, OAuthAccessTokenRecord>

    static let accessTokenPrefix = "oat_"
    /// An access token's public id is `tok_` + the letters its text carries after `oat_`.
    static let accessTokenIDPrefix = "tok"
    static let refreshTokenPrefix = "ort_"
    static let accessLifetime: Int64 = 3600

    init(database: Database, clock: PortalClock, apps: Apps) {
        self.database = database
        self.clock = clock
        self.apps = apps
        audit = Audit(clock: clock)
        verified = VerifiedCredentials(database: database)
    }

    /// A new opaque token: prefix + 32 random bytes in base64url.
    static func makeToken(_ prefix: String) -> String { prefix + Base64URL.encode(SecureRandom.bytes(32)) }

    /// A new access token: its text (shown once), its public id and the SHA-256 to store.
    static func newAccessToken() -> (text: String, publicID: String, sha256: [UInt8]) {
        let micros = UInt64(max(0, Date().timeIntervalSince1970 * 1_000_000))
        let publicID = PublicID.makeOrdered(accessTokenIDPrefix, micros: micros)
        let text = accessTokenPrefix + publicID.dropFirst(accessTokenIDPrefix.count + 1) + Base64URL.encode(SecureRandom.bytes(32))
        return (text, publicID, Digest.sha256(text))
    }

    /// The public id an access token's text names, when the text has an access token's form.
    static func accessTokenID(_ text: String) -> String? {
        let utf8 = text.utf8
        guard utf8.count == accessTokenPrefix.utf8.count + PublicID.orderedLength + 43, text.hasPrefix(accessTokenPrefix) else { return nil }
        return accessTokenIDPrefix + "_" + String(decoding: utf8.dropFirst(accessTokenPrefix.utf8.count).prefix(PublicID.orderedLength), as: UTF8.self)
    }

    /// The access token of this text (whose SHA-256 is `sha256`), when the row its id names
    /// has that hash (compared in constant time).
    private func accessToken(_ text: String, sha256: [UInt8], on db: Connection) throws -> OAuthAccessTokenRecord? {
        guard let id = Self.accessTokenID(text), let t = try store.accessToken(publicID: id, on: db),
              Digest.constantTimeEquals(t.tokenSHA256, sha256) else { return nil }
        return t
    }

    // MARK: - clients

    static let clientRefused = "Client authentication failed: unknown client_id, wrong or expired client secret."

    /// A refused client authentication: `invalid_client`. `credentialID` names the credentials
    /// of a known client id whose secret was wrong or expired, for their health figures.
    struct ClientRefused: Error, Sendable {
        let credentialID: Int64?
        var error: OAuthError { OAuthError(.invalidClient, OAuth.clientRefused) }
    }

    /// The client these credentials prove, or ``ClientRefused``. Writes nothing: a success is
    /// recorded as the credentials' last use by the endpoint's own transaction, when stale.
    func authenticate(clientID: String, secret: String) throws -> Apps.Client {
        switch try apps.checkClient(clientID: clientID, secret: secret) {
        case .authenticated(let client): return client
        case .refused(let credentialID): throw ClientRefused(credentialID: credentialID)
        }
    }

    /// Counts a wrong or expired secret presented for known credentials (one row an hour).
    func recordFailedAuthentication(credentialID: Int64) throws {
        try apps.recordFailedAuthentication(credentialID: credentialID)
    }

    /// Records the client's successful authentication from `ip` as its credentials' last use,
    /// in a small write of its own and only when the recorded one is older than a minute (for
    /// a request that failed after the client authenticated, so no transaction of its own ran).
    func recordUse(_ client: Apps.Client, ip: String) throws {
        try apps.recordUse(client, ip: ip)
    }

    // MARK: - issuing

    struct Issued: Sendable {
        let accessToken: String
        let expiresIn: Int64
        let scopes: [String]
        let refreshToken: String?
    }

    /// The scopes a request may have: those asked for (all of them within what the app's
    /// subscriptions grant), or all that they grant when none is asked for.
    static func grantedScopes(requested raw: String?, allowed: [String]) throws -> [String] {
        guard let raw, !raw.isEmpty else {
            guard !allowed.isEmpty else {
                throw OAuthError(.invalidScope, "The app subscribes to no API product, so no scope can be granted. Subscribe it to a product first.")
            }
            return allowed
        }
        guard let asked = OAuthScope.split(raw) else {
            throw OAuthError(.invalidScope, "scope must be scope names separated by single spaces, e.g. \"balances:read transactions:read\".")
        }
        if let unknown = asked.first(where: { !OAuthScope.all.contains($0) }) {
            throw OAuthError(.invalidScope, "Unknown scope \(unknown.prefix(60)). The scopes are: \(OAuthScope.all.joined(separator: ", ")).")
        }
        if let outside = asked.first(where: { !allowed.contains($0) }) {
            throw OAuthError(.invalidScope, "The app's subscriptions do not grant \(outside)" + (allowed.isEmpty ? "; it subscribes to no product." : "; they grant \(allowed.joined(separator: " "))."))
        }
        return asked
    }

    /// `grant_type=client_credentials`: a token acting as the app itself. The credentials'
    /// last use (from `ip`) is recorded only when the one read at authentication is older
    /// than a minute: most requests run the INSERT alone.
    func clientCredentials(_ client: Apps.Client, scope: String?, ip: String) throws -> Issued {
        let scopes = try Self.grantedScopes(requested: scope, allowed: client.scopes)
        let now = clock.now()
        let (token, publicID, sha256) = Self.newAccessToken()
        let new = OAuthStore.NewAccessToken(
            publicID: publicID, sha256: sha256, credentialID: client.credential.id, appID: client.app.id,
            organizationID: client.app.organizationID, environment: client.app.environment, scopes: scopes,
            thumbprint: client.certificateThumbprint, createdAt: now, expiresAt: now + Self.accessLifetime)
        // Not counted as a write (a fresh row only), so the client stays remembered; the
        // credentials' last use, once a minute, in a write of its own that is counted.
        try database.insertOnly { db in _ = try store.insertAccessToken(new, on: db) }
        _ = try? apps.recordUse(client, ip: ip) // bookkeeping: the token is issued either way
        return Issued(accessToken: token, expiresIn: Self.accessLifetime, scopes: scopes, refreshToken: nil)
    }

    // MARK: - using

    /// The active access token whose text this is, or nil (unknown, expired, revoked, or of
    /// a closed organization). One read by the id the text carries, then a constant-time
    /// comparison of the whole text's hash, remembered or not.
    func activeAccessToken(_ text: String) throws -> OAuthAccessTokenRecord? {
        guard let id = Self.accessTokenID(text) else { return nil }
        // Remembered ≤ 1 s and not past any write (a revoke, a closed organization): see VerifiedCredentials.
        guard let t = try verified.record(id, read: { try database.read { try store.accessToken(publicID: id, on: $0) } }),
              Digest.constantTimeEquals(t.tokenSHA256, Digest.sha256(text)), t.isActive(now: clock.now()) else { return nil }
        return t
    }

    // MARK: - revocation (RFC 7009)

    /// Revokes `token` if it is one of `client`'s app's tokens; silently nothing otherwise.
    func revoke(_ client: Apps.Client, token: String, actor: Actor) throws {
        let hash = Digest.sha256(token)
        let now = clock.now()
        try database.write { db in
            try apps.recordUse(client, ip: actor.ip, at: now, on: db)
            if let t = try accessToken(token, sha256: hash, on: db), t.appID == client.app.id {
                let changed: Bool
                if let family = t.family {
                    changed = try store.revokeFamily(family, at: now, on: db) > 0
                } else {
                    changed = try store.revokeAccessToken(id: t.id, at: now, on: db)
                }
                if changed { try record(OAuthAuditEvents.tokenRevoked, client, token: t.publicID, by: actor, on: db) }
            } else if let r = try store.refreshToken(sha256: hash, on: db), r.appID == client.app.id {
                if try store.revokeFamily(r.family, at: now, on: db) > 0 {
                    try record(OAuthAuditEvents.tokenRevoked, client, token: "refresh token", by: actor, on: db)
                }
            }
        }
    }

    // MARK: - introspection (RFC 7662)

    struct Introspection: Sendable {
        let token: OAuthAccessTokenRecord?
        let refresh: OAuthRefreshTokenRecord?
    }

    /// The token's facts when it is an active token of the calling app; nil otherwise. A read,
    /// plus the credentials' last use (from `ip`) in a small write when it is stale.
    func introspect(_ client: Apps.Client, token: String, ip: String) throws -> Introspection? {
        let hash = Digest.sha256(token)
        let now = clock.now()
        try apps.recordUse(client, ip: ip)
        return try database.read { db -> Introspection? in
            if let t = try accessToken(token, sha256: hash, on: db) {
                guard t.appID == client.app.id, t.isActive(now: now) else { return nil }
                return Introspection(token: t, refresh: nil)
            }
            if let r = try store.refreshToken(sha256: hash, on: db) {
                guard r.appID == client.app.id, r.revokedAt == nil, r.usedAt == nil, r.expiresAt > now else { return nil }
                return Introspection(token: nil, refresh: r)
            }
            return nil
        }
    }

    // MARK: - pruning

    static let pruneKind = "oauth.prune"
    static let pruneInterval: Int64 = 3600
    /// Expired and revoked rows are kept a day (introspection of a just-expired token, the
    /// reuse detection of a code just used), then deleted.
    static let pruneAfter: Int64 = 86400

    /// Also drops the credentials' failed-authentication buckets that no longer count.
    @discardableResult
    func prune() throws -> Int {
        let now = clock.now()
        let before = now - Self.pruneAfter
        return try database.write { db in try store.prune(before: before, on: db) + apps.pruneHealth(now: now, on: db) }
    }

    // MARK: - credential health

    /// How many access tokens each of the credentials was issued from `since` on, on the
    /// caller's connection (the Apps page's "tokens issued in the last 24 hours"). Static: the
    /// composition root gives it to ``Apps`` before the server exists.
    static func tokensIssued(credentialIDs: [Int64], since: Int64, on db: Connection) throws -> [Int64: Int] {
        try OAuthStore().issuedCounts(credentialIDs: credentialIDs, since: since, on: db)
    }

    func schedulePruning(on jobs: JobWorker, at time: Int64) throws {
        try database.write { db in
            if try JobQueue.enqueueUnlessQueued(Self.pruneKind, payload: "", runAt: time, now: clock.now(), on: db) != nil { jobs.notify() }
        }
    }

    private func record(_ action: AuditAction, _ client: Apps.Client, token: String, by actor: Actor, on db: Connection) throws {
        try audit.record(action, by: actor, organization: client.app.organizationID, environment: client.app.environment.rawValue,
                         subject: client.app.publicID, details: ["client_id": .text(client.credential.clientID), "token": .text(token)], on: db)
    }
}

/// An RFC 6749 §5.2 error: `{"error", "error_description"}`, never the `/v1` shape.
struct OAuthError: Error, Sendable {
    enum Code: String, Sendable {
        case invalidRequest = "invalid_request"
        case invalidClient = "invalid_client"
        case invalidGrant = "invalid_grant"
        case unauthorizedClient = "unauthorized_client"
        case unsupportedGrantType = "unsupported_grant_type"
        case invalidScope = "invalid_scope"
        case serverError = "server_error"
    }

    let code: Code
    let description: String

    init(_ code: Code, _ description: String) {
        self.code = code
        self.description = description
    }
}

/// The `oauth.prune` job: deletes expired tokens and codes, then queues itself an hour later.
struct OAuthPruning: JobHandler {
    let oauth: OAuth
    let jobs: JobWorker

    func run(_ job: Job) throws {
        try oauth.prune()
        try oauth.schedulePruning(on: jobs, at: oauth.clock.now() + OAuth.pruneInterval)
    }
}
