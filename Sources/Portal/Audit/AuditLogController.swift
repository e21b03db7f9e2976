import Foundation
import HTTP
import Web

/// The organization's audit log page and its CSV export (`logs.read`, checked by
/// ``AuditLog``). No rules and no SQL here.
struct AuditLogController {
    let auditLog: AuditLog
    let organizations: Organizations
    let templates: Templates

    func register(on router: inout Router) {
        router.group("/orgs/:org", middleware: [Gate(allowed: [.active]), OrgGate(organizations: organizations)]) { r in
            r.get("/logs") { req in try page(req) }
            r.get("/logs.csv") { req in try export(req) }
        }
    }

    func filter(_ req: Request) -> AuditLog.Filter {
        AuditLog.Filter(actor: req.query["actor"] ?? "", action: req.query["action"] ?? "", from: req.query["from"] ?? "",
                        to: req.query["to"] ?? "")
    }

    func page(_ req: Request) throws -> HTTPResponse {
        let access = try req.orgAccess()
        let filter = filter(req)
        let page = try auditLog.page(access, filter: filter, before: req.query["before"], after: req.query["after"])
        let base = "/orgs/\(access.org.publicID)/logs"
        func link(_ path: String, _ pairs: [(String, String)]) -> String {
            pairs.isEmpty ? path : path + "?" + URLEncodedForm.encode(pairs)
        }
        let errors = page.resolved.errors

        var actors: [[String: Any]] = page.people.filter { !$0.isStaff }.map { p in
            ["value": p.email, "label": p.name.isEmpty ? p.email : "\(p.name) (\(p.email))",
             "selected": errors["actor"] == nil && p.email.caseInsensitiveCompare(filter.actor) == .orderedSame]
        }
        actors.append(["value": AuditLog.staffChoice, "label": "Support staff", "selected": filter.actor == AuditLog.staffChoice])
        let families: [[String: Any]] = AuditLog.families.map { ["value": $0.key, "label": $0.title, "selected": $0.key == filter.action] }
        var presentActions = page.actions
        if errors["action"] == nil, filter.action.contains("."), !presentActions.contains(filter.action) {
            presentActions.append(filter.action)
        }
        let actions: [[String: Any]] = presentActions.map { a in
            ["value": a, "label": AuditActions.all.title(a), "selected": a == filter.action]
        }

        let entries: [[String: Any]] = page.entries.map { e in
            [
                "time": e.time, "timeUTC": e.timeUTC, "actor": e.actor, "actorEmail": e.actorEmail, "description": e.description,
                "action": e.action, "environment": e.environment, "hasEnvironment": !e.environment.isEmpty,
                "environmentTitle": Environment(rawValue: e.environment)?.title ?? e.environment,
                "details": e.details, "hasDetails": !e.details.isEmpty, "ip": e.ip, "userAgent": e.userAgent,
            ]
        }
        let ctx: [String: Any] = [
            "title": "Audit log · \(access.org.displayName)", "orgName": access.org.displayName, "action": base,
            "values": ["actor": filter.actor, "action": filter.action, "from": filter.from, "to": filter.to],
            "errors": errors, "hasErrors": !errors.isEmpty,
            "actors": actors, "families": families, "actions": actions, "hasActions": !actions.isEmpty,
            "entries": entries, "hasEntries": !entries.isEmpty, "logIsEmpty": page.logIsEmpty, "isFiltered": !filter.isEmpty,
            "zone": access.user.timeZone,
            "newerURL": page.newerCursor.map { link(base, filter.pairs + [("after", String($0))]) } ?? "",
            "olderURL": page.olderCursor.map { link(base, filter.pairs + [("before", String($0))]) } ?? "",
            "newestURL": page.isPaged ? link(base, filter.pairs) : "",
            "hasNewer": page.newerCursor != nil, "hasOlder": page.olderCursor != nil, "isPaged": page.isPaged,
            "hasPager": page.newerCursor != nil || page.olderCursor != nil || page.isPaged,
            "clearURL": base,
            "exportURL": link(base + ".csv", page.resolved.applied.pairs),
            "exportLimit": Self.grouped(AuditLog.exportLimit),
        ]
        return try templates.render(page: "logs/index", context: ctx, request: req)
    }

    func export(_ req: Request) throws -> HTTPResponse {
        let access = try req.orgAccess()
        let export = try auditLog.export(access, filter: filter(req))
        let headers: HTTPHeaders = [
            "Content-Type": "text/csv; charset=utf-8",
            "Content-Disposition": "attachment; filename=\"\(export.filename)\"",
        ]
        return HTTPResponse(status: .ok, headers: headers, body: .stream { writer in
            try export.write { try writer.write($0) }
        })
    }

    /// 100000 → "100,000".
    static func grouped(_ n: Int) -> String {
        let digits = Array(String(n))
        var out = ""
        for (i, d) in digits.enumerated() {
            if i > 0 && (digits.count - i) % 3 == 0 { out += "," }
            out.append(d)
        }
        return out
    }
}
