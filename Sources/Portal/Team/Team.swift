import Database
import Foundation
import Logging
import Mail
import Security

/// The team: members, their roles and permissions, and invitations.
///
/// The rules, all checked here whatever the pages show: `roles.read` to see the team,
/// `roles.write` to change it; nobody grants a permission they do not hold; nobody changes,
/// disables or removes the Owner or themselves, or a member holding a permission they lack.
/// Invitations are bound to an address and an organization, valid 7 days, sent with a
/// single-use link whose token is stored hashed. Inviting an address that already has a
/// pending invitation in the organization refreshes that invitation (new role, new link,
/// new expiry; the old link stops working), so there is never more than one.
final class Team: Sendable {
    let organizations: Organizations
    let audit: Audit
    let store = TeamStore()

    static let invitationLifetime: Int64 = 7 * 24 * 3600
    /// Invitation mails (new and resent) one organization may send in a day.
    static let invitationsPerDay = 50
    /// Invitation mails one address may get in a day, from all organizations together.
    static let invitationsPerAddressPerDay = 5

    var database: Database { organizations.database }
    var accounts: Accounts { organizations.accounts }
    var mailer: Mailer { accounts.mailer }
    var clock: PortalClock { organizations.clock }

    init(organizations: Organizations) {
        self.organizations = organizations
        self.audit = Audit(clock: organizations.clock)
    }

    // MARK: - the team page

    func overview(_ access: OrgAccess) throws -> (members: [MemberRow], invitations: [InvitationRow]) {
        try access.require(.rolesRead)
        return try database.read { db in
            try db.transaction(.deferred) {
                (try organizations.members(organizationID: access.org.id, on: db), try store.invitations(organizationID: access.org.id, on: db))
            }
        }
    }

    /// Why `access` may not change, disable or remove `target` (nil when it may). The
    /// caller has already required `roles.write`.
    func refusal(_ access: OrgAccess, toManage target: MembershipRecord, name: String) -> String? {
        if target.role == .owner { return "Nobody can change, disable or remove the Owner of \(access.org.displayName)." }
        if target.id == access.member.id {
            return "You cannot change, disable or remove your own membership. Ask another administrator."
        }
        let beyond = target.effectivePermissions.subtracting(access.permissions)
        if !beyond.isEmpty {
            return "\(name) holds permissions you do not (\(Self.titles(beyond))), so only someone who holds them can change this member."
        }
        return nil
    }

    func mayManage(_ access: OrgAccess, _ target: MembershipRecord) -> Bool {
        access.can(.rolesWrite) && refusal(access, toManage: target, name: "") == nil
    }

    /// Whether `access` may resend or revoke an invitation: it may not carry more than they hold.
    func mayHandle(_ access: OrgAccess, _ invitation: InvitationRecord) -> Bool {
        access.can(.rolesWrite) && invitation.permissions.isSubset(of: access.permissions)
    }

    /// The role and permissions a form asks for, if `access` may grant them: a preset gives
    /// exactly its permissions (ticked boxes are ignored), Custom the ticked ones.
    func grant(role raw: String, chosen: [String], by access: OrgAccess) throws -> (Role, Set<Permission>) {
        guard let role = Role(rawValue: raw), Role.assignable.contains(role) else {
            throw OrgProblem.invalid(["role": "Choose a role."])
        }
        let permissions = role.permissions(chosen: Permission.parse(chosen))
        // A Custom role with nothing ticked is almost always a slip (the boxes were left as they
        // were): say so rather than make a member who can open only the Dashboard.
        if role == .custom && permissions.isEmpty {
            throw OrgProblem.invalid(["permissions": "Tick at least one permission for a Custom role, or choose another role."])
        }
        // Developers never move money: no preset or stored list may give a Developer a payout
        // permission (the Developer preset has none; this keeps it so if the presets change).
        if role == .developer && !permissions.isDisjoint(with: Permission.payouts) {
            throw OrgProblem.invalid(["role": "A Developer cannot create or authorize payouts. Choose another role (Custom, Employee or Manager) to give payout permissions."])
        }
        let missing = permissions.subtracting(access.permissions)
        guard missing.isEmpty else {
            if role.preset != nil {
                throw OrgProblem.invalid(["role": "The \(role.title) role includes permissions you do not hold: \(Self.titles(missing)). "
                    + "Choose another role, or Custom with only permissions you hold."])
            }
            throw OrgProblem.invalid(["permissions": "You can only grant permissions you hold yourself. You do not hold: \(Self.titles(missing))."])
        }
        return (role, permissions)
    }

    // MARK: - inviting

    /// The invitation form is for members who may invite.
    func requireInvite(_ access: OrgAccess) throws { try access.require(.rolesWrite) }

    struct InviteInput {
        var name: String
        var email: String
        var role: String
        var permissions: [String]
    }

    /// Invites someone (or refreshes their pending invitation) and mails them the link.
    @discardableResult
    func invite(_ access: OrgAccess, _ input: InviteInput, actor: Actor) throws -> String {
        try access.require(.rolesWrite)
        let name = input.name.trimmingCharacters(in: .whitespacesAndNewlines)
        let email = Accounts.normalizeEmail(input.email)
        var errors: [String: String] = [:]
        if name.isEmpty { errors["name"] = "Enter the person's name." } else if let p = TextField.personName.problem(name) { errors["name"] = p }
        // The address is someone else's: not "Enter your e-mail address".
        if let p = EmailField.problem(email, empty: "Enter the e-mail address to send the invitation to.") { errors["email"] = p }
        var granted: (Role, Set<Permission>)?
        do { granted = try grant(role: input.role, chosen: input.permissions, by: access) } catch OrgProblem.invalid(let e) { errors.merge(e) { a, _ in a } }
        guard errors.isEmpty, let (role, permissions) = granted else { throw OrgProblem.invalid(errors) }

        let now = clock.now()
        let token = SecureRandom.token(bytes: 32)
        return try database.write { db -> String in
            try checkDailyLimit(access, email: email, now: now, on: db)
            // A staff address is answered like any other (the form must not reveal who the
            // operator's staff are), but no mail goes out: staff can never join.
            var mail = true
            if let user = try accounts.user(email: email, on: db) {
                mail = !user.isStaff
                if let m = try organizations.membership(userID: user.id, organizationID: access.org.id, on: db) {
                    throw OrgProblem.invalid(["email": m.isActive
                        ? "\(email) is already a member of \(access.org.displayName)."
                        : "\(email) is a member whose access is disabled. Enable them on the team page instead."])
                }
            }
            let publicID: String
            var details = TeamAuditEvents.details(role, permissions)
            if let existing = try store.pendingInvitation(organizationID: access.org.id, email: email, on: db) {
                guard mayHandle(access, existing) else {
                    throw OrgProblem.invalid(["email": "\(email) already has a pending invitation with permissions you do not hold. Someone who holds them can change it."])
                }
                guard try store.refreshInvitation(id: existing.id, name: name, role: role, permissions: permissions, tokenHash: Sessions.hash(token),
                                                  invitedBy: access.user.id, now: now, expiresAt: now + Self.invitationLifetime, on: db)
                else { throw OrgProblem.conflict("The invitation changed meanwhile. Check the team page.") }
                publicID = existing.publicID
                details["replaces"] = .text("the pending invitation (\(Self.describe(existing.role, existing.permissions)))")
            } else {
                publicID = PublicID.make("inv")
                _ = try store.insertInvitation(publicID: publicID, organizationID: access.org.id, email: email, name: name, role: role,
                                               permissions: permissions, tokenHash: Sessions.hash(token), invitedBy: access.user.id,
                                               now: now, expiresAt: now + Self.invitationLifetime, on: db)
            }
            try store.recordSend(organizationID: access.org.id, email: email, now: now, on: db)
            try audit.record(TeamAuditEvents.invited, by: actor, organization: access.org.id, subject: email, details: details, on: db)
            if mail { try sendInvitation(to: email, name: name, role: role, permissions: permissions, token: token, access: access, now: now, on: db) }
            return publicID
        }
    }

    /// A new link and a new expiry for a pending (or expired) invitation; the old link dies.
    func resend(_ access: OrgAccess, invitation publicID: String, actor: Actor) throws -> InvitationRecord {
        try access.require(.rolesWrite)
        let now = clock.now()
        let token = SecureRandom.token(bytes: 32)
        return try database.write { db -> InvitationRecord in
            let inv = try handleable(access, publicID, now: now, on: db)
            try checkDailyLimit(access, email: inv.email, now: now, on: db)
            guard try store.refreshInvitation(id: inv.id, name: inv.name, role: inv.role, permissions: inv.permissions,
                                              tokenHash: Sessions.hash(token), invitedBy: access.user.id, now: now,
                                              expiresAt: now + Self.invitationLifetime, on: db)
            else { throw OrgProblem.conflict("The invitation changed meanwhile. Check the team page.") }
            try store.recordSend(organizationID: access.org.id, email: inv.email, now: now, on: db)
            var details = TeamAuditEvents.details(inv.role, inv.permissions)
            details["note"] = .text("new link valid 7 days")
            try audit.record(TeamAuditEvents.resent, by: actor, organization: access.org.id, subject: inv.email, details: details, on: db)
            try sendInvitation(to: inv.email, name: inv.name, role: inv.role, permissions: inv.permissions, token: token, access: access,
                               now: now, on: db)
            return inv
        }
    }

    func revoke(_ access: OrgAccess, invitation publicID: String, actor: Actor) throws -> InvitationRecord {
        try access.require(.rolesWrite)
        let now = clock.now()
        return try database.write { db -> InvitationRecord in
            let inv = try handleable(access, publicID, now: now, on: db)
            guard try store.respond(invitationID: inv.id, status: "revoked", userID: nil, now: now, on: db) else {
                throw OrgProblem.conflict("The invitation changed meanwhile. Check the team page.")
            }
            try audit.record(TeamAuditEvents.revoked, by: actor, organization: access.org.id, subject: inv.email,
                             details: TeamAuditEvents.details(inv.role, inv.permissions), on: db)
            return inv
        }
    }

    /// A pending (live or expired) invitation of this organization that `access` may resend or revoke.
    private func handleable(_ access: OrgAccess, _ publicID: String, now: Int64, on db: Connection) throws -> InvitationRecord {
        guard PublicID.isWellFormed(publicID, prefix: "inv"),
              let inv = try store.invitation(publicID: publicID, organizationID: access.org.id, on: db) else { throw OrgProblem.notFound }
        let state = inv.state(now: now)
        guard state == .pending || state == .expired else {
            throw OrgProblem.conflict("The invitation for \(inv.email) was \(state.rawValue) already. Invite them again if needed.")
        }
        guard mayHandle(access, inv) else {
            throw OrgProblem.forbidden("The invitation for \(inv.email) grants permissions you do not hold, so only someone who holds them can resend or revoke it.")
        }
        return inv
    }

    /// Invitations are mails to addresses a member chose: capped per organization and per
    /// address, resends included, so the portal cannot be made to flood a mailbox.
    private func checkDailyLimit(_ access: OrgAccess, email: String, now: Int64, on db: Connection) throws {
        let since = now - 24 * 3600
        if try store.sendsCount(organizationID: access.org.id, since: since, on: db) >= Self.invitationsPerDay {
            throw OrgProblem.invalid(["form": "\(access.org.displayName) has sent \(Self.invitationsPerDay) invitations in the last 24 hours, the most allowed. Try again tomorrow."])
        }
        if try store.sendsCount(to: email, since: since, on: db) >= Self.invitationsPerAddressPerDay {
            throw OrgProblem.invalid(["form": "\(email) has been sent \(Self.invitationsPerAddressPerDay) invitations in the last 24 hours. Try again tomorrow."])
        }
    }

    private func sendInvitation(to email: String, name: String, role: Role, permissions: Set<Permission>, token: String, access: OrgAccess,
                                now: Int64, on db: Connection) throws {
        let perms = permissions.sorted().map { ["title": $0.title, "explanation": $0.explanation] }
        try mailer.enqueue(
            template: "invitation", to: email, subject: Self.subject("\(access.user.name) invited you to \(access.org.displayName) on Portal"),
            context: [
                "name": name, "inviterName": access.user.name, "inviterEmail": access.user.email, "orgName": access.org.displayName,
                "role": role.title, "permissions": perms, "hasPermissions": !perms.isEmpty,
                "link": mailer.url(path: "/invitations/\(token)"),
                "expires": PageTime.full(now + Self.invitationLifetime, zone: "UTC"),
            ], on: db)
    }

    // MARK: - following the link

    /// The invitation a mailed link's token names, in whatever state it is.
    func open(token: String) throws -> InvitationView {
        guard token.utf8.count == 43 else { throw InvitationProblem.notFound }
        return try view { try store.invitation(tokenHash: Sessions.hash(token), on: $0) }
    }

    /// The invitation with this id, only if it is for the signed-in user's address.
    func open(publicID: String, user: UserRecord) throws -> InvitationView {
        guard PublicID.isWellFormed(publicID, prefix: "inv") else { throw InvitationProblem.notFound }
        let v = try view { try store.invitation(publicID: publicID, on: $0) }
        guard Self.sameAddress(v.invitation.email, user.email) else { throw InvitationProblem.notFound }
        return v
    }

    private func view(_ find: (Connection) throws -> InvitationRecord?) throws -> InvitationView {
        let now = clock.now()
        return try database.read { db in
            try db.transaction(.deferred) {
                guard let inv = try find(db), let org = try organizations.organization(id: inv.organizationID, on: db) else {
                    throw InvitationProblem.notFound
                }
                let inviter = try inv.invitedBy.flatMap { try accounts.user(id: $0, on: db) }
                return InvitationView(invitation: inv, org: org, inviterName: inviter?.name, state: inv.state(now: now),
                                      hasAccount: try accounts.user(email: inv.email, on: db) != nil)
            }
        }
    }

    /// Creates an account for the invited address through the link: the link proves the
    /// address, so the account is verified at once (no verification mail) and the new
    /// session goes on to TOTP enrolment. Returns the session cookie token.
    func signUp(token: String, name rawName: String, password: String, current: SessionRecord?, actor: Actor) throws -> String {
        let v = try open(token: token)
        guard v.isLive else { throw InvitationProblem.gone(v.org.isActive ? v.state : .revoked) }
        let email = v.invitation.email
        let name = rawName.trimmingCharacters(in: .whitespacesAndNewlines)
        // Throttled like the ordinary sign-up (a network may create a few accounts an hour),
        // counted the same way: first, in its own write.
        let now = clock.now()
        do { try Accounts.claimSignUp(network: actor.network, now: now, database: database) } catch Accounts.Problem.throttled { throw InvitationProblem.throttled }
        var errors: [String: String] = [:]
        if v.hasAccount { errors["email"] = "You already have an account with this address. Log in to accept the invitation." }
        if name.isEmpty { errors["name"] = "Enter your name." } else if let p = TextField.personName.problem(name) { errors["name"] = p }
        if let p = accounts.policy.check(password, context: [email, name])?.message { errors["password"] = p }
        guard errors.isEmpty else { throw InvitationProblem.invalid(errors) }

        let hash = try accounts.hashNew(password)
        return try database.write { db -> String in
            guard let inv = try store.invitation(tokenHash: Sessions.hash(token), on: db), inv.state(now: now) == .pending,
                  try organizations.organization(id: inv.organizationID, on: db)?.isActive == true
            else { throw InvitationProblem.gone(.revoked) }
            if try accounts.user(email: inv.email, on: db) != nil {
                throw InvitationProblem.invalid(["email": "You already have an account with this address. Log in to accept the invitation."])
            }
            // The link proved the address: the account is verified from the start.
            let userID = try accounts.createUser(email: inv.email, name: name, passwordHash: hash, verified: true, now: now, on: db)
            let who = actor.with(userID: userID)
            try audit.record(AccountsAuditEvents.signup, by: who, subject: inv.email, details: ["invitation": .text(inv.publicID)], on: db)
            try audit.record(AccountsAuditEvents.emailVerified, by: who, subject: inv.email, details: ["note": .text("by invitation link")], on: db)
            return try accounts.sessions.start(userID: userID, stage: .enrol, ip: actor.ip, userAgent: actor.userAgent,
                                               replacing: current, on: db).token
        }
    }

    /// Joins the organization with the invitation's role and permissions.
    func accept(publicID: String, user: UserRecord, actor: Actor) throws -> OrganizationRecord {
        let now = clock.now()
        return try database.write { db -> OrganizationRecord in
            let (inv, org) = try answerable(publicID, user: user, now: now, on: db)
            if try organizations.membership(userID: user.id, organizationID: org.id, on: db) != nil {
                throw InvitationProblem.refused("You are already a member of \(org.displayName).")
            }
            guard try store.respond(invitationID: inv.id, status: "accepted", userID: user.id, now: now, on: db) else {
                throw InvitationProblem.gone(.accepted)
            }
            try organizations.addMember(organizationID: org.id, userID: user.id, role: inv.role, permissions: inv.permissions, now: now, on: db)
            try audit.record(TeamAuditEvents.accepted, by: actor, organization: org.id, subject: inv.email,
                             details: TeamAuditEvents.details(inv.role, inv.permissions), on: db)
            return org
        }
    }

    func decline(publicID: String, user: UserRecord, actor: Actor) throws -> OrganizationRecord {
        let now = clock.now()
        return try database.write { db -> OrganizationRecord in
            let (inv, org) = try answerable(publicID, user: user, now: now, on: db)
            guard try store.respond(invitationID: inv.id, status: "declined", userID: nil, now: now, on: db) else {
                throw InvitationProblem.gone(.declined)
            }
            try audit.record(TeamAuditEvents.declined, by: actor, organization: org.id, subject: inv.email,
                             details: TeamAuditEvents.details(inv.role, inv.permissions), on: db)
            return org
        }
    }

    private func answerable(_ publicID: String, user: UserRecord, now: Int64, on db: Connection) throws -> (InvitationRecord, OrganizationRecord) {
        guard PublicID.isWellFormed(publicID, prefix: "inv"), let inv = try store.invitation(publicID: publicID, on: db),
              Self.sameAddress(inv.email, user.email), let org = try organizations.organization(id: inv.organizationID, on: db)
        else { throw InvitationProblem.notFound }
        if user.isStaff { throw InvitationProblem.refused("Support staff accounts cannot join organizations.") }
        let state = inv.state(now: now)
        guard state == .pending else { throw InvitationProblem.gone(state) }
        guard org.isActive else { throw InvitationProblem.gone(.revoked) }
        return (inv, org)
    }

    // MARK: - members

    /// A member for the edit page: needs `roles.write`, and a member `access` may change.
    func editableMember(_ access: OrgAccess, _ publicID: String) throws -> MemberRow {
        try access.require(.rolesWrite)
        let row = try findMember(access, publicID)
        if let why = refusal(access, toManage: row.member, name: row.name) { throw OrgProblem.forbidden(why) }
        return row
    }

    private func findMember(_ access: OrgAccess, _ publicID: String) throws -> MemberRow {
        try database.read { try findMember(access, publicID, on: $0) }
    }

    /// The member with this id in the organization of `access`; any other is not found.
    private func findMember(_ access: OrgAccess, _ publicID: String, on db: Connection) throws -> MemberRow {
        guard PublicID.isWellFormed(publicID, prefix: "mem"),
              let row = try organizations.member(publicID: publicID, organizationID: access.org.id, on: db) else { throw OrgProblem.notFound }
        return row
    }

    /// Changes a member's role and permissions, only if nobody changed the member since the
    /// form showed `version` (otherwise ``OrgProblem/conflict`` and nothing is written).
    /// Returns false when the form asked for what the member already has.
    @discardableResult
    func update(_ access: OrgAccess, member publicID: String, role rawRole: String, permissions chosen: [String], version: Int64?,
                actor: Actor) throws -> Bool {
        try access.require(.rolesWrite)
        let now = clock.now()
        return try database.write { db -> Bool in
            let current = try acting(access, on: db)
            let row = try findMember(current, publicID, on: db)
            let target = row.member
            if let why = refusal(current, toManage: target, name: row.name) { throw OrgProblem.forbidden(why) }
            guard let version, version == target.version else { throw OrgProblem.conflict(Self.staleMessage) }
            let (role, permissions) = try grant(role: rawRole, chosen: chosen, by: current)
            if role == target.role && permissions == target.permissions { return false }
            guard try organizations.updateMembership(id: target.id, role: role, permissions: permissions, expectedVersion: version, now: now, on: db)
            else { throw OrgProblem.conflict(Self.staleMessage) }
            try audit.record(TeamAuditEvents.updated, by: actor, organization: current.org.id, subject: row.email,
                             details: TeamAuditEvents.change(from: (target.role, target.permissions), to: (role, permissions)), on: db)
            try notify(row, access: current, what: "Your role in \(current.org.displayName) is now \(role.title)"
                + (permissions.isEmpty ? ", with no extra permissions." : ", with these permissions: \(Self.titles(permissions))."),
                       link: true, now: now, on: db)
            return true
        }
    }

    /// The acting member as they are now, read inside the write transaction: two
    /// administrators acting on each other at the same moment see each other's change, and a
    /// member who just lost `roles.write` cannot use it once more.
    private func acting(_ access: OrgAccess, on db: Connection) throws -> OrgAccess {
        guard let member = try organizations.membership(publicID: access.member.publicID, organizationID: access.org.id, on: db), member.isActive
        else { throw OrgProblem.forbidden("Your access to \(access.org.displayName) has changed. Reload the page.") }
        let current = OrgAccess(org: access.org, member: member, user: access.user)
        try current.require(.rolesWrite)
        return current
    }

    static let staleMessage = "Someone changed this member meanwhile, so your change was not saved. Here is the current state; make your change again if it is still needed."

    /// Disables or enables a member; a disabled member's next request to the organization is
    /// refused. Nothing happens (and nothing is audited) when the member already was so.
    @discardableResult
    func setActive(_ access: OrgAccess, member publicID: String, active: Bool, actor: Actor) throws -> MemberRow {
        try access.require(.rolesWrite)
        let now = clock.now()
        return try database.write { db -> MemberRow in
            let current = try acting(access, on: db)
            let row = try findMember(current, publicID, on: db)
            if let why = refusal(current, toManage: row.member, name: row.name) { throw OrgProblem.forbidden(why) }
            guard try organizations.setMemberStatus(membershipID: row.member.id, active: active, now: now, on: db) else { return row }
            try audit.record(active ? TeamAuditEvents.enabled : TeamAuditEvents.disabled, by: actor, organization: current.org.id,
                             subject: row.email, details: TeamAuditEvents.details(row.member.role, row.member.permissions), on: db)
            try notify(row, access: current, what: active
                ? "Your access to \(current.org.displayName) was enabled again by \(current.user.name)."
                : "Your access to \(current.org.displayName) was disabled by \(current.user.name).", link: active, now: now, on: db)
            return row
        }
    }

    @discardableResult
    func remove(_ access: OrgAccess, member publicID: String, actor: Actor) throws -> MemberRow {
        try access.require(.rolesWrite)
        let now = clock.now()
        return try database.write { db -> MemberRow in
            let current = try acting(access, on: db)
            let row = try findMember(current, publicID, on: db)
            if let why = refusal(current, toManage: row.member, name: row.name) { throw OrgProblem.forbidden(why) }
            guard try organizations.removeMember(membershipID: row.member.id, on: db) else { throw OrgProblem.notFound }
            try audit.record(TeamAuditEvents.removed, by: actor, organization: current.org.id, subject: row.email,
                             details: TeamAuditEvents.details(row.member.role, row.member.permissions), on: db)
            try notify(row, access: current, what: "\(current.user.name) removed you from \(current.org.displayName).", link: false, now: now, on: db)
            return row
        }
    }

    /// Tells the member about a change to their access. A mail that cannot be built (an
    /// address the mail system refuses) does not stop the change.
    private func notify(_ row: MemberRow, access: OrgAccess, what: String, link: Bool, now: Int64, on db: Connection) throws {
        do {
            try mailer.enqueue(template: "team_access_changed", to: row.email, subject: Self.subject("Your access to \(access.org.displayName) changed"),
                           context: ["name": row.name, "what": what, "orgName": access.org.displayName,
                                     "link": mailer.url(path: "/orgs/\(access.org.publicID)"), "hasLink": link], on: db)
        } catch let error as MailError {
            organizations.logger.warning("member not told of an access change", metadata: ["error": "\(error)"])
        }
    }

    // MARK: - words

    static func titles(_ permissions: Set<Permission>) -> String {
        permissions.sorted().map(\.title).joined(separator: ", ")
    }

    /// "role: Developer; permissions: api_keys.read, apps.read" for the audit log.
    static func describe(_ role: Role, _ permissions: Set<Permission>) -> String {
        "role: \(role.title); permissions: \(permissions.isEmpty ? "none" : permissions.sorted().map(\.rawValue).joined(separator: ", "))"
    }

    /// One line of at most 200 characters, whatever names it holds.
    static func subject(_ s: String) -> String {
        String(String(s.unicodeScalars.map { $0.properties.generalCategory == .control || $0.value == 0x2028 || $0.value == 0x2029 ? " " : Character($0) })
            .prefix(200))
    }

    /// The same mailbox: local parts compared without case, as everywhere in the portal.
    static func sameAddress(_ a: String, _ b: String) -> Bool { addressKey(a) == addressKey(b) }

    /// What the daily caps count an address by: the whole address lower-cased, so `Victim@…`
    /// and `VICTIM@…` share one allowance.
    static func addressKey(_ email: String) -> String { Accounts.normalizeEmail(email).lowercased() }
}

extension Team {
    /// Revokes the organization's pending invitations (it is closing); returns how many.
    static func revokePendingInvitations(organizationID: Int64, now: Int64, on db: Connection) throws -> Int {
        try TeamStore().revokePendingInvitations(organizationID: organizationID, now: now, on: db)
    }

    static func pendingInvitationCount(organizationID: Int64, on db: Connection) throws -> Int {
        try TeamStore().pendingInvitationCount(organizationID: organizationID, on: db)
    }

    /// Live invitations for an address to active organizations, oldest first.
    static func liveInvitations(email: String, now: Int64, on db: Connection) throws -> [InvitationRecord] {
        try TeamStore().liveInvitations(email: email, now: now, on: db)
    }
}
