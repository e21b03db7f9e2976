import Database
import Foundation
import Testing
@testable import Portal

extension SupportTests {
    /// Approving an organization's offboarding ends its other open requests in the same
    /// decision: each is refused with a reason that says why, audited, and its requester
    /// told by mail. Requests of other organizations, and ones about no organization, stay.
    @Test func approvingOffboardingRefusesTheOrganizationsOtherOpenRequests() throws {
        let portal = try TestPortal()
        let ob = Browser(portal), sb = Browser(portal)
        let (owner, org) = try Self.owner(portal, ob)
        let other = try owner.createOrganization(portal, ob, ["legal_name": "Beta Ltd", "trading_name": "Beta"])
        let settings = "/orgs/\(org)/settings"
        #expect(try ob.submit("\(settings)/details", to: "\(settings)/details", [("address", "Damrak 5\n1012 LG Amsterdam"), ("country", "NL"), ("reason", "We moved")]).status == 303)
        #expect(try ob.submit("\(settings)/production", to: "\(settings)/production", [("note", "Soon")]).status == 303)
        let details = try Self.requestID(portal, kind: "org_details"), production = try Self.requestID(portal, kind: "production_access")
        #expect(try ob.submit("/orgs/\(other)/settings/production", to: "/orgs/\(other)/settings/production", [("note", "Beta too")]).status == 303)
        let otherProduction = try Self.requestID(portal, kind: "production_access")
        #expect(try ob.submit("\(settings)/offboarding", to: "\(settings)/offboarding", [("reason", "Closing down"), ("confirmation", "Acme")]).status == 303)
        let offboarding = try Self.requestID(portal, kind: "offboarding")
        _ = try Self.staff(portal, sb)
        let mailsBefore = try portal.mailCount(to: owner.email)
        // Support reads what approval will do to them before deciding.
        #expect(try sb.get("/support/requests/\(offboarding)").text.contains("other open requests (Change organization details, Production access) are refused"))

        #expect(try Self.decide(sb, offboarding, approve: true, reason: "Confirmed by phone with the Owner")["Location"] != nil)
        #expect(try Self.status(portal, offboarding) == "approved")
        #expect(try Self.status(portal, details) == "rejected")
        #expect(try Self.status(portal, production) == "rejected")
        #expect(try Self.status(portal, otherProduction) == "open")

        // The reason says why, on the request and in the queue's history.
        let staffID = try portal.app.database.read { try $0.scalar("SELECT id FROM users WHERE is_staff = 1", as: Int64.self) }
        let ended = try portal.app.database.read { db in
            try db.query("SELECT resolution_note, resolved_by FROM support_requests WHERE public_id IN (?, ?)", details, production)
                .map { (try $0.string(0), try $0.optionalInt64(1)) }
        }
        #expect(ended.count == 2)
        for (note, by) in ended {
            #expect(note.contains("Acme") && note.contains("closed") && note.contains(offboarding), "\(note)")
            #expect(by == staffID)
        }
        let review = try sb.get("/support/requests/\(production)")
        #expect(review.text.contains("closed") && !review.text.contains("/approve\""))

        // Audited: one rejection per ended request, after the closure and its approval.
        #expect(try portal.auditActions(organization: org).suffix(4) == ["org.closed", "support.approved", "support.rejected", "support.rejected"])

        // The requester is told of each: the approval, and each request that ended with it.
        let mails = try portal.app.database.read { db in
            try db.query("SELECT subject, text_body FROM outbox WHERE recipient = ? ORDER BY id", owner.email).map { (try $0.string(0), try $0.string(1)) }
        }.suffix(from: mailsBefore)
        #expect(mails.map(\.0).sorted() == ["Your request was approved: Offboarding", "Your request was not approved: Change organization details",
                                            "Your request was not approved: Production access"])
        let refusal = try #require(mails.first { $0.0.hasSuffix("Production access") })
        #expect(refusal.1.contains("closed"))
        // Its link goes to the organizations, not to the closed one's settings (a 404 now).
        #expect(!refusal.1.contains("/orgs/\(org)"))

        // A decided request stays decided.
        #expect(try Self.decide(sb, production, approve: true, reason: "Looks fine").status == 409)
    }
}
