import Foundation
import Security
import Testing
import HTTP
import Web
import TestSupport
@testable import Portal

/// The team over real sockets: invitations from the mail to joining (new and existing
/// accounts, wrong address, dead links, resend), roles and permissions, and the rules that
/// stop anyone from raising their own access, touching the Owner or someone more powerful,
/// or reaching another organization's members.
@Suite("Team: invitations, roles and permissions")
struct TeamTests {
    // MARK: - helpers

    /// Posts the invitation form as `b` (CSRF from a page every signed-in member can open).
    @discardableResult
    func invite(_ portal: TestPortal, _ b: Browser, org: String, email: String, name: String = "Bo Example", role: String,
                permissions: [String] = []) throws -> TestResponse {
        let page = try b.get("/orgs/\(org)")
        var fields = [("name", name), ("email", email), ("role", role)]
        fields += permissions.map { ("permissions", $0) }
        return try b.post("/orgs/\(org)/team/invitations", fields, csrfFrom: page)
    }

    func invitationLink(_ portal: TestPortal, _ email: String) throws -> String {
        guard let link = try portal.link(inMailTo: email) else { throw TestFailure("no single link in the mail to \(email)") }
        return link
    }

    /// Someone new follows the link, signs up through it (posting `postedEmail` in the
    /// locked field), enrols TOTP and saves the recovery codes. Ends signed in, not yet a member.
    func signUpThroughLink(_ portal: TestPortal, email: String, postedEmail: String? = nil) throws -> (TestUser, Browser) {
        let b = Browser(portal)
        let link = try invitationLink(portal, email)
        let landing = try b.get(link)
        guard landing.status == 200, landing.text.contains("Create your account") else { throw TestFailure("landing: \(landing.status)") }
        let signup = try b.submit(link + "/signup", to: link + "/signup",
                                  [("name", "Bo Example"), ("email", postedEmail ?? email), ("password", "correct horse battery staple")])
        guard signup.status == 303, signup["Location"] == "/mfa/setup" else { throw TestFailure("signup: \(signup.status) \(signup.text)") }
        var user = TestUser(email: email)
        user.name = "Bo Example"
        let setup = try b.get("/mfa/setup")
        guard let r = setup.text.range(of: "id=\"totp-secret\">") else { throw TestFailure("no secret on \(setup.status)") }
        user.secret = Base32.decode(String(setup.text[r.upperBound...].prefix { $0 != "<" }))!
        let enrolled = try b.post("/mfa/setup", [("code", user.code(portal))], csrfFrom: setup)
        guard enrolled["Location"] == "/mfa/recovery-codes" else { throw TestFailure("enrol: \(enrolled.status)") }
        let codes = try b.get("/mfa/recovery-codes")
        try b.post("/mfa/recovery-codes/done", [], csrfFrom: codes)
        return (user, b)
    }

    /// Accepts the invitation shown at `path` (a link or /invitations/inv_…); returns the answer.
    func accept(_ b: Browser, at path: String) throws -> TestResponse {
        let page = try b.get(path)
        guard let action = Self.formAction(ending: "/accept", in: page.text) else { throw TestFailure("no accept form: \(page.status)") }
        return try b.post(action, [], csrfFrom: page)
    }

    static func formAction(ending suffix: String, in html: String) -> String? {
        html.components(separatedBy: "action=\"").dropFirst().map { String($0.prefix { $0 != "\"" }) }.first { $0.hasSuffix(suffix) }
    }

    /// A new person invited with `role` who signs up through the link and joins.
    func newMember(_ portal: TestPortal, _ inviter: Browser, org: String, role: String, permissions: [String] = [],
                   email: String = "bo+\(UUID().uuidString.prefix(8))@example.com") throws -> (TestUser, Browser) {
        let sent = try invite(portal, inviter, org: org, email: email, role: role, permissions: permissions)
        guard sent.status == 303 else { throw TestFailure("invite: \(sent.status) \(sent.text)") }
        let (user, b) = try signUpThroughLink(portal, email: email)
        let home = try b.get("/home")
        guard let path = home["Location"], path.hasPrefix("/invitations/inv_") else { throw TestFailure("home: \(home["Location"] ?? "")") }
        let joined = try accept(b, at: path)
        guard joined["Location"] == "/orgs/\(org)" else { throw TestFailure("accept: \(joined.status)") }
        return (user, b)
    }

    func memberID(_ portal: TestPortal, _ email: String, org: String) throws -> String {
        try portal.app.database.read {
            try $0.scalar("""
                SELECT m.public_id FROM memberships m JOIN users u ON u.id = m.user_id JOIN organizations o ON o.id = m.organization_id
                WHERE u.email = ? AND o.public_id = ?
                """, email, org, as: String.self)
        } ?? ""
    }

    func membership(_ portal: TestPortal, _ memberID: String) throws -> (role: String, permissions: String, status: String)? {
        try portal.app.database.read {
            try $0.queryOne("SELECT role, permissions, status FROM memberships WHERE public_id = ?", memberID)
                .map { (try $0.string(0), try $0.string(1), try $0.string(2)) }
        }
    }

    func invitationStatus(_ portal: TestPortal, _ email: String) throws -> [String] {
        try portal.app.database.read { try $0.query("SELECT status FROM invitations WHERE email = ? ORDER BY id", email).map { try $0.string(0) } }
    }

    func lastAudit(_ portal: TestPortal, _ action: String) throws -> (subject: String, details: String)? {
        try portal.app.database.read {
            try $0.queryOne("SELECT subject, details FROM audit_events WHERE action = ? ORDER BY id DESC LIMIT 1", action)
                .map { (try $0.string(0), AuditActions.all.detailText(action, details: try $0.string(1))) }
        }
    }

    // MARK: - the invitation lifecycle

    @Test func aNewPersonSignsUpThroughTheLinkEnrolsAndJoinsWithOnlyTheDevelopersPages() throws {
        let (portal, a, ana, org) = try TestPortal.withOwner()
        let email = "bo@example.com"

        // The form explains the roles and every permission in words.
        let form = try a.get("/orgs/\(org)/team/invite")
        #expect(form.status == 200)
        #expect(form.text.contains("Authorize payouts"))
        #expect(form.text.contains("Authorize payouts, so that money leaves the account."))
        #expect(form.text.contains("the boxes below are then ignored"))
        // A Developer preset with a payouts box ticked: the preset wins, payouts never come with it.
        let sent = try invite(portal, a, org: org, email: email, role: "developer", permissions: ["payouts.create", "payouts.authorize"])
        #expect(sent.status == 303)
        #expect(sent["Location"] == "/orgs/\(org)/team")

        // One mail with exactly one absolute link; the token is stored hashed, bound to the address.
        let mail = try #require(try portal.lastMail(to: email))
        #expect(mail.subject.contains("invited you to Acme"))
        #expect(mail.text.contains("as Developer"))
        let absolute = mail.text.split(whereSeparator: \.isWhitespace).filter { $0.hasPrefix("http://") || $0.hasPrefix("https://") }
        #expect(absolute.count == 1)
        #expect(absolute.first?.hasPrefix("http://127.0.0.1:8080/invitations/") == true)
        let link = try invitationLink(portal, email)
        let token = String(link.dropFirst("/invitations/".count))
        #expect(token.utf8.count == 43)
        let stored = try portal.app.database.read { try $0.queryOne("SELECT token_hash, expires_at - sent_at, permissions FROM invitations") }
        #expect(try stored?.string(0) == Sessions.hash(token))
        #expect(try stored?.string(0) != token)
        #expect(try stored?.int64(1) == 7 * 24 * 3600)
        #expect(try stored?.string(2) == Permission.store(Role.developer.preset!))
        let invited = try #require(try lastAudit(portal, "member.invited"))
        #expect(invited.subject == email)
        #expect(invited.details.hasPrefix("role: Developer; permissions: api_keys.read, api_keys.write"))
        #expect(!invited.details.contains("payouts"))

        // The team page lists it as pending, sent by Ana, with resend and revoke.
        let teamPage = try a.get("/orgs/\(org)/team")
        #expect(teamPage.status == 200)
        #expect(teamPage.text.contains(email))
        #expect(teamPage.text.contains(">Pending</span>"))
        #expect(teamPage.text.contains("<td>\(ana.name)</td>"))
        #expect(teamPage.text.contains(">Resend</button>") && teamPage.text.contains(">Revoke</button>"))

        // Bo signs up through the link; the address is the invited one whatever is posted.
        let before = try portal.mailCount(to: email)
        let (_, b) = try signUpThroughLink(portal, email: email, postedEmail: "mallory@example.com")
        let users = try portal.app.database.read {
            try $0.query("SELECT email, email_verified_at IS NOT NULL FROM users WHERE email IN (?, ?)", email, "mallory@example.com")
                .map { (try $0.string(0), try $0.bool(1)) }
        }
        #expect(users.count == 1 && users.first?.0 == email && users.first?.1 == true)
        // No verification mail: the link proved the address.
        #expect(try portal.mailCount(to: email) == before)
        #expect(try portal.mailCount(to: "mallory@example.com") == 0)

        // After enrolment, /home leads to the invitation, which Bo accepts.
        let home = try b.get("/home")
        let path = try #require(home["Location"])
        #expect(path.hasPrefix("/invitations/inv_"))
        let answerPage = try b.get(path)
        #expect(answerPage.text.contains("Accept and join Acme"))
        let joined = try accept(b, at: path)
        #expect(joined["Location"] == "/orgs/\(org)")
        let dash = try b.get("/orgs/\(org)")
        #expect(dash.status == 200)
        #expect(dash.text.contains("as Developer"))
        // The Developer's navigation: Logs yes, Team no; and the team page is refused.
        #expect(dash.text.contains("href=\"/orgs/\(org)/logs\""))
        #expect(!dash.text.contains("href=\"/orgs/\(org)/team\""))
        #expect(try b.get("/orgs/\(org)/team").status == 403)
        let m = try #require(try membership(portal, try memberID(portal, email, org: org)))
        #expect(m.role == "developer" && !m.permissions.contains("payouts") && m.status == "active")
        #expect(try invitationStatus(portal, email) == ["accepted"])
        #expect(try portal.auditActions(organization: org).suffix(2) == ["member.invited", "invitation.accepted"])

        // The link is single-use.
        let used = try Browser(portal).get(link)
        #expect(used.status == 410)
        #expect(used.text.contains("already used"))
        #expect(try b.get(link).status == 410)
        #expect(try b.post(path + "/accept", [], csrfFrom: answerPage).status == 410)
        // Ana's team page now shows Bo as an active member with MFA on.
        let after = try a.get("/orgs/\(org)/team")
        #expect(after.text.contains(">Accepted</span>"))
        #expect(after.text.contains("Bo Example"))
    }

    @Test func anExistingAccountLogsInThroughTheLinkAndJoinsAsEmployee() throws {
        let portal = try TestPortal()
        let a = Browser(portal), c = Browser(portal)
        let ana = try TestUser.enrolled(portal, a)
        let org = try ana.createOrganization(portal, a)
        let cy = try TestUser.enrolled(portal, c)
        let own = try cy.createOrganization(portal, c, ["legal_name": "Cy Trading Ltd", "trading_name": ""])
        #expect(try invite(portal, a, org: org, email: cy.email, role: "employee").status == 303)
        let link = try invitationLink(portal, cy.email)

        // Signed out, the link offers to log in (the address already has an account).
        let fresh = Browser(portal)
        let landing = try fresh.get(link)
        #expect(landing.status == 200)
        #expect(landing.text.contains("You already have a Portal account"))
        // Signing up through the link with that address is refused, and no account is made.
        let signupPage = try fresh.get(link + "/signup")
        #expect(signupPage.text.contains("You already have a Portal account"))
        let dup = try fresh.post(link + "/signup", [("name", "Cy Again"), ("password", "another long passphrase")],
                                 csrfFrom: try fresh.get("/login"))
        #expect(dup.status == 422)
        #expect(try portal.app.database.read { try $0.scalar("SELECT count(*) FROM users WHERE email = ?", cy.email, as: Int.self) } == 1)

        // Log in with next=link: password, second factor, back to the invitation.
        let loginURL = "/login?next=" + PercentEncodingForTests.encode(link)
        #expect(landing.text.contains(loginURL.replacingOccurrences(of: "&", with: "&amp;")))
        portal.clock.advance(seconds: 30)
        let login = try fresh.submit(loginURL, to: "/login", [("email", cy.email), ("password", cy.password), ("next", link)])
        let mfaPath = try #require(login["Location"])
        #expect(mfaPath.hasPrefix("/login/mfa?next="))
        let mfaPage = try fresh.get(mfaPath)
        let second = try fresh.post("/login/mfa", [("code", cy.code(portal)), ("next", link)], csrfFrom: mfaPage)
        #expect(second["Location"] == link)
        let joined = try accept(fresh, at: link)
        #expect(joined["Location"] == "/orgs/\(org)")
        // An Employee sees neither Team nor Logs; their own organization is untouched.
        let dash = try fresh.get("/orgs/\(org)")
        #expect(dash.text.contains("as Employee"))
        #expect(!dash.text.contains("href=\"/orgs/\(org)/team\"") && !dash.text.contains("href=\"/orgs/\(org)/logs\""))
        let mine = try fresh.get("/orgs/\(own)")
        #expect(mine.status == 200 && mine.text.contains("href=\"/orgs/\(own)/team\""))
        #expect(try membership(portal, try memberID(portal, cy.email, org: org))?.permissions == "payouts.create transactions.read")
    }

    @Test func aSignedInPersonWithAnotherAddressIsRefused() throws {
        let portal = try TestPortal()
        let a = Browser(portal), m = Browser(portal)
        let ana = try TestUser.enrolled(portal, a)
        let org = try ana.createOrganization(portal, a)
        _ = try TestUser.enrolled(portal, m, email: "mallory@example.com")
        #expect(try invite(portal, a, org: org, email: "bo@example.com", role: "admin").status == 303)
        let link = try invitationLink(portal, "bo@example.com")
        let page = try m.get(link)
        #expect(page.status == 403)
        #expect(page.text.contains("This invitation is for <span class=\"mono\">bo@example.com</span>"))
        #expect(page.text.contains("action=\"/logout\""))
        #expect(!page.text.contains("Accept and join"))
        // Addressing the invitation by id does not help: it is not Mallory's.
        let id = try #require(try portal.app.database.read { try $0.scalar("SELECT public_id FROM invitations", as: String.self) })
        #expect(try m.get("/invitations/\(id)").status == 404)
        #expect(try m.post("/invitations/\(id)/accept", [], csrfFrom: page).status == 404)
        #expect(try m.post("/invitations/\(id)/decline", [], csrfFrom: page).status == 404)
        #expect(try invitationStatus(portal, "bo@example.com") == ["pending"])
        #expect(try portal.app.database.read { try $0.scalar("SELECT count(*) FROM memberships", as: Int.self) } == 1)
        // Signed out, the id page asks to log in first (and shows nothing).
        let anonymous = try Browser(portal).get("/invitations/\(id)")
        #expect(anonymous.status == 303 && anonymous["Location"]?.hasPrefix("/login?next=") == true)
    }

    @Test func expiredRevokedDeclinedAndReplacedLinksAreRefusedAndResendGivesANewOne() throws {
        let (portal, a, ana, org) = try TestPortal.withOwner()
        #expect(try invite(portal, a, org: org, email: "late@example.com", role: "employee").status == 303)
        let oldLink = try invitationLink(portal, "late@example.com")

        // Eight days later the link has expired.
        portal.clock.advance(seconds: 8 * 24 * 3600)
        let expired = try Browser(portal).get(oldLink)
        #expect(expired.status == 410)
        #expect(expired.text.contains("expired"))
        #expect(expired.text.contains("resend"))
        // Signing up through it is refused too.
        let s = Browser(portal)
        #expect(try s.get(oldLink + "/signup").status == 410)
        #expect(try s.post(oldLink + "/signup", [("name", "Late"), ("password", "correct horse battery staple")],
                           csrfFrom: try s.get("/login")).status == 410)
        #expect(try portal.app.database.read { try $0.scalar("SELECT count(*) FROM users WHERE email = 'late@example.com'", as: Int.self) } == 0)
        _ = try ana.logIn(portal, a)
        let team = try a.get("/orgs/\(org)/team")
        #expect(team.text.contains(">Expired</span>"))

        // Resend: a new link that works, and the old one is dead.
        let resendAction = try #require(Self.formAction(ending: "/resend", in: team.text))
        #expect(try a.post(resendAction, [], csrfFrom: team).status == 303)
        let newLink = try invitationLink(portal, "late@example.com")
        #expect(newLink != oldLink)
        #expect(try Browser(portal).get(newLink).status == 200)
        #expect(try Browser(portal).get(oldLink).status == 404)
        #expect(try lastAudit(portal, "invitation.resent")?.subject == "late@example.com")
        #expect(try invitationStatus(portal, "late@example.com") == ["pending"])

        // Inviting the same address again refreshes the one invitation: new role, new link.
        #expect(try invite(portal, a, org: org, email: "late@example.com", role: "manager").status == 303)
        let refreshed = try invitationLink(portal, "late@example.com")
        #expect(try Browser(portal).get(newLink).status == 404)
        let refreshedPage = try Browser(portal).get(refreshed)
        #expect(refreshedPage.status == 200 && refreshedPage.text.contains("as Manager"))
        #expect(try invitationStatus(portal, "late@example.com") == ["pending"])

        // Revoked: the link says so.
        let team2 = try a.get("/orgs/\(org)/team")
        let revokeAction = try #require(Self.formAction(ending: "/revoke", in: team2.text))
        #expect(team2.text.contains("data-confirm=\"Revoke the invitation for late@example.com?"))
        #expect(try a.post(revokeAction, [], csrfFrom: team2).status == 303)
        let revoked = try Browser(portal).get(refreshed)
        #expect(revoked.status == 410)
        #expect(revoked.text.contains("withdrawn"))
        #expect(try invitationStatus(portal, "late@example.com") == ["revoked"])
        #expect(try a.get("/orgs/\(org)/team").text.contains(">Revoked</span>"))
        // A revoked invitation cannot be resent or revoked again.
        #expect(try a.post(revokeAction, [], csrfFrom: team2).status == 409)
        #expect(try a.post(revokeAction.replacingOccurrences(of: "/revoke", with: "/resend"), [], csrfFrom: team2).status == 409)

        // Declined: the invitee says no, and the link says so afterwards.
        let n = Browser(portal)
        _ = try TestUser.enrolled(portal, n, email: "no@example.com")
        #expect(try invite(portal, a, org: org, email: "no@example.com", role: "employee").status == 303)
        let noLink = try invitationLink(portal, "no@example.com")
        let answer = try n.get(noLink)
        let decline = try #require(Self.formAction(ending: "/decline", in: answer.text))
        #expect(try n.post(decline, [], csrfFrom: answer).status == 303)
        #expect(try invitationStatus(portal, "no@example.com") == ["declined"])
        let declined = try n.get(noLink)
        #expect(declined.status == 410 && declined.text.contains("declined"))
        #expect(try portal.auditActions(organization: org).contains("invitation.declined"))
        // And nothing like a membership came of either.
        #expect(try portal.app.database.read { try $0.scalar("SELECT count(*) FROM memberships", as: Int.self) } == 1)
    }

    @Test func theInvitationFormKeepsInputAndExplainsEachProblem() throws {
        let (portal, a, ana, org) = try TestPortal.withOwner()
        let bad = try invite(portal, a, org: org, email: "not an address", name: "  ", role: "wizard", permissions: ["logs.read"])
        #expect(bad.status == 422)
        #expect(bad.text.contains("value=\"not an address\""))
        #expect(bad.text.contains("Enter the person"))
        #expect(bad.text.contains("Enter a valid e-mail address"))
        #expect(bad.text.contains("Choose a role."))
        #expect(bad.text.contains("value=\"logs.read\" checked"))
        // Someone already in the organization (Ana herself) cannot be invited.
        let member = try invite(portal, a, org: org, email: ana.email, role: "employee")
        #expect(member.status == 422)
        #expect(member.text.contains("is already a member of Acme"))
        #expect(try portal.app.database.read { try $0.scalar("SELECT count(*) FROM invitations", as: Int.self) } == 0)
        #expect(try portal.mailCount(to: "not an address") == 0)
    }

    // MARK: - rules

    @Test func nobodyRaisesTheirOwnAccessOrTouchesTheOwnerOrSomeoneMorePowerful() throws {
        let (portal, a, ana, org) = try TestPortal.withOwner()
        let (dev, _) = try newMember(portal, a, org: org, role: "developer")
        let (hr, h) = try newMember(portal, a, org: org, role: "custom", permissions: ["roles.read", "roles.write"])
        let base = "/orgs/\(org)/team"
        let hrID = try memberID(portal, hr.email, org: org)
        let anaID = try memberID(portal, ana.email, org: org)
        let devID = try memberID(portal, dev.email, org: org)
        let page = try h.get(base)
        #expect(page.status == 200)
        // The team page offers no Edit for herself, the Owner or the more powerful Developer.
        #expect(!page.text.contains("\(base)/members/\(hrID)\"") && !page.text.contains("\(base)/members/\(anaID)\"")
            && !page.text.contains("\(base)/members/\(devID)\""))

        // Her own membership: neither the page nor a forged post.
        #expect(try h.get("\(base)/members/\(hrID)").status == 403)
        let selfRaise = try h.post("\(base)/members/\(hrID)", [("role", "admin"), ("version", "1")], csrfFrom: page)
        #expect(selfRaise.status == 403)
        #expect(try h.post("\(base)/members/\(hrID)/disable", [], csrfFrom: page).status == 403)
        #expect(try membership(portal, hrID)?.permissions == "roles.read roles.write")

        // The Owner: nobody edits, disables or removes them.
        let ownerPage = try h.get("\(base)/members/\(anaID)")
        #expect(ownerPage.status == 403)
        #expect(ownerPage.text.contains("Nobody can change, disable or remove the Owner"))
        #expect(try h.post("\(base)/members/\(anaID)", [("role", "employee"), ("version", "1")], csrfFrom: page).status == 403)
        #expect(try h.post("\(base)/members/\(anaID)/remove", [], csrfFrom: page).status == 403)
        #expect(try a.get("\(base)/members/\(anaID)").status == 403) // not even the Owner herself
        #expect(try membership(portal, anaID)?.role == "owner")

        // The Developer holds permissions she lacks: hands off.
        #expect(try h.get("\(base)/members/\(devID)").status == 403)
        #expect(try h.post("\(base)/members/\(devID)", [("role", "custom"), ("version", "1")], csrfFrom: page).status == 403)
        #expect(try h.post("\(base)/members/\(devID)/remove", [], csrfFrom: page).status == 403)
        #expect(try membership(portal, devID)?.role == "developer")

        // She cannot invite beyond her own permissions, preset or custom.
        let admin = try invite(portal, h, org: org, email: "boss@example.com", role: "admin")
        #expect(admin.status == 422)
        #expect(admin.text.contains("The Admin role includes permissions you do not hold"))
        let custom = try invite(portal, h, org: org, email: "boss@example.com", role: "custom", permissions: ["roles.read", "payouts.authorize"])
        #expect(custom.status == 422)
        #expect(custom.text.contains("You can only grant permissions you hold yourself. You do not hold: Authorize payouts."))
        #expect(try portal.app.database.read { try $0.scalar("SELECT count(*) FROM invitations WHERE email = 'boss@example.com'", as: Int.self) } == 0)
        // Within her own permissions it works, and she may then edit that member, but not beyond.
        let (peer, _) = try newMember(portal, h, org: org, role: "custom", permissions: ["roles.read"])
        let peerID = try memberID(portal, peer.email, org: org)
        let edit = try h.get("\(base)/members/\(peerID)")
        #expect(edit.status == 200)
        let raise = try h.post("\(base)/members/\(peerID)", [("role", "custom"), ("permissions", "roles.read"), ("permissions", "logs.read"),
                                                              ("version", Browser.field("version", in: edit.text) ?? "")], csrfFrom: edit)
        #expect(raise.status == 422)
        #expect(raise.text.contains("You do not hold: View logs."))
        #expect(try membership(portal, peerID)?.permissions == "roles.read")
        // The Developer preset she cannot give either (it includes what she lacks).
        let toDev = try h.post("\(base)/members/\(peerID)", [("role", "developer"), ("version", Browser.field("version", in: edit.text) ?? "")],
                               csrfFrom: edit)
        #expect(toDev.status == 422)
        // Every refused attempt left the audit log without a member.updated.
        #expect(try !portal.auditActions(organization: org).contains("member.updated"))
    }

    @Test func changingPermissionsChangesTheMembersNavigationAtOnce() throws {
        let (portal, a, ana, org) = try TestPortal.withOwner()
        let (dev, d) = try newMember(portal, a, org: org, role: "developer")
        let id = try memberID(portal, dev.email, org: org)
        let edit = try a.get("/orgs/\(org)/team/members/\(id)")
        #expect(edit.status == 200)
        #expect(edit.text.contains("value=\"developer\" checked"))
        #expect(edit.text.contains("data-confirm=\"Remove Bo Example from Acme?"))
        let saved = try a.post("/orgs/\(org)/team/members/\(id)",
                               [("role", "custom"), ("permissions", "roles.read"), ("permissions", "transactions.read"),
                                ("version", Browser.field("version", in: edit.text) ?? "")], csrfFrom: edit)
        #expect(saved.status == 303)
        let dash = try d.get("/orgs/\(org)")
        #expect(dash.text.contains("href=\"/orgs/\(org)/team\""))
        #expect(!dash.text.contains("href=\"/orgs/\(org)/logs\""))
        #expect(try d.get("/orgs/\(org)/team").status == 200)
        let audit = try #require(try lastAudit(portal, "member.updated"))
        #expect(audit.subject == dev.email)
        #expect(audit.details.hasPrefix("role: Developer → Custom; permissions: api_keys.read,"))
        #expect(audit.details.hasSuffix("→ roles.read, transactions.read"))
        #expect(try portal.lastMail(to: dev.email)?.text.contains("Your role in Acme is now Custom") == true)
    }

    @Test func twoStaleFormsCannotOverwriteEachOther() throws {
        let (portal, a, ana, org) = try TestPortal.withOwner()
        let (_, x) = try newMember(portal, a, org: org, role: "admin")
        let (emp, _) = try newMember(portal, a, org: org, role: "employee")
        let path = "/orgs/\(org)/team/members/\(try memberID(portal, emp.email, org: org))"
        let anaForm = try a.get(path)
        let adminForm = try x.get(path)
        #expect(anaForm.status == 200 && adminForm.status == 200)
        let version = try #require(Browser.field("version", in: anaForm.text))
        #expect(Browser.field("version", in: adminForm.text) == version)

        #expect(try a.post(path, [("role", "developer"), ("version", version)], csrfFrom: anaForm).status == 303)
        let stale = try x.post(path, [("role", "custom"), ("permissions", "transactions.read"), ("version", version)], csrfFrom: adminForm)
        #expect(stale.status == 409)
        #expect(stale.text.contains("Someone changed this member meanwhile"))
        // The page shows the current state (Developer), and a fresh version to try again with.
        #expect(stale.text.contains("value=\"developer\" checked"))
        #expect(Browser.field("version", in: stale.text) != version)
        let m = try membership(portal, try memberID(portal, emp.email, org: org))
        #expect(m?.role == "developer" && m?.permissions == Permission.store(Role.developer.preset!))
        // A form without a version is stale too.
        #expect(try x.post(path, [("role", "employee")], csrfFrom: adminForm).status == 409)
        #expect(try membership(portal, try memberID(portal, emp.email, org: org))?.role == "developer")
        // Retrying with the fresh version works.
        let retry = try x.post(path, [("role", "employee"), ("version", Browser.field("version", in: stale.text) ?? "")], csrfFrom: stale)
        #expect(retry.status == 303)
        #expect(try membership(portal, try memberID(portal, emp.email, org: org))?.role == "employee")
    }

    @Test func aDisabledMemberIsRefusedAtOnceAndARemovedOneGetsNotFoundWhileOtherOrganizationsWork() throws {
        let (portal, a, ana, org) = try TestPortal.withOwner()
        let (dev, d) = try newMember(portal, a, org: org, role: "developer")
        let own = try dev.createOrganization(portal, d, ["legal_name": "Bo Labs Ltd", "trading_name": ""])
        let id = try memberID(portal, dev.email, org: org)
        #expect(try d.get("/orgs/\(org)").status == 200)

        let page = try a.get("/orgs/\(org)/team/members/\(id)")
        #expect(page.text.contains("Disable access"))
        #expect(try a.post("/orgs/\(org)/team/members/\(id)/disable", [], csrfFrom: page).status == 303)
        let refused = try d.get("/orgs/\(org)")
        #expect(refused.status == 403)
        #expect(refused.text.contains("has been disabled"))
        #expect(try d.get("/orgs/\(org)/logs").status == 403)
        #expect(try d.get("/orgs/\(own)").status == 200)
        #expect(try a.get("/orgs/\(org)/team").text.contains(">Disabled</span>"))
        #expect(try portal.lastMail(to: dev.email)?.text.contains("was disabled") == true)

        let again = try a.get("/orgs/\(org)/team/members/\(id)")
        #expect(again.text.contains("Enable access"))
        #expect(try a.post("/orgs/\(org)/team/members/\(id)/enable", [], csrfFrom: again).status == 303)
        #expect(try d.get("/orgs/\(org)").status == 200)

        let last = try a.get("/orgs/\(org)/team/members/\(id)")
        #expect(try a.post("/orgs/\(org)/team/members/\(id)/remove", [], csrfFrom: last).status == 303)
        #expect(try d.get("/orgs/\(org)").status == 404)
        #expect(try d.get("/orgs/\(org)/team").status == 404)
        #expect(try d.get("/orgs/\(own)").status == 200)
        #expect(try a.get("/orgs/\(org)/team/members/\(id)").status == 404)
        #expect(try portal.auditActions(organization: org).suffix(3) == ["member.disabled", "member.enabled", "member.removed"])
        #expect(try lastAudit(portal, "member.removed")?.subject == dev.email)
    }

    @Test func aMemberWithoutRolesReadGetsForbiddenAndNoTeamLink() throws {
        let (portal, a, ana, org) = try TestPortal.withOwner()
        let (_, e) = try newMember(portal, a, org: org, role: "employee")
        let dash = try e.get("/orgs/\(org)")
        #expect(!dash.text.contains("href=\"/orgs/\(org)/team\""))
        let team = try e.get("/orgs/\(org)/team")
        #expect(team.status == 403)
        #expect(team.text.contains("View team"))
        #expect(try e.get("/orgs/\(org)/team/invite").status == 403)
        #expect(try invite(portal, e, org: org, email: "friend@example.com", role: "employee").status == 403)
        #expect(try portal.app.database.read { try $0.scalar("SELECT count(*) FROM invitations WHERE email = 'friend@example.com'", as: Int.self) } == 0)
        // roles.read alone: the team page, but no invite button and no edit links.
        let (_, r) = try newMember(portal, a, org: org, role: "custom", permissions: ["roles.read"])
        let readOnly = try r.get("/orgs/\(org)/team")
        #expect(readOnly.status == 200)
        #expect(!readOnly.text.contains("Invite a member") && !readOnly.text.contains(">Edit</a>") && !readOnly.text.contains(">Resend</button>"))
        #expect(try invite(portal, r, org: org, email: "friend@example.com", role: "custom").status == 403)
    }

    @Test func anotherOrganizationsMembersAndInvitationsAreNotFound() throws {
        let portal = try TestPortal()
        let a = Browser(portal), b = Browser(portal)
        let ana = try TestUser.enrolled(portal, a)
        let orgA = try ana.createOrganization(portal, a)
        let (dev, _) = try newMember(portal, a, org: orgA, role: "developer")
        #expect(try invite(portal, a, org: orgA, email: "pending@example.com", role: "employee").status == 303)
        let memberA = try memberID(portal, dev.email, org: orgA)
        let invitationA = try #require(try portal.app.database.read {
            try $0.scalar("SELECT public_id FROM invitations WHERE email = 'pending@example.com'", as: String.self)
        })
        let ben = try TestUser.enrolled(portal, b)
        let orgB = try ben.createOrganization(portal, b, ["legal_name": "Ben Ltd", "trading_name": ""])
        let page = try b.get("/orgs/\(orgB)/team")
        #expect(page.status == 200)
        // Org A's ids under org B's URL: the same 404 as ids that do not exist.
        for id in [memberA, "mem_aaaaaaaaaaaaaaaa", "1"] {
            #expect(try b.get("/orgs/\(orgB)/team/members/\(id)").status == 404, "\(id)")
            #expect(try b.post("/orgs/\(orgB)/team/members/\(id)", [("role", "employee"), ("version", "1")], csrfFrom: page).status == 404)
            for action in ["disable", "enable", "remove"] {
                #expect(try b.post("/orgs/\(orgB)/team/members/\(id)/\(action)", [], csrfFrom: page).status == 404, "\(action)")
            }
        }
        for action in ["resend", "revoke"] {
            #expect(try b.post("/orgs/\(orgB)/team/invitations/\(invitationA)/\(action)", [], csrfFrom: page).status == 404)
        }
        // And org A's own URLs are not Ben's at all.
        for path in ["/team", "/team/invite", "/team/members/\(memberA)"] {
            #expect(try b.get("/orgs/\(orgA)\(path)").status == 404, "\(path)")
        }
        #expect(try b.post("/orgs/\(orgA)/team/invitations/\(invitationA)/revoke", [], csrfFrom: page).status == 404)
        #expect(try b.post("/orgs/\(orgA)/team/members/\(memberA)/remove", [], csrfFrom: page).status == 404)
        #expect(try membership(portal, memberA)?.status == "active")
        #expect(try invitationStatus(portal, "pending@example.com") == ["pending"])
        #expect(!page.text.contains(dev.email))
    }
}

/// Percent-encoding as the portal writes `next=` (RFC 3986 unreserved characters kept).
enum PercentEncodingForTests {
    static func encode(_ s: String) -> String {
        var allowed = CharacterSet(charactersIn: "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789")
        allowed.insert(charactersIn: "-._~")
        return s.addingPercentEncoding(withAllowedCharacters: allowed) ?? s
    }
}

extension TeamTests {
    /// Invitations are mails to an address someone typed: resends count too, so nobody can
    /// make the portal flood a mailbox, and a staff address is answered like any other.
    @Test func invitationMailsToOneAddressAreCappedResendsIncluded() throws {
        let (portal, a, ana, org) = try TestPortal.withOwner()
        let victim = "victim@example.com"
        #expect(try invite(portal, a, org: org, email: victim, role: "employee").status == 303)
        let inv = try portal.app.database.read { try $0.scalar("SELECT public_id FROM invitations", as: String.self) }!
        let team = try a.get("/orgs/\(org)/team")
        for _ in 1..<Team.invitationsPerAddressPerDay {
            #expect(try a.post("/orgs/\(org)/team/invitations/\(inv)/resend", [], csrfFrom: team).status == 303)
        }
        #expect(try portal.mailCount(to: victim) == Team.invitationsPerAddressPerDay)
        let refused = try a.post("/orgs/\(org)/team/invitations/\(inv)/resend", [], csrfFrom: team)
        #expect(refused.status == 422)
        #expect(refused.text.contains("Try again tomorrow"))
        // Inviting the address again, or from another organization, is refused as well.
        #expect(try invite(portal, a, org: org, email: victim, role: "employee").status == 422)
        let other = try ana.createOrganization(portal, a, ["legal_name": "Other Ltd"])
        #expect(try invite(portal, a, org: other, email: victim, role: "employee").status == 422)
        #expect(try portal.mailCount(to: victim) == Team.invitationsPerAddressPerDay)
        // A day later the address can be invited again.
        portal.clock.advance(seconds: 24 * 3600 + 1)
        _ = try ana.logIn(portal, a)
        #expect(try invite(portal, a, org: other, email: victim, role: "employee").status == 303)
    }

    @Test func aStaffAddressIsAnsweredLikeAnyOtherButGetsNoMail() throws {
        let (portal, a, ana, org) = try TestPortal.withOwner()
        let staff = "sam@operator.example"
        _ = try portal.app.createStaff(email: staff, name: "Sam Support")
        let before = try portal.mailCount(to: staff)
        let r = try invite(portal, a, org: org, email: staff, role: "developer")
        #expect(r.status == 303)
        #expect(try a.get("/orgs/\(org)/team").text.contains(staff))
        #expect(try portal.mailCount(to: staff) == before)
    }
}

extension TeamTests {
    /// The invitation travels as a real mail: over SMTP to a server on loopback, whose text
    /// part holds the one link that lets the invitee in.
    @Test func theInvitationArrivesOverSMTPAndItsLinkWorks() throws {
        let smtp = try TestSMTPServer()
        smtp.listen()
        defer { smtp.stop() }
        let portal = try TestPortal { $0.smtpURL = "smtp://127.0.0.1:\(smtp.port)" }
        let a = Browser(portal)
        let ana = try TestUser.enrolled(portal, a)
        let org = try ana.createOrganization(portal, a)
        let email = "cy@example.com"
        #expect(try invite(portal, a, org: org, email: email, role: "developer").status == 303)
        #expect(eventually(within: 10) { smtp.received.contains { $0.recipients.contains(email) } })
        guard let mail = smtp.received.first(where: { $0.recipients.contains(email) }) else { return }
        // Undo quoted-printable (soft line breaks, "=3D") to read the text part.
        let text = mail.data.replacingOccurrences(of: "=\r\n", with: "").replacingOccurrences(of: "=3D", with: "=")
        #expect(text.contains("Subject: \(ana.name) invited you to Acme on Portal"))
        let links = Set(text.split(whereSeparator: { $0.isWhitespace || $0 == "\"" || $0 == "<" || $0 == ">" })
            .filter { $0.hasPrefix("http://127.0.0.1:8080/invitations/") }.map(String.init))
        #expect(links.count == 1, "\(links)")
        guard let link = links.first, let url = URL(string: link) else { return }
        let b = Browser(portal)
        let page = try b.get(url.path)
        #expect(page.status == 200)
        #expect(page.text.contains("Join Acme"))
    }

    /// An invitation problem no handler answered is its own page, never a 500, and does not
    /// name the invited address to someone signed in with another.
    @Test func anInvitationProblemIsItsOwnPageWhereverItIsThrown() {
        func status(_ p: InvitationProblem) -> HTTPStatus? { ((p as any Error) as? any HTTPErrorConvertible)?.httpError.status }
        #expect(status(.notFound) == .notFound)
        #expect(status(.gone(.expired)) == .gone)
        #expect(status(.refused("Support staff accounts cannot join organizations.")) == .conflict)
        #expect(status(.throttled) == .tooManyRequests)
        let wrong = ((InvitationProblem.wrongAccount(invited: "bo@example.com", signedIn: "eve@example.com") as any Error) as? any HTTPErrorConvertible)?.httpError
        #expect(wrong?.status == .forbidden)
        #expect(wrong?.message?.contains("bo@example.com") == false)
    }
}

