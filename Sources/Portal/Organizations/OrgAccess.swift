/// A member's way into one organization, found afresh on every request: the organization
/// (active), the membership (active) and the user. Services take it and check the permission
/// each action needs, so a disabled member or a removed permission stops at the next request.
///
/// A class: it is handed down every request (stored by the gate, read by each page and
/// service), and as a struct each hand-over copied three records, some forty references.
final class OrgAccess: Sendable {
    let org: OrganizationRecord
    let member: MembershipRecord
    let user: UserRecord

    init(org: OrganizationRecord, member: MembershipRecord, user: UserRecord) {
        self.org = org
        self.member = member
        self.user = user
    }

    var isOwner: Bool { member.role == .owner }
    var permissions: Set<Permission> { member.effectivePermissions }
    func can(_ p: Permission) -> Bool { member.holds(p) }

    /// Throws ``OrgProblem/forbidden`` unless the member holds `p`.
    func require(_ p: Permission) throws {
        guard can(p) else { throw OrgProblem.forbidden("Your role in \(org.displayName) does not include “\(p.title)”. Ask an administrator if you need it.") }
    }

    func requireOwner(_ what: String) throws {
        guard isOwner else { throw OrgProblem.forbidden("Only the Owner of \(org.displayName) can \(what).") }
    }
}
