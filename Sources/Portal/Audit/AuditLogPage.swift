import Web

/// `/orgs/:org/logs`: a page of the organization's audit log with its filters, pager and
/// export link. Filled by ``AuditLogController``; the events arrive in words
/// (``DescribedEvent``).
struct AuditLogPage: ViewModel {
    let access: OrgAccess
    let filter: AuditLog.Filter
    let page: AuditLog.Page
    let form: FormState
    let actors: [Choice]
    let families: [Choice]
    let actions: [Choice]
    let entries: [Entry]

    /// `actionTitles`: each action the log holds (and a filtered one it no longer does),
    /// with its title.
    init(access: OrgAccess, filter: AuditLog.Filter, page: AuditLog.Page, actionTitles: [(String, String)]) {
        self.access = access
        self.filter = filter
        self.page = page
        let errors = page.resolved.errors
        form = FormState(values: ["actor": filter.actor, "action": filter.action, "from": filter.from, "to": filter.to], errors: errors,
                         order: ["actor", "action", "from", "to"])
        actors = page.people.filter { !$0.isStaff }.map { p in
            Choice(value: p.email, label: p.name.isEmpty ? p.email : "\(p.name) (\(p.email))",
                   selected: errors["actor"] == nil && p.email.caseInsensitiveCompare(filter.actor) == .orderedSame)
        } + [Choice(value: AuditLog.staffChoice, label: "Support staff", selected: filter.actor == AuditLog.staffChoice)]
        families = AuditLog.families.map { Choice(value: $0.key, label: $0.title, selected: $0.key == filter.action) }
        actions = actionTitles.map { Choice(value: $0.0, label: $0.1, selected: $0.0 == filter.action) }
        entries = page.entries.map(Entry.init)
    }

    var base: String { "/orgs/\(access.org.publicID)/logs" }

    func link(_ path: String, _ pairs: [(String, String)]) -> String {
        pairs.isEmpty ? path : path + "?" + URLEncodedForm.encode(pairs)
    }

    func child(named name: String) -> Any? {
        switch name {
        case "title": "Audit log · \(access.org.displayName)"
        case "orgName": access.org.displayName
        case "action": base
        case "actors": actors
        case "families": families
        case "actions": actions
        case "hasActions": !actions.isEmpty
        case "entries": entries
        case "hasEntries": !entries.isEmpty
        case "logIsEmpty": page.logIsEmpty
        case "isFiltered": !filter.isEmpty
        case "zone": access.user.timeZone
        case "newerURL": page.newerCursor.map { link(base, filter.pairs + [("after", String($0))]) } ?? ""
        case "olderURL": page.olderCursor.map { link(base, filter.pairs + [("before", String($0))]) } ?? ""
        case "newestURL": page.isPaged ? link(base, filter.pairs) : ""
        case "hasNewer": page.newerCursor != nil
        case "hasOlder": page.olderCursor != nil
        case "isPaged": page.isPaged
        case "hasPager": page.newerCursor != nil || page.olderCursor != nil || page.isPaged
        case "clearURL": base
        case "exportURL": link(base + ".csv", page.resolved.applied.pairs)
        case "exportLimit": AuditLogController.grouped(AuditLog.exportLimit)
        default: form.child(named: name)
        }
    }

    /// A row of the log.
    struct Entry: ViewModel {
        let e: DescribedEvent

        func child(named name: String) -> Any? {
            switch name {
            case "time": e.time
            case "timeUTC": e.timeUTC
            case "actor": e.actor
            case "actorEmail": e.actorEmail
            case "description": e.description
            case "action": e.action
            case "environment": e.environment
            case "hasEnvironment": !e.environment.isEmpty
            case "environmentTitle": Environment(rawValue: e.environment)?.title ?? e.environment
            case "details": e.details
            case "hasDetails": !e.details.isEmpty
            case "ip": e.ip
            case "userAgent": e.userAgent
            default: nil
            }
        }
    }
}
