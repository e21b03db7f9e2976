import Foundation
import Security
import Testing
import HTTP
import Web
@testable import Portal

/// The identity journeys over real sockets, and attacks on them.
@Suite("Identity: sign-up, MFA, sessions, CSRF, throttling")
struct IdentityTests {
    @Test func signUpVerifyEnrolAndLandOnTheAccountPage() throws {
        let portal = try TestPortal()
        let b = Browser(portal)
        let user = try TestUser.enrolled(portal, b)
        #expect(user.recoveryCodes.count == 10)
        #expect(Set(user.recoveryCodes).count == 10)
        let account = try b.get("/account")
        #expect(account.status == 200)
        #expect(account.text.contains(user.email))
        #expect(account["Cache-Control"] == "no-store")
        let security = try b.get("/account/security")
        #expect(security.status == 200)
        #expect(security.text.contains("10 of 10 unused"))
        #expect(security["Cache-Control"] == "no-store")
        // The codes were shown once: the page now sends you on.
        #expect(try b.get("/mfa/recovery-codes")["Location"] == "/home")
        let actions = try portal.auditActions(for: user.email)
        for a in ["signup", "email.verified", "login.password_accepted", "mfa.enrolled"] { #expect(actions.contains(a), "audit lacks \(a)") }
    }

    @Test func loggingInBeforeVerifyingWaitsForTheLinkThenGoesToEnrolment() throws {
        let portal = try TestPortal()
        let b = Browser(portal)
        let email = "early-\(UUID().uuidString.prefix(6))@example.com"
        try b.submit("/signup", to: "/signup", [("name", "Early Bird"), ("email", email), ("password", "patience is a virtue")])
        let login = try b.submit("/login", to: "/login", [("email", email), ("password", "patience is a virtue")])
        #expect(login["Location"] == "/verify-email/pending")
        #expect(try b.get("/account")["Location"] == "/verify-email/pending")
        #expect(try b.get("/mfa/setup")["Location"] == "/verify-email/pending")
        let resent = try b.submit("/verify-email/pending", to: "/verify-email/resend", [])
        #expect(resent.status == 303)
        #expect(try portal.mailCount(to: email) == 2)
        // Only the newest link works; it moves this browser on to TOTP set-up.
        let link = try #require(try portal.link(inMailTo: email))
        let opened = try b.get(link)
        #expect(opened["Location"] == "/mfa/setup")
        #expect(try b.get("/mfa/setup").text.contains("otpauth://totp/Portal:"))
        #expect(try b.get(link).status == 404) // single use
    }

    @Test func cookiesAreHttpOnlyAndLax() throws {
        let portal = try TestPortal()
        let b = Browser(portal)
        let user = try TestUser.enrolled(portal, b)
        let r = try Browser(portal).submit("/login", to: "/login", [("email", user.email), ("password", user.password)])
        let cookie = try #require(r.all("set-cookie").first { $0.hasPrefix("portal_session=") })
        #expect(cookie.contains("HttpOnly"))
        #expect(cookie.contains("SameSite=Lax"))
        #expect(cookie.contains("Path=/"))
        let token = String(cookie.split(separator: ";")[0].dropFirst("portal_session=".count))
        #expect(Base64URL.decode(token)?.count == 32)
    }

    @Test func secureCookiesUseTheHostPrefixBehindTLS() throws {
        let portal = try TestPortal { $0.baseURL = "https://portal.example"; $0.smtpURL = "smtp://127.0.0.1:9" }
        let b = Browser(portal)
        let signup = try b.get("/signup")
        #expect(signup.all("set-cookie").allSatisfy { $0.contains("Secure") })
    }

    @Test func nothingButTheCodePageBeforeTheSecondFactor() throws {
        let portal = try TestPortal()
        let b = Browser(portal)
        let user = try TestUser.enrolled(portal, b)
        try b.post("/logout", [], csrfFrom: try b.get("/account"))
        portal.clock.advance(seconds: 30)
        let pw = try b.submit("/login", to: "/login", [("email", user.email), ("password", user.password)])
        #expect(pw["Location"] == "/login/mfa")
        for path in ["/account", "/mfa/recovery-codes", "/mfa/setup"] {
            #expect(try b.get(path)["Location"] == "/login/mfa", "\(path) reachable before MFA")
        }
        let post = try b.post("/account/profile", [("name", "Mallory"), ("phone", ""), ("timeZone", "UTC")], csrfFrom: try b.get("/login/mfa"))
        #expect(post.status == 303 && post["Location"] == "/login/mfa")
    }

    @Test func newSessionIdAtLoginAndAfterMFAAndTheOldOnesAreDead() throws {
        let portal = try TestPortal()
        let b = Browser(portal)
        let user = try TestUser.enrolled(portal, b)
        let enrolledSession = try #require(b.sessionCookie)
        try b.post("/logout", [], csrfFrom: try b.get("/account"))
        #expect(b.sessionCookie == nil)

        // The logged-out session cannot be brought back.
        let replay = Browser(portal)
        replay.cookies["portal_session"] = enrolledSession
        #expect(try replay.get("/account")["Location"]?.hasPrefix("/login") == true)

        portal.clock.advance(seconds: 30)
        try b.submit("/login", to: "/login", [("email", user.email), ("password", user.password)])
        let afterPassword = try #require(b.sessionCookie)
        #expect(afterPassword != enrolledSession)
        try b.submit("/login/mfa", to: "/login/mfa", [("code", user.code(portal))])
        let afterMFA = try #require(b.sessionCookie)
        #expect(afterMFA != afterPassword)
        #expect(try b.get("/account").status == 200)

        let stale = Browser(portal)
        stale.cookies["portal_session"] = afterPassword
        #expect(try stale.get("/login/mfa")["Location"]?.hasPrefix("/login") == true)
    }

    @Test func aReplayedCodeAndACodeFromTwoStepsAgoAreRefused() throws {
        let portal = try TestPortal()
        let b = Browser(portal)
        let user = try TestUser.enrolled(portal, b)
        try b.post("/logout", [], csrfFrom: try b.get("/account"))
        portal.clock.advance(seconds: 30)
        let code = user.code(portal)
        try b.submit("/login", to: "/login", [("email", user.email), ("password", user.password)])
        #expect(try b.submit("/login/mfa", to: "/login/mfa", [("code", code)]).status == 303)
        try b.post("/logout", [], csrfFrom: try b.get("/account"))

        // Same code again within its 30 seconds: refused.
        try b.submit("/login", to: "/login", [("email", user.email), ("password", user.password)])
        let replayed = try b.submit("/login/mfa", to: "/login/mfa", [("code", code)])
        #expect(replayed.status == 401)
        #expect(replayed.text.contains("did not work"))
        // …and told apart from a wrong one: it was already used, the next one will do.
        #expect(replayed.text.contains("already used"))
        #expect(replayed.text.contains("Wait for the next code"))
        let wrong = try b.submit("/login/mfa", to: "/login/mfa", [("code", code == "000000" ? "111111" : "000000")])
        #expect(wrong.status == 401)
        #expect(!wrong.text.contains("already used"))

        // A code from two steps ago: refused; the current one works.
        portal.clock.advance(seconds: 90)
        #expect(try b.submit("/login/mfa", to: "/login/mfa", [("code", user.code(portal, stepsFromNow: -2))]).status == 401)
        #expect(try b.submit("/login/mfa", to: "/login/mfa", [("code", user.code(portal))]).status == 303)
        #expect(try portal.auditActions(for: user.email).contains("login.mfa_failed"))
    }

    @Test func aRecoveryCodeWorksOnce() throws {
        let portal = try TestPortal()
        let b = Browser(portal)
        let user = try TestUser.enrolled(portal, b)
        try b.post("/logout", [], csrfFrom: try b.get("/account"))
        let code = user.recoveryCodes[3]
        try b.submit("/login", to: "/login", [("email", user.email), ("password", user.password)])
        let first = try b.submit("/login/mfa", to: "/login/mfa", [("code", code.lowercased())])
        #expect(first.status == 303 && first["Location"] == "/home")
        #expect(try b.get("/account/security").text.contains("9 of 10 unused"))
        try b.post("/logout", [], csrfFrom: try b.get("/account"))
        try b.submit("/login", to: "/login", [("email", user.email), ("password", user.password)])
        #expect(try b.submit("/login/mfa", to: "/login/mfa", [("code", code)]).status == 401)
    }

    @Test func postsWithoutOrWithAForeignCSRFTokenAreRefused() throws {
        let portal = try TestPortal()
        let b = Browser(portal)
        let user = try TestUser.enrolled(portal, b)
        let account = try b.get("/account")
        // No token.
        #expect(try b.post("/account/profile", [("name", "X"), ("phone", ""), ("timeZone", "UTC")]).status == 403)
        // Another person's valid token.
        let other = Browser(portal)
        _ = try TestUser.enrolled(portal, other)
        let foreign = try #require(Browser.csrf(in: try other.get("/account")))
        #expect(try b.post("/account/profile", [("name", "X"), ("phone", ""), ("timeZone", "UTC")], csrf: foreign).status == 403)
        // Garbage.
        #expect(try b.post("/account/profile", [("name", "X"), ("phone", ""), ("timeZone", "UTC")], csrf: "AAAA").status == 403)
        // Right token, but sent from another site.
        #expect(try b.post("/account/profile", [("name", "X"), ("phone", ""), ("timeZone", "UTC")], csrfFrom: account,
                           headers: ["Origin": "https://evil.example"]).status == 403)
        #expect(try b.post("/account/profile", [("name", "X"), ("phone", ""), ("timeZone", "UTC")], csrfFrom: account,
                           headers: ["Sec-Fetch-Site": "cross-site"]).status == 403)
        // The name never changed.
        #expect(try b.get("/account").text.contains("value=\"\(user.name)\""))
        // Right token, same site: accepted.
        #expect(try b.post("/account/profile", [("name", "Ada King"), ("phone", ""), ("timeZone", "UTC")], csrfFrom: account,
                           headers: ["Origin": "http://127.0.0.1"]).status == 303)
    }

    @Test func anonymousFormsNeedTheirCookieBoundToken() throws {
        let portal = try TestPortal()
        let attacker = Browser(portal)
        let page = try attacker.get("/login")
        let token = try #require(Browser.csrf(in: page))
        // A victim browser without the attacker's cookie cannot use the attacker's token.
        let victim = Browser(portal)
        #expect(try victim.post("/login", [("email", "a@example.com"), ("password", "x")], csrf: token).status == 403)
        // Even with a cookie of its own.
        try victim.get("/signup")
        #expect(try victim.post("/login", [("email", "a@example.com"), ("password", "x")], csrf: token).status == 403)
        // Each page gets a differently masked token that still verifies.
        let again = try #require(Browser.csrf(in: try attacker.get("/login")))
        #expect(again != token)
        #expect(try attacker.post("/login", [("email", "a@example.com"), ("password", "wrong password")], csrf: again).status == 401)
    }

    @Test func unknownAddressAndWrongPasswordLookTheSame() throws {
        let portal = try TestPortal()
        let b = Browser(portal)
        let user = try TestUser.enrolled(portal, b)
        let probe = Browser(portal)
        func attempt(_ email: String) throws -> (Int, String) {
            let r = try probe.submit("/login", to: "/login", [("email", email), ("password", "not the password")])
            // Strip the masked CSRF field (random per page) and the request id.
            let body = r.text.replacingOccurrences(of: #"name="_csrf" value="[^"]*""#, with: "", options: .regularExpression)
            return (r.status, body.replacingOccurrences(of: email, with: "EMAIL"))
        }
        let known = try attempt(user.email)
        let unknown = try attempt("nobody-\(UUID().uuidString.prefix(6))@example.com")
        #expect(known.0 == 401 && unknown.0 == 401)
        #expect(known.1 == unknown.1)
    }

    @Test func signUpDoesNotRevealARegisteredAddress() throws {
        let portal = try TestPortal()
        let b = Browser(portal)
        let user = try TestUser.enrolled(portal, b)
        let again = Browser(portal)
        let r = try again.submit("/signup", to: "/signup", [("name", "Someone"), ("email", user.email), ("password", "another long passphrase")])
        let fresh = try Browser(portal).submit("/signup", to: "/signup", [("name", "Someone"), ("email", "new-\(UUID().uuidString.prefix(6))@example.com"), ("password", "another long passphrase")])
        #expect(r.status == fresh.status)
        #expect(r["Location"] == fresh["Location"])
        #expect(r.all("set-cookie").count == fresh.all("set-cookie").count)
        #expect(try portal.lastMail(to: user.email)?.subject == "You already have a Portal account")
    }

    @Test func badSignUpInputIsExplainedBesideTheFieldAndKept() throws {
        let portal = try TestPortal()
        let b = Browser(portal)
        let common = try b.submit("/signup", to: "/signup", [("name", "Grace"), ("email", "grace@example.com"), ("password", "password")])
        #expect(common.status == 422)
        #expect(common.text.contains("commonly used"))
        #expect(common.text.contains("value=\"Grace\""))
        #expect(common.text.contains("value=\"grace@example.com\""))
        let short = try b.submit("/signup", to: "/signup", [("name", ""), ("email", "not-an-address"), ("password", "short")])
        #expect(short.status == 422)
        #expect(short.text.contains("Enter your name."))
        #expect(short.text.contains("valid e-mail address"))
        #expect(short.text.contains("at least 8"))
        // Spaces and any Unicode are fine; nothing was created for the failures.
        let ok = try b.submit("/signup", to: "/signup", [("name", "Grace"), ("email", "grace@example.com"), ("password", "ünïcode pass phrase ✓")])
        #expect(ok.status == 303)
        #expect(try portal.mailCount(to: "grace@example.com") == 1)
    }

    @Test func signUpsFromOneNetworkAreLimited() throws {
        let portal = try TestPortal()
        let b = Browser(portal)
        for i in 0..<10 {
            let r = try b.submit("/signup", to: "/signup", [("name", "Bulk \(i)"), ("email", "bulk\(i)@example.com"), ("password", "bulk sign up passphrase")])
            #expect(r.status == 303)
        }
        let refused = try b.submit("/signup", to: "/signup", [("name", "Bulk 10"), ("email", "bulk10@example.com"), ("password", "bulk sign up passphrase")])
        #expect(refused.status == 429)
        #expect(refused.text.contains("Too many sign-ups"))
        #expect(refused.text.contains("value=\"bulk10@example.com\""))
        #expect(try portal.mailCount(to: "bulk10@example.com") == 0)
        portal.clock.advance(seconds: 3601)
        #expect(try b.submit("/signup", to: "/signup", [("name", "Bulk 10"), ("email", "bulk10@example.com"), ("password", "bulk sign up passphrase")]).status == 303)
    }

    @Test func lockoutAfterRepeatedFailuresSurvivesARestartAndEnds() throws {
        let dir = NSTemporaryDirectory() + "portal-lockout-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let configure: (inout PortalConfig) -> Void = { $0.databasePath = dir + "/portal.sqlite" }
        var email = "", password = ""
        var advanced: Int64 = 0
        do {
            let portal = try TestPortal(configure: configure)
            portal.clock.stop() // the first delay is 2 s: a slow second between failures must not end it
            let b = Browser(portal)
            let user = try TestUser.enrolled(portal, b)
            (email, password) = (user.email, user.password)
            let attacker = Browser(portal)
            for _ in 0..<5 {
                #expect(try attacker.submit("/login", to: "/login", [("email", email), ("password", "guess")]).status == 401)
            }
            // The sixth comes too soon: refused without checking, even with the right password.
            let early = try attacker.submit("/login", to: "/login", [("email", email), ("password", password)])
            #expect(early.status == 429)
            #expect(early.text.contains("Too many attempts"))
            // Keep failing (waiting out each delay) up to the lock.
            for _ in 5..<20 {
                portal.clock.advance(seconds: 61)
                _ = try attacker.submit("/login", to: "/login", [("email", email), ("password", "guess")])
            }
            portal.clock.advance(seconds: 61)
            advanced = 16 * 61
            #expect(try attacker.submit("/login", to: "/login", [("email", email), ("password", password)]).status == 429)
            #expect(try portal.auditActions(for: email).contains("login.locked"))
            portal.app.shutdown()
            portal.app.waitUntilStopped()
        }
        // The counters live in SQLite: a new process on the same database, at the same moment,
        // still refuses the right password; once the lock's 15 minutes are over it lets it in.
        let again = try TestPortal(configure: configure)
        again.clock.stop()
        again.clock.advance(seconds: advanced)
        let attacker = Browser(again)
        #expect(try attacker.submit("/login", to: "/login", [("email", email), ("password", password)]).status == 429)
        again.clock.advance(seconds: 16 * 60)
        let r = try attacker.submit("/login", to: "/login", [("email", email), ("password", password)])
        #expect(r.status == 303 && r["Location"] == "/login/mfa")
    }

    @Test func forgotPasswordResetsOnceEndsSessionsAndStillNeedsTOTP() throws {
        let portal = try TestPortal()
        let b = Browser(portal)
        let user = try TestUser.enrolled(portal, b)
        let other = Browser(portal)
        let sent = try other.submit("/forgot-password", to: "/forgot-password", [("email", user.email)])
        let unknown = try Browser(portal).submit("/forgot-password", to: "/forgot-password", [("email", "nobody@example.com")])
        #expect(sent.status == 200 && unknown.status == 200)
        #expect(try portal.mailCount(to: "nobody@example.com") == 0)
        let link = try #require(try portal.link(inMailTo: user.email))
        #expect(link.hasPrefix("/reset-password?token="))
        let form = try other.get(link)
        #expect(form.status == 200)
        let token = try #require(Browser.field("token", in: form.text))
        let done = try other.post("/reset-password", [("token", token), ("password", "a brand new passphrase")], csrfFrom: form)
        #expect(done.status == 303 && done["Location"] == "/login")
        // The signed-in browser was signed out; the link is spent.
        #expect(try b.get("/account")["Location"]?.hasPrefix("/login") == true)
        #expect(try other.get(link).status == 404)
        // The new password works and still asks for the code.
        portal.clock.advance(seconds: 30)
        let login = try other.submit("/login", to: "/login", [("email", user.email), ("password", "a brand new passphrase")])
        #expect(login["Location"] == "/login/mfa")
        #expect(try portal.auditActions(for: user.email).contains("password.reset"))
    }

    @Test func resetLinkExpiresAfterAnHour() throws {
        let portal = try TestPortal()
        let b = Browser(portal)
        let user = try TestUser.enrolled(portal, b)
        try Browser(portal).submit("/forgot-password", to: "/forgot-password", [("email", user.email)])
        let link = try #require(try portal.link(inMailTo: user.email))
        portal.clock.advance(seconds: 3601)
        #expect(try Browser(portal).get(link).status == 404)
    }

    @Test func lostAuthenticatorFilesASupportRequest() throws {
        let portal = try TestPortal()
        let b = Browser(portal)
        let user = try TestUser.enrolled(portal, b)
        try b.post("/logout", [], csrfFrom: try b.get("/account"))
        try b.submit("/login", to: "/login", [("email", user.email), ("password", user.password)])
        let empty = try b.submit("/mfa/lost", to: "/mfa/lost", [("note", "   ")])
        #expect(empty.status == 422)
        let sent = try b.submit("/mfa/lost", to: "/mfa/lost", [("note", "Phone fell in the sea. Call me on +31 20 123 4567.")])
        #expect(sent.status == 200)
        #expect(sent.text.contains("Request received"))
        let stored = try portal.app.database.read {
            try $0.queryOne("SELECT kind, email, note, status FROM support_requests").map { (try $0.string(0), try $0.string(1), try $0.string(2), try $0.string(3)) }
        }
        #expect(stored?.0 == "mfa_reset" && stored?.1 == user.email && stored?.3 == "open")
        #expect(stored?.2.contains("fell in the sea") == true)
        // The address hears of it at once, before support decides.
        #expect(try portal.lastMail(to: user.email)?.subject == "Someone asked to remove your two-factor authentication")
        // Still nothing else reachable.
        #expect(try b.get("/account")["Location"] == "/login/mfa")
    }

    @Test func idleAndAbsoluteTimeoutsEndSessions() throws {
        let portal = try TestPortal()
        let b = Browser(portal)
        _ = try TestUser.enrolled(portal, b)
        portal.clock.advance(seconds: 29 * 60)
        #expect(try b.get("/account").status == 200) // refreshes last-seen
        portal.clock.advance(seconds: 29 * 60)
        #expect(try b.get("/account").status == 200)
        portal.clock.advance(seconds: 31 * 60)
        #expect(try b.get("/account")["Location"]?.hasPrefix("/login") == true)

        let c = Browser(portal)
        _ = try TestUser.enrolled(portal, c)
        for _ in 0..<26 { // keep it busy for 12.5 hours
            portal.clock.advance(seconds: 29 * 60)
            _ = try c.get("/account")
        }
        #expect(try c.get("/account")["Location"]?.hasPrefix("/login") == true)

        // A session remembered a moment ago (no write since) is held to the clock again.
        let d = Browser(portal)
        _ = try TestUser.enrolled(portal, d)
        #expect(try d.get("/account").status == 200)
        #expect(try d.get("/account").status == 200)
        portal.clock.advance(seconds: 31 * 60)
        #expect(try d.get("/account")["Location"]?.hasPrefix("/login") == true)
    }

    @Test func accountPageChangesAndSessionManagement() throws {
        let portal = try TestPortal()
        let laptop = Browser(portal)
        let user = try TestUser.enrolled(portal, laptop)
        let phone = Browser(portal)
        phone.userAgent = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) Safari/604.1"
        #expect(try user.logIn(portal, phone).status == 303)

        // Bad details are explained and kept.
        let bad = try laptop.submit("/account", to: "/account/profile", [("name", "Ada"), ("phone", "call me"), ("timeZone", "Mars/Olympus")])
        #expect(bad.status == 422)
        #expect(bad.text.contains("Choose a time zone"))
        #expect(bad.text.contains("value=\"call me\""))
        let good = try laptop.submit("/account", to: "/account/profile", [("name", "Ada King"), ("phone", "+31 20 123 4567"), ("timeZone", "Europe/Amsterdam")])
        #expect(good.status == 303)
        let page = try laptop.get("/account")
        #expect(page.text.contains("value=\"Ada King\""))
        #expect(page.text.contains("<option selected>Europe/Amsterdam</option>"))
        #expect(page.text.contains("<option value=\"America/New_York\">America/New York</option>"))
        #expect(try laptop.get("/account/security").text.contains("iPhone"))

        // Preferences.
        try laptop.submit("/account", to: "/account/preferences", [("productNews", "on")])
        let prefs = try laptop.get("/account").text
        #expect(prefs.contains("name=\"productNews\" checked"))
        #expect(!prefs.contains("name=\"reportReady\" checked"))

        // Change password needs the current one; then the phone is signed out.
        let wrong = try laptop.submit("/account/security", to: "/account/password", [("currentPassword", "nope"), ("newPassword", "another good passphrase")])
        #expect(wrong.status == 422)
        #expect(wrong.text.contains("not your current password"))
        #expect(wrong.text.contains("Active sessions")) // shown again on the security page
        let changed = try laptop.submit("/account/security", to: "/account/password", [("currentPassword", user.password), ("newPassword", "another good passphrase")])
        #expect(changed.status == 303 && changed["Location"] == "/account/security#password")
        #expect(try phone.get("/account")["Location"]?.hasPrefix("/login") == true)
        #expect(try laptop.get("/account").status == 200)
        #expect(try portal.lastMail(to: user.email)?.subject == "Your Portal password was changed")
    }

    @Test func theAccountIsSplitIntoProfileAndSecurityPages() throws {
        let portal = try TestPortal()
        let b = Browser(portal)
        _ = try TestUser.enrolled(portal, b)
        let profile = try b.get("/account").text
        let security = try b.get("/account/security").text
        // Each page marks itself in the sub-navigation and links to the other.
        #expect(profile.contains("<a href=\"/account\" aria-current=\"page\">Profile</a>"))
        #expect(profile.contains("<a href=\"/account/security\">Security</a>"))
        #expect(security.contains("<a href=\"/account/security\" aria-current=\"page\">Security</a>"))
        #expect(security.contains("<a href=\"/account\">Profile</a>"))
        // Each form lives on one page only.
        for action in ["/account/profile", "/account/preferences"] {
            #expect(profile.contains("action=\"\(action)\"") && !security.contains("action=\"\(action)\""))
        }
        for action in ["/account/password", "/account/email", "/account/recovery-codes", "/account/sessions/"] {
            #expect(security.contains("action=\"\(action)") && !profile.contains("action=\"\(action)"))
        }
        #expect(security.contains("Recent security activity"))
        // A rejected change comes back on the page that holds its form, message beside the field.
        let bad = try b.submit("/account", to: "/account/profile", [("name", ""), ("phone", ""), ("timeZone", "UTC")])
        #expect(bad.status == 422 && bad.text.contains("<p class=\"error\">Enter your name.</p>") && bad.text.contains("action=\"/account/profile\""))
        let saved = try b.submit("/account", to: "/account/preferences", [("reportReady", "on")])
        #expect(saved.status == 303 && saved["Location"] == "/account")
    }

    @Test func endedSessionsAreClearedAwayAtTheNextSignIn() throws {
        let portal = try TestPortal()
        let b = Browser(portal)
        let user = try TestUser.enrolled(portal, b)
        for _ in 0..<3 {
            try b.post("/logout", [], csrfFrom: try b.get("/account"))
            _ = try user.logIn(portal, b)
        }
        func rows() throws -> Int {
            try portal.app.database.read { try $0.scalar("SELECT count(*) FROM sessions", as: Int.self) ?? 0 }
        }
        #expect(try rows() >= 7) // every step and every logout left a revoked row
        portal.clock.advance(seconds: 2 * 86_400)
        _ = try user.logIn(portal, Browser(portal))
        #expect(try rows() == 2) // the new session and the one before its MFA step
    }

    @Test func signOutOneSessionOrAllOthers() throws {
        let portal = try TestPortal()
        let a = Browser(portal)
        let user = try TestUser.enrolled(portal, a)
        let b = Browser(portal), c = Browser(portal)
        _ = try user.logIn(portal, b)
        _ = try user.logIn(portal, c)
        let page = try a.get("/account/security")
        let ids = page.text.components(separatedBy: "action=\"/account/sessions/").dropFirst().compactMap { Int($0.prefix { $0.isNumber }) }
        #expect(ids.count == 3)
        // Someone else's session id is not ours to end.
        let stranger = Browser(portal)
        _ = try TestUser.enrolled(portal, stranger)
        let theirs = try stranger.get("/account")
        for id in ids { #expect(try stranger.post("/account/sessions/\(id)/revoke", [], csrfFrom: theirs).status == 404) }

        // Each one just used (and remembered), then ended from the first.
        #expect(try b.get("/account").status == 200 && c.get("/account").status == 200)
        let others = try a.post("/account/sessions/revoke-others", [], csrfFrom: page)
        #expect(others.status == 303)
        #expect(try b.get("/account")["Location"]?.hasPrefix("/login") == true)
        #expect(try c.get("/account")["Location"]?.hasPrefix("/login") == true)
        #expect(try a.get("/account").status == 200)
        #expect(try portal.auditActions(for: user.email).contains("session.revoked_others"))
    }

    @Test func changeEmailNeedsPasswordAndCodeVerifiesTheNewAddressAndAlertsTheOld() throws {
        let portal = try TestPortal()
        let b = Browser(portal)
        let user = try TestUser.enrolled(portal, b)
        let newEmail = "ada.new-\(UUID().uuidString.prefix(6))@example.com"
        let noCode = try b.submit("/account/security", to: "/account/email", [("newEmail", newEmail), ("password", user.password), ("code", "000000")])
        #expect(noCode.status == 422)
        #expect(noCode.text.contains("value=\"\(newEmail)\"")) // what was typed is kept
        portal.clock.advance(seconds: 30)
        let ok = try b.submit("/account/security", to: "/account/email", [("newEmail", newEmail), ("password", user.password), ("code", user.code(portal))])
        #expect(ok.status == 303)
        #expect(try portal.lastMail(to: user.email)?.subject.contains("being changed") == true)
        let link = try #require(try portal.link(inMailTo: newEmail))
        let confirm = try b.get(link)
        #expect(confirm.text.contains(newEmail))
        #expect(try b.post("/account/email/confirm", [("token", Browser.field("token", in: confirm.text)!)], csrfFrom: confirm).status == 303)
        #expect(try b.get("/account").text.contains(newEmail))
        #expect(try portal.lastMail(to: user.email)?.subject.contains("was changed") == true)
    }

    @Test func regeneratedRecoveryCodesReplaceTheOldOnes() throws {
        let portal = try TestPortal()
        let b = Browser(portal)
        let user = try TestUser.enrolled(portal, b)
        portal.clock.advance(seconds: 30)
        let r = try b.submit("/account/security", to: "/account/recovery-codes", [("password", user.password), ("code", user.code(portal))])
        #expect(r["Location"] == "/mfa/recovery-codes?from=security")
        let page = try b.get("/mfa/recovery-codes?from=security")
        #expect(page.status == 200)
        #expect(page.text.contains("name=\"next\" value=\"/account/security\""))
        let file = try b.get("/mfa/recovery-codes.txt")
        #expect(file["Content-Disposition"]?.contains("attachment") == true)
        #expect(file.text.components(separatedBy: "\n").filter { $0.count == 11 }.count == 10)
        // Saving them leads back to the security page, not to the start.
        let saved = try b.post("/mfa/recovery-codes/done", [("next", "/account/security")], csrfFrom: page)
        #expect(saved["Location"] == "/account/security")
        #expect(try b.post("/logout", [], csrfFrom: try b.get("/account"))["Location"] == "/")
        try b.submit("/login", to: "/login", [("email", user.email), ("password", user.password)])
        #expect(try b.submit("/login/mfa", to: "/login/mfa", [("code", user.recoveryCodes[0])]).status == 401)
    }

    @Test func totpSecretsAreEncryptedAtRest() throws {
        let portal = try TestPortal()
        let b = Browser(portal)
        let user = try TestUser.enrolled(portal, b)
        let stored = try portal.app.database.read { try $0.scalar("SELECT totp_secret FROM users WHERE email = ?", user.email, as: [UInt8].self) }
        let blob = try #require(stored)
        #expect(blob.count > user.secret.count)
        #expect(blob.firstRange(of: user.secret) == nil)
        let sessions = try portal.app.database.read { try $0.query("SELECT token_hash FROM sessions").map { try $0.string(0) } }
        #expect(!sessions.contains(b.sessionCookie!))
        let keyFile = portal.dir + "/var/secret.key"
        let attrs = try FileManager.default.attributesOfItem(atPath: keyFile)
        #expect((attrs[.posixPermissions] as? Int) == 0o600)
    }

    /// An account problem no form answered is a page that says what to do: wait (429 with
    /// Retry-After), the link is dead (404), what was wrong (422); not a bare 400.
    @Test func anAccountProblemNoFormAnsweredSaysWhatToDo() {
        func error(_ p: Accounts.Problem) -> HTTPError? { ((p as any Error) as? any HTTPErrorConvertible)?.httpError }
        #expect(error(.throttled(seconds: 90))?.status == .tooManyRequests)
        #expect(error(.throttled(seconds: 90))?.message == "Too many attempts. Try again in 90 seconds.")
        #expect(error(.slowed(seconds: 30))?.headers["Retry-After"] == "30")
        #expect(error(.linkInvalid)?.status == .notFound)
        #expect(error(.invalid(["password": "Your password or authenticator code is not right."]))?.status == .unprocessableContent)
        #expect(error(.busy)?.status == .serviceUnavailable)
    }
}

