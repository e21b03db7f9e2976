import Foundation
import Testing
@testable import Portal

/// The environment dashboard over real sockets: balances, recent transactions, the 30-day
/// chart and its table, statistics for `statistics.read` only, getting started, empty states.
@Suite("Dashboard: balances, recent transactions, chart, statistics, getting started")
struct DashboardTests {
    @Test func balancesRecentTransactionsAndTheChartTableMatchWhatWasCreated() throws {
        let (portal, ob, _, org) = try TestPortal.withOwner()
        let base = "/orgs/\(org)/sandbox"
        // Amounts ending in 16 stay where the simulator leaves them (pending or processing):
        // pay-ins are pending money.
        let a = try portal.makeTransaction(org, .payin, "100.16", externalID: "order-1")
        let b = try portal.makeTransaction(org, .payin, "50.16", externalID: "order-2")
        let c = try portal.makeTransaction(org, .payin, "1016", "JPY")
        let page = try ob.get(base)
        #expect(page.status == 200)
        let balances = page.section(from: "<table class=\"table balances\">", to: "</table>")
        #expect(balances.contains("<th scope=\"row\">EUR <span class=\"hint\">Euro</span></th><td class=\"num\" data-balance=\"EUR\">€0.00</td><td class=\"num\" data-pending=\"EUR\">€150.32</td>"), "\(balances)")
        #expect(balances.contains("¥1,016"))
        // The recent list, newest first, linked for a member who reads transactions.
        #expect(page.transactionIDs(base: base) == [c.publicID, b.publicID, a.publicID])
        #expect(page.text.contains("order-1") && page.text.contains("order-2"))
        // The chart: an SVG per currency with its title and description, linked to the same
        // numbers as a table on the volume page (today first); the dashboard sends no table.
        #expect(page.text.contains("<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"volume-chart\""))
        #expect(page.text.contains("<title id=\"chart-eur-title\">EUR volume, last 30 days</title>"))
        #expect(page.text.contains("€150.32 in 2 transactions"))
        #expect(page.text.contains("<a href=\"\(base)/volume#chart-eur\">EUR volume per day as a table</a>"))
        #expect(page.text.contains("<a href=\"\(base)/volume#chart-jpy\">JPY volume per day as a table</a>"))
        #expect(!page.text.contains("<caption>EUR volume per day"))
        let volume = try ob.get("\(base)/volume")
        #expect(volume.status == 200)
        let table = volume.section(from: "<table class=\"table volume\" id=\"chart-eur\">", to: "</table>")
        #expect(table.contains("<caption>EUR volume per day, last 30 days, newest first: €150.32 in 2 transactions</caption>"), "\(table.prefix(400))")
        let today = PageTime.day(portal.clock.now, zone: "UTC")
        let label = String(today.split(separator: " ").prefix(2).joined(separator: " "))
        #expect(table.contains("\(label)</time></th><td class=\"num\">€150.32</td><td class=\"num\">2</td>"), "\(table.prefix(400))")
        #expect(table.components(separatedBy: "<tr>").count - 1 == 31) // the header and 30 days
        let jpy = volume.section(from: "<table class=\"table volume\" id=\"chart-jpy\">", to: "</table>")
        #expect(jpy.contains("\(label)</time></th><td class=\"num\">¥1,016</td><td class=\"num\">1</td>"))
        // Drawn on the server: no script in the drawing.
        #expect(!page.section(from: "<svg", to: "</svg>").contains("<script"))
    }

    @Test func statisticsAndTheFailureRateOnlyWithStatisticsRead() throws {
        let (portal, ob, _, org) = try TestPortal.withOwner()
        try portal.enableProduction(org)
        let paid = try portal.makeTransaction(org, .payin, "10.00", env: .production)
        let failed = try portal.makeTransaction(org, .payin, "20.00", env: .production)
        try portal.makeTransaction(org, .payin, "30.00", env: .production)
        try portal.moveTransaction(try portal.moveTransaction(paid, .processing), .paid)
        try portal.moveTransaction(failed, .failed, error: ("recipient_account_invalid", "Recipient's bank rejected the account number"))
        let page = try ob.get("/orgs/\(org)/production")
        #expect(page.status == 200)
        #expect(page.text.contains("Live since"))
        let stats = page.section(from: "<h2>Statistics, last 30 days</h2>", to: "</table>")
        #expect(stats.contains("<span class=\"status paid\">Paid</span></th><td class=\"num\">1</td><td>€10.00</td>"), "\(stats)")
        #expect(stats.contains("<span class=\"status failed\">Failed</span></th><td class=\"num\">1</td><td>€20.00</td>"))
        #expect(stats.contains("<span class=\"status pending\">Pending</span></th><td class=\"num\">1</td><td>€30.00</td>"))
        #expect(page.text.contains("Failure rate: <strong>50.0 %</strong> (1 failed of 2 paid or failed)"))
        // Balances follow the statuses: paid is available, the open one pending.
        #expect(page.text.contains("data-balance=\"EUR\">€10.00</td><td class=\"num\" data-pending=\"EUR\">€30.00</td>"))

        // Without statistics.read: the chart, the balances, no statistics.
        let reader = try PermissionMatrixTests.member(portal, org: org, role: .custom, permissions: [.transactionsRead], tag: "reader")
        let theirs = try reader.get("/orgs/\(org)/production")
        #expect(theirs.status == 200)
        #expect(theirs.text.contains("EUR volume per day as a table"))
        #expect(try reader.get("/orgs/\(org)/production/volume").text.contains("<caption>EUR volume per day"))
        #expect(!theirs.text.contains("Statistics, last 30 days") && !theirs.text.contains("Failure rate"))
        let stat = try PermissionMatrixTests.member(portal, org: org, role: .custom, permissions: [.statisticsRead], tag: "stat")
        let statPage = try stat.get("/orgs/\(org)/production")
        #expect(statPage.text.contains("Statistics, last 30 days"))
        // A member who cannot read transactions sees the recent ones without links or search.
        #expect(!statPage.text.contains("/production/transactions/") && !statPage.text.contains("name=\"external_id\""))
        #expect(statPage.text.contains(paid.publicID))
    }

    @Test func whatTheDashboardKeepsOfTheRollupFollowsEveryChangeToIt() throws {
        let (portal, ob, _, org) = try TestPortal.withOwner()
        try portal.enableProduction(org)
        let base = "/orgs/\(org)/production"
        let t = try portal.makeTransaction(org, .payin, "10.00", env: .production)
        func figures() throws -> (chart: String, stats: String) {
            let page = try ob.get(base)
            return (page.section(from: "<figcaption>", to: "</figcaption>"), page.section(from: "<h2>Statistics, last 30 days</h2>", to: "</table>"))
        }
        #expect(try figures().chart.contains("€10.00 in 1 transactions"))
        try portal.makeTransaction(org, .payin, "5.00", env: .production)
        #expect(try figures().chart.contains("€15.00 in 2 transactions"))
        // A move changes no volume but the totals by status.
        try portal.moveTransaction(t, .processing)
        #expect(try figures().stats.contains("<span class=\"status processing\">Processing</span></th><td class=\"num\">1</td><td>€10.00</td>"))
        // A change written by anyone else (another process, a repair) is seen too: SQLite
        // bumps the rollup's version itself.
        let id = try portal.orgRowID(org)
        try portal.app.database.write { _ = try $0.execute("UPDATE transaction_stats SET amount = amount + 100 WHERE organization_id = ? AND status = 'pending'", id) }
        #expect(try figures().chart.contains("€16.00 in 2 transactions"))
        // Another viewer's time zone gets its own days.
        let reader = try PermissionMatrixTests.member(portal, org: org, role: .custom, permissions: [], tag: "tz")
        #expect(try reader.get(base).text.contains("€16.00 in 2 transactions"))
    }

    /// The money part is kept rendered: a change that moves a balance without touching the
    /// rollup (a payout's hold, written as another process would) is on the next view, and a
    /// member without `transactions.read` never gets the linked rows another member's view made.
    @Test func theKeptMoneyPartFollowsBalanceOnlyChangesAndEachViewersPermissions() throws {
        let (portal, ob, _, org) = try TestPortal.withOwner()
        try portal.enableProduction(org)
        let base = "/orgs/\(org)/production"
        let t = try portal.moveTransaction(try portal.moveTransaction(try portal.makeTransaction(org, .payin, "40.00", env: .production), .processing), .paid)
        #expect(try ob.get(base).text.contains("data-balance=\"EUR\">€40.00</td>"))
        #expect(try ob.get(base).text.contains("data-balance=\"EUR\">€40.00</td>"), "the kept part, again")
        try portal.app.database.write { _ = try $0.execute("UPDATE money_accounts SET available = available - 1500, pending = pending + 1500") }
        let after = try ob.get(base).text
        #expect(after.contains("data-balance=\"EUR\">€25.00</td><td class=\"num\" data-pending=\"EUR\">€15.00</td>"))
        #expect(after.contains("href=\"\(base)/transactions/\(t.publicID)\""))
        let blind = try PermissionMatrixTests.member(portal, org: org, role: .custom, permissions: [.apiKeysRead], tag: "blind")
        let theirs = try blind.get(base).text
        #expect(theirs.contains(t.publicID) && !theirs.contains("href=\"\(base)/transactions/\(t.publicID)\""))
        #expect(!theirs.contains("<h2>Statistics, last 30 days</h2>") && after.contains("<h2>Statistics, last 30 days</h2>"))
    }

    /// The whole page is kept too, so what the shell shows beside the money part must follow:
    /// the organization's name (support approves a rename), and the steps (ticked in the next test).
    @Test func theKeptPageFollowsARenamedOrganization() throws {
        let (portal, ob, _, org) = try TestPortal.withOwner()
        let base = "/orgs/\(org)/sandbox"
        #expect(try ob.get(base).text.contains("</span> Acme"))
        #expect(try ob.get(base).text.contains("</span> Acme"), "the kept page, again")
        try portal.app.database.write { _ = try $0.execute("UPDATE organizations SET trading_name = 'Zenith Pay'") }
        let renamed = try ob.get(base).text
        #expect(renamed.contains("</span> Zenith Pay</h1>") && !renamed.contains("</span> Acme"))
    }

    /// The dashboard finds its kept part by the chart window's first hour alone; it must be the
    /// hour the whole window starts at, on both sides of a DST change and far from UTC.
    @Test func theChartsFirstHourAloneIsTheWholeWindowsFirstHour() {
        let zones = ["UTC", "Europe/Amsterdam", "America/New_York", "Asia/Kolkata", "Pacific/Chatham", "Australia/Lord_Howe", "Pacific/Kiritimati"]
        // Around the 2026 European and American changes, and a plain day.
        let times: [Int64] = [1_774_744_200, 1_774_751_400, 1_792_893_600, 1_792_900_800, 1_773_561_600, 1_772_000_000, 1_800_000_000]
        for zone in zones {
            for t in times {
                for shift in stride(from: Int64(0), to: 86_400, by: 3_600 * 5 + 17) {
                    #expect(VolumeChart.firstHour(now: t + shift, zone: zone) == VolumeChart.window(now: t + shift, zone: zone).fromHour, "\(zone) at \(t + shift)")
                }
            }
        }
    }

    @Test func gettingStartedTicksEachStepAndGoesAwayWhenAllAreDone() throws {
        let (portal, ob, _, org) = try TestPortal.withOwner()
        let base = "/orgs/\(org)/sandbox"
        func steps() throws -> String { try ob.get(base).section(from: "<h2 id=\"getting-started\">", to: "</section>") }
        var panel = try steps()
        #expect(panel.contains("0 of 4 done"))
        #expect(panel.contains("<span class=\"visually-hidden\">To do: </span><a href=\"\(base)/api-keys/new\">Create a Sandbox API key</a>"))
        #expect(panel.contains("<span class=\"visually-hidden\">To do: </span><a href=\"\(base)#test-transactions\">Make a test transaction</a>"))
        #expect(panel.contains("<a href=\"/orgs/\(org)/team/invite\">Invite your team</a>"))
        #expect(panel.contains("<a href=\"/orgs/\(org)/settings/production\">Request Production access</a>"))
        // The empty state says what to do.
        #expect(try ob.get(base).text.contains("Create a test transaction with the API or <code>portal seed-demo</code>"))
        #expect(try ob.get("\(base)/volume").text.contains("Nothing to show yet: an account opens with the first transaction in a currency."))

        try portal.makeTransaction(org, .payin, "5.16")
        panel = try steps()
        #expect(panel.contains("1 of 4 done"))
        #expect(panel.contains("<span class=\"visually-hidden\">Done: </span><a href=\"\(base)#test-transactions\">Make a test transaction</a>"))

        let invited = try ob.submit("/orgs/\(org)/team/invite", to: "/orgs/\(org)/team/invitations",
                                    [("name", "Bo"), ("email", "bo@example.com"), ("role", "developer")])
        #expect(invited.status == 303)
        panel = try steps()
        #expect(panel.contains("2 of 4 done"))
        #expect(panel.contains("Done: </span><a href=\"/orgs/\(org)/team/invite\">"))

        #expect(try ob.submit("/orgs/\(org)/settings/production", to: "/orgs/\(org)/settings/production", [("note", "Live in May")]).status == 303)
        panel = try steps()
        #expect(panel.contains("3 of 4 done"))

        // The key step is ticked by a real key made through its form.
        #expect(try ob.submit("\(base)/api-keys/new", to: "\(base)/api-keys/new", [("name", "Checkout")]).status == 201)
        #expect(try steps() == "")
        #expect(!(try ob.get(base).text.contains("Getting started")))
    }

    /// A step this member may not do is not a link to a page that refuses them: it says who
    /// can. The Owner's view, kept first, is never what the other member gets.
    @Test func stepsAMemberMayNotDoSayWhoCan() throws {
        let (portal, ob, _, org) = try TestPortal.withOwner()
        let base = "/orgs/\(org)/sandbox"
        #expect(try ob.get(base).text.contains("<a href=\"/orgs/\(org)/settings/production\">Request Production access</a>"))
        let dev = try PermissionMatrixTests.member(portal, org: org, role: .developer, permissions: [], tag: "dev")
        let panel = try dev.get(base).section(from: "<h2 id=\"getting-started\">", to: "</section>")
        #expect(!panel.contains("/settings/production") && !panel.contains("/team/invite"))
        #expect(panel.contains("Request Production access — Support checks your organization&#39;s details and opens Production for real money. <span class=\"hint\">Ask the Owner.</span>"))
        // The invitation the Owner sent for this member ticked the team step: done, so nobody to ask.
        #expect(panel.contains("Done: </span>Invite your team — ") && !panel.contains("Ask a member who can manage roles."))
        #expect(panel.contains("<a href=\"\(base)#test-transactions\">Make a test transaction</a>"))
        // Every link the panel still shows opens for them.
        #expect(try dev.get(base).status == 200)
        #expect(try dev.get("/orgs/\(org)/settings/production").status == 403)
    }

    @Test func productionSaysWhereTransactionsComeFromWhenEmpty() throws {
        let (portal, ob, _, org) = try TestPortal.withOwner()
        try portal.enableProduction(org)
        let page = try ob.get("/orgs/\(org)/production")
        #expect(page.status == 200)
        #expect(page.text.contains("They appear here as soon as your integration creates them with a Production API key."))
        #expect(page.text.contains("No account yet"))
        #expect(!page.text.contains("portal seed-demo</code>;"))
    }
}
