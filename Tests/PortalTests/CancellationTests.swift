import Foundation
import Testing
@testable import Portal

/// Cancellation requests over real sockets: applied at once in Sandbox (money released), a
/// support request in Production that support approves (applied) or rejects (refused), and
/// the rules around them (reason, confirmation, permission, finished transactions).
@Suite("Cancellations: Sandbox at once, Production through support")
struct CancellationTests {
    func cancel(_ b: Browser, _ page: String, reason: String, confirm: Bool) throws -> TestResponse {
        let p = try b.get(page)
        var fields = [("reason", reason)]
        if confirm { fields.append(("confirm", "yes")) }
        return try b.post("\(page)/cancel", fields, csrfFrom: p)
    }

    @Test func inSandboxItIsAppliedAtOnceAndReleasesTheMoney() throws {
        let (portal, ob, _, org) = try TestPortal.withOwner()
        let base = "/orgs/\(org)/sandbox"
        // Available money to pay out from, then a payout that holds part of it.
        let funding = try portal.makeTransaction(org, .payin, "100.16")
        // (The simulator may have moved it to processing already.)
        _ = try? portal.moveTransaction(funding, .processing)
        try portal.moveTransaction(funding, .paid)
        let payout = try portal.makeTransaction(org, .payout, "40.16", recipient: Party(name: "Ada", country: "GB", method: .bank, account: "GB33BUKB20201555555555"))
        #expect(try portal.balances(org) == (available: 10016 - 4016, pending: 4016))
        let page = "\(base)/transactions/\(payout.publicID)"
        let shown = try ob.get(page)
        #expect(shown.text.contains("Request cancellation") && shown.text.contains("In Sandbox the transaction is cancelled at once"))

        // A reason is required; what was typed stays.
        let empty = try cancel(ob, page, reason: "   ", confirm: false)
        #expect(empty.status == 422)
        #expect(empty.text.contains("<p class=\"error\" id=\"reason-error\">Say why the transaction should be cancelled"))
        // Without confirmation: a page that asks, and nothing changed.
        let ask = try cancel(ob, page, reason: "Customer changed their mind", confirm: false)
        #expect(ask.status == 200)
        #expect(ask.text.contains("Yes, cancel it") && ask.text.contains("name=\"confirm\" value=\"yes\""))
        #expect(ask.text.contains("Customer changed their mind"))
        #expect(try portal.currentTransaction(payout).status.isOpen)

        let done = try cancel(ob, page, reason: "Customer changed their mind", confirm: true)
        #expect(done.status == 303 && done["Location"] == page)
        #expect(try portal.currentTransaction(payout).status == .cancelled)
        #expect(try portal.balances(org) == (available: 10016, pending: 0))
        let after = try ob.get(page)
        #expect(after.text.contains("The transaction is cancelled and its money released."))
        #expect(after.text.contains("<strong>Applied</strong>") && after.text.contains("Customer changed their mind"))
        #expect(!after.text.contains("<h2 id=\"cancel-heading\">"))
        let actions = try portal.auditActions(organization: org)
        #expect(actions.contains("cancellation.requested") && actions.contains("cancellation.applied"))
        #expect(try portal.count("SELECT count(*) FROM events WHERE type = 'cancellation.requested' AND environment = 'sandbox'") == 1)
        #expect(try portal.count("SELECT count(*) FROM transaction_cancellations WHERE status = 'applied'") == 1)
        let history = after.section(from: "<table class=\"table history\">", to: "</table>")
        #expect(history.contains(">Cancelled</span>") && history.contains("Customer changed their mind"))

        // Once finished, it cannot be asked again: refused with the reason, nothing written.
        let again = try ob.post("\(page)/cancel", [("reason", "again"), ("confirm", "yes")], csrfFrom: after)
        #expect(again.status == 409)
        #expect(again.text.contains("so it can no longer be cancelled"))
        #expect(try portal.count("SELECT count(*) FROM transaction_cancellations") == 1)
    }

    @Test func inProductionSupportApprovesItAndTheTransactionIsCancelled() throws {
        let (portal, ob, _, org) = try TestPortal.withOwner()
        try portal.enableProduction(org)
        let t = try portal.makeTransaction(org, .payin, "75.00", env: .production, externalID: "pi-1")
        let page = "/orgs/\(org)/production/transactions/\(t.publicID)"
        let sent = try cancel(ob, page, reason: "Duplicate charge", confirm: true)
        #expect(sent.status == 303)
        #expect(try portal.currentTransaction(t).status == .pending)
        let waiting = try ob.get(page)
        #expect(waiting.text.contains("Your cancellation request is with support"))
        #expect(waiting.text.contains("<strong>Waiting for support</strong>"))
        #expect(!waiting.text.contains("<h2 id=\"cancel-heading\">"))
        // One open request at a time.
        let twice = try ob.post("\(page)/cancel", [("reason", "again"), ("confirm", "yes")], csrfFrom: waiting)
        #expect(twice.status == 409)

        let sb = Browser(portal)
        _ = try SupportTests.staff(portal, sb)
        let id = try SupportTests.requestID(portal, kind: "transaction_cancellation")
        let review = try sb.get("/support/requests/\(id)")
        #expect(review.status == 200)
        #expect(review.text.contains("Transaction cancellation") && review.text.contains(t.publicID) && review.text.contains("Duplicate charge"))
        let decided = try SupportTests.decide(sb, id, approve: true, reason: "Confirmed with the payer's bank")
        #expect(decided.status == 303)
        #expect(try SupportTests.status(portal, id) == "approved")
        #expect(try portal.currentTransaction(t).status == .cancelled)
        #expect(try portal.balances(org, env: .production) == (available: 0, pending: 0))
        let after = try ob.get(page)
        #expect(after.text.contains("<strong>Applied</strong>"))
        #expect(after.section(from: "<table class=\"table history\">", to: "</table>").contains(">Support<"))
        let actions = try portal.auditActions(organization: org)
        #expect(actions.filter { $0 == "cancellation.requested" }.count == 1 && actions.contains("cancellation.applied"))
        #expect(try portal.count("SELECT count(*) FROM events WHERE type = 'cancellation.requested' AND environment = 'production'") == 1)
    }

    @Test func inProductionSupportRejectsOrCannotApproveAFinishedTransaction() throws {
        let (portal, ob, _, org) = try TestPortal.withOwner()
        try portal.enableProduction(org)
        let sb = Browser(portal)
        _ = try SupportTests.staff(portal, sb)

        // Rejected: the cancellation is refused and the transaction untouched.
        let a = try portal.makeTransaction(org, .payin, "10.00", env: .production)
        #expect(try cancel(ob, "/orgs/\(org)/production/transactions/\(a.publicID)", reason: "Wrong amount", confirm: true).status == 303)
        let first = try SupportTests.requestID(portal, kind: "transaction_cancellation")
        #expect(try SupportTests.decide(sb, first, approve: false, reason: "The payer already confirmed it").status == 303)
        #expect(try portal.currentTransaction(a).status == .pending)
        let page = try ob.get("/orgs/\(org)/production/transactions/\(a.publicID)")
        #expect(page.text.contains("<strong>Refused</strong>"))
        // Refused is not open: the member may ask again.
        #expect(page.text.contains("<h2 id=\"cancel-heading\">"))
        #expect(try portal.auditActions(organization: org).contains("cancellation.refused"))

        // Paid while waiting: approval is refused with the reason; rejecting refuses it.
        let b = try portal.makeTransaction(org, .payin, "20.00", env: .production)
        #expect(try cancel(ob, "/orgs/\(org)/production/transactions/\(b.publicID)", reason: "Sent twice", confirm: true).status == 303)
        let second = try SupportTests.requestID(portal, kind: "transaction_cancellation")
        try portal.moveTransaction(try portal.moveTransaction(b, .processing), .paid)
        let review = try sb.get("/support/requests/\(second)")
        #expect(review.text.contains("is paid now, so it can no longer be cancelled"))
        let blocked = try SupportTests.decide(sb, second, approve: true, reason: "ok")
        #expect(blocked.status == 409)
        #expect(try SupportTests.status(portal, second) == "open")
        #expect(try portal.currentTransaction(b).status == .paid)
        #expect(try SupportTests.decide(sb, second, approve: false, reason: "It was paid before we could act").status == 303)
        #expect(try portal.count("SELECT count(*) FROM transaction_cancellations WHERE status = 'refused'") == 2)
        #expect(try portal.balances(org, env: .production) == (available: 2000, pending: 1000))
    }

    @Test func aWithdrawnRequestNoLongerWaitsAndTheMemberMayAskAgain() throws {
        let (portal, ob, _, org) = try TestPortal.withOwner()
        try portal.enableProduction(org)
        let t = try portal.makeTransaction(org, .payin, "15.00", env: .production)
        let page = "/orgs/\(org)/production/transactions/\(t.publicID)"
        #expect(try cancel(ob, page, reason: "Typo in the amount", confirm: true).status == 303)
        let id = try SupportTests.requestID(portal, kind: "transaction_cancellation")
        let settings = try ob.get("/orgs/\(org)/settings")
        let out = try ob.post("/orgs/\(org)/settings/requests/\(id)/withdraw", [("confirm", "yes")], csrfFrom: settings)
        #expect(out.status == 303)
        #expect(try SupportTests.status(portal, id) == "withdrawn")
        let after = try ob.get(page)
        #expect(after.text.contains("<strong>Withdrawn</strong>") && after.text.contains("<h2 id=\"cancel-heading\">"))
        #expect(try cancel(ob, page, reason: "Typo in the amount, really", confirm: true).status == 303)
        #expect(try portal.count("SELECT count(*) FROM transaction_cancellations WHERE status = 'requested'") == 1)
    }

    @Test func onlyTransactionsCancelMayAskAndOnlyForItsOwnOrganization() throws {
        let (portal, ob, _, org) = try TestPortal.withOwner()
        let t = try portal.makeTransaction(org, .payin, "9.16")
        let page = "/orgs/\(org)/sandbox/transactions/\(t.publicID)"
        let reader = try PermissionMatrixTests.member(portal, org: org, role: .custom, permissions: [.transactionsRead], tag: "reader")
        let seen = try reader.get(page)
        #expect(seen.status == 200 && !seen.text.contains("Request cancellation"))
        #expect(try reader.post("\(page)/cancel", [("reason", "x"), ("confirm", "yes")], csrfFrom: seen).status == 403)
        // transactions.cancel alone: may cancel (it names that), though not read the page.
        let canceller = try PermissionMatrixTests.member(portal, org: org, role: .custom, permissions: [.transactionsCancel], tag: "cxl")
        let home = try canceller.get("/orgs/\(org)")
        #expect(try canceller.get(page).status == 403)
        #expect(try canceller.post("\(page)/cancel", [("reason", "Fraud suspected"), ("confirm", "yes")], csrfFrom: home).status == 303)
        #expect(try portal.currentTransaction(t).status == .cancelled)
        // Another organization's transaction: 404, nothing written.
        let ob2 = Browser(portal)
        let other = try TestUser.enrolled(portal, ob2, email: "x-\(UUID().uuidString.prefix(6))@example.com")
        let org2 = try other.createOrganization(portal, ob2)
        let foreign = try portal.makeTransaction(org2, .payin, "3.16")
        let r2 = try ob.post("/orgs/\(org)/sandbox/transactions/\(foreign.publicID)/cancel", [("reason", "x"), ("confirm", "yes")],
                             csrfFrom: try ob.get("/orgs/\(org)"))
        #expect(r2.status == 404)
        #expect(try portal.currentTransaction(foreign).status.isOpen)
    }
}
