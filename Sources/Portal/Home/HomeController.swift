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

/// The home page's view model: fixed copy, built once. `ViewModel` conformances (not
/// dictionaries or plain structs) keep swift-mustache's lookups to one cheap cast each.
final class HomePage: ViewModel, FixedViewModel, @unchecked Sendable {
    static let shared = HomePage()

    let title = "Portal: the developer portal for our payments API"
    /// What works today.
    let available: [Feature] = [
        Feature("Secure by default", "Every account uses two-factor authentication from the first sign-in, with recovery codes, a list of your sessions and mail about every security change."),
        Feature("Your whole team", "Invite developers, operations and finance staff with exactly the permissions they need, and see who did what in the audit log."),
        Feature("Sandbox and Production", "Your organization gets a Sandbox at once; request Production access and our compliance team reviews your details."),
        Feature("People when it matters", "Name and detail changes, offboarding and Production access go to our support staff, who approve with a reason."),
    ]
    /// What the next releases bring: said plainly, so nobody signs up for what is not there yet.
    let coming: [Feature] = [
        Feature("Keys and apps", "API keys and app credentials for each environment, each secret shown once."),
        Feature("Webhooks", "Register endpoints and inspect every signed delivery, with retries and replay."),
        Feature("Money you can follow", "Balances, transactions with search and details, payouts with approval, and monthly CSV reports."),
    ]

    /// The copy is fixed, so its page is rendered once (the layout still per request).
    let fragmentKey = "home"

    func child(named name: String) -> Any? {
        switch name {
        case "title": title
        case "available": available
        case "coming": coming
        default: nil
        }
    }

    final class Feature: ViewModel, @unchecked Sendable {
        let name: String
        let text: String
        init(_ name: String, _ text: String) { self.name = name; self.text = text }
        func child(named key: String) -> Any? {
            switch key {
            case "name": name
            case "text": text
            default: nil
            }
        }
    }
}
