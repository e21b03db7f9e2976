import HTTP
import Web

/// An environment's overview, `/orgs/:org/sandbox` and `/orgs/:org/production`: what the
/// environment is and what lives in it. Reached through the Sandbox/Production switch of the
/// organization bar, so it has no entry of its own in the bar. No rules and no SQL here.
struct EnvironmentController {
    let organizations: Organizations
    let templates: Templates

    /// Environment-scoped sections (API keys, apps, webhooks…) are declared by their own
    /// features; the overview itself is the switch's target.
    static let menu: [OrgSection] = []

    func register(on router: inout Router) {
        router.environments(organizations: organizations, templates: templates) { r in
            r.get("") { req in try overview(req) }
        }
    }

    func overview(_ req: Request) throws -> HTTPResponse {
        let env = try req.envAccess()
        return try templates.render(page: "organizations/environment", context: EnvironmentPage(env), request: req)
    }
}

/// What one environment holds. Until the features that fill it exist, each says what it will
/// be and that it is not there yet; nothing is made up. A member sees only the parts their
/// permissions open.
struct EnvironmentPage: ViewModel {
    let env: EnvAccess
    let parts: [Part]
    let productionSince: String

    init(_ env: EnvAccess) {
        self.env = env
        self.parts = Part.all.filter { $0.visible(env) }
        self.productionSince = env.org.productionEnabledAt.map { PageTime.full($0, zone: env.user.timeZone) } ?? ""
    }

    func child(named name: String) -> Any? {
        switch name {
        case "title": "\(env.environment.title) · \(env.org.displayName)"
        case "environment": env.environment.title
        case "isProduction": env.isProduction
        case "orgName": env.org.displayName
        case "productionSince": productionSince
        case "parts": parts
        case "hasParts": !parts.isEmpty
        default: nil
        }
    }

    struct Part: ViewModel {
        let title: String
        let text: String
        let visible: @Sendable (EnvAccess) -> Bool

        func child(named name: String) -> Any? {
            switch name {
            case "title": title
            case "text": text
            default: nil
            }
        }

        static let all: [Part] = [
            Part(title: "API keys", text: "Secret keys your servers use to call the API in this environment. Each secret is shown once, when it is made.",
                 visible: { $0.can(.apiKeysRead) }),
            Part(title: "Apps", text: "OAuth clients with their client id and secret, redirect URIs and API subscriptions.",
                 visible: { $0.can(.appsRead) }),
            Part(title: "Webhooks", text: "Endpoints we call when a transaction or payout changes, with every signed delivery attempt.",
                 visible: { $0.can(.webhooksRead) }),
            Part(title: "Transactions", text: "Payments with their status and details, searchable, and cancellable until they are paid out.",
                 visible: { $0.can(.transactionsRead) }),
            Part(title: "Payouts", text: "Payouts prepared by one member and authorized by another before money leaves the account.",
                 visible: { $0.can(.transactionsRead) || $0.can(.payoutsCreate) || $0.can(.payoutsAuthorize) }),
            Part(title: "Reports", text: "Monthly CSV reports of the environment's transactions, for every member.",
                 visible: { _ in true }),
        ]
    }
}
