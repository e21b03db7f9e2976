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
        let page = StaffSetupPage(user: user, token: token, form: FormState(errors: errors))
        return try templates.render(page: "support/setup", context: page, request: req, status: status)
    }

    func invalidLink(_ req: Request) throws -> HTTPResponse {
        try templates.render(page: "support/setup", context: StaffSetupPage(user: nil, token: "", form: .empty), request: req, status: .notFound)
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
        return try templates.render(page: "support/queue", context: SupportQueuePage(filter: filter, page: page, zone: staff.timeZone), request: req)
    }

    // MARK: - a request

    func review(_ req: Request, reason: String = "", errors: [String: String] = [:], status: HTTPStatus = .ok) throws -> HTTPResponse {
        let (_, staff) = try req.activeUser()
        let id = req.parameters["id"] ?? ""
        let review: SupportReview
        do { review = try support.review(staff: staff, requestID: id) } catch let p as SupportProblem { throw p.httpError }
        let page = SupportReviewPage(review: review, zone: staff.timeZone, form: FormState(values: ["reason": reason], errors: errors),
                                     details: review.organization.map { support.organizations.detailRows($0.details) } ?? [])
        return try templates.render(page: "support/request", context: page, request: req, status: status)
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

/// `/setup-account`: a new staff member sets a password from the mailed link (`user` is nil
/// when the link does not work).
struct StaffSetupPage: ViewModel {
    let user: UserRecord?
    let token: String
    let form: FormState

    func child(named name: String) -> Any? {
        switch name {
        case "title": user == nil ? "This link does not work" : "Set up your staff account"
        case "valid": user != nil
        case "token": token
        case "name": user?.name
        case "email": user?.email
        default: form.child(named: name)
        }
    }
}
