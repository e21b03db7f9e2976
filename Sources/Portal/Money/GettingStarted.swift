import Database

/// One step of the dashboard's "Getting started" panel (as Stripe's has): a link to where the
/// step is done, and a check that ticks it. The panel shows until every step is done.
///
/// The steps are listed in `App/GettingStartedSteps.swift`; a feature that brings a step
/// (API keys, webhook endpoints: later issues) declares it beside its service and adds one
/// line there. No step is shown before its feature exists.
struct GettingStartedStep: Sendable {
    let title: String
    /// What doing it brings, one sentence.
    let text: String
    /// Where the step is done, from the organization's base (`/orgs/org_…`).
    let path: @Sendable (EnvAccess) -> String
    /// Whether it is done, read in the dashboard's snapshot.
    let isDone: @Sendable (GettingStarted.Context, Connection) throws -> Bool
    /// Whether this member may do it: someone who may not sees the step with who can, not a
    /// link to a page that refuses them.
    var mayDo: @Sendable (EnvAccess) -> Bool = { _ in true }
    /// Who can, for the others: "the Owner", "someone who can manage roles".
    var who: String = ""
}

/// The panel's steps, checked against the organization as it is now.
enum GettingStarted {
    /// What a step's check may ask: the member's environment access and the services it may
    /// call (each answers on the dashboard's open connection).
    struct Context {
        let env: EnvAccess
        let organizations: Organizations
        let sandboxHasTransactions: @Sendable (Connection) throws -> Bool
    }

    /// Done when the Sandbox holds a transaction.
    static let testTransaction = GettingStartedStep(
        title: "Make a test transaction",
        text: "Create a transaction in Sandbox with the API (or the portal seed-demo command) and watch it move through its statuses.",
        path: { "/orgs/\($0.org.publicID)/sandbox#test-transactions" },
        isDone: { c, db in try c.sandboxHasTransactions(db) })

    /// Done when the organization has a second member or a pending invitation.
    static let inviteTeam = GettingStartedStep(
        title: "Invite your team",
        text: "Add the people who build the integration and those who follow the money, each with their own role.",
        path: { "/orgs/\($0.org.publicID)/team/invite" },
        isDone: { c, db in
            try c.organizations.activeMemberCount(organizationID: c.env.org.id, on: db) > 1
                || Team.pendingInvitationCount(organizationID: c.env.org.id, on: db) > 0
        },
        mayDo: { $0.can(.rolesWrite) }, who: "a member who can manage roles")

    /// Done when Production is enabled or its request is with support.
    static let requestProduction = GettingStartedStep(
        title: "Request Production access",
        text: "Support checks your organization's details and opens Production for real money.",
        path: { "/orgs/\($0.org.publicID)/settings/production" },
        isDone: { c, db in
            try c.env.org.hasProduction || SupportQueue().openRequest(organizationID: c.env.org.id, kind: .productionAccess, on: db) != nil
        },
        mayDo: { $0.access.isOwner }, who: "the Owner")
}
