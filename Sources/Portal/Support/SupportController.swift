import Foundation
import HTTP
import Web

/// Lets only staff through to the back-office. Everyone else, signed in or not, gets the
/// same 404 as a path that does not exist: the back-office is not advertised. It runs
/// before ``Gate``, so a staff member half-way through logging in is still sent on to the
/// next step.
struct StaffOnly: Middleware {
    func handle(_ req: Request, next: (Request) throws -> HTTPResponse) throws -> HTTPResponse {
        guard req.auth?.user?.isStaff == true else { throw HTTPError(.notFound) }
        return try next(req)
    }
}

extension SupportProblem: HTTPErrorConvertible {
    /// The page for a problem no form handled.
    var httpError: HTTPError {
        switch self {
        case .notFound: HTTPError(.notFound)
        case .invalid(let errors): HTTPError(.unprocessableContent, errors.sorted { $0.key < $1.key }.map(\.value).joined(separator: " "))
        case .conflict(let message): HTTPError(.conflict, message)
        case .forbidden(let message): HTTPError(.forbidden, message)
        case .linkInvalid: HTTPError(.notFound, "This link does not work. It may have been used already, or it has expired.")
        }
    }
}

/// The support back-office pages (the queue, a request's review and its decision) and the
/// page where a new staff member sets a password from the setup link. No rules, no SQL.
struct SupportController {
    let support: Support
    let templates: Templates

    func register(on router: inout Router) {
        router.get("/setup-account") { req in try setupPage(req) }
        router.post("/setup-account") { req in try completeSetup(req) }
        router.group("/support", middleware: [StaffOnly(), Gate(allowed: [.active])]) { r in
            r.get("") { req in try queue(req) }
            r.get("/requests/:id") { req in try review(req) }
            r.post("/requests/:id/approve") { req in try decide(req, approve: true) }
            r.post("/requests/:id/reject") { req in try decide(req, approve: false) }
        }
    }

    // MARK: - staff setup

    func setupPage(_ req: Request) throws -> HTTPResponse {
        let token = req.query["token"] ?? ""
        do {
            let user = try support.setupAccount(token: token)
            return try setupForm(req, token: token, user: user)
        } catch SupportProblem.linkInvalid {
            return try invalidLink(req)
        }
    }

    func setupForm(_ req: Request, token: String, user: UserRecord, errors: [String: String] = [:], status: HTTPStatus = .ok) throws -> HTTPResponse {
        let ctx: [String: Any] = [
            "title": "Set up your staff account", "valid": true, "token": token, "name": user.name, "email": user.email,
            "errors": errors, "hasErrors": !errors.isEmpty,
        ]
        return try templates.render(page: "support/setup", context: ctx, request: req, status: status)
    }

    func invalidLink(_ req: Request) throws -> HTTPResponse {
        try templates.render(page: "support/setup", context: ["title": "This link does not work", "valid": false], request: req, status: .notFound)
    }

    func completeSetup(_ req: Request) throws -> HTTPResponse {
        let f = try req.form()
        let token = f["token"] ?? ""
        do {
            let session = try support.completeSetup(token: token, password: f["password"] ?? "", current: req.auth?.session, actor: req.actor())
            var res = HTTPResponse.redirect(to: "/mfa/setup")
            res.setCookie(support.accounts.sessions.cookie(session))
            req.flash(.success, "Your password is set. Now set up two-factor authentication: staff accounts need it like every other.")
            return res
        } catch SupportProblem.invalid(let errors) {
            guard let user = try? support.setupAccount(token: token) else { return try invalidLink(req) }
            return try setupForm(req, token: token, user: user, errors: errors, status: .unprocessableContent)
        } catch SupportProblem.linkInvalid {
            return try invalidLink(req)
        }
    }

    // MARK: - the queue

    func queue(_ req: Request) throws -> HTTPResponse {
        let (_, staff) = try req.activeUser()
        let filter = SupportFilter(status: req.query["status"], kind: req.query["kind"], page: req.query["page"])
        let page = try support.queue(staff: staff, filter: filter)
        let zone = staff.timeZone
        let rows = page.rows.map { row -> [String: Any] in
            let r = row.request
            return [
                "url": "/support/requests/\(r.publicID)", "id": r.publicID, "kind": r.kind.title,
                "org": row.organizationName ?? "", "hasOrg": row.organizationName != nil, "orgId": row.organizationPublicID ?? "",
                "requester": r.email, "created": Accounts.formatTime(r.createdAt, zone: zone),
                "status": r.status.capitalized, "statusClass": r.status,
                "resolved": r.resolvedAt.map { Accounts.formatTime($0, zone: zone) } ?? "", "hasResolved": r.resolvedAt != nil,
            ]
        }
        let totalOpen = page.openCounts.values.reduce(0, +)
        let kinds: [[String: Any]] = [["value": "", "label": "All types", "selected": filter.kind == nil]]
            + SupportRequestRecord.Kind.allCases.map { k in
                let open = page.openCounts[k.rawValue] ?? 0
                return ["value": k.rawValue, "label": open > 0 ? "\(k.title) (\(open) open)" : k.title, "selected": filter.kind == k]
            }
        let statuses = SupportFilter.Status.allCases.map { s -> [String: Any] in
            ["value": s.rawValue, "label": s.title, "selected": filter.status == s]
        }
        func link(page p: Int) -> String {
            var q = ["status=\(filter.status.rawValue)"]
            if let k = filter.kind { q.append("kind=\(k.rawValue)") }
            if p > 1 { q.append("page=\(p)") }
            return "/support?" + q.joined(separator: "&")
        }
        let filtered = filter.status != .open || filter.kind != nil
        let ctx: [String: Any] = [
            "title": "Support queue", "rows": rows, "isEmpty": rows.isEmpty, "totalOpen": totalOpen,
            "statuses": statuses, "kinds": kinds, "filtered": filtered,
            "emptyMessage": filter.page > 1 ? "No more requests on this page." :
                filtered ? "No requests match these filters." : "No open requests. Everything is decided.",
            "page": filter.page, "hasPrev": filter.page > 1, "hasNext": page.hasNext,
            "prevUrl": link(page: filter.page - 1), "nextUrl": link(page: filter.page + 1),
            "hasPager": filter.page > 1 || page.hasNext,
        ]
        return try templates.render(page: "support/queue", context: ctx, request: req)
    }

    // MARK: - a request

    func review(_ req: Request, reason: String = "", errors: [String: String] = [:], status: HTTPStatus = .ok) throws -> HTTPResponse {
        let (_, staff) = try req.activeUser()
        let id = req.parameters["id"] ?? ""
        let review: SupportReview
        do { review = try support.review(staff: staff, requestID: id) } catch let p as SupportProblem { throw p.httpError }
        let r = review.request
        let zone = staff.timeZone
        let org = review.organization
        var ctx: [String: Any] = [
            "title": "\(r.kind.title) · Support", "id": r.publicID, "kind": r.kind.title, "status": r.status.capitalized,
            "statusClass": r.status, "isOpen": r.isOpen, "created": Accounts.formatTime(r.createdAt, zone: zone),
            "note": r.note, "requesterName": review.requester?.name ?? "—", "requesterEmail": review.requester?.email ?? r.email,
            "requesterGone": review.requester == nil,
            "changes": review.changes.map { ["label": $0.label, "before": $0.before, "after": $0.after, "same": $0.before == $0.after] as [String: Any] },
            "consequences": review.consequences, "hasConsequences": !review.consequences.isEmpty,
            "decidedBy": review.decidedBy ?? "", "resolved": r.resolvedAt.map { Accounts.formatTime($0, zone: zone) } ?? "",
            "resolution": r.resolutionNote ?? "", "hasResolution": !(r.resolutionNote ?? "").isEmpty,
            "canDecide": r.isOpen && !review.isOwnRequest, "isOwnRequest": r.isOpen && review.isOwnRequest,
            "canApprove": review.approvalBlocked == nil, "approvalBlocked": review.approvalBlocked ?? "",
            "reason": reason, "errors": errors, "hasErrors": !errors.isEmpty,
            "approveUrl": "/support/requests/\(r.publicID)/approve", "rejectUrl": "/support/requests/\(r.publicID)/reject",
            "history": review.history.map { e -> [String: Any] in
                ["at": Accounts.formatTime(e.at, zone: zone), "actor": e.actorEmail ?? "Portal (command line or system)", "action": e.action,
                 "environment": e.environment, "hasEnvironment": !e.environment.isEmpty, "subject": e.subject, "details": e.details]
            },
            "hasHistory": !review.history.isEmpty, "historyLimit": Support.historyLimit,
            "historyTitle": org != nil ? "Organization's audit history" : "Account's recent activity",
        ]
        if let org {
            ctx["hasOrg"] = true
            ctx["orgName"] = org.displayName
            ctx["orgId"] = org.publicID
            ctx["orgStatus"] = org.isActive ? "Active" : "Closed"
            ctx["orgClosed"] = !org.isActive
            ctx["orgClosedAt"] = org.closedAt.map { Accounts.formatTime($0, zone: zone) } ?? ""
            ctx["orgCreated"] = Accounts.formatTime(org.createdAt, zone: zone)
            ctx["production"] = org.productionEnabledAt.map { "Enabled since \(Accounts.formatTime($0, zone: zone))" } ?? "Not enabled"
            ctx["details"] = support.organizations.detailRows(org.details)
        }
        if let u = review.requester, r.kind == .mfaReset {
            ctx["account"] = [
                "created": Accounts.formatTime(u.createdAt, zone: zone), "verified": u.isVerified, "hasTOTP": u.hasTOTP,
                "totpSince": u.totpEnabledAt.map { Accounts.formatTime($0, zone: zone) } ?? "", "phone": u.phone, "hasPhone": !u.phone.isEmpty,
                "isStaff": u.isStaff,
            ] as [String: Any]
        }
        return try templates.render(page: "support/request", context: ctx, request: req, status: status)
    }

    func decide(_ req: Request, approve: Bool) throws -> HTTPResponse {
        let (_, staff) = try req.activeUser()
        let id = req.parameters["id"] ?? ""
        let reason = try req.form()["reason"] ?? ""
        let decided: SupportRequestRecord
        do {
            decided = try support.decide(staff: staff, requestID: id, approve: approve, reason: reason, actor: req.actor())
        } catch SupportProblem.invalid(let errors) {
            return try review(req, reason: reason, errors: errors, status: .unprocessableContent)
        } catch let p as SupportProblem {
            throw p.httpError
        }
        req.flash(.success, "\(decided.kind.title) request \(approve ? "approved" : "rejected"). \(decided.email) has been e-mailed the decision.")
        return .redirect(to: "/support/requests/\(decided.publicID)")
    }
}
