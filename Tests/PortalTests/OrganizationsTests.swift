import Foundation
import Testing
import Web
@testable import Portal

/// Organizations over real sockets: creation, landing, access, requests to support, and the
/// transfer of ownership.
@Suite("Organizations: creation, access, requests, ownership")
struct OrganizationsTests {
    @Test func afterEnrolmentAPersonWithoutAnOrganizationIsAskedToCreateOne() throws {
        let portal = try TestPortal()
        let b = Browser(portal)
        let user = try TestUser.enrolled(portal, b)
        #expect(try b.get("/home")["Location"] == "/orgs/new")
        let form = try b.get("/orgs/new")
        #expect(form.status == 200)
        #expect(form.text.contains("<option value=\"NL\">Netherlands</option>"))
        let id = try user.createOrganization(portal, b)
        // One organization: the landing page is its dashboard.
        #expect(try b.get("/home")["Location"] == "/orgs/\(id)")
        let dash = try b.get("/orgs/\(id)")
        #expect(dash.status == 200)
        #expect(dash.text.contains("Acme"))
        #expect(dash.text.contains("the Owner"))
        #expect(dash.text.contains("Request Production access"))
        let settings = try b.get("/orgs/\(id)/settings")
        #expect(settings.text.contains("Acme Payments B.V."))
        #expect(settings.text.contains("Netherlands (NL)"))
        #expect(try portal.auditActions(organization: id) == ["org.created"])
        let owner = try portal.app.database.read {
            try $0.queryOne("SELECT role, permissions FROM memberships m JOIN users u ON u.id = m.user_id WHERE u.email = ?", user.email)
        }
        #expect(try owner?.string(0) == "owner")
        #expect(try owner.map { try $0.string(1).split(separator: " ").count } == Permission.allCases.count)
    }

    @Test func theFormShowsEachProblemBesideItsFieldAndKeepsWhatWasTyped() throws {
        let portal = try TestPortal()
        let b = Browser(portal)
        _ = try TestUser.enrolled(portal, b)
        let r = try b.submit("/orgs/new", to: "/orgs/new", TestUser.orgFields([
            "legal_name": "Acme <Holding>", "country": "XX", "website": "not a site", "industry": "Piracy",
            "compliance_email": "nobody", "registration_number": "", "address": "Here",
        ]))
        #expect(r.status == 422)
        #expect(r.text.contains("value=\"Acme &lt;Holding&gt;\""))
        #expect(r.text.contains("Choose the country where the organization is registered."))
        #expect(r.text.contains("Enter a web address like https://example.com."))
        #expect(r.text.contains("Choose the industry closest"))
        #expect(r.text.contains("Enter a valid e-mail address"))
        #expect(r.text.contains("Enter the company registration number."))
        #expect(r.text.contains("Enter the registered address."))
        #expect(r.text.contains(">Here</textarea>"))
        #expect(try portal.app.database.read { try $0.scalar("SELECT count(*) FROM organizations", as: Int.self) } == 0)
        // A bare domain is taken as https.
        let ok = try b.submit("/orgs/new", to: "/orgs/new", TestUser.orgFields(["website": "acme.example"]))
        #expect(ok.status == 303)
        #expect(try portal.app.database.read { try $0.scalar("SELECT website FROM organizations", as: String.self) } == "https://acme.example")
    }

    @Test func anotherPersonsOrganizationIsTheSameNotFoundAsOneThatDoesNotExist() throws {
        let portal = try TestPortal()
        let a = Browser(portal), b = Browser(portal)
        let ana = try TestUser.enrolled(portal, a)
        let org = try ana.createOrganization(portal, a)
        _ = try TestUser.enrolled(portal, b)
        let paths = ["", "/settings", "/settings/details", "/settings/name", "/settings/production", "/settings/offboarding", "/settings/owner"]
        for p in paths {
            let foreign = try b.get("/orgs/\(org)\(p)")
            let missing = try b.get("/orgs/org_aaaaaaaaaaaaaaaa\(p)")
            let malformed = try b.get("/orgs/1\(p)")
            #expect(foreign.status == 404, "\(p)")
            #expect(missing.status == 404 && malformed.status == 404, "\(p)")
            #expect(!foreign.text.contains("Acme"), "\(p)")
        }
        // Posting to a foreign organization changes nothing either.
        let page = try b.get("/orgs/new")
        let post = try b.post("/orgs/\(org)/settings/production", [("note", "take over")], csrfFrom: page)
        #expect(post.status == 404)
        #expect(try portal.app.database.read { try $0.scalar("SELECT count(*) FROM support_requests", as: Int.self) } == 0)
        // Signed out: the login page, not the organization.
        #expect(try Browser(portal).get("/orgs/\(org)")["Location"]?.hasPrefix("/login") == true)
    }

    @Test func severalOrganizationsGetAListAndASwitcher() throws {
        let (portal, b, user, first) = try TestPortal.withOwner()
        let second = try user.createOrganization(portal, b, ["legal_name": "Beta Ltd", "trading_name": ""])
        #expect(try b.get("/home")["Location"] == "/orgs")
        let list = try b.get("/orgs")
        #expect(list.text.contains("/orgs/\(first)") && list.text.contains("/orgs/\(second)"))
        let dash = try b.get("/orgs/\(first)")
        // The switcher offers the other organization.
        #expect(dash.text.contains("href=\"/orgs/\(second)\">Beta Ltd</a>"))
    }

    @Test func detailChangesAreRequestsWithAReasonThatSupportReviews() throws {
        let (portal, b, _, org) = try TestPortal.withOwner()
        let base = "/orgs/\(org)/settings"
        // Nothing changed: refused, and the reason is required.
        let same = try b.submit("\(base)/details", to: "\(base)/details", [])
        #expect(same.status == 422)
        #expect(same.text.contains("Tell support why"))
        let form = try b.get("\(base)/details")
        #expect(form.text.contains("value=\"KVK 12345678\""))
        let sent = try b.post("\(base)/details", [("address", "Damrak 5\n1012 LG Amsterdam"), ("reason", "We moved")], csrfFrom: form)
        #expect(sent.status == 303)
        // The organization itself is unchanged until support approves.
        let settings = try b.get(base)
        #expect(settings.text.contains("Herengracht 1"))
        #expect(settings.text.contains("Waiting for support"))
        #expect(settings.text.contains("Damrak 5"))
        let row = try portal.app.database.read { try $0.queryOne("SELECT kind, changes, note, status FROM support_requests") }
        #expect(try row?.string(0) == "org_details")
        #expect(try row?.string(1) == "{\"address\":\"Damrak 5\\n1012 LG Amsterdam\"}")
        #expect(try row?.string(3) == "open")
        // One open request of a kind at a time.
        let again = try b.submit("\(base)/details", to: "\(base)/details", [("address", "Elsewhere 9"), ("reason", "Again")])
        #expect(again.status == 409)
        #expect(again.text.contains("already waiting"))
        // A name change is its own kind, and only takes the name fields.
        let name = try b.submit("\(base)/name", to: "\(base)/name", [("legal_name", "Acme Group B.V."), ("country", "DE"), ("reason", "Rebrand")])
        #expect(name.status == 303)
        let nameChanges = try portal.app.database.read {
            try $0.scalar("SELECT changes FROM support_requests WHERE kind = 'org_name'", as: String.self)
        }
        #expect(nameChanges == "{\"legal_name\":\"Acme Group B.V.\"}")
        #expect(try portal.auditActions(organization: org).suffix(2) == ["request.org_details", "request.org_name"])
    }

    @Test func offboardingNeedsTheNameTypedAndAReason() throws {
        let (portal, b, _, org) = try TestPortal.withOwner()
        let path = "/orgs/\(org)/settings/offboarding"
        let page = try b.get(path)
        #expect(page.text.contains("This cannot be undone"))
        let wrong = try b.post(path, [("reason", "Closing down"), ("confirmation", "acme")], csrfFrom: page)
        #expect(wrong.status == 422)
        #expect(wrong.text.contains("Type the organization&#39;s name, Acme, to confirm."))
        #expect(wrong.text.contains(">Closing down</textarea>"))
        let ok = try b.post(path, [("reason", "Closing down"), ("confirmation", "Acme")], csrfFrom: page)
        #expect(ok.status == 303)
        #expect(try portal.app.database.read { try $0.scalar("SELECT kind FROM support_requests", as: String.self) } == "offboarding")
        // Still open for business until support decides.
        #expect(try b.get("/orgs/\(org)").status == 200)
    }

    @Test func productionAccessIsRequestedByTheOwnerOnce() throws {
        let (portal, b, _, org) = try TestPortal.withOwner()
        let path = "/orgs/\(org)/settings/production"
        let empty = try b.submit(path, to: path, [("note", "  ")])
        #expect(empty.status == 422)
        #expect(try b.submit(path, to: path, [("note", "Payouts to 3 countries from March")]).status == 303)
        let dash = try b.get("/orgs/\(org)")
        #expect(dash.text.contains("Requested"))
        #expect(try b.submit(path, to: path, [("note", "again")]).status == 409)
        let env = try portal.app.database.read {
            try $0.scalar("SELECT environment FROM audit_events WHERE action = 'request.production_access'", as: String.self)
        }
        #expect(env == "production")
    }

    @Test func ownershipMovesOnlyWithPasswordAndCodeToAnActiveMember() throws {
        let portal = try TestPortal()
        let a = Browser(portal), b = Browser(portal)
        let ana = try TestUser.enrolled(portal, a)
        let org = try ana.createOrganization(portal, a)
        let bo = try TestUser.enrolled(portal, b)
        // Bo joins as a Developer (straight in the database: invitations have their own tests).
        try portal.app.database.write { db in
            let orgID = try portal.orgRowID(org)
            let boID = try db.scalar("SELECT id FROM users WHERE email = ?", bo.email, as: Int64.self)!
            _ = try OrganizationsStore().insertMembership(publicID: PublicID.make("mem"), organizationID: orgID, userID: boID,
                                                          role: .developer, permissions: Role.developer.preset!, now: portal.clock.now, on: db)
        }
        let boMember = try portal.app.database.read {
            try $0.scalar("SELECT public_id FROM memberships WHERE role = 'developer'", as: String.self)
        }!
        let path = "/orgs/\(org)/settings/owner"
        // Bo, not the Owner, cannot even see the page.
        #expect(try b.get(path).status == 403)
        let page = try a.get(path)
        #expect(page.text.contains(bo.email))
        portal.clock.advance(seconds: 30)
        let badCode = try a.post(path, [("member", boMember), ("password", ana.password), ("code", "000000")], csrfFrom: page)
        #expect(badCode.status == 422)
        #expect(badCode.text.contains("password or authenticator code is not right"))
        let notMember = try a.post(path, [("member", "mem_aaaaaaaaaaaaaaaa"), ("password", ana.password), ("code", ana.code(portal))], csrfFrom: page)
        #expect(notMember.status == 422)
        let ok = try a.post(path, [("member", boMember), ("password", ana.password), ("code", ana.code(portal))], csrfFrom: page)
        #expect(ok.status == 303)
        let roles = try portal.app.database.read { db in
            try db.query("SELECT u.email, m.role FROM memberships m JOIN users u ON u.id = m.user_id ORDER BY u.email").map { (try $0.string(0), try $0.string(1)) }
        }
        #expect(Dictionary(uniqueKeysWithValues: roles) == [ana.email: "admin", bo.email: "owner"])
        // Ana is no longer the Owner: the owner-only pages are closed to her now.
        #expect(try a.get(path).status == 403)
        #expect(try b.get(path).status == 200)
        #expect(try portal.auditActions(organization: org).last == "org.owner_changed")
    }

    /// Wrong passwords on the transfer form are throttled like every re-authentication; the
    /// Owner is told to wait, on the form with their choice kept, not shown a bare 400.
    @Test func aThrottledOwnershipTransferSaysToWaitOnTheForm() throws {
        let portal = try TestPortal()
        let a = Browser(portal), b = Browser(portal)
        let ana = try TestUser.enrolled(portal, a)
        let org = try ana.createOrganization(portal, a)
        let bo = try TestUser.enrolled(portal, b)
        try portal.app.database.write { db in
            let boID = try db.scalar("SELECT id FROM users WHERE email = ?", bo.email, as: Int64.self)!
            _ = try OrganizationsStore().insertMembership(publicID: PublicID.make("mem"), organizationID: try portal.orgRowID(org), userID: boID,
                                                          role: .developer, permissions: Role.developer.preset!, now: portal.clock.now, on: db)
        }
        let boMember = try #require(try portal.app.database.read {
            try $0.scalar("SELECT public_id FROM memberships WHERE role = 'developer'", as: String.self)
        })
        let path = "/orgs/\(org)/settings/owner"
        let page = try a.get(path)
        var last: TestResponse?
        for _ in 0..<6 {
            last = try a.post(path, [("member", boMember), ("password", "not the password"), ("code", "000000")], csrfFrom: page)
        }
        let throttled = try #require(last)
        #expect(throttled.status == 429)
        #expect(throttled.text.contains("Too many attempts. Try again in"))
        #expect(throttled.text.contains("value=\"\(boMember)\" selected"))
    }

    /// An organization problem that reaches the error stage outside ``OrgGate`` (a route of
    /// another group calling an organization service) is still the page it means, a 404 or
    /// a 403 with its reason, never a 500.
    @Test func anOrgProblemIsItsOwnPageWhereverItIsThrown() {
        let notFound = (OrgProblem.notFound as any Error) as? any HTTPErrorConvertible
        #expect(notFound?.httpError.status == .notFound)
        let forbidden = (OrgProblem.forbidden("Only the Owner of Acme can do this.") as any Error) as? any HTTPErrorConvertible
        #expect(forbidden?.httpError.status == .forbidden)
        #expect(forbidden?.httpError.message == "Only the Owner of Acme can do this.")
    }
}

