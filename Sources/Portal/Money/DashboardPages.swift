import Foundation
import Web

// The view models of the environment's pages, filled by ``DashboardController``. Times are in
// the viewer's time zone; amounts use `Amount.display`; account numbers show only `Party.masked`.

/// What every environment page says about where it is.
struct EnvHeader {
    let env: EnvAccess

    var base: String { "/orgs/\(env.org.publicID)/\(env.environment.rawValue)" }

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

/// The rows of a transactions table (the dashboard's recent list and the list's pages), made
/// here and not in the template: measured on 1M transactions, 25 rows through Mustache cost
/// about 1 ms a view (a dynamic cast per looked-up value), more than every query of the page
/// together. Every value from data is escaped; the markup stays that of the table head in
/// `money/_rows.mustache`.
enum TransactionRows {
    static func html(_ list: [TransactionRecord], env: EnvAccess) -> String {
        let base = EnvHeader(env: env).base
        let linked = env.can(.transactionsRead)
        let zone = env.user.timeZone
        var s = ""
        s.reserveCapacity(list.count * 600)
        for t in list {
            let id = htmlEscape(t.publicID)
            s += "    <tr>\n      <td class=\"when\">" + PageTime.compact(t.createdAt, zone: zone) + "</td>\n      <td>"
            s += linked ? "<a href=\"\(base)/transactions/\(id)\" class=\"mono\">\(id)</a>" : "<span class=\"mono\">\(id)</span>"
            if let e = t.externalID { s += "<div class=\"hint mono\">" + htmlEscape(e) + "</div>" }
            s += "</td>\n      <td>\(t.type.title)</td>\n      <td><span class=\"status \(t.status.rawValue)\">\(t.status.title)</span></td>\n"
            s += "      <td>" + htmlEscape(t.type.isIncoming ? t.sender.name : t.recipient.name) + "</td>\n"
            s += "      <td class=\"num\">" + htmlEscape((t.type.isIncoming ? "" : "−") + t.amount.display) + "</td>\n    </tr>\n"
        }
        return s
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
struct TransactionListPage: ViewModel {
    let header: EnvHeader
    let search: TransactionSearch
    let page: Dashboard.ListPage

    init(_ env: EnvAccess, search: TransactionSearch, page: Dashboard.ListPage) {
        self.header = EnvHeader(env: env)
        self.search = search
        self.page = page
    }

    func link(_ extra: (String, String)?) -> String {
        let pairs = search.pairs + (extra.map { [$0] } ?? [])
        let base = "\(header.base)/transactions"
        guard !pairs.isEmpty else { return base }
        return base + "?" + pairs.map { "\(Self.encode($0.0))=\(Self.encode($0.1))" }.joined(separator: "&")
    }

    static func encode(_ s: String) -> String {
        s.addingPercentEncoding(withAllowedCharacters: unreserved) ?? ""
    }

    /// RFC 3986's unreserved characters, made once (a CharacterSet per link was 4 % of a list).
    private static let unreserved: CharacterSet = {
        var allowed = CharacterSet.alphanumerics
        allowed.insert(charactersIn: "-._~")
        return allowed
    }()

    static func options(_ all: [(value: String, label: String)], selected: String) -> String {
        all.map { o in "        <option value=\"\(o.value)\"\(o.value == selected ? " selected" : "")>\(htmlEscape(o.label))</option>\n" }.joined()
    }

    /// The filters, made here rather than in the template: with a value, an error and its
    /// references per field, about sixty values looked up one by one in Mustache (a dynamic
    /// cast or more each) cost more than the search itself. Values from the query are escaped;
    /// the rest is ours.
    func filtersForm(_ errors: [String: String]) -> String {
        func field(_ name: String, _ label: String, control: (String) -> String) -> String {
            let error = errors[name]
            let invalid = error == nil ? "" : " aria-invalid=\"true\" aria-describedby=\"\(name)-error\""
            var s = "    <div class=\"field\(error == nil ? "" : " has-error")\">\n      <label for=\"\(name)\">\(label)</label>\n"
            s += control(invalid)
            if let error { s += "      <p class=\"error\" id=\"\(name)-error\">\(htmlEscape(error))</p>\n" }
            return s + "    </div>\n"
        }
        func date(_ name: String, _ label: String, _ value: String) -> String {
            field(name, label) { invalid in
                "      <input id=\"\(name)\" name=\"\(name)\" type=\"date\" value=\"\(htmlEscape(value))\" placeholder=\"YYYY-MM-DD\" pattern=\"\\d{4}-\\d{2}-\\d{2}\"\(invalid)>\n"
            }
        }
        func select(_ name: String, _ label: String, any: String, _ options: [(value: String, label: String)], selected: String) -> String {
            field(name, label) { invalid in
                "      <select id=\"\(name)\" name=\"\(name)\"\(invalid)>\n        <option value=\"\">\(any)</option>\n"
                    + Self.options(options, selected: selected) + "      </select>\n"
            }
        }
        var s = "<form class=\"card filters\" method=\"get\" action=\"\(htmlEscape(header.base))/transactions\" novalidate aria-label=\"Filter transactions\">\n"
        if errors.keys.contains(where: { $0 != "page" }) {
            s += "  <div class=\"flash alert\" role=\"alert\">Some filters could not be used and are left out; see the messages below. The other filters still apply.</div>\n"
        }
        s += "  <div class=\"grid\">\n"
        s += field("external_id", "External ID") { invalid in
            "      <input id=\"external_id\" name=\"external_id\" type=\"text\" maxlength=\"200\" autocomplete=\"off\" value=\"\(htmlEscape(search.externalID))\"\(invalid)>\n"
        }
        s += date("from", "From", search.from)
        s += date("to", "To (including that day)", search.to)
        s += select("status", "Status", any: "Any status", TransactionStatus.allCases.map { ($0.rawValue, $0.title) }, selected: search.status)
        s += select("type", "Type", any: "Any type", TransactionType.allCases.map { ($0.rawValue, $0.title) }, selected: search.type)
        s += "  </div>\n  <div class=\"actions\">\n    <button type=\"submit\" class=\"primary\">Search</button>\n"
        if search.isFiltered { s += "    <a class=\"button secondary\" href=\"\(htmlEscape(header.base))/transactions\">Clear filters</a>\n" }
        return s + "  </div>\n</form>"
    }

    func child(named name: String) -> Any? {
        if let v = header.child(named: name) { return v }
        let errors = page.resolved.errors
        switch name {
        case "title": return "Transactions · \(header.env.environment.title) · \(header.env.org.displayName)"
        case "pageError": return errors["page"] ?? ""
        // The options are made here, not looped in Mustache: nine small dictionaries looked up
        // value by value were a fifth of the page's time (identifiers and titles are ours, not data).
        case "filtersForm": return filtersForm(errors)
        case "rows": return TransactionRows.html(page.rows, env: header.env)
        case "hasRows": return !page.rows.isEmpty
        case "isFiltered": return search.isFiltered
        case "clearURL": return "\(header.base)/transactions"
        case "nextURL": return page.next.map { link(("before", $0)) } ?? ""
        case "previousURL": return page.previous.map { link(("after", $0)) } ?? ""
        case "hasNext": return page.next != nil
        case "hasPrevious": return page.previous != nil
        case "hasPageError": return errors["page"] != nil
        case "hasPager": return page.next != nil || page.previous != nil
        default: return nil
        }
    }
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
