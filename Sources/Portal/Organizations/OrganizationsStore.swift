import Database

struct OrganizationRecord: Sendable {
    let id: Int64
    let publicID: String
    let legalName: String
    let tradingName: String
    let country: String
    let registrationNumber: String
    let address: String
    let website: String
    let industry: String
    let complianceEmail: String
    let status: String
    let productionEnabledAt: Int64?
    let createdAt: Int64
    let closedAt: Int64?
    /// The IANA zone its months and report times are in (`UTC` until the Owner sets one).
    let timeZone: String

    /// The name people know it by.
    var displayName: String { tradingName.isEmpty ? legalName : tradingName }
    var isActive: Bool { status == "active" }
    var hasProduction: Bool { productionEnabledAt != nil }

    /// The reviewable fields, by form name, as change requests and audit details name them.
    var details: [String: String] {
        ["legal_name": legalName, "trading_name": tradingName, "country": country, "registration_number": registrationNumber,
         "address": address, "website": website, "industry": industry, "compliance_email": complianceEmail]
    }
}

struct MembershipRecord: Sendable {
    let id: Int64
    let publicID: String
    let organizationID: Int64
    let userID: Int64
    let role: Role
    let permissions: Set<Permission>
    let status: String
    let version: Int64
    let lastActiveAt: Int64?
    let createdAt: Int64

    /// The columns ``decode(_:offset:)`` reads, for `memberships m` (Team's store reads them too).
    static let columns = """
        m.id, m.public_id, m.organization_id, m.user_id, m.role, m.permissions, m.status, m.version, m.last_active_at, m.created_at
        """

    static func decode(_ r: some RowReading, offset o: Int = 0) throws -> MembershipRecord {
        MembershipRecord(
            id: try r.int64(o), publicID: try r.string(o + 1), organizationID: try r.int64(o + 2), userID: try r.int64(o + 3),
            role: Role(rawValue: try r.string(o + 4)) ?? .custom, permissions: Permission.parse(stored: try r.string(o + 5)),
            status: try r.string(o + 6), version: try r.int64(o + 7), lastActiveAt: try r.optionalInt64(o + 8),
            createdAt: try r.int64(o + 9))
    }

    var isActive: Bool { status == "active" }
    /// What the member may do: the Owner everything, whatever is stored; a Developer never a
    /// payout permission, whatever is stored (the role must change first). The rule is
    /// ``holds(_:)``'s.
    var effectivePermissions: Set<Permission> {
        role == .owner ? Permission.all : Set(permissions.filter(holds))
    }

    /// Whether the member holds `p`: asked a dozen times on every organization page (the
    /// bar's sections), so without making a set.
    func holds(_ p: Permission) -> Bool {
        switch role {
        case .owner: true
        case .developer: p != .payoutsCreate && p != .payoutsAuthorize && permissions.contains(p)
        default: permissions.contains(p)
        }
    }
}

/// A member with the user's name and address, as team pages list them.
struct MemberRow: Sendable {
    let member: MembershipRecord
    let name: String
    let email: String
    let mfaEnabled: Bool
}

/// The SQL for organizations and memberships.
struct OrganizationsStore {
    static let orgColumns = """
        o.id, o.public_id, o.legal_name, o.trading_name, o.country, o.registration_number, o.address, o.website,
        o.industry, o.compliance_email, o.status, o.production_enabled_at, o.created_at, o.closed_at, o.time_zone
        """
    static let orgColumnCount = 15
    static func organization(_ r: some RowReading, offset o: Int = 0) throws -> OrganizationRecord {
        OrganizationRecord(
            id: try r.int64(o), publicID: try r.string(o + 1), legalName: try r.string(o + 2), tradingName: try r.string(o + 3),
            country: try r.string(o + 4), registrationNumber: try r.string(o + 5), address: try r.string(o + 6),
            website: try r.string(o + 7), industry: try r.string(o + 8), complianceEmail: try r.string(o + 9),
            status: try r.string(o + 10), productionEnabledAt: try r.optionalInt64(o + 11), createdAt: try r.int64(o + 12),
            closedAt: try r.optionalInt64(o + 13), timeZone: try r.string(o + 14))
    }

    // MARK: organizations

    func insertOrganization(publicID: String, details d: [String: String], createdBy: Int64, now: Int64, on db: Connection) throws -> Int64 {
        try db.scalar(
            """
            INSERT INTO organizations (public_id, legal_name, trading_name, country, registration_number, address, website,
                                       industry, compliance_email, created_by, created_at, updated_at)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id
            """, publicID, d["legal_name"] ?? "", d["trading_name"] ?? "", d["country"] ?? "", d["registration_number"] ?? "",
            d["address"] ?? "", d["website"] ?? "", d["industry"] ?? "", d["compliance_email"] ?? "", createdBy, now, now, as: Int64.self)!
    }

    func organization(id: Int64, on db: Connection) throws -> OrganizationRecord? {
        try db.queryOne("SELECT \(Self.orgColumns) FROM organizations o WHERE o.id = ?", id).map { try Self.organization($0) }
    }

    func organization(publicID: String, on db: Connection) throws -> OrganizationRecord? {
        try db.queryOne("SELECT \(Self.orgColumns) FROM organizations o WHERE o.public_id = ?", publicID).map { try Self.organization($0) }
    }

    /// Applies reviewed changes to the organization's details (`changes` keys are the
    /// columns of ``OrganizationRecord/details``; anything else is ignored).
    func updateDetails(organizationID: Int64, changes: [String: String], now: Int64, on db: Connection) throws {
        let allowed = ["legal_name", "trading_name", "country", "registration_number", "address", "website", "industry", "compliance_email"]
        for column in allowed {
            guard let value = changes[column] else { continue }
            // `column` comes from the fixed list above, never from input.
            try db.execute("UPDATE organizations SET \(column) = ?, updated_at = ? WHERE id = ?", value, now, organizationID)
        }
    }

    func setTimeZone(organizationID: Int64, zone: String, now: Int64, on db: Connection) throws {
        try db.execute("UPDATE organizations SET time_zone = ?, updated_at = ? WHERE id = ?", zone, now, organizationID)
    }

    func close(organizationID: Int64, now: Int64, on db: Connection) throws {
        try db.execute("UPDATE organizations SET status = 'closed', closed_at = ?, updated_at = ? WHERE id = ?", now, now, organizationID)
    }

    func enableProduction(organizationID: Int64, now: Int64, on db: Connection) throws {
        try db.execute(
            "UPDATE organizations SET production_enabled_at = coalesce(production_enabled_at, ?), updated_at = ? WHERE id = ?",
            now, now, organizationID)
    }

    // MARK: memberships

    func insertMembership(publicID: String, organizationID: Int64, userID: Int64, role: Role, permissions: Set<Permission>,
                          now: Int64, on db: Connection) throws -> Int64 {
        try db.scalar(
            """
            INSERT INTO memberships (public_id, organization_id, user_id, role, permissions, created_at, updated_at)
            VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING id
            """, publicID, organizationID, userID, role.rawValue, Permission.store(permissions), now, now, as: Int64.self)!
    }

    /// The organization and the user's membership in it, whatever their status.
    func access(userID: Int64, organizationPublicID: String, on db: Connection) throws -> (OrganizationRecord, MembershipRecord)? {
        try db.queryOne(
            """
            SELECT \(Self.orgColumns), \(MembershipRecord.columns)
            FROM organizations o JOIN memberships m ON m.organization_id = o.id
            WHERE o.public_id = ? AND m.user_id = ?
            """, organizationPublicID, userID
        ).map { (try Self.organization($0), try MembershipRecord.decode($0, offset: Self.orgColumnCount)) }
    }

    /// `organizations(forUser:)` and the user's membership of `organizationPublicID` (whatever
    /// its status, last in the list when it is not among them), in one statement: what every
    /// organization page needs for its bar and its access check.
    func organizationsAndAccess(userID: Int64, organizationPublicID: String, on db: Connection) throws -> [(OrganizationRecord, MembershipRecord)] {
        try db.query(
            """
            SELECT \(Self.orgColumns), \(MembershipRecord.columns)
            FROM memberships m JOIN organizations o ON o.id = m.organization_id
            WHERE m.user_id = ? AND ((m.status = 'active' AND o.status = 'active') OR o.public_id = ?)
            ORDER BY m.status <> 'active' OR o.status <> 'active',
                     CASE WHEN o.trading_name = '' THEN o.legal_name ELSE o.trading_name END COLLATE NOCASE, o.id
            """, userID, organizationPublicID
        ).map { (try Self.organization($0), try MembershipRecord.decode($0, offset: Self.orgColumnCount)) }
    }

    /// The active organizations where the user is an active member, by name.
    func organizations(forUser userID: Int64, on db: Connection) throws -> [(OrganizationRecord, MembershipRecord)] {
        try db.query(
            """
            SELECT \(Self.orgColumns), \(MembershipRecord.columns)
            FROM memberships m JOIN organizations o ON o.id = m.organization_id
            WHERE m.user_id = ? AND m.status = 'active' AND o.status = 'active'
            ORDER BY CASE WHEN o.trading_name = '' THEN o.legal_name ELSE o.trading_name END COLLATE NOCASE, o.id
            """, userID
        ).map { (try Self.organization($0), try MembershipRecord.decode($0, offset: Self.orgColumnCount)) }
    }

    /// Every member of the organization (active and disabled), Owner first, then by name.
    func members(organizationID: Int64, on db: Connection) throws -> [MemberRow] {
        try db.query(
            """
            SELECT \(MembershipRecord.columns), u.name, u.email, u.totp_enabled_at IS NOT NULL
            FROM memberships m JOIN users u ON u.id = m.user_id
            WHERE m.organization_id = ?
            ORDER BY m.role != 'owner', u.name COLLATE NOCASE, m.id
            """, organizationID
        ).map { MemberRow(member: try MembershipRecord.decode($0), name: try $0.string(10), email: try $0.string(11), mfaEnabled: try $0.bool(12)) }
    }

    func activeMemberCount(organizationID: Int64, on db: Connection) throws -> Int {
        try db.scalar("SELECT count(*) FROM memberships WHERE organization_id = ? AND status = 'active'", organizationID, as: Int.self) ?? 0
    }

    /// How many organizations the user owns.
    func ownedCount(userID: Int64, on db: Connection) throws -> Int {
        try db.scalar("SELECT count(*) FROM memberships WHERE user_id = ? AND role = 'owner'", userID, as: Int.self) ?? 0
    }

    func touchMembership(id: Int64, now: Int64, on db: Connection) throws {
        try db.execute("UPDATE memberships SET last_active_at = ? WHERE id = ?", now, id)
    }

    func membership(publicID: String, organizationID: Int64, on db: Connection) throws -> MembershipRecord? {
        try db.queryOne("SELECT \(MembershipRecord.columns) FROM memberships m WHERE m.public_id = ? AND m.organization_id = ?",
                        publicID, organizationID).map { try MembershipRecord.decode($0) }
    }

    func owner(organizationID: Int64, on db: Connection) throws -> MembershipRecord? {
        try db.queryOne("SELECT \(MembershipRecord.columns) FROM memberships m WHERE m.organization_id = ? AND m.role = 'owner'",
                        organizationID).map { try MembershipRecord.decode($0) }
    }

    /// Changes a member's role and permissions only if nobody changed them since `version`;
    /// false means someone did (or the member is gone).
    func updateMembership(id: Int64, role: Role, permissions: Set<Permission>, expectedVersion: Int64, now: Int64,
                          on db: Connection) throws -> Bool {
        try db.execute(
            """
            UPDATE memberships SET role = ?, permissions = ?, version = version + 1, updated_at = ?
            WHERE id = ? AND version = ?
            """, role.rawValue, Permission.store(permissions), now, id, expectedVersion) == 1
    }

    /// Moves ownership: the Owner becomes Admin first (one Owner at a time, by index).
    func transferOwnership(from oldOwner: MembershipRecord, to newOwner: MembershipRecord, now: Int64, on db: Connection) throws -> Bool {
        let admin = Permission.store(Role.admin.preset ?? [])
        let all = Permission.store(Set(Permission.allCases))
        guard try db.execute(
            "UPDATE memberships SET role = 'admin', permissions = ?, version = version + 1, updated_at = ? WHERE id = ? AND role = 'owner'",
            admin, now, oldOwner.id) == 1 else { return false }
        return try db.execute(
            """
            UPDATE memberships SET role = 'owner', permissions = ?, version = version + 1, updated_at = ?
            WHERE id = ? AND version = ? AND status = 'active'
            """, all, now, newOwner.id, newOwner.version) == 1
    }

    // MARK: the membership changes the team pages make

    /// The member with the user's name and address, in this organization only.
    func member(publicID: String, organizationID: Int64, on db: Connection) throws -> MemberRow? {
        try db.queryOne(
            """
            SELECT \(MembershipRecord.columns), u.name, u.email, u.totp_enabled_at IS NOT NULL
            FROM memberships m JOIN users u ON u.id = m.user_id
            WHERE m.public_id = ? AND m.organization_id = ?
            """, publicID, organizationID
        ).map { MemberRow(member: try MembershipRecord.decode($0), name: try $0.string(10), email: try $0.string(11), mfaEnabled: try $0.bool(12)) }
    }

    func membership(userID: Int64, organizationID: Int64, on db: Connection) throws -> MembershipRecord? {
        try db.queryOne("SELECT \(MembershipRecord.columns) FROM memberships m WHERE m.user_id = ? AND m.organization_id = ?",
                        userID, organizationID).map { try MembershipRecord.decode($0) }
    }

    /// Sets a member's status (never the Owner's); false if nothing changed.
    func setStatus(membershipID: Int64, status: String, now: Int64, on db: Connection) throws -> Bool {
        try db.execute(
            """
            UPDATE memberships SET status = ?, version = version + 1, updated_at = ?
            WHERE id = ? AND status != ? AND role != 'owner'
            """, status, now, membershipID, status) == 1
    }

    /// Removes a member (never the Owner); false if already gone.
    func delete(membershipID: Int64, on db: Connection) throws -> Bool {
        try db.execute("DELETE FROM memberships WHERE id = ? AND role != 'owner'", membershipID) == 1
    }
}
