import Database
import Foundation
import Testing
import TestSupport
@testable import Portal

/// Defects of issue 8 §8/§9 in the features' own areas, each attacked as a user would.
@Suite("Feature house: invitation caps, audit history, withdrawn requests, readable security activity")
struct HouseDefectTests {
    /// `Victim@…` and `VICTIM@…` are one mailbox: they share one daily allowance.
    @Test func theInvitationCapIgnoresTheCaseOfTheAddress() throws {
        let (portal, a, ana, org) = try TestPortal.withOwner()
        let variants = ["victim@example.com", "Victim@example.com", "VICTIM@example.com", "victim@EXAMPLE.com", "ViCtIm@Example.Com"]
        #expect(variants.count == Team.invitationsPerAddressPerDay)
        for v in variants { #expect(try TeamTests().invite(portal, a, org: org, email: v, role: "employee").status == 303) }
        let refused = try TeamTests().invite(portal, a, org: org, email: "VICTIM@EXAMPLE.COM", role: "employee")
        #expect(refused.status == 422)
        #expect(refused.text.contains("Try again tomorrow"))
        // Nor does another organization get a fresh allowance for another spelling.
        let other = try ana.createOrganization(portal, a, ["legal_name": "Other Ltd"])
        #expect(try TeamTests().invite(portal, a, org: other, email: "vIcTiM@example.com", role: "employee").status == 422)
        // The domain is stored lower-cased; one pending invitation, refreshed each time.
        let stored = try portal.app.database.read { try $0.query("SELECT email FROM invitations").map { try $0.string(0) } }
        #expect(stored.count == 1 && stored[0].hasSuffix("@example.com"))
        // The caps count their own rows, not the audit log.
        let sends = try portal.app.database.read { try $0.scalar("SELECT count(*) FROM invitation_sends", as: Int.self) }
        #expect(sends == Team.invitationsPerAddressPerDay)
    }

    /// A member who renames themselves (or changes address) later does not rewrite the past.
    @Test func theAuditLogShowsTheActorAsTheyWereWhenTheyActed() throws {
        let (portal, a, ana, org) = try TestPortal.withOwner()
        try portal.rename(ana.email, "Ana Lovelace")
        #expect(try TeamTests().invite(portal, a, org: org, email: "bo@example.com", role: "developer").status == 303)
        try portal.rename(ana.email, "Mallory Rewrite")
        try portal.app.database.write { try $0.execute("UPDATE users SET email = 'mallory@example.com' WHERE email = ?", ana.email) }
        let page = try a.get("/orgs/\(org)/logs")
        #expect(AuditLogTests.descriptions(page).first == "Ana Lovelace invited bo@example.com as Developer")
        #expect(!page.text.contains("Mallory Rewrite invited"))
        let csv = CSVReader.parse(AuditLogTests.body(try a.get("/orgs/\(org)/logs.csv")))
        #expect(csv[1][1] == ana.email && csv[1][2] == "Ana Lovelace")
    }

    /// The Owner withdraws an open request: it is audited, support sees it withdrawn and can
    /// no longer decide it, and a decided request cannot be withdrawn.
    @Test func anOwnerWithdrawsAnOpenRequestAndSupportCanNoLongerDecideIt() throws {
        let portal = try TestPortal()
        let ob = Browser(portal), sb = Browser(portal)
        let (owner, org) = try SupportTests.owner(portal, ob)
        let settings = "/orgs/\(org)/settings"
        #expect(try ob.submit("\(settings)/production", to: "\(settings)/production", [("note", "Payouts from March")]).status == 303)
        let id = try SupportTests.requestID(portal, kind: "production_access")
        let page = try ob.get(settings)
        #expect(page.text.contains("action=\"\(settings)/requests/\(id)/withdraw\""))
        // Without the confirming box, nothing happens.
        #expect(try ob.post("\(settings)/requests/\(id)/withdraw", [], csrfFrom: page).status == 303)
        #expect(try SupportTests.status(portal, id) == "open")
        #expect(try ob.post("\(settings)/requests/\(id)/withdraw", [("confirm", "yes")], csrfFrom: page).status == 303)
        #expect(try SupportTests.status(portal, id) == "withdrawn")
        #expect(try portal.auditActions(organization: org).last == "request.withdrawn")
        #expect(AuditLogTests.descriptions(try ob.get("/orgs/\(org)/logs")).first?.hasSuffix("withdrew Production access") == true)
        // Support sees it withdrawn and cannot decide it.
        _ = try SupportTests.staff(portal, sb)
        let review = try sb.get("/support/requests/\(id)")
        #expect(review.text.contains("Withdrawn</span> by \(owner.email) on"))
        #expect(!review.text.contains("Reason given"))
        #expect(!review.text.contains("/approve\""))
        let forced = try sb.post("/support/requests/\(id)/approve", [("reason", "ok")], csrfFrom: review)
        #expect(forced.status == 409)
        #expect(try SupportTests.org(portal, org, "production_enabled_at") == nil)
        #expect(try sb.get("/support?status=withdrawn").text.contains(id))
        // Withdrawing again (or a decided request) is refused, and another organization's id is not found.
        #expect(throws: OrgProblem.self) {
            let access = try portal.app.organizations.access(user: try portal.user(owner.email), organization: org)
            _ = try portal.app.organizations.withdraw(access, request: id, actor: Actor(userID: access.user.id, ip: "127.0.0.1", userAgent: "t"))
        }
    }

    /// "Recent security activity" reads as sentences, whatever feature recorded the event.
    @Test func recentSecurityActivityShowsSentencesNeverIdentifiers() throws {
        let (portal, a, ana, org) = try TestPortal.withOwner()
        #expect(try TeamTests().invite(portal, a, org: org, email: "bo@example.com", role: "developer").status == 303)
        // Someone else tries to sign up with Ana's address.
        _ = try Browser(portal).submit("/signup", to: "/signup", [("name", "Copy Cat"), ("email", ana.email), ("password", "a fine long passphrase")])
        let page = try a.get("/account/security").text
        for raw in ["member.invited", "org.created", "signup.existing_address", "login.password_accepted", "mfa.enrolled"] {
            #expect(!page.contains(">\(raw)<"), "raw identifier \(raw) shown")
        }
        #expect(page.contains("You invited bo@example.com as Developer"))
        #expect(page.contains("You created the organization"))
        #expect(page.contains("Someone tried to sign up with this address"))
        // Every action a feature declares has a sentence and a title of words.
        for (id, action) in AuditActions.all.byID {
            #expect(action.title != id && !action.title.contains("."), "\(id) has no title of words")
        }
    }

    /// Details written before they were JSON are read the same after the one-time upgrade.
    @Test func legacyDetailsAreUpgradedOnceAndReadTheSame() throws {
        let (portal, a, _, org) = try TestPortal.withOwner()
        try portal.insertEvents(org, [("member.updated", try portal.userID(try portal.ownerEmail(org)), "bo@example.com",
                                       "role: Employee → Custom; permissions: a, b → b")])
        let stored = try portal.app.database.read {
            try $0.scalar("SELECT details FROM audit_events WHERE action = 'member.updated'", as: String.self)
        }
        #expect(stored == #"{"role":{"before":"Employee","after":"Custom"},"permissions":{"before":"a, b","after":"b"}}"#)
        #expect(try a.get("/orgs/\(org)/logs").text.contains("<li>Role: Employee → Custom</li>"))
        // A second start converts nothing more and keeps the marker.
        #expect(try AuditDetailsUpgrade.convertAll(portal.app.database) == 0)
    }
}

extension TestPortal {
    func user(_ email: String) throws -> UserRecord {
        try app.database.read { try app.accounts.user(email: email, on: $0) }!
    }

    func ownerEmail(_ org: String) throws -> String {
        try app.database.read {
            try $0.scalar("""
                SELECT u.email FROM users u JOIN memberships m ON m.user_id = u.id JOIN organizations o ON o.id = m.organization_id
                WHERE o.public_id = ? AND m.role = 'owner'
                """, org, as: String.self)
        }!
    }
}
