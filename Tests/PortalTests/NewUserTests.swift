import Foundation
import Testing
@testable import Portal

/// What a new user tripped over (issue 8 §9), each checked the way the page is served.
@Suite("What a new user tripped over")
struct NewUserTests {
    @Test func halfWaySignedInTheHeaderSaysWhoAndOffersLogOut() throws {
        let portal = try TestPortal()
        let b = Browser(portal)
        let user = TestUser()
        #expect(try b.submit("/signup", to: "/signup", [("name", user.name), ("email", user.email), ("password", user.password)]).status == 303)
        #expect(try b.get(try #require(try portal.link(inMailTo: user.email)))["Location"] == "/login")
        let login = try b.submit("/login", to: "/login", [("email", user.email), ("password", user.password)])
        #expect(login["Location"] == "/mfa/setup")
        let setup = try b.get("/mfa/setup")
        #expect(setup.status == 200)
        #expect(setup.text.contains("Signing in as <strong>\(user.email)</strong>"))
        #expect(setup.text.contains("action=\"/logout\""))
        #expect(!setup.text.contains(">Sign up</a>") && !setup.text.contains("href=\"/login\">Log in</a>"))
        // The way out works from this step: the session ends and the visitor header is back.
        let out = try b.post("/logout", [], csrfFrom: setup)
        #expect(out.status == 303)
        #expect(try b.get("/mfa/setup")["Location"]?.hasPrefix("/login") == true)
        let home = try b.get("/")
        #expect(home.text.contains(">Sign up</a>") && !home.text.contains("Signing in as"))
    }

    @Test func aCustomRoleWithoutAnyPermissionIsRefusedBesideTheField() throws {
        let (portal, a, _, org) = try TestPortal.withOwner()
        let r = try TeamTests().invite(portal, a, org: org, email: "cy@example.com", name: "Cy", role: "custom")
        #expect(r.status == 422)
        #expect(r.text.contains("<p class=\"error\" id=\"permissions-error\">Tick at least one permission for a Custom role"))
        // What was typed is kept, Custom stays chosen.
        #expect(r.text.contains("value=\"cy@example.com\""))
        #expect(r.text.contains("value=\"custom\" checked"))
        #expect(try portal.app.database.read { try $0.scalar("SELECT count(*) FROM invitations", as: Int.self) } == 0)
        #expect(try portal.mailCount(to: "cy@example.com") == 0)
        // The same rule when editing a member.
        let (bo, _) = try TeamTests().newMember(portal, a, org: org, role: "developer")
        let memberID = try TeamTests().memberID(portal, bo.email, org: org)
        let page = try a.get("/orgs/\(org)/team/members/\(memberID)")
        let edit = try a.post("/orgs/\(org)/team/members/\(memberID)", [("role", "custom"), ("version", "1")], csrfFrom: page)
        #expect(edit.status == 422)
        #expect(edit.text.contains("Tick at least one permission for a Custom role"))
        #expect(try TeamTests().membership(portal, memberID)?.role == "developer")
        // One permission is enough.
        let one = try a.post("/orgs/\(org)/team/members/\(memberID)", [("role", "custom"), ("permissions", "transactions.read"), ("version", "1")],
                             csrfFrom: page)
        #expect(one.status == 303)
        #expect(try TeamTests().membership(portal, memberID)?.permissions == "transactions.read")
    }

    @Test func anEmptyInvitationAddressIsAboutTheInviteeNotYou() throws {
        let (portal, a, _, org) = try TestPortal.withOwner()
        let r = try TeamTests().invite(portal, a, org: org, email: "", name: "Cy", role: "developer")
        #expect(r.status == 422)
        #expect(r.text.contains("Enter the e-mail address to send the invitation to."))
        #expect(!r.text.contains("Enter your e-mail address"))
        // The message at the top leads to the first field in error.
        #expect(r.text.contains("<a href=\"#email\">See the first one.</a>"))
        let both = try TeamTests().invite(portal, a, org: org, email: "", name: "", role: "custom")
        #expect(both.text.contains("<a href=\"#name\">See the first one.</a>"))
    }

    @Test func theFirstFieldInErrorFollowsTheFormsOrder() {
        let form = FormState(values: [:], errors: ["permissions": "a", "email": "b"], order: ["name", "email", "role", "permissions"])
        #expect(form.firstError == "email")
        #expect(FormState(errors: ["zeta": "a", "alpha": "b"]).firstError == "alpha")
        #expect(FormState(errors: ["form": "a"]).firstError == "form")
        #expect(FormState().firstError == nil && !FormState().hasErrors)
        #expect(FormState(values: ["a": "1"]).with(error: "Changed meanwhile").errors == ["form": "Changed meanwhile"])
    }

    @Test func thePermissionBoxesAreMarkedForCustomAndTheFieldsetsAreGroups() throws {
        let (_, a, _, org) = try TestPortal.withOwner()
        let form = try a.get("/orgs/\(org)/team/invite")
        // The stylesheet shows the boxes only for Custom; without it they keep their note.
        #expect(form.text.contains("<fieldset id=\"permissions\" class=\"field choices custom-permissions\""))
        #expect(form.text.contains("<legend>Permissions (used with Custom)</legend>"))
        #expect(form.text.contains("<fieldset id=\"role\" class=\"field choices\""))
        let css = try a.get("/static/css/portal.css").text
        #expect(css.contains(":not(:has(input[name=role][value=custom]:checked)) .custom-permissions { display: none; }"))
        #expect(css.contains("fieldset.choices { border: 0;"))
    }

    @Test func tableDatesAreCompactWithTheFullTimeInATitle() throws {
        let (portal, a, _, org) = try TestPortal.withOwner()
        portal.clock.stop() // the minute the invitation was sent is the one the test formats
        #expect(try TeamTests().invite(portal, a, org: org, email: "cy@example.com", name: "Cy", role: "developer").status == 303)
        let sentAt = portal.clock.now
        // Looked at two minutes later: the page must show when it was sent, not when it is read.
        portal.clock.advance(seconds: 120)
        let team = try a.get("/orgs/\(org)/team")
        let sent = PageTime.full(sentAt, zone: "UTC")
        #expect(sent.hasSuffix("(UTC)") && sent != PageTime.full(portal.clock.now, zone: "UTC"))
        // The day in the cell, the full time on hover, kept on one line by the stylesheet.
        #expect(team.text.contains("<td class=\"when\"><time datetime=\""))
        #expect(team.text.contains("title=\"\(sent)\">\(PageTime.day(sentAt, zone: "UTC"))</time>"))
        #expect(!team.text.contains("<td>\(sent)</td>"))
        #expect(try a.get("/static/css/portal.css").text.contains("td.when, .when, time { white-space: nowrap; }"))
    }

    @Test func theSupportRequestsHistoryAndTheQueueUseCompactDatesToo() throws {
        let (portal, ob, _, org) = try TestPortal.withOwner()
        #expect(try ob.submit("/orgs/\(org)/settings/production", to: "/orgs/\(org)/settings/production", [("note", "Live in May")]).status == 303)
        let sb = Browser(portal)
        _ = try SupportTests.staff(portal, sb)
        let id = try SupportTests.requestID(portal, kind: "production_access")
        // The time it was filed (read back, so a slow run crossing a minute cannot fail it).
        let filed = try #require(try portal.app.database.read {
            try $0.scalar("SELECT created_at FROM support_requests WHERE public_id = ?", id, as: Int64.self)
        })
        let full = PageTime.full(filed, zone: "UTC")
        let review = try sb.get("/support/requests/\(id)")
        #expect(review.status == 200)
        #expect(review.text.contains("<td class=\"when\"><time datetime=\""))
        #expect(review.text.contains("title=\"\(full)\">"))
        #expect(!review.text.contains("<td>\(full)</td>"))
        let queue = try sb.get("/support")
        #expect(queue.text.contains("<td class=\"when\"><time datetime=\""))
        // The Owner's own list of requests, on the settings page.
        #expect(try ob.get("/orgs/\(org)/settings").text.contains("<td class=\"when\"><time datetime=\""))
    }

    @Test func compactTimesAreTheDayInTheViewersZone() {
        // 2026-12-04 23:30 UTC is already 5 December in Amsterdam.
        let t: Int64 = 1_796_427_000
        #expect(PageTime.day(t, zone: "UTC") == "4 Dec 2026")
        #expect(PageTime.day(t, zone: "Europe/Amsterdam") == "5 Dec 2026")
        #expect(PageTime.compact(t, zone: "Europe/Amsterdam")
            == "<time datetime=\"2026-12-04T23:30:00Z\" title=\"5 Dec 2026, 00:30 (Europe/Amsterdam)\">5 Dec 2026</time>")
    }
}
