import Synchronization
import Security
import Foundation
import Testing
@testable import Portal

/// Attacks found in review, each tried against the running portal.
@Suite("Identity hardening")
struct HardeningTests {
    @Test func aStaleEnrolmentSessionCannotReplaceTheAuthenticator() throws {
        let portal = try TestPortal()
        let laptop = Browser(portal), kiosk = Browser(portal)
        let email = "twice-\(UUID().uuidString.prefix(6))@example.com", password = "two places at once"
        try laptop.submit("/signup", to: "/signup", [("name", "Twice"), ("email", email), ("password", password)])
        try laptop.get(try #require(try portal.link(inMailTo: email)))
        for b in [laptop, kiosk] {
            #expect(try b.submit("/login", to: "/login", [("email", email), ("password", password)])["Location"] == "/mfa/setup")
        }
        func secret(_ b: Browser) throws -> (TestResponse, [UInt8]) {
            let page = try b.get("/mfa/setup")
            let grouped = page.text.range(of: "id=\"totp-secret\">").map { String(page.text[$0.upperBound...].prefix { $0 != "<" }) }!
            return (page, Base32.decode(grouped)!)
        }
        let (laptopPage, laptopSecret) = try secret(laptop)
        let (kioskPage, kioskSecret) = try secret(kiosk)
        #expect(laptopSecret != kioskSecret)
        let now = portal.clock.now
        #expect(try laptop.post("/mfa/setup", [("code", TOTP.code(secret: laptopSecret, at: now))], csrfFrom: laptopPage)["Location"] == "/mfa/recovery-codes")
        // The kiosk's half-finished sign-in ended with the enrolment: its form is refused
        // (its session, and with it its CSRF token, is gone) and changes nothing.
        let late = try kiosk.post("/mfa/setup", [("code", TOTP.code(secret: kioskSecret, at: now))], csrfFrom: kioskPage)
        #expect(late.status == 403)
        #expect(try kiosk.get("/mfa/setup")["Location"]?.hasPrefix("/login") == true)
        let stored = try portal.app.database.read { try $0.scalar("SELECT count(*) FROM users WHERE email = ? AND totp_enabled_at IS NOT NULL", email, as: Int.self) }
        #expect(stored == 1)
        // The laptop's authenticator is still the one that works.
        let fresh = Browser(portal)
        portal.clock.advance(seconds: 30)
        try fresh.submit("/login", to: "/login", [("email", email), ("password", password)])
        #expect(try fresh.submit("/login/mfa", to: "/login/mfa", [("code", TOTP.code(secret: kioskSecret, at: portal.clock.now))]).status == 401)
        #expect(try fresh.submit("/login/mfa", to: "/login/mfa", [("code", TOTP.code(secret: laptopSecret, at: portal.clock.now))]).status == 303)
    }

    @Test func parallelGuessesGetNoMoreTriesThanSequentialOnes() throws {
        let portal = try TestPortal()
        portal.clock.stop() // twenty guesses at once, none let through by a second passing
        let b = Browser(portal)
        let user = try TestUser.enrolled(portal, b)
        let page = try Browser(portal).get("/login")
        let token = try #require(Browser.csrf(in: page))
        let cookie = page.all("set-cookie").first!.split(separator: ";")[0]
        let statuses = Mutex<[Int]>([])
        DispatchQueue.concurrentPerform(iterations: 20) { i in
            let attacker = Browser(portal)
            attacker.cookies["portal_csrf"] = String(cookie.split(separator: "=", maxSplits: 1)[1])
            let r = try? attacker.post("/login", [("email", user.email), ("password", "guess \(i)")], csrf: token)
            statuses.withLock { $0.append(r?.status ?? 0) }
        }
        let all = statuses.withLock { $0 }
        #expect(all.filter { $0 == 401 }.count == 5)
        #expect(all.filter { $0 == 429 }.count == 15)
    }

    @Test func ipv6AddressesAreThrottledByTheirSlash64() {
        func net(_ ip: String) -> String { Actor(userID: nil, ip: ip, userAgent: "").network }
        #expect(net("2001:db8:1:2::1") == net("2001:db8:1:2:ffff:ffff:ffff:ffff"))
        #expect(net("2001:db8:1:2::1") != net("2001:db8:1:3::1"))
        #expect(net("::ffff:192.0.2.7") == "192.0.2.7")
        #expect(net("192.0.2.7") == "192.0.2.7")
    }

    @Test func behindTLSOnlyTheRealOriginMayPostAndMailMustGoOut() throws {
        #expect(throws: PortalConfigError.self) { _ = try TestPortal { $0.baseURL = "https://portal.example" } }
        let portal = try TestPortal { $0.baseURL = "https://portal.example"; $0.smtpURL = "smtp://127.0.0.1:9" }
        let b = Browser(portal)
        let page = try b.get("/signup")
        #expect(page["Strict-Transport-Security"]?.contains("max-age") == true)
        #expect(b.cookies["__Host-portal_csrf"] != nil)
        let fields = [("name", "Ori Gin"), ("email", "origin@example.com"), ("password", "same site posts only please")]
        #expect(try b.post("/signup", fields, csrfFrom: page, headers: ["Origin": "http://127.0.0.1"]).status == 403)
        #expect(try b.post("/signup", fields, csrfFrom: page, headers: ["Origin": "https://portal.example"]).status == 303)
    }

    @Test func reauthenticationDoesNotSayWhichFactorWasWrong() throws {
        let portal = try TestPortal()
        let b = Browser(portal)
        let user = try TestUser.enrolled(portal, b)
        portal.clock.advance(seconds: 30)
        let rightPassword = try b.submit("/account/security", to: "/account/recovery-codes", [("password", user.password), ("code", "000000")])
        let wrongPassword = try b.submit("/account/security", to: "/account/recovery-codes", [("password", "not it"), ("code", user.code(portal))])
        #expect(rightPassword.status == 422 && wrongPassword.status == 422)
        #expect(rightPassword.text.contains("password or authenticator code is not right"))
        #expect(wrongPassword.text.contains("password or authenticator code is not right"))
    }
}
