import Web

// The view models of the team pages: one per page, filled by ``TeamController``. Each is a
// ``ViewModel`` (swift-mustache finds its values through `child(named:)`, no reflection), and
// forms carry a ``FormState``.

/// `/orgs/:org/team`: the members and the invitations.
struct TeamIndexPage: ViewModel {
    let access: OrgAccess
    let members: [MemberItem]
    let invitations: [InvitationItem]

    init(team: Team, access: OrgAccess, members: [MemberRow], invitations: [InvitationRow], now: Int64) {
        self.access = access
        let base = "/orgs/\(access.org.publicID)"
        let zone = access.user.timeZone
        self.members = members.map { m in
            MemberItem(row: m, isYou: m.member.id == access.member.id, canManage: team.mayManage(access, m.member),
                       url: "\(base)/team/members/\(m.member.publicID)", zone: zone)
        }
        self.invitations = invitations.map { row in
            let open = [.pending, .expired].contains(row.invitation.state(now: now))
            return InvitationItem(row: row, now: now, mayHandle: open && team.mayHandle(access, row.invitation), base: base, zone: zone)
        }
    }

    func child(named name: String) -> Any? {
        switch name {
        case "title": "Team · \(access.org.displayName)"
        case "orgName": access.org.displayName
        case "base": "/orgs/\(access.org.publicID)"
        case "canInvite": access.can(.rolesWrite)
        case "members": members
        case "invitations": invitations
        case "hasInvitations": !invitations.isEmpty
        default: nil
        }
    }

    /// A row of the members table.
    struct MemberItem: ViewModel {
        let row: MemberRow
        let isYou: Bool
        let canManage: Bool
        let url: String
        let permissions: [PermissionItem]
        let lastActive: String

        init(row: MemberRow, isYou: Bool, canManage: Bool, url: String, zone: String) {
            self.row = row
            self.isYou = isYou
            self.canManage = canManage
            self.url = url
            self.permissions = row.member.effectivePermissions.sorted().map(PermissionItem.init)
            self.lastActive = row.member.lastActiveAt.map { PageTime.compact($0, zone: zone) } ?? "Never"
        }

        func child(named name: String) -> Any? {
            switch name {
            case "name": row.name
            case "email": row.email
            case "role": row.member.role.title
            case "isOwner": row.member.role == .owner
            case "permissions": permissions
            case "hasPermissions": !permissions.isEmpty
            case "allPermissions": permissions.count == Permission.allCases.count
            case "mfa": row.mfaEnabled
            case "lastActive": lastActive
            case "isActive": row.member.isActive
            case "isYou": isYou
            case "canManage": canManage
            case "url": url
            default: nil
            }
        }
    }

    /// A row of the invitations table. Dates are compact (`<time>` with the full time in its
    /// title) so that the table's columns do not wrap them over several lines.
    struct InvitationItem: ViewModel {
        let row: InvitationRow
        let state: InvitationState
        let mayHandle: Bool
        let base: String
        let sent: String
        let expires: String
        let answered: String?

        init(row: InvitationRow, now: Int64, mayHandle: Bool, base: String, zone: String) {
            let inv = row.invitation
            self.row = row
            self.state = inv.state(now: now)
            self.mayHandle = mayHandle
            self.base = base
            self.sent = PageTime.compact(inv.sentAt, zone: zone)
            self.expires = state == .pending || state == .expired ? PageTime.compact(inv.expiresAt, zone: zone) : "—"
            self.answered = inv.respondedAt.map { PageTime.compact($0, zone: zone) }
        }

        func child(named name: String) -> Any? {
            let inv = row.invitation
            switch name {
            case "email": return inv.email
            case "name": return inv.name
            case "role": return inv.role.title
            case "permissions": return inv.permissions.isEmpty ? "None" : Team.titles(inv.permissions)
            case "state": return state.title
            case "stateClass": return state == .pending ? "open" : state == .accepted ? "approved" : "rejected"
            case "sentBy": return row.sentBy ?? "A former member"
            case "sent": return sent
            case "expires": return expires
            case "answered": return answered ?? ""
            case "hasAnswered": return answered != nil
            case "canResend", "canRevoke": return mayHandle
            case "resendURL": return "\(base)/team/invitations/\(inv.publicID)/resend"
            case "revokeURL": return "\(base)/team/invitations/\(inv.publicID)/revoke"
            default: return nil
            }
        }
    }
}

/// A permission as the pages list it.
struct PermissionItem: ViewModel {
    let permission: Permission

    func child(named name: String) -> Any? {
        switch name {
        case "title": permission.title
        case "explanation": permission.explanation
        case "id": permission.rawValue
        default: nil
        }
    }
}

/// The role choices and permission boxes of the invitation and member forms
/// (`team/_role_fields`), marking what the viewer cannot grant.
struct RoleFields: ViewModel {
    let roles: [RoleChoice]
    let permissionChoices: [PermissionChoice]

    init(_ access: OrgAccess, role: String, chosen: Set<Permission>) {
        let held = access.permissions
        roles = Role.assignable.map { RoleChoice(role: $0, checked: $0.rawValue == role, grantable: ($0.preset ?? []).isSubset(of: held)) }
        permissionChoices = Permission.allCases.map { PermissionChoice(permission: $0, checked: chosen.contains($0), grantable: held.contains($0)) }
    }

    func child(named name: String) -> Any? {
        switch name {
        case "roles": roles
        case "permissionChoices": permissionChoices
        default: nil
        }
    }

    struct RoleChoice: ViewModel {
        let role: Role
        let checked: Bool
        let grantable: Bool

        func child(named name: String) -> Any? {
            let preset = role.preset ?? []
            switch name {
            case "value": return role.rawValue
            case "title": return role.title
            case "explanation": return role.explanation
            case "checked": return checked
            case "isCustom": return role == .custom
            case "isDeveloper": return role == .developer
            case "grantable": return grantable
            case "presetTitles": return Team.titles(preset)
            // Admin says "every permission"; the others list theirs.
            case "hasPresetList": return !preset.isEmpty && preset.count < Permission.allCases.count
            default: return nil
            }
        }
    }

    struct PermissionChoice: ViewModel {
        let permission: Permission
        let checked: Bool
        let grantable: Bool

        func child(named name: String) -> Any? {
            switch name {
            case "value": permission.rawValue
            case "title": permission.title
            case "explanation": permission.explanation
            case "checked": checked
            case "grantable": grantable
            case "isPayout": Permission.payouts.contains(permission)
            default: nil
            }
        }
    }
}

/// `/orgs/:org/team/invite`: the invitation form.
struct InvitePage: ViewModel {
    let access: OrgAccess
    let form: FormState
    let roleFields: RoleFields

    func child(named name: String) -> Any? {
        switch name {
        case "title": "Invite a member · \(access.org.displayName)"
        case "orgName": access.org.displayName
        case "base": "/orgs/\(access.org.publicID)"
        default: roleFields.child(named: name) ?? form.child(named: name)
        }
    }
}

/// `/orgs/:org/team/members/:member`: a member, their role and permissions, and their access.
struct MemberPage: ViewModel {
    let access: OrgAccess
    let row: MemberRow
    let form: FormState
    let roleFields: RoleFields
    /// After a conflict: what the person asked for ("Manager with …"), shown above the form
    /// that now shows the member as they are.
    let attempted: String?

    func child(named name: String) -> Any? {
        let m = row.member
        let base = "/orgs/\(access.org.publicID)"
        switch name {
        case "title": return "\(row.name) · Team · \(access.org.displayName)"
        case "orgName": return access.org.displayName
        case "base": return base
        case "url": return "\(base)/team/members/\(m.publicID)"
        case "name": return row.name
        case "email": return row.email
        case "currentRole": return m.role.title
        case "currentPermissions": return m.permissions.isEmpty ? "None" : Team.titles(m.permissions)
        case "version": return String(m.version)
        case "isActive": return m.isActive
        case "mfa": return row.mfaEnabled
        case "lastActive": return m.lastActiveAt.map { PageTime.full($0, zone: access.user.timeZone) } ?? "Never"
        case "isConflict": return attempted != nil
        case "attempted": return attempted ?? ""
        default: return roleFields.child(named: name) ?? form.child(named: name)
        }
    }
}

/// `/invitations/:ref`: an invitation as its invitee sees it, at whatever stage of signing in
/// they are. Exactly one of the stages is set.
struct InvitationPage: ViewModel {
    enum Stage {
        /// Not signed in: sign up through the link, or log in.
        case chooseSignIn(signupURL: String, loginURL: String)
        /// Signed in half-way (second factor to set up or enter).
        case finishSignIn(isEnrol: Bool, continueURL: String)
        /// Signed in with another address than the invited one.
        case wrongAccount(signedInAs: String)
        /// Signed in as the invitee: accept or decline.
        case answer(acceptURL: String, declineURL: String)
    }

    let view: InvitationView
    let stage: Stage
    let permissions: [PermissionItem]

    init(_ view: InvitationView, stage: Stage) {
        self.view = view
        self.stage = stage
        self.permissions = view.invitation.permissions.sorted().map(PermissionItem.init)
    }

    func child(named name: String) -> Any? {
        switch name {
        case "title": return "Join \(view.org.displayName)"
        case "orgName": return view.org.displayName
        case "inviterName": return view.inviterName ?? "A member"
        case "email": return view.invitation.email
        case "invitedName": return view.invitation.name
        case "role": return view.invitation.role.title
        case "permissions": return permissions
        case "hasPermissions": return !permissions.isEmpty
        case "hasAccount": return view.hasAccount
        default: break
        }
        switch (stage, name) {
        case (.chooseSignIn, "chooseSignIn"), (.finishSignIn, "finishSignIn"), (.wrongAccount, "wrongAccount"), (.answer, "answer"): return true
        case (.chooseSignIn(let signup, _), "signupURL"): return signup
        case (.chooseSignIn(_, let login), "loginURL"): return login
        case (.finishSignIn(let isEnrol, _), "isEnrol"): return isEnrol
        case (.finishSignIn(_, let url), "continueURL"): return url
        case (.wrongAccount(let who), "signedInAs"): return who
        case (.answer(let url, _), "acceptURL"): return url
        case (.answer(_, let url), "declineURL"): return url
        default: return nil
        }
    }
}

/// `/invitations/:ref/signup`: creating an account through the mailed link.
struct InvitationSignUpPage: ViewModel {
    let view: InvitationView
    let ref: String
    let form: FormState

    func child(named name: String) -> Any? {
        switch name {
        case "title": "Create your account"
        case "orgName": view.org.displayName
        case "inviterName": view.inviterName ?? "A member"
        case "email": view.invitation.email
        case "role": view.invitation.role.title
        case "hasAccount": view.hasAccount
        case "action": "/invitations/\(ref)/signup"
        case "loginURL": "/login?next=" + PercentEncoding.encode("/invitations/\(ref)")
        default: form.child(named: name)
        }
    }
}

/// An invitation link that leads nowhere (unknown, or no longer valid), with what to do.
struct InvitationGonePage: ViewModel {
    let title: String
    let heading: String
    let message: String
    var isAccepted = false

    func child(named name: String) -> Any? {
        switch name {
        case "title": title
        case "heading": heading
        case "message": message
        case "isAccepted": isAccepted
        default: nil
        }
    }
}
