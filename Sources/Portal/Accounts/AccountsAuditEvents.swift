/// Accounts' audit actions: sign-up, sign-in, second factor, passwords, addresses, settings
/// and sessions. Each reads as its title on the account's security page ("Password
/// changed"); the few that appear in an organization's log also have a sentence.
enum AccountsAuditEvents {
    static let fields: [(String, String)] = [
        ("method", "Method"), ("recovery_codes_left", "Recovery codes left"), ("retry_in_seconds", "Retry in (seconds)"),
        ("locked", "Locked"), ("slowed", "Slowed down"), ("name", "Name"), ("phone", "Phone"), ("time_zone", "Time zone"), ("product_news", "Product news"),
        ("report_ready", "Report ready"), ("other_sessions_ended", "Other sessions ended"), ("sessions_ended", "Sessions ended"),
        ("to", "To"), ("from", "From"), ("ip", "IP address"), ("device", "Device"), ("invitation", "Invitation"),
        ("recovery_codes_removed", "Unused recovery codes removed"), ("request", "Request"),
    ]

    static func action(_ id: String, _ title: String, sentence: (@Sendable (AuditSentenceParts) -> String)? = nil) -> AuditAction {
        AuditAction(id, title: title, fields: fields, sentence: sentence)
    }

    static let signup = action("signup", "Account created")
    static let signupDemo = action("signup.demo", "Demo account created")
    static let signupExistingAddress = action("signup.existing_address", "Someone tried to sign up with this address")
    static let emailVerified = action("email.verified", "E-mail address confirmed")
    static let continuedAfterVerification = action("login.continued_after_verification", "Signed in after confirming the address")
    static let passwordAccepted = action("login.password_accepted", "Password accepted")
    static let loginSucceeded = action("login.succeeded", "Signed in")
    static let loginFailed = action("login.failed", "Failed sign-in")
    static let mfaFailed = action("login.mfa_failed", "Wrong two-factor code")
    static let locked = action("login.locked", "Sign-in locked after too many failures")
    static let loginThrottled = action("login.throttled", "Attempt refused: too many failures")
    static let mfaThrottled = action("login.mfa_throttled", "Two-factor attempt refused: too many failures")
    static let reauthThrottled = action("reauth.throttled", "Confirmation refused: too many failures")
    static let logout = action("logout", "Signed out")
    static let mfaEnrolled = action("mfa.enrolled", "Two-factor authentication set up")
    static let mfaEnrolFailed = action("mfa.enrol_failed", "Two-factor set-up code did not match")
    static let recoveryCodesRegenerated = action("mfa.recovery_codes_regenerated", "New recovery codes made")
    static let passwordChanged = action("password.changed", "Password changed")
    static let passwordChangeFailed = action("password.change_failed", "Wrong current password for a change")
    static let reauthFailed = action("reauth.failed", "Wrong password or code for a change")
    static let resetRequested = action("password.reset_requested", "Password reset requested")
    static let passwordReset = action("password.reset", "Password reset")
    static let emailChangeRequested = action("email.change_requested", "E-mail change requested")
    static let emailChanged = action("email.changed", "E-mail address changed")
    static let verificationResent = action("email.verification_resent", "Verification link sent again")
    static let profileUpdated = action("account.profile_updated", "Personal details updated")
    static let preferencesUpdated = action("account.preferences_updated", "Communication preferences updated")
    static let sessionRevoked = action("session.revoked", "A session was signed out")
    static let otherSessionsRevoked = action("session.revoked_others", "Other sessions were signed out")
    static let mfaResetRequested = action("support.mfa_reset_requested", "Asked support to reset two-factor authentication")
    static let mfaResetBySupport = action("mfa.reset_by_support", "Two-factor authentication reset by support") { p in
        "\(p.actor) reset two-factor authentication for \(p.who)"
    }

    static let all = [
        signup, signupDemo, signupExistingAddress, emailVerified, continuedAfterVerification, passwordAccepted, loginSucceeded,
        loginFailed, mfaFailed, locked, loginThrottled, mfaThrottled, reauthThrottled, logout, mfaEnrolled, mfaEnrolFailed,
        recoveryCodesRegenerated, passwordChanged, passwordChangeFailed, reauthFailed, resetRequested, passwordReset,
        emailChangeRequested, emailChanged, verificationResent, profileUpdated, preferencesUpdated, sessionRevoked,
        otherSessionsRevoked, mfaResetRequested, mfaResetBySupport,
    ]

    /// The changed fields of a profile, as before/after pairs.
    static func changes(_ fields: [(String, String, String)]) -> AuditDetails {
        var d = AuditDetails()
        for (key, before, after) in fields where before != after { d[key] = .change(before: before, after: after) }
        return d
    }
}
