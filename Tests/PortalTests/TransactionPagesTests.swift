import Foundation
import Testing
@testable import Portal
import Web

/// The transactions list (filters, keyset pages, dates in the viewer's zone, bad input) and a
/// transaction's page, over real sockets.
@Suite("Transactions: the list and a transaction's page")
struct TransactionPagesTests {
    @Test func keysetPagesGoForwardAndBackOverMoreThanAPage() throws {
        let (portal, ob, _, org) = try TestPortal.withOwner()
        // Production: nothing moves by itself, so the status filter's rows hold still.
        try portal.enableProduction(org)
        let base = "/orgs/\(org)/production"
        let funding = try portal.makeTransaction(org, .payin, "100000.00", env: .production)
        try portal.moveTransaction(try portal.moveTransaction(funding, .processing), .paid)
        var made: [String] = [funding.publicID]
        // Several rows share a second: the id breaks the tie, so no row is skipped or repeated.
        for i in 0..<60 {
            let t = try portal.makeTransaction(org, i % 4 == 0 ? .refund : .payin, "\(i + 1).00", env: .production, externalID: "ord-\(i)")
            made.append(t.publicID)
            if i % 3 == 2 { portal.clock.advance(seconds: 7) }
            if i == 0 { try portal.moveTransaction(t, .processing) }
        }
        let newestFirst = Array(made.reversed())
        let first = try ob.get("\(base)/transactions")
        #expect(first.status == 200)
        #expect(first.transactionIDs(base: base) == Array(newestFirst[0..<25]))
        #expect(!first.text.contains("rel=\"prev\""))
        let next1 = try #require(link(first, "next"))
        #expect(!next1.contains("OFFSET") && next1.contains("before="))
        let second = try ob.get(next1)
        #expect(second.transactionIDs(base: base) == Array(newestFirst[25..<50]))
        let third = try ob.get(try #require(link(second, "next")))
        #expect(third.transactionIDs(base: base) == Array(newestFirst[50..<61]))
        #expect(link(third, "next") == nil)
        // And back: the same pages, in the same order.
        let back2 = try ob.get(try #require(link(third, "prev")))
        #expect(back2.transactionIDs(base: base) == Array(newestFirst[25..<50]))
        let back1 = try ob.get(try #require(link(back2, "prev")))
        #expect(back1.transactionIDs(base: base) == Array(newestFirst[0..<25]))
        #expect(link(back1, "prev") == nil)

        // Filters are kept in the pager's links and in the form.
        let refunds = try ob.get("\(base)/transactions?type=refund")
        #expect(refunds.transactionIDs(base: base).count == 15)
        #expect(refunds.text.contains("<option value=\"refund\" selected>Refund</option>"))
        let payins = try ob.get("\(base)/transactions?type=payin&status=pending")
        #expect(payins.transactionIDs(base: base).count == 25)
        let more = try #require(link(payins, "next"))
        #expect(more.contains("type=payin") && more.contains("status=pending"))
        #expect(try ob.get(more).transactionIDs(base: base).count == 20)
        let processing = try ob.get("\(base)/transactions?status=processing")
        #expect(processing.transactionIDs(base: base) == [made[1]])
    }

    @Test func externalIDIsOneLookupAndEmptyResultsSaySo() throws {
        let (portal, ob, _, org) = try TestPortal.withOwner()
        let base = "/orgs/\(org)/sandbox"
        let t = try portal.makeTransaction(org, .payin, "12.16", externalID: "inv-2026-001")
        try portal.makeTransaction(org, .payin, "13.16", externalID: "inv-2026-002")
        let found = try ob.get("\(base)/transactions?external_id=inv-2026-001")
        #expect(found.transactionIDs(base: base) == [t.publicID])
        #expect(found.text.contains("value=\"inv-2026-001\""))
        // The other filters still hold for the one row the id finds.
        let day = String(ISO8601DateFormatter().string(from: Date(timeIntervalSince1970: TimeInterval(t.createdAt))).prefix(10))
        #expect(try ob.get("\(base)/transactions?external_id=inv-2026-001&status=\(t.status.rawValue)&type=payin&from=\(day)&to=\(day)")
            .transactionIDs(base: base) == [t.publicID])
        for other in ["status=\(t.status == .paid ? "failed" : "paid")", "type=payout", "from=2099-01-01", "to=2000-01-01"] {
            let r = try ob.get("\(base)/transactions?external_id=inv-2026-001&\(other)")
            #expect(r.status == 200 && r.transactionIDs(base: base).isEmpty && r.text.contains("No transaction matches these filters"), "\(other)")
        }
        // What an integrator sent is text, never markup, in every list and page.
        let odd = try portal.makeTransaction(org, .payin, "14.16", externalID: "<b>&\"x", sender: Party(name: "<img src=x onerror=alert(1)>"))
        for path in [base, "\(base)/transactions", "\(base)/transactions/\(odd.publicID)"] {
            let page = try ob.get(path)
            #expect(!page.text.contains("<img src=x") && !page.text.contains("<b>&"), "\(path)")
            #expect(page.text.contains("&lt;img src=x onerror=alert(1)&gt;") && page.text.contains("&lt;b&gt;&amp;&quot;x"), "\(path)")
        }
        let none = try ob.get("\(base)/transactions?external_id=nope")
        #expect(none.status == 200 && none.transactionIDs(base: base).isEmpty)
        #expect(none.text.contains("No transaction matches these filters"))
        // The dashboard's search form leads here with the same field names.
        let dash = try ob.get(base)
        #expect(dash.text.contains("action=\"\(base)/transactions\"") && dash.text.contains("name=\"external_id\"")
                && dash.text.contains("name=\"from\"") && dash.text.contains("name=\"to\""))
        // The plan is an index lookup.
        let plan = try portal.app.database.read { db in
            try db.query("EXPLAIN QUERY PLAN SELECT id FROM transactions WHERE organization_id = 1 AND environment = 'sandbox' AND external_id = 'x'")
                .map { try $0.string(3) }.joined(separator: " ")
        }
        #expect(plan.contains("transactions_by_external_id"), "\(plan)")
    }

    @Test func datesAreDaysInTheViewersTimeZone() throws {
        let (portal, ob, owner, org) = try TestPortal.withOwner()
        let base = "/orgs/\(org)/sandbox"
        let t = try portal.makeTransaction(org, .payin, "1.16")
        // 2026-11-30 12:30 UTC is already 1 December in Auckland (UTC+13 in summer).
        try portal.app.database.write { _ = try $0.execute("UPDATE transactions SET created_at = ? WHERE id = ?", Int64(1_796_041_800), t.id) }
        func ids(_ q: String) throws -> [String] { try ob.get("\(base)/transactions?\(q)").transactionIDs(base: base) }
        #expect(try ids("from=2026-11-30&to=2026-11-30") == [t.publicID])
        #expect(try ids("from=2026-12-01&to=2026-12-01").isEmpty)
        try portal.setTimeZone(owner.email, "Pacific/Auckland")
        #expect(try ids("from=2026-12-01&to=2026-12-01") == [t.publicID])
        #expect(try ids("from=2026-11-30&to=2026-11-30").isEmpty)
        #expect(try ids("from=2026-12-01") == [t.publicID])
        #expect(try ids("to=2026-11-30").isEmpty)
        let page = try ob.get("\(base)/transactions/\(t.publicID)")
        #expect(page.text.contains("1 Dec 2026, 01:30 (Pacific/Auckland)"))
    }

    @Test func badInputIsAnsweredBesideTheFieldNeverA500() throws {
        let (portal, ob, _, org) = try TestPortal.withOwner()
        let base = "/orgs/\(org)/sandbox"
        let t = try portal.makeTransaction(org, .payin, "2.16")
        let bad = try ob.get("\(base)/transactions?from=2026-13-45&to=yesterday&status=lost&type=gift&external_id=a%20b")
        #expect(bad.status == 422)
        #expect(bad.text.contains("<p class=\"error\" id=\"from-error\">Enter a date as YYYY-MM-DD, for example 2027-01-31.</p>"))
        #expect(bad.text.contains("<p class=\"error\" id=\"to-error\">"))
        #expect(bad.text.contains("<p class=\"error\" id=\"status-error\">Choose a status from the list.</p>"))
        #expect(bad.text.contains("<p class=\"error\" id=\"type-error\">Choose a type from the list.</p>"))
        #expect(bad.text.contains("<p class=\"error\" id=\"external_id-error\">"))
        #expect(bad.text.contains("value=\"2026-13-45\"") && bad.text.contains("value=\"yesterday\""))
        let reversed = try ob.get("\(base)/transactions?from=2026-12-10&to=2026-12-01")
        #expect(reversed.status == 422 && reversed.text.contains("The end date is before the start date."))
        // A cursor that is not one, or both directions at once, or past the end: the first page, said so.
        for cursor in ["before=abc", "after=1_2_3", "before=-5_1", "before=99999999999999999999_1", "before=1_1&after=2_2", "before=0_0"] {
            let r = try ob.get("\(base)/transactions?\(cursor)")
            #expect(r.status == 200, "\(cursor)")
            #expect(r.text.contains("starts again from the newest transactions"), "\(cursor)")
            #expect(r.transactionIDs(base: base) == [t.publicID], "\(cursor)")
        }
    }

    @Test func aTransactionPageShowsPartiesHistoryErrorAndMetadata() throws {
        let (portal, ob, owner, org) = try TestPortal.withOwner()
        try portal.enableProduction(org)
        try portal.setTimeZone(owner.email, "Africa/Lagos")
        let t = try portal.makeTransaction(org, .payin, "1234.50", env: .production, externalID: "ext-77",
                                           sender: Party(name: "Chidi Okafor", country: "NG", method: .bank, account: "NG12 3456 7890 1234 4321"),
                                           recipient: Party(name: "Acme", country: "NL", method: .mobile, account: "+31612345678"),
                                           metadata: ["order": "A-1", "channel": "web"])
        try portal.moveTransaction(try portal.moveTransaction(t, .processing), .failed, error: ("recipient_account_invalid", "Recipient's bank rejected the account number"))
        let page = try ob.get("/orgs/\(org)/production/transactions/\(t.publicID)")
        #expect(page.status == 200)
        #expect(page.text.contains("Pay-in of €1,234.50"))
        #expect(page.text.contains("Chidi Okafor") && page.text.contains("•••• 4321") && page.text.contains("•••• 5678"))
        #expect(!page.text.contains("7890"))
        #expect(page.text.contains("Recipient&#39;s bank rejected the account number") || page.text.contains("Recipient's bank rejected the account number"))
        #expect(page.text.contains("<code>recipient_account_invalid</code>"))
        #expect(page.text.contains("<dt>channel</dt><dd>web</dd>") && page.text.contains("<dt>order</dt><dd>A-1</dd>"))
        #expect(page.text.contains("ext-77"))
        // History newest first, in the viewer's zone.
        let history = page.section(from: "<table class=\"table history\">", to: "</table>")
        let statuses = ["Failed", "Processing", "Pending"].map { history.range(of: ">\($0)</span>")?.lowerBound }
        #expect(statuses.allSatisfy { $0 != nil } && statuses[0]! < statuses[1]! && statuses[1]! < statuses[2]!)
        #expect(history.contains("(Africa/Lagos)"))
        // A failed transaction cannot be cancelled: no form.
        #expect(!page.text.contains("Request cancellation"))

        // Unknown, malformed, another environment's and another organization's ids: one 404.
        let sandboxTxn = try portal.makeTransaction(org, .payin, "1.16")
        let ob2 = Browser(portal)
        let other = try TestUser.enrolled(portal, ob2, email: "other-\(UUID().uuidString.prefix(6))@example.com")
        let org2 = try other.createOrganization(portal, ob2)
        let foreign = try portal.makeTransaction(org2, .payin, "1.16")
        for id in ["txn_aaaaaaaaaaaaaaaa", "nope", "../team", sandboxTxn.publicID, foreign.publicID] {
            let r = try ob.get("/orgs/\(org)/production/transactions/\(id)")
            #expect(r.status == 404, "\(id): \(r.status)")
            #expect(!r.text.contains("€1.16"), "\(id)")
        }
        #expect(try ob2.get("/orgs/\(org)/production/transactions/\(t.publicID)").status == 404)
        #expect(try ob2.get("/orgs/\(org)/sandbox/transactions").status == 404)
    }

    @Test func aPayoutsTransactionLinksToItsPayout() throws {
        let (portal, ob, _, org) = try TestPortal.withOwner()
        try portal.enableProduction(org)
        // A payout as the payouts feature leaves it once authorized (its hold already taken).
        let funding = try portal.makeTransaction(org, .payin, "100.00", env: .production)
        try portal.moveTransaction(try portal.moveTransaction(funding, .processing), .paid)
        let scope = try portal.scope(org, .production)
        let payoutID = try portal.app.database.write { db -> Int64 in
            try db.scalar("""
                INSERT INTO payouts (public_id, organization_id, environment, account_id, status, amount, currency, beneficiary_name,
                    beneficiary_country, method, beneficiary_account, reference, created_by_name, created_at, expires_at, updated_at)
                VALUES ('po_k3v9q2m7x4c1b8n5', ?, 'production', ?, 'authorized', 2500, 'EUR', 'Ada', 'GB', 'bank', 'GB33BUKB20201555555555',
                    'Invoice 7', 'Owner', 0, 0, 0) RETURNING id
                """, scope.organizationID, funding.accountID, as: Int64.self)!
        }
        let t = try portal.app.database.write { db in
            try portal.app.transactions.create(.init(type: .payout, amount: Amount(minor: 2500, currency: Currency(code: "EUR")!), payoutID: payoutID),
                                               in: scope, by: .operator, on: db)
        }
        let page = try ob.get("/orgs/\(org)/production/transactions/\(t.publicID)")
        #expect(page.status == 200)
        #expect(page.text.contains("<dt>Payout</dt><dd><a href=\"/orgs/\(org)/production/payouts/po_k3v9q2m7x4c1b8n5\" class=\"mono\">po_k3v9q2m7x4c1b8n5</a> (authorized)</dd>"))
    }

    @Test func productionPagesAreRefusedUntilProductionIsEnabled() throws {
        let (portal, ob, _, org) = try TestPortal.withOwner()
        let t = try portal.makeTransaction(org, .payin, "4.16")
        let home = try ob.get("/orgs/\(org)")
        for path in ["/orgs/\(org)/production", "/orgs/\(org)/production/transactions", "/orgs/\(org)/production/transactions/\(t.publicID)"] {
            let r = try ob.get(path)
            #expect(r.status == 403, "\(path)")
            #expect(r.text.contains("is not enabled yet"), "\(path)")
        }
        let post = try ob.post("/orgs/\(org)/production/transactions/\(t.publicID)/cancel", [("reason", "x"), ("confirm", "yes")], csrfFrom: home)
        #expect(post.status == 403)
        #expect(try portal.currentTransaction(t).status.isOpen)
        // The switch from the list leads to the same section of the other environment.
        let list = try ob.get("/orgs/\(org)/sandbox/transactions/\(t.publicID)")
        #expect(list.text.contains("href=\"/orgs/\(org)/production/transactions\""))
    }

    // MARK: -

    func find(_ portal: TestPortal, _ org: String, _ id: String) throws -> TransactionRecord? {
        let scope = try portal.scope(org)
        return try portal.app.database.read { try portal.app.transactions.find(id, in: scope, on: $0) }
    }

    /// The `rel` link of the pager, unescaped.
    func link(_ page: TestResponse, _ rel: String) -> String? {
        guard let r = page.text.range(of: "\" rel=\"\(rel)\"") else { return nil }
        let before = page.text[..<r.lowerBound]
        guard let start = before.range(of: "<a href=\"", options: .backwards) else { return nil }
        return String(before[start.upperBound...]).replacingOccurrences(of: "&amp;", with: "&")
    }

    /// The filter form's quick path (long literals, selects written ahead) and the general one
    /// write the same bytes, for every status and type and for values that need escaping;
    /// a value no select offers goes the general way.
    @Test func theFilterFormsQuickPathWritesWhatTheGeneralOneDoes() throws {
        let (portal, _, owner, org) = try TestPortal.withOwner()
        let user = try #require(try portal.app.database.read { try AccountsStore().user(email: owner.email, on: $0) })
        let env = try EnvAccess(try portal.app.organizations.access(user: user, organization: org), environment: .sandbox)
        let statuses = [""] + TransactionStatus.allCases.map(\.rawValue) + ["nonsense"]
        let types = [""] + TransactionType.allCases.map(\.rawValue) + ["\"><script>"]
        var compared = 0
        for (i, status) in statuses.enumerated() {
            for (j, type) in types.enumerated() {
                let search = TransactionSearch(externalID: (i + j) % 3 == 0 ? "" : "a&b<\"'\(i)>", from: j % 2 == 0 ? "2026-01-0\(j % 9 + 1)" : "",
                                               to: i % 2 == 0 ? "" : "x\"y", status: status, type: type)
                let page = TransactionListPage(env, search: search, page: Dashboard.ListPage(count: 0, resolved: .init(), next: nil, previous: nil),
                                               rows: HTMLWriter())
                var quick = HTMLWriter(), general = HTMLWriter()
                page.writeFilters([:], into: &quick)
                page.writeFiltersPiecewise([:], into: &general)
                #expect(quick.string == general.string, "status \(status), type \(type)")
                #expect(quick.string.contains("<form class=\"card filters\"") && quick.string.hasSuffix("</form>"))
                #expect(!quick.string.contains("<script>") && !quick.string.contains("a&b"))
                if !status.isEmpty && status != "nonsense" { #expect(quick.string.contains("<option value=\"\(status)\" selected>")) }
                compared += 1
            }
        }
        #expect(compared == statuses.count * types.count)
    }
}
