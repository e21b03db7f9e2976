import HTTP
import Web

/// The API reference pages: in every organization's environments (any member), and public at
/// `/docs/api`. Both render ``APIReferencePage`` from the served OpenAPI document.
struct APIReferenceController {
    let document: OpenAPIDocument
    let organizations: Organizations
    let templates: Templates
    let baseURL: String

    static let menu: [OrgSection] = [OrgSection("API reference", path: "api-reference", scope: .environment, order: 80)]

    func register(on router: inout Router) {
        router.get("/docs/api") { req in
            try templates.render(page: "publicapi/reference",
                                 context: APIReferencePage(document: document, baseURL: baseURL, environment: .sandbox, context: nil), request: req)
        }
        router.environments(organizations: organizations, templates: templates) { r in
            r.get("/api-reference") { req in
                let env = try req.envAccess()
                return try templates.render(page: "publicapi/reference", context: APIReferencePage(
                    document: document, baseURL: baseURL, environment: env.environment,
                    context: "\(env.org.displayName) · \(env.environment.title)"), request: req)
            }
        }
    }
}
