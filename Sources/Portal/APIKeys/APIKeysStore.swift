import Database

/// The SQL of API keys. Every write runs in the caller's transaction; changes of state are
/// guarded by the state they expect, so of two members rolling (or revoking) the same key at
/// once exactly one wins.
struct APIKeysStore {
    static let columns = """
        k.id, k.public_id, k.organization_id, k.environment, k.name, k.secret_sha256, k.display_prefix, k.last4,
        k.restrictions, k.ip_allowlist, k.created_by, k.created_by_name, k.created_at, k.expires_at, k.revoked_at,
        k.revoked_by_name, k.rolled_from, k.replaced_by, (SELECT r.public_id FROM api_keys r WHERE r.id = k.replaced_by),
        k.ends_at, k.last_used_at, k.last_used_ip, k.reminded_30_at, k.reminded_7_at, k.reminded_1_at, k.expired_at
        """

    static func key(_ r: some RowReading) throws -> APIKeyRecord {
        let displayPrefix = try r.string(6), last4 = try r.string(7), publicID = try r.string(1), name = try r.string(4)
        let masked = APIKeyRecord.masking(displayPrefix, last4)
        return APIKeyRecord(
            id: try r.int64(0), publicID: publicID, organizationID: try r.int64(2),
            environment: Environment(rawValue: try r.string(3)) ?? .production, name: name, secretSHA256: try r.blob(5),
            displayPrefix: displayPrefix, last4: last4, restrictions: APIKeyRestrictions(stored: try r.optionalString(8)),
            // A stored block this version cannot read allows nothing, rather than everything.
            ipAllowlist: try r.optionalString(9).map { $0.split(separator: " ").compactMap { try? CIDR(parsing: String($0)) } },
            createdBy: try r.optionalInt64(10), createdByName: try r.string(11), createdAt: try r.int64(12),
            expiresAt: try r.optionalInt64(13), revokedAt: try r.optionalInt64(14), revokedByName: try r.optionalString(15),
            rolledFrom: try r.optionalInt64(16), replacedBy: try r.optionalInt64(17), replacedByPublicID: try r.optionalString(18),
            endsAt: try r.optionalInt64(19), lastUsedAt: try r.optionalInt64(20), lastUsedIP: try r.optionalString(21),
            reminded30At: try r.optionalInt64(22), reminded7At: try r.optionalInt64(23), reminded1At: try r.optionalInt64(24),
            expiredAt: try r.optionalInt64(25), masked: masked,
            logIdentity: APICredentialLogIdentity(publicID: publicID, name: masked, label: name))
    }

    struct NewKey {
        let publicID: String
        let organizationID: Int64
        let environment: Environment
        let name: String
        let secret: APIKeySecret
        let restrictions: APIKeyRestrictions
        let ipAllowlist: [CIDR]?
        let createdBy: Int64?
        let createdByName: String
        let createdAt: Int64
        let expiresAt: Int64?
        let rolledFrom: Int64?
    }

    func insert(_ k: NewKey, on db: Connection) throws -> Int64 {
        try db.scalar(
            """
            INSERT INTO api_keys (public_id, organization_id, environment, name, secret_sha256, display_prefix, last4, restrictions,
                ip_allowlist, created_by, created_by_name, created_at, expires_at, rolled_from)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
            RETURNING id
            """,
            arguments: [k.publicID, k.organizationID, k.environment.rawValue, k.name, k.secret.sha256, k.secret.displayPrefix,
                        k.secret.last4, k.restrictions.stored, k.ipAllowlist.map { $0.map(\.description).joined(separator: " ") },
                        k.createdBy, k.createdByName, k.createdAt, k.expiresAt, k.rolledFrom]) ?? 0
    }

    func key(id: Int64, on db: Connection) throws -> APIKeyRecord? {
        try db.queryOne("SELECT \(Self.columns) FROM api_keys k WHERE k.id = ?", id).map(Self.key)
    }

    func key(publicID: String, organizationID: Int64, environment: Environment, on db: Connection) throws -> APIKeyRecord? {
        try db.queryOne("SELECT \(Self.columns) FROM api_keys k WHERE k.public_id = ? AND k.organization_id = ? AND k.environment = ?",
                        publicID, organizationID, environment.rawValue).map(Self.key)
    }

    /// The key whose secret hashes to `sha256` (the verifier's one lookup, by the unique
    /// index), if its organization is still active: a closed organization's keys open nothing.
    func key(sha256: [UInt8], on db: Connection) throws -> APIKeyRecord? {
        try db.queryOne(
            """
            SELECT \(Self.columns) FROM api_keys k JOIN organizations o ON o.id = k.organization_id
            WHERE k.secret_sha256 = ? AND o.status = 'active'
            """, sha256).map(Self.key)
    }

    /// The environment's keys, newest first.
    func list(organizationID: Int64, environment: Environment, on db: Connection) throws -> [APIKeyRecord] {
        try db.query("SELECT \(Self.columns) FROM api_keys k WHERE k.organization_id = ? AND k.environment = ? ORDER BY k.created_at DESC, k.id DESC",
                     organizationID, environment.rawValue).map(Self.key)
    }

    func exists(organizationID: Int64, environment: Environment, on db: Connection) throws -> Bool {
        try db.scalar("SELECT EXISTS (SELECT 1 FROM api_keys WHERE organization_id = ? AND environment = ?)",
                      organizationID, environment.rawValue, as: Bool.self) ?? false
    }

    /// Points the key at its replacement, working until `endsAt`; false if it was revoked or
    /// rolled meanwhile.
    func markRolled(id: Int64, replacedBy: Int64, endsAt: Int64, on db: Connection) throws -> Bool {
        try db.execute("UPDATE api_keys SET replaced_by = ?, ends_at = ? WHERE id = ? AND replaced_by IS NULL AND revoked_at IS NULL",
                       replacedBy, endsAt, id) == 1
    }

    /// Revokes the key; false if it was already revoked.
    func revoke(id: Int64, by name: String, at now: Int64, on db: Connection) throws -> Bool {
        try db.execute("UPDATE api_keys SET revoked_at = ?, revoked_by_name = ? WHERE id = ? AND revoked_at IS NULL", now, name, id) == 1
    }

    /// Moves "last used" forward, never back (batches may arrive out of order).
    func recordUse(publicID: String, at time: Int64, ip: String, on db: Connection) throws -> Bool {
        try db.execute("UPDATE api_keys SET last_used_at = ?, last_used_ip = ? WHERE public_id = ? AND (last_used_at IS NULL OR last_used_at < ?)",
                       time, ip, publicID, time) == 1
    }

    /// Records that the reminder `days` before the expiry went out; false if it already had.
    func markReminded(id: Int64, days: Int, at now: Int64, on db: Connection) throws -> Bool {
        let column = switch days { case 30: "reminded_30_at"; case 7: "reminded_7_at"; default: "reminded_1_at" }
        return try db.execute("UPDATE api_keys SET \(column) = ? WHERE id = ? AND \(column) IS NULL", now, id) == 1
    }

    /// Records the expiry once; false if it already was.
    func markExpired(id: Int64, at now: Int64, on db: Connection) throws -> Bool {
        try db.execute("UPDATE api_keys SET expired_at = ? WHERE id = ? AND expired_at IS NULL", now, id) == 1
    }
}
