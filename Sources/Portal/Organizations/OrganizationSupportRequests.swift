import Database

extension SupportRequestRecord.Kind {
    static let orgDetails = Self("org_details", title: "Change organization details", phrase: "the change of details",
                                 filed: OrganizationsAuditEvents.requestedDetails)
    static let orgName = Self("org_name", title: "Change organization name", phrase: "the name change",
                              filed: OrganizationsAuditEvents.requestedName)
    static let offboarding = Self("offboarding", title: "Offboarding", phrase: "the request to close the organization",
                                  filed: OrganizationsAuditEvents.requestedOffboarding)
    static let productionAccess = Self("production_access", title: "Production access", phrase: "Production access",
                                       environment: Environment.production.rawValue, filed: OrganizationsAuditEvents.requestedProduction)
}

/// What every organization request needs before approval: the organization, still active,
/// and a requester who is still its Owner (one who handed it on no longer speaks for it).
func checkOrganizationRequest(_ c: SupportCase, on db: Connection) throws -> OrganizationRecord {
    guard let org = c.organization else { throw SupportProblem.conflict("The organization of this request no longer exists. Reject the request.") }
    guard org.isActive else {
        throw SupportProblem.conflict("\(org.displayName) was closed, so this request can no longer be approved. Reject it with a reason.")
    }
    guard let owner = try c.organizations.owner(organizationID: org.id, on: db), owner.isActive, owner.userID == c.request.userID else {
        throw SupportProblem.conflict("\(c.request.email) is no longer the Owner of \(org.displayName), so this request can no longer be approved. Reject it; the current Owner can ask again.")
    }
    return org
}

private func settingsOutcome(_ c: SupportCase, approved: Bool, _ what: String) -> SupportOutcome {
    // A closed organization's settings are a 404 to everyone: point to the list instead.
    guard let org = c.organization, org.isActive else {
        return SupportOutcome(what: approved ? what : "Nothing was changed.", path: "/orgs", linkText: "Your organizations")
    }
    return SupportOutcome(what: approved ? what : "Nothing was changed.", path: "/orgs/\(org.publicID)/settings", linkText: "Your organization's settings")
}

/// New details or a new name, proposed by the Owner: the proposed values are checked again
/// with today's rules when approved.
struct OrgChangeRequest: SupportRequestKind {
    /// ``SupportRequestRecord/Kind/orgDetails`` or ``SupportRequestRecord/Kind/orgName``.
    let kind: SupportRequestRecord.Kind
    var isName: Bool { kind == .orgName }

    var fields: [String] { isName ? Organizations.nameFields : Organizations.detailFields.filter { !Organizations.nameFields.contains($0) } }

    func review(_ c: SupportCase, on db: Connection) throws -> (changes: [SupportChange], consequences: [String]) {
        let current = c.organization?.details ?? [:]
        let r = c.request
        return (Organizations.detailFields.filter { r.changes[$0] != nil }.map { f in
            SupportChange(label: Organizations.fieldTitles[f] ?? f, before: c.organizations.display(f, current[f] ?? ""),
                          after: c.organizations.display(f, r.changes[f] ?? ""))
        }, [])
    }

    func check(_ c: SupportCase, on db: Connection) throws { _ = try checkOrganizationRequest(c, on: db) }

    func apply(_ c: SupportCase, by actor: Actor, now: Int64, on db: Connection) throws {
        guard let org = c.organization else { throw SupportProblem.conflict("The organization no longer exists.") }
        let proposed = c.request.changes.filter { fields.contains($0.key) }
        let clean: [String: String]
        do { clean = try c.organizations.validate(proposed, fields: fields.filter { proposed[$0] != nil }) } catch OrgProblem.invalid(let e) {
            throw SupportProblem.conflict("The proposed values are not valid any more (\(e.sorted { $0.key < $1.key }.map(\.value).joined(separator: " "))). Reject the request.")
        }
        let current = org.details
        let differing = clean.filter { current[$0.key] != $0.value }
        try c.organizations.updateDetails(organizationID: org.id, changes: differing, now: now, on: db)
        var details = AuditDetails()
        for f in Organizations.detailFields { if let v = differing[f] { details[f] = .change(before: current[f] ?? "", after: v) } }
        if differing.isEmpty { details["note"] = .text("no change: the details were already as requested") }
        details["request"] = .text(c.request.publicID)
        try c.audit.record(isName ? OrganizationsAuditEvents.nameChanged : OrganizationsAuditEvents.detailsChanged, by: actor,
                           organization: org.id, subject: differing["legal_name"] ?? org.legalName, details: details, on: db)
    }

    func outcome(_ c: SupportCase, approved: Bool) -> SupportOutcome {
        settingsOutcome(c, approved: approved, isName ? "The organization's name is updated." : "The organization's details are updated.")
    }
}

/// The Owner asks to close the organization for good.
struct OffboardingRequest: SupportRequestKind {
    var kind: SupportRequestRecord.Kind { .offboarding }
    var closesOrganization: Bool { true }

    func review(_ c: SupportCase, on db: Connection) throws -> (changes: [SupportChange], consequences: [String]) {
        let changes = [SupportChange(label: "Status", before: c.organization?.status ?? "—", after: "closed")]
        guard let org = c.organization, c.request.isOpen else { return (changes, []) }
        let members = try c.organizations.activeMemberCount(organizationID: org.id, on: db)
        let invitations = try Team.pendingInvitationCount(organizationID: org.id, on: db)
        let others = try c.organizations.supportQueue.openRequests(organizationID: org.id, on: db).filter { $0.id != c.request.id }
        return (changes, [
            "\(members) active \(members == 1 ? "member loses" : "members lose") access to \(org.displayName) at once.",
            "\(invitations) pending \(invitations == 1 ? "invitation is" : "invitations are") revoked.",
        ] + (others.isEmpty ? [] : [
            "The organization's other open \(others.count == 1 ? "request" : "requests") (\(others.map(\.kind.title).joined(separator: ", "))) \(others.count == 1 ? "is" : "are") refused, and the requester told why.",
        ]) + [
            "The organization leaves every member's list. This cannot be undone.",
        ])
    }

    func check(_ c: SupportCase, on db: Connection) throws { _ = try checkOrganizationRequest(c, on: db) }

    func apply(_ c: SupportCase, by actor: Actor, now: Int64, on db: Connection) throws {
        guard let org = c.organization else { throw SupportProblem.conflict("The organization no longer exists.") }
        let members = try c.organizations.activeMemberCount(organizationID: org.id, on: db)
        let revoked = try c.organizations.close(organizationID: org.id, now: now, on: db)
        try c.audit.record(OrganizationsAuditEvents.closed, by: actor, organization: org.id, subject: org.legalName,
                           details: ["status": .change(before: "active", after: "closed"), "members_lost_access": .text("\(members)"),
                                     "invitations_revoked": .text("\(revoked)"), "request": .text(c.request.publicID)], on: db)
    }

    func outcome(_ c: SupportCase, approved: Bool) -> SupportOutcome {
        approved ? SupportOutcome(what: "The organization is closed: its members no longer have access to it.", path: "/orgs", linkText: "Your organizations")
            : settingsOutcome(c, approved: false, "")
    }
}

/// The Owner asks for Production; support checks the compliance details first.
struct ProductionAccessRequest: SupportRequestKind {
    var kind: SupportRequestRecord.Kind { .productionAccess }

    func review(_ c: SupportCase, on db: Connection) throws -> (changes: [SupportChange], consequences: [String]) {
        ([SupportChange(label: "Production", before: c.organization?.hasProduction == true ? "enabled" : "not enabled", after: "enabled")],
         c.request.isOpen ? ["Check the compliance details below before approving."] : [])
    }

    func check(_ c: SupportCase, on db: Connection) throws { _ = try checkOrganizationRequest(c, on: db) }

    func apply(_ c: SupportCase, by actor: Actor, now: Int64, on db: Connection) throws {
        guard let org = c.organization else { throw SupportProblem.conflict("The organization no longer exists.") }
        try c.organizations.enableProduction(organizationID: org.id, now: now, on: db)
        try c.audit.record(OrganizationsAuditEvents.productionEnabled, by: actor, organization: org.id, environment: Environment.production.rawValue,
                           subject: org.legalName,
                           details: ["production": org.hasProduction ? .text("already enabled") : .change(before: "not enabled", after: "enabled"),
                                     "request": .text(c.request.publicID)], on: db)
    }

    func outcome(_ c: SupportCase, approved: Bool) -> SupportOutcome {
        settingsOutcome(c, approved: approved, "Production is now enabled for the organization.")
    }
}
