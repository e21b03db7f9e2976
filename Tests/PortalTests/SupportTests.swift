import Database
import Foundation
import Security
import Testing
@testable import Portal

/// The support back-office over real sockets: staff accounts from their setup link to the
/// queue, the wall around `/support`, and each decision doing exactly what it says.
@Suite("Support back-office: staff accounts, queue, decisions")
struct SupportTests {
    // MARK: - helpers

    /// A staff member made the way the CLI makes one, who followed the setup link, chose a
    /// password and enrolled TOTP: the browser ends signed in.
    static func staff(_ portal: TestPortal, _ browser: Browser, email: String = "sam+\(UUID().uuidString.prefix(6))@operator.example") throws -> TestUser {
        var user = TestUser(email: email, password: "support desk passphrase 42")
        user.name = "Sam Support"
        let link = try portal.app.createStaff(email: user.email, name: user.name)
        let page = try browser.get(try path(of: link))
        guard page.status == 200 else { throw TestFailure("setup page: \(page.status)") }
        let set = try browser.post("/setup-account", [("token", Browser.field("token", in: page.text) ?? ""), ("password", user.password)], csrfFrom: page)
        guard set["Location"] == "/mfa/setup" else { throw TestFailure("set password: \(set.status) \(set.text)") }
        try enrol(portal, browser, &user)
        return user
    }

    static func path(of link: String) throws -> String {
        guard let url = URL(string: link) else { throw TestFailure("not a URL: \(link)") }
        return url.path + (url.query.map { "?" + $0 } ?? "")
    }

    /// TOTP enrolment from a session at the enrol stage, as a person with an app does it.
    static func enrol(_ portal: TestPortal, _ browser: Browser, _ user: inout TestUser) throws {
        let setup = try browser.get("/mfa/setup")
        guard let r = setup.text.range(of: "id=\"totp-secret\">") else { throw TestFailure("no secret on /mfa/setup: \(setup.status)") }
        user.secret = Base32.decode(String(setup.text[r.upperBound...].prefix { $0 != "<" }))!
        let done = try browser.post("/mfa/setup", [("code", user.code(portal))], csrfFrom: setup)
        guard done["Location"] == "/mfa/recovery-codes" else { throw TestFailure("enrol: \(done.status)") }
        try browser.post("/mfa/recovery-codes/done", [], csrfFrom: try browser.get("/mfa/recovery-codes"))
    }

    /// An Owner (signed in on `browser`) with an organization.
    static func owner(_ portal: TestPortal, _ browser: Browser) throws -> (TestUser, String) {
        let user = try TestUser.enrolled(portal, browser)
        return (user, try user.createOrganization(portal, browser))
    }

    static func requestID(_ portal: TestPortal, kind: String) throws -> String {
        try portal.app.database.read {
            try $0.scalar("SELECT public_id FROM support_requests WHERE kind = ? ORDER BY id DESC LIMIT 1", kind, as: String.self)
        }!
    }

    static func status(_ portal: TestPortal, _ id: String) throws -> String? {
        try portal.app.database.read { try $0.scalar("SELECT status FROM support_requests WHERE public_id = ?", id, as: String.self) }
    }

    static func org(_ portal: TestPortal, _ publicID: String, _ column: String) throws -> String? {
        try portal.app.database.read { try $0.scalar("SELECT CAST(\(column) AS TEXT) FROM organizations WHERE public_id = ?", publicID, as: String.self) }
    }

    @discardableResult
    static func decide(_ b: Browser, _ id: String, approve: Bool, reason: String) throws -> TestResponse {
        try b.submit("/support/requests/\(id)", to: "/support/requests/\(id)/\(approve ? "approve" : "reject")", [("reason", reason)])
    }

    static func userID(_ portal: TestPortal, _ email: String) throws -> Int64 {
        try portal.app.database.read { try $0.scalar("SELECT id FROM users WHERE email = ?", email, as: Int64.self) }!
    }

    static func requestLinks(_ page: TestResponse) -> [String] {
        page.text.components(separatedBy: "href=\"/support/requests/").dropFirst().map { String($0.prefix { $0 != "\"" }) }
    }

    // MARK: - staff accounts

    @Test func aStaffMemberSetsAPasswordFromTheLinkEnrolsTOTPAndReachesTheQueue() throws {
        let portal = try TestPortal()
        let b = Browser(portal)
        let email = "sam@operator.example"
        let link = try portal.app.createStaff(email: email, name: "Sam Support")
        #expect(link.hasPrefix("http://127.0.0.1:8080/setup-account?token="))
        let path = try Self.path(of: link)
        let row = try portal.app.database.read {
            try $0.queryOne("SELECT is_staff, email_verified_at IS NOT NULL, totp_enabled_at IS NULL FROM users WHERE email = ?", email)
        }
        #expect(try row?.bool(0) == true && row?.bool(1) == true && row?.bool(2) == true)
        // Only the hash of the link's token is stored.
        let token = String(path.split(separator: "=").last!)
        let stored = try portal.app.database.read {
            try $0.queryOne("SELECT token_hash, expires_at - created_at FROM user_tokens WHERE purpose = 'staff_setup'")
        }
        #expect(try stored?.string(0) == Sessions.hash(token))
        #expect(try stored?.int64(1) == 72 * 3600)

        let page = try b.get(path)
        #expect(page.status == 200)
        #expect(page.text.contains(email))
        // The password policy of sign-up applies.
        let weak = try b.post("/setup-account", [("token", token), ("password", "short")], csrfFrom: page)
        #expect(weak.status == 422)
        #expect(weak.text.contains("id=\"password-error\""))
        let set = try b.post("/setup-account", [("token", token), ("password", "support desk passphrase 42")], csrfFrom: page)
        #expect(set.status == 303)
        #expect(set["Location"] == "/mfa/setup")
        // Not through yet: TOTP first, like everyone.
        #expect(try b.get("/support")["Location"] == "/mfa/setup")
        var sam = TestUser(email: email, password: "support desk passphrase 42")
        try Self.enrol(portal, b, &sam)
        #expect(try b.get("/home")["Location"] == "/support")
        let queue = try b.get("/support")
        #expect(queue.status == 200)
        #expect(queue.text.contains("Support queue"))
        #expect(queue.text.contains("No open requests"))
        // The link worked once.
        let again = try Browser(portal).get(path)
        #expect(again.status == 404)
        #expect(again.text.contains("This link does not work"))
        let fresh = Browser(portal)
        let replay = try fresh.post("/setup-account", [("token", token), ("password", "another fine passphrase 7")], csrfFrom: try fresh.get("/login"))
        #expect(replay.status == 404)
        #expect(try portal.auditActions(for: email) == ["staff.created", "staff.setup_completed", "mfa.enrolled"])
        let cliActor = try portal.app.database.read {
            try $0.queryOne("SELECT actor_user_id IS NULL, user_agent FROM audit_events WHERE action = 'staff.created'")
        }
        #expect(try cliActor?.bool(0) == true && cliActor?.string(1) == "portal create-staff")
        // Later logins: password and code, then the queue.
        let c = Browser(portal)
        #expect(try sam.logIn(portal, c)["Location"] == "/home")
        #expect(try c.get("/home")["Location"] == "/support")
        #expect(try c.get("/support").status == 200)
    }

    @Test func setupLinksExpireAndExistingAddressesAreRefused() throws {
        let portal = try TestPortal()
        let b = Browser(portal)
        let integrator = try TestUser.enrolled(portal, b)
        // An integrator's address never becomes staff.
        #expect(throws: StaffSetupError.self) { try portal.app.createStaff(email: integrator.email, name: "Someone") }
        #expect(try portal.app.database.read { try $0.scalar("SELECT is_staff FROM users WHERE email = ?", integrator.email, as: Bool.self) } == false)
        #expect(throws: StaffSetupError.self) { try portal.app.createStaff(email: "not an address", name: "X") }
        #expect(throws: StaffSetupError.self) { try portal.app.createStaff(email: "x@operator.example", name: "  ") }

        let first = try Self.path(of: try portal.app.createStaff(email: "kim@operator.example", name: "Kim"))
        portal.clock.advance(seconds: 72 * 3600 + 1)
        let expired = try Browser(portal).get(first)
        #expect(expired.status == 404)
        #expect(expired.text.contains("more than 72 hours old"))
        // A staff account that never set its password gets a new link; the old one stays dead.
        let second = try Self.path(of: try portal.app.createStaff(email: "kim@operator.example", name: "Kim"))
        #expect(second != first)
        #expect(try Browser(portal).get(second).status == 200)
        #expect(try portal.app.database.read { try $0.scalar("SELECT count(*) FROM users WHERE email = 'kim@operator.example'", as: Int.self) } == 1)
        // Once set up, the account is left alone.
        _ = try Self.staff(portal, Browser(portal), email: "lee@operator.example")
        #expect(throws: StaffSetupError.self) { try portal.app.createStaff(email: "lee@operator.example", name: "Lee") }
    }

    // MARK: - the wall around the back-office

    @Test func theBackOfficeIsNotFoundForAnyoneButStaffAndStaffAreNoMembers() throws {
        let portal = try TestPortal()
        let ob = Browser(portal), sb = Browser(portal)
        let (_, org) = try Self.owner(portal, ob)
        try ob.submit("/orgs/\(org)/settings/production", to: "/orgs/\(org)/settings/production", [("note", "Live in May")])
        let id = try Self.requestID(portal, kind: "production_access")
        _ = try Self.staff(portal, sb)

        let paths = ["/support", "/support?status=all", "/support/requests/\(id)", "/support/requests/req_aaaaaaaaaaaaaaaa"]
        for p in paths {
            // A signed-in integrator and a visitor: the same 404 as a path that does not exist.
            let member = try ob.get(p)
            #expect(member.status == 404, "\(p)")
            #expect(!member.text.contains("Support queue") && !member.text.contains("Live in May"), "\(p)")
            #expect(try Browser(portal).get(p).status == 404, "\(p)")
        }
        #expect(try ob.get("/no-such-page").status == 404)
        // Posting a decision as the integrator, with a valid form token: refused, nothing changes.
        let page = try ob.get("/orgs/\(org)/settings")
        let post = try ob.post("/support/requests/\(id)/approve", [("reason", "self-service")], csrfFrom: page)
        #expect(post.status == 404)
        #expect(try Self.status(portal, id) == "open")
        #expect(try Self.org(portal, org, "production_enabled_at") == nil)
        // Staff see the request but are not members of the organization.
        #expect(try sb.get("/support/requests/\(id)").status == 200)
        for p in ["", "/settings", "/team", "/logs"] {
            #expect(try sb.get("/orgs/\(org)\(p)").status == 404, "\(p)")
        }
        #expect(!(try sb.get("/orgs").text.contains(org)))
        #expect(try portal.app.database.read { try $0.scalar("SELECT count(*) FROM memberships m JOIN users u ON u.id = m.user_id WHERE u.is_staff = 1", as: Int.self) } == 0)
    }

    // MARK: - decisions

    @Test func approvingDetailsNameAndProductionAppliesExactlyTheRequestedChange() throws {
        let portal = try TestPortal()
        let ob = Browser(portal), sb = Browser(portal)
        let (owner, org) = try Self.owner(portal, ob)
        let settings = "/orgs/\(org)/settings"
        #expect(try ob.submit("\(settings)/details", to: "\(settings)/details", [("address", "Damrak 5\n1012 LG Amsterdam"), ("country", "BE"), ("reason", "We moved")]).status == 303)
        #expect(try ob.submit("\(settings)/name", to: "\(settings)/name", [("legal_name", "Acme Group B.V."), ("reason", "Rebrand")]).status == 303)
        #expect(try ob.submit("\(settings)/production", to: "\(settings)/production", [("note", "Payouts from March")]).status == 303)
        _ = try Self.staff(portal, sb)

        // The queue lists all three, newest first.
        let queue = try sb.get("/support")
        let details = try Self.requestID(portal, kind: "org_details"), name = try Self.requestID(portal, kind: "org_name"),
            production = try Self.requestID(portal, kind: "production_access")
        #expect(Self.requestLinks(queue) == [production, name, details])
        #expect(queue.text.contains("Acme") && queue.text.contains(owner.email))

        // The review shows before and after, the note, the organization and its history.
        let review = try sb.get("/support/requests/\(details)")
        #expect(review.status == 200)
        #expect(review.text.contains("<td class=\"before\">Herengracht 1\n1015 BA Amsterdam</td>"))
        #expect(review.text.contains("<td class=\"after\">Damrak 5\n1012 LG Amsterdam"))
        #expect(review.text.contains("Netherlands (NL)") && review.text.contains("Belgium (BE)"))
        #expect(review.text.contains("We moved"))
        #expect(review.text.contains("compliance@acme.example"))
        #expect(review.text.contains("request.org_details") && review.text.contains("org.created"))
        // Each event reads in words first; the identifier is only the small print beside it.
        #expect(review.text.contains("Organization created <code class=\"id\">org.created</code>"))
        #expect(review.text.contains(owner.email))
        #expect(review.text.contains("data-confirm="))

        #expect(try Self.decide(sb, details, approve: true, reason: "Checked the chamber of commerce extract")["Location"] == "/support/requests/\(details)")
        #expect(try Self.org(portal, org, "address") == "Damrak 5\n1012 LG Amsterdam")
        #expect(try Self.org(portal, org, "country") == "BE")
        #expect(try Self.org(portal, org, "legal_name") == "Acme Payments B.V.") // the name waits for its own request
        #expect(try Self.org(portal, org, "production_enabled_at") == nil)
        #expect(try Self.status(portal, details) == "approved")

        #expect(try Self.decide(sb, name, approve: true, reason: "Matches the register")["Location"] != nil)
        #expect(try Self.org(portal, org, "legal_name") == "Acme Group B.V.")
        #expect(try Self.org(portal, org, "trading_name") == "Acme")
        #expect(try Self.org(portal, org, "address") == "Damrak 5\n1012 LG Amsterdam")

        #expect(try Self.decide(sb, production, approve: true, reason: "Compliance details verified")["Location"] != nil)
        #expect(try Self.org(portal, org, "production_enabled_at") != nil)
        #expect(try Self.org(portal, org, "legal_name") == "Acme Group B.V.")

        #expect(try portal.auditActions(organization: org).suffix(6) == [
            "org.details_changed", "support.approved", "org.name_changed", "support.approved", "org.production_enabled", "support.approved",
        ])
        let audit = try portal.app.database.read { db in
            try db.query("SELECT action, actor_user_id, environment, subject, details FROM audit_events WHERE organization_id = ? AND id > 0 ORDER BY id",
                         try portal.orgRowID(org)).map { (try $0.string(0), try $0.optionalInt64(1), try $0.string(2), try $0.string(3), try $0.string(4)) }
        }
        // Details are stored as JSON; read them as the log's export writes them.
        .map { ($0.0, $0.1, $0.2, $0.3, AuditActions.all.detailText($0.0, details: $0.4)) }
        let staffID = try portal.app.database.read { try $0.scalar("SELECT id FROM users WHERE is_staff = 1", as: Int64.self) }
        let changed = audit.first { $0.0 == "org.details_changed" }!
        #expect(changed.1 == staffID)
        #expect(changed.4.contains("address: Herengracht 1\n1015 BA Amsterdam → Damrak 5\n1012 LG Amsterdam"))
        #expect(changed.4.contains("country: NL → BE"))
        #expect(audit.first { $0.0 == "org.name_changed" }!.4.contains("legal_name: Acme Payments B.V. → Acme Group B.V."))
        #expect(audit.first { $0.0 == "org.production_enabled" }!.2 == "production")
        let approval = audit.first { $0.0 == "support.approved" && $0.3 == name }!
        #expect(approval.1 == staffID && approval.4 == "Change organization name: Matches the register")

        // The requester is told, and sees the outcome on the settings page.
        let mail = try #require(try portal.lastMail(to: owner.email))
        #expect(mail.subject == "Your request was approved: Production access")
        #expect(mail.text.contains("Compliance details verified"))
        #expect(try portal.link(inMailTo: owner.email) == "/orgs/\(org)/settings")
        let page = try ob.get(settings)
        #expect(page.text.contains("Damrak 5") && page.text.contains("Acme Group B.V."))
        #expect(page.text.contains("Support: Matches the register"))
        #expect(page.text.contains("Enabled since"))
        #expect(!page.text.contains("Waiting for support"))
        // A decided request shows who decided it, and has no forms any more.
        let decided = try sb.get("/support/requests/\(name)")
        #expect(decided.text.contains("Matches the register"))
        #expect(!decided.text.contains("/approve\""))
    }

    @Test func offboardingClosesTheOrganizationForEveryMemberAndRevokesInvitations() throws {
        let portal = try TestPortal()
        let ob = Browser(portal), mb = Browser(portal), sb = Browser(portal)
        let (owner, org) = try Self.owner(portal, ob)
        let other = try owner.createOrganization(portal, ob, ["legal_name": "Beta Ltd", "trading_name": "Beta"])
        let member = try TestUser.enrolled(portal, mb)
        let now = portal.clock.now
        try portal.app.database.write { db in
            let orgID = try portal.orgRowID(org)
            _ = try OrganizationsStore().insertMembership(publicID: PublicID.make("mem"), organizationID: orgID, userID: try Self.userID(portal, member.email),
                                                          role: .developer, permissions: Role.developer.preset!, now: now, on: db)
            for (email, status) in [("new@acme.example", "pending"), ("old@acme.example", "accepted")] {
                try db.execute(
                    """
                    INSERT INTO invitations (public_id, organization_id, email, name, role, token_hash, status, created_at, sent_at, expires_at)
                    VALUES (?, ?, ?, 'Invitee', 'developer', ?, ?, ?, ?, ?)
                    """, PublicID.make("inv"), orgID, email, SecureRandom.token(bytes: 32), status, now, now, now + 7 * 86400)
            }
        }
        #expect(try mb.get("/orgs/\(org)").status == 200)
        // A Production request is waiting too when the organization goes.
        try ob.submit("/orgs/\(org)/settings/production", to: "/orgs/\(org)/settings/production", [("note", "Soon")])
        let off = "/orgs/\(org)/settings/offboarding"
        #expect(try ob.submit(off, to: off, [("reason", "Closing down"), ("confirmation", "Acme")]).status == 303)
        _ = try Self.staff(portal, sb)
        let id = try Self.requestID(portal, kind: "offboarding")
        let review = try sb.get("/support/requests/\(id)")
        #expect(review.text.contains("Closing down"))
        #expect(review.text.contains("<td class=\"before\">active</td>") && review.text.contains("closed"))
        #expect(review.text.contains("2 active members lose access"))
        #expect(review.text.contains("1 pending invitation is revoked"))

        #expect(try Self.decide(sb, id, approve: true, reason: "Confirmed by phone with the Owner")["Location"] != nil)
        #expect(try Self.org(portal, org, "status") == "closed")
        // Every member's next request is refused, as if the organization never existed.
        for p in ["", "/settings", "/settings/offboarding"] {
            #expect(try ob.get("/orgs/\(org)\(p)").status == 404, "\(p)")
            #expect(try mb.get("/orgs/\(org)\(p)").status == 404, "\(p)")
        }
        #expect(!(try ob.get("/orgs").text.contains(org)))
        #expect(try mb.get("/home")["Location"] == "/orgs/new")
        // The Owner's other organization is untouched.
        #expect(try ob.get("/orgs/\(other)").status == 200)
        #expect(try ob.get("/home")["Location"] == "/orgs/\(other)")
        let invitations = try portal.app.database.read { db in
            try db.query("SELECT email, status FROM invitations ORDER BY email").map { (try $0.string(0), try $0.string(1)) }
        }
        #expect(invitations.map(\.1) == ["revoked", "accepted"] && invitations.map(\.0) == ["new@acme.example", "old@acme.example"])
        let closed = try portal.app.database.read {
            try $0.scalar("SELECT details FROM audit_events WHERE action = 'org.closed'", as: String.self)
        }.map { AuditActions.all.detailText("org.closed", details: $0) }
        #expect(closed?.contains("status: active → closed") == true)
        #expect(closed?.contains("1 pending invitations revoked") == true)
        #expect(try portal.link(inMailTo: owner.email) == "/orgs")

        // The organization's other request ended with it (refused, saying why: see
        // approvingOffboardingRefusesTheOrganizationsOtherOpenRequests) and cannot be approved.
        let production = try Self.requestID(portal, kind: "production_access")
        #expect(try Self.status(portal, production) == "rejected")
        let page = try sb.get("/support/requests/\(production)")
        #expect(page.text.contains("was closed"))
        #expect(!page.text.contains("/approve\""))
        let refused = try Self.decide(sb, production, approve: true, reason: "Looks fine")
        #expect(refused.status == 409)
        #expect(refused.text.contains("already rejected"))
        #expect(try Self.org(portal, org, "production_enabled_at") == nil)
    }

    @Test func aLostAuthenticatorApprovalRemovesTOTPEndsSessionsAndSendsTheUserToEnrolment() throws {
        let portal = try TestPortal()
        let ub = Browser(portal), phone = Browser(portal), sb = Browser(portal)
        var user = try TestUser.enrolled(portal, ub)
        // Another device is still signed in.
        _ = try user.logIn(portal, phone)
        #expect(try phone.get("/account").status == 200)
        try ub.post("/logout", [], csrfFrom: try ub.get("/account"))
        try ub.submit("/login", to: "/login", [("email", user.email), ("password", user.password)])
        #expect(try ub.submit("/mfa/lost", to: "/mfa/lost", [("note", "Phone fell in the sea. Call +31 20 123 4567.")]).status == 200)
        #expect(try ub.submit("/mfa/lost", to: "/mfa/lost", [("note", "Second try: still no phone.")]).status == 200)
        let requests = try portal.app.database.read {
            try $0.query("SELECT public_id FROM support_requests WHERE kind = 'mfa_reset' ORDER BY id").map { try $0.string(0) }
        }
        #expect(requests.count == 2)
        _ = try Self.staff(portal, sb)

        let filtered = try sb.get("/support?status=open&kind=mfa_reset")
        #expect(Self.requestLinks(filtered) == requests.reversed())
        let review = try sb.get("/support/requests/\(requests[0])")
        #expect(review.text.contains("fell in the sea"))
        #expect(review.text.contains("authenticator and recovery codes removed; the user enrols again at next login"))
        #expect(review.text.contains("10 unused recovery codes are deleted"))

        #expect(try Self.decide(sb, requests[0], approve: true, reason: "Identity confirmed on a video call")["Location"] != nil)
        let row = try portal.app.database.read {
            try $0.queryOne("SELECT totp_secret IS NULL, totp_enabled_at IS NULL, (SELECT count(*) FROM recovery_codes r WHERE r.user_id = u.id) FROM users u WHERE email = ?", user.email)
        }
        #expect(try row?.bool(0) == true && row?.bool(1) == true && row?.int(2) == 0)
        // Every session ended: the other device is signed out.
        #expect(try phone.get("/account")["Location"]?.hasPrefix("/login") == true)
        #expect(try ub.get("/login/mfa")["Location"]?.hasPrefix("/login") == true)
        let event = try portal.app.database.read {
            try $0.queryOne("SELECT organization_id IS NULL, subject FROM audit_events WHERE action = 'mfa.reset_by_support'")
        }
        #expect(try event?.bool(0) == true && event?.string(1) == user.email)
        let mail = try #require(try portal.lastMail(to: user.email))
        #expect(mail.subject == "Your request was approved: Lost authenticator")
        #expect(mail.text.contains("Identity confirmed on a video call"))
        #expect(try portal.link(inMailTo: user.email) == "/login")

        // The next login leads to enrolment, and the user is back in with a new authenticator.
        let b = Browser(portal)
        portal.clock.advance(seconds: 60)
        let login = try b.submit("/login", to: "/login", [("email", user.email), ("password", user.password)])
        #expect(login["Location"] == "/mfa/setup")
        try Self.enrol(portal, b, &user)
        #expect(try b.get("/account").status == 200)
        // The older, second request must not wipe the new authenticator.
        let stale = try Self.decide(sb, requests[1], approve: true, reason: "Same person")
        #expect(stale.status == 409)
        #expect(stale.text.contains("out of date"))
        #expect(try portal.app.database.read { try $0.scalar("SELECT totp_enabled_at IS NOT NULL FROM users WHERE email = ?", user.email, as: Bool.self) } == true)
        #expect(try b.get("/account").status == 200)
    }

    @Test func rejectionChangesOnlyTheStatusAndTellsTheRequesterWhy() throws {
        let portal = try TestPortal()
        let ob = Browser(portal), sb = Browser(portal)
        let (owner, org) = try Self.owner(portal, ob)
        let settings = "/orgs/\(org)/settings"
        try ob.submit("\(settings)/name", to: "\(settings)/name", [("legal_name", "Totally Legit Bank"), ("reason", "Sounds better")])
        let id = try Self.requestID(portal, kind: "org_name")
        _ = try Self.staff(portal, sb)
        let mailsBefore = try portal.mailCount(to: owner.email)
        let auditBefore = try portal.auditActions(organization: org)

        #expect(try Self.decide(sb, id, approve: false, reason: "The register does not show this name")["Location"] == "/support/requests/\(id)")
        #expect(try Self.org(portal, org, "legal_name") == "Acme Payments B.V.")
        #expect(try Self.status(portal, id) == "rejected")
        #expect(try portal.auditActions(organization: org) == auditBefore + ["support.rejected"])
        #expect(try portal.mailCount(to: owner.email) == mailsBefore + 1)
        let mail = try #require(try portal.lastMail(to: owner.email))
        #expect(mail.subject == "Your request was not approved: Change organization name")
        #expect(mail.text.contains("The register does not show this name"))
        #expect(mail.text.contains("Nothing was changed."))
        let page = try ob.get(settings)
        #expect(page.text.contains("Rejected"))
        #expect(page.text.contains("Support: The register does not show this name"))
        #expect(page.text.contains("Acme Payments B.V."))

        // Decided means decided: neither approval nor a second rejection goes through.
        let approve = try Self.decide(sb, id, approve: true, reason: "Changed my mind")
        #expect(approve.status == 409)
        #expect(approve.text.contains("already rejected"))
        #expect(try Self.decide(sb, id, approve: false, reason: "Again").status == 409)
        #expect(try Self.org(portal, org, "legal_name") == "Acme Payments B.V.")
        #expect(try Self.status(portal, id) == "rejected")
        #expect(try portal.app.database.read { try $0.scalar("SELECT resolution_note FROM support_requests WHERE public_id = ?", id, as: String.self) }
                == "The register does not show this name")
        #expect(try portal.mailCount(to: owner.email) == mailsBefore + 1)
    }

    @Test func aDecisionNeedsAReasonAndStaffCannotDecideTheirOwnRequest() throws {
        let portal = try TestPortal()
        let ob = Browser(portal), sb = Browser(portal)
        let (_, org) = try Self.owner(portal, ob)
        try ob.submit("/orgs/\(org)/settings/production", to: "/orgs/\(org)/settings/production", [("note", "Live in May")])
        let id = try Self.requestID(portal, kind: "production_access")
        let sam = try Self.staff(portal, sb)
        for reason in ["", "   \n "] {
            let r = try Self.decide(sb, id, approve: true, reason: reason)
            #expect(r.status == 422)
            #expect(r.text.contains("id=\"reason-error\""))
            #expect(r.text.contains("Give a reason"))
        }
        let long = try Self.decide(sb, id, approve: false, reason: String(repeating: "x", count: 2001))
        #expect(long.status == 422)
        #expect(try Self.status(portal, id) == "open")
        #expect(try Self.org(portal, org, "production_enabled_at") == nil)
        #expect(!(try portal.auditActions(organization: org).contains { $0.hasPrefix("support.") }))
        // A one-letter reason is still a reason.
        #expect(try Self.decide(sb, id, approve: true, reason: "x").status == 303)
        #expect(try Self.status(portal, id) == "approved")
        // A missing request is a 404, whatever its id looks like.
        #expect(try sb.get("/support/requests/req_aaaaaaaaaaaaaaaa").status == 404)
        #expect(try sb.get("/support/requests/..%2Fetc").status == 404)

        // A staff member's own lost-authenticator request needs someone else.
        let own = try portal.app.database.write { db -> String in
            let pid = PublicID.make("req")
            _ = try db.execute("INSERT INTO support_requests (public_id, kind, user_id, email, note, created_at) VALUES (?, 'mfa_reset', ?, ?, 'lost it', ?)",
                               pid, try Self.userID(portal, sam.email), sam.email, portal.clock.now)
            return pid
        }
        let page = try sb.get("/support/requests/\(own)")
        #expect(page.text.contains("This is your own request"))
        #expect(!page.text.contains("/approve\""))
        #expect(try Self.decide(sb, own, approve: true, reason: "Trust me").status == 403)
        #expect(try Self.status(portal, own) == "open")
        #expect(try portal.app.database.read { try $0.scalar("SELECT totp_enabled_at IS NOT NULL FROM users WHERE email = ?", sam.email, as: Bool.self) } == true)
    }

    // MARK: - the queue

    @Test func theQueueFiltersByStatusAndTypeAndPagesNewestFirst() throws {
        let portal = try TestPortal()
        let ob = Browser(portal), sb = Browser(portal)
        let (owner, org) = try Self.owner(portal, ob)
        _ = try Self.staff(portal, sb)
        #expect(try sb.get("/support").text.contains("No open requests"))
        // 30 Production requests and 3 name changes, straight in the table (one open request
        // of a kind per organization is the forms' rule, not the queue's).
        let orgID = try portal.orgRowID(org)
        let ownerID = try Self.userID(portal, owner.email)
        var ids: [String] = []
        try portal.app.database.write { db in
            for i in 0..<33 {
                let pid = PublicID.make("req")
                ids.append(pid)
                _ = try SupportStore().insert(publicID: pid, kind: i % 11 == 10 ? .orgName : .productionAccess, userID: ownerID, email: owner.email,
                                              note: "request \(i)", organizationID: orgID,
                                              changes: i % 11 == 10 ? ["legal_name": "Name \(i)"] : ["production": "enabled"], now: portal.clock.now, on: db)
            }
        }
        let names = [ids[10], ids[21], ids[32]]
        // Reject one name change, approve one Production request.
        #expect(try Self.decide(sb, names[0], approve: false, reason: "No")["Location"] != nil)
        #expect(try Self.decide(sb, ids[0], approve: true, reason: "Yes")["Location"] != nil)

        let first = try sb.get("/support")
        #expect(first.status == 200)
        let open = ids.filter { $0 != names[0] && $0 != ids[0] }.reversed()
        #expect(Self.requestLinks(first) == Array(open.prefix(25)))
        #expect(first.text.contains("31 open"))
        #expect(first.text.contains("href=\"/support?status=open&amp;page=2\""))
        #expect(!first.text.contains("rel=\"prev\""))
        let second = try sb.get("/support?status=open&page=2")
        #expect(Self.requestLinks(second) == Array(open.dropFirst(25)))
        #expect(second.text.contains("rel=\"prev\"") && !second.text.contains("rel=\"next\""))
        #expect(try sb.get("/support?status=open&page=3").text.contains("No more requests on this page"))

        let names1 = try sb.get("/support?status=open&kind=org_name")
        #expect(Self.requestLinks(names1) == [names[2], names[1]])
        #expect(names1.text.contains("<option value=\"org_name\" selected>"))
        #expect(Self.requestLinks(try sb.get("/support?status=rejected")) == [names[0]])
        #expect(Self.requestLinks(try sb.get("/support?status=approved")) == [ids[0]])
        #expect(Self.requestLinks(try sb.get("/support?status=approved&kind=org_name")).isEmpty)
        #expect(try sb.get("/support?status=approved&kind=org_name").text.contains("No requests match these filters"))
        #expect(Self.requestLinks(try sb.get("/support?status=all&kind=org_name")) == names.reversed())
        #expect(Self.requestLinks(try sb.get("/support?status=all")).count == 25)
        // Nonsense in the query falls back to the defaults instead of failing.
        let odd = try sb.get("/support?status=%27%3B--&kind=nope&page=-4")
        #expect(odd.status == 200)
        #expect(Self.requestLinks(odd) == Array(open.prefix(25)))
    }
}

extension SupportTests {
    /// An Owner who handed the organization on no longer speaks for it: their open request
    /// cannot be approved (only rejected), so a former Owner cannot close it afterwards.
    @Test func aRequestFromAFormerOwnerCannotBeApproved() throws {
        let portal = try TestPortal()
        let a = Browser(portal), b = Browser(portal), s = Browser(portal)
        let (ana, org) = try Self.owner(portal, a)
        let bo = try TestUser.enrolled(portal, b)
        try portal.app.database.write { db in
            _ = try OrganizationsStore().insertMembership(publicID: PublicID.make("mem"), organizationID: try portal.orgRowID(org),
                                                          userID: try Self.userID(portal, bo.email), role: .admin,
                                                          permissions: Role.admin.preset!, now: portal.clock.now, on: db)
        }
        let off = "/orgs/\(org)/settings/offboarding"
        #expect(try a.submit(off, to: off, [("reason", "Closing"), ("confirmation", "Acme")]).status == 303)
        let request = try Self.requestID(portal, kind: "offboarding")
        let transfer = "/orgs/\(org)/settings/owner"
        let page = try a.get(transfer)
        let boMember = try portal.app.database.read {
            try $0.scalar("SELECT public_id FROM memberships WHERE user_id = ?", try Self.userID(portal, bo.email), as: String.self)
        }!
        portal.clock.advance(seconds: 30)
        #expect(try a.post(transfer, [("member", boMember), ("password", ana.password), ("code", ana.code(portal))], csrfFrom: page).status == 303)
        _ = try Self.staff(portal, s)
        let review = try s.get("/support/requests/\(request)")
        #expect(review.text.contains("no longer the Owner"))
        let approve = try Self.decide(s, request, approve: true, reason: "Approved")
        #expect(approve.status == 409)
        #expect(try Self.status(portal, request) == "open")
        #expect(try Self.org(portal, org, "status") == "active")
        #expect(try Self.decide(s, request, approve: false, reason: "The Owner changed").status == 303)
        #expect(try Self.status(portal, request) == "rejected")
    }
}
