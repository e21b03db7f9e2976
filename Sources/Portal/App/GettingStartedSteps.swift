/// The dashboard's "Getting started" steps, in the order the panel lists them. A feature that
/// brings a step declares it beside its service and adds one line here (the Sandbox API key
/// and the webhook endpoint come with the API keys and webhooks features).
extension GettingStarted {
    static let steps: [GettingStartedStep] = [
        sandboxAPIKey,
        testTransaction,
        inviteTeam,
        requestProduction,
    ]
}
