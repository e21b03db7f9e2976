extension GettingStarted {
    /// Done once the organization has a Sandbox API key (any: a revoked one was still made).
    static let sandboxAPIKey = GettingStartedStep(
        title: "Create a Sandbox API key",
        text: "A key lets your servers call the API; in Sandbox it moves only test money.",
        path: { "/orgs/\($0.org.publicID)/sandbox/api-keys/new" },
        isDone: { c, db in try APIKeysStore().exists(organizationID: c.env.org.id, environment: .sandbox, on: db) })
}
