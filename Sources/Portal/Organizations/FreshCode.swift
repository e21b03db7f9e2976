extension Accounts {
    /// The member's fresh authenticator code for an organization action (a Production key or
    /// credential, a payout, a webhook secret), its refusals in the organization pages' shape:
    /// a wrong or reused code beside the `code` field, too many tries as a throttle.
    func confirmCode(for env: EnvAccess, code: String, actor: Actor) throws {
        do {
            try confirmCode(user: env.user, code: code, actor: actor)
        } catch Accounts.Problem.invalid(let errors) {
            throw OrgProblem.invalid(errors)
        } catch Accounts.Problem.throttled(let seconds) {
            throw OrgProblem.throttled(seconds: seconds)
        } catch Accounts.Problem.slowed(let seconds) {
            throw OrgProblem.throttled(seconds: seconds)
        }
    }
}
