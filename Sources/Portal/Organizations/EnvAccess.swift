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

enum EnvAccessKey: RequestStorageKey { typealias Value = EnvAccess }

extension Request {
    /// The member's access to the environment in the URL. Routes registered with
    /// ``Router/environments(organizations:templates:_:)`` have it.
    func envAccess() throws -> EnvAccess {
        guard let a = storage[EnvAccessKey.self] else { throw HTTPError(.notFound) }
        return a
    }
}
