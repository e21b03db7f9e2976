import Foundation
import Testing
@testable import Portal

/// Environment scope over real sockets: `/orgs/:org/sandbox` and `/orgs/:org/production`
/// behind the ``EnvGate``, and the organization bar built from the features' sections with
/// its Sandbox/Production switch.
@Suite("Environments: the gate, the overview and the organization bar")
struct EnvironmentTests {
    @Test func productionIsAPageThatSaysWhyUntilSupportEnablesItThenItOpens() throws {
        let (portal, ob, _, org) = try TestPortal.withOwner()
        #expect(try ob.get("/orgs/\(org)").text.contains("<a href=\"/orgs/\(org)/sandbox\">Open Sandbox</a>"))
        let sandbox = try ob.get("/orgs/\(org)/sandbox")
        #expect(sandbox.status == 200)
        #expect(sandbox.text.contains("Test money only"))
        // The environment's page is its dashboard: no made-up data, an empty state that says what to do.
        #expect(sandbox.text.contains("<h2>Balances</h2>") && sandbox.text.contains("No account yet"))
        #expect(sandbox.text.contains("Create a test transaction with the API or <code>portal seed-demo</code>"))

        // Before: a page (not a 500, not a 404) saying what Production is and how to ask.
        let closed = try ob.get("/orgs/\(org)/production")
        #expect(closed.status == 403)
        #expect(closed.text.contains("is not enabled yet"))
        #expect(closed.text.contains("real money"))
        #expect(closed.text.contains("Support opens Production"))
        #expect(closed.text.contains("href=\"/orgs/\(org)/settings/production\""))
        #expect(closed.text.contains("href=\"/orgs/\(org)/sandbox\""))
        #expect(!closed.text.contains("Live since"))

        // Asked for: the page says it is with support, and still refuses.
        #expect(try ob.submit("/orgs/\(org)/settings/production", to: "/orgs/\(org)/settings/production", [("note", "Live in May")]).status == 303)
        let waiting = try ob.get("/orgs/\(org)/production")
        #expect(waiting.status == 403)
        #expect(waiting.text.contains("A request for Production access is with support"))
        #expect(!waiting.text.contains("href=\"/orgs/\(org)/settings/production\""))

        // Support enables it: Production opens.
        let sb = Browser(portal)
        _ = try SupportTests.staff(portal, sb)
        let id = try SupportTests.requestID(portal, kind: "production_access")
        #expect(try SupportTests.decide(sb, id, approve: true, reason: "Compliance details verified")["Location"] != nil)
        #expect(try ob.get("/orgs/\(org)").text.contains("<a href=\"/orgs/\(org)/production\">Open Production</a>"))
        let open = try ob.get("/orgs/\(org)/production")
        #expect(open.status == 200)
        #expect(open.text.contains("Live since"))
        #expect(open.text.contains("real money moves here"))
        #expect(!open.text.contains("is not enabled yet"))
    }

    @Test func aMemberWhoCannotAskForProductionIsToldWhoCan() throws {
        let (portal, ob, _, org) = try TestPortal.withOwner()
        let (_, eb) = try TeamTests().newMember(portal, ob, org: org, role: "employee")
        let closed = try eb.get("/orgs/\(org)/production")
        #expect(closed.status == 403)
        #expect(closed.text.contains("Only the Owner of Acme can request it"))
        #expect(!closed.text.contains("/settings/production"))
        // An Employee sees the Sandbox dashboard with what their role opens: transactions
        // (the search and the bar's entry), not the statistics.
        let sandbox = try eb.get("/orgs/\(org)/sandbox")
        #expect(sandbox.status == 200)
        #expect(sandbox.text.contains("<h2>Balances</h2>") && sandbox.text.contains("name=\"external_id\""))
        #expect(sandbox.text.contains(">Transactions</a>"))
        #expect(!sandbox.text.contains("Statistics, last 30 days"))
    }

    @Test func anUnknownEnvironmentAndAnotherOrganizationAreNotFound() throws {
        let (portal, _, _, org) = try TestPortal.withOwner()
        for env in ["staging", "Sandbox", "live", "test"] {
            #expect(try Browser(portal).get("/orgs/\(org)/\(env)").status != 200)
        }
        let b = Browser(portal)
        _ = try TestUser.enrolled(portal, b)
        for env in ["staging", "Sandbox", "live"] { #expect(try b.get("/orgs/\(org)/\(env)").status == 404, "\(env)") }
        for env in ["sandbox", "production"] {
            let foreign = try b.get("/orgs/\(org)/\(env)")
            #expect(foreign.status == 404, "\(env)")
            #expect(!foreign.text.contains("Acme"), "\(env)")
            #expect(try b.get("/orgs/org_aaaaaaaaaaaaaaaa/\(env)").status == 404, "\(env)")
        }
        // Signed out: the login page, not the environment.
        #expect(try Browser(portal).get("/orgs/\(org)/sandbox")["Location"]?.hasPrefix("/login?next=") == true)
    }

    @Test func theBarShowsTheEnvironmentSwitchAndTheRoleApartFromTheName() throws {
        let (_, ob, _, org) = try TestPortal.withOwner()
        let dash = try ob.get("/orgs/\(org)")
        // Outside an environment, the switch leads to each overview; Production is marked.
        #expect(dash.text.contains("<a href=\"/orgs/\(org)/sandbox\">Sandbox</a>"))
        #expect(dash.text.contains("<a href=\"/orgs/\(org)/production\" class=\"locked\""))
        #expect(dash.text.contains("<a href=\"/orgs/\(org)\" aria-current=\"page\">Dashboard</a>"))
        // One organization: its name is a link, not a menu that opens onto nothing.
        #expect(!dash.text.contains("<details class=\"org-switcher\""))
        #expect(dash.text.contains("Your role: Owner"))
        let sandbox = try ob.get("/orgs/\(org)/sandbox")
        #expect(sandbox.text.contains("<a href=\"/orgs/\(org)/sandbox\" aria-current=\"page\">Sandbox</a>"))
        // A second organization: now the name opens the switcher.
        let other = try ob.submit("/orgs/new", to: "/orgs/new", TestUser.orgFields(["legal_name": "Bolt Ltd", "trading_name": "Bolt & <b>Sons</b>"]))
        #expect(other.status == 303)
        let again = try ob.get("/orgs/\(org)")
        #expect(again.text.contains("<details class=\"org-switcher\""))
        // The bar is made in Swift: a name from data is escaped there, never markup.
        #expect(again.text.contains(">Bolt &amp; &lt;b&gt;Sons&lt;/b&gt;</a>"))
        #expect(!again.text.contains("<b>Sons</b>"))
    }

    @Test func sectionsWithoutTheirPermissionAreNotInTheBar() throws {
        let (portal, ob, _, org) = try TestPortal.withOwner()
        let (e, eb) = try TeamTests().newMember(portal, ob, org: org, role: "employee")
        let page = try eb.get("/orgs/\(org)")
        #expect(page.status == 200)
        #expect(!page.text.contains(">Team</a>") && !page.text.contains(">Logs</a>"))
        #expect(page.text.contains(">Dashboard</a>") && page.text.contains(">Settings</a>"))
        let owner = try ob.get("/orgs/\(org)")
        #expect(owner.text.contains(">Team</a>") && owner.text.contains(">Logs</a>"))
        // The bar is kept per member's view of a page: a new role shows on the same page at once.
        let team = TeamTests()
        let id = try team.memberID(portal, e.email, org: org)
        let edit = try ob.get("/orgs/\(org)/team/members/\(id)")
        #expect(try ob.post("/orgs/\(org)/team/members/\(id)", [("role", "admin"), ("version", "1")], csrfFrom: edit).status == 303)
        let raised = try eb.get("/orgs/\(org)")
        #expect(raised.text.contains(">Team</a>") && raised.text.contains("Your role: Admin"))
        #expect(!raised.text.contains("Your role: Employee"))
    }

    @Test func anEnvAccessForProductionCannotBeMadeBeforeItIsEnabled() throws {
        let (portal, _, owner, org) = try TestPortal.withOwner()
        func access() throws -> OrgAccess {
            let user = try #require(try portal.app.database.read { try AccountsStore().user(email: owner.email, on: $0) })
            return try portal.app.organizations.access(user: user, organization: org)
        }
        let sandbox = try EnvAccess(try access(), environment: .sandbox)
        #expect(sandbox.environment == .sandbox && !sandbox.isProduction && sandbox.can(.apiKeysWrite))
        #expect(throws: EnvironmentClosed.self) { try EnvAccess(try access(), environment: .production) }
        try portal.app.database.write { _ = try $0.execute("UPDATE organizations SET production_enabled_at = ? WHERE public_id = ?", portal.clock.now, org) }
        let production = try EnvAccess(try access(), environment: .production)
        #expect(production.isProduction && production.org.publicID == org)
    }

    // MARK: - the menu's rules

    static let menu = OrgMenu([
        OrgSection("Settings", path: "settings", order: 90),
        OrgSection("Dashboard", path: "", order: 0),
        OrgSection("API keys", path: "keys", permission: .apiKeysRead, scope: .environment, order: 10),
        OrgSection("Monthly reports", path: "reports/monthly", scope: .environment, order: 20),
        OrgSection("Team", path: "team", permission: .rolesRead, order: 60),
    ])

    @Test func theSwitchKeepsTheSectionAndDropsTheObject() {
        let base = "/orgs/org_k3v9q2m7x4c1b8n5"
        let m = Self.menu
        #expect(m.switchPath("\(base)/sandbox/webhooks", base: base, to: .production) == "\(base)/production/webhooks")
        #expect(m.switchPath("\(base)/production/webhooks", base: base, to: .sandbox) == "\(base)/sandbox/webhooks")
        // An object's id belongs to its environment: the switch lands on the section.
        #expect(m.switchPath("\(base)/sandbox/keys/key_abc/roll", base: base, to: .production) == "\(base)/production/keys")
        #expect(m.switchPath("\(base)/sandbox/reports/monthly/2026-11", base: base, to: .production) == "\(base)/production/reports/monthly")
        #expect(m.switchPath("\(base)/sandbox", base: base, to: .production) == "\(base)/production")
        #expect(m.switchPath("\(base)/sandbox", base: base, to: .sandbox) == "\(base)/sandbox")
        // From an organization page: the environment's overview.
        #expect(m.switchPath("\(base)/team", base: base, to: .production) == "\(base)/production")
        #expect(m.switchPath(base, base: base, to: .sandbox) == "\(base)/sandbox")
        // A path that only starts like an environment is not one.
        #expect(m.switchPath("\(base)/sandboxes", base: base, to: .production) == "\(base)/production")
    }

    @Test func entriesFollowPermissionsOrderAndTheEnvironmentOfThePage() {
        let base = "/orgs/org_k3v9q2m7x4c1b8n5"
        let all = Self.menu.entries(path: "\(base)/production/keys/key_1", base: base) { _ in true }
        #expect(all.map(\.title) == ["Dashboard", "API keys", "Monthly reports", "Team", "Settings"])
        #expect(all.first { $0.title == "API keys" } == OrgMenu.Entry(title: "API keys", url: "\(base)/production/keys", current: true))
        #expect(all.filter(\.current).map(\.title) == ["API keys"])
        // Outside an environment, environment sections lead into Sandbox.
        let team = Self.menu.entries(path: "\(base)/team/members/mem_1", base: base) { _ in true }
        #expect(team.first { $0.title == "API keys" }?.url == "\(base)/sandbox/keys")
        #expect(team.filter(\.current).map(\.title) == ["Team"])
        // Without the permission, the section is not offered.
        let none = Self.menu.entries(path: base, base: base) { _ in false }
        #expect(none.map(\.title) == ["Dashboard", "Monthly reports", "Settings"])
        #expect(none.filter(\.current).map(\.title) == ["Dashboard"])
    }
}
