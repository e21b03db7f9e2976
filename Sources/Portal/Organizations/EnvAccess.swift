import HTTP
import Web

/// A member's way into one environment of one organization: the ``OrgAccess`` plus the
/// environment in the URL. Keys, apps, webhooks, transactions, payouts and reports live in one
/// environment, and their services take an `EnvAccess` as organization-scoped services take
/// an `OrgAccess`. The only way to make one checks that the environment is open, so a service
/// that holds one never has to ask whether Production was enabled.
struct EnvAccess: Sendable {
    let access: OrgAccess
    let environment: Environment

    /// Production is closed until support has enabled it; Sandbox is open from the start.
    init(_ access: OrgAccess, environment: Environment) throws(EnvironmentClosed) {
        if environment == .production && !access.org.hasProduction { throw EnvironmentClosed(org: access.org) }
        self.access = access
        self.environment = environment
    }

    var org: OrganizationRecord { access.org }
    var member: MembershipRecord { access.member }
    var user: UserRecord { access.user }
    var isProduction: Bool { environment == .production }
    func can(_ p: Permission) -> Bool { access.can(p) }
    func require(_ p: Permission) throws { try access.require(p) }
}

/// Production asked for before support enabled it. Not a missing page (the organization is the
/// member's and Production will exist) and not a missing permission of the member: the
/// organization itself is not there yet.
struct EnvironmentClosed: Error, Equatable {
    let orgID: Int64
    init(org: OrganizationRecord) { orgID = org.id }
}

enum EnvAccessKey: RequestStorageKey { typealias Value = EnvAccess }

extension Request {
    /// The member's access to the environment in the URL. Routes registered with
    /// ``Router/environments(organizations:templates:_:)`` have it.
    func envAccess() throws -> EnvAccess {
        guard let a = storage[EnvAccessKey.self] else { throw HTTPError(.notFound) }
        return a
    }
}

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

/// The page for Production before support has enabled it.
struct ProductionClosedPage: ViewModel {
    let access: OrgAccess
    let path: String
    let requested: Bool

    func child(named name: String) -> Any? {
        switch name {
        case "title": "Production is not enabled · \(access.org.displayName)"
        case "orgName": access.org.displayName
        case "requested": requested
        // Only the Owner may ask (``Organizations/requestProduction``); others are told who can.
        case "canRequest": access.isOwner
        case "requestURL": "/orgs/\(access.org.publicID)/settings/production"
        case "sandboxURL": OrgMenu.portal.switchPath(path, base: "/orgs/\(access.org.publicID)", to: .sandbox)
        default: nil
        }
    }
}
