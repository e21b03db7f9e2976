import Database
import Foundation
import Security
import Synchronization
import Testing
@testable import Portal

/// Payout helpers: members who keep their authenticator, money in a Sandbox, balances.
extension TestPortal {
    /// Someone enrolled through the real pages (so the test holds their TOTP secret), made a
    /// member of `org` with `role`'s preset; their browser is signed in.
    func member(of org: String, role: Role, permissions: Set<Permission>? = nil) throws -> (TestUser, Browser) {
        let browser = Browser(self)
        let user = try TestUser.enrolled(self, browser)
        try app.database.write { db in
            let userID = try db.scalar("SELECT id FROM users WHERE email = ?", user.email, as: Int64.self)!
            _ = try OrganizationsStore().insertMembership(publicID: PublicID.make("mem"), organizationID: try orgRowID(org), userID: userID,
                                                          role: role, permissions: permissions ?? role.preset ?? [], now: clock.now, on: db)
        }
        return (user, browser)
    }

    func scope(_ org: String, _ env: Environment = .sandbox) throws -> MoneyScope {
        MoneyScope(organizationID: try orgRowID(org), environment: env)
    }

    /// Money in the Sandbox: a pay-in created and moved to paid by hand in one write (so the
    /// simulator, finding it paid, leaves it alone).
    func fund(_ org: String, _ major: String, _ code: String = "EUR") throws {
        let amount = try Amount.parse(major, currency: Currency(code: code)!)
        let scope = try scope(org)
        try app.database.write { db in
            let t = try app.transactions.create(.init(type: .payin, amount: amount), in: scope, by: .operator, on: db)
            let p = try app.transactions.move(t, to: .processing, by: .operator, on: db)
            try app.transactions.move(p, to: .paid, by: .operator, on: db)
        }
    }

    func balance(_ org: String, _ code: String = "EUR") throws -> (available: Int64, pending: Int64) {
        let scope = try scope(org)
        let a = try app.database.read { try app.transactions.account(scope, currency: Currency(code: code)!, on: $0) }
        return (a?.available ?? 0, a?.pending ?? 0)
    }

    func payoutRow(_ publicID: String) throws -> (status: String, transactionID: Int64?, decidedBy: String?) {
        try app.database.read { db in
            let r = try db.queryOne("SELECT status, transaction_id, decided_by_name FROM payouts WHERE public_id = ?", publicID)!
            return (try r.string(0), try r.optionalInt64(1), try r.optionalString(2))
        }
    }

    func events(of objectID: String) throws -> [String] {
        try app.database.read { try $0.query("SELECT type FROM events WHERE object_id = ? ORDER BY id", objectID).map { try $0.string(0) } }
    }

    func audit(of subject: String) throws -> [String] {
        try app.database.read { try $0.query("SELECT action FROM audit_events WHERE subject = ? ORDER BY id", subject).map { try $0.string(0) } }
    }

    /// Runs due jobs until `done` holds (the portal's own worker may have taken a job first;
    /// then this waits for it, a few seconds at most).
    func runJobs(until done: () throws -> Bool) throws -> Bool {
        for _ in 0..<200 {
            _ = try app.jobs.runDue()
            if try done() { return true }
            Thread.sleep(forTimeInterval: 0.05)
        }
        return false
    }
}

extension Browser {
    /// Prepares a payout through the form; returns the response (303 to the payout on success).
    func preparePayout(_ org: String, amount: String, currency: String = "EUR", name: String = "Ada Obi", method: String = "bank",
                       account: String = "GB82 WEST 1234 5698 7654 32", country: String = "GB", reference: String = "INV-2026-001",
                       env: String = "sandbox") throws -> TestResponse {
        try submit("/orgs/\(org)/\(env)/payouts/new", to: "/orgs/\(org)/\(env)/payouts/new", [
            ("beneficiary_name", name), ("method", method), ("account", account), ("country", country), ("amount", amount),
            ("currency", currency), ("reference", reference)])
    }
}

extension TestResponse {
    /// The payout id a successful preparation redirected to.
    var payoutID: String? {
        guard status == 303, let l = self["Location"], let r = l.range(of: "/payouts/po_") else { return nil }
        return "po_" + l[r.upperBound...]
    }
}

@Suite("Payouts: four eyes, TOTP, holds, expiry")
struct PayoutsTests {
    @Test func theWholeLifecycleWithTwoMembers() throws {
        let (portal, ob, owner, org) = try TestPortal.withOwner()
        let (manager, mb) = try portal.member(of: org, role: .manager)
        try portal.fund(org, "1000.00")
        let base = "/orgs/\(org)/sandbox/payouts"

        // The form shows the balance to pay out of.
        let form = try mb.get("\(base)/new")
        #expect(form.status == 200)
        #expect(form.text.contains("€1,000.00"))

        // The Manager prepares: the amount is held at once.
        let p1 = try #require(try mb.preparePayout(org, amount: "250.00").payoutID)
        #expect(try portal.balance(org) == (75000, 25000))
        #expect(try portal.payoutRow(p1).status == "pending_authorization")
        #expect(try portal.events(of: p1) == ["payout.created"])
        #expect(try portal.audit(of: p1) == ["payout.created"])
        #expect(try portal.lastMail(to: manager.email)?.subject.contains("You prepared a payout of €250.00") == true)
        let page = try mb.get("\(base)/\(p1)")
        #expect(page.status == 200)
        #expect(page.text.contains("•••• 5432") && !page.text.contains("GB82WEST12345698765432"), "the account is masked")
        #expect(page.text.contains("You prepared this payout"))
        #expect(!page.text.contains("name=\"code\""), "no authorize form for the one who prepared it")

        // The Manager cannot authorize their own, even with a right code.
        portal.clock.advance(seconds: 30)
        let own = try mb.post("\(base)/\(p1)/authorize", [("code", manager.code(portal))], csrfFrom: page)
        #expect(own.status == 403)
        #expect(try portal.payoutRow(p1).status == "pending_authorization")

        // The Owner authorizes: a wrong code, then a replayed one, are refused beside the field.
        let ownerPage = try ob.get("\(base)/\(p1)")
        #expect(ownerPage.text.contains("name=\"code\"") && ownerPage.text.contains("Reject payout"))
        let wrong = try ob.post("\(base)/\(p1)/authorize", [("code", owner.code(portal) == "000000" ? "111111" : "000000")], csrfFrom: ownerPage)
        #expect(wrong.status == 422)
        #expect(wrong.text.contains("That code is not right"))
        #expect(try portal.payoutRow(p1).status == "pending_authorization")
        portal.clock.advance(seconds: 30)
        let code = owner.code(portal)
        let ok = try ob.post("\(base)/\(p1)/authorize", [("code", code)], csrfFrom: ownerPage)
        #expect(ok.status == 303)
        let authorized = try portal.payoutRow(p1)
        #expect(authorized.status == "authorized" && authorized.transactionID != nil && authorized.decidedBy == owner.name)
        let txn = try #require(try portal.app.database.read { try portal.app.transactions.find(id: authorized.transactionID!, on: $0) })
        #expect(txn.type == .payout && txn.amount.minor == 25000 && txn.payoutID != nil && txn.recipient.last4 == "5432")
        #expect(try portal.balance(org).available == 75000, "the hold became the transaction's: nothing released, nothing taken twice")
        #expect(try portal.events(of: p1) == ["payout.created", "payout.authorized"])
        #expect(try portal.audit(of: p1) == ["payout.created", "payout.authorized"])
        #expect(try portal.lastMail(to: manager.email)?.subject.contains("authorized your payout") == true)
        let after = try ob.get("\(base)/\(p1)")
        #expect(after.text.contains(txn.publicID) && !after.text.contains("name=\"code\""))

        // The same code again, on another payout: already used.
        let p2 = try #require(try mb.preparePayout(org, amount: "100.00", reference: "INV-2").payoutID)
        let replay = try ob.post("\(base)/\(p2)/authorize", [("code", code)], csrfFrom: ownerPage)
        #expect(replay.status == 422)
        #expect(replay.text.contains("already used"))
        #expect(try portal.payoutRow(p2).status == "pending_authorization")

        // The Owner prepares one: the Owner cannot authorize it either; the Manager can.
        let p3 = try #require(try ob.preparePayout(org, amount: "50.00", method: "mobile", account: "+254 712 345 678", country: "KE", reference: "Refund 7").payoutID)
        portal.clock.advance(seconds: 30)
        #expect(try ob.post("\(base)/\(p3)/authorize", [("code", owner.code(portal))], csrfFrom: ownerPage).status == 403)
        let m3 = try mb.get("\(base)/\(p3)")
        #expect(m3.text.contains("name=\"code\""))
        #expect(try mb.post("\(base)/\(p3)/authorize", [("code", manager.code(portal))], csrfFrom: m3).status == 303)
        #expect(try portal.payoutRow(p3).status == "authorized")
        #expect(try portal.lastMail(to: owner.email)?.subject.contains("authorized your payout of €50.00") == true)

        // Rejecting needs a reason, asks to confirm, and releases the hold.
        #expect(try portal.balance(org).available == 60000)
        let noReason = try ob.post("\(base)/\(p2)/reject", [("reason", "  "), ("review", "1")], csrfFrom: ownerPage)
        #expect(noReason.status == 422 && noReason.text.contains("Say why you reject"))
        let review = try ob.post("\(base)/\(p2)/reject", [("reason", "Wrong invoice"), ("review", "1")], csrfFrom: ownerPage)
        #expect(review.status == 200 && review.text.contains("Reject this payout?") && review.text.contains("Wrong invoice"))
        #expect(try portal.payoutRow(p2).status == "pending_authorization", "the review step changes nothing")
        let rejected = try ob.post("\(base)/\(p2)/reject", [("reason", "Wrong invoice")], csrfFrom: review)
        #expect(rejected.status == 303)
        #expect(try portal.payoutRow(p2).status == "rejected")
        #expect(try portal.balance(org).available == 70000)
        #expect(try portal.events(of: p2) == ["payout.created", "payout.rejected"])
        #expect(try portal.lastMail(to: manager.email).map { $0.subject.contains("rejected") && $0.text.contains("Wrong invoice") } == true)
        // Decided is decided.
        portal.clock.advance(seconds: 30)
        #expect(try ob.post("\(base)/\(p2)/authorize", [("code", owner.code(portal))], csrfFrom: ownerPage).status == 409)

        // Nobody decides within 7 days: it expires on the job worker, and the hold comes back.
        let p4 = try #require(try mb.preparePayout(org, amount: "20.00", reference: "Late").payoutID)
        #expect(try portal.balance(org).available == 68000)
        portal.clock.advance(seconds: Payouts.lifetime + 1)
        #expect(try portal.runJobs { try portal.payoutRow(p4).status == "expired" })
        #expect(try portal.balance(org).available == 70000)
        #expect(try portal.events(of: p4) == ["payout.created", "payout.expired"])
        #expect(try portal.lastMail(to: manager.email)?.subject.contains("expired") == true)
        let expiredBy = try portal.app.database.read {
            try $0.scalar("SELECT user_agent FROM audit_events WHERE subject = ? AND action = 'payout.expired'", p4, as: String.self)
        }
        #expect(expiredBy == "Payout expiry")
        // Running the expiry again changes nothing.
        let pid = try portal.app.database.read { try $0.scalar("SELECT id FROM payouts WHERE public_id = ?", p4, as: Int64.self)! }
        _ = try portal.app.database.write { try portal.app.jobs.enqueue(PayoutExpiry.kind, payload: String(pid), on: $0) }
        _ = try portal.runJobs { true }
        #expect(try portal.balance(org).available == 70000)
        #expect(try portal.events(of: p4) == ["payout.created", "payout.expired"])
        // (A week later both must sign in again.)
        _ = try owner.logIn(portal, ob)
        _ = try manager.logIn(portal, mb)
        let late = try ob.get("\(base)/\(p4)")
        #expect(late.status == 200 && late.text.contains("Expired") && !late.text.contains("name=\"code\""))
        portal.clock.advance(seconds: 30)
        #expect(try mb.post("\(base)/\(p4)/authorize", [("code", manager.code(portal))], csrfFrom: late).status == 403, "the creator, still")
        #expect(try ob.post("\(base)/\(p4)/authorize", [("code", owner.code(portal))], csrfFrom: late).status == 409)

        // What webhooks will deliver: the payout as the API shows it, the account by its last 4.
        let data = try portal.app.database.read {
            try $0.scalar("SELECT data FROM events WHERE object_id = ? AND type = 'payout.authorized'", p1, as: String.self)!
        }
        let json = try JSONSerialization.jsonObject(with: Data(data.utf8)) as! [String: Any]
        #expect(json["object"] as? String == "payout" && json["status"] as? String == "authorized" && json["amount"] as? Int == 25000)
        #expect(json["transaction"] as? String == txn.publicID && json["amount_decimal"] as? String == "250.00")
        #expect((json["beneficiary"] as? [String: Any])?["account_last4"] as? String == "5432" && !data.contains("GB82WEST"))
        // The audit log reads each step as a sentence.
        let logs = try ob.get("/orgs/\(org)/logs")
        #expect(logs.text.contains("prepared payout \(p1) of €250.00") && logs.text.contains("authorized payout \(p1)"))
        #expect(logs.text.contains("rejected payout \(p2)") && logs.text.contains("expired unauthorized after 7 days"))

        // The list shows them all, the ledger balances.
        let list = try ob.get(base)
        #expect(list.status == 200 && [p1, p2, p3, p4].allSatisfy { list.text.contains($0) })
        #expect(try portal.app.database.read { try portal.app.transactions.unbalancedAccounts(try portal.scope(org), on: $0) }.isEmpty)
    }

    @Test func aPayoutAboveTheBalanceIsRefusedBesideTheAmountKeepingWhatWasTyped() throws {
        let (portal, ob, _, org) = try TestPortal.withOwner()
        try portal.fund(org, "100.00")
        let r = try ob.preparePayout(org, amount: "100.01", name: "Grace Hopper", account: "DE89 3704 0044 0532 0130 00", country: "DE", reference: "Too much")
        #expect(r.status == 422)
        #expect(r.text.contains("id=\"amount-error\">This is more than the available balance of €100.00"))
        #expect(r.text.contains("value=\"100.01\"") && r.text.contains("value=\"Grace Hopper\"") && r.text.contains("value=\"DE89 3704 0044 0532 0130 00\""))
        #expect(r.text.contains("value=\"Too much\"") && r.text.contains("<option value=\"DE\" selected>"))
        #expect(try portal.balance(org) == (10000, 0))
        #expect(try portal.app.database.read { try $0.scalar("SELECT count(*) FROM payouts", as: Int.self) } == 0)
        // Exactly the balance is fine.
        #expect(try ob.preparePayout(org, amount: "100.00", account: "DE89 3704 0044 0532 0130 00", country: "DE").payoutID != nil)
        #expect(try portal.balance(org) == (0, 10000))
    }

    @Test func badDetailsAreRefusedBesideEachField() throws {
        let (portal, ob, _, org) = try TestPortal.withOwner()
        try portal.fund(org, "100.00")
        let r = try ob.preparePayout(org, amount: "1.234", name: "", account: "GB82 WEST 1234 5698 7654 33", country: "XX", reference: "")
        #expect(r.status == 422)
        #expect(r.text.contains("id=\"account-error\">This IBAN&#39;s check digits do not match") || r.text.contains("id=\"account-error\">This IBAN's check digits do not match"))
        #expect(r.text.contains("id=\"beneficiary_name-error\">"))
        #expect(r.text.contains("id=\"country-error\">"))
        #expect(r.text.contains("id=\"amount-error\">EUR has 2 decimal places"))
        #expect(r.text.contains("id=\"reference-error\">"))
        #expect(r.text.contains("value=\"GB82 WEST 1234 5698 7654 33\"") && r.text.contains("value=\"1.234\""))
        let phone = try ob.preparePayout(org, amount: "5", method: "mobile", account: "0712 345 678", country: "KE")
        #expect(phone.status == 422 && phone.text.contains("id=\"account-error\">Enter the number in international format"))
        let currency = try ob.preparePayout(org, amount: "5", currency: "XYZ")
        #expect(currency.status == 422 && currency.text.contains("id=\"currency-error\">"))
        #expect(try portal.balance(org) == (10000, 0))
    }

    @Test func manyThreadsPreparingPayoutsNeverOverdraw() throws {
        let (portal, ob, _, org) = try TestPortal.withOwner()
        try portal.fund(org, "100.00")
        let path = "/orgs/\(org)/sandbox/payouts/new"
        let csrf = Browser.csrf(in: try ob.get(path))!
        let session = ob.cookies
        let results = Mutex<[Int]>([])
        DispatchQueue.concurrentPerform(iterations: 24) { i in
            let b = Browser(portal)
            b.cookies = session
            let r = try? b.post(path, [("beneficiary_name", "Thread \(i)"), ("method", "bank"), ("account", "NL91ABNA0417164300"),
                                       ("country", "NL"), ("amount", "7.00"), ("currency", "EUR"), ("reference", "T\(i)")], csrf: csrf)
            results.withLock { $0.append(r?.status ?? 0) }
        }
        let statuses = results.withLock { $0 }
        #expect(statuses.filter { $0 == 303 }.count == 14, "\(statuses)")
        #expect(statuses.filter { $0 == 422 }.count == 10, "\(statuses)")
        #expect(try portal.balance(org) == (200, 9800))
        #expect(try portal.app.database.read { try $0.scalar("SELECT count(*) FROM payouts", as: Int.self) } == 14)
        #expect(try portal.app.database.read { try portal.app.transactions.unbalancedAccounts(try portal.scope(org), on: $0) }.isEmpty)
    }

    @Test func twoAuthorizersAtOnceOnlyOneWins() throws {
        let (portal, ob, _, org) = try TestPortal.withOwner()
        let (a, ab) = try portal.member(of: org, role: .manager)
        let (b, bb) = try portal.member(of: org, role: .manager)
        try portal.fund(org, "100.00")
        let p = try #require(try ob.preparePayout(org, amount: "60.00").payoutID)
        let path = "/orgs/\(org)/sandbox/payouts/\(p)"
        let (pa, pb) = (try ab.get(path), try bb.get(path))
        portal.clock.advance(seconds: 30)
        let (ca, cb) = (a.code(portal), b.code(portal))
        let sides = [(ab.cookies, Browser.csrf(in: pa)!, ca), (bb.cookies, Browser.csrf(in: pb)!, cb)]
        let results = Mutex<[Int]>([])
        DispatchQueue.concurrentPerform(iterations: 2) { i in
            let b = Browser(portal)
            b.cookies = sides[i].0
            let r = try? b.post("\(path)/authorize", [("code", sides[i].2)], csrf: sides[i].1)
            results.withLock { $0.append(r?.status ?? 0) }
        }
        #expect(results.withLock { $0.sorted() } == [303, 409])
        #expect(try portal.app.database.read { try $0.scalar("SELECT count(*) FROM transactions WHERE type = 'payout'", as: Int.self) } == 1)
        #expect(try portal.events(of: p) == ["payout.created", "payout.authorized"])
        #expect(try portal.balance(org).available == 4000)
    }

    @Test func wrongCodesAreThrottledLikeAnyConfirmation() throws {
        let (portal, ob, owner, org) = try TestPortal.withOwner()
        portal.clock.stop() // the throttle's first delay is 2 s: a slow second between guesses must not end it
        let (_, mb) = try portal.member(of: org, role: .manager)
        try portal.fund(org, "10.00")
        let p = try #require(try mb.preparePayout(org, amount: "1.00").payoutID)
        let path = "/orgs/\(org)/sandbox/payouts/\(p)"
        let page = try ob.get(path)
        portal.clock.advance(seconds: 30)
        let right = owner.code(portal)
        let wrong = right == "000000" ? "111111" : "000000"
        for _ in 0..<5 {
            #expect(try ob.post("\(path)/authorize", [("code", wrong)], csrfFrom: page).status == 422)
        }
        // Guessing on: even the right code now waits its turn, and nothing is authorized.
        let throttled = try ob.post("\(path)/authorize", [("code", right)], csrfFrom: page)
        #expect(throttled.status == 429 && throttled["Retry-After"] != nil)
        #expect(try portal.payoutRow(p).status == "pending_authorization")
        #expect(try portal.audit(of: owner.email).contains("reauth.throttled"))
        portal.clock.advance(seconds: 60)
        #expect(try ob.post("\(path)/authorize", [("code", owner.code(portal))], csrfFrom: page).status == 303)
        #expect(try portal.payoutRow(p).status == "authorized")
    }

    @Test func thePageSaysSoWhenNobodyElseCanAuthorize() throws {
        let (portal, ob, _, org) = try TestPortal.withOwner()
        try portal.fund(org, "10.00")
        let p = try #require(try ob.preparePayout(org, amount: "1.00").payoutID)
        let path = "/orgs/\(org)/sandbox/payouts/\(p)"
        #expect(try ob.get(path).text.contains("Nobody but the member who prepared this payout can authorize payouts"))
        #expect(try ob.get("/orgs/\(org)/sandbox/payouts/new").text.contains("Nobody else in Acme can authorize payouts"))
        // An Employee (prepares, never authorizes) and a Developer do not count; a Manager does.
        _ = try portal.member(of: org, role: .employee)
        _ = try portal.member(of: org, role: .developer)
        #expect(try ob.get(path).text.contains("Nobody but the member who prepared this payout"))
        _ = try portal.member(of: org, role: .manager)
        #expect(try !ob.get(path).text.contains("Nobody but the member who prepared this payout"))
        #expect(try !ob.get("/orgs/\(org)/sandbox/payouts/new").text.contains("Nobody else in Acme can authorize payouts"))
    }

    @Test func everyNewRouteOpensExactlyToItsPermissions() throws {
        let (portal, ob, _, org) = try TestPortal.withOwner()
        let (_, preparer) = try portal.member(of: org, role: .manager)
        try portal.fund(org, "100.00")
        let p = try #require(try preparer.preparePayout(org, amount: "10.00").payoutID)
        let base = "/orgs/\(org)/sandbox/payouts"
        let view: Set<Permission> = [.transactionsRead, .payoutsCreate, .payoutsAuthorize]
        // Route, who may, and the fields (refused input, so a permitted post changes nothing but answers 422).
        let routes: [(String, String, Set<Permission>, [(String, String)])] = [
            ("GET", base, view, []),
            ("GET", "\(base)/new", [.payoutsCreate], []),
            ("POST", "\(base)/new", [.payoutsCreate], [("amount", "")]),
            ("GET", "\(base)/\(p)", view, []),
            ("POST", "\(base)/\(p)/authorize", [.payoutsAuthorize], [("code", "000000")]),
            ("POST", "\(base)/\(p)/reject", [.payoutsAuthorize], [("reason", "")]),
        ]
        var members: [(String, Set<Permission>, Browser)] = [("owner", Set(Permission.allCases), ob)]
        members.append(("none", [], try PermissionMatrixTests.member(portal, org: org, role: .custom, permissions: [], tag: "none")))
        for perm in Permission.allCases {
            members.append((perm.rawValue, [perm], try PermissionMatrixTests.member(portal, org: org, role: .custom, permissions: [perm], tag: perm.rawValue)))
        }
        for (label, held, browser) in members {
            let home = try browser.get("/orgs/\(org)/sandbox")
            for (method, path, needs, fields) in routes {
                let r = method == "GET" ? try browser.get(path) : try browser.post(path, fields, csrfFrom: home)
                if !held.isDisjoint(with: needs) {
                    #expect(r.status == (method == "GET" ? 200 : 422), "\(label): \(method) \(path) answered \(r.status)")
                } else {
                    #expect(r.status == 403, "\(label): \(method) \(path) answered \(r.status), not 403")
                }
            }
            let sees = !held.isDisjoint(with: [.payoutsCreate, .payoutsAuthorize])
            #expect(home.text.contains("href=\"\(base)\"") == sees, "\(label): the Payouts entry of the bar")
        }
        #expect(try portal.payoutRow(p).status == "pending_authorization")

        // A Developer reads the list (they see transactions) but has no payout action anywhere.
        let (_, dev) = try portal.member(of: org, role: .developer)
        let devHome = try dev.get("/orgs/\(org)/sandbox")
        #expect(!devHome.text.contains("href=\"\(base)\""), "no Payouts in a Developer's bar")
        let devList = try dev.get(base)
        #expect(devList.status == 200 && !devList.text.contains("New payout") && !devList.text.contains("\(base)/new"))
        let devPage = try dev.get("\(base)/\(p)")
        #expect(devPage.status == 200 && !devPage.text.contains("name=\"code\"") && !devPage.text.contains("name=\"reason\""))
        #expect(try dev.get("\(base)/new").status == 403)
        #expect(try dev.post("\(base)/new", [("amount", "1")], csrfFrom: devHome).status == 403)
        #expect(try dev.post("\(base)/\(p)/authorize", [("code", "000000")], csrfFrom: devHome).status == 403)
        #expect(try dev.post("\(base)/\(p)/reject", [("reason", "no")], csrfFrom: devHome).status == 403)

        // Another organization's payout, a missing one, a malformed one: the same 404.
        let (portal2Owner, other) = (try TestUser.enrolled(portal, Browser(portal)), Browser(portal))
        _ = try portal2Owner.logIn(portal, other)
        let otherOrg = try portal2Owner.createOrganization(portal, other)
        try portal.fund(otherOrg, "10.00")
        let theirs = try #require(try other.preparePayout(otherOrg, amount: "1.00").payoutID)
        for id in [theirs, "po_aaaaaaaaaaaaaaaa", "po_x", "txn_aaaaaaaaaaaaaaaa"] {
            #expect(try ob.get("\(base)/\(id)").status == 404, "\(id)")
            #expect(try ob.post("\(base)/\(id)/authorize", [("code", "000000")], csrfFrom: try ob.get(base)).status == 404, "\(id)")
            #expect(try ob.post("\(base)/\(id)/reject", [("reason", "x")], csrfFrom: try ob.get(base)).status == 404, "\(id)")
        }
        // A stranger gets 404 for the whole organization.
        #expect(try other.get(base).status == 404)
        #expect(try other.get("\(base)/\(p)").status == 404)
        #expect(try portal.payoutRow(theirs).status == "pending_authorization")
    }

    @Test func aDeveloperCannotBeGivenPayoutPermissions() throws {
        let (portal, ob, _, org) = try TestPortal.withOwner()
        let (_, dev) = try portal.member(of: org, role: .developer)
        let memberID = try portal.app.database.read {
            try $0.scalar("SELECT public_id FROM memberships WHERE organization_id = ? AND role = 'developer'", try portal.orgRowID(org), as: String.self)!
        }
        let path = "/orgs/\(org)/team/members/\(memberID)"
        let form = try ob.get(path)
        #expect(form.text.contains("A Developer never creates or authorizes payouts"))
        // Ticking the payout boxes with the Developer role gives nothing: the preset counts.
        let r = try ob.post(path, [("role", "developer"), ("permissions", "payouts.create"), ("permissions", "payouts.authorize"),
                                   ("version", Browser.field("version", in: form.text) ?? "")], csrfFrom: form)
        #expect(r.status == 303)
        let stored = try portal.app.database.read {
            try $0.scalar("SELECT permissions FROM memberships WHERE public_id = ?", memberID, as: String.self)!
        }
        #expect(!stored.contains("payouts"))
        #expect(try dev.get("/orgs/\(org)/sandbox/payouts/new").status == 403)
        // Even a Developer whose stored permissions were changed behind the team's back is refused.
        try portal.app.database.write { try $0.execute("UPDATE memberships SET permissions = 'payouts.create payouts.authorize transactions.read' WHERE public_id = ?", memberID) }
        #expect(try dev.get("/orgs/\(org)/sandbox/payouts/new").status == 403)
        let home = try dev.get("/orgs/\(org)/sandbox")
        #expect(!home.text.contains("/sandbox/payouts\""))
    }

    @Test func theListPutsWaitingPayoutsFirstAndPages() throws {
        let (portal, ob, _, org) = try TestPortal.withOwner()
        let (_, mb) = try portal.member(of: org, role: .manager)
        let base = "/orgs/\(org)/sandbox/payouts"
        let empty = try ob.get(base)
        #expect(empty.status == 200 && empty.text.contains("No payouts in Sandbox yet") && empty.text.contains("\(base)/new"))
        try portal.fund(org, "1000.00")
        var ids: [String] = []
        for i in 0..<27 {
            ids.append(try #require(try mb.preparePayout(org, amount: "1.00", reference: "R\(i)").payoutID))
            portal.clock.advance(seconds: 1)
        }
        // The oldest one is rejected: it goes after every waiting one.
        let first = try ob.get("\(base)/\(ids[0])")
        #expect(try ob.post("\(base)/\(ids[0])/reject", [("reason", "Duplicate")], csrfFrom: first).status == 303)
        let page1 = try ob.get(base)
        #expect(page1.text.contains(ids[1]) && !page1.text.contains(ids[0]) && page1.text.contains("\(base)?page=2"))
        let order = ids[1...].map { page1.text.range(of: $0)?.lowerBound }.compactMap { $0 }
        #expect(order.count == 25 && order == order.sorted(), "waiting payouts, oldest (first to expire) first")
        let page2 = try ob.get("\(base)?page=2")
        #expect(page2.text.contains(ids[26]) && page2.text.contains(ids[0]) && page2.text.contains("Rejected"))
        #expect(page2.text.range(of: ids[26])!.lowerBound < page2.text.range(of: ids[0])!.lowerBound)
        // Any page number a URL holds answers a page, never an error.
        for n in ["3", "0", "-4", "abc", "9223372036854775807", "99999999999999999999"] {
            let r = try ob.get("\(base)?page=\(n)")
            #expect(r.status == 200, "page=\(n): \(r.status)")
        }
        #expect(try ob.get("\(base)?page=3").text.contains("There are no payouts on this page"))
    }
}
