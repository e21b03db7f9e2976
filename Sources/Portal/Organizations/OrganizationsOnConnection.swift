import Database

/// What other features ask of Organizations, inside their own transactions (`on db:`). The
/// organizations and memberships tables are Organizations' alone: Team and Support read and
/// change them only through here.
extension Organizations {
    func organization(id: Int64, on db: Connection) throws -> OrganizationRecord? { try store.organization(id: id, on: db) }

    func owner(organizationID: Int64, on db: Connection) throws -> MembershipRecord? { try store.owner(organizationID: organizationID, on: db) }

    /// Every member (active and disabled), Owner first, then by name.
    func members(organizationID: Int64, on db: Connection) throws -> [MemberRow] { try store.members(organizationID: organizationID, on: db) }

    func membership(publicID: String, organizationID: Int64, on db: Connection) throws -> MembershipRecord? {
        try store.membership(publicID: publicID, organizationID: organizationID, on: db)
    }

    func activeMemberCount(organizationID: Int64, on db: Connection) throws -> Int {
        try store.activeMemberCount(organizationID: organizationID, on: db)
    }

    /// Makes the user a member (an accepted invitation); returns the membership's row id.
    @discardableResult
    func addMember(organizationID: Int64, userID: Int64, role: Role, permissions: Set<Permission>, now: Int64, on db: Connection) throws -> Int64 {
        try store.insertMembership(publicID: PublicID.make("mem"), organizationID: organizationID, userID: userID, role: role,
                                   permissions: permissions, now: now, on: db)
    }

    /// Changes a member's role and permissions only if nobody changed them since `version`.
    func updateMembership(id: Int64, role: Role, permissions: Set<Permission>, expectedVersion: Int64, now: Int64, on db: Connection) throws -> Bool {
        try store.updateMembership(id: id, role: role, permissions: permissions, expectedVersion: expectedVersion, now: now, on: db)
    }

    /// Applies reviewed changes to the details.
    func updateDetails(organizationID: Int64, changes: [String: String], now: Int64, on db: Connection) throws {
        try store.updateDetails(organizationID: organizationID, changes: changes, now: now, on: db)
    }

    /// Everything closing an organization does, in the caller's transaction: the
    /// organization is closed (``OrgGate`` refuses every member from the next request on, so
    /// their sessions for it end) and its pending invitations are revoked. Returns how many
    /// invitations were revoked. Revoking the organization's API keys and app credentials
    /// belongs here too, once those exist.
    @discardableResult
    func close(organizationID: Int64, now: Int64, on db: Connection) throws -> Int {
        try store.close(organizationID: organizationID, now: now, on: db)
        return try Team.revokePendingInvitations(organizationID: organizationID, now: now, on: db)
    }

    func enableProduction(organizationID: Int64, now: Int64, on db: Connection) throws {
        try store.enableProduction(organizationID: organizationID, now: now, on: db)
    }

    /// Creates an organization from checked details with `ownerID` as its Owner, audited;
    /// returns its row id and public id.
    func createOwned(details: [String: String], ownerID: Int64, by actor: Actor, now: Int64, on db: Connection) throws -> (id: Int64, publicID: String) {
        let publicID = PublicID.make("org")
        let orgID = try store.insertOrganization(publicID: publicID, details: details, createdBy: ownerID, now: now, on: db)
        _ = try store.insertMembership(publicID: PublicID.make("mem"), organizationID: orgID, userID: ownerID, role: .owner,
                                       permissions: Set(Permission.allCases), now: now, on: db)
        try audit.record(OrganizationsAuditEvents.created, by: actor, organization: orgID, subject: details["legal_name"] ?? "",
                         details: AuditDetails(details, order: Self.detailFields), on: db)
        return (orgID, publicID)
    }

    /// The member with the user's name and address, in this organization only.
    func member(publicID: String, organizationID: Int64, on db: Connection) throws -> MemberRow? {
        try store.member(publicID: publicID, organizationID: organizationID, on: db)
    }

    /// The user's membership in the organization, whatever its status.
    func membership(userID: Int64, organizationID: Int64, on db: Connection) throws -> MembershipRecord? {
        try store.membership(userID: userID, organizationID: organizationID, on: db)
    }

    /// Disables or enables a member (never the Owner); false if nothing changed.
    func setMemberStatus(membershipID: Int64, active: Bool, now: Int64, on db: Connection) throws -> Bool {
        try store.setStatus(membershipID: membershipID, status: active ? "active" : "disabled", now: now, on: db)
    }

    /// Removes a member (never the Owner); false if already gone.
    func removeMember(membershipID: Int64, on db: Connection) throws -> Bool {
        try store.delete(membershipID: membershipID, on: db)
    }
}
