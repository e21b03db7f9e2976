import Database

extension SupportRequestRecord.Kind {
    static let mfaReset = Self("mfa_reset", title: "Lost authenticator", phrase: "the two-factor reset",
                               filed: AccountsAuditEvents.mfaResetRequested)
}

/// Someone who lost their authenticator asks support to remove it (``Accounts/reportLostAuthenticator``).
/// Approval removes the authenticator and recovery codes and ends every session, so the next
/// login leads to enrolment.
struct LostAuthenticatorRequest: SupportRequestKind {
    var kind: SupportRequestRecord.Kind { .mfaReset }

    func review(_ c: SupportCase, on db: Connection) throws -> (changes: [SupportChange], consequences: [String]) {
        let changes = [SupportChange(label: "Two-factor authentication",
                                     before: c.requester?.hasTOTP == true ? "authenticator and recovery codes" : "none",
                                     after: "authenticator and recovery codes removed; the user enrols again at next login")]
        guard let requester = c.requester, c.request.isOpen else { return (changes, []) }
        let codes = try c.accounts.remainingRecoveryCodes(userID: requester.id, on: db)
        return (changes, [
            "\(codes) unused recovery \(codes == 1 ? "code is" : "codes are") deleted.",
            "Every session of \(requester.email) is signed out.",
            "Confirm who is asking (the note says how) before approving: this gives the account to whoever knows its password.",
        ])
    }

    func check(_ c: SupportCase, on db: Connection) throws {
        guard let requester = c.requester else { throw SupportProblem.conflict("The account of this request no longer exists. Reject the request.") }
        if let enabled = requester.totpEnabledAt, enabled > c.request.createdAt {
            throw SupportProblem.conflict("\(requester.email) set up a new authenticator after this request was sent, so it is out of date. Reject it.")
        }
    }

    func apply(_ c: SupportCase, by actor: Actor, now: Int64, on db: Connection) throws {
        guard let user = c.requester else { throw SupportProblem.conflict("The account no longer exists.") }
        let removed = try c.accounts.resetSecondFactor(userID: user.id, now: now, on: db)
        try c.audit.record(AccountsAuditEvents.mfaResetBySupport, by: actor, subject: user.email,
                           details: ["recovery_codes_removed": .text("\(removed.codes)"), "sessions_ended": .text("\(removed.sessions)"),
                                     "request": .text(c.request.publicID)], on: db)
    }

    func outcome(_ c: SupportCase, approved: Bool) -> SupportOutcome {
        SupportOutcome(
            what: approved ? "Your authenticator and recovery codes were removed. Log in with your password and you will be asked to set up a new authenticator."
                : "Nothing was changed.",
            path: "/login", linkText: approved ? "Log in and set up your new authenticator" : "Log in")
    }
}
