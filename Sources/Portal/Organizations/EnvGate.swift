import HTTP
import Web

extension Router {
    /// Registers the routes `build` adds under `/orgs/:org/sandbox` and `/orgs/:org/production`
    /// alike, behind the organization gate and the ``EnvGate``. Any other word in that place is
    /// not a route, so an unknown environment is the router's 404.
    mutating func environments(organizations: Organizations, templates: Templates, _ build: (inout Router) -> Void) {
        for env in Environment.allCases {
            group("/orgs/:org/\(env.rawValue)", middleware: [Gate(allowed: [.active]), OrgGate(organizations: organizations),
                                                              EnvGate(environment: env, organizations: organizations, templates: templates)], build)
        }
    }
}

/// Resolves the environment once per request, after ``OrgGate``: keeps the ``EnvAccess`` on the
/// request, or answers a closed Production with a page that says what Production is, that
/// support enables it, and how to ask (403: the organization's, but not open to anyone yet).
struct EnvGate: Middleware {
    let environment: Environment
    let organizations: Organizations
    let templates: Templates

    func handle(_ req: Request, next: (Request) throws -> HTTPResponse) throws -> HTTPResponse {
        let access = try req.orgAccess()
        do {
            req.storage[EnvAccessKey.self] = try EnvAccess(access, environment: environment)
        } catch {
            let requested = try organizations.requests(access).contains { $0.isOpen && $0.kind == .productionAccess }
            return try templates.render(page: "organizations/production_closed", context: ProductionClosedPage(access: access, path: req.path, requested: requested),
                                        request: req, status: .forbidden)
        }
        return try next(req)
    }
}
