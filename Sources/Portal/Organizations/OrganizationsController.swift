import Foundation
import HTTP
import Web

/// The organization pages: where a signed-in person lands, the list and creation of
/// organizations, an organization's dashboard and settings, the requests support reviews,
/// and the transfer of ownership. No rules and no SQL here.
struct OrganizationsController {
    let organizations: Organizations
    let templates: Templates

    func register(on router: inout Router) {
        router.group("", middleware: [Gate(allowed: [.active])]) { r in
            r.get("/home") { req in try landing(req) }
            r.get("/orgs") { req in try list(req) }
            r.get("/orgs/new") { req in try newPage(req) }
            r.post("/orgs/new") { req in try create(req) }
        }
        router.group("/orgs/:org", middleware: [Gate(allowed: [.active]), OrgGate(organizations: organizations)]) { r in
            r.get("") { req in try dashboard(req) }
            r.get("/settings") { req in try settings(req) }
            r.get("/settings/details") { req in try changePage(req, kind: .orgDetails) }
            r.post("/settings/details") { req in try requestChange(req, kind: .orgDetails) }
            r.get("/settings/name") { req in try changePage(req, kind: .orgName) }
            r.post("/settings/name") { req in try requestChange(req, kind: .orgName) }
            r.get("/settings/production") { req in try productionPage(req) }
            r.post("/settings/production") { req in try requestProduction(req) }
            r.get("/settings/offboarding") { req in try offboardingPage(req) }
            r.post("/settings/offboarding") { req in try requestOffboarding(req) }
            r.post("/settings/requests/:id/withdraw") { req in try withdrawRequest(req) }
            r.get("/settings/owner") { req in try ownerPage(req) }
            r.post("/settings/owner") { req in try transferOwnership(req) }
        }
    }

    // MARK: - landing and list

    /// Where a signed-in person starts: staff at the support queue, someone without an
    /// organization at its creation, a member of one at its dashboard, others at the list.
    func landing(_ req: Request) throws -> HTTPResponse {
        let (_, user) = try req.activeUser()
        if user.isStaff { return .redirect(to: "/support") }
        let orgs = try organizations.organizations(for: user)
        if orgs.isEmpty, let invitation = try organizations.pendingInvitationPath(for: user) { return .redirect(to: invitation) }
        switch orgs.count {
        case 0: return .redirect(to: "/orgs/new")
        case 1: return .redirect(to: "/orgs/\(orgs[0].0.publicID)")
        default: return .redirect(to: "/orgs")
        }
    }

    func list(_ req: Request) throws -> HTTPResponse {
        let (_, user) = try req.activeUser()
        let orgs = try organizations.organizations(for: user).map { org, member -> [String: Any] in
            ["name": org.displayName, "legalName": org.legalName, "url": "/orgs/\(org.publicID)", "role": member.role.title,
             "hasProduction": org.hasProduction]
        }
        return try templates.render(page: "orgs/index", context: ["title": "Your organizations", "orgs": orgs, "isEmpty": orgs.isEmpty,
                                                                  "isStaff": user.isStaff], request: req)
    }

    // MARK: - creating

    func formContext(_ title: String, values: [String: String], errors: [String: String]) -> [String: Any] {
        let country = values["country"] ?? ""
        let industry = values["industry"] ?? ""
        return [
            "title": title, "values": values, "errors": errors, "hasErrors": !errors.isEmpty,
            "countries": organizations.countries.all.map { ["code": $0.code, "name": $0.name, "selected": $0.code == country] as [String: Any] },
            "industries": Industries.all.map { ["name": $0, "selected": $0 == industry] as [String: Any] },
        ]
    }

    func newPage(_ req: Request, values: [String: String] = [:], errors: [String: String] = [:], status: HTTPStatus = .ok) throws -> HTTPResponse {
        let (_, user) = try req.activeUser()
        if user.isStaff { throw HTTPError(.forbidden, "Staff accounts cannot create organizations.") }
        var ctx = formContext("Create an organization", values: values, errors: errors)
        ctx["firstOrganization"] = try organizations.organizations(for: user).isEmpty
        ctx["showName"] = true
        ctx["showDetails"] = true
        return try templates.render(page: "orgs/new", context: ctx, request: req, status: status)
    }

    func create(_ req: Request) throws -> HTTPResponse {
        let (_, user) = try req.activeUser()
        let f = try req.form()
        let values = Dictionary(uniqueKeysWithValues: Organizations.detailFields.map { ($0, f[$0] ?? "") })
        do {
            let org = try organizations.create(values, by: user, actor: req.actor())
            req.flash(.success, "\(org.displayName) is ready. Sandbox is open now; request Production access when you are ready to go live.")
            return .redirect(to: "/orgs/\(org.publicID)")
        } catch OrgProblem.invalid(let errors) {
            return try newPage(req, values: values, errors: errors, status: .unprocessableContent)
        } catch let p as OrgProblem {
            throw p.httpError
        }
    }

    // MARK: - dashboard and settings

    func dashboard(_ req: Request) throws -> HTTPResponse {
        let access = try req.orgAccess()
        let open = try organizations.requests(access).filter(\.isOpen)
        let productionRequested = open.contains { $0.kind == .productionAccess }
        let perms = access.permissions.sorted().map { ["title": $0.title, "explanation": $0.explanation] }
        let ctx: [String: Any] = [
            "title": access.org.displayName, "orgName": access.org.displayName, "role": access.member.role.title,
            "isOwner": access.isOwner, "base": "/orgs/\(access.org.publicID)",
            "hasProduction": access.org.hasProduction, "productionRequested": productionRequested,
            "permissions": perms, "hasPermissions": !perms.isEmpty,
            "canTeam": access.can(.rolesRead), "canLogs": access.can(.logsRead),
            "hasOpenRequests": !open.isEmpty,
            "openRequests": open.map { ["title": $0.kind.title, "since": Accounts.formatTime($0.createdAt, zone: access.user.timeZone)] },
        ]
        return try templates.render(page: "orgs/dashboard", context: ctx, request: req)
    }

    func settings(_ req: Request) throws -> HTTPResponse {
        let access = try req.orgAccess()
        let org = access.org
        let zone = access.user.timeZone
        // Requests carry the Owner's reasons and support's answers: for the Owner's eyes.
        let requests = try (access.isOwner ? organizations.requests(access) : []).map { r -> [String: Any] in
            [
                "title": r.kind.title, "status": r.status.capitalized, "isOpen": r.isOpen, "isApproved": r.status == "approved",
                "isRejected": r.status == "rejected", "note": r.note, "created": Accounts.formatTime(r.createdAt, zone: zone),
                "resolved": r.resolvedAt.map { Accounts.formatTime($0, zone: zone) } ?? "", "resolution": r.resolutionNote ?? "",
                "hasResolution": !(r.resolutionNote ?? "").isEmpty, "isWithdrawn": r.status == "withdrawn",
                "withdrawUrl": "/orgs/\(org.publicID)/settings/requests/\(r.publicID)/withdraw",
                "changes": describeChanges(r.changes, current: org.details),
            ]
        }
        let ctx: [String: Any] = [
            "title": "Settings · \(org.displayName)", "base": "/orgs/\(org.publicID)", "isOwner": access.isOwner,
            "details": organizations.detailRows(org.details), "publicId": org.publicID, "hasProduction": org.hasProduction,
            "created": Accounts.formatTime(org.createdAt, zone: zone),
            "productionSince": org.productionEnabledAt.map { Accounts.formatTime($0, zone: zone) } ?? "",
            "requests": requests, "hasRequests": !requests.isEmpty,
        ]
        return try templates.render(page: "orgs/settings", context: ctx, request: req)
    }

    func describeChanges(_ changes: [String: String], current: [String: String]) -> [[String: String]] {
        changes.keys.sorted().map { k in
            ["label": Organizations.fieldTitles[k] ?? k, "before": organizations.display(k, current[k] ?? ""),
             "after": organizations.display(k, changes[k] ?? "")]
        }
    }

    // MARK: - requests

    func changePage(_ req: Request, kind: SupportRequestRecord.Kind, values: [String: String]? = nil, errors: [String: String] = [:],
                    status: HTTPStatus = .ok) throws -> HTTPResponse {
        let access = try req.orgAccess()
        try ownerOnly(access, "ask for changes to the organization")
        let isName = kind == .orgName
        var ctx = formContext(isName ? "Request a name change" : "Request a change of details",
                              values: values ?? access.org.details, errors: errors)
        ctx["base"] = "/orgs/\(access.org.publicID)"
        ctx["isName"] = isName
        ctx["showName"] = isName
        ctx["showDetails"] = !isName
        ctx["action"] = "/orgs/\(access.org.publicID)/settings/\(isName ? "name" : "details")"
        return try templates.render(page: "orgs/request_change", context: ctx, request: req, status: status)
    }

    func requestChange(_ req: Request, kind: SupportRequestRecord.Kind) throws -> HTTPResponse {
        let access = try req.orgAccess()
        let f = try req.form()
        var values = Dictionary(uniqueKeysWithValues: Organizations.detailFields.map { ($0, f[$0] ?? access.org.details[$0] ?? "") })
        values["reason"] = f["reason"] ?? ""
        do {
            try organizations.requestChange(access, kind: kind, proposed: values, reason: values["reason"] ?? "", actor: req.actor())
        } catch OrgProblem.invalid(let errors) {
            return try changePage(req, kind: kind, values: values, errors: errors, status: .unprocessableContent)
        } catch OrgProblem.conflict(let message) {
            return try changePage(req, kind: kind, values: values, errors: ["form": message], status: .conflict)
        }
        req.flash(.success, "Your request is with support. You will get an e-mail when it is decided.")
        return .redirect(to: "/orgs/\(access.org.publicID)/settings")
    }

    func productionPage(_ req: Request, values: [String: String] = [:], errors: [String: String] = [:], status: HTTPStatus = .ok) throws -> HTTPResponse {
        let access = try req.orgAccess()
        try ownerOnly(access, "request Production access")
        let ctx: [String: Any] = [
            "title": "Request Production access", "base": "/orgs/\(access.org.publicID)", "values": values, "errors": errors,
            "hasErrors": !errors.isEmpty, "hasProduction": access.org.hasProduction, "details": organizations.detailRows(access.org.details),
        ]
        return try templates.render(page: "orgs/production", context: ctx, request: req, status: status)
    }

    func requestProduction(_ req: Request) throws -> HTTPResponse {
        let access = try req.orgAccess()
        let note = try req.form()["note"] ?? ""
        do {
            try organizations.requestProduction(access, note: note, actor: req.actor())
        } catch OrgProblem.invalid(let errors) {
            return try productionPage(req, values: ["note": note], errors: errors, status: .unprocessableContent)
        } catch OrgProblem.conflict(let message) {
            return try productionPage(req, values: ["note": note], errors: ["form": message], status: .conflict)
        }
        req.flash(.success, "Your Production request is with support. They check the compliance details and e-mail you the decision.")
        return .redirect(to: "/orgs/\(access.org.publicID)/settings")
    }

    func offboardingPage(_ req: Request, values: [String: String] = [:], errors: [String: String] = [:], status: HTTPStatus = .ok) throws -> HTTPResponse {
        let access = try req.orgAccess()
        try ownerOnly(access, "ask to close the organization")
        let ctx: [String: Any] = [
            "title": "Close \(access.org.displayName)", "base": "/orgs/\(access.org.publicID)", "orgName": access.org.displayName,
            "values": values, "errors": errors, "hasErrors": !errors.isEmpty,
        ]
        return try templates.render(page: "orgs/offboarding", context: ctx, request: req, status: status)
    }

    func requestOffboarding(_ req: Request) throws -> HTTPResponse {
        let access = try req.orgAccess()
        let f = try req.form()
        let values = ["reason": f["reason"] ?? "", "confirmation": f["confirmation"] ?? ""]
        do {
            try organizations.requestOffboarding(access, reason: values["reason"]!, confirmation: values["confirmation"]!, actor: req.actor())
        } catch OrgProblem.invalid(let errors) {
            return try offboardingPage(req, values: values, errors: errors, status: .unprocessableContent)
        } catch OrgProblem.conflict(let message) {
            return try offboardingPage(req, values: values, errors: ["form": message], status: .conflict)
        }
        req.flash(.success, "Your request to close \(access.org.displayName) is with support. Nothing changes until they approve it.")
        return .redirect(to: "/orgs/\(access.org.publicID)/settings")
    }

    /// The Owner takes back an open request. The form's box must be ticked (a confirmation
    /// that works without JavaScript).
    func withdrawRequest(_ req: Request) throws -> HTTPResponse {
        let access = try req.orgAccess()
        let settings = "/orgs/\(access.org.publicID)/settings"
        guard try req.form()["confirm"] == "yes" else {
            req.flash(.error, "Tick the box to confirm that you want to withdraw the request.")
            return .redirect(to: settings)
        }
        do {
            let r = try organizations.withdraw(access, request: req.parameters["id"] ?? "", actor: req.actor())
            req.flash(.success, "Your “\(r.kind.title)” request is withdrawn. Support can no longer decide it.")
        } catch OrgProblem.conflict(let message) {
            req.flash(.error, message)
        }
        return .redirect(to: settings)
    }

    // MARK: - ownership

    func ownerPage(_ req: Request, values: [String: String] = [:], errors: [String: String] = [:], status: HTTPStatus = .ok) throws -> HTTPResponse {
        let access = try req.orgAccess()
        try ownerOnly(access, "transfer ownership")
        let chosen = values["member"] ?? ""
        let candidates = try organizations.transferCandidates(access).map { c -> [String: Any] in
            ["id": c.member.publicID, "name": c.name, "email": c.email, "role": c.member.role.title, "selected": c.member.publicID == chosen]
        }
        let ctx: [String: Any] = [
            "title": "Transfer ownership", "base": "/orgs/\(access.org.publicID)", "orgName": access.org.displayName,
            "candidates": candidates, "hasCandidates": !candidates.isEmpty, "errors": errors, "hasErrors": !errors.isEmpty,
        ]
        return try templates.render(page: "orgs/owner", context: ctx, request: req, status: status)
    }

    func transferOwnership(_ req: Request) throws -> HTTPResponse {
        let access = try req.orgAccess()
        let f = try req.form()
        let member = f["member"] ?? ""
        do {
            try organizations.transferOwnership(access, to: member, password: f["password"] ?? "", code: f["code"] ?? "", actor: req.actor())
        } catch OrgProblem.invalid(let errors) {
            return try ownerPage(req, values: ["member": member], errors: errors, status: .unprocessableContent)
        } catch OrgProblem.conflict(let message) {
            return try ownerPage(req, values: ["member": member], errors: ["form": message], status: .conflict)
        }
        req.flash(.success, "Ownership of \(access.org.displayName) is transferred. You are now an Admin.")
        return .redirect(to: "/orgs/\(access.org.publicID)")
    }

    func ownerOnly(_ access: OrgAccess, _ what: String) throws {
        do { try access.requireOwner(what) } catch let p as OrgProblem { throw p.httpError }
    }
}
