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

    func record(_ action: String, by actor: Actor, organization: Int64? = nil, subject: String = "",
                details: String = "", on db: Connection) throws {
        try store.insert(at: clock.now(), actorUserID: actor.userID, organizationID: organization, action: action,
                         subject: subject, ip: actor.ip, userAgent: actor.userAgent, details: details, on: db)
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
    func insert(at: Int64, actorUserID: Int64?, organizationID: Int64?, action: String, subject: String,
                ip: String, userAgent: String, details: String, on db: Connection) throws {
        try db.execute(
            """
            INSERT INTO audit_events (at, actor_user_id, organization_id, action, subject, ip, user_agent, details)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?)
            """, at, actorUserID, organizationID, action, subject, ip, userAgent, details)
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
