import Foundation
import HTTP
import Web

/// The API key pages of an environment: the list, the new key form, a key with its roll and
/// revoke forms, the page that shows a new secret once, and the revoke confirmation. No rules
/// and no SQL here: ``APIKeys`` decides.
///
/// A secret is only ever in the body of the POST response that made it (`Cache-Control:
/// no-store`): never in a redirect, a flash message, a cookie or a log line.
struct APIKeysController {
    let keys: APIKeys
    let templates: Templates

    /// "API keys" in the organization bar, for members who see keys or manage them.
    static let menu: [OrgSection] = [OrgSection("API keys", path: "api-keys", anyOf: [.apiKeysRead, .apiKeysWrite], scope: .environment, order: 40)]

    static let fields = ["name", "expires_in_days", "expires_on", "restrict_balances", "restrict_transactions", "restrict_payouts",
                         "ip_allowlist", "code"]

    func register(on router: inout Router) {
        router.environments(organizations: keys.organizations, templates: templates) { r in
            r.get("/api-keys") { req in try list(req) }
            r.get("/api-keys/new") { req in try newPage(req) }
            r.post("/api-keys/new") { req in try create(req) }
            r.get("/api-keys/:key") { req in try keyPage(req) }
            r.post("/api-keys/:key/roll") { req in try roll(req) }
            r.post("/api-keys/:key/revoke") { req in try revoke(req) }
            r.get("/api-keys/:key/revoked") { req in try revokedPage(req) }
            r.post("/api-keys/:key/report") { req in try report(req) }
        }
    }

    static func base(_ env: EnvAccess) -> String { "/orgs/\(env.org.publicID)/\(env.environment.rawValue)/api-keys" }

    func list(_ req: Request) throws -> HTTPResponse {
        let env = try req.envAccess()
        let all = try keys.list(env)
        return try templates.render(page: "apikeys/index", context: APIKeysListPage(env: env, keys: all, mayChange: keys.mayChange(env),
                                                                                     now: keys.clock.now()), request: req)
    }

    func newPage(_ req: Request, form: FormState? = nil, status: HTTPStatus = .ok) throws -> HTTPResponse {
        let env = try req.envAccess()
        try env.require(.apiKeysWrite)
        let form = form ?? FormState(values: ["expires_in_days": "", "restrict_balances": "write", "restrict_transactions": "write",
                                              "restrict_payouts": "write"], order: Self.fields)
        return try templates.render(page: "apikeys/new", context: NewAPIKeyPage(env: env, form: form), request: req, status: status)
    }

    func create(_ req: Request) throws -> HTTPResponse {
        let env = try req.envAccess()
        let f = try req.form()
        var values: [String: String] = [:]
        for name in Self.fields { values[name] = f[name] ?? "" }
        var input = APIKeys.Input(name: values["name"]!, expiresInDays: values["expires_in_days"]!, expiresOn: values["expires_on"]!,
                                  ipAllowlist: values["ip_allowlist"]!, code: values["code"]!)
        for r in APIResource.allCases { input.restrict[r] = values["restrict_\(r.rawValue)"] }
        // A code is single-use: a form shown again never carries the old one.
        values["code"] = ""
        do {
            let created = try keys.create(env, input, actor: req.actor())
            return try secretPage(req, env: env, created: created)
        } catch OrgProblem.invalid(let errors) {
            return try newPage(req, form: FormState(values: values, errors: errors, order: Self.fields), status: .unprocessableContent)
        } catch OrgProblem.throttled(let seconds) {
            return try newPage(req, form: FormState(values: values, errors: ["code": Self.wait(seconds)], order: Self.fields), status: .tooManyRequests)
        }
    }

    static func wait(_ seconds: Int64) -> String {
        "Too many wrong codes. Wait \(seconds >= 120 ? "\(seconds / 60) minutes" : "\(seconds) seconds") and try again."
    }

    /// The one page that ever holds the secret: the answer to the POST that made it.
    private func secretPage(_ req: Request, env: EnvAccess, created: APIKeys.Created) throws -> HTTPResponse {
        var res = try templates.render(page: "apikeys/secret", context: APIKeySecretPage(env: env, created: created, now: keys.clock.now()),
                                       request: req, status: .created)
        res.headers.set("Cache-Control", "no-store")
        return res
    }

    func keyPage(_ req: Request, form: FormState = .empty, status: HTTPStatus = .ok) throws -> HTTPResponse {
        let env = try req.envAccess()
        let key = try keys.key(env, req.parameters["key"] ?? "")
        return try templates.render(page: "apikeys/key", context: APIKeyPage(env: env, key: key, mayChange: keys.mayChange(env), now: keys.clock.now(),
                                                                             form: form), request: req, status: status)
    }

    func roll(_ req: Request) throws -> HTTPResponse {
        let env = try req.envAccess()
        let f = try req.form()
        let overlap = f["overlap"] ?? ""
        do {
            let created = try keys.roll(env, req.parameters["key"] ?? "", overlap: overlap, code: f["code"] ?? "", actor: req.actor())
            return try secretPage(req, env: env, created: created)
        } catch OrgProblem.invalid(let errors) {
            return try keyPage(req, form: FormState(values: ["overlap": overlap], errors: errors, order: ["overlap", "code"]), status: .unprocessableContent)
        } catch OrgProblem.throttled(let seconds) {
            return try keyPage(req, form: FormState(values: ["overlap": overlap], errors: ["code": Self.wait(seconds)]), status: .tooManyRequests)
        } catch OrgProblem.conflict(let message) {
            return try keyPage(req, form: FormState(errors: ["form": message]), status: .conflict)
        }
    }

    /// Without `confirm=yes` the answer is a page asking to confirm (a confirmation that needs
    /// no script); the confirming form revokes.
    func revoke(_ req: Request) throws -> HTTPResponse {
        let env = try req.envAccess()
        let f = try req.form()
        let id = req.parameters["key"] ?? ""
        do {
            guard f["confirm"] == "yes" else {
                let key = try keys.checkRevoke(env, id)
                return try templates.render(page: "apikeys/revoke_confirm", context: APIKeyPage(env: env, key: key, mayChange: true, now: keys.clock.now(),
                                                                                                 form: .empty), request: req)
            }
            let key = try keys.revoke(env, id, actor: req.actor())
            req.flash(.success, "API key “\(key.name)” (\(key.masked)) is revoked: requests made with it are refused from now on.")
            return .redirect(to: "\(Self.base(env))/\(key.publicID)/revoked")
        } catch OrgProblem.conflict(let message) {
            return try keyPage(req, form: FormState(errors: ["form": message]), status: .conflict)
        }
    }

    /// After a revocation: what to do next (roll the others, tell support if it leaked).
    func revokedPage(_ req: Request) throws -> HTTPResponse {
        let env = try req.envAccess()
        let key = try keys.key(env, req.parameters["key"] ?? "")
        guard key.revokedAt != nil else { return .redirect(to: "\(Self.base(env))/\(key.publicID)") }
        let others = try keys.list(env).filter { $0.id != key.id && $0.isUsable(now: keys.clock.now()) }
        return try templates.render(page: "apikeys/revoked", context: APIKeyRevokedPage(env: env, key: key, others: others, mayChange: keys.mayChange(env),
                                                                                         now: keys.clock.now()), request: req)
    }

    func report(_ req: Request) throws -> HTTPResponse {
        let env = try req.envAccess()
        let id = req.parameters["key"] ?? ""
        let request = try keys.reportLeak(env, id, actor: req.actor())
        req.flash(.success, "Support has your report (\(request)) and will look for requests made with this key that you did not make. You get an e-mail when they have.")
        return .redirect(to: "\(Self.base(env))/\(id)")
    }
}
