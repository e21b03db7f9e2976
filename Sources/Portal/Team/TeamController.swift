import Foundation
import HTTP
import Web

/// The team pages of an organization (members, invitations, editing a member) and the
/// public pages an invitation link leads to. No rules and no SQL here: ``Team`` decides.
struct TeamController {
    let team: Team
    let templates: Templates

    /// The team's entry in the organization bar.
    static let menu: [OrgSection] = [OrgSection("Team", path: "team", permission: .rolesRead, order: 60)]

    func register(on router: inout Router) {
        router.group("/orgs/:org", middleware: [Gate(allowed: [.active]), OrgGate(organizations: team.organizations)]) { r in
            r.get("/team") { req in try teamPage(req) }
            r.get("/team/invite") { req in try invitePage(req) }
            r.post("/team/invitations") { req in try invite(req) }
            r.post("/team/invitations/:invitation/resend") { req in try resend(req) }
            r.post("/team/invitations/:invitation/revoke") { req in try revoke(req) }
            r.get("/team/members/:member") { req in try memberPage(req) }
            r.post("/team/members/:member") { req in try updateMember(req) }
            r.post("/team/members/:member/disable") { req in try setActive(req, false) }
            r.post("/team/members/:member/enable") { req in try setActive(req, true) }
            r.post("/team/members/:member/remove") { req in try removeMember(req) }
        }
        // The link in the mail (a token) and the page for a signed-in invitee (the invitation's
        // id): open to everyone, each stage of signing in handled on the page.
        router.get("/invitations/:ref", middleware: [HideInvitationToken()]) { req in try invitationPage(req) }
        router.get("/invitations/:ref/signup", middleware: [HideInvitationToken()]) { req in try signUpPage(req) }
        router.post("/invitations/:ref/signup", middleware: [HideInvitationToken()]) { req in try signUp(req) }
        router.group("", middleware: [Gate(allowed: [.active])]) { r in
            r.post("/invitations/:ref/accept") { req in try answer(req, accept: true) }
            r.post("/invitations/:ref/decline") { req in try answer(req, accept: false) }
        }
    }

    func base(_ access: OrgAccess) -> String { "/orgs/\(access.org.publicID)" }

    // MARK: - the team page

    func teamPage(_ req: Request) throws -> HTTPResponse {
        let access = try req.orgAccess()
        let (members, invitations) = try team.overview(access)
        let page = TeamIndexPage(team: team, access: access, members: members, invitations: invitations, now: team.clock.now())
        return try templates.render(page: "team/index", context: page, request: req)
    }

    func formValues(_ f: URLEncodedForm) -> (role: String, permissions: [String]) {
        (f["role"] ?? "", f.values("permissions"))
    }

    // MARK: - inviting

    static let inviteFields = ["name", "email", "role", "permissions"]

    func invitePage(_ req: Request, form: FormState = .empty, chosen: [String] = [], status: HTTPStatus = .ok) throws -> HTTPResponse {
        let access = try req.orgAccess()
        try team.requireInvite(access)
        let fields = RoleFields(access, role: form.values["role"] ?? Role.developer.rawValue, chosen: Permission.parse(chosen))
        return try templates.render(page: "team/invite", context: InvitePage(access: access, form: form, roleFields: fields),
                                    request: req, status: status)
    }

    func invite(_ req: Request) throws -> HTTPResponse {
        let access = try req.orgAccess()
        let f = try req.form()
        let (role, permissions) = formValues(f)
        let input = Team.InviteInput(name: f["name"] ?? "", email: f["email"] ?? "", role: role, permissions: permissions)
        let form = FormState(values: ["name": input.name, "email": input.email, "role": role], order: Self.inviteFields)
        do {
            try team.invite(access, input, actor: req.actor())
        } catch OrgProblem.invalid(let errors) {
            return try invitePage(req, form: FormState(values: form.values, errors: errors, order: form.order), chosen: permissions,
                                  status: .unprocessableContent)
        } catch OrgProblem.conflict(let message) {
            return try invitePage(req, form: form.with(error: message), chosen: permissions, status: .conflict)
        }
        req.flash(.success, "Invitation sent to \(Accounts.normalizeEmail(input.email)). The link works for 7 days.")
        return .redirect(to: "\(base(access))/team")
    }

    func resend(_ req: Request) throws -> HTTPResponse {
        let access = try req.orgAccess()
        let inv = try team.resend(access, invitation: req.parameters["invitation"] ?? "", actor: req.actor())
        req.flash(.success, "A new invitation link is on its way to \(inv.email); the earlier link no longer works.")
        return .redirect(to: "\(base(access))/team")
    }

    func revoke(_ req: Request) throws -> HTTPResponse {
        let access = try req.orgAccess()
        let inv = try team.revoke(access, invitation: req.parameters["invitation"] ?? "", actor: req.actor())
        req.flash(.success, "The invitation for \(inv.email) is revoked; its link no longer works.")
        return .redirect(to: "\(base(access))/team")
    }

    // MARK: - a member

    func memberPage(_ req: Request, submitted: (role: String, permissions: [String])? = nil, errors: [String: String] = [:],
                    status: HTTPStatus = .ok) throws -> HTTPResponse {
        let access = try req.orgAccess()
        let row = try team.editableMember(access, req.parameters["member"] ?? "")
        let m = row.member
        // After a conflict the form shows the member as they are now, not what was sent.
        let useSubmitted = submitted != nil && status != .conflict
        let role = useSubmitted ? submitted!.role : m.role.rawValue
        let chosen = useSubmitted ? Permission.parse(submitted!.permissions) : m.permissions
        var attempted: String?
        if status == .conflict, let submitted {
            attempted = Role(rawValue: submitted.role).map { r in
                let p = r.permissions(chosen: Permission.parse(submitted.permissions))
                return "\(r.title) with \(p.isEmpty ? "no permissions" : Team.titles(p))"
            } ?? ""
        }
        let page = MemberPage(access: access, row: row, form: FormState(values: ["role": role], errors: errors, order: ["role", "permissions"]),
                              roleFields: RoleFields(access, role: role, chosen: chosen), attempted: attempted)
        return try templates.render(page: "team/member", context: page, request: req, status: status)
    }

    func updateMember(_ req: Request) throws -> HTTPResponse {
        let access = try req.orgAccess()
        let f = try req.form()
        let submitted = formValues(f)
        let member = req.parameters["member"] ?? ""
        do {
            let changed = try team.update(access, member: member, role: submitted.role, permissions: submitted.permissions,
                                          version: f["version"].flatMap { Int64($0) }, actor: req.actor())
            req.flash(.success, changed ? "The member's role and permissions are saved." : "Nothing changed.")
        } catch OrgProblem.invalid(let errors) {
            return try memberPage(req, submitted: submitted, errors: errors, status: .unprocessableContent)
        } catch OrgProblem.conflict(let message) {
            return try memberPage(req, submitted: submitted, errors: ["form": message], status: .conflict)
        }
        return .redirect(to: "\(base(access))/team")
    }

    func setActive(_ req: Request, _ active: Bool) throws -> HTTPResponse {
        let access = try req.orgAccess()
        let row = try team.setActive(access, member: req.parameters["member"] ?? "", active: active, actor: req.actor())
        req.flash(.success, active ? "\(row.name) can use \(access.org.displayName) again." : "\(row.name) can no longer use \(access.org.displayName).")
        return .redirect(to: "\(base(access))/team")
    }

    func removeMember(_ req: Request) throws -> HTTPResponse {
        let access = try req.orgAccess()
        let row = try team.remove(access, member: req.parameters["member"] ?? "", actor: req.actor())
        req.flash(.success, "\(row.name) is no longer a member of \(access.org.displayName).")
        return .redirect(to: "\(base(access))/team")
    }

    // MARK: - following an invitation

    /// The invitation a `ref` names: a mailed token, or (signed in) the invitation's id.
    /// Returns nil with a response to send instead when there is nothing to show.
    func resolve(_ req: Request, _ ref: String) throws -> (InvitationView, byToken: Bool)? {
        if PublicID.isWellFormed(ref, prefix: "inv") {
            guard let user = req.auth?.user, req.auth?.session?.stage == .active else { return nil }
            return (try team.open(publicID: ref, user: user), false)
        }
        return (try team.open(token: ref), true)
    }

    func invitationPage(_ req: Request) throws -> HTTPResponse {
        let ref = req.parameters["ref"] ?? ""
        let view: InvitationView
        let byToken: Bool
        do {
            guard let found = try resolve(req, ref) else {
                // An invitation's id means something only to its signed-in invitee: sign in first.
                if let stage = req.auth?.session?.stage { return .redirect(to: Gate.home(for: stage)) }
                return .redirect(to: "/login?next=" + PercentEncoding.encode("/invitations/\(ref)"))
            }
            (view, byToken) = found
        } catch InvitationProblem.notFound {
            return try notFoundPage(req)
        }
        guard view.isLive else { return try gonePage(req, view) }
        let session = req.auth?.session
        let user = req.auth?.user
        guard let session, let user else {
            let stage = InvitationPage.Stage.chooseSignIn(signupURL: "/invitations/\(ref)/signup",
                                                          loginURL: "/login?next=" + PercentEncoding.encode("/invitations/\(ref)"))
            return try templates.render(page: "team/invitation", context: InvitationPage(view, stage: stage), request: req)
        }
        guard session.stage == .active else {
            let stage = InvitationPage.Stage.finishSignIn(
                isEnrol: session.stage == .enrol,
                continueURL: session.stage == .mfa && byToken ? "/login/mfa?next=" + PercentEncoding.encode("/invitations/\(ref)") : Gate.home(for: session.stage))
            return try templates.render(page: "team/invitation", context: InvitationPage(view, stage: stage), request: req)
        }
        guard Team.sameAddress(user.email, view.invitation.email) else {
            return try templates.render(page: "team/invitation", context: InvitationPage(view, stage: .wrongAccount(signedInAs: user.email)),
                                        request: req, status: .forbidden)
        }
        let stage = InvitationPage.Stage.answer(acceptURL: "/invitations/\(view.invitation.publicID)/accept",
                                                declineURL: "/invitations/\(view.invitation.publicID)/decline")
        return try templates.render(page: "team/invitation", context: InvitationPage(view, stage: stage), request: req)
    }

    func notFoundPage(_ req: Request) throws -> HTTPResponse {
        try templates.render(page: "team/invitation_gone", context: InvitationGonePage(
            title: "Invitation not found", heading: "This invitation link is not valid",
            message: "Check that you opened the whole link from the e-mail. If it still does not work, ask the person who invited you to send a new invitation."
        ), request: req, status: .notFound)
    }

    func gonePage(_ req: Request, _ v: InvitationView) throws -> HTTPResponse {
        let inviter = v.inviterName ?? "the person who invited you"
        let message: String
        if !v.org.isActive {
            message = "\(v.org.displayName) is closed, so its invitations no longer work."
        } else {
            switch v.state {
            case .expired: message = "This invitation to \(v.org.displayName) expired (invitations work for 7 days). Ask \(inviter) to resend it."
            case .revoked: message = "This invitation to \(v.org.displayName) was withdrawn or replaced by a newer one. If you expected it, ask \(inviter) to send a new one."
            case .declined: message = "This invitation to \(v.org.displayName) was declined. If that was a mistake, ask \(inviter) to invite you again."
            case .accepted: message = "This invitation to \(v.org.displayName) was already used. Each link works once; log in to open the organization."
            case .pending: message = "This invitation can no longer be used."
            }
        }
        return try templates.render(page: "team/invitation_gone", context: InvitationGonePage(
            title: "Invitation no longer valid", heading: "This invitation can no longer be used", message: message,
            isAccepted: v.state == .accepted), request: req, status: .gone)
    }

    /// The page for an invitation that could not be answered after all, with its real state.
    func gone(_ req: Request, ref: String) throws -> HTTPResponse {
        if let found = try? resolve(req, ref) { return try gonePage(req, found.0) }
        return try notFoundPage(req)
    }

    // MARK: - signing up through the link

    func signUpPage(_ req: Request, name: String? = nil, errors: [String: String] = [:], status: HTTPStatus = .ok) throws -> HTTPResponse {
        let ref = req.parameters["ref"] ?? ""
        let view: InvitationView
        do { view = try team.open(token: ref) } catch InvitationProblem.notFound { return try notFoundPage(req) }
        guard view.isLive else { return try gonePage(req, view) }
        if req.auth?.session?.stage == .active { return .redirect(to: "/invitations/\(ref)") }
        let form = FormState(values: ["name": name ?? view.invitation.name], errors: errors, order: ["email", "name", "password"])
        return try templates.render(page: "team/invitation_signup", context: InvitationSignUpPage(view: view, ref: ref, form: form),
                                    request: req, status: status)
    }

    func signUp(_ req: Request) throws -> HTTPResponse {
        let ref = req.parameters["ref"] ?? ""
        let f = try req.form()
        let name = f["name"] ?? ""
        // Any submitted address is ignored: the account gets the invited one.
        do {
            if req.auth?.session?.stage == .active { return .redirect(to: "/invitations/\(ref)") }
            let token = try team.signUp(token: ref, name: name, password: f["password"] ?? "", current: req.auth?.session, actor: req.actor())
            req.flash(.success, "Your account is ready and your address confirmed. Now set up two-factor authentication; then you can join the organization.")
            var res = HTTPResponse.redirect(to: "/mfa/setup")
            res.setCookie(team.accounts.sessions.cookie(token))
            return res
        } catch InvitationProblem.invalid(let errors) {
            return try signUpPage(req, name: name, errors: errors, status: .unprocessableContent)
        } catch InvitationProblem.throttled {
            return try signUpPage(req, name: name, errors: ["form": "Too many sign-ups from your network. Please try again later."],
                                  status: .tooManyRequests)
        } catch InvitationProblem.notFound {
            return try notFoundPage(req)
        } catch InvitationProblem.gone {
            return try gone(req, ref: ref)
        }
    }

    // MARK: - answering

    func answer(_ req: Request, accept: Bool) throws -> HTTPResponse {
        let (_, user) = try req.activeUser()
        let ref = req.parameters["ref"] ?? ""
        do {
            if accept {
                let org = try team.accept(publicID: ref, user: user, actor: req.actor())
                req.flash(.success, "Welcome to \(org.displayName).")
                return .redirect(to: "/orgs/\(org.publicID)")
            }
            let org = try team.decline(publicID: ref, user: user, actor: req.actor())
            req.flash(.info, "You declined the invitation to \(org.displayName).")
            return .redirect(to: "/home")
        } catch InvitationProblem.notFound {
            return try notFoundPage(req)
        } catch InvitationProblem.gone {
            return try gone(req, ref: ref)
        } catch InvitationProblem.refused(let message) {
            throw HTTPError(.conflict, message)
        }
    }
}

extension InvitationProblem: HTTPErrorConvertible {
    /// The page for a problem no handler answered with its own page (the invitation pages
    /// answer the usual ones themselves): never a 500, and never the invited address to
    /// someone signed in with another.
    var httpError: HTTPError {
        switch self {
        case .notFound: HTTPError(.notFound, "This invitation link is not valid.")
        case .gone: HTTPError(.gone, "This invitation can no longer be used.")
        case .wrongAccount: HTTPError(.forbidden, "This invitation is for another e-mail address. Log out and sign in with the invited one.")
        case .refused(let message): HTTPError(.conflict, message)
        case .invalid(let errors): HTTPError(.unprocessableContent, errors.sorted { $0.key < $1.key }.map(\.value).joined(separator: " "))
        case .throttled: HTTPError(.tooManyRequests, "Too many sign-ups from your network. Please try again later.")
        }
    }
}

/// Keeps a mailed invitation token out of the request log: the log shows `/invitations/[token]`
/// (an invitation's `inv_…` id is not a secret and stays).
struct HideInvitationToken: Middleware {
    func handle(_ req: Request, next: (Request) throws -> HTTPResponse) throws -> HTTPResponse {
        if let ref = req.parameters["ref"], !ref.hasPrefix("inv_") {
            req.loggedPath = req.path.replacingOccurrences(of: ref, with: "[token]")
        }
        return try next(req)
    }
}
