// The events as their readers get them: ``Audit`` records them, ``AuditStore`` reads
// these back.

/// One of a user's own events (their security page).
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

/// An audit event as the review page lists it, with the actor's address when it happened.
struct SupportHistoryEvent: Sendable {
    let at: Int64
    let actorEmail: String?
    let action: String
    let environment: String
    let subject: String
    /// The details as one line of words (`role: Developer; …`).
    let details: String
}

/// One event of an organization's log with its actor's name and address as recorded when it
/// happened (for events older than that record, as the users table says now).
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
