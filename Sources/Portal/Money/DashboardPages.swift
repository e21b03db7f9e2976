import Foundation
import Web

// The view models of the environment's pages, filled by ``DashboardController``. Times are in
// the viewer's time zone; amounts use `Amount.display`; account numbers show only `Party.masked`.

/// What every environment page says about where it is.
struct EnvHeader {
    let env: EnvAccess
    /// Made once: a page links to it several times (each made anew was ~550 instructions).
    let base: String

    init(env: EnvAccess) {
        self.env = env
        base = "/orgs/\(env.org.publicID)/\(env.environment.rawValue)"
    }

    func child(named name: String) -> Any? {
        switch name {
        case "environment": env.environment.title
        case "envKey": env.environment.rawValue
        case "isProduction": env.isProduction
        case "orgName": env.org.displayName
        case "orgBase": "/orgs/\(env.org.publicID)"
        case "base": base
        case "zone": env.user.timeZone
        default: nil
        }
    }
}

/// A transactions table (the dashboard's recent list and the list's pages), written here and
/// not in a template: measured on 1M transactions, 25 rows through Mustache cost about 1 ms a
/// view (a dynamic cast per looked-up value), more than every query of the page together, and
/// joined from Swift strings still half the page. Every value from data is escaped.
enum TransactionRows {
    static func html(_ list: [TransactionSummary], env: EnvAccess) -> String {
        var w = HTMLWriter(capacity: list.count * 700 + 512)
        var table = Table(env)
        Table.open(into: &w)
        for t in list { table.write(t, into: &w) }
        Table.close(into: &w)
        return w.string
    }

    /// A table of transactions written a row at a time (the list's rows come straight from the
    /// statement): what every row shares worked out once.
    struct Table {
        /// Escaped once for the table, not once a row.
        let base: String
        let linked: Bool
        var zone: PageTime.Zone

        init(_ env: EnvAccess) {
            base = htmlEscape(EnvHeader(env: env).base)
            linked = env.can(.transactionsRead)
            zone = PageTime.Zone(env.user.timeZone)
        }

        static func open(into w: inout HTMLWriter) {
            w.raw("""
                <table class="table transactions">
                  <thead><tr><th scope="col">Created</th><th scope="col">Transaction</th><th scope="col">Type</th><th scope="col">Status</th><th scope="col">Counterparty</th><th scope="col" class="num">Amount</th></tr></thead>
                  <tbody>

                """)
        }

        static func close(into w: inout HTMLWriter) {
            w.raw("  </tbody>\n</table>\n")
        }

        mutating func write(_ t: some TransactionRowFields, into w: inout HTMLWriter) {
            w.raw("    <tr>\n      <td class=\"when\">")
            PageTime.compact(t.createdAt, in: &zone, into: &w)
            w.raw("</td>\n      <td>")
            if linked {
                w.raw("<a href=\""); w.raw(trusted: base); w.raw("/transactions/")
                t.withPublicID { id in w.text(utf8: id); w.raw("\" class=\"mono\">"); w.text(utf8: id) }
                w.raw("</a>")
            } else {
                w.raw("<span class=\"mono\">"); t.withPublicID { w.text(utf8: $0) }; w.raw("</span>")
            }
            _ = t.withExternalID { e in w.raw("<div class=\"hint mono\">"); w.text(utf8: e); w.raw("</div>") }
            let type = t.type, status = t.status
            w.raw("</td>\n      <td>"); w.raw(trusted: type.title)
            w.raw("</td>\n      <td><span class=\"status "); w.raw(trusted: status.rawValue); w.raw("\">"); w.raw(trusted: status.title)
            w.raw("</span></td>\n      <td>"); t.withCounterparty { w.text(utf8: $0) }
            w.raw("</td>\n      <td class=\"num\">")
            if !type.isIncoming { w.raw("−") }
            let amount = t.amount
            Amount.display(amount.minor, amount.currency, into: &w)
            w.raw("</td>\n    </tr>\n")
        }
    }
}

/// `/orgs/:org/:env`: where the environment is, the getting-started panel until it is done,
/// and the money part (``EnvDashboardPage``, kept rendered by ``DashboardFragments``).
struct EnvDashboardShell: ViewModel {
    let header: EnvHeader
    let steps: [Dashboard.StepState]
    let money: String

    var env: EnvAccess { header.env }

    func child(named name: String) -> Any? {
        if let v = header.child(named: name) { return v }
        switch name {
        case "title": return "\(env.environment.title) dashboard · \(env.org.displayName)"
        case "productionSince": return env.org.productionEnabledAt.map { PageTime.full($0, zone: env.user.timeZone) } ?? ""
        case "money": return money
        case "hasSteps": return !steps.isEmpty
        case "steps":
            return steps.map { s in
                ["title": s.step.title, "text": s.step.text, "url": s.step.path(env), "done": s.done,
                 "mayDo": s.step.mayDo(env), "who": s.step.who] as [String: Any]
            }
        case "stepsDone": return steps.filter(\.done).count
        case "stepsTotal": return steps.count
        default: return nil
        }
    }
}

/// The dashboard's money part: balances, recent transactions, the search form, the 30-day
/// chart, and statistics for `statistics.read` (`money/_dashboard_money`).
struct EnvDashboardPage: ViewModel {
    let header: EnvHeader
    let overview: Dashboard.Overview

    init(_ env: EnvAccess, _ overview: Dashboard.Overview) {
        self.header = EnvHeader(env: env)
        self.overview = overview
    }

    var env: EnvAccess { header.env }

    func child(named name: String) -> Any? {
        if let v = header.child(named: name) { return v }
        switch name {
        case "accounts":
            return overview.accounts.map { a in
                ["currency": a.currency.code, "name": a.currency.name, "available": a.availableAmount.display, "pending": a.pendingAmount.display]
            }
        case "hasAccounts": return !overview.accounts.isEmpty
        case "rows": return TransactionRows.html(overview.recent, env: env)
        case "hasRecent": return !overview.recent.isEmpty
        case "canRead": return env.can(.transactionsRead)
        case "charts": return overview.figures
        case "hasCharts": return !overview.charts.isEmpty
        case "statistics": return overview.statistics.map(StatisticsView.init)
        default: return nil
        }
    }

    struct StatisticsView: ViewModel {
        let s: Dashboard.Statistics

        func child(named name: String) -> Any? {
            switch name {
            case "totals":
                return s.totals.map { t in
                    ["status": t.status.title, "statusKey": t.status.rawValue, "count": t.count,
                     "amounts": t.amounts.filter { $0.minor > 0 }.map(\.display).joined(separator: " · ")] as [String: Any]
                }
            case "hasRate": return s.failureRate != nil
            case "failureRate": return s.failureRate.map { String(format: "%.1f %%", $0 * 100) } ?? ""
            case "failed": return s.failed
            case "finished": return s.finished
            default: return nil
            }
        }
    }
}

/// `/orgs/:org/:env/volume`: the last 30 days per currency as tables, the numbers the
/// dashboard's charts draw (each figure links to its table here).
struct VolumePage: ViewModel {
    let header: EnvHeader
    let charts: [VolumeChart]

    init(_ env: EnvAccess, charts: [VolumeChart]) {
        self.header = EnvHeader(env: env)
        self.charts = charts
    }

    func child(named name: String) -> Any? {
        if let v = header.child(named: name) { return v }
        switch name {
        case "title": return "Volume per day · \(header.env.environment.title) · \(header.env.org.displayName)"
        case "tables": return charts.map { $0.table(id: Dashboard.chartID($0)) }
        case "hasTables": return !charts.isEmpty
        default: return nil
        }
    }
}

/// `/orgs/:org/:env/transactions`: the filters as typed (with a message beside each one that
/// could not be used), a page of rows, and next/previous links that keep the filters.
///
/// Written in code, not a template: the most viewed page after the dashboard, and one that
/// cannot be kept (every search is its own). Through Mustache, its sixty-odd values looked up
/// one by one (a dynamic cast or more each) and the rows joined into strings cost more than the
/// search itself. Values from the query and the data are escaped; the rest is ours.
struct TransactionListPage: ViewModel {
    let header: EnvHeader
    let search: TransactionSearch
    let page: Dashboard.ListPage
    /// The page's table rows, written as the list read them (``TransactionRows/Table``).
    let rows: HTMLWriter

    init(_ env: EnvAccess, search: TransactionSearch, page: Dashboard.ListPage, rows: HTMLWriter) {
        self.header = EnvHeader(env: env)
        self.search = search
        self.page = page
        self.rows = rows
    }

    /// What the layout asks of the page.
    func child(named name: String) -> Any? {
        name == "title" ? "Transactions · \(header.env.environment.title) · \(header.env.org.displayName)" : header.child(named: name)
    }

    func link(_ extra: (String, String)?) -> String {
        let pairs = search.pairs + (extra.map { [$0] } ?? [])
        let base = "\(header.base)/transactions"
        guard !pairs.isEmpty else { return base }
        return base + "?" + pairs.map { PercentEncoding.encode($0.0) + "=" + PercentEncoding.encode($0.1) }.joined(separator: "&")
    }

    func write(into w: inout HTMLWriter) {
        let env = header.env
        let errors = page.resolved.errors
        w.raw("<div class=\"page-head\">\n  <h1><span class=\"badge "); w.raw(trusted: env.environment.rawValue); w.raw("\">")
        w.text(env.environment.title); w.raw("</span> Transactions</h1>\n</div>\n<p class=\"hint\">Newest first. Dates are days in your time zone (")
        w.text(env.user.timeZone); w.raw(").</p>\n\n")
        writeFilters(errors, into: &w)
        w.raw("\n\n")
        if let message = errors["page"] { w.raw("<p class=\"flash notice\" role=\"status\">"); w.text(message); w.raw("</p>\n") }
        if page.count > 0 {
            TransactionRows.Table.open(into: &w)
            w.append(rows)
            TransactionRows.Table.close(into: &w)
            if page.next != nil || page.previous != nil {
                w.raw("<nav class=\"pager\" aria-label=\"Pages\">\n")
                if let cursor = page.previous { w.raw("  <a href=\""); w.text(link(("after", cursor))); w.raw("\" rel=\"prev\">← Newer</a>\n") }
                if let cursor = page.next { w.raw("  <a href=\""); w.text(link(("before", cursor))); w.raw("\" rel=\"next\">Older →</a>\n") }
                w.raw("</nav>\n")
            }
        } else if search.isFiltered {
            w.raw("<p class=\"empty-state\">No transaction matches these filters. Widen the dates, choose another status or type, or <a href=\"")
            w.text(header.base); w.raw("/transactions\">clear the filters</a>.</p>\n")
        } else if env.isProduction {
            w.raw("<p class=\"empty-state\">No transactions yet. They appear here as soon as your integration creates them with a Production API key.</p>\n")
        } else {
            w.raw("<p class=\"empty-state\">No transactions yet. Create a test transaction with the API or <code>portal seed-demo</code>.</p>\n")
        }
    }

    /// The filters, with a value, an error and its references per field.
    ///
    /// Without errors (nearly every search) the form is a few long literals around the typed
    /// values and the two selects kept written for each choice: piece by piece it was some
    /// 17,000 instructions, 7 % of a search page (callgrind). The pieces come from the same
    /// writers as the general form, and a test holds the two to the same bytes.
    func writeFilters(_ errors: [String: String], into w: inout HTMLWriter) {
        guard errors.isEmpty,
              let status = Self.statusSelects.first(where: { $0.value == search.status }),
              let type = Self.typeSelects.first(where: { $0.value == search.type })
        else { return writeFiltersPiecewise(errors, into: &w) }
        w.raw("<form class=\"card filters\" method=\"get\" action=\""); w.text(header.base)
        w.raw("""
            /transactions" novalidate aria-label="Filter transactions">
              <div class="grid">
                <div class="field">
                  <label for="external_id">External ID</label>
                  <input id="external_id" name="external_id" type="text" maxlength="200" autocomplete="off" value="
            """)
        w.text(search.externalID)
        w.raw("""
            ">
                </div>
                <div class="field">
                  <label for="from">From</label>
                  <input id="from" name="from" type="date" value="
            """)
        w.text(search.from)
        w.raw("""
            " placeholder="YYYY-MM-DD" pattern="\\d{4}-\\d{2}-\\d{2}">
                </div>
                <div class="field">
                  <label for="to">To (including that day)</label>
                  <input id="to" name="to" type="date" value="
            """)
        w.text(search.to)
        w.raw("""
            " placeholder="YYYY-MM-DD" pattern="\\d{4}-\\d{2}-\\d{2}">
                </div>

            """)
        w.append(status.html)
        w.append(type.html)
        w.raw("  </div>\n  <div class=\"actions\">\n    <button type=\"submit\" class=\"primary\">Search</button>\n")
        if search.isFiltered { w.raw("    <a class=\"button secondary\" href=\""); w.text(header.base); w.raw("/transactions\">Clear filters</a>\n") }
        w.raw("  </div>\n</form>")
    }

    /// The form piece by piece, for any values and errors.
    func writeFiltersPiecewise(_ errors: [String: String], into w: inout HTMLWriter) {
        func error(_ name: StaticString) -> String? { errors.isEmpty ? nil : errors[name.description] }
        w.raw("<form class=\"card filters\" method=\"get\" action=\""); w.text(header.base)
        w.raw("/transactions\" novalidate aria-label=\"Filter transactions\">\n")
        if errors.keys.contains(where: { $0 != "page" }) {
            w.raw("  <div class=\"flash alert\" role=\"alert\">Some filters could not be used and are left out; see the messages below. The other filters still apply.</div>\n")
        }
        w.raw("  <div class=\"grid\">\n")
        Self.field(&w, "external_id", "External ID", error: error("external_id")) { w, bad in
            w.raw("      <input id=\"external_id\" name=\"external_id\" type=\"text\" maxlength=\"200\" autocomplete=\"off\" value=\"")
            w.text(search.externalID); w.raw("\""); Self.invalid(&w, "external_id", bad); w.raw(">\n")
        }
        Self.date(&w, "from", "From", search.from, error: error("from"))
        Self.date(&w, "to", "To (including that day)", search.to, error: error("to"))
        Self.select(&w, "status", "Status", any: "Any status", Self.statuses, selected: search.status, error: error("status"))
        Self.select(&w, "type", "Type", any: "Any type", Self.types, selected: search.type, error: error("type"))
        w.raw("  </div>\n  <div class=\"actions\">\n    <button type=\"submit\" class=\"primary\">Search</button>\n")
        if search.isFiltered { w.raw("    <a class=\"button secondary\" href=\""); w.text(header.base); w.raw("/transactions\">Clear filters</a>\n") }
        w.raw("  </div>\n</form>")
    }

    private static func field(_ w: inout HTMLWriter, _ name: StaticString, _ label: StaticString, error: String?,
                              control: (inout HTMLWriter, _ invalid: Bool) -> Void) {
        w.raw("    <div class=\"field"); if error != nil { w.raw(" has-error") }
        w.raw("\">\n      <label for=\""); w.raw(name); w.raw("\">"); w.raw(label); w.raw("</label>\n")
        control(&w, error != nil)
        if let error { w.raw("      <p class=\"error\" id=\""); w.raw(name); w.raw("-error\">"); w.text(error); w.raw("</p>\n") }
        w.raw("    </div>\n")
    }

    private static func invalid(_ w: inout HTMLWriter, _ name: StaticString, _ yes: Bool) {
        if yes { w.raw(" aria-invalid=\"true\" aria-describedby=\""); w.raw(name); w.raw("-error\"") }
    }

    private static func date(_ w: inout HTMLWriter, _ name: StaticString, _ label: StaticString, _ value: String, error: String?) {
        field(&w, name, label, error: error) { w, bad in
            w.raw("      <input id=\""); w.raw(name); w.raw("\" name=\""); w.raw(name); w.raw("\" type=\"date\" value=\""); w.text(value)
            w.raw("\" placeholder=\"YYYY-MM-DD\" pattern=\"\\d{4}-\\d{2}-\\d{2}\""); invalid(&w, name, bad); w.raw(">\n")
        }
    }

    private static func select(_ w: inout HTMLWriter, _ name: StaticString, _ label: StaticString, any: StaticString,
                               _ options: [(value: String, label: String)], selected: String, error: String?) {
        field(&w, name, label, error: error) { w, bad in
            w.raw("      <select id=\""); w.raw(name); w.raw("\" name=\""); w.raw(name); w.raw("\""); invalid(&w, name, bad)
            w.raw(">\n        <option value=\"\">"); w.raw(any); w.raw("</option>\n")
            for o in options {
                w.raw("        <option value=\""); w.text(o.value); w.raw(o.value == selected ? "\" selected>" : "\">"); w.text(o.label); w.raw("</option>\n")
            }
            w.raw("      </select>\n")
        }
    }

    /// Each select as written for each choice ("" for any) without an error.
    private static func selects(_ name: StaticString, _ label: StaticString, any: StaticString,
                                _ options: [(value: String, label: String)]) -> [(value: String, html: HTMLWriter)] {
        ([""] + options.map(\.value)).map { value in
            var w = HTMLWriter(capacity: 1024)
            select(&w, name, label, any: any, options, selected: value, error: nil)
            return (value, w)
        }
    }

    private static let statusSelects = selects("status", "Status", any: "Any status", statuses)
    private static let typeSelects = selects("type", "Type", any: "Any type", types)
    private static let statuses = TransactionStatus.allCases.map { (value: $0.rawValue, label: $0.title) }
    private static let types = TransactionType.allCases.map { (value: $0.rawValue, label: $0.title) }
}

/// `/orgs/:org/:env/transactions/:txn`.
struct TransactionPage: ViewModel {
    let header: EnvHeader
    let detail: Dashboard.Detail
    let form: FormState

    init(_ env: EnvAccess, _ detail: Dashboard.Detail, form: FormState) {
        self.header = EnvHeader(env: env)
        self.detail = detail
        self.form = form
    }

    static func party(_ p: Party) -> [String: Any] {
        ["name": p.name.isEmpty ? "—" : p.name, "country": p.country, "hasCountry": !p.country.isEmpty, "method": p.method?.title ?? "",
         "hasMethod": p.method != nil, "account": p.masked, "hasAccount": !p.masked.isEmpty, "isEmpty": p.isEmpty]
    }

    func child(named name: String) -> Any? {
        if let v = header.child(named: name) { return v }
        if let v = form.child(named: name) { return v }
        let t = detail.transaction, env = header.env, zone = env.user.timeZone
        switch name {
        case "title": return "\(t.publicID) · \(env.environment.title) · \(env.org.displayName)"
        case "id": return t.publicID
        case "type": return t.type.title
        case "status": return t.status.title
        case "statusKey": return t.status.rawValue
        case "amount": return t.amount.display
        case "currency": return "\(t.amount.currency.code) (\(t.amount.currency.name))"
        case "externalID": return t.externalID ?? ""
        case "hasExternalID": return t.externalID != nil
        case "created": return PageTime.full(t.createdAt, zone: zone)
        case "updated": return PageTime.full(t.updatedAt, zone: zone)
        case "settled": return t.settledAt.map { PageTime.full($0, zone: zone) } ?? ""
        case "hasSettled": return t.settledAt != nil
        case "isFailed": return t.status == .failed
        case "errorCode": return t.errorCode ?? ""
        case "errorNote": return t.errorNote ?? ""
        case "sender": return Self.party(t.sender)
        case "recipient": return Self.party(t.recipient)
        case "metadata": return t.metadata.sorted { $0.key < $1.key }.map { ["key": $0.key, "value": $0.value] }
        case "hasMetadata": return !t.metadata.isEmpty
        case "history":
            return detail.history.reversed().map { h in
                ["status": h.status.title, "statusKey": h.status.rawValue, "when": PageTime.full(h.at, zone: zone), "whenUTC": PageTime.iso8601(h.at),
                 "actor": h.actor, "errorCode": h.errorCode ?? "", "hasErrorCode": h.errorCode != nil, "note": h.note ?? ""] as [String: Any]
            }
        case "payout":
            return detail.payout.map { p in ["id": p.publicID, "status": p.status.replacingOccurrences(of: "_", with: " "), "url": "\(header.base)/payouts/\(p.publicID)"] }
        case "cancellations":
            return detail.cancellations.map { c in
                ["status": c.status.title, "isOpen": c.isOpen, "by": c.requestedByName, "reason": c.reason,
                 "when": PageTime.full(c.createdAt, zone: zone), "decided": c.decidedAt.map { PageTime.full($0, zone: zone) } ?? "", "hasDecided": c.decidedAt != nil] as [String: Any]
            }
        case "hasCancellations": return !detail.cancellations.isEmpty
        case "openCancellation": return detail.openCancellation != nil
        case "canCancel": return Cancellations.allowed(env, detail)
        case "cancelURL": return "\(header.base)/transactions/\(t.publicID)/cancel"
        case "listURL": return "\(header.base)/transactions"
        default: return nil
        }
    }
}

/// The confirmation a cancellation needs before it is sent (no script needed).
struct CancelConfirmPage: ViewModel {
    let header: EnvHeader
    let t: TransactionRecord
    let reason: String

    init(_ env: EnvAccess, _ t: TransactionRecord, reason: String) {
        self.header = EnvHeader(env: env)
        self.t = t
        self.reason = reason
    }

    func child(named name: String) -> Any? {
        if let v = header.child(named: name) { return v }
        switch name {
        case "title": return "Cancel \(t.publicID)?"
        case "id": return t.publicID
        case "amount": return t.amount.display
        case "type": return t.type.title.lowercased()
        case "reason": return reason
        case "url": return "\(header.base)/transactions/\(t.publicID)"
        case "cancelURL": return "\(header.base)/transactions/\(t.publicID)/cancel"
        default: return nil
        }
    }
}
