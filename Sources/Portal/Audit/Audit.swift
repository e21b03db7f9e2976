import Database

/// The audit log: every change and every authentication event, written through the same
/// connection (so the same transaction) as the change it describes, with the actor's name
/// and address as they are at that moment (a later rename does not rewrite the past).
/// Details never hold a password, code or token.
struct Audit {
    let store = AuditStore()
    let clock: PortalClock

    func record(_ action: AuditAction, by actor: Actor, organization: Int64? = nil, environment: String = "", subject: String = "",
                details: AuditDetails = AuditDetails(), on db: Connection) throws {
        try store.insert(at: clock.now(), actorUserID: actor.userID, organizationID: organization, environment: environment,
                         action: action.id, subject: subject, ip: actor.ip, userAgent: actor.userAgent, details: details.json, on: db)
    }

    /// The newest events the user caused (their own security page).
    func recent(forUser userID: Int64, limit: Int, on db: Connection) throws -> [AuditEvent] {
        try store.forUser(userID, limit: limit, on: db)
    }

    /// The organization's newest events, for support's review.
    func history(organizationID: Int64, limit: Int, on db: Connection) throws -> [SupportHistoryEvent] {
        try store.history(organizationID: organizationID, limit: limit, on: db)
    }

    /// The newest events a user caused or that name them outside any organization.
    func history(userID: Int64, email: String, limit: Int, on db: Connection) throws -> [SupportHistoryEvent] {
        try store.history(userID: userID, email: email, limit: limit, on: db)
    }
}
