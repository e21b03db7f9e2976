import HTTP
import Web

/// The public front page: what Portal is, and the way in.
struct HomeController {
    let templates: Templates

    func register(on router: inout Router) {
        router.get("/") { req in try index(req) }
    }

    func index(_ req: Request) throws -> HTTPResponse {
        try templates.render(page: "home/index", context: HomePage.shared, request: req)
    }
}

/// The home page's view model: fixed copy, built once.
struct HomePage {
    // Immutable after initialisation; `Any` only hides that from the compiler.
    nonisolated(unsafe) static let shared: [String: Any] = [
        "title": "Portal: the developer portal for our payments API",
        "features": features,
    ]

    nonisolated(unsafe) static let features: [[String: Any]] = [
        ["name": "Secure by default", "text": "Every account uses two-factor authentication from the first sign-in. Secrets are shown once and stored only as hashes."],
        ["name": "Your whole team", "text": "Invite developers, operations and finance staff with exactly the permissions they need, and see who did what in the audit log."],
        ["name": "Sandbox and Production", "text": "Build against the Sandbox at once; request Production access when your compliance details are reviewed."],
        ["name": "Keys, apps and webhooks", "text": "Create API keys and app credentials, register webhooks and inspect every delivery."],
        ["name": "Money you can follow", "text": "Balances, transactions with search and details, payouts with approval, and monthly CSV reports."],
        ["name": "People when it matters", "text": "Name changes, offboarding and Production access go to our support staff, who approve with a reason."],
    ]
}
