import Database
import Foundation
import Security
import Testing
import TestSupport
import Web
@testable import Portal

/// Credential health over real sockets: the OAuth endpoints record the last successful client
/// authentication (time and IP, at most once a minute), count the tokens issued and the wrong
/// or expired secrets of the last 24 hours, and the app page flags credentials unused for 90
/// days. Then the Production rule: new Production secrets need a fresh authenticator code.
/// And the consent page names the organization that owns the app.
@Suite("Apps: credential health, Production credentials behind a fresh code")
struct AppsCredentialHealthTests {
    /// A portal whose log is captured, with an Owner and a Sandbox app subscribed to Balances.
    struct Setup {
        let capture = LogCapture()
        let portal: TestPortal
        let browser: Browser
        let owner: TestUser
        let org: String
        let app: String
        let clientID: String
        let secret: String

        init(configure: (inout PortalConfig) -> Void = { _ in }) throws {
            portal = try TestPortal(logger: capture.logger, configure: configure)
            browser = Browser(portal)
            owner = try TestUser.enrolled(portal, browser)
            org = try owner.createOrganization(portal, browser)
            (_, clientID, secret) = try AppsTests.register(browser, org, "Checkout")
            app = try #require(try AppsTests.appID(portal, named: "Checkout"))
            #expect(try AppsTests.post(browser, org, app, "/subscriptions", [("product", "balances")]).status == 303)
        }

        /// `POST path` authenticated by HTTP Basic, from `source` (any 127.0.0.0/8 address).
        func post(_ path: String, _ fields: [(String, String)], clientID: String? = nil, secret: String? = nil,
                  from source: String? = nil) throws -> TestResponse {
            let body = fields.map { URLEncodedFormTestEncoding.encode($0.0) + "=" + URLEncodedFormTestEncoding.encode($0.1) }.joined(separator: "&")
            return try portal.request("POST", path, headers: ["Content-Type": "application/x-www-form-urlencoded",
                                                              "Authorization": OAuthTests.Setup.basic(clientID ?? self.clientID, secret ?? self.secret)],
                                      body: body, from: source)
        }

        func token(clientID: String? = nil, secret: String? = nil, from source: String? = nil) throws -> TestResponse {
            try post("/oauth/token", [("grant_type", "client_credentials")], clientID: clientID, secret: secret, from: source)
        }

        /// `last_used_at` and `last_used_ip` as stored.
        func lastUse(_ clientID: String? = nil) throws -> (at: Int64?, ip: String?) {
            try portal.app.database.read { db in
                let r = try #require(try db.queryOne("SELECT last_used_at, last_used_ip FROM app_credentials WHERE client_id = ?", clientID ?? self.clientID))
                return (try r.optionalInt64(0), try r.optionalString(1))
            }
        }

        var appURL: String { "\(AppsTests.base(org))/\(app)" }

        /// The health list of one credential on the app page, as the Owner sees it (signing in
        /// again in a new browser when the clock moved past the session's life).
        func health(_ clientID: String? = nil) throws -> String {
            var page = try browser.get(appURL)
            if page.status == 303 {
                let fresh = Browser(portal)
                _ = try owner.logIn(portal, fresh)
                page = try fresh.get(appURL)
            }
            #expect(page.status == 200)
            return AppsCredentialHealthTests.health(in: page.text, clientID ?? self.clientID)
        }
    }

    static func health(in text: String, _ clientID: String) -> String {
        guard let start = text.range(of: "id=\"health-\(clientID)\"") else { return "" }
        let rest = text[start.upperBound...]
        // The list and the notes under it, up to the card's forms.
        let end = rest.range(of: "</section>")?.lowerBound ?? rest.endIndex
        return String(rest[..<end])
    }

    static func figure(_ label: String, in health: String) -> String? {
        guard let r = health.range(of: "<dt>\(label)</dt><dd>") else { return nil }
        return String(health[r.upperBound...].prefix { $0.isNumber })
    }

    // MARK: - last used

    @Test func lastUseIsTimeAndIPOfTheLastSuccessAndWrittenAtMostOnceAMinute() throws {
        let s = try Setup()
        // Nothing yet: "Never used", no figures.
        let before = try s.health()
        #expect(before.contains("Never used") && !before.contains(" from <code>"))
        #expect(Self.figure("Tokens issued, last 24 hours", in: before) == "0")
        #expect(try s.lastUse().at == nil)

        // A wrong secret is not a use.
        #expect(try s.token(secret: s.secret + "x").status == 401)
        #expect(try s.lastUse().at == nil)

        // The first success records its time and address.
        #expect(try s.token(from: "127.0.0.3").status == 200)
        let first = try s.lastUse()
        let firstAt = try #require(first.at)
        #expect(abs(firstAt - s.portal.clock.now) <= 2 && first.ip == "127.0.0.3")
        let shown = try s.health()
        #expect(!shown.contains("Never used") && shown.contains(" from <code>127.0.0.3</code>"))

        // Another success 30 s later, from another address: no write, the row is as it was.
        s.portal.clock.advance(seconds: 30)
        #expect(try s.token(from: "127.0.0.4").status == 200)
        #expect(try s.lastUse().at == firstAt && s.lastUse().ip == "127.0.0.3")

        // A minute after the recorded one, the next success moves it.
        s.portal.clock.advance(seconds: 31)
        #expect(try s.token(from: "127.0.0.4").status == 200)
        let second = try s.lastUse()
        #expect(try #require(second.at) >= firstAt + 61 && second.ip == "127.0.0.4")

        // Introspection and revocation authenticate the client too.
        let tokenText = try s.token().text
        let issued = try #require(tokenText.range(of: #"oat_[A-Za-z0-9_-]{70}"#, options: .regularExpression).map { String(tokenText[$0]) })
        s.portal.clock.advance(seconds: 61)
        let introspected = try s.post("/oauth/introspect", [("token", issued)], from: "127.0.0.5")
        #expect(introspected.status == 200 && introspected.text.contains("\"active\":true"))
        #expect(try s.lastUse().ip == "127.0.0.5")
        s.portal.clock.advance(seconds: 61)
        #expect(try s.post("/oauth/revoke", [("token", issued)], from: "127.0.0.6").status == 200)
        #expect(try s.lastUse().ip == "127.0.0.6")
        // A request refused after the client authenticated (a scope it may not have) is still a use.
        s.portal.clock.advance(seconds: 61)
        let outside = try s.post("/oauth/token", [("grant_type", "client_credentials"), ("scope", "payouts:write")], from: "127.0.0.7")
        #expect(outside.status == 400 && outside.text.contains("invalid_scope"))
        #expect(try s.lastUse().ip == "127.0.0.7")
    }

    @Test func tokensIssuedInTheLast24HoursAreCountedPerCredential() throws {
        let s = try Setup()
        let second = try AppsTests.post(s.browser, s.org, s.app, "/credentials", [("name", "Batch jobs")])
        let (client2, secret2) = try #require(AppsTests.shown(second))
        for _ in 0..<3 { #expect(try s.token().status == 200) }
        #expect(try s.token(clientID: client2, secret: secret2).status == 200)
        #expect(Self.figure("Tokens issued, last 24 hours", in: try s.health()) == "3")
        #expect(Self.figure("Tokens issued, last 24 hours", in: try s.health(client2)) == "1")
        // 23 hours on they still count; a new one adds to them.
        s.portal.clock.advance(seconds: 23 * 3600)
        #expect(try s.token().status == 200)
        #expect(Self.figure("Tokens issued, last 24 hours", in: try s.health()) == "4")
        // Past 24 hours only the newest is left, even after the hourly pruning ran.
        s.portal.clock.advance(seconds: 3600 + 60)
        try s.portal.app.oauth.prune()
        #expect(Self.figure("Tokens issued, last 24 hours", in: try s.health()) == "1")
        #expect(Self.figure("Tokens issued, last 24 hours", in: try s.health(client2)) == "0")
    }

    // MARK: - failed authentications

    @Test func wrongSecretsAreCountedForADayInBoundedRowsAndNeverLogged() throws {
        let s = try Setup()
        var wrong: [String] = []
        for i in 0..<4 {
            let guess = "cs_wrong_guess_\(i)_" + Base64URL.encode(SecureRandom.bytes(8))
            wrong.append(guess)
            // By Basic and by form fields alike.
            let r = i % 2 == 0 ? try s.token(secret: guess)
                : try s.portal.request("POST", "/oauth/token", headers: ["Content-Type": "application/x-www-form-urlencoded"],
                                       body: "grant_type=client_credentials&client_id=\(s.clientID)&client_secret=\(guess)")
            #expect(r.status == 401 && r.text.contains("invalid_client"))
        }
        // An unknown client id is nobody's failure; a right secret is not a failure.
        #expect(try s.token(clientID: "client_unknown2345678901", secret: "cs_x").status == 401)
        #expect(try s.token().status == 200)
        // An old secret past its overlap is a failure of these credentials too.
        let reset = try AppsTests.post(s.browser, s.org, s.app, "/credentials/\(s.clientID)/reset", [("overlap", "0")])
        let (_, newSecret) = try #require(AppsTests.shown(reset))
        #expect(try s.token(secret: s.secret).status == 401)
        #expect(try s.token(secret: newSecret).status == 200)

        let health = try s.health()
        #expect(Self.figure("Failed authentications, last 24 hours", in: health) == "5")
        #expect(health.contains("Wrong or expired secrets"))
        // One row per credential and hour, however many attempts (two if the hour turned meanwhile).
        let rows = try s.portal.count("SELECT count(*) FROM app_credential_failures")
        #expect(rows >= 1 && rows <= 2)
        #expect(try s.portal.count("SELECT coalesce(sum(failures), 0) FROM app_credential_failures") == 5)

        // Still counted 23 hours on; gone once 25 hours have passed (hourly buckets), and pruned.
        s.portal.clock.advance(seconds: 23 * 3600)
        #expect(Self.figure("Failed authentications, last 24 hours", in: try s.health()) == "5")
        s.portal.clock.advance(seconds: 2 * 3600 + 60)
        let later = try s.health()
        #expect(Self.figure("Failed authentications, last 24 hours", in: later) == "0" && !later.contains("Wrong or expired secrets"))
        try s.portal.app.oauth.prune()
        #expect(try s.portal.count("SELECT count(*) FROM app_credential_failures") == 0)

        // No secret, right or wrong, in any log line.
        let log = s.capture.all
        for secret in wrong + [s.secret, newSecret] { #expect(!log.contains(secret)) }
    }

    /// A flood of wrong secrets for a known client id is answered 429 once its own bucket is
    /// empty (and not written), while the real client keeps its allowance.
    @Test func aFloodOfWrongSecretsIsLimitedWithoutStarvingTheRealClient() throws {
        let s = try Setup { config in
            config.apiRequestsPerSecond = 0.01
            config.apiBurst = 3
        }
        let statuses = try (0..<5).map { i in try s.token(secret: "cs_flood_\(i)").status }
        #expect(statuses == [401, 401, 401, 429, 429])
        #expect(try s.portal.count("SELECT coalesce(sum(failures), 0) FROM app_credential_failures") == 3)
        #expect(try s.token().status == 200, "the client with the right secret still gets its token")
    }

    // MARK: - unused for 90 days

    @Test func credentialsUnusedFor90DaysAreFlagged() throws {
        let s = try Setup()
        let added = try AppsTests.post(s.browser, s.org, s.app, "/credentials", [("name", "Busy")])
        let (busy, busySecret) = try #require(AppsTests.shown(added))
        #expect(!(try s.health()).contains("Unused for 90 days"))

        // 89 days on, neither is flagged: the default was made 89 days ago, Busy is used.
        s.portal.clock.advance(seconds: 89 * 86400)
        #expect(try s.token(clientID: busy, secret: busySecret).status == 200)
        #expect(!(try s.health()).contains("Unused for 90 days"))
        #expect(!(try s.health(busy)).contains("Unused for 90 days"))

        // 91 days after it was made and never used: flagged; Busy, used two days ago, is not.
        s.portal.clock.advance(seconds: 2 * 86400)
        let idle = try s.health()
        #expect(idle.contains("Never used") && idle.contains("Unused for 90 days") && idle.contains("for 90 days. If nothing needs them"))
        #expect(!(try s.health(busy)).contains("Unused for 90 days"))

        // Used yesterday: no longer flagged.
        #expect(try s.token().status == 200)
        s.portal.clock.advance(seconds: 86400)
        #expect(!(try s.health()).contains("Unused for 90 days"))

        // Busy's last use 91 days ago: flagged too.
        s.portal.clock.advance(seconds: 89 * 86400)
        let stale = try s.health(busy)
        #expect(stale.contains("Unused for 90 days") && !stale.contains("Never used"))
    }

    // MARK: - Production credentials need a fresh authenticator code

    @Test func productionCredentialsNeedAFreshAuthenticatorCode() throws {
        let (portal, b, owner, org) = try TestPortal.withOwner()
        portal.clock.stop() // "the code just used" must be the same 30-second step's
        try portal.enableProduction(org)
        let base = "/orgs/\(org)/production/apps"
        let form = try b.get("\(base)/new")
        #expect(form.status == 200 && form.text.contains("name=\"code\""))
        func apps() throws -> Int { try portal.count("SELECT count(*) FROM apps WHERE environment = 'production'") }

        // Registering: no code, a wrong code — refused beside the field, the name kept, nothing made.
        let missing = try b.post("\(base)/new", [("name", "Live checkout")], csrfFrom: form)
        #expect(missing.status == 422 && missing.text.contains("id=\"code-error\"") && missing.text.contains("Production credentials need it"))
        #expect(missing.text.contains("value=\"Live checkout\"") && AppsTests.shown(missing) == nil)
        portal.clock.advance(seconds: 30)
        let wrongCode = owner.code(portal) == "000000" ? "111111" : "000000"
        let wrong = try b.post("\(base)/new", [("name", "Live checkout"), ("code", wrongCode)], csrfFrom: form)
        #expect(wrong.status == 422 && wrong.text.contains("id=\"code-error\"") && wrong.text.contains("value=\"Live checkout\""))
        // A name problem and a missing code are said together (no code is spent on a failing form).
        let both = try b.post("\(base)/new", [("name", "")], csrfFrom: form)
        #expect(both.status == 422 && both.text.contains("id=\"name-error\"") && both.text.contains("id=\"code-error\""))
        #expect(try apps() == 0)
        // With a fresh code: made, the secret shown once.
        let made = try b.post("\(base)/new", [("name", "Live checkout"), ("code", owner.code(portal))], csrfFrom: form)
        #expect(made.status == 201)
        let (clientID, _) = try #require(AppsTests.shown(made))
        let app = try #require(try AppsTests.appID(portal, named: "Live checkout"))
        let appURL = "\(base)/\(app)"

        // Adding credentials: the code just used is spent; missing refused beside the add form's field.
        let page = try b.get(appURL)
        #expect(page.text.contains("id=\"credential_code\"") && page.text.contains("id=\"code-\(clientID)\""))
        let addMissing = try b.post("\(appURL)/credentials", [("name", "Backup server")], csrfFrom: page)
        #expect(addMissing.status == 422 && addMissing.text.contains("id=\"credential_code-error\"") && addMissing.text.contains("value=\"Backup server\""))
        let reused = try b.post("\(appURL)/credentials", [("name", "Backup server"), ("code", owner.code(portal))], csrfFrom: page)
        #expect(reused.status == 422 && reused.text.contains("already used") && reused.text.contains("value=\"Backup server\""))
        #expect(AppsTests.shown(reused) == nil)
        #expect(try portal.count("SELECT count(*) FROM app_credentials") == 1)
        portal.clock.advance(seconds: 30)
        let added = try b.post("\(appURL)/credentials", [("name", "Backup server"), ("code", owner.code(portal))], csrfFrom: page)
        #expect(added.status == 201 && AppsTests.shown(added) != nil)

        // Resetting: refused beside that credential's field, the chosen overlap kept; then with a fresh code.
        let resetMissing = try b.post("\(appURL)/credentials/\(clientID)/reset", [("overlap", "86400")], csrfFrom: page)
        #expect(resetMissing.status == 422 && resetMissing.text.contains("id=\"code-\(clientID)-error\""))
        #expect(resetMissing.text.contains("value=\"86400\" checked"))
        let resetReused = try b.post("\(appURL)/credentials/\(clientID)/reset", [("overlap", "86400"), ("code", owner.code(portal))], csrfFrom: page)
        #expect(resetReused.status == 422 && resetReused.text.contains("already used") && AppsTests.shown(resetReused) == nil)
        let before = try portal.app.database.read { try $0.scalar("SELECT hex(secret_sha256) FROM app_credentials WHERE client_id = ?", clientID, as: String.self) }
        portal.clock.advance(seconds: 30)
        let reset = try b.post("\(appURL)/credentials/\(clientID)/reset", [("overlap", "86400"), ("code", owner.code(portal))], csrfFrom: page)
        #expect(reset.status == 201 && AppsTests.shown(reset)?.clientID == clientID)
        let after = try portal.app.database.read { try $0.scalar("SELECT hex(secret_sha256) FROM app_credentials WHERE client_id = ?", clientID, as: String.self) }
        #expect(before != after)
        #expect(try portal.audit(of: app).filter { $0 == "app.secret_reset" }.count == 1)

        // Sandbox asks for no code.
        let sandbox = try b.get("/orgs/\(org)/sandbox/apps/new")
        #expect(!sandbox.text.contains("name=\"code\""))
        let (_, sandboxClient, _) = try AppsTests.register(b, org, "Test checkout")
        let sandboxApp = try #require(try AppsTests.appID(portal, named: "Test checkout"))
        let sandboxPage = try b.get("\(AppsTests.base(org))/\(sandboxApp)")
        #expect(!sandboxPage.text.contains("name=\"code\""))
        #expect(try b.post("\(AppsTests.base(org))/\(sandboxApp)/credentials/\(sandboxClient)/reset", [("overlap", "0")], csrfFrom: sandboxPage).status == 201)
    }

    // MARK: - the consent page

    /// A member of another organization is asked by an app: the page names the organization
    /// that owns the app (which is none of the member's own, so it can only come from the app).
    @Test func theConsentPageNamesTheAppsOrganization() throws {
        let flow = try OAuthCodeFlowTests.Flow()
        let portal = flow.s.portal
        let other = Browser(portal)
        let member = try TestUser.enrolled(portal, other)
        try member.createOrganization(portal, other, ["legal_name": "Zebra Holding B.V.", "trading_name": "Zebra Shop"])
        let page = try other.get(flow.authorizeQuery())
        #expect(page.status == 200)
        #expect(page.text.contains("a Sandbox app of <strong id=\"app-organization\">Acme</strong>"), "\(page.text.prefix(1200))")
        #expect(page.text.contains("Zebra Shop · Sandbox"), "the member chooses among their own organizations")
        #expect(!page.text.contains("Acme · "), "the app's organization is not one the member may choose")
    }
}
