import Database

/// The SQL for audit events, and nothing else.
struct AuditStore {
    func insert(at: Int64, actorUserID: Int64?, organizationID: Int64?, environment: String, action: String, subject: String,
                ip: String, userAgent: String, details: String, on db: Connection) throws {
        try db.execute(
            """
            INSERT INTO audit_events (at, actor_user_id, actor_name, actor_email, organization_id, environment, action, subject, ip,
                                      user_agent, details)
            VALUES (?, ?, (SELECT name FROM users WHERE id = ?), (SELECT email FROM users WHERE id = ?), ?, ?, ?, ?, ?, ?, ?)
            """, at, actorUserID, actorUserID, actorUserID, organizationID, environment, action, subject, ip, userAgent, details)
    }

    func forUser(_ userID: Int64, limit: Int, on db: Connection) throws -> [AuditEvent] {
        try db.query(
            """
            SELECT id, at, actor_user_id, action, subject, ip, user_agent, details FROM audit_events
            WHERE actor_user_id = ? ORDER BY id DESC LIMIT ?
            """, userID, limit
        ).map { r in
            AuditEvent(id: try r.int64(0), at: try r.int64(1), actorUserID: try r.optionalInt64(2), action: try r.string(3),
                       subject: try r.string(4), ip: try r.string(5), userAgent: try r.string(6), details: try r.string(7))
        }
    }
}

extension AuditStore {
    /// The WHERE clause (for `audit_events e`) and its arguments; `before`/`after` are event
    /// ids for keyset pagination.
    static func whereClause(_ q: AuditQuery, before: Int64? = nil, after: Int64? = nil) -> (String, [any SQLBindable]) {
        var sql = "e.organization_id = ?"
        var args: [any SQLBindable] = [q.organizationID]
        switch q.actor {
        case .anyone: break
        case .user(let id): sql += " AND e.actor_user_id = ?"; args.append(id)
        case .staff: sql += " AND e.actor_user_id IN (SELECT id FROM users WHERE is_staff = 1)"
        }
        switch q.action {
        case .any: break
        case .exact(let a): sql += " AND e.action = ?"; args.append(a)
        case .prefixes(let ps) where !ps.isEmpty:
            // GLOB, not LIKE: `_` is a wildcard for LIKE and action names are full of them.
            sql += " AND (" + ps.map { _ in "e.action GLOB ?" }.joined(separator: " OR ") + ")"
            args += ps.map { AuditQuery.globEscape($0) + "*" }
        case .prefixes: sql += " AND 0"
        }
        if let from = q.from { sql += " AND e.at >= ?"; args.append(from) }
        if let until = q.until { sql += " AND e.at < ?"; args.append(until) }
        if let before { sql += " AND e.id < ?"; args.append(before) }
        if let after { sql += " AND e.id > ?"; args.append(after) }
        return (sql, args)
    }

    static let entryColumns = """
        e.id, e.at, e.actor_user_id, coalesce(e.actor_name, u.name), coalesce(e.actor_email, u.email), coalesce(u.is_staff, 0), e.environment, e.action, e.subject, e.ip,
        e.user_agent, e.details
        """

    static func entry(_ r: some RowReading) throws -> OrgAuditEntry {
        OrgAuditEntry(
            id: try r.int64(0), at: try r.int64(1), actorUserID: try r.optionalInt64(2), actorName: try r.optionalString(3),
            actorEmail: try r.optionalString(4), actorIsStaff: try r.bool(5), environment: try r.string(6), action: try r.string(7),
            subject: try r.string(8), ip: try r.string(9), userAgent: try r.string(10), details: try r.string(11))
    }

    /// Up to `limit` events matching `query`: newest first, or with `after` the ones just
    /// newer than that id, oldest first.
    func organizationEvents(_ query: AuditQuery, before: Int64? = nil, after: Int64? = nil, limit: Int,
                            on db: Connection) throws -> [OrgAuditEntry] {
        let (condition, args) = Self.whereClause(query, before: before, after: after)
        return try db.query(
            """
            SELECT \(Self.entryColumns) FROM audit_events e LEFT JOIN users u ON u.id = e.actor_user_id
            WHERE \(condition) ORDER BY e.id \(after == nil ? "DESC" : "ASC") LIMIT ?
            """, arguments: args + [limit]
        ).map { try Self.entry($0) }
    }

    /// Calls `body` for up to `limit` matching events, newest first, without holding them all.
    func forEachOrganizationEvent(_ query: AuditQuery, before: Int64?, limit: Int, on db: Connection,
                                  body: (OrgAuditEntry) throws -> Void) throws {
        let (condition, args) = Self.whereClause(query, before: before)
        try db.forEach(
            """
            SELECT \(Self.entryColumns) FROM audit_events e LEFT JOIN users u ON u.id = e.actor_user_id
            WHERE \(condition) ORDER BY e.id DESC LIMIT ?
            """, arguments: args + [limit]
        ) { try body(try Self.entry($0)) }
    }

    /// Whether any event matches (with the pagination bounds).
    func hasOrganizationEvents(_ query: AuditQuery, before: Int64? = nil, after: Int64? = nil, on db: Connection) throws -> Bool {
        let (condition, args) = Self.whereClause(query, before: before, after: after)
        return try db.scalar("SELECT EXISTS (SELECT 1 FROM audit_events e WHERE \(condition))", arguments: args, as: Bool.self) ?? false
    }

    /// The organization's members (present) and everyone who acted on its log, by name.
    func organizationPeople(_ organizationID: Int64, on db: Connection) throws -> [AuditPerson] {
        try db.query(
            """
            SELECT u.id, u.name, u.email, u.is_staff,
                   EXISTS (SELECT 1 FROM memberships m WHERE m.user_id = u.id AND m.organization_id = ?)
            FROM users u
            WHERE u.id IN (SELECT user_id FROM memberships WHERE organization_id = ?)
               OR u.id IN (SELECT actor_user_id FROM audit_events WHERE organization_id = ? AND actor_user_id IS NOT NULL)
            ORDER BY u.name COLLATE NOCASE, u.email
            """, organizationID, organizationID, organizationID
        ).map {
            AuditPerson(userID: try $0.int64(0), name: try $0.string(1), email: try $0.string(2), isStaff: try $0.bool(3),
                        isMember: try $0.bool(4))
        }
    }

    /// The distinct actions in the organization's log.
    func organizationActions(_ organizationID: Int64, on db: Connection) throws -> [String] {
        try db.query("SELECT DISTINCT action FROM audit_events WHERE organization_id = ? ORDER BY action", organizationID)
            .map { try $0.string(0) }
    }


    /// The organization's newest audit events, with each actor's address.
    func history(organizationID: Int64, limit: Int, on db: Connection) throws -> [SupportHistoryEvent] {
        try db.query(
            """
            SELECT e.at, coalesce(e.actor_email, u.email), e.action, e.environment, e.subject, e.details
            FROM audit_events e LEFT JOIN users u ON u.id = e.actor_user_id
            WHERE e.organization_id = ? ORDER BY e.id DESC LIMIT ?
            """, organizationID, limit
        ).map(Self.historyEvent)
    }

    /// The newest audit events a user caused or that name them (for lost-authenticator reviews).
    func history(userID: Int64, email: String, limit: Int, on db: Connection) throws -> [SupportHistoryEvent] {
        try db.query(
            """
            SELECT e.at, coalesce(e.actor_email, u.email), e.action, e.environment, e.subject, e.details
            FROM audit_events e LEFT JOIN users u ON u.id = e.actor_user_id
            WHERE e.actor_user_id = ? OR (e.subject = ? AND e.organization_id IS NULL) ORDER BY e.id DESC LIMIT ?
            """, userID, email, limit
        ).map(Self.historyEvent)
    }

    static func historyEvent(_ r: Row) throws -> SupportHistoryEvent {
        let action = try r.string(2)
        return SupportHistoryEvent(at: try r.int64(0), actorEmail: try r.optionalString(1), action: action,
                                   environment: try r.string(3), subject: try r.string(4),
                                   details: AuditActions.all.detailText(action, details: try r.string(5)))
    }

    // MARK: details written before they were JSON

    /// Up to `limit` events whose details are not JSON yet, oldest first.
    func legacyDetails(after id: Int64, limit: Int, on db: Connection) throws -> [(id: Int64, action: String, details: String)] {
        try db.query(
            "SELECT id, action, details FROM audit_events WHERE id > ? AND details != '' AND substr(details, 1, 1) != '{' ORDER BY id LIMIT ?",
            id, limit
        ).map { (try $0.int64(0), try $0.string(1), try $0.string(2)) }
    }

    func setDetails(id: Int64, json: String, on db: Connection) throws {
        try db.execute("UPDATE audit_events SET details = ? WHERE id = ?", json, id)
    }

    func meta(_ key: String, on db: Connection) throws -> String? {
        try db.scalar("SELECT value FROM app_meta WHERE key = ?", key, as: String.self)
    }

    func setMeta(_ key: String, _ value: String, on db: Connection) throws {
        try db.execute("INSERT INTO app_meta (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value", key, value)
    }
}
