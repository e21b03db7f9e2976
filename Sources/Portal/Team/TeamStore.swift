import Database

/// An invitation to join an organization. The link's token is kept only as its SHA-256.
struct InvitationRecord: Sendable {
    let id: Int64
    let publicID: String
    let organizationID: Int64
    let email: String
    let name: String
    let role: Role
    let permissions: Set<Permission>
    let invitedBy: Int64?
    let status: String
    let createdAt: Int64
    let sentAt: Int64
    let expiresAt: Int64
    let respondedAt: Int64?
    let acceptedUserID: Int64?

    /// What a person sees: a pending invitation past its expiry is expired.
    func state(now: Int64) -> InvitationState {
        switch status {
        case "accepted": .accepted
        case "declined": .declined
        case "revoked": .revoked
        default: expiresAt <= now ? .expired : .pending
        }
    }
}

enum InvitationState: String, Sendable {
    case pending, expired, accepted, declined, revoked

    var title: String { rawValue.capitalized }
}

/// An invitation as the team page lists it, with the name of whoever sent it.
struct InvitationRow: Sendable {
    let invitation: InvitationRecord
    let sentBy: String?
}

/// The SQL for invitations and the invitation mails they sent, and nothing else (memberships
/// are Organizations'; the team pages change them through that service).
struct TeamStore {
    static let invitationColumns = """
        i.id, i.public_id, i.organization_id, i.email, i.name, i.role, i.permissions, i.invited_by, i.status,
        i.created_at, i.sent_at, i.expires_at, i.responded_at, i.accepted_user_id
        """

    static func invitation(_ r: some RowReading, offset o: Int = 0) throws -> InvitationRecord {
        InvitationRecord(
            id: try r.int64(o), publicID: try r.string(o + 1), organizationID: try r.int64(o + 2), email: try r.string(o + 3),
            name: try r.string(o + 4), role: Role(rawValue: try r.string(o + 5)) ?? .custom,
            permissions: Permission.parse(stored: try r.string(o + 6)), invitedBy: try r.optionalInt64(o + 7),
            status: try r.string(o + 8), createdAt: try r.int64(o + 9), sentAt: try r.int64(o + 10),
            expiresAt: try r.int64(o + 11), respondedAt: try r.optionalInt64(o + 12), acceptedUserID: try r.optionalInt64(o + 13))
    }

    // MARK: invitations

    func insertInvitation(publicID: String, organizationID: Int64, email: String, name: String, role: Role,
                          permissions: Set<Permission>, tokenHash: String, invitedBy: Int64, now: Int64, expiresAt: Int64,
                          on db: Connection) throws -> Int64 {
        try db.scalar(
            """
            INSERT INTO invitations (public_id, organization_id, email, name, role, permissions, token_hash, invited_by,
                                     created_at, sent_at, expires_at)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id
            """, publicID, organizationID, email, name, role.rawValue, Permission.store(permissions), tokenHash, invitedBy,
            now, now, expiresAt, as: Int64.self)!
    }

    /// Re-sends a pending invitation, possibly with a new name, role and permissions: a new
    /// token (the old link stops working) and a new expiry. False if it is no longer pending.
    func refreshInvitation(id: Int64, name: String, role: Role, permissions: Set<Permission>, tokenHash: String, invitedBy: Int64,
                           now: Int64, expiresAt: Int64, on db: Connection) throws -> Bool {
        try db.execute(
            """
            UPDATE invitations SET name = ?, role = ?, permissions = ?, token_hash = ?, invited_by = ?, sent_at = ?, expires_at = ?
            WHERE id = ? AND status = 'pending'
            """, name, role.rawValue, Permission.store(permissions), tokenHash, invitedBy, now, expiresAt, id) == 1
    }

    /// Ends a pending invitation (`accepted`, `declined` or `revoked`). False if it was not
    /// pending any more (someone answered or revoked it first).
    func respond(invitationID: Int64, status: String, userID: Int64?, now: Int64, on db: Connection) throws -> Bool {
        try db.execute(
            "UPDATE invitations SET status = ?, responded_at = ?, accepted_user_id = ? WHERE id = ? AND status = 'pending'",
            status, now, userID, invitationID) == 1
    }

    func invitation(tokenHash: String, on db: Connection) throws -> InvitationRecord? {
        try db.queryOne("SELECT \(Self.invitationColumns) FROM invitations i WHERE i.token_hash = ?", tokenHash)
            .map { try Self.invitation($0) }
    }

    func invitation(publicID: String, on db: Connection) throws -> InvitationRecord? {
        try db.queryOne("SELECT \(Self.invitationColumns) FROM invitations i WHERE i.public_id = ?", publicID)
            .map { try Self.invitation($0) }
    }

    func invitation(publicID: String, organizationID: Int64, on db: Connection) throws -> InvitationRecord? {
        try db.queryOne("SELECT \(Self.invitationColumns) FROM invitations i WHERE i.public_id = ? AND i.organization_id = ?",
                        publicID, organizationID).map { try Self.invitation($0) }
    }

    /// The organization's pending invitation (live or expired) for an address; there is at
    /// most one, since inviting the address again refreshes it.
    func pendingInvitation(organizationID: Int64, email: String, on db: Connection) throws -> InvitationRecord? {
        try db.queryOne(
            """
            SELECT \(Self.invitationColumns) FROM invitations i
            WHERE i.organization_id = ? AND i.email = ? AND i.status = 'pending' ORDER BY i.id DESC LIMIT 1
            """, organizationID, email).map { try Self.invitation($0) }
    }

    /// Live invitations for an address to active organizations, oldest first.
    func liveInvitations(email: String, now: Int64, on db: Connection) throws -> [InvitationRecord] {
        try db.query(
            """
            SELECT \(Self.invitationColumns) FROM invitations i JOIN organizations o ON o.id = i.organization_id
            WHERE i.email = ? AND i.status = 'pending' AND i.expires_at > ? AND o.status = 'active'
            ORDER BY i.id
            """, email, now).map { try Self.invitation($0) }
    }

    /// The organization's invitations: pending ones first, then the rest, newest first.
    func invitations(organizationID: Int64, limit: Int = 200, on db: Connection) throws -> [InvitationRow] {
        try db.query(
            """
            SELECT \(Self.invitationColumns), u.name FROM invitations i LEFT JOIN users u ON u.id = i.invited_by
            WHERE i.organization_id = ?
            ORDER BY i.status != 'pending', i.sent_at DESC, i.id DESC LIMIT ?
            """, organizationID, limit
        ).map { InvitationRow(invitation: try Self.invitation($0), sentBy: try $0.optionalString(14)) }
    }

    // MARK: invitation mails sent (the daily caps count these rows, not the audit log)

    /// Records one invitation mail (new or resent) to `email`, counted by its lower-cased address.
    func recordSend(organizationID: Int64, email: String, now: Int64, on db: Connection) throws {
        try db.execute("INSERT INTO invitation_sends (organization_id, email_key, sent_at) VALUES (?, ?, ?)",
                       organizationID, Team.addressKey(email), now)
    }

    /// Invitation mails the organization sent since `since`.
    func sendsCount(organizationID: Int64, since: Int64, on db: Connection) throws -> Int {
        try db.scalar("SELECT count(*) FROM invitation_sends WHERE organization_id = ? AND sent_at > ?", organizationID, since, as: Int.self) ?? 0
    }

    /// Invitation mails any organization sent to `email` (whatever its case) since `since`.
    func sendsCount(to email: String, since: Int64, on db: Connection) throws -> Int {
        try db.scalar("SELECT count(*) FROM invitation_sends WHERE email_key = ? AND sent_at > ?", Team.addressKey(email), since, as: Int.self) ?? 0
    }

    /// Revokes the organization's pending invitations; returns how many.
    func revokePendingInvitations(organizationID: Int64, now: Int64, on db: Connection) throws -> Int {
        try db.execute(
            "UPDATE invitations SET status = 'revoked', responded_at = ? WHERE organization_id = ? AND status = 'pending'",
            now, organizationID)
    }

    func pendingInvitationCount(organizationID: Int64, on db: Connection) throws -> Int {
        try db.scalar("SELECT count(*) FROM invitations WHERE organization_id = ? AND status = 'pending'", organizationID, as: Int.self) ?? 0
    }
}
