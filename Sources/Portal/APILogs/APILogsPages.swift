import Web

// The view models of the API requests pages, filled by ``APILogsController``.

/// A request as a row of the list or the head of its page.
struct APIRequestItem: ViewModel {
    let row: APILogsStore.LogRow
    let url: String
    let zone: String

    var statusClass: String { row.status >= 500 ? "rejected" : row.status >= 400 ? "open" : "approved" }

    /// "12.3 ms", "840 µs".
    static func duration(_ micros: Int64) -> String {
        if micros < 1000 { return "\(micros) µs" }
        let tenths = (micros + 50) / 100
        return "\(tenths / 10).\(tenths % 10) ms"
    }

    func child(named name: String) -> Any? {
        switch name {
        case "url": url
        case "requestID": row.requestID
        case "time": PageTime.full(row.createdAt, zone: zone)
        case "timeISO": PageTime.iso8601(row.createdAt)
        case "method": row.method
        case "path": row.path
        case "status": String(row.status)
        case "statusClass": statusClass
        case "duration": Self.duration(row.durationMicroseconds)
        case "key": row.credentialName ?? "No key"
        case "keyLabel": row.credentialLabel ?? ""
        case "hasKeyLabel": row.credentialLabel != nil
        case "keyID": row.credentialID ?? ""
        case "hasKey": row.credentialID != nil
        case "ip": row.ip
        case "userAgent": row.userAgent
        default: nil
        }
    }
}

/// `/orgs/:org/:env/logs/api`: the environment's API requests, newest first, with filters.
struct APILogsListPage: ViewModel {
    let env: EnvAccess
    let page: APILogs.Page
    let baseURL: String
    let form: FormState
    let items: [APIRequestItem]
    /// The days rows and bodies are kept, as the operator configured them.
    let retention: (rows: Int, bodies: Int)

    init(env: EnvAccess, page: APILogs.Page, baseURL: String, retention: (rows: Int, bodies: Int)) {
        self.env = env
        self.retention = retention
        self.page = page
        self.baseURL = baseURL
        let f = page.filter
        form = FormState(values: ["key": f.key, "status": f.status, "path": f.path, "from": f.from, "to": f.to], errors: page.resolved.errors,
                         order: ["key", "status", "path", "from", "to"])
        let base = APILogsController.base(env)
        items = page.rows.map { APIRequestItem(row: $0, url: "\(base)/\($0.requestID)", zone: env.user.timeZone) }
    }

    func link(_ pairs: [(String, String)]) -> String {
        let base = APILogsController.base(env)
        return pairs.isEmpty ? base : base + "?" + URLEncodedForm.encode(pairs)
    }

    func child(named name: String) -> Any? {
        let f = page.filter
        switch name {
        case "title": return "API requests · \(env.environment.title) · \(env.org.displayName)"
        case "environment": return env.environment.title
        case "envKey": return env.environment.rawValue
        case "isProduction": return env.isProduction
        case "zone": return env.user.timeZone
        case "action": return APILogsController.base(env)
        case "clearURL": return APILogsController.base(env)
        case "keys":
            var choices = page.credentials.map { c in
                Choice(value: c.id, label: c.label.map { "\($0) (\(c.name))" } ?? "\(c.name) (\(c.id))", selected: c.id == f.key)
            }
            // A key filtered on that the list no longer names stays chosen, shown by its id.
            if !f.key.isEmpty, page.resolved.errors["key"] == nil, !page.credentials.contains(where: { $0.id == f.key }) {
                choices.append(Choice(value: f.key, label: f.key, selected: true))
            }
            return choices
        case "statuses": return APILogFilter.statusClasses.map { Choice(value: $0.0, label: $0.1, selected: $0.0 == f.status) }
        case "requests": return items
        case "hasRequests": return !items.isEmpty
        case "isFiltered": return f.isFiltered
        case "neverCalled": return !page.hasAny
        case "curl": return "curl \(baseURL)/v1/balances -H \"Authorization: Bearer \(env.isProduction ? "sk_live_" : "sk_sandbox_")…\""
        case "hasPageError": return page.resolved.errors["page"] != nil
        case "pageError": return page.resolved.errors["page"] ?? ""
        case "hasNewer": return page.newerCursor != nil
        case "hasOlder": return page.olderCursor != nil
        case "newerURL": return page.newerCursor.map { link(f.pairs + [("after", String($0))]) } ?? ""
        case "olderURL": return page.olderCursor.map { link(f.pairs + [("before", String($0))]) } ?? ""
        case "newestURL": return link(f.pairs)
        case "isPaged": return page.isPaged
        case "hasPager": return page.newerCursor != nil || page.olderCursor != nil
        case "retentionDays": return String(retention.rows)
        case "bodyDays": return String(retention.bodies)
        default: return form.child(named: name)
        }
    }
}

/// `/orgs/:org/:env/logs/api/:request`: one request, its headers and, for a failure still
/// within the bodies' retention, the masked bodies.
struct APIRequestPage: ViewModel {
    let env: EnvAccess
    let detail: APILogsStore.Detail
    let bodyDays: Int

    func child(named name: String) -> Any? {
        let item = APIRequestItem(row: detail.row, url: "", zone: env.user.timeZone)
        switch name {
        case "title": return "API request \(detail.row.requestID) · \(env.environment.title) · \(env.org.displayName)"
        case "environment": return env.environment.title
        case "envKey": return env.environment.rawValue
        case "listURL": return APILogsController.base(env)
        case "requestHeaders": return detail.requestHeaders
        // Kept without the request id since it is the request's own; rows kept before had it.
        case "responseHeaders":
            return detail.responseHeaders.hasPrefix("Request-Id: ") ? detail.responseHeaders : "Request-Id: \(detail.row.requestID)\n" + detail.responseHeaders
        case "hasBodies": return detail.requestBody != nil
        case "requestBody": return detail.requestBody.map { $0.isEmpty ? "(empty)" : $0 } ?? ""
        case "responseBody": return detail.responseBody.map { $0.isEmpty ? "(empty)" : $0 } ?? ""
        case "isFailure": return detail.row.status >= 400
        case "bodyDays": return String(bodyDays)
        case "item": return item
        default: return item.child(named: name)
        }
    }
}
