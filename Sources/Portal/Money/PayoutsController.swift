import Foundation
import HTTP
import Web

/// The payout pages of an environment: the list, the new payout form, a payout with its
/// authorize and reject forms. No rules and no SQL here: ``Payouts`` decides.
struct PayoutsController {
    let payouts: Payouts
    let templates: Templates

    /// "Payouts" in the organization bar, for the members who prepare or decide payouts (a
    /// Developer never does either, so never sees it; those who only read transactions reach
    /// the list from the environment's pages).
    static let menu: [OrgSection] = [OrgSection("Payouts", path: "payouts", anyOf: [.payoutsCreate, .payoutsAuthorize], scope: .environment, order: 30)]

    static let fields = ["beneficiary_name", "method", "account", "country", "amount", "currency", "reference"]

    func register(on router: inout Router) {
        router.environments(organizations: payouts.organizations, templates: templates) { r in
            r.get("/payouts") { req in try list(req) }
            r.get("/payouts/new") { req in try newPage(req) }
            r.post("/payouts/new") { req in try prepare(req) }
            r.get("/payouts/:payout") { req in try payoutPage(req) }
            r.post("/payouts/:payout/authorize") { req in try authorize(req) }
            r.post("/payouts/:payout/reject") { req in try reject(req) }
        }
    }

    static func base(_ env: EnvAccess) -> String { "/orgs/\(env.org.publicID)/\(env.environment.rawValue)/payouts" }

    func list(_ req: Request) throws -> HTTPResponse {
        let env = try req.envAccess()
        let page = try payouts.list(env, page: req.query["page"].flatMap { Int($0) } ?? 1)
        return try templates.render(page: "money/payouts", context: PayoutsListPage(env: env, page: page, mayCreate: payouts.mayCreate(env),
                                                                                      now: payouts.clock.now(), countries: payouts.countries), request: req)
    }

    func newPage(_ req: Request, form: FormState? = nil, status: HTTPStatus = .ok) throws -> HTTPResponse {
        let env = try req.envAccess()
        let (balances, others) = try payouts.form(env)
        // A fresh form suggests the currency the organization holds most of, else EUR.
        let form = form ?? FormState(values: ["method": "bank", "currency": balances.max { $0.available < $1.available }?.currency.code ?? "EUR"],
                                     order: Self.fields)
        return try templates.render(page: "money/payout_new", context: NewPayoutPage(env: env, balances: balances, form: form,
                                                                                      countries: payouts.countries.all, noOtherAuthorizer: others == 0), request: req, status: status)
    }

    func prepare(_ req: Request) throws -> HTTPResponse {
        let env = try req.envAccess()
        let f = try req.form()
        var values: [String: String] = [:]
        for name in Self.fields { values[name] = f[name] ?? "" }
        let input = Payouts.Input(beneficiaryName: values["beneficiary_name"]!, method: values["method"]!, account: values["account"]!,
                                  country: values["country"]!, amount: values["amount"]!, currency: values["currency"]!,
                                  reference: values["reference"]!)
        do {
            let payout = try payouts.prepare(env, input, actor: req.actor())
            req.flash(.success, "Payout of \(payout.amount.display) prepared and held. Another member must now authorize it with their authenticator code.")
            return .redirect(to: "\(Self.base(env))/\(payout.publicID)")
        } catch OrgProblem.invalid(let errors) {
            return try newPage(req, form: FormState(values: values, errors: errors, order: Self.fields), status: .unprocessableContent)
        }
    }

    func payoutPage(_ req: Request, form: FormState = .empty, status: HTTPStatus = .ok, reviewReason: String? = nil) throws -> HTTPResponse {
        let env = try req.envAccess()
        let detail = try payouts.detail(env, req.parameters["payout"] ?? "")
        let page = PayoutPage(env: env, detail: detail, mayDecide: payouts.mayDecide(env), now: payouts.clock.now(), form: form,
                              reviewReason: reviewReason, countries: payouts.countries)
        return try templates.render(page: "money/payout", context: page, request: req, status: status)
    }

    func authorize(_ req: Request) throws -> HTTPResponse {
        let env = try req.envAccess()
        let f = try req.form()
        do {
            let p = try payouts.authorize(env, req.parameters["payout"] ?? "", code: f["code"] ?? "", actor: req.actor())
            req.flash(.success, "Payout authorized: \(p.amount.display) to \(p.beneficiaryName) is now transaction \(p.transactionPublicID ?? "").")
            return .redirect(to: "\(Self.base(env))/\(p.publicID)")
        } catch OrgProblem.invalid(let errors) {
            return try payoutPage(req, form: FormState(errors: errors, order: ["code"]), status: .unprocessableContent)
        } catch OrgProblem.conflict(let message) {
            return try payoutPage(req, form: FormState(errors: ["form": message]), status: .conflict)
        }
    }

    /// The payout page's reject form sends `review`: the answer is the same page asking to
    /// confirm, with the reason kept (a confirmation that needs no script). The confirming
    /// form (or a client that posts `reason` alone) rejects.
    func reject(_ req: Request) throws -> HTTPResponse {
        let env = try req.envAccess()
        let f = try req.form()
        let reason = f["reason"] ?? ""
        do {
            if f["review"] != nil {
                try payouts.checkReject(env, req.parameters["payout"] ?? "", reason: reason)
                return try payoutPage(req, form: FormState(values: ["reason": reason]), reviewReason: reason)
            }
            let p = try payouts.reject(env, req.parameters["payout"] ?? "", reason: reason, actor: req.actor())
            req.flash(.success, "Payout rejected; \(p.amount.display) is back in the available balance. \(p.createdByName) gets an e-mail with your reason.")
            return .redirect(to: "\(Self.base(env))/\(p.publicID)")
        } catch OrgProblem.invalid(let errors) {
            return try payoutPage(req, form: FormState(values: ["reason": reason], errors: errors, order: ["reason"]), status: .unprocessableContent)
        } catch OrgProblem.conflict(let message) {
            return try payoutPage(req, form: FormState(errors: ["form": message]), status: .conflict)
        }
    }
}
