import Foundation
import HTTP
import Web

/// The organization's audit log page and its CSV export (`logs.read`, checked by
/// ``AuditLog``). No rules and no SQL here.
struct AuditLogController {
    let auditLog: AuditLog
    let organizations: Organizations
    let templates: Templates

    /// The audit log's entry in the organization bar.
    static let menu: [OrgSection] = [OrgSection("Logs", path: "logs", permission: .logsRead, order: 70)]

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
        var presentActions = page.actions
        if page.resolved.errors["action"] == nil, filter.action.contains("."), !presentActions.contains(filter.action) {
            presentActions.append(filter.action)
        }
        let titles = presentActions.map { a in (a, AuditActions.all.title(a)) }
        let ctx = AuditLogPage(access: access, filter: filter, page: page, actionTitles: titles)
        return try templates.render(page: "audit/index", context: ctx, request: req)
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
