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

    /// The token whose text hashes to `sha256`, of an organization still active.
    func accessToken(sha256: [UInt8], on db: Connection) throws -> OAuthAccessTokenRecord? {
        try db.queryOne(
            """
            SELECT \(Self.accessColumns) FROM oauth_access_tokens t
            JOIN app_credentials c ON c.id = t.credential_id JOIN organizations o ON o.id = t.organization_id
            WHERE t.token_sha256 = ? AND o.status = 'active'
            """, sha256).map(Self.access)
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
}
