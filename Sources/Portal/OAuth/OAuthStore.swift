import Database

/// The SQL of the OAuth server: access and refresh tokens (by the SHA-256 of their text),
/// authorization codes and grants. Every write runs in the caller's transaction.
struct OAuthStore {
    static let accessColumns = """
        t.id, t.public_id, t.token_sha256, t.credential_id, c.client_id, t.app_id, t.organization_id, t.environment, t.scope,
        t.user_id, t.grant_id, t.family, t.cnf_x5t_s256, t.created_at, t.expires_at, t.revoked_at
        """

    static func access(_ r: some RowReading) throws -> OAuthAccessTokenRecord {
        OAuthAccessTokenRecord(
            id: try r.int64(0), publicID: try r.string(1), tokenSHA256: try r.blob(2), credentialID: try r.int64(3), clientID: try r.string(4),
            appID: try r.int64(5), organizationID: try r.int64(6), environment: Environment(rawValue: try r.string(7)) ?? .production,
            scopes: try r.string(8).split(separator: " ").map(String.init), userID: try r.optionalInt64(9), grantID: try r.optionalInt64(10),
            family: try r.optionalString(11), thumbprint: try r.optionalString(12), createdAt: try r.int64(13), expiresAt: try r.int64(14),
            revokedAt: try r.optionalInt64(15))
    }

    struct NewAccessToken {
        let publicID: String
        let sha256: [UInt8]
        let credentialID: Int64
        let appID: Int64
        let organizationID: Int64
        let environment: Environment
        let scopes: [String]
        var userID: Int64? = nil
        var grantID: Int64? = nil
        var codeID: Int64? = nil
        var family: String? = nil
        let thumbprint: String?
        let createdAt: Int64
        let expiresAt: Int64
    }

    func insertAccessToken(_ t: NewAccessToken, on db: Connection) throws -> Int64 {
        try db.scalar(
            """
            INSERT INTO oauth_access_tokens (public_id, token_sha256, credential_id, app_id, organization_id, environment, scope,
                user_id, grant_id, code_id, family, cnf_x5t_s256, created_at, expires_at)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id
            """,
            arguments: [t.publicID, t.sha256, t.credentialID, t.appID, t.organizationID, t.environment.rawValue, t.scopes.joined(separator: " "),
                        t.userID, t.grantID, t.codeID, t.family, t.thumbprint, t.createdAt, t.expiresAt]) ?? 0
    }

    /// The token with this public id (its text's selector: the caller compares the hash), of
    /// an organization still active, and for a member's token (code flow) of a member still
    /// active there, with their permissions now.
    func accessToken(publicID: String, on db: Connection) throws -> OAuthAccessTokenRecord? {
        try db.queryOne(
            """
            SELECT \(Self.accessColumns), \(MembershipRecord.columns) FROM oauth_access_tokens t
            JOIN app_credentials c ON c.id = t.credential_id JOIN organizations o ON o.id = t.organization_id
            LEFT JOIN memberships m ON m.user_id = t.user_id AND m.organization_id = t.organization_id
            WHERE t.public_id = ? AND o.status = 'active' AND (t.user_id IS NULL OR m.status = 'active')
            """, publicID).map { r in
                var t = try Self.access(r)
                // A member's token can do no more than the member may do today.
                if t.userID != nil { t.memberPermissions = try MembershipRecord.decode(r, offset: 16).effectivePermissions }
                return t
            }
    }

    func revokeAccessToken(id: Int64, at now: Int64, on db: Connection) throws -> Bool {
        try db.execute("UPDATE oauth_access_tokens SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL", now, id) > 0
    }

    // MARK: refresh tokens

    static let refreshColumns = """
        r.id, r.token_sha256, r.family, r.grant_id, r.credential_id, c.app_id, r.scope, r.created_at, r.expires_at, r.used_at, r.revoked_at
        """

    static func refresh(_ r: some RowReading) throws -> OAuthRefreshTokenRecord {
        OAuthRefreshTokenRecord(
            id: try r.int64(0), tokenSHA256: try r.blob(1), family: try r.string(2), grantID: try r.int64(3), credentialID: try r.int64(4),
            appID: try r.int64(5), scopes: try r.string(6).split(separator: " ").map(String.init), createdAt: try r.int64(7),
            expiresAt: try r.int64(8), usedAt: try r.optionalInt64(9), revokedAt: try r.optionalInt64(10))
    }

    func refreshToken(sha256: [UInt8], on db: Connection) throws -> OAuthRefreshTokenRecord? {
        try db.queryOne("SELECT \(Self.refreshColumns) FROM oauth_refresh_tokens r JOIN app_credentials c ON c.id = r.credential_id WHERE r.token_sha256 = ?",
                        sha256).map(Self.refresh)
    }

    /// Revokes every access and refresh token of a refresh family; how many there were.
    func revokeFamily(_ family: String, at now: Int64, on db: Connection) throws -> Int {
        try db.execute("UPDATE oauth_access_tokens SET revoked_at = ? WHERE family = ? AND revoked_at IS NULL", now, family)
            + db.execute("UPDATE oauth_refresh_tokens SET revoked_at = ? WHERE family = ? AND revoked_at IS NULL", now, family)
    }

    func insertRefreshToken(sha256: [UInt8], family: String, grantID: Int64, credentialID: Int64, scopes: [String], at now: Int64,
                            expiresAt: Int64, on db: Connection) throws {
        _ = try db.execute(
            """
            INSERT INTO oauth_refresh_tokens (token_sha256, family, grant_id, credential_id, scope, created_at, expires_at)
            VALUES (?, ?, ?, ?, ?, ?, ?)
            """, sha256, family, grantID, credentialID, scopes.joined(separator: " "), now, expiresAt)
    }

    /// Marks a refresh token used; false when someone used it meanwhile.
    func useRefreshToken(id: Int64, at now: Int64, on db: Connection) throws -> Bool {
        try db.execute("UPDATE oauth_refresh_tokens SET used_at = ? WHERE id = ? AND used_at IS NULL AND revoked_at IS NULL", now, id) > 0
    }

    // MARK: grants and codes

    struct GrantRow {
        let id: Int64
        let publicID: String
        let appID: Int64
        let appName: String
        let appPublicID: String
        let userID: Int64
        let organizationID: Int64
        let organizationName: String
        let environment: Environment
        let scopes: [String]
        let createdAt: Int64
        let revokedAt: Int64?
    }

    static let grantColumns = """
        g.id, g.public_id, g.app_id, a.name, g.user_id, g.organization_id, CASE WHEN o.trading_name = '' THEN o.legal_name ELSE o.trading_name END, g.environment, g.scope, g.created_at, g.revoked_at, a.public_id
        """

    static func grant(_ r: some RowReading) throws -> GrantRow {
        GrantRow(id: try r.int64(0), publicID: try r.string(1), appID: try r.int64(2), appName: try r.string(3), appPublicID: try r.string(11), userID: try r.int64(4),
                 organizationID: try r.int64(5), organizationName: try r.string(6), environment: Environment(rawValue: try r.string(7)) ?? .production,
                 scopes: try r.string(8).split(separator: " ").map(String.init), createdAt: try r.int64(9), revokedAt: try r.optionalInt64(10))
    }

    func insertGrant(publicID: String, appID: Int64, userID: Int64, organizationID: Int64, environment: Environment, scopes: [String],
                     at now: Int64, on db: Connection) throws -> Int64 {
        try db.scalar(
            """
            INSERT INTO oauth_grants (public_id, app_id, user_id, organization_id, environment, scope, created_at)
            VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING id
            """, publicID, appID, userID, organizationID, environment.rawValue, scopes.joined(separator: " "), now) ?? 0
    }

    func grant(id: Int64, on db: Connection) throws -> GrantRow? {
        try db.queryOne("SELECT \(Self.grantColumns) FROM oauth_grants g JOIN apps a ON a.id = g.app_id JOIN organizations o ON o.id = g.organization_id WHERE g.id = ?",
                        id).map(Self.grant)
    }

    /// The user's grants still in force, newest first.
    func grants(userID: Int64, on db: Connection) throws -> [GrantRow] {
        try db.query(
            """
            SELECT \(Self.grantColumns) FROM oauth_grants g JOIN apps a ON a.id = g.app_id JOIN organizations o ON o.id = g.organization_id
            WHERE g.user_id = ? AND g.revoked_at IS NULL ORDER BY g.created_at DESC, g.id DESC
            """, userID).map(Self.grant)
    }

    func grant(publicID: String, userID: Int64, on db: Connection) throws -> GrantRow? {
        try db.queryOne(
            """
            SELECT \(Self.grantColumns) FROM oauth_grants g JOIN apps a ON a.id = g.app_id JOIN organizations o ON o.id = g.organization_id
            WHERE g.public_id = ? AND g.user_id = ?
            """, publicID, userID).map(Self.grant)
    }

    /// Revokes the grant and every token it gave.
    func revokeGrant(id: Int64, at now: Int64, on db: Connection) throws -> Bool {
        guard try db.execute("UPDATE oauth_grants SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL", now, id) > 0 else { return false }
        _ = try db.execute("UPDATE oauth_access_tokens SET revoked_at = ? WHERE grant_id = ? AND revoked_at IS NULL", now, id)
        _ = try db.execute("UPDATE oauth_refresh_tokens SET revoked_at = ? WHERE grant_id = ? AND revoked_at IS NULL", now, id)
        return true
    }

    struct CodeRow {
        let id: Int64
        let grantID: Int64
        let credentialID: Int64
        let appID: Int64
        let redirectURI: String
        let challenge: String
        let scopes: [String]
        let expiresAt: Int64
        let usedAt: Int64?
    }

    func insertCode(sha256: [UInt8], grantID: Int64, credentialID: Int64, redirectURI: String, challenge: String, scopes: [String],
                    at now: Int64, expiresAt: Int64, on db: Connection) throws {
        _ = try db.execute(
            """
            INSERT INTO oauth_codes (code_sha256, grant_id, credential_id, redirect_uri, code_challenge, scope, created_at, expires_at)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?)
            """, sha256, grantID, credentialID, redirectURI, challenge, scopes.joined(separator: " "), now, expiresAt)
    }

    func code(sha256: [UInt8], on db: Connection) throws -> CodeRow? {
        try db.queryOne(
            """
            SELECT k.id, k.grant_id, k.credential_id, c.app_id, k.redirect_uri, k.code_challenge, k.scope, k.expires_at, k.used_at
            FROM oauth_codes k JOIN app_credentials c ON c.id = k.credential_id WHERE k.code_sha256 = ?
            """, sha256).map { r in
                CodeRow(id: try r.int64(0), grantID: try r.int64(1), credentialID: try r.int64(2), appID: try r.int64(3), redirectURI: try r.string(4),
                        challenge: try r.string(5), scopes: try r.string(6).split(separator: " ").map(String.init), expiresAt: try r.int64(7),
                        usedAt: try r.optionalInt64(8))
            }
    }

    func useCode(id: Int64, at now: Int64, on db: Connection) throws -> Bool {
        try db.execute("UPDATE oauth_codes SET used_at = ? WHERE id = ? AND used_at IS NULL", now, id) > 0
    }

    /// Revokes what a code gave (its access tokens and their refresh family) after a reuse.
    func revokeCodeTokens(codeID: Int64, at now: Int64, on db: Connection) throws -> Int {
        let families = try db.query("SELECT DISTINCT family FROM oauth_access_tokens WHERE code_id = ? AND family IS NOT NULL", codeID).map { try $0.string(0) }
        var n = try db.execute("UPDATE oauth_access_tokens SET revoked_at = ? WHERE code_id = ? AND revoked_at IS NULL", now, codeID)
        for f in families { n += try revokeFamily(f, at: now, on: db) }
        return n
    }

    // MARK: credential health

    /// How many access tokens the credentials were issued from `since` on (one range of the
    /// `(credential_id, created_at)` index each; credentials that were issued none are absent).
    func issuedCounts(credentialIDs: [Int64], since: Int64, on db: Connection) throws -> [Int64: Int] {
        var out: [Int64: Int] = [:]
        for id in credentialIDs {
            let n = try db.scalar("SELECT count(*) FROM oauth_access_tokens WHERE credential_id = ? AND created_at >= ?", id, since, as: Int.self) ?? 0
            if n > 0 { out[id] = n }
        }
        return out
    }

    // MARK: pruning

    /// Deletes what can no longer be used: access tokens, refresh tokens and codes expired
    /// (or revoked, or used) before `before`. Grants stay (the member's record of consent).
    func prune(before: Int64, on db: Connection) throws -> Int {
        try db.execute("DELETE FROM oauth_access_tokens WHERE expires_at < ? OR revoked_at < ?", before, before)
            + db.execute("DELETE FROM oauth_refresh_tokens WHERE expires_at < ? OR revoked_at < ?", before, before)
            + db.execute("DELETE FROM oauth_codes WHERE expires_at < ?", before)
    }
}
