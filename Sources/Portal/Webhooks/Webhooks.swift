import Database
import Foundation
import Jobs
import Logging
import Mail
import Outbound
import Security

/// Webhooks: endpoints per environment that receive the organization's events, signed as the
/// Standard Webhooks specification says, retried on a published schedule from a durable queue.
///
/// The rules, all checked here whatever the pages show:
/// - `webhooks.read` sees endpoints, health, deliveries and attempts; `webhooks.write` adds,
///   edits, disables, deletes, reveals and rotates secrets, replays and sends test events.
/// - Production endpoints are `https://`; every URL is checked against the address policy
///   (no loopback, private, link-local… unless the server runs with
///   `--webhooks-allow-private-networks`) when saved, and again at every delivery.
/// - A signing secret is sealed with the server key; revealing or rotating it needs a fresh
///   authenticator code and is audited. During a rotation's overlap both secrets sign.
/// - Every change is audited in its transaction; a replay is a new delivery of the same event
///   (the same `webhook-id`).
final class Webhooks: Sendable {
    let database: Database
    let clock: PortalClock
    let organizations: Organizations
    let client: OutboundClient
    let box: SecretBox
    let jobs: JobWorker?
    let retentionDays: Int
    let store = WebhooksStore()
    let audit: Audit
    let events: Events
    let logger: Logger
    /// Wakes the dispatcher when a delivery is queued by a person (test, replay).
    let wakeup = WebhookWakeup()

    static let maintainKind = "webhooks.maintain"
    static let maintainInterval: Int64 = 3600
    /// An endpoint failing every attempt this long is disabled.
    static let disableAfter: Int64 = 5 * 86400
    static let overlapChoices: [Int64] = [0, 86400, 604800]
    static let descriptionField = TextField(maximumCharacters: 500)
    static let pageSize = 50

    var accounts: Accounts { organizations.accounts }

    init(database: Database, clock: PortalClock, organizations: Organizations, client: OutboundClient, box: SecretBox, jobs: JobWorker?,
         retentionDays: Int, logger: Logger) {
        self.database = database
        self.clock = clock
        self.organizations = organizations
        self.client = client
        self.box = box
        self.jobs = jobs
        self.retentionDays = retentionDays
        self.logger = logger
        audit = Audit(clock: clock)
        events = Events(clock: clock)
    }

    // MARK: - who may do what

    func mayView(_ env: EnvAccess) -> Bool { env.can(.webhooksRead) || env.can(.webhooksWrite) }
    func mayChange(_ env: EnvAccess) -> Bool { env.can(.webhooksWrite) }

    func requireView(_ env: EnvAccess) throws {
        if !mayView(env) { try env.require(.webhooksRead) }
    }

    // MARK: - reading

    struct Listed: Sendable {
        let endpoint: WebhookEndpoint
        let health: WebhookHealth
    }

    func list(_ env: EnvAccess) throws -> [Listed] {
        try requireView(env)
        let since = clock.now() - 86400
        return try database.read { db in
            try store.endpoints(organizationID: env.org.id, environment: env.environment, on: db).map {
                Listed(endpoint: $0, health: try store.health(endpointID: $0.id, since: since, on: db))
            }
        }
    }

    /// An endpoint of this organization and environment; any other id is ``OrgProblem/notFound``.
    func endpoint(_ env: EnvAccess, _ publicID: String) throws -> WebhookEndpoint {
        try requireView(env)
        return try database.read { try find(env, publicID, on: $0) }
    }

    private func find(_ env: EnvAccess, _ publicID: String, on db: Connection) throws -> WebhookEndpoint {
        guard PublicID.isWellFormed(publicID, prefix: "we"),
              let e = try store.endpoint(publicID: publicID, organizationID: env.org.id, environment: env.environment, on: db) else {
            throw OrgProblem.notFound
        }
        return e
    }

    func health(_ e: WebhookEndpoint) throws -> WebhookHealth {
        try database.read { try store.health(endpointID: e.id, since: clock.now() - 86400, on: $0) }
    }

    struct Filter: Sendable {
        var state = ""
        var type = ""
        /// `YYYY-MM-DD` in the member's zone.
        var from = ""
        var to = ""
        var before = ""
    }

    struct Page: Sendable {
        let endpoint: WebhookEndpoint
        let deliveries: [WebhookDelivery]
        let next: String?
        let errors: [String: String]
    }

    /// The endpoint's deliveries, newest first, filtered, 50 a page (keyset on the row).
    func deliveries(_ env: EnvAccess, _ publicID: String, filter: Filter) throws -> Page {
        let e = try endpoint(env, publicID)
        var errors: [String: String] = [:]
        let state = WebhookDeliveryState(rawValue: filter.state)
        if !filter.state.isEmpty && state == nil { errors["state"] = "Choose succeeded, failed or pending." }
        let type = filter.type.isEmpty ? nil : filter.type
        if let type, !WebhookCatalogue.types.contains(type) { errors["type"] = "Choose an event type from the catalogue." }
        var from: Int64?, to: Int64?
        if !filter.from.isEmpty {
            do { from = try Self.startOfDay(filter.from, zone: env.user.timeZone) } catch { errors["from"] = "Enter a date like 2026-03-01." }
        }
        if !filter.to.isEmpty {
            do { to = try Self.startOfDay(filter.to, zone: env.user.timeZone) + 86400 } catch { errors["to"] = "Enter a date like 2026-03-01." }
        }
        let before = Int64(filter.before).flatMap { $0 > 0 ? $0 : nil }
        let rows = try database.read { db in
            try store.deliveries(endpointID: e.id, state: state, type: errors["type"] == nil ? type : nil, from: from, to: to, before: before,
                                 limit: Self.pageSize + 1, on: db)
        }
        let page = Array(rows.prefix(Self.pageSize))
        return Page(endpoint: e, deliveries: page, next: rows.count > Self.pageSize ? page.last.map { String($0.id) } : nil, errors: errors)
    }

    struct Detail: Sendable {
        let endpoint: WebhookEndpoint
        let delivery: WebhookDelivery
        let attempts: [WebhookAttempt]
        let event: EventRecord?
    }

    func delivery(_ env: EnvAccess, _ endpointID: String, _ deliveryID: String) throws -> Detail {
        let e = try endpoint(env, endpointID)
        return try database.read { db in
            guard PublicID.isWellFormed(deliveryID, prefix: "whd"), let d = try store.delivery(publicID: deliveryID, endpointID: e.id, on: db) else {
                throw OrgProblem.notFound
            }
            return Detail(endpoint: e, delivery: d, attempts: try store.attempts(deliveryID: d.id, on: db), event: try events.event(id: d.eventID, on: db))
        }
    }

    /// Whether the environment has an endpoint (the getting-started step).
    func hasEndpoint(organizationID: Int64, environment: Environment, on db: Connection) throws -> Bool {
        try store.exists(organizationID: organizationID, environment: environment, on: db)
    }

    // MARK: - adding and changing

    struct Input: Sendable {
        var url = ""
        var description = ""
        /// The chosen types, or ["all"].
        var events: [String] = []
    }

    /// Checks the input; throws ``OrgProblem/invalid`` with a message per field. Resolves the
    /// URL's host (blocking: a request thread, never the event loop).
    func check(_ env: EnvAccess, _ input: Input) throws -> (url: String, description: String, types: [String]?) {
        try env.require(.webhooksWrite)
        var errors: [String: String] = [:]
        let url = input.url.trimmingCharacters(in: .whitespacesAndNewlines)
        if let problem = urlProblem(url, environment: env.environment) { errors["url"] = problem }
        let description = input.description.trimmingCharacters(in: .whitespacesAndNewlines)
        if let p = Self.descriptionField.problem(description) { errors["description"] = p }
        var types: [String]?
        let chosen = input.events.map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        if chosen.contains("all") {
            types = nil
        } else if chosen.isEmpty {
            errors["events"] = "Choose the events to send, or “All events”."
        } else if let unknown = chosen.first(where: { !WebhookCatalogue.subscribable.contains($0) }) {
            errors["events"] = "“\(unknown.prefix(60))” is not an event type of the catalogue."
        } else {
            types = WebhookCatalogue.subscribable.filter { chosen.contains($0) }
        }
        guard errors.isEmpty else { throw OrgProblem.invalid(errors) }
        return (url, description, types)
    }

    /// A sentence for the URL field, or nil when the URL may be used.
    func urlProblem(_ url: String, environment: Environment) -> String? {
        if url.isEmpty { return "Enter the URL that receives the events, like https://example.com/webhooks." }
        if url.count > 2048 { return "A URL has at most 2,048 characters." }
        let lower = url.lowercased()
        if environment == .production && !lower.hasPrefix("https://") {
            return "Production endpoints must use https:// so events travel encrypted."
        }
        if !lower.hasPrefix("https://") && !lower.hasPrefix("http://") { return "The URL must start with https:// (or http:// in Sandbox)." }
        do {
            _ = try client.check(url: url)
        } catch {
            return Self.sentence(error)
        }
        return nil
    }

    static func sentence(_ error: OutboundError) -> String {
        switch error {
        case .refusedAddress:
            return "\(error.message). Webhooks are only sent to public addresses."
        case .dnsFailure(let host):
            return "\(host) cannot be found (DNS): check the host name."
        case .invalidURL(let reason):
            return "This URL cannot be used: \(reason)."
        default:
            return error.message
        }
    }

    func create(_ env: EnvAccess, _ input: Input, actor: Actor) throws -> WebhookEndpoint {
        let checked = try check(env, input)
        let secret = StandardWebhooks.makeSecret()
        let publicID = PublicID.make("we")
        return try database.write { db in
            let id = try store.insertEndpoint(publicID: publicID, organizationID: env.org.id, environment: env.environment, url: checked.url,
                                              description: checked.description, eventTypes: checked.types, sealedSecret: try seal(secret, publicID),
                                              createdByName: env.user.name, at: clock.now(), on: db)
            guard let e = try store.endpoint(id: id, on: db) else { throw WebhooksError("endpoint not found after insert") }
            try audit.record(WebhooksAuditEvents.created, by: actor, organization: env.org.id, environment: env.environment.rawValue,
                             subject: e.publicID, details: ["url": .text(e.url), "events": .text(e.eventsSummary), "description": .text(e.description)], on: db)
            return e
        }
    }

    func update(_ env: EnvAccess, _ publicID: String, _ input: Input, actor: Actor) throws -> WebhookEndpoint {
        _ = try endpoint(env, publicID)
        let checked = try check(env, input)
        return try database.write { db in
            let before = try find(env, publicID, on: db)
            try store.update(id: before.id, url: checked.url, description: checked.description, eventTypes: checked.types, on: db)
            guard let after = try store.endpoint(id: before.id, on: db) else { throw OrgProblem.notFound }
            var details: AuditDetails = [:]
            if before.url != after.url { details["url"] = .change(before: before.url, after: after.url) } else { details["url"] = .text(after.url) }
            if before.eventsSummary != after.eventsSummary { details["events"] = .change(before: before.eventsSummary, after: after.eventsSummary) }
            if before.description != after.description { details["description"] = .change(before: before.description, after: after.description) }
            try audit.record(WebhooksAuditEvents.updated, by: actor, organization: env.org.id, environment: env.environment.rawValue,
                             subject: after.publicID, details: details, on: db)
            return after
        }
    }

    func disable(_ env: EnvAccess, _ publicID: String, actor: Actor) throws -> WebhookEndpoint {
        try env.require(.webhooksWrite)
        return try database.write { db in
            let e = try find(env, publicID, on: db)
            if try store.disable(id: e.id, reason: "Disabled by \(env.user.name)", at: clock.now(), on: db) {
                try audit.record(WebhooksAuditEvents.disabled, by: actor, organization: env.org.id, environment: env.environment.rawValue,
                                 subject: e.publicID, details: ["url": .text(e.url)], on: db)
            }
            return try store.endpoint(id: e.id, on: db) ?? e
        }
    }

    /// Enables the endpoint; returns it with how many deliveries failed since it started
    /// failing (or was disabled), which the page offers to replay.
    func enable(_ env: EnvAccess, _ publicID: String, actor: Actor) throws -> (endpoint: WebhookEndpoint, failedSince: Int64, failed: Int) {
        try env.require(.webhooksWrite)
        return try database.write { db in
            let e = try find(env, publicID, on: db)
            let since = min(e.failingSince ?? Int64.max, e.disabledAt ?? Int64.max)
            if try store.enable(id: e.id, on: db) {
                try audit.record(WebhooksAuditEvents.enabled, by: actor, organization: env.org.id, environment: env.environment.rawValue,
                                 subject: e.publicID, details: ["url": .text(e.url)], on: db)
            }
            let from = since == Int64.max ? clock.now() : since
            let failed = try store.failed(endpointID: e.id, since: from, on: db).count
            return (try store.endpoint(id: e.id, on: db) ?? e, from, failed)
        }
    }

    func delete(_ env: EnvAccess, _ publicID: String, actor: Actor) throws -> WebhookEndpoint {
        try env.require(.webhooksWrite)
        return try database.write { db in
            let e = try find(env, publicID, on: db)
            try store.delete(id: e.id, at: clock.now(), on: db)
            try audit.record(WebhooksAuditEvents.deleted, by: actor, organization: env.org.id, environment: env.environment.rawValue,
                             subject: e.publicID, details: ["url": .text(e.url)], on: db)
            return e
        }
    }

    // MARK: - secrets

    private static func associatedData(_ publicID: String) -> [UInt8] { Array("webhook secret \(publicID)".utf8) }

    func seal(_ secret: String, _ publicID: String) throws -> [UInt8] {
        try box.seal(Array(secret.utf8), associatedData: Self.associatedData(publicID))
    }

    func open(_ sealed: [UInt8], _ publicID: String) throws -> String {
        String(decoding: try box.open(sealed, associatedData: Self.associatedData(publicID)), as: UTF8.self)
    }

    /// The secrets that sign a delivery now: the current one, and the previous one during a
    /// rotation's overlap.
    func signingSecrets(_ e: WebhookEndpoint, now: Int64) throws -> [String] {
        var secrets = [try open(e.sealedSecret, e.publicID)]
        if let old = e.sealedOldSecret, let until = e.oldSecretUntil, until > now { secrets.append(try open(old, e.publicID)) }
        return secrets
    }

    static let codeMissing = "Enter the current code from your authenticator app."

    private func confirm(_ env: EnvAccess, code: String, actor: Actor) throws {
        if code.filter({ !$0.isWhitespace }).isEmpty { throw OrgProblem.invalid(["code": Self.codeMissing]) }
        try accounts.confirmCode(for: env, code: code, actor: actor)
    }

    /// The endpoint's signing secret(s), for a member with `webhooks.write` and a fresh code;
    /// audited.
    func reveal(_ env: EnvAccess, _ publicID: String, code: String, actor: Actor) throws -> (endpoint: WebhookEndpoint, secrets: [String]) {
        try env.require(.webhooksWrite)
        _ = try endpoint(env, publicID)
        try confirm(env, code: code, actor: actor)
        return try database.write { db in
            let e = try find(env, publicID, on: db)
            try audit.record(WebhooksAuditEvents.secretRevealed, by: actor, organization: env.org.id, environment: env.environment.rawValue,
                             subject: e.publicID, details: ["url": .text(e.url)], on: db)
            return (e, try signingSecrets(e, now: clock.now()))
        }
    }

    /// A new secret; the old one keeps signing for `overlap` seconds (0, a day or 7 days).
    func rotate(_ env: EnvAccess, _ publicID: String, overlap raw: String, code: String, actor: Actor) throws -> (endpoint: WebhookEndpoint, secret: String) {
        try env.require(.webhooksWrite)
        _ = try endpoint(env, publicID)
        guard let overlap = Int64(raw.trimmingCharacters(in: .whitespaces)), Self.overlapChoices.contains(overlap) else {
            var errors = ["overlap": "Choose how long the old secret keeps signing: not at all, 24 hours or 7 days."]
            if code.filter({ !$0.isWhitespace }).isEmpty { errors["code"] = Self.codeMissing }
            throw OrgProblem.invalid(errors)
        }
        try confirm(env, code: code, actor: actor)
        let secret = StandardWebhooks.makeSecret()
        return try database.write { db in
            let e = try find(env, publicID, on: db)
            let now = clock.now()
            let until = overlap > 0 ? now + overlap : nil
            try store.rotate(id: e.id, sealedSecret: try seal(secret, e.publicID), sealedOld: until == nil ? nil : e.sealedSecret, oldUntil: until, on: db)
            try audit.record(WebhooksAuditEvents.secretRotated, by: actor, organization: env.org.id, environment: env.environment.rawValue,
                             subject: e.publicID, details: ["url": .text(e.url), "overlap_ends": .text(until.map { PageTime.iso8601($0) } ?? "at once")], on: db)
            return (try store.endpoint(id: e.id, on: db) ?? e, secret)
        }
    }

    // MARK: - test, replay

    /// Queues a `webhook.test` event for this endpoint only; returns its delivery.
    func sendTest(_ env: EnvAccess, _ publicID: String, actor: Actor) throws -> WebhookDelivery {
        try env.require(.webhooksWrite)
        let d = try database.write { db -> WebhookDelivery in
            let e = try find(env, publicID, on: db)
            guard e.enabled else { throw OrgProblem.conflict("The endpoint is disabled: enable it to send a test event.") }
            let evt = try events.record(WebhookCatalogue.test, objectID: e.publicID, data: WebhookTestJSON(endpoint: e.publicID),
                                        organizationID: env.org.id, environment: env.environment, on: db)
            guard let event = try events.event(publicID: evt, on: db) else { throw WebhooksError("event not found after insert") }
            let id = try store.insertDelivery(publicID: PublicID.make("whd"), endpointID: e.id, eventID: event.id, eventType: event.type,
                                              replayOf: nil, at: clock.now(), on: db)
            try audit.record(WebhooksAuditEvents.testSent, by: actor, organization: env.org.id, environment: env.environment.rawValue,
                             subject: e.publicID, details: ["url": .text(e.url)], on: db)
            guard let d = try store.delivery(id: id, on: db) else { throw WebhooksError("delivery not found after insert") }
            return d
        }
        wakeup.signal()
        return d
    }

    /// A new delivery of the same event (the same `webhook-id`); audited.
    func replay(_ env: EnvAccess, _ publicID: String, delivery deliveryID: String, actor: Actor) throws -> WebhookDelivery {
        try env.require(.webhooksWrite)
        let d = try database.write { db -> WebhookDelivery in
            let e = try find(env, publicID, on: db)
            guard PublicID.isWellFormed(deliveryID, prefix: "whd"), let old = try store.delivery(publicID: deliveryID, endpointID: e.id, on: db) else {
                throw OrgProblem.notFound
            }
            guard e.enabled else { throw OrgProblem.conflict("The endpoint is disabled: enable it to replay deliveries.") }
            let id = try store.insertDelivery(publicID: PublicID.make("whd"), endpointID: e.id, eventID: old.eventID, eventType: old.eventType,
                                              replayOf: old.id, at: clock.now(), on: db)
            try audit.record(WebhooksAuditEvents.replayed, by: actor, organization: env.org.id, environment: env.environment.rawValue,
                             subject: e.publicID, details: ["url": .text(e.url), "delivery": .text(old.publicID)], on: db)
            guard let d = try store.delivery(id: id, on: db) else { throw WebhooksError("delivery not found after insert") }
            return d
        }
        wakeup.signal()
        return d
    }

    /// Replays every event whose latest delivery to this endpoint failed, made since `since`
    /// (`YYYY-MM-DD` or `YYYY-MM-DDTHH:MM` in the member's zone). Returns how many.
    func replayFailed(_ env: EnvAccess, _ publicID: String, since raw: String, actor: Actor) throws -> Int {
        try env.require(.webhooksWrite)
        let since: Int64
        do { since = try Self.instant(raw, zone: env.user.timeZone) } catch {
            throw OrgProblem.invalid(["since": "Enter a date and time like 2026-03-01 09:30."])
        }
        let count = try database.write { db -> Int in
            let e = try find(env, publicID, on: db)
            guard e.enabled else { throw OrgProblem.conflict("The endpoint is disabled: enable it to replay deliveries.") }
            let failed = try store.failed(endpointID: e.id, since: since, on: db)
            let now = clock.now()
            for old in failed {
                _ = try store.insertDelivery(publicID: PublicID.make("whd"), endpointID: e.id, eventID: old.eventID, eventType: old.eventType,
                                             replayOf: old.id, at: now, on: db)
            }
            try audit.record(WebhooksAuditEvents.replayed, by: actor, organization: env.org.id, environment: env.environment.rawValue,
                             subject: e.publicID, details: ["url": .text(e.url), "count": .text(String(failed.count)),
                                                            "since": .text(PageTime.iso8601(since))], on: db)
            return failed.count
        }
        wakeup.signal()
        return count
    }

    // MARK: - the signature checker

    struct CheckInput: Sendable {
        var payload = ""
        var webhookID = ""
        var timestamp = ""
        var signature = ""
        var secret = ""
        var endpoint = ""
    }

    struct CheckResult: Sendable {
        let valid: Bool
        let headline: String
        let reasons: [String]
    }

    /// Verifies pasted headers and payload; explains a failure. Nothing is stored or logged.
    func checkSignature(_ env: EnvAccess, _ input: CheckInput) throws -> CheckResult {
        try requireView(env)
        var errors: [String: String] = [:]
        var secrets: [String] = []
        let pasted = input.secret.trimmingCharacters(in: .whitespacesAndNewlines)
        if !pasted.isEmpty {
            secrets = [pasted]
        } else if !input.endpoint.isEmpty {
            // The endpoint's secrets never leave the server: only members who may reveal them may check with them.
            try env.require(.webhooksWrite)
            let e = try endpoint(env, input.endpoint)
            secrets = try signingSecrets(e, now: clock.now())
        } else {
            errors["secret"] = "Paste your signing secret (whsec_…) or choose the endpoint."
        }
        if input.webhookID.trimmingCharacters(in: .whitespaces).isEmpty { errors["webhook_id"] = "Paste the webhook-id header you received." }
        if input.timestamp.trimmingCharacters(in: .whitespaces).isEmpty { errors["webhook_timestamp"] = "Paste the webhook-timestamp header you received." }
        if input.signature.trimmingCharacters(in: .whitespaces).isEmpty { errors["webhook_signature"] = "Paste the webhook-signature header you received." }
        if input.payload.isEmpty { errors["payload"] = "Paste the body exactly as your server received it." }
        guard errors.isEmpty else { throw OrgProblem.invalid(errors) }
        return Self.explain(secrets: secrets, id: input.webhookID.trimmingCharacters(in: .whitespaces),
                            timestamp: input.timestamp.trimmingCharacters(in: .whitespaces), signature: input.signature.trimmingCharacters(in: .whitespaces),
                            payload: input.payload, now: clock.now())
    }

    static func explain(secrets: [String], id: String, timestamp: String, signature: String, payload: String, now: Int64) -> CheckResult {
        let body = Array(payload.utf8)
        var verdicts: [StandardWebhooks.Verdict] = []
        for s in secrets {
            let v = StandardWebhooks.verify(secret: s, id: id, timestamp: timestamp, signatureHeader: signature, body: body, now: now)
            if v == .valid { return CheckResult(valid: true, headline: "The signature is valid.", reasons: ["Your code should accept this delivery."]) }
            verdicts.append(v)
        }
        var reasons: [String] = []
        // Judge the signature with the time check out of the way, to say what else is wrong.
        let ts = Int64(timestamp)
        func matches(_ b: [UInt8]) -> Bool {
            guard let ts else { return false }
            return secrets.contains { StandardWebhooks.verify(secret: $0, id: id, timestamp: timestamp, signatureHeader: signature, body: b, now: ts) == .valid }
        }
        for v in verdicts {
            switch v {
            case .malformedSecret: reasons.append("The secret is not a signing secret: it starts with whsec_ followed by base64.")
            case .missingHeaders: reasons.append("A header is missing: webhook-id, webhook-timestamp and webhook-signature are all needed.")
            case .malformedSignatureHeader: reasons.append("The webhook-signature header does not look like “v1,<base64>” entries separated by spaces.")
            case .timestampTooOld(let s): reasons.append("The timestamp is \(s) seconds old: receivers refuse deliveries more than 5 minutes old, to stop replays. Check your server's clock, or that you are not re-checking an old delivery.")
            case .timestampInFuture(let s): reasons.append("The timestamp is \(s) seconds in the future: check your server's clock.")
            default: break
            }
        }
        let timeOnly = verdicts.contains { if case .timestampTooOld = $0 { return true }; if case .timestampInFuture = $0 { return true }; return false }
        if timeOnly && matches(body) {
            reasons.append("Apart from the time, the signature matches this secret and body.")
        } else if ts != nil && !verdicts.contains(.malformedSecret) && !verdicts.contains(.malformedSignatureHeader) {
            // Try what frameworks do to a body before the code sees it.
            var variants: [(String, [UInt8])] = []
            if payload.hasSuffix("\n") { variants.append(("without the trailing newline", Array(payload.dropLast().utf8))) }
            if payload.hasSuffix("\r\n") { variants.append(("without the trailing CRLF", Array(payload.dropLast(2).utf8))) }
            variants.append(("with a trailing newline", body + [10]))
            let trimmed = payload.trimmingCharacters(in: .whitespacesAndNewlines)
            if trimmed != payload { variants.append(("without the surrounding whitespace", Array(trimmed.utf8))) }
            // Whitespace between JSON tokens removed, keys kept in their order: pretty-printed JSON
            // made compact again.
            let minified = Self.minifiedJSON(payload)
            if minified != payload { variants.append(("as compact JSON (it was re-formatted)", Array(minified.utf8))) }
            if let obj = try? JSONSerialization.jsonObject(with: Data(body), options: [.fragmentsAllowed]) {
                for (label, opts) in [("as compact JSON", JSONSerialization.WritingOptions([.withoutEscapingSlashes])),
                                      ("as compact JSON with sorted keys", [.sortedKeys, .withoutEscapingSlashes])] {
                    if let d = try? JSONSerialization.data(withJSONObject: obj, options: opts) { variants.append((label, Array(d))) }
                }
            }
            if let hit = variants.first(where: { matches($0.1) }) {
                reasons.append("The body was altered: it matches the signature only \(hit.0). Verify the raw bytes you received, before any JSON parsing or re-serialization.")
            } else if verdicts.contains(.noMatch) {
                reasons.append("The signature does not match: either the secret is not this endpoint's (after a rotation, both secrets sign during the overlap), or the body differs from what was sent (re-serialized JSON, changed whitespace or encoding).")
            }
        } else if ts == nil {
            reasons.append("webhook-timestamp must be unix seconds, like 1700000000.")
        }
        return CheckResult(valid: false, headline: "The signature does not verify.", reasons: reasons)
    }

    /// `json` without the whitespace outside its strings.
    static func minifiedJSON(_ json: String) -> String {
        var out = [UInt8]()
        out.reserveCapacity(json.utf8.count)
        var inString = false, escaped = false
        for b in json.utf8 {
            if inString {
                out.append(b)
                if escaped { escaped = false } else if b == UInt8(ascii: "\\") { escaped = true } else if b == UInt8(ascii: "\"") { inString = false }
            } else if b == UInt8(ascii: "\"") {
                inString = true
                out.append(b)
            } else if b != 32 && b != 9 && b != 10 && b != 13 {
                out.append(b)
            }
        }
        return String(decoding: out, as: UTF8.self)
    }

    // MARK: - the operator's command line

    static let operatorActor = Actor(userID: nil, ip: "127.0.0.1", userAgent: "portal webhooks")

    /// `portal webhooks add-endpoint`: the same checks as the form, audited as the command line.
    func addAsOperator(organizationID: Int64, environment: Environment, url raw: String, events: [String]) throws -> (endpoint: WebhookEndpoint, secret: String) {
        let url = raw.trimmingCharacters(in: .whitespacesAndNewlines)
        if let problem = urlProblem(url, environment: environment) { throw OperatorProblem.invalid("--url: \(problem)") }
        let chosen = events.isEmpty ? ["all"] : events
        var types: [String]?
        if !chosen.contains("all") {
            if let unknown = chosen.first(where: { !WebhookCatalogue.subscribable.contains($0) }) { throw OperatorProblem.invalid("--events: unknown type \(unknown)") }
            types = WebhookCatalogue.subscribable.filter { chosen.contains($0) }
        }
        let secret = StandardWebhooks.makeSecret()
        let publicID = PublicID.make("we")
        let e = try database.write { db -> WebhookEndpoint in
            let id = try store.insertEndpoint(publicID: publicID, organizationID: organizationID, environment: environment, url: url, description: "",
                                              eventTypes: types, sealedSecret: try seal(secret, publicID), createdByName: "Operator", at: clock.now(), on: db)
            guard let e = try store.endpoint(id: id, on: db) else { throw WebhooksError("endpoint not found after insert") }
            try audit.record(WebhooksAuditEvents.created, by: Self.operatorActor, organization: organizationID, environment: environment.rawValue,
                             subject: e.publicID, details: ["url": .text(e.url), "events": .text(e.eventsSummary)], on: db)
            return e
        }
        return (e, secret)
    }

    /// `portal webhooks send-tests`: queues `count` test events for an endpoint (the bench),
    /// in transactions of 1,000. Returns the event ids.
    func queueTests(endpointPublicID: String, count: Int) throws -> [String] {
        var ids: [String] = []
        var left = count
        while left > 0 {
            let n = min(left, 1000)
            ids += try database.write { db -> [String] in
                guard let row = try store.endpoint(publicIDAnyOrg: endpointPublicID, on: db) else { throw OperatorProblem.invalid("no endpoint \(endpointPublicID)") }
                var out: [String] = []
                for _ in 0..<n {
                    let evt = try events.record(WebhookCatalogue.test, objectID: row.publicID, data: WebhookTestJSON(endpoint: row.publicID),
                                                organizationID: row.organizationID, environment: row.environment, on: db)
                    guard let event = try events.event(publicID: evt, on: db) else { throw WebhooksError("event not found after insert") }
                    _ = try store.insertDelivery(publicID: PublicID.make("whd"), endpointID: row.id, eventID: event.id, eventType: event.type,
                                                 replayOf: nil, at: clock.now(), on: db)
                    out.append(evt)
                }
                return out
            }
            left -= n
        }
        wakeup.signal()
        return ids
    }

    // MARK: - maintenance (the house job worker)

    /// Disables endpoints failing for 5 days (mailing the members who manage webhooks) and
    /// prunes deliveries older than the retention. Returns (disabled, pruned).
    @discardableResult
    func maintain() throws -> (disabled: Int, pruned: Int) {
        let now = clock.now()
        let disabled = try database.write { db -> Int in
            var n = 0
            for e in try store.failingSince(before: now - Self.disableAfter, on: db) {
                guard try store.disable(id: e.id, reason: "Failed every attempt for 5 days", at: now, on: db) else { continue }
                try audit.record(WebhooksAuditEvents.disabled, by: Actor(userID: nil, ip: "", userAgent: "Portal webhooks"), organization: e.organizationID,
                                 environment: e.environment.rawValue, subject: e.publicID,
                                 details: ["url": .text(e.url), "reason": .text("failed every attempt for 5 days")], on: db)
                try mailDisabled(e, on: db)
                n += 1
            }
            return n
        }
        var pruned = 0
        let before = now - Int64(retentionDays) * 86400
        while true {
            let n = try database.write { try store.prune(before: before, limit: 5000, on: $0) }
            pruned += n
            if n < 5000 { break }
        }
        if disabled > 0 || pruned > 0 { logger.info("webhooks maintained", metadata: ["disabled": "\(disabled)", "pruned": "\(pruned)"]) }
        return (disabled, pruned)
    }

    /// Disables an endpoint whose receiver answered 410 Gone; called in the dispatcher's batch.
    func disableGone(endpointID: Int64, on db: Connection) throws {
        guard let e = try store.endpoint(id: endpointID, on: db), try store.disable(id: e.id, reason: "The receiver answered 410 Gone", at: clock.now(), on: db) else { return }
        try audit.record(WebhooksAuditEvents.disabled, by: Actor(userID: nil, ip: "", userAgent: "Portal webhooks"), organization: e.organizationID,
                         environment: e.environment.rawValue, subject: e.publicID, details: ["url": .text(e.url), "reason": .text("410 Gone")], on: db)
    }

    private func mailDisabled(_ e: WebhookEndpoint, on db: Connection) throws {
        guard let org = try organizations.organization(id: e.organizationID, on: db), org.isActive else { return }
        let members = try organizations.members(organizationID: org.id, on: db)
            .filter { $0.member.isActive && $0.member.effectivePermissions.contains(.webhooksWrite) }
        let last = try store.deliveries(endpointID: e.id, state: nil, type: nil, from: nil, to: nil, before: nil, limit: 1, on: db).first
        let lastError = last.map { d in d.lastError ?? d.lastStatus.map { "HTTP \($0)" } ?? "no answer" } ?? "no answer"
        let mailer = accounts.mailer
        for m in members {
            let zone = try accounts.user(id: m.member.userID, on: db)?.timeZone ?? "UTC"
            do {
                try mailer.enqueue(
                    template: "webhook_disabled", to: m.email, subject: Team.subject("Webhook endpoint disabled: \(e.url)"),
                    context: ["name": m.name, "url": e.url, "orgName": org.displayName, "environment": e.environment.title,
                              "since": PageTime.full(e.failingSince ?? clock.now(), zone: zone), "lastError": lastError,
                              "link": mailer.url(path: "/orgs/\(org.publicID)/\(e.environment.rawValue)/webhooks/\(e.publicID)")],
                    on: db)
            } catch let error as MailError {
                logger.warning("webhook disabled mail not sent", metadata: ["error": "\(error)"])
            }
        }
    }

    func scheduleMaintenance(on jobs: JobWorker, at time: Int64) throws {
        try database.write { db in
            if try JobQueue.enqueueUnlessQueued(Self.maintainKind, payload: "", runAt: time, now: clock.now(), on: db) != nil { jobs.notify() }
        }
    }

    // MARK: - dates

    static func startOfDay(_ raw: String, zone: String) throws -> Int64 {
        let f = DateFormatter()
        f.locale = Locale(identifier: "en_US_POSIX")
        f.timeZone = PageTime.timeZone(zone)
        f.dateFormat = "yyyy-MM-dd"
        guard let d = f.date(from: raw.trimmingCharacters(in: .whitespaces)) else { throw WebhooksError("bad date") }
        return Int64(d.timeIntervalSince1970)
    }

    /// `YYYY-MM-DD`, `YYYY-MM-DD HH:MM` or `YYYY-MM-DDTHH:MM` (a datetime-local field) in `zone`.
    static func instant(_ raw: String, zone: String) throws -> Int64 {
        let text = raw.trimmingCharacters(in: .whitespaces).replacingOccurrences(of: "T", with: " ")
        if text.count == 10 { return try startOfDay(text, zone: zone) }
        let f = DateFormatter()
        f.locale = Locale(identifier: "en_US_POSIX")
        f.timeZone = PageTime.timeZone(zone)
        for format in ["yyyy-MM-dd HH:mm", "yyyy-MM-dd HH:mm:ss"] {
            f.dateFormat = format
            if let d = f.date(from: text) { return Int64(d.timeIntervalSince1970) }
        }
        throw WebhooksError("bad date")
    }
}

/// `webhook.test`'s object.
struct WebhookTestJSON: Encodable {
    let object = "webhook_test"
    let endpoint: String
    let message = "This is a test event from Portal."
}

/// Wakes the dispatcher's coordinator early (a person queued something).
final class WebhookWakeup: @unchecked Sendable {
    private let condition = NSCondition()
    private var signalled = false

    func signal() {
        condition.lock()
        signalled = true
        condition.signal()
        condition.unlock()
    }

    /// Waits until signalled or `seconds` pass.
    func wait(_ seconds: Double) {
        condition.lock()
        if !signalled { _ = condition.wait(until: Date(timeIntervalSinceNow: seconds)) }
        signalled = false
        condition.unlock()
    }
}

struct WebhooksError: Error, CustomStringConvertible {
    let description: String
    init(_ d: String) { description = d }
}
