import Database
import Foundation
import Security
import Web

/// The authorization code flow with PKCE (RFC 6749 §4.1, RFC 7636 S256 only) and refresh
/// tokens with rotation (RFC 9700 §4.14): the rules, on ``OAuth``.
///
/// - An unknown client or a redirect URI that is not exactly one of the app's is an error
///   page, never a redirect (an open redirector otherwise). Other mistakes go back to the
///   client as `error=…` with its `state`.
/// - The member chooses one of their organizations and environments where their permissions
///   cover every scope asked for (``OAuthScope/permission(for:)``); the tokens act there.
/// - A code lives 5 minutes and is used once; a second use refuses and revokes what the first
///   gave. A refresh token rotates on each use; a used one presented again revokes its family.
/// - A grant is listed on the member's security page, where revoking it revokes its tokens.
extension OAuth {
    static let codeLifetime: Int64 = 300
    static let refreshLifetime: Int64 = 30 * 86400

    /// A checked authorization request.
    struct AuthorizeRequest: Sendable {
        let client: Apps.Client
        /// The display name of the organization that owns the app (the consent page names it).
        let organizationName: String
        let redirectURI: String
        let scopes: [String]
        let state: String?
        let challenge: String
    }

    /// A place where a member may grant the scopes: an organization's environment.
    struct Choice: Sendable, Equatable {
        let organizationPublicID: String
        let organizationID: Int64
        let organizationName: String
        let environment: Environment

        var value: String { "\(organizationPublicID):\(environment.rawValue)" }
    }

    /// Refusals of the authorization endpoint: shown as a page (no trustworthy redirect URI).
    struct AuthorizePageError: Error, Sendable { let message: String }

    /// Refusals sent back to the client's redirect URI (RFC 6749 §4.1.2.1).
    struct AuthorizeRedirect: Error, Sendable {
        let location: String
    }

    static func redirect(_ uri: String, _ params: [(String, String)]) -> String {
        let query = params.map { OAuthQueryEncoding.encode($0.0) + "=" + OAuthQueryEncoding.encode($0.1) }.joined(separator: "&")
        return uri + (uri.contains("?") ? "&" : "?") + query
    }

    /// Checks `GET /oauth/authorize`'s parameters (or the consent form's, which repeats them).
    func checkAuthorize(_ q: URLEncodedForm) throws -> AuthorizeRequest {
        guard let clientID = q["client_id"], !clientID.isEmpty else {
            throw AuthorizePageError(message: "The link that brought you here names no application (client_id is missing).")
        }
        guard let (client, uris, organizationName) = try apps.publicClient(clientID: clientID) else {
            throw AuthorizePageError(message: "No application has the client id in this link. Ask its maker for a working link.")
        }
        // Exactly one of the app's, except a loopback URI's port (RFC 8252 §7.3: ``RedirectURI/matches(_:)``).
        guard let redirectURI = q["redirect_uri"], uris.contains(where: { (try? RedirectURI.parse($0))?.matches(redirectURI) ?? false }) else {
            throw AuthorizePageError(message: "The application \(client.app.name) asked to send you to an address it has not registered, so we will not send you there.")
        }
        let state = q["state"]
        func back(_ error: String, _ description: String) -> AuthorizeRedirect {
            var p = [("error", error), ("error_description", description)]
            if let state { p.append(("state", state)) }
            return AuthorizeRedirect(location: Self.redirect(redirectURI, p))
        }
        for name in ["client_id", "redirect_uri", "response_type", "scope", "state", "code_challenge", "code_challenge_method"] where q.values(name).count > 1 {
            throw back("invalid_request", "\(name) is sent more than once.")
        }
        guard q["response_type"] == "code" else { throw back("unsupported_response_type", "Only response_type=code is supported.") }
        guard q["code_challenge_method"] == "S256" else { throw back("invalid_request", "PKCE is required: code_challenge_method=S256.") }
        guard let challenge = q["code_challenge"], Self.isPKCEValue(challenge), challenge.utf8.count == 43 else {
            throw back("invalid_request", "code_challenge must be the base64url SHA-256 of the code verifier (43 characters).")
        }
        let scopes: [String]
        do { scopes = try Self.grantedScopes(requested: q["scope"], allowed: client.scopes) } catch let e as OAuthError {
            throw back(e.code.rawValue, e.description)
        }
        return AuthorizeRequest(client: client, organizationName: organizationName, redirectURI: redirectURI, scopes: scopes, state: state, challenge: challenge)
    }

    /// RFC 7636 §4.1: 43–128 characters of [A-Z a-z 0-9 - . _ ~].
    static func isPKCEValue(_ s: String) -> Bool {
        (43...128).contains(s.utf8.count) && s.utf8.allSatisfy { b in
            (b >= 0x30 && b <= 0x39) || (b >= 0x41 && b <= 0x5A) || (b >= 0x61 && b <= 0x7A) || b == 0x2D || b == 0x2E || b == 0x5F || b == 0x7E
        }
    }

    /// The organizations' environments where `user` may grant `scopes`.
    func choices(for user: UserRecord, scopes: [String]) throws -> [Choice] {
        let needed = scopes.compactMap(OAuthScope.permission(for:))
        return try apps.organizations.organizations(for: user).flatMap { (org, member) -> [Choice] in
            guard org.isActive, member.isActive, needed.allSatisfy({ !$0.isDisjoint(with: member.effectivePermissions) }) else { return [] }
            let envs: [Environment] = org.hasProduction ? [.sandbox, .production] : [.sandbox]
            return envs.map { Choice(organizationPublicID: org.publicID, organizationID: org.id, organizationName: org.displayName, environment: $0) }
        }
    }

    /// The member approves: a grant and a code, audited; the redirect back to the client.
    func approve(_ request: AuthorizeRequest, user: UserRecord, choice raw: String, actor: Actor) throws -> String {
        guard let choice = try choices(for: user, scopes: request.scopes).first(where: { $0.value == raw }) else {
            throw AuthorizePageError(message: "Choose one of your organizations and environments where your role allows what the application asks for.")
        }
        let code = Self.makeToken("oac_")
        let now = clock.now()
        try database.write { db in
            let grantPublicID = PublicID.make("grant")
            let grantID = try store.insertGrant(publicID: grantPublicID, appID: request.client.app.id, userID: user.id, organizationID: choice.organizationID,
                                                environment: choice.environment, scopes: request.scopes, at: now, on: db)
            try store.insertCode(sha256: Digest.sha256(code), grantID: grantID, credentialID: request.client.credential.id, redirectURI: request.redirectURI,
                                 challenge: request.challenge, scopes: request.scopes, at: now, expiresAt: now + Self.codeLifetime, on: db)
            try audit.record(OAuthAuditEvents.granted, by: actor, organization: choice.organizationID, environment: choice.environment.rawValue,
                             subject: request.client.app.publicID,
                             details: ["client_id": .text(request.client.credential.clientID), "scope": .text(request.scopes.joined(separator: " ")),
                                       "grant": .text(grantPublicID)], on: db)
        }
        var p = [("code", code)]
        if let state = request.state { p.append(("state", state)) }
        return Self.redirect(request.redirectURI, p)
    }

    /// The member refuses: back to the client with `access_denied`.
    func deny(_ request: AuthorizeRequest) -> String {
        var p = [("error", "access_denied"), ("error_description", "The member refused the authorization.")]
        if let state = request.state { p.append(("state", state)) }
        return Self.redirect(request.redirectURI, p)
    }

    // MARK: - the token endpoint's grants

    /// `grant_type=authorization_code`. The client's last use (from `ip`) is recorded in the
    /// same transaction when stale, whatever the outcome: the client did authenticate.
    func exchangeCode(_ client: Apps.Client, code: String?, redirectURI: String?, verifier: String?, ip: String) throws -> Issued {
        guard let code, !code.isEmpty else { throw OAuthError(.invalidRequest, "code is missing.") }
        guard let redirectURI else { throw OAuthError(.invalidRequest, "redirect_uri is missing: send the one the authorization request used.") }
        guard let verifier, Self.isPKCEValue(verifier) else {
            throw OAuthError(.invalidRequest, "code_verifier is missing or malformed (43 to 128 characters of A-Z a-z 0-9 - . _ ~).")
        }
        let now = clock.now()
        // The refusal that revokes must commit; the others change nothing.
        let outcome = try database.write { db -> Result<Issued, OAuthError> in
            try apps.recordUse(client, ip: ip, at: now, on: db)
            guard let row = try store.code(sha256: Digest.sha256(code), on: db), row.appID == client.app.id else {
                return .failure(OAuthError(.invalidGrant, "The authorization code is unknown, expired or was issued to another client."))
            }
            if row.usedAt != nil {
                let n = try store.revokeCodeTokens(codeID: row.id, at: now, on: db)
                if let g = try store.grant(id: row.grantID, on: db) {
                    try audit.record(OAuthAuditEvents.familyRevoked, by: Actor(userID: nil, ip: "", userAgent: "OAuth server"), organization: g.organizationID,
                                     environment: g.environment.rawValue, subject: client.app.publicID,
                                     details: ["client_id": .text(client.credential.clientID), "reason": .text("an authorization code was used twice; \(n) tokens revoked")],
                                     on: db)
                }
                return .failure(OAuthError(.invalidGrant, "The authorization code was already used; the tokens it gave are revoked."))
            }
            guard row.expiresAt > now else { return .failure(OAuthError(.invalidGrant, "The authorization code has expired.")) }
            guard row.redirectURI == redirectURI else {
                return .failure(OAuthError(.invalidGrant, "redirect_uri differs from the one of the authorization request."))
            }
            guard Digest.constantTimeEquals(Array(Base64URL.encode(Digest.sha256(verifier)).utf8), Array(row.challenge.utf8)) else {
                return .failure(OAuthError(.invalidGrant, "The code_verifier does not match the code_challenge."))
            }
            guard let grant = try store.grant(id: row.grantID, on: db), grant.revokedAt == nil else {
                return .failure(OAuthError(.invalidGrant, "The authorization was revoked."))
            }
            guard try store.useCode(id: row.id, at: now, on: db) else {
                return .failure(OAuthError(.invalidGrant, "The authorization code was already used."))
            }
            return .success(try issue(client, grant: grant, scopes: row.scopes, codeID: row.id, family: PublicID.make("fam"), now: now, on: db))
        }
        return try outcome.get()
    }

    /// `grant_type=refresh_token`, with rotation and reuse detection (last use as for a code).
    func refresh(_ client: Apps.Client, token: String?, scope: String?, ip: String) throws -> Issued {
        guard let token, !token.isEmpty else { throw OAuthError(.invalidRequest, "refresh_token is missing.") }
        let now = clock.now()
        let outcome = try database.write { db -> Result<Issued, OAuthError> in
            try apps.recordUse(client, ip: ip, at: now, on: db)
            guard let r = try store.refreshToken(sha256: Digest.sha256(token), on: db), r.appID == client.app.id, r.revokedAt == nil else {
                return .failure(OAuthError(.invalidGrant, "The refresh token is unknown, revoked or was issued to another client."))
            }
            if r.usedAt != nil {
                let n = try store.revokeFamily(r.family, at: now, on: db)
                if let g = try store.grant(id: r.grantID, on: db) {
                    try audit.record(OAuthAuditEvents.familyRevoked, by: Actor(userID: nil, ip: "", userAgent: "OAuth server"), organization: g.organizationID,
                                     environment: g.environment.rawValue, subject: client.app.publicID,
                                     details: ["client_id": .text(client.credential.clientID), "reason": .text("a refresh token was used twice; \(n) tokens revoked")],
                                     on: db)
                }
                return .failure(OAuthError(.invalidGrant, "The refresh token was already used; every token of its family is revoked."))
            }
            guard r.expiresAt > now else { return .failure(OAuthError(.invalidGrant, "The refresh token has expired.")) }
            guard let grant = try store.grant(id: r.grantID, on: db), grant.revokedAt == nil else {
                return .failure(OAuthError(.invalidGrant, "The authorization was revoked."))
            }
            var scopes = r.scopes
            if let scope, !scope.isEmpty {
                guard let asked = OAuthScope.split(scope), asked.allSatisfy(r.scopes.contains) else {
                    return .failure(OAuthError(.invalidScope, "A refresh may only narrow the scopes: \(r.scopes.joined(separator: " "))."))
                }
                scopes = asked
            }
            guard try store.useRefreshToken(id: r.id, at: now, on: db) else {
                return .failure(OAuthError(.invalidGrant, "The refresh token was already used."))
            }
            return .success(try issue(client, grant: grant, scopes: scopes, codeID: nil, family: r.family, now: now, on: db))
        }
        return try outcome.get()
    }

    private func issue(_ client: Apps.Client, grant: OAuthStore.GrantRow, scopes: [String], codeID: Int64?, family: String, now: Int64,
                       on db: Connection) throws -> Issued {
        let (access, publicID, sha256) = Self.newAccessToken()
        let refresh = Self.makeToken(Self.refreshTokenPrefix)
        var t = OAuthStore.NewAccessToken(
            publicID: publicID, sha256: sha256, credentialID: client.credential.id, appID: client.app.id,
            organizationID: grant.organizationID, environment: grant.environment, scopes: scopes, thumbprint: client.certificateThumbprint,
            createdAt: now, expiresAt: now + Self.accessLifetime)
        t.userID = grant.userID
        t.grantID = grant.id
        t.codeID = codeID
        t.family = family
        _ = try store.insertAccessToken(t, on: db)
        try store.insertRefreshToken(sha256: Digest.sha256(refresh), family: family, grantID: grant.id, credentialID: client.credential.id,
                                     scopes: scopes, at: now, expiresAt: now + Self.refreshLifetime, on: db)
        return Issued(accessToken: access, expiresIn: Self.accessLifetime, scopes: scopes, refreshToken: refresh)
    }

    // MARK: - the member's grants

    func grants(of user: UserRecord) throws -> [OAuthStore.GrantRow] {
        try database.read { try store.grants(userID: user.id, on: $0) }
    }

    /// Revokes one of the member's own grants (another's is the same 404 as a missing one).
    func revokeGrant(_ publicID: String, user: UserRecord, actor: Actor) throws {
        try database.write { db in
            guard let g = try store.grant(publicID: publicID, userID: user.id, on: db), g.revokedAt == nil else { throw OrgProblem.notFound }
            _ = try store.revokeGrant(id: g.id, at: clock.now(), on: db)
            try audit.record(OAuthAuditEvents.grantRevoked, by: actor, organization: g.organizationID, environment: g.environment.rawValue,
                             subject: g.appPublicID, details: ["grant": .text(g.publicID), "scope": .text(g.scopes.joined(separator: " "))], on: db)
        }
    }
}

/// Form encoding of one value for a redirect's query.
enum OAuthQueryEncoding {
    static func encode(_ s: String) -> String {
        var out = ""
        for b in s.utf8 {
            switch b {
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
                 UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "_"), UInt8(ascii: "~"):
                out.append(Character(UnicodeScalar(b)))
            default: out += "%" + String(b, radix: 16, uppercase: true).leftPadded
            }
        }
        return out
    }
}

private extension String {
    var leftPadded: String { count == 1 ? "0" + self : self }
}
