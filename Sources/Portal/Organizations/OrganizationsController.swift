import Foundation
import HTTP
import Web

/// The organization pages: where a signed-in person lands, the list and creation of
/// organizations, an organization's dashboard and settings, the requests support reviews,
/// and the transfer of ownership. No rules and no SQL here.
struct OrganizationsController {
    let organizations: Organizations
    let templates: Templates

    /// The organization's own entries in its bar: first and last.
    static let menu: [OrgSection] = [OrgSection("Dashboard", path: "", order: 0), OrgSection("Settings", path: "settings", order: 90)]

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
            r.post("/settings/time-zone") { req in try setTimeZone(req) }
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
        let page = OrgListPage(try organizations.organizations(for: user), isStaff: user.isStaff)
        return try templates.render(page: "organizations/index", context: page, request: req)
    }

    // MARK: - creating

    func newPage(_ req: Request, form: FormState = .empty, status: HTTPStatus = .ok) throws -> HTTPResponse {
        let (_, user) = try req.activeUser()
        if user.isStaff { throw HTTPError(.forbidden, "Staff accounts cannot create organizations.") }
        let fields = OrgDetailsForm("Create an organization", organizations: organizations, form: form, showName: true, showDetails: true)
        let page = NewOrgPage(fields: fields, firstOrganization: try organizations.organizations(for: user).isEmpty)
        return try templates.render(page: "organizations/new", context: page, request: req, status: status)
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
            return try newPage(req, form: FormState(values: values, errors: errors, order: Organizations.detailFields), status: .unprocessableContent)
        } catch let p as OrgProblem {
            throw p.httpError
        }
    }

    // MARK: - dashboard and settings

    func dashboard(_ req: Request) throws -> HTTPResponse {
        let access = try req.orgAccess()
        let page = DashboardPage(access: access, requests: try organizations.requests(access))
        return try templates.render(page: "organizations/dashboard", context: page, request: req)
    }

    func settings(_ req: Request, zoneForm: FormState? = nil, status: HTTPStatus = .ok) throws -> HTTPResponse {
        let access = try req.orgAccess()
        let zoneForm = zoneForm ?? FormState(values: ["time_zone": access.org.timeZone])
        // The zone list is rendered once per selected zone and kept (a FixedViewModel).
        let zones = access.isOwner ? try templates.renderString(page: "accounts/_time_zone_options",
                                                                 context: TimeZoneOptions(selected: zoneForm.values["time_zone"] ?? ""), layout: nil) : ""
        // Requests carry the Owner's reasons and support's answers: for the Owner's eyes.
        let page = SettingsPage(access: access, organizations: organizations, requests: try access.isOwner ? organizations.requests(access) : [],
                                zoneForm: zoneForm, timeZoneOptions: zones)
        return try templates.render(page: "organizations/settings", context: page, request: req, status: status)
    }

    func setTimeZone(_ req: Request) throws -> HTTPResponse {
        let access = try req.orgAccess()
        let zone = try req.form()["time_zone"] ?? ""
        do {
            try organizations.setTimeZone(access, to: zone, actor: req.actor())
        } catch OrgProblem.invalid(let errors) {
            return try settings(req, zoneForm: FormState(values: ["time_zone": zone], errors: errors, order: ["time_zone"]), status: .unprocessableContent)
        }
        req.flash(.success, "Reports now use \(zone.replacingOccurrences(of: "_", with: " ")) time: months begin and end at midnight there.")
        return .redirect(to: "/orgs/\(access.org.publicID)/settings")
    }

    // MARK: - requests

    func changePage(_ req: Request, kind: SupportRequestRecord.Kind, form: FormState? = nil, status: HTTPStatus = .ok) throws -> HTTPResponse {
        let access = try req.orgAccess()
        try ownerOnly(access, "ask for changes to the organization")
        let isName = kind == .orgName
        let fields = OrgDetailsForm(isName ? "Request a name change" : "Request a change of details", organizations: organizations,
                                    form: form ?? FormState(values: access.org.details), showName: isName, showDetails: !isName)
        return try templates.render(page: "organizations/request_change", context: ChangeRequestPage(access: access, fields: fields, isName: isName),
                                    request: req, status: status)
    }

    func requestChange(_ req: Request, kind: SupportRequestRecord.Kind) throws -> HTTPResponse {
        let access = try req.orgAccess()
        let f = try req.form()
        var values = Dictionary(uniqueKeysWithValues: Organizations.detailFields.map { ($0, f[$0] ?? access.org.details[$0] ?? "") })
        values["reason"] = f["reason"] ?? ""
        let form = FormState(values: values, order: Organizations.detailFields + ["reason"])
        do {
            try organizations.requestChange(access, kind: kind, proposed: values, reason: values["reason"] ?? "", actor: req.actor())
        } catch OrgProblem.invalid(let errors) {
            return try changePage(req, kind: kind, form: FormState(values: values, errors: errors, order: form.order), status: .unprocessableContent)
        } catch OrgProblem.conflict(let message) {
            return try changePage(req, kind: kind, form: form.with(error: message), status: .conflict)
        }
        req.flash(.success, "Your request is with support. You will get an e-mail when it is decided.")
        return .redirect(to: "/orgs/\(access.org.publicID)/settings")
    }

    func productionPage(_ req: Request, form: FormState = .empty, status: HTTPStatus = .ok) throws -> HTTPResponse {
        let access = try req.orgAccess()
        try ownerOnly(access, "request Production access")
        let page = ProductionRequestPage(access: access, form: form, details: organizations.detailRows(access.org.details).map(TextRow.init))
        return try templates.render(page: "organizations/production", context: page, request: req, status: status)
    }

    func requestProduction(_ req: Request) throws -> HTTPResponse {
        let access = try req.orgAccess()
        let note = try req.form()["note"] ?? ""
        let form = FormState(values: ["note": note])
        do {
            try organizations.requestProduction(access, note: note, actor: req.actor())
        } catch OrgProblem.invalid(let errors) {
            return try productionPage(req, form: FormState(values: form.values, errors: errors), status: .unprocessableContent)
        } catch OrgProblem.conflict(let message) {
            return try productionPage(req, form: form.with(error: message), status: .conflict)
        }
        req.flash(.success, "Your Production request is with support. They check the compliance details and e-mail you the decision.")
        return .redirect(to: "/orgs/\(access.org.publicID)/settings")
    }

    func offboardingPage(_ req: Request, form: FormState = .empty, status: HTTPStatus = .ok) throws -> HTTPResponse {
        let access = try req.orgAccess()
        try ownerOnly(access, "ask to close the organization")
        return try templates.render(page: "organizations/offboarding", context: OffboardingPage(access: access, form: form), request: req, status: status)
    }

    func requestOffboarding(_ req: Request) throws -> HTTPResponse {
        let access = try req.orgAccess()
        let f = try req.form()
        let form = FormState(values: ["reason": f["reason"] ?? "", "confirmation": f["confirmation"] ?? ""], order: ["reason", "confirmation"])
        do {
            try organizations.requestOffboarding(access, reason: form.values["reason"]!, confirmation: form.values["confirmation"]!, actor: req.actor())
        } catch OrgProblem.invalid(let errors) {
            return try offboardingPage(req, form: FormState(values: form.values, errors: errors, order: form.order), status: .unprocessableContent)
        } catch OrgProblem.conflict(let message) {
            return try offboardingPage(req, form: form.with(error: message), status: .conflict)
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

    func ownerPage(_ req: Request, form: FormState = .empty, status: HTTPStatus = .ok) throws -> HTTPResponse {
        let access = try req.orgAccess()
        try ownerOnly(access, "transfer ownership")
        let chosen = form.values["member"] ?? ""
        let candidates = try organizations.transferCandidates(access).map { OwnerTransferPage.Candidate(row: $0, selected: $0.member.publicID == chosen) }
        return try templates.render(page: "organizations/owner", context: OwnerTransferPage(access: access, form: form, candidates: candidates),
                                    request: req, status: status)
    }

    func transferOwnership(_ req: Request) throws -> HTTPResponse {
        let access = try req.orgAccess()
        let f = try req.form()
        let member = f["member"] ?? ""
        let form = FormState(values: ["member": member], order: ["member", "password", "code"])
        do {
            try organizations.transferOwnership(access, to: member, password: f["password"] ?? "", code: f["code"] ?? "", actor: req.actor())
        } catch OrgProblem.invalid(let errors) {
            return try ownerPage(req, form: FormState(values: form.values, errors: errors, order: form.order), status: .unprocessableContent)
        } catch OrgProblem.conflict(let message) {
            return try ownerPage(req, form: form.with(error: message), status: .conflict)
        } catch OrgProblem.throttled(let seconds) {
            return try ownerPage(req, form: form.with(error: AccountsController.throttledMessage(seconds)), status: .tooManyRequests)
        }
        req.flash(.success, "Ownership of \(access.org.displayName) is transferred. You are now an Admin.")
        return .redirect(to: "/orgs/\(access.org.publicID)")
    }

    func ownerOnly(_ access: OrgAccess, _ what: String) throws {
        do { try access.requireOwner(what) } catch let p as OrgProblem { throw p.httpError }
    }
}
