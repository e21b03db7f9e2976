import Foundation
import HTTP
import Web

/// The webhook pages of an environment: endpoints with their health, adding and editing one,
/// its deliveries (filters, keyset pages) and their attempts, test events, replays, the
/// signing secret (revealed or rotated with a fresh code), and the signature checker; and the
/// public event catalogue at `/docs/webhooks`. No rules and no SQL here: ``Webhooks`` decides.
///
/// A secret is only ever in the body of the POST response that revealed or made it
/// (`Cache-Control: no-store`). What is pasted into the signature checker is only in its POST
/// body, which no log records (the request log writes method, path and status).
struct WebhooksController {
    let webhooks: Webhooks
    let templates: Templates

    static let menu: [OrgSection] = [OrgSection("Webhooks", path: "webhooks", anyOf: [.webhooksRead, .webhooksWrite], scope: .environment, order: 45)]

    static let fields = ["url", "description", "events"]

    func register(on router: inout Router) {
        router.get("/docs/webhooks") { req in
            try templates.render(page: "webhooks/catalogue", context: WebhookCataloguePage(), request: req)
        }
        router.environments(organizations: webhooks.organizations, templates: templates) { r in
            r.get("/webhooks") { req in try list(req) }
            r.get("/webhooks/new") { req in try newPage(req) }
            r.post("/webhooks/new") { req in try create(req) }
            r.get("/webhooks/check-signature") { req in try checkerPage(req) }
            r.post("/webhooks/check-signature") { req in try check(req) }
            r.get("/webhooks/:endpoint") { req in try endpointPage(req) }
            r.get("/webhooks/:endpoint/edit") { req in try editPage(req) }
            r.post("/webhooks/:endpoint/edit") { req in try update(req) }
            r.post("/webhooks/:endpoint/disable") { req in try disable(req) }
            r.post("/webhooks/:endpoint/enable") { req in try enable(req) }
            r.post("/webhooks/:endpoint/delete") { req in try delete(req) }
            r.post("/webhooks/:endpoint/test") { req in try test(req) }
            r.post("/webhooks/:endpoint/replay") { req in try replayFailed(req) }
            r.post("/webhooks/:endpoint/secret") { req in try reveal(req) }
            r.post("/webhooks/:endpoint/rotate-secret") { req in try rotate(req) }
            r.get("/webhooks/:endpoint/deliveries/:delivery") { req in try deliveryPage(req) }
            r.post("/webhooks/:endpoint/deliveries/:delivery/replay") { req in try replay(req) }
        }
    }

    static func base(_ env: EnvAccess) -> String { "/orgs/\(env.org.publicID)/\(env.environment.rawValue)/webhooks" }

    func list(_ req: Request) throws -> HTTPResponse {
        let env = try req.envAccess()
        let all = try webhooks.list(env)
        return try templates.render(page: "webhooks/index", context: WebhooksListPage(env: env, items: all, mayChange: webhooks.mayChange(env),
                                                                                       now: webhooks.clock.now()), request: req)
    }

    // MARK: - add, edit

    func newPage(_ req: Request, form: FormState? = nil, status: HTTPStatus = .ok) throws -> HTTPResponse {
        let env = try req.envAccess()
        try env.require(.webhooksWrite)
        let form = form ?? FormState(values: ["events": "all"], order: Self.fields)
        return try templates.render(page: "webhooks/form", context: WebhookFormPage(env: env, form: form, endpoint: nil), request: req, status: status)
    }

    private func input(_ f: URLEncodedForm) -> (Webhooks.Input, [String: String]) {
        let events = f.values("events")
        let input = Webhooks.Input(url: f["url"] ?? "", description: f["description"] ?? "", events: events)
        return (input, ["url": input.url, "description": input.description, "events": events.joined(separator: " ")])
    }

    func create(_ req: Request) throws -> HTTPResponse {
        let env = try req.envAccess()
        let (input, values) = input(try req.form())
        do {
            let e = try webhooks.create(env, input, actor: req.actor())
            req.flash(.success, "Endpoint added. Send a test event to see a delivery arrive; reveal its signing secret to verify signatures.")
            return .redirect(to: "\(Self.base(env))/\(e.publicID)")
        } catch OrgProblem.invalid(let errors) {
            return try newPage(req, form: FormState(values: values, errors: errors, order: Self.fields), status: .unprocessableContent)
        }
    }

    func editPage(_ req: Request, form: FormState? = nil, status: HTTPStatus = .ok) throws -> HTTPResponse {
        let env = try req.envAccess()
        try env.require(.webhooksWrite)
        let e = try webhooks.endpoint(env, req.parameters["endpoint"] ?? "")
        let form = form ?? FormState(values: ["url": e.url, "description": e.description, "events": e.eventTypes?.joined(separator: " ") ?? "all"],
                                     order: Self.fields)
        return try templates.render(page: "webhooks/form", context: WebhookFormPage(env: env, form: form, endpoint: e), request: req, status: status)
    }

    func update(_ req: Request) throws -> HTTPResponse {
        let env = try req.envAccess()
        let (input, values) = input(try req.form())
        do {
            let e = try webhooks.update(env, req.parameters["endpoint"] ?? "", input, actor: req.actor())
            req.flash(.success, "Endpoint saved.")
            return .redirect(to: "\(Self.base(env))/\(e.publicID)")
        } catch OrgProblem.invalid(let errors) {
            return try editPage(req, form: FormState(values: values, errors: errors, order: Self.fields), status: .unprocessableContent)
        }
    }

    // MARK: - the endpoint and its deliveries

    func endpointPage(_ req: Request, form: FormState = .empty, status: HTTPStatus = .ok, revealed: [String]? = nil) throws -> HTTPResponse {
        let env = try req.envAccess()
        let q = req.query
        let filter = Webhooks.Filter(state: q["state"] ?? "", type: q["type"] ?? "", from: q["from"] ?? "", to: q["to"] ?? "", before: q["before"] ?? "")
        let page = try webhooks.deliveries(env, req.parameters["endpoint"] ?? "", filter: filter)
        let health = try webhooks.health(page.endpoint)
        var res = try templates.render(page: "webhooks/endpoint", context: WebhookEndpointPage(
            env: env, page: page, filter: filter, health: health, mayChange: webhooks.mayChange(env), now: webhooks.clock.now(), form: form,
            replaySince: q["since"] ?? "", revealed: revealed), request: req, status: status)
        if revealed != nil { res.headers.set("Cache-Control", "no-store") }
        return res
    }

    func deliveryPage(_ req: Request) throws -> HTTPResponse {
        let env = try req.envAccess()
        let d = try webhooks.delivery(env, req.parameters["endpoint"] ?? "", req.parameters["delivery"] ?? "")
        return try templates.render(page: "webhooks/delivery", context: WebhookDeliveryPage(env: env, detail: d, mayChange: webhooks.mayChange(env),
                                                                                             now: webhooks.clock.now()), request: req)
    }

    func test(_ req: Request) throws -> HTTPResponse {
        let env = try req.envAccess()
        let id = req.parameters["endpoint"] ?? ""
        do {
            let d = try webhooks.sendTest(env, id, actor: req.actor())
            return .redirect(to: "\(Self.base(env))/\(id)/deliveries/\(d.publicID)")
        } catch OrgProblem.conflict(let message) {
            return try endpointPage(req, form: FormState(errors: ["form": message]), status: .conflict)
        }
    }

    func replay(_ req: Request) throws -> HTTPResponse {
        let env = try req.envAccess()
        let id = req.parameters["endpoint"] ?? ""
        do {
            let d = try webhooks.replay(env, id, delivery: req.parameters["delivery"] ?? "", actor: req.actor())
            req.flash(.success, "Replaying \(d.eventType) (\(d.eventPublicID)) with the same webhook-id.")
            return .redirect(to: "\(Self.base(env))/\(id)/deliveries/\(d.publicID)")
        } catch OrgProblem.conflict(let message) {
            return try endpointPage(req, form: FormState(errors: ["form": message]), status: .conflict)
        }
    }

    func replayFailed(_ req: Request) throws -> HTTPResponse {
        let env = try req.envAccess()
        let id = req.parameters["endpoint"] ?? ""
        let since = try req.form()["since"] ?? ""
        do {
            let n = try webhooks.replayFailed(env, id, since: since, actor: req.actor())
            req.flash(.success, n == 0 ? "No failed deliveries since then: nothing to replay." : "Replaying \(n) failed \(n == 1 ? "delivery" : "deliveries") with their original webhook-id.")
            return .redirect(to: "\(Self.base(env))/\(id)")
        } catch OrgProblem.invalid(let errors) {
            return try endpointPage(req, form: FormState(values: ["since": since], errors: errors), status: .unprocessableContent)
        } catch OrgProblem.conflict(let message) {
            return try endpointPage(req, form: FormState(errors: ["form": message]), status: .conflict)
        }
    }

    // MARK: - enable, disable, delete

    func disable(_ req: Request) throws -> HTTPResponse {
        let env = try req.envAccess()
        let e = try webhooks.disable(env, req.parameters["endpoint"] ?? "", actor: req.actor())
        req.flash(.success, "Endpoint disabled: no events are sent to it until you enable it.")
        return .redirect(to: "\(Self.base(env))/\(e.publicID)")
    }

    func enable(_ req: Request) throws -> HTTPResponse {
        let env = try req.envAccess()
        let (e, since, failed) = try webhooks.enable(env, req.parameters["endpoint"] ?? "", actor: req.actor())
        if failed > 0 {
            req.flash(.success, "Endpoint enabled. \(failed) \(failed == 1 ? "delivery" : "deliveries") failed meanwhile: replay them below.")
            let stamp = PageTime.iso8601(since, zone: env.user.timeZone).prefix(16)
            return .redirect(to: "\(Self.base(env))/\(e.publicID)?since=\(String(stamp).addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? "")#replay")
        }
        req.flash(.success, "Endpoint enabled.")
        return .redirect(to: "\(Self.base(env))/\(e.publicID)")
    }

    /// Without `confirm=yes` the answer is a page asking to confirm; the confirming form deletes.
    func delete(_ req: Request) throws -> HTTPResponse {
        let env = try req.envAccess()
        let id = req.parameters["endpoint"] ?? ""
        guard try req.form()["confirm"] == "yes" else {
            try env.require(.webhooksWrite)
            let e = try webhooks.endpoint(env, id)
            return try templates.render(page: "webhooks/delete_confirm", context: WebhookConfirmPage(env: env, endpoint: e), request: req)
        }
        let e = try webhooks.delete(env, id, actor: req.actor())
        req.flash(.success, "Endpoint \(e.url) deleted.")
        return .redirect(to: Self.base(env))
    }

    // MARK: - secrets

    static func wait(_ seconds: Int64) -> String {
        "Too many wrong codes. Wait \(seconds >= 120 ? "\(seconds / 60) minutes" : "\(seconds) seconds") and try again."
    }

    func reveal(_ req: Request) throws -> HTTPResponse {
        let env = try req.envAccess()
        let f = try req.form()
        do {
            let (_, secrets) = try webhooks.reveal(env, req.parameters["endpoint"] ?? "", code: f["code"] ?? "", actor: req.actor())
            return try endpointPage(req, revealed: secrets)
        } catch OrgProblem.invalid(let errors) {
            return try endpointPage(req, form: FormState(errors: errors.reduce(into: [:]) { $0["reveal_" + $1.key] = $1.value }), status: .unprocessableContent)
        } catch OrgProblem.throttled(let seconds) {
            return try endpointPage(req, form: FormState(errors: ["reveal_code": Self.wait(seconds)]), status: .tooManyRequests)
        }
    }

    func rotate(_ req: Request) throws -> HTTPResponse {
        let env = try req.envAccess()
        let f = try req.form()
        let overlap = f["overlap"] ?? ""
        do {
            let (_, secret) = try webhooks.rotate(env, req.parameters["endpoint"] ?? "", overlap: overlap, code: f["code"] ?? "", actor: req.actor())
            return try endpointPage(req, revealed: [secret])
        } catch OrgProblem.invalid(let errors) {
            return try endpointPage(req, form: FormState(values: ["overlap": overlap], errors: errors), status: .unprocessableContent)
        } catch OrgProblem.throttled(let seconds) {
            return try endpointPage(req, form: FormState(values: ["overlap": overlap], errors: ["code": Self.wait(seconds)]), status: .tooManyRequests)
        }
    }

    // MARK: - the signature checker

    static let checkerFields = ["payload", "webhook_id", "webhook_timestamp", "webhook_signature", "secret", "endpoint"]

    func checkerPage(_ req: Request, form: FormState = .empty, result: Webhooks.CheckResult? = nil, status: HTTPStatus = .ok) throws -> HTTPResponse {
        let env = try req.envAccess()
        try webhooks.requireView(env)
        let endpoints = webhooks.mayChange(env) ? try webhooks.list(env).map(\.endpoint) : []
        var res = try templates.render(page: "webhooks/checker", context: WebhookCheckerPage(env: env, form: form, result: result, endpoints: endpoints),
                                       request: req, status: status)
        res.headers.set("Cache-Control", "no-store")
        return res
    }

    func check(_ req: Request) throws -> HTTPResponse {
        let env = try req.envAccess()
        let f = try req.form()
        var values: [String: String] = [:]
        for name in Self.checkerFields { values[name] = f[name] ?? "" }
        let input = Webhooks.CheckInput(payload: values["payload"]!, webhookID: values["webhook_id"]!, timestamp: values["webhook_timestamp"]!,
                                        signature: values["webhook_signature"]!, secret: values["secret"]!, endpoint: values["endpoint"]!)
        // The pasted secret is not shown again.
        values["secret"] = ""
        do {
            let result = try webhooks.checkSignature(env, input)
            return try checkerPage(req, form: FormState(values: values, order: Self.checkerFields), result: result)
        } catch OrgProblem.invalid(let errors) {
            return try checkerPage(req, form: FormState(values: values, errors: errors, order: Self.checkerFields), status: .unprocessableContent)
        }
    }
}
