import Foundation
import Web

// The view models of the webhook pages, filled by ``WebhooksController``. None holds a secret
// but ``WebhookEndpointPage`` right after a reveal or rotation.

private func envChild(_ env: EnvAccess, _ name: String) -> Any? {
    switch name {
    case "environment": env.environment.title
    case "isProduction": env.isProduction
    case "orgName": env.org.displayName
    case "listURL": WebhooksController.base(env)
    case "newURL": "\(WebhooksController.base(env))/new"
    case "checkerURL": "\(WebhooksController.base(env))/check-signature"
    default: nil
    }
}

/// An endpoint as a row of the list or the head of its page.
struct WebhookEndpointItem: ViewModel {
    let endpoint: WebhookEndpoint
    let health: WebhookHealth?
    let url: String
    let zone: String
    let now: Int64

    var stateTitle: String {
        if !endpoint.enabled {
            return endpoint.disabledReason.map { "Disabled: \($0)" } ?? "Disabled"
        }
        if let since = endpoint.failingSince { return "Failing since \(PageTime.full(since, zone: zone))" }
        return "Healthy"
    }

    func child(named name: String) -> Any? {
        let e = endpoint
        switch name {
        case "id": return e.publicID
        case "url": return url
        case "endpointURL": return e.url
        case "description": return e.description
        case "hasDescription": return !e.description.isEmpty
        case "events": return e.eventsSummary
        case "enabled": return e.enabled
        case "state": return stateTitle
        case "stateClass": return !e.enabled ? "rejected" : (e.failingSince != nil ? "open" : "approved")
        case "lastDelivery": return health?.lastDeliveryAt.map { PageTime.full($0, zone: zone) } ?? "Never"
        case "successRate": return health?.successRate ?? "—"
        case "attempts24h": return health?.attempts24h ?? 0
        case "created": return PageTime.full(e.createdAt, zone: zone)
        case "createdBy": return e.createdByName
        case "rotating": return e.oldSecretUntil.map { $0 > now } ?? false
        case "oldSecretUntil": return e.oldSecretUntil.map { PageTime.full($0, zone: zone) } ?? ""
        default: return nil
        }
    }
}

/// `/orgs/:org/:env/webhooks`: the endpoints with their health.
struct WebhooksListPage: ViewModel {
    let env: EnvAccess
    let mayChange: Bool
    let items: [WebhookEndpointItem]

    init(env: EnvAccess, items: [Webhooks.Listed], mayChange: Bool, now: Int64) {
        self.env = env
        self.mayChange = mayChange
        let base = WebhooksController.base(env)
        self.items = items.map { WebhookEndpointItem(endpoint: $0.endpoint, health: $0.health, url: "\(base)/\($0.endpoint.publicID)", zone: env.user.timeZone, now: now) }
    }

    func child(named name: String) -> Any? {
        switch name {
        case "title": return "Webhooks · \(env.environment.title) · \(env.org.displayName)"
        case "mayChange": return mayChange
        case "endpoints": return items
        case "hasEndpoints": return !items.isEmpty
        default: return envChild(env, name)
        }
    }
}

/// The add and edit form.
struct WebhookFormPage: ViewModel {
    let env: EnvAccess
    let form: FormState
    let endpoint: WebhookEndpoint?

    func child(named name: String) -> Any? {
        let chosen = Set((form.values["events"] ?? "").split(separator: " ").map(String.init))
        let base = WebhooksController.base(env)
        switch name {
        case "title": return (endpoint == nil ? "New webhook endpoint" : "Edit webhook endpoint") + " · \(env.environment.title) · \(env.org.displayName)"
        case "isEdit": return endpoint != nil
        case "action": return endpoint.map { "\(base)/\($0.publicID)/edit" } ?? "\(base)/new"
        case "backURL": return endpoint.map { "\(base)/\($0.publicID)" } ?? base
        case "allChecked": return chosen.contains("all") || chosen.isEmpty && form.errors.isEmpty
        case "types":
            return WebhookCatalogue.all.filter { $0.type != WebhookCatalogue.test }.map { t -> [String: Any] in
                ["type": t.type, "summary": t.summary, "checked": chosen.contains(t.type), "id": "event_" + t.type.replacingOccurrences(of: ".", with: "_")]
            }
        default: return envChild(env, name) ?? form.child(named: name)
        }
    }
}

/// A delivery as a row.
struct WebhookDeliveryItem: ViewModel {
    let delivery: WebhookDelivery
    let url: String
    let zone: String

    func child(named name: String) -> Any? {
        let d = delivery
        switch name {
        case "id": return d.publicID
        case "url": return url
        case "event": return d.eventPublicID
        case "type": return d.eventType
        case "state": return d.state == .pending && d.attempts > 0 ? "Retrying" : d.state.title
        case "stateClass":
            switch d.state {
            case .succeeded: return "approved"
            case .failed: return "rejected"
            case .pending: return "open"
            }
        case "attempts": return d.attempts
        case "created": return PageTime.full(d.createdAt, zone: zone)
        case "lastAttempt": return d.lastAttemptAt.map { PageTime.full($0, zone: zone) } ?? "Not yet"
        case "result": return d.lastStatus.map { "HTTP \($0)" } ?? d.lastError ?? ""
        case "error": return d.lastError ?? ""
        case "hasNext": return d.state == .pending && d.nextAttemptAt != nil && d.attempts > 0
        case "next": return d.nextAttemptAt.map { PageTime.full($0, zone: zone) } ?? ""
        case "isReplay": return d.replayOf != nil
        default: return nil
        }
    }
}

/// `/orgs/:org/:env/webhooks/:endpoint`: the endpoint, its deliveries and its forms.
struct WebhookEndpointPage: ViewModel {
    let env: EnvAccess
    let page: Webhooks.Page
    let filter: Webhooks.Filter
    let item: WebhookEndpointItem
    let mayChange: Bool
    let form: FormState
    let replaySince: String
    let revealed: [String]?

    init(env: EnvAccess, page: Webhooks.Page, filter: Webhooks.Filter, health: WebhookHealth, mayChange: Bool, now: Int64, form: FormState,
         replaySince: String, revealed: [String]?) {
        self.env = env
        self.page = page
        self.filter = filter
        self.mayChange = mayChange
        self.form = form
        self.replaySince = replaySince
        self.revealed = revealed
        item = WebhookEndpointItem(endpoint: page.endpoint, health: health, url: "\(WebhooksController.base(env))/\(page.endpoint.publicID)",
                                   zone: env.user.timeZone, now: now)
    }

    func child(named name: String) -> Any? {
        let url = item.url
        let overlap = form.values["overlap"] ?? "86400"
        switch name {
        case "title": return "Webhook endpoint · \(env.environment.title) · \(env.org.displayName)"
        case "endpoint": return item
        case "mayChange": return mayChange
        case "deliveries": return page.deliveries.map { WebhookDeliveryItem(delivery: $0, url: "\(url)/deliveries/\($0.publicID)", zone: env.user.timeZone) }
        case "hasDeliveries": return !page.deliveries.isEmpty
        case "isFiltered": return !filter.state.isEmpty || !filter.type.isEmpty || !filter.from.isEmpty || !filter.to.isEmpty
        case "hasNext": return page.next != nil
        case "nextURL":
            var q = ["state": filter.state, "type": filter.type, "from": filter.from, "to": filter.to].filter { !$0.value.isEmpty }
            q["before"] = page.next ?? ""
            return url + "?" + q.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? "")" }.joined(separator: "&")
        case "filter": return ["state": filter.state, "type": filter.type, "from": filter.from, "to": filter.to]
        case "filterErrors": return page.errors
        case "states": return [("", "Any state"), ("succeeded", "Succeeded"), ("failed", "Failed"), ("pending", "Pending")].map { v, l in
            ["value": v, "label": l, "selected": v == filter.state] }
        case "types": return ([""] + WebhookCatalogue.types).map { t in ["value": t, "label": t.isEmpty ? "Any event" : t, "selected": t == filter.type] }
        case "editURL": return "\(url)/edit"
        case "testURL": return "\(url)/test"
        case "disableURL": return "\(url)/disable"
        case "enableURL": return "\(url)/enable"
        case "deleteURL": return "\(url)/delete"
        case "replayURL": return "\(url)/replay"
        case "secretURL": return "\(url)/secret"
        case "rotateURL": return "\(url)/rotate-secret"
        case "replaySince": return form.values["since"] ?? replaySince
        case "revealed": return revealed ?? []
        case "hasRevealed": return revealed != nil
        case "overlaps":
            return [("0", "Stop the old secret now"), ("86400", "24 hours"), ("604800", "7 days")].map { value, label in
                ["value": value, "label": label, "checked": value == overlap, "id": "overlap_\(value)"]
            }
        default: return envChild(env, name) ?? form.child(named: name)
        }
    }
}

/// `/orgs/:org/:env/webhooks/:endpoint/deliveries/:delivery`: the attempts, each with its
/// exact request and response. Refreshes itself (no script) while nothing came back yet.
struct WebhookDeliveryPage: ViewModel {
    let env: EnvAccess
    let detail: Webhooks.Detail
    let mayChange: Bool
    let now: Int64

    var sending: Bool { detail.delivery.state == .pending && detail.delivery.attempts == 0 }

    func child(named name: String) -> Any? {
        let d = detail.delivery
        let endpointURL = "\(WebhooksController.base(env))/\(detail.endpoint.publicID)"
        let zone = env.user.timeZone
        switch name {
        case "title": return "\(d.eventType) delivery · \(env.environment.title) · \(env.org.displayName)"
        case "endpointURL": return endpointURL
        case "endpoint": return detail.endpoint.url
        case "delivery": return WebhookDeliveryItem(delivery: d, url: "\(endpointURL)/deliveries/\(d.publicID)", zone: zone)
        case "sending": return sending
        case "refresh": return sending || (d.state == .pending && (d.nextAttemptAt ?? .max) <= now + 10) ? "1" : nil
        case "replayURL": return "\(endpointURL)/deliveries/\(d.publicID)/replay"
        case "mayChange": return mayChange
        case "payload": return detail.event.map { WebhookCatalogue.envelope(id: $0.publicID, type: $0.type, created: $0.createdAt, environment: $0.environment, data: $0.data) } ?? ""
        case "attempts":
            return detail.attempts.reversed().map { a -> [String: Any] in
                ["number": a.number, "at": PageTime.full(a.at, zone: zone), "duration": "\(a.durationMs) ms", "url": a.url,
                 "status": a.responseStatus.map { "HTTP \($0)" } ?? "No answer", "succeeded": a.succeeded,
                 "statusClass": a.succeeded ? "approved" : "rejected", "error": a.error ?? "", "hasError": a.error != nil,
                 "requestHeaders": a.requestHeaders, "requestBody": a.requestBody,
                 "responseHeaders": a.responseHeaders ?? "", "hasResponse": a.responseStatus != nil,
                 "responseBody": a.responseBody.map { String(decoding: $0, as: UTF8.self) } ?? "",
                 "next": a.nextAttemptAt.map { PageTime.full($0, zone: zone) } ?? "", "hasNext": a.nextAttemptAt != nil]
            }
        case "hasAttempts": return !detail.attempts.isEmpty
        default: return envChild(env, name)
        }
    }
}

/// The delete confirmation.
struct WebhookConfirmPage: ViewModel {
    let env: EnvAccess
    let endpoint: WebhookEndpoint

    func child(named name: String) -> Any? {
        switch name {
        case "title": return "Delete webhook endpoint · \(env.environment.title) · \(env.org.displayName)"
        case "endpointURL": return endpoint.url
        case "backURL": return "\(WebhooksController.base(env))/\(endpoint.publicID)"
        case "deleteURL": return "\(WebhooksController.base(env))/\(endpoint.publicID)/delete"
        default: return envChild(env, name)
        }
    }
}

/// The signature checker: what was pasted comes back in the form (the secret does not).
struct WebhookCheckerPage: ViewModel {
    let env: EnvAccess
    let form: FormState
    let result: Webhooks.CheckResult?
    let endpoints: [WebhookEndpoint]

    func child(named name: String) -> Any? {
        switch name {
        case "title": return "Signature checker · \(env.environment.title) · \(env.org.displayName)"
        case "action": return "\(WebhooksController.base(env))/check-signature"
        case "hasResult": return result != nil
        case "valid": return result?.valid ?? false
        case "headline": return result?.headline ?? ""
        case "reasons": return result?.reasons ?? []
        case "hasEndpoints": return !endpoints.isEmpty
        case "endpoints": return endpoints.map { ["id": $0.publicID, "url": $0.url, "selected": form.values["endpoint"] == $0.publicID] }
        default: return envChild(env, name) ?? form.child(named: name)
        }
    }
}

/// `/docs/webhooks`: every event type with a sample payload, and how to verify a delivery.
struct WebhookCataloguePage: ViewModel {
    func child(named name: String) -> Any? {
        switch name {
        case "title": return "Webhook events"
        case "types": return WebhookCatalogue.all.map { t in
            ["type": t.type, "summary": t.summary, "sample": Self.pretty(WebhookCatalogue.sample(t)), "anchor": t.type.replacingOccurrences(of: ".", with: "-")] }
        case "schedule": return "immediately, then after 5 seconds, 5 minutes, 30 minutes, 2 hours, 5 hours, 10 hours, 14 hours, 20 hours and 24 hours (each ±10 %)"
        default: return nil
        }
    }

    static func pretty(_ json: String) -> String {
        guard let obj = try? JSONSerialization.jsonObject(with: Data(json.utf8)),
              let d = try? JSONSerialization.data(withJSONObject: obj, options: [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]) else { return json }
        return String(decoding: d, as: UTF8.self)
    }
}
