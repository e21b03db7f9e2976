import Database
import Foundation
import Web

/// Who did something and from where: taken from the request once, passed to services.
struct Actor: Sendable {
    let userID: Int64?
    let ip: String
    let userAgent: String

    init(userID: Int64?, ip: String, userAgent: String) {
        self.userID = userID
        self.ip = ip
        self.userAgent = String(userAgent.prefix(300))
    }

    init(_ req: Request, userID: Int64?) {
        self.init(userID: userID, ip: req.remoteAddress, userAgent: req.headers["User-Agent"] ?? "")
    }

    func with(userID: Int64?) -> Actor { Actor(userID: userID, ip: ip, userAgent: userAgent) }

    /// The address as throttles count it: an IPv4 address whole, an IPv6 address by its
    /// /64, since one subscriber usually holds a whole /64 and could otherwise rotate.
    var network: String {
        guard ip.contains(":") else { return ip }
        var addr = in6_addr()
        guard inet_pton(AF_INET6, ip, &addr) == 1 else { return ip }
        let bytes = withUnsafeBytes(of: &addr) { Array($0.prefix(8)) }
        // IPv4-mapped addresses (::ffff:a.b.c.d) count as the IPv4 address.
        let full = withUnsafeBytes(of: &addr) { Array($0) }
        if full[0..<10].allSatisfy({ $0 == 0 }) && full[10] == 0xFF && full[11] == 0xFF {
            return "\(full[12]).\(full[13]).\(full[14]).\(full[15])"
        }
        return bytes.map { String($0, radix: 16) }.joined(separator: ".") + "::/64"
    }
}

/// The audit log: every change and every authentication event, written through the same
/// connection (so the same transaction) as the change it describes. Details never hold a
/// password, code or token.
struct Audit {
    let store = AuditStore()
    let clock: PortalClock

    func record(_ action: String, by actor: Actor, organization: Int64? = nil, environment: String = "", subject: String = "",
                details: String = "", on db: Connection) throws {
        try store.insert(at: clock.now(), actorUserID: actor.userID, organizationID: organization, environment: environment,
                         action: action, subject: subject, ip: actor.ip, userAgent: actor.userAgent, details: details, on: db)
    }
}

struct AuditEvent: Sendable {
    let id: Int64
    let at: Int64
    let actorUserID: Int64?
    let action: String
    let subject: String
    let ip: String
    let userAgent: String
    let details: String
}

/// The SQL for audit events.
struct AuditStore {
    func insert(at: Int64, actorUserID: Int64?, organizationID: Int64?, environment: String, action: String, subject: String,
                ip: String, userAgent: String, details: String, on db: Connection) throws {
        try db.execute(
            """
            INSERT INTO audit_events (at, actor_user_id, organization_id, environment, action, subject, ip, user_agent, details)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
            """, at, actorUserID, organizationID, environment, action, subject, ip, userAgent, details)
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

// MARK: - an organization's log

/// Which of an organization's events to read: always one organization, then optionally one
/// actor (or the operator's staff), one action or a family of actions, and a time range.
struct AuditQuery: Sendable {
    enum ActorMatch: Sendable, Equatable {
        case anyone
        case user(Int64)
        /// Anyone on the operator's support staff.
        case staff
    }

    enum ActionMatch: Sendable, Equatable {
        case any
        case exact(String)
        /// Actions starting with one of these prefixes (`member.`); fixed strings, never input.
        case prefixes([String])
    }

    let organizationID: Int64
    var actor: ActorMatch = .anyone
    var action: ActionMatch = .any
    /// UTC unix seconds, inclusive.
    var from: Int64?
    /// UTC unix seconds, exclusive.
    var until: Int64?

    /// The WHERE clause (for `audit_events e`) and its arguments; `before`/`after` are event
    /// ids for keyset pagination.
    func whereClause(before: Int64? = nil, after: Int64? = nil) -> (String, [any SQLBindable]) {
        var sql = "e.organization_id = ?"
        var args: [any SQLBindable] = [organizationID]
        switch actor {
        case .anyone: break
        case .user(let id): sql += " AND e.actor_user_id = ?"; args.append(id)
        case .staff: sql += " AND e.actor_user_id IN (SELECT id FROM users WHERE is_staff = 1)"
        }
        switch action {
        case .any: break
        case .exact(let a): sql += " AND e.action = ?"; args.append(a)
        case .prefixes(let ps) where !ps.isEmpty:
            // GLOB, not LIKE: `_` is a wildcard for LIKE and action names are full of them.
            sql += " AND (" + ps.map { _ in "e.action GLOB ?" }.joined(separator: " OR ") + ")"
            args += ps.map { Self.globEscape($0) + "*" }
        case .prefixes: sql += " AND 0"
        }
        if let from { sql += " AND e.at >= ?"; args.append(from) }
        if let until { sql += " AND e.at < ?"; args.append(until) }
        if let before { sql += " AND e.id < ?"; args.append(before) }
        if let after { sql += " AND e.id > ?"; args.append(after) }
        return (sql, args)
    }

    /// `s` with GLOB's special characters taken literally.
    static func globEscape(_ s: String) -> String {
        var out = ""
        for c in s {
            switch c {
            case "*", "?", "[": out += "[\(c)]"
            default: out.append(c)
            }
        }
        return out
    }
}

/// One event of an organization's log with what the users table says of its actor.
struct OrgAuditEntry: Sendable {
    let id: Int64
    let at: Int64
    let actorUserID: Int64?
    let actorName: String?
    let actorEmail: String?
    let actorIsStaff: Bool
    let environment: String
    let action: String
    let subject: String
    let ip: String
    let userAgent: String
    let details: String
}

/// Someone who can be chosen in the log's actor filter: a member (present or past actor) of
/// the organization, or one of the operator's staff who acted on it.
struct AuditPerson: Sendable {
    let userID: Int64
    let name: String
    let email: String
    let isStaff: Bool
    let isMember: Bool
}

extension AuditStore {
    static let entryColumns = """
        e.id, e.at, e.actor_user_id, u.name, u.email, coalesce(u.is_staff, 0), e.environment, e.action, e.subject, e.ip,
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
        let (condition, args) = query.whereClause(before: before, after: after)
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
        let (condition, args) = query.whereClause(before: before)
        try db.forEach(
            """
            SELECT \(Self.entryColumns) FROM audit_events e LEFT JOIN users u ON u.id = e.actor_user_id
            WHERE \(condition) ORDER BY e.id DESC LIMIT ?
            """, arguments: args + [limit]
        ) { try body(try Self.entry($0)) }
    }

    /// Whether any event matches (with the pagination bounds).
    func hasOrganizationEvents(_ query: AuditQuery, before: Int64? = nil, after: Int64? = nil, on db: Connection) throws -> Bool {
        let (condition, args) = query.whereClause(before: before, after: after)
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
}
