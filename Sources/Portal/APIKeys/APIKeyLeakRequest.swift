import Database

extension SupportRequestRecord.Kind {
    static let apiKeyLeak = Self("api_key_leak", title: "API key may have leaked", phrase: "the report of a leaked API key",
                                 filed: APIKeysAuditEvents.leakReported)
}

/// A member tells support that an API key may have leaked (``APIKeys/reportLeak``), as
/// TransferZero asks ("contact us"). Support looks for requests made with it that the
/// organization did not make. Approving ("handled") revokes the key if it still works, so a
/// leak support confirmed can never stay open; rejecting changes nothing.
struct APIKeyLeakRequest: SupportRequestKind {
    var kind: SupportRequestRecord.Kind { .apiKeyLeak }

    func keys(_ c: SupportCase) -> APIKeys {
        APIKeys(database: c.organizations.database, clock: c.organizations.clock, organizations: c.organizations, jobs: nil)
    }

    func key(_ c: SupportCase, on db: Connection) throws -> APIKeyRecord? {
        guard let id = c.request.changes["key"], let org = c.request.organizationID else { return nil }
        return try keys(c).key(publicID: id, organizationID: org, on: db)
    }

    func review(_ c: SupportCase, on db: Connection) throws -> (changes: [SupportChange], consequences: [String]) {
        let id = c.request.changes["key"] ?? "—"
        guard let k = try key(c, on: db) else { return ([SupportChange(label: "API key", before: id, after: id)], []) }
        let now = c.organizations.clock.now()
        let status = k.status(now: now)
        var changes = [
            SupportChange(label: "API key", before: "\(k.publicID) “\(k.name)” (\(k.masked), \(k.environment.title))",
                          after: "\(k.publicID) “\(k.name)” (\(k.masked), \(k.environment.title))"),
            SupportChange(label: "Status", before: status.title, after: k.isUsable(now: now) ? APIKeyRecord.Status.revoked.title : status.title),
        ]
        if let used = k.lastUsedAt {
            changes.append(SupportChange(label: "Last used", before: "\(PageTime.iso8601(used)) from \(k.lastUsedIP ?? "?")", after: "—"))
        }
        return (changes, k.isUsable(now: now) ? ["Approving revokes the key at once: requests with it are refused from then on."] : [])
    }

    func check(_ c: SupportCase, on db: Connection) throws {
        guard c.organization?.isActive == true else { throw SupportProblem.conflict("The organization of this request is closed. Reject the request.") }
    }

    func apply(_ c: SupportCase, by actor: Actor, now: Int64, on db: Connection) throws {
        try check(c, on: db)
        guard let k = try key(c, on: db), k.isUsable(now: now) else { return }
        try keys(c).revokeForSupport(k, by: actor, request: c.request.publicID, on: db)
    }

    func outcome(_ c: SupportCase, approved: Bool) -> SupportOutcome {
        let org = c.organization?.publicID ?? ""
        let env = c.request.changes["environment"] ?? "sandbox"
        return SupportOutcome(
            what: approved ? "Support looked into the API key \(c.request.changes["key"] ?? "") and it is revoked. Roll or replace any other key that may have been exposed with it."
                : "Support looked into the API key \(c.request.changes["key"] ?? "") and closed the report.",
            path: "/orgs/\(org)/\(env)/api-keys", linkText: "Your API keys")
    }
}
