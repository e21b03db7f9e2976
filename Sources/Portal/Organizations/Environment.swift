/// The two environments every organization has. Pages that show environment data carry it in
/// the URL (`/orgs/:org/sandbox/…`, `/orgs/:org/production/…`).
enum Environment: String, CaseIterable, Sendable {
    case sandbox, production
    var title: String { self == .sandbox ? "Sandbox" : "Production" }
}
