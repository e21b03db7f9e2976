import HTTP
import Web

/// The API requests pages of an environment (`logs.read`, checked by ``APILogs``): the list
/// with its filters and the detail of one request. No rules and no SQL here.
struct APILogsController {
    let logs: APILogs
    let organizations: Organizations
    let templates: Templates
    /// Where the API is, for the curl line of the empty state.
    let baseURL: String

    /// "API requests" in the organization bar, beside the audit log's "Logs".
    static let menu: [OrgSection] = [OrgSection("API requests", path: "logs/api", permission: .logsRead, scope: .environment, order: 71)]

    func register(on router: inout Router) {
        router.environments(organizations: organizations, templates: templates) { r in
            r.get("/logs/api") { req in try list(req) }
            r.get("/logs/api/:request") { req in try detail(req) }
        }
    }

    static func base(_ env: EnvAccess) -> String { "/orgs/\(env.org.publicID)/\(env.environment.rawValue)/logs/api" }

    func list(_ req: Request) throws -> HTTPResponse {
        let env = try req.envAccess()
        let q = req.query
        let filter = APILogFilter(key: q["key"] ?? "", status: q["status"] ?? "", path: q["path"] ?? "", from: q["from"] ?? "", to: q["to"] ?? "",
                                  before: q["before"] ?? "", after: q["after"] ?? "")
        let page = try logs.page(env, filter: filter)
        return try templates.render(page: "apilogs/index", context: APILogsListPage(env: env, page: page, baseURL: baseURL, retention: (logs.retentionDays, logs.bodyRetentionDays)), request: req)
    }

    func detail(_ req: Request) throws -> HTTPResponse {
        let env = try req.envAccess()
        let d = try logs.detail(env, requestID: req.parameters["request"] ?? "")
        return try templates.render(page: "apilogs/request", context: APIRequestPage(env: env, detail: d, bodyDays: logs.bodyRetentionDays), request: req)
    }
}
