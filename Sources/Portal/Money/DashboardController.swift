import HTTP
import Web

/// An environment's pages: the dashboard at `/orgs/:org/:env` (every active member; it is the
/// target of the Sandbox/Production switch), the transactions list and a transaction's page
/// (`transactions.read`), and the cancellation request (`transactions.cancel`). No rules and
/// no SQL here: ``Dashboard`` and ``Cancellations`` decide.
struct DashboardController {
    let dashboard: Dashboard
    let cancellations: Cancellations
    let organizations: Organizations
    let templates: Templates

    init(transactions: Transactions, organizations: Organizations, templates: Templates) {
        self.dashboard = Dashboard(transactions: transactions, organizations: organizations)
        self.cancellations = Cancellations(transactions: transactions)
        self.organizations = organizations
        self.templates = templates
    }

    /// The dashboard is the switch's target, so it has no entry; the list has one.
    static let menu: [OrgSection] = [
        OrgSection("Transactions", path: "transactions", permission: .transactionsRead, scope: .environment, order: 20),
    ]

    func register(on router: inout Router) {
        router.environments(organizations: organizations, templates: templates) { r in
            r.get("") { req in try overview(req) }
            r.get("/volume") { req in try volume(req) }
            r.get("/transactions") { req in try list(req) }
            r.get("/transactions/:txn") { req in try transaction(req) }
            r.post("/transactions/:txn/cancel") { req in try cancel(req) }
        }
    }

    func overview(_ req: Request) throws -> HTTPResponse {
        let env = try req.envAccess()
        let glance = try dashboard.glance(env)
        let key = DashboardFragments.Key(env, fromHour: VolumeChart.firstHour(now: dashboard.clock.now(), zone: env.user.timeZone))
        let pageKey = DashboardFragments.PageKey(key, env, stepsDone: glance.steps.map(\.done))
        let shell = EnvDashboardShell(header: EnvHeader(env: env), steps: glance.steps, money: "")
        // Rendered through Mustache a view cost ~90 µs in tag lookups alone; kept, only the layout is.
        if let kept = dashboard.fragments.page(pageKey, version: glance.version) {
            return try templates.render(content: kept, context: shell, request: req)
        }
        let money: String
        if let kept = dashboard.fragments.html(key, version: glance.version) {
            money = kept
        } else {
            // Read and rendered afresh; kept under the version of the snapshot it was read from
            // (a change after it gives a newer version, so the part is never kept as newer than it is).
            let overview = try dashboard.overview(env)
            money = try templates.renderString(page: "money/_dashboard_money", context: EnvDashboardPage(env, overview), request: nil, layout: nil)
            dashboard.fragments.keep(key, version: overview.version, html: money)
        }
        let content = try templates.renderString(page: "money/dashboard", context: EnvDashboardShell(header: EnvHeader(env: env), steps: glance.steps, money: money),
                                                 request: nil, layout: nil)
        dashboard.fragments.keep(pageKey, version: glance.version, html: content)
        return try templates.render(content: content, context: shell, request: req)
    }

    /// The dashboard's charts as tables: where each figure's link leads.
    func volume(_ req: Request) throws -> HTTPResponse {
        let env = try req.envAccess()
        return try templates.render(page: "money/volume", context: VolumePage(env, charts: try dashboard.volume(env)), request: req)
    }

    func list(_ req: Request) throws -> HTTPResponse {
        let env = try req.envAccess()
        let q = req.query
        let search = TransactionSearch(externalID: q["external_id"] ?? "", from: q["from"] ?? "", to: q["to"] ?? "", status: q["status"] ?? "",
                                       type: q["type"] ?? "", before: q["before"] ?? "", after: q["after"] ?? "")
        // The rows are written as the list reads them, straight from the statement.
        var rows = HTMLWriter(capacity: Dashboard.pageSize * 700)
        var table = TransactionRows.Table(env)
        let page = try dashboard.list(env, search: search) { table.write($0, into: &rows) }
        // Filters that could not be used are answered beside their fields, with the status
        // a form with errors has.
        let status: HTTPStatus = page.resolved.errors.keys.contains { $0 != "page" } ? .unprocessableContent : .ok
        let view = TransactionListPage(env, search: search, page: page, rows: rows)
        var w = HTMLWriter(capacity: 6144 + rows.count)
        view.write(into: &w)
        return try templates.render(written: w, context: view, request: req, status: status)
    }

    func transaction(_ req: Request, form: FormState = .empty, status: HTTPStatus = .ok) throws -> HTTPResponse {
        let env = try req.envAccess()
        let detail: Dashboard.Detail
        do { detail = try dashboard.transaction(env, publicID: req.parameters["txn"] ?? "") } catch TransactionProblem.notFound { throw HTTPError(.notFound) }
        return try templates.render(page: "money/transaction", context: TransactionPage(env, detail, form: form), request: req, status: status)
    }

    /// The form sends the reason; without `confirm=yes` the answer is the confirmation page
    /// (no script needed), which sends it again confirmed.
    func cancel(_ req: Request) throws -> HTTPResponse {
        let env = try req.envAccess()
        let f = try req.form()
        let txn = req.parameters["txn"] ?? ""
        let reason = f["reason"] ?? ""
        let form = FormState(values: ["reason": reason], order: ["reason"])
        do {
            if f["confirm"] != "yes" {
                let t = try cancellations.cancellable(env, publicID: txn)
                let clean = try cancellations.checkReason(reason)
                return try templates.render(page: "money/cancel_confirm", context: CancelConfirmPage(env, t, reason: clean), request: req)
            }
            let c = try cancellations.request(env, publicID: txn, reason: reason, actor: req.actor())
            req.flash(.success, c.status == .applied
                ? "The transaction is cancelled and its money released."
                : "Your cancellation request is with support. The transaction stays as it is until they decide; you get an e-mail then.")
        } catch CancellationProblem.notFound {
            throw HTTPError(.notFound)
        } catch CancellationProblem.invalid(let errors) {
            return try answer(req, env, FormState(values: form.values, errors: errors, order: form.order), status: .unprocessableContent)
        } catch CancellationProblem.conflict(let message) {
            return try answer(req, env, form.with(error: message), status: .conflict)
        }
        return .redirect(to: "/orgs/\(env.org.publicID)/\(env.environment.rawValue)/transactions/\(txn)")
    }

    /// The transaction page again with the form's message, or, for a member who cannot read
    /// transactions, the message alone.
    private func answer(_ req: Request, _ env: EnvAccess, _ form: FormState, status: HTTPStatus) throws -> HTTPResponse {
        guard env.can(.transactionsRead) else {
            throw HTTPError(status, form.errors.sorted { $0.key < $1.key }.map(\.value).joined(separator: " "))
        }
        return try transaction(req, form: form, status: status)
    }
}
