import Foundation
import HTTP
import Web

extension Accounts.Problem: HTTPErrorConvertible {
    /// The page for a problem no form answered (the identity pages answer theirs beside the
    /// field): a busy hasher is a 503 to retry, a throttle a 429 that says how long to wait,
    /// a dead link a 404, never a bare 400 that tells the person nothing.
    var httpError: HTTPError {
        switch self {
        case .busy:
            HTTPError(.serviceUnavailable, "Many people are signing in right now. Please try again in a few seconds.", headers: ["Retry-After": "5"])
        case .throttled(let seconds), .slowed(let seconds):
            HTTPError(.tooManyRequests, AccountsController.throttledMessage(seconds), headers: ["Retry-After": "\(max(seconds, 1))"])
        case .linkInvalid:
            HTTPError(.notFound, "This link does not work. It may have been used already, or it has expired.")
        case .invalid(let errors):
            HTTPError(.unprocessableContent, errors.sorted { $0.key < $1.key }.map(\.value).joined(separator: " "))
        case .badCredentials, .badCode, .codeAlreadyUsed, .enrolmentSuperseded:
            HTTPError(.badRequest)
        }
    }
}

/// Turns the identity pages' requests into ``Accounts`` calls and their results into pages
/// and redirects. No rules and no SQL here.
struct AccountsController {
    let accounts: Accounts
    let templates: Templates
    /// More sections of the security page that other features render (the OAuth grants the
    /// member gave), as HTML; set by the composition root.
    var securitySections: (@Sendable (Request, UserRecord) throws -> String)? = nil

    func register(on router: inout Router) {
        // Anyone.
        router.get("/signup") { req in try page(req, "accounts/signup", title: "Create your account") }
        router.post("/signup") { req in try signUp(req) }
        router.get("/signup/check-email") { req in try page(req, "accounts/check_email", title: "Check your inbox") }
        router.get("/verify-email") { req in try verifyEmailPage(req) }
        router.post("/verify-email") { req in try verifyEmail(req) }
        router.get("/login") { req in try loginPage(req) }
        router.post("/login") { req in try logIn(req) }
        router.get("/forgot-password") { req in try page(req, "accounts/forgot_password", title: "Reset your password") }
        router.post("/forgot-password") { req in try forgotPassword(req) }
        router.get("/reset-password") { req in try resetPasswordPage(req) }
        router.post("/reset-password") { req in try resetPassword(req) }
        router.get("/account/email/confirm") { req in try confirmEmailPage(req) }
        router.post("/account/email/confirm") { req in try confirmEmail(req) }
        router.post("/logout") { req in try logOut(req) }

        router.group("", middleware: [Gate(allowed: [.verify])]) { r in
            r.get("/verify-email/pending") { req in try pendingVerification(req) }
            r.post("/verify-email/resend") { req in try resendVerification(req) }
        }
        router.group("", middleware: [Gate(allowed: [.mfa])]) { r in
            r.get("/login/mfa") { req in try page(req, "accounts/login_mfa", title: "Two-factor authentication", values: ["next": safeNext(req.query["next"])]) }
            r.post("/login/mfa") { req in try secondFactor(req) }
            r.get("/mfa/lost") { req in try page(req, "accounts/mfa_lost", title: "Can't use your authenticator?") }
            r.post("/mfa/lost") { req in try lostAuthenticator(req) }
        }
        router.group("", middleware: [Gate(allowed: [.enrol])]) { r in
            r.get("/mfa/setup") { req in try enrolPage(req) }
            r.post("/mfa/setup") { req in try enrol(req) }
        }
        router.group("", middleware: [Gate(allowed: [.active])]) { r in
            r.get("/mfa/recovery-codes") { req in try recoveryCodesPage(req) }
            r.get("/mfa/recovery-codes.txt") { req in try recoveryCodesFile(req) }
            r.post("/mfa/recovery-codes/done") { req in try recoveryCodesDone(req) }
            r.get("/account") { req in try profilePage(req) }
            r.get("/account/security") { req in try securityPage(req) }
            r.post("/account/profile") { req in try updateProfile(req) }
            r.post("/account/preferences") { req in try updatePreferences(req) }
            r.post("/account/password") { req in try changePassword(req) }
            r.post("/account/email") { req in try changeEmail(req) }
            r.post("/account/recovery-codes") { req in try regenerateCodes(req) }
            r.post("/account/sessions/revoke-others") { req in try revokeOthers(req) }
            r.post("/account/sessions/:id/revoke") { req in try revokeSession(req) }
        }
    }

    // MARK: - rendering

    /// Renders a form page; `values` are what the person typed, `errors` the messages
    /// shown beside the fields.
    func page(_ req: Request, _ name: String, title: String, values: [String: String] = [:], errors: [String: String] = [:],
              extra: IdentityPage.Extras = .init(), status: HTTPStatus = .ok) throws -> HTTPResponse {
        let form = FormState(values: values, errors: errors)
        return try templates.render(page: name, context: IdentityPage(title: title, form: form, extras: extra), request: req, status: status)
    }

    func form(_ req: Request) throws -> URLEncodedForm { try req.form() }

    /// A `next` target only if it stays on this site.
    func safeNext(_ next: String?) -> String {
        guard let next, HTTPResponse.isLocalRedirectTarget(next) else { return "" }
        return next
    }

    func redirectWithSession(_ to: String, token: String) -> HTTPResponse {
        var res = HTTPResponse.redirect(to: to)
        res.setCookie(accounts.sessions.cookie(token))
        return res
    }

    static func throttledMessage(_ seconds: Int64) -> String {
        seconds >= 120
            ? "Too many attempts. Try again in \(seconds / 60) minutes."
            : "Too many attempts. Try again in \(max(seconds, 1)) seconds."
    }

    // MARK: - sign-up and verification

    func signUp(_ req: Request) throws -> HTTPResponse {
        let f = try form(req)
        let input = Accounts.SignUp(name: f["name"] ?? "", email: f["email"] ?? "", password: f["password"] ?? "")
        do {
            try accounts.signUp(input, by: req.actor())
        } catch Accounts.Problem.invalid(let errors) {
            return try page(req, "accounts/signup", title: "Create your account", values: ["name": input.name, "email": input.email],
                            errors: errors, status: .unprocessableContent)
        } catch Accounts.Problem.throttled {
            return try page(req, "accounts/signup", title: "Create your account", values: ["name": input.name, "email": input.email],
                            errors: ["form": "Too many sign-ups from your network. Please try again later."], status: .tooManyRequests)
        }
        return .redirect(to: "/signup/check-email")
    }

    /// Opening the mailed link confirms the address. This is the one GET that changes
    /// something: the link's 256-bit single-use token is the proof (no session or form is
    /// involved, so there is nothing to forge), and confirming twice changes nothing more.
    func verifyEmailPage(_ req: Request) throws -> HTTPResponse {
        try confirmAddress(req, token: req.query["token"] ?? "")
    }

    func verifyEmail(_ req: Request) throws -> HTTPResponse {
        try confirmAddress(req, token: try form(req)["token"] ?? "")
    }

    func confirmAddress(_ req: Request, token: String) throws -> HTTPResponse {
        let user: UserRecord
        do {
            user = try accounts.verifyEmail(token: token, by: req.actor())
        } catch Accounts.Problem.linkInvalid {
            return try page(req, "accounts/verify_email", title: "Confirm your e-mail address", extra: .init(valid: false), status: .notFound)
        }
        // The browser that signed in before verifying moves straight on to TOTP set-up.
        if let s = req.auth?.session, s.stage == .verify, s.userID == user.id {
            let token = try accounts.continueAfterVerification(session: s, user: user, by: req.actor())
            req.flash(.success, "Thanks, your e-mail address is confirmed. Now set up two-factor authentication.")
            return redirectWithSession("/mfa/setup", token: token)
        }
        req.flash(.success, "Thanks, your e-mail address is confirmed. Log in to set up two-factor authentication.")
        return .redirect(to: "/login")
    }

    func pendingVerification(_ req: Request) throws -> HTTPResponse {
        try page(req, "accounts/verify_pending", title: "Confirm your e-mail address", extra: .init(email: req.auth?.user?.email ?? ""))
    }

    func resendVerification(_ req: Request) throws -> HTTPResponse {
        guard let user = req.auth?.user else { throw HTTPError(.unauthorized) }
        do {
            try accounts.resendVerification(user: user, by: req.actor())
            req.flash(.success, "We sent a new link to \(user.email).")
        } catch Accounts.Problem.throttled {
            req.flash(.error, "We have sent several links already. Please wait a while before asking for another.")
        }
        return .redirect(to: "/verify-email/pending")
    }

    // MARK: - login

    func loginPage(_ req: Request) throws -> HTTPResponse {
        if let s = req.auth?.session { return .redirect(to: Gate.home(for: s.stage)) }
        return try page(req, "accounts/login", title: "Log in", values: ["next": safeNext(req.query["next"])])
    }

    func logIn(_ req: Request) throws -> HTTPResponse {
        let f = try form(req)
        let email = f["email"] ?? ""
        let next = safeNext(f["next"])
        let values: [String: String] = ["email": email, "next": next]
        do {
            let (token, step) = try accounts.logIn(email: email, password: f["password"] ?? "", current: req.auth?.session, by: req.actor())
            switch step {
            case .verifyEmail: return redirectWithSession("/verify-email/pending", token: token)
            case .enrol: return redirectWithSession("/mfa/setup", token: token)
            case .secondFactor, .done:
                return redirectWithSession(next.isEmpty ? "/login/mfa" : "/login/mfa?next=" + PercentEncoding.encode(next), token: token)
            }
        } catch Accounts.Problem.badCredentials {
            return try page(req, "accounts/login", title: "Log in", values: values,
                            errors: ["form": "Incorrect e-mail address or password."], status: .unauthorized)
        } catch Accounts.Problem.throttled(let seconds) {
            return try page(req, "accounts/login", title: "Log in", values: values,
                            errors: ["form": Self.throttledMessage(seconds)], status: .tooManyRequests)
        } catch Accounts.Problem.slowed(let seconds) {
            return try page(req, "accounts/login", title: "Log in", values: values,
                            errors: ["form": "Many sign-ins to this account failed lately, so each sign-in waits a little. Try again in \(max(seconds, 1)) seconds."],
                            status: .tooManyRequests)
        }
    }

    func secondFactor(_ req: Request) throws -> HTTPResponse {
        guard let session = req.auth?.session, let user = req.auth?.user else { throw HTTPError(.unauthorized) }
        let f = try form(req)
        let next = safeNext(f["next"])
        do {
            let (token, usedRecovery) = try accounts.completeSecondFactor(session: session, user: user, code: f["code"] ?? "", by: req.actor())
            if usedRecovery {
                let left = try accounts.remainingRecoveryCodes(user: user)
                req.flash(left <= 3 ? .warning : .info, "You signed in with a recovery code. \(left) remain; you can make new ones under Security on your account page.")
            }
            return redirectWithSession(next.isEmpty ? "/home" : next, token: token)
        } catch Accounts.Problem.badCode {
            return try page(req, "accounts/login_mfa", title: "Two-factor authentication", values: ["next": next],
                            errors: ["code": "That code did not work. Enter the current code from your app, or an unused recovery code."],
                            status: .unauthorized)
        } catch Accounts.Problem.codeAlreadyUsed {
            return try page(req, "accounts/login_mfa", title: "Two-factor authentication", values: ["next": next],
                            errors: ["code": "That code did not work because it was already used. Wait for the next code in your app (they change every 30 seconds) and enter that one."],
                            status: .unauthorized)
        } catch Accounts.Problem.throttled(let seconds) {
            return try page(req, "accounts/login_mfa", title: "Two-factor authentication", values: ["next": next],
                            errors: ["code": Self.throttledMessage(seconds)], status: .tooManyRequests)
        }
    }

    func lostAuthenticator(_ req: Request) throws -> HTTPResponse {
        guard let user = req.auth?.user else { throw HTTPError(.unauthorized) }
        let note = try form(req)["note"] ?? ""
        do {
            try accounts.reportLostAuthenticator(user: user, note: note, by: req.actor())
        } catch Accounts.Problem.invalid(let errors) {
            return try page(req, "accounts/mfa_lost", title: "Can't use your authenticator?", values: ["note": note], errors: errors,
                            status: .unprocessableContent)
        }
        return try page(req, "accounts/mfa_lost_sent", title: "Request received")
    }

    func logOut(_ req: Request) throws -> HTTPResponse {
        if let s = req.auth?.session { try accounts.logOut(session: s, by: req.actor()) }
        var res = HTTPResponse.redirect(to: "/")
        res.setCookie(accounts.sessions.clearingCookie)
        req.flash(.info, "You are logged out.")
        return res
    }

    // MARK: - enrolment and recovery codes

    func enrolPage(_ req: Request, errors: [String: String] = [:]) throws -> HTTPResponse {
        guard let session = req.auth?.session, let user = req.auth?.user else { throw HTTPError(.unauthorized) }
        let e = try accounts.enrolment(session: session, user: user)
        return try page(req, "accounts/mfa_setup", title: "Set up two-factor authentication", errors: errors,
                        extra: .init(email: user.email, enrolment: e),
                        status: errors.isEmpty ? .ok : .unprocessableContent)
    }

    func enrol(_ req: Request) throws -> HTTPResponse {
        guard let session = req.auth?.session, let user = req.auth?.user else { throw HTTPError(.unauthorized) }
        do {
            let (token, _) = try accounts.confirmEnrolment(session: session, user: user, code: try form(req)["code"] ?? "", by: req.actor())
            return redirectWithSession("/mfa/recovery-codes", token: token)
        } catch Accounts.Problem.invalid(let errors) {
            return try enrolPage(req, errors: errors)
        } catch Accounts.Problem.enrolmentSuperseded {
            var res = HTTPResponse.redirect(to: "/login")
            res.setCookie(accounts.sessions.clearingCookie)
            req.flash(.warning, "Two-factor authentication was already set up for this account. Log in with your authenticator.")
            return res
        }
    }

    func recoveryCodesPage(_ req: Request) throws -> HTTPResponse {
        let (session, _) = try req.activeUser()
        guard let codes = try accounts.pendingRecoveryCodes(session: session) else { return .redirect(to: "/home") }
        // New codes made from the security page lead back there; first ones lead on to /home.
        let next = req.query["from"] == "security" ? "/account/security" : ""
        return try page(req, "accounts/recovery_codes", title: "Save your recovery codes", extra: .init(codes: codes, next: next))
    }

    func recoveryCodesFile(_ req: Request) throws -> HTTPResponse {
        let (session, user) = try req.activeUser()
        guard let codes = try accounts.pendingRecoveryCodes(session: session) else { throw HTTPError(.notFound) }
        let text = "Portal recovery codes for \(user.email)\nEach code works once.\n\n" + codes.joined(separator: "\n") + "\n"
        var res = HTTPResponse(headers: ["Content-Type": "text/plain; charset=utf-8",
                                         "Content-Disposition": "attachment; filename=\"portal-recovery-codes.txt\""],
                               body: .bytes(Array(text.utf8)))
        res.headers.set("Cache-Control", "no-store")
        return res
    }

    func recoveryCodesDone(_ req: Request) throws -> HTTPResponse {
        let (session, _) = try req.activeUser()
        try accounts.dismissRecoveryCodes(session: session)
        let next = safeNext(try form(req)["next"])
        req.flash(.success, next.isEmpty ? "Two-factor authentication is on. Keep your recovery codes somewhere safe."
                                         : "Your new recovery codes are active; the old ones no longer work.")
        return .redirect(to: next.isEmpty ? "/home" : next)
    }

    // MARK: - forgotten password

    func forgotPassword(_ req: Request) throws -> HTTPResponse {
        let email = try form(req)["email"] ?? ""
        do {
            try accounts.requestPasswordReset(email: email, by: req.actor())
        } catch Accounts.Problem.invalid(let errors) {
            return try page(req, "accounts/forgot_password", title: "Reset your password", values: ["email": email], errors: errors,
                            status: .unprocessableContent)
        }
        return try page(req, "accounts/forgot_sent", title: "Check your inbox", extra: .init(email: email))
    }

    func resetPasswordPage(_ req: Request) throws -> HTTPResponse {
        let token = req.query["token"] ?? ""
        let valid = (try? accounts.checkLink(token, purpose: "reset_password")) != nil
        return try page(req, "accounts/reset_password", title: "Choose a new password", values: ["token": token],
                        extra: .init(valid: valid), status: valid ? .ok : .notFound)
    }

    func resetPassword(_ req: Request) throws -> HTTPResponse {
        let f = try form(req)
        let token = f["token"] ?? ""
        do {
            try accounts.resetPassword(token: token, password: f["password"] ?? "", by: req.actor())
        } catch Accounts.Problem.invalid(let errors) {
            return try page(req, "accounts/reset_password", title: "Choose a new password", values: ["token": token], errors: errors,
                            extra: .init(valid: true), status: .unprocessableContent)
        } catch Accounts.Problem.linkInvalid {
            return try page(req, "accounts/reset_password", title: "Choose a new password", extra: .init(valid: false), status: .notFound)
        }
        var res = HTTPResponse.redirect(to: "/login")
        res.setCookie(accounts.sessions.clearingCookie)
        req.flash(.success, "Your password is changed and every session was signed out. Log in with the new password.")
        return res
    }

    // MARK: - account pages

    /// `/account`: personal details and preferences; `values` are what was typed into a form
    /// that is shown again.
    func profilePage(_ req: Request, values: [String: String] = [:], errors: [String: String] = [:], status: HTTPStatus = .ok) throws -> HTTPResponse {
        let (_, user) = try req.activeUser()
        let zones = try templates.renderString(page: "accounts/_time_zone_options", context: TimeZoneOptions(selected: values["timeZone"] ?? user.timeZone),
                                               layout: nil)
        return try templates.render(page: "accounts/index", context: ProfilePage(user: user, values: values, errors: errors, timeZoneOptions: zones),
                                    request: req, status: status)
    }

    /// `/account/security`: password, e-mail address, recovery codes, sessions, activity.
    func securityPage(_ req: Request, newEmail: String = "", errors: [String: String] = [:], status: HTTPStatus = .ok) throws -> HTTPResponse {
        let (session, user) = try req.activeUser()
        let view = try SecurityPage(accounts: accounts, session: session, user: user, newEmail: newEmail, errors: errors)
        let extra = try securitySections?(req, user) ?? ""
        return try templates.render(page: "accounts/security", context: WithSections(page: view, sections: extra), request: req, status: status)
    }

    func updateProfile(_ req: Request) throws -> HTTPResponse {
        let (_, user) = try req.activeUser()
        let f = try form(req)
        let p = Accounts.Profile(name: f["name"] ?? "", phone: f["phone"] ?? "", timeZone: f["timeZone"] ?? "")
        do {
            try accounts.updateProfile(user: user, p, by: req.actor())
        } catch Accounts.Problem.invalid(let errors) {
            return try profilePage(req, values: ["name": p.name, "phone": p.phone, "timeZone": p.timeZone], errors: errors, status: .unprocessableContent)
        }
        req.flash(.success, "Your details are saved.")
        return .redirect(to: "/account")
    }

    func updatePreferences(_ req: Request) throws -> HTTPResponse {
        let (_, user) = try req.activeUser()
        let f = try form(req)
        try accounts.updatePreferences(user: user, productNews: f["productNews"] == "on", reportReady: f["reportReady"] == "on", by: req.actor())
        req.flash(.success, "Your communication preferences are saved.")
        return .redirect(to: "/account")
    }

    func changePassword(_ req: Request) throws -> HTTPResponse {
        let (session, user) = try req.activeUser()
        let f = try form(req)
        do {
            try accounts.changePassword(session: session, user: user, current: f["currentPassword"] ?? "", new: f["newPassword"] ?? "", by: req.actor())
        } catch Accounts.Problem.invalid(let errors) {
            return try securityPage(req, errors: errors, status: .unprocessableContent)
        } catch Accounts.Problem.throttled(let s) {
            return try securityPage(req, errors: ["currentPassword": Self.throttledMessage(s)], status: .tooManyRequests)
        }
        req.flash(.success, "Your password is changed. Your other sessions were signed out.")
        return .redirect(to: "/account/security#password")
    }

    func changeEmail(_ req: Request) throws -> HTTPResponse {
        let (_, user) = try req.activeUser()
        let f = try form(req)
        let newEmail = f["newEmail"] ?? ""
        do {
            try accounts.requestEmailChange(user: user, newEmail: newEmail, password: f["password"] ?? "", code: f["code"] ?? "", by: req.actor())
        } catch Accounts.Problem.invalid(let errors) {
            return try securityPage(req, newEmail: newEmail, errors: errors.reduce(into: [:]) { $0["email_" + $1.key] = $1.value }, status: .unprocessableContent)
        } catch Accounts.Problem.throttled(let s) {
            return try securityPage(req, newEmail: newEmail, errors: ["email_password": Self.throttledMessage(s)], status: .tooManyRequests)
        }
        req.flash(.success, "We sent a link to \(newEmail). Your address changes when you open it.")
        return .redirect(to: "/account/security#email")
    }

    func regenerateCodes(_ req: Request) throws -> HTTPResponse {
        let (session, user) = try req.activeUser()
        let f = try form(req)
        do {
            try accounts.regenerateRecoveryCodes(session: session, user: user, password: f["password"] ?? "", code: f["code"] ?? "", by: req.actor())
        } catch Accounts.Problem.invalid(let errors) {
            return try securityPage(req, errors: errors.reduce(into: [:]) { $0["codes_" + $1.key] = $1.value }, status: .unprocessableContent)
        } catch Accounts.Problem.throttled(let s) {
            return try securityPage(req, errors: ["codes_password": Self.throttledMessage(s)], status: .tooManyRequests)
        }
        return .redirect(to: "/mfa/recovery-codes?from=security")
    }

    func revokeSession(_ req: Request) throws -> HTTPResponse {
        let (session, user) = try req.activeUser()
        let id = Int64(try req.parameters.require("id", as: Int.self))
        if id == session.id { return try logOut(req) }
        guard try accounts.revokeSession(id: id, user: user, by: req.actor()) else { throw HTTPError(.notFound) }
        req.flash(.success, "That session is signed out.")
        return .redirect(to: "/account/security#sessions")
    }

    func revokeOthers(_ req: Request) throws -> HTTPResponse {
        let (session, user) = try req.activeUser()
        let n = try accounts.revokeOtherSessions(current: session, user: user, by: req.actor())
        req.flash(.success, n == 1 ? "1 other session was signed out." : "\(n) other sessions were signed out.")
        return .redirect(to: "/account/security#sessions")
    }

    // MARK: - e-mail change links

    func confirmEmailPage(_ req: Request) throws -> HTTPResponse {
        let token = req.query["token"] ?? ""
        let link = try? accounts.checkLink(token, purpose: "change_email")
        return try page(req, "accounts/confirm_email", title: "Confirm your new e-mail address", values: ["token": token],
                        extra: .init(valid: link != nil, newEmail: link?.0.newEmail ?? ""), status: link != nil ? .ok : .notFound)
    }

    func confirmEmail(_ req: Request) throws -> HTTPResponse {
        let token = try form(req)["token"] ?? ""
        do {
            _ = try accounts.confirmEmailChange(token: token, by: req.actor())
        } catch Accounts.Problem.linkInvalid {
            return try page(req, "accounts/confirm_email", title: "Confirm your new e-mail address", extra: .init(valid: false), status: .notFound)
        } catch Accounts.Problem.invalid(let errors) {
            return try page(req, "accounts/confirm_email", title: "Confirm your new e-mail address", errors: errors,
                            extra: .init(valid: false), status: .conflict)
        }
        req.flash(.success, "Your e-mail address is changed.")
        return .redirect(to: req.auth?.session?.stage == .active ? "/account" : "/login")
    }
}

/// A page's view model plus HTML sections other features rendered (`{{{extraSections}}}`).
struct WithSections<Page: ViewModel>: ViewModel {
    let page: Page
    let sections: String

    func child(named name: String) -> Any? { name == "extraSections" ? sections : page.child(named: name) }
}
