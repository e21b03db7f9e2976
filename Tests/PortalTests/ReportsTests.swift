import Database
import Foundation
import Security
import Testing
import Web
@testable import Portal

/// The rows of a CSV file as Python's `csv` module reads them (a second implementation of
/// RFC 4180), one dictionary per row by header; each time column (`created_at`, `status_at`,
/// `time`) also as `<column>_epoch`, the instant Python's `datetime` reads from it.
func pythonCSV(_ bytes: [UInt8]) throws -> [[String: String]] {
    let script = """
        import csv, io, json, sys, datetime
        text = sys.stdin.buffer.read().decode('utf-8')
        rows = []
        for r in csv.DictReader(io.StringIO(text, newline='')):
            for k in ('created_at', 'status_at', 'time'):
                if r.get(k):
                    d = datetime.datetime.fromisoformat(r[k])
                    assert d.tzinfo is not None, 'time without offset: ' + r[k]
                    r[k + '_epoch'] = str(int(d.timestamp()))
            rows.append(r)
        sys.stdout.write(json.dumps(rows))
        """
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    process.arguments = ["python3", "-c", script]
    let input = Pipe(), output = Pipe()
    process.standardInput = input
    process.standardOutput = output
    try process.run()
    // Write from another thread: the file is larger than a pipe's buffer.
    let writer = Thread { input.fileHandleForWriting.write(Data(bytes)); try? input.fileHandleForWriting.close() }
    writer.start()
    let data = output.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    guard process.terminationStatus == 0 else { throw TestFailure("python3 could not read the CSV") }
    return try JSONDecoder().decode([[String: String]].self, from: data)
}

/// The body of a chunked response, or nil if it does not end with the last chunk.
func dechunk(_ raw: [UInt8]) -> [UInt8]? {
    var body: [UInt8] = []
    var i = 0
    while true {
        guard let lineEnd = (i..<max(i, raw.count - 1)).first(where: { raw[$0] == 13 && raw[$0 + 1] == 10 }),
              let size = Int(String(decoding: raw[i..<lineEnd], as: UTF8.self), radix: 16) else { return nil }
        i = lineEnd + 2
        if size == 0 { return raw.count >= i + 2 ? body : nil }
        guard raw.count >= i + size + 2 else { return nil }
        body += raw[i..<(i + size)]
        i += size + 2
    }
}

/// A download read slowly: a socket with a small receive buffer that sends the request and
/// then reads only when told.
final class SlowDownload {
    let fd: Int32
    init(port: Int, path: String, cookie: String) throws {
        fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var size: Int32 = 16 * 1024
        setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, socklen_t(MemoryLayout<Int32>.size))
        var tv = timeval(tv_sec: 10, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_port = UInt16(port).bigEndian
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        let rc = withUnsafePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
        if rc != 0 { close(fd); throw TestError.connect }
        let request = Array("GET \(path) HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\nCookie: \(cookie)\r\n\r\n".utf8)
        _ = request.withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
    }
    deinit { close(fd) }
    var received: [UInt8] = []
    /// Reads once (at most 4 KB): the start of the answer.
    func readSome() -> Bool {
        var buf = [UInt8](repeating: 0, count: 4096)
        let n = recv(fd, &buf, buf.count, 0)
        if n > 0 { received += buf[0..<n] }
        return n > 0
    }
    func readAll() -> TestResponse? {
        var buf = [UInt8](repeating: 0, count: 65536)
        while true {
            let n = recv(fd, &buf, buf.count, 0)
            if n <= 0 { break }
            received += buf[0..<n]
        }
        return try? TestResponse(parsing: received, headRequest: false)
    }
}

@Suite("Monthly reports")
struct ReportsTests {
    /// A portal with a signed-in Owner of "Acme" whose Production is enabled and whose time
    /// zone is `zone` (set through the settings form).
    static func setUp(zone: String = "Asia/Kathmandu", configure: (inout PortalConfig) -> Void = { _ in }) throws -> (TestPortal, Browser, String, MoneyScope) {
        let portal = try TestPortal(configure: configure)
        let browser = Browser(portal)
        let owner = try TestUser.enrolled(portal, browser)
        let org = try owner.createOrganization(portal, browser)
        let set = try browser.submit("/orgs/\(org)/settings", to: "/orgs/\(org)/settings/time-zone", [("time_zone", zone)])
        guard set.status == 303 else { throw TestFailure("time zone: \(set.status)") }
        let id = try portal.orgRowID(org)
        try portal.app.database.write { try $0.execute("UPDATE organizations SET production_enabled_at = 1 WHERE id = ?", id) }
        return (portal, browser, org, MoneyScope(organizationID: id, environment: .production))
    }

    static func create(_ portal: TestPortal, _ scope: MoneyScope, _ type: TransactionType, _ major: String, _ code: String,
                       sender: String = "Sender", recipient: String = "Recipient", externalID: String? = nil) throws -> TransactionRecord {
        let amount = try Amount.parse(major, currency: Currency(code: code)!)
        return try portal.app.database.write { db in
            try portal.app.transactions.create(.init(type: type, amount: amount, externalID: externalID,
                                                     sender: Party(name: sender, country: "NL", method: .bank, account: "NL91ABNA0417164300"),
                                                     recipient: Party(name: recipient, country: "KE", method: .mobile, account: "+254712345678")),
                                               in: scope, by: .operator, on: db)
        }
    }

    static func move(_ portal: TestPortal, _ txn: TransactionRecord, _ status: TransactionStatus,
                     error: (code: String, note: String)? = nil) throws -> TransactionRecord {
        try portal.app.database.write { db in
            let current = try portal.app.transactions.find(id: txn.id, on: db)!
            return try portal.app.transactions.move(current, to: status, error: error, by: .operator, on: db)
        }
    }

    /// Moves the test clock to `t` (it can go back: the clock is real time plus an offset).
    static func travel(_ portal: TestPortal, to t: Int64) { portal.clock.advance(seconds: t - portal.clock.now) }

    /// Waits (at most 10 s) for the checksum job, run here and by the portal's own worker.
    static func checksums(_ portal: TestPortal, _ scope: MoneyScope) throws -> [String: String] {
        for _ in 0..<100 {
            _ = try portal.app.jobs.runDue()
            let rows = try portal.app.database.read { db in
                try db.query("SELECT month || ' ' || kind, sha256 FROM report_checksums WHERE organization_id = ? AND environment = ?",
                             scope.organizationID, scope.environment.rawValue).map { (try $0.string(0), try $0.string(1)) }
            }
            if rows.count >= 2 { return Dictionary(uniqueKeysWithValues: rows) }
            usleep(100_000)
        }
        throw TestFailure("no checksums")
    }

    /// A closed month gets its checksums from the daily sweep even if nobody opens the Reports
    /// page; the sweep queues its next run once, however often the server starts.
    @Test func theDailySweepChecksumsClosedMonthsNobodyLookedAt() throws {
        let (portal, _, _, scope) = try Self.setUp(zone: "UTC")
        let today = portal.clock.now
        let past = ReportMonth(containing: ReportMonth(containing: today, zone: PageTime.timeZone("UTC")).start - 86400 * 20, zone: PageTime.timeZone("UTC"))
        Self.travel(portal, to: past.start + 86400 * 3)
        _ = try Self.move(portal, try Self.create(portal, scope, .payin, "10.00", "EUR"), .processing)
        Self.travel(portal, to: today)
        func queuedSweeps() throws -> [Int64] {
            try portal.app.database.read { try $0.query("SELECT run_at FROM jobs WHERE kind = 'reports.sweep' AND state = 'queued'").map { try $0.int64(0) } }
        }
        // Started with the server (it ran at once, when there was no money yet, and queued its
        // next run); starting again (or another process) queues no second one.
        try portal.app.reports.scheduleSweep()
        #expect(try queuedSweeps().count == 1)
        // The next day's sweep.
        Self.travel(portal, to: (today / 86400 + 1) * 86400 + 3600)
        let sums = try Self.checksums(portal, scope)
        #expect(sums["\(past.key) transactions"]?.count == 64 && sums["\(past.key) accounts"]?.count == 64)
        // Done, it waits for the next UTC day's settling time.
        let next = try queuedSweeps()
        #expect(next.count == 1 && next[0] > portal.clock.now && next[0] <= (portal.clock.now / 86400 + 1) * 86400 + 3600)
        // A sweep run again (a lost lease re-runs it) does not double the next one.
        _ = try portal.app.reports.sweep()
        #expect(try queuedSweeps().count == 1)
        // Nothing is summed twice: a month with both files summed is passed over; one that lost
        // a checksum gets that one back, the same bytes, the same sum.
        #expect(try portal.app.reports.computeChecksums(organizationID: scope.organizationID, environment: scope.environment) == 0)
        try portal.app.database.write { _ = try $0.execute("DELETE FROM report_checksums WHERE month = ? AND kind = 'accounts'", past.key) }
        #expect(try portal.app.reports.computeChecksums(organizationID: scope.organizationID, environment: scope.environment) == 1)
        #expect(try Self.checksums(portal, scope) == sums)
    }

    @Test func aClosedMonthReadBackByPythonEqualsTheDatabase() throws {
        let (portal, browser, org, scope) = try Self.setUp()
        let zone = PageTime.timeZone("Asia/Kathmandu")
        let today = portal.clock.now
        // The previous month, ten days in (Kathmandu time).
        let past = ReportMonth(containing: ReportMonth(containing: today, zone: zone).start - 86400 * 20, zone: zone)
        Self.travel(portal, to: past.start + 86400 * 10)

        let formula = try Self.create(portal, scope, .payin, "1234.50", "EUR", sender: "=HYPERLINK(\"http://evil\")", externalID: "ord-1")
        _ = try Self.move(portal, formula, .processing)
        _ = try Self.move(portal, formula, .paid)
        // A payout prepared through its page: its hold is a ledger entry with no transaction.
        let held = try browser.submit("/orgs/\(org)/production/payouts/new", to: "/orgs/\(org)/production/payouts/new", [
            ("beneficiary_name", "Supplier BV"), ("method", "bank"), ("account", "NL91ABNA0417164300"), ("country", "NL"),
            ("amount", "50.00"), ("currency", "EUR"), ("reference", "Invoice 7")])
        #expect(held.status == 303, "payout: \(held.status)")
        portal.clock.advance(seconds: 60)
        _ = try Self.create(portal, scope, .payin, "1500", "JPY", sender: "Doe, \"JJ\"\nSecond line", recipient: "-2+3")
        let failed = try Self.create(portal, scope, .payin, "7.13", "EUR", sender: "@SUM(A1)", recipient: "\tTabbed")
        _ = try Self.move(portal, failed, .failed, error: ("recipient_account_invalid", "Recipient's bank rejected the account number"))
        let payout = try Self.create(portal, scope, .payout, "100.00", "EUR", recipient: "+31 6 1234 5678")
        _ = try Self.move(portal, payout, .processing)
        // After the month ends, the payout is paid: the month's report still says processing.
        Self.travel(portal, to: past.end + 3600)
        _ = try Self.move(portal, payout, .paid)
        Self.travel(portal, to: today)

        let base = "/orgs/\(org)/production/reports"
        let page = try browser.get(base)
        #expect(page.status == 200)
        #expect(page.text.contains(past.title))
        #expect(page.text.contains("/\(past.key)/transactions.csv"))
        #expect(page.text.contains("Asia/Kathmandu"))
        let sums = try Self.checksums(portal, scope)

        // The transaction report.
        let r = try browser.get("\(base)/\(past.key)/transactions.csv")
        #expect(r.status == 200)
        #expect(r["Content-Type"] == "text/csv; charset=utf-8")
        #expect(r["Transfer-Encoding"] == "chunked")
        #expect(r["Content-Disposition"] == "attachment; filename=\"acme-production-transactions-\(past.key).csv\"")
        let csv = try #require(dechunk(r.body))
        #expect(Digest.sha256Hex(csv) == sums["\(past.key) transactions"])
        #expect(r["Repr-Digest"] == "sha-256=:\(Data(Digest.sha256(csv)).base64EncodedString()):")
        #expect(csv.starts(with: Array("transaction_id,external_id,created_at,".utf8)))

        let rows = try pythonCSV(csv)
        let expected = try portal.app.database.read { db in
            try db.query("SELECT public_id, created_at, amount, currency, type, sender_name, recipient_name FROM transactions WHERE organization_id = ? AND environment = 'production' AND created_at >= ? AND created_at < ? ORDER BY created_at, id",
                         scope.organizationID, past.start, past.end)
        }
        #expect(rows.count == 4 && expected.count == 4)
        for (row, db) in zip(rows, expected) {
            #expect(row["transaction_id"] == (try db.string(0)))
            #expect(row["created_at_epoch"] == String(try db.int64(1)))
            #expect(row["created_at"]?.hasSuffix("+05:45") == true)
            #expect(row["amount"] == Amount.major(try db.int64(2), Currency(code: try db.string(3))!))
            #expect(row["currency"] == (try db.string(3)))
            #expect(row["type"] == (try db.string(4)))
            // Text that a spreadsheet would run gets an apostrophe; anything else is as stored.
            for (column, stored) in [("sender_name", try db.string(5)), ("recipient_name", try db.string(6))] {
                let defused = ["=", "+", "-", "@", "\t", "\r"].contains { stored.hasPrefix($0) }
                #expect(row[column] == (defused ? "'" + stored : stored))
            }
        }
        #expect(rows.map { $0["amount"] } == ["1234.50", "1500", "7.13", "100.00"])
        #expect(rows[0]["status"] == "paid" && rows[0]["external_id"] == "ord-1")
        #expect(rows[0]["sender_name"] == "'=HYPERLINK(\"http://evil\")")
        #expect(rows[1]["sender_name"] == "Doe, \"JJ\"\nSecond line" && rows[1]["recipient_name"] == "'-2+3")
        #expect(rows[2]["status"] == "failed" && rows[2]["error_code"] == "recipient_account_invalid")
        #expect(rows[2]["recipient_name"] == "'\tTabbed")
        #expect(rows[3]["status"] == "processing") // paid only after the month ended
        #expect(rows[3]["recipient_account_last4"] == "5678")
        #expect(rows.allSatisfy { $0.values.allSatisfy { v in !["=", "+", "-", "@"].contains { v.hasPrefix($0) } } })

        // The account report: per account, opening + credits − debits = closing, per bucket,
        // and the closing balances are the ledger's at the month's end.
        let a = try browser.get("\(base)/\(past.key)/accounts.csv")
        #expect(a["Content-Disposition"] == "attachment; filename=\"acme-production-accounts-\(past.key).csv\"")
        let statement = try #require(dechunk(a.body))
        #expect(Digest.sha256Hex(statement) == sums["\(past.key) accounts"])
        let lines = try pythonCSV(statement)
        let accounts = Dictionary(grouping: lines, by: { $0["account_id"] ?? "" })
        #expect(Set(accounts.values.map { $0.first?["currency"] ?? "" }) == ["EUR", "JPY"])
        for (accountID, lines) in accounts {
            // Major units with the currency's exponent: the digits without the point are minor units.
            func minor(_ s: String?) throws -> Int64 {
                guard let s, !s.isEmpty else { return 0 }
                return try #require(Int64(s.replacingOccurrences(of: ".", with: "")))
            }
            #expect(lines.first?["line"] == "opening" && lines.last?["line"] == "closing")
            #expect(lines.first?["time_epoch"] == String(past.start) && lines.last?["time_epoch"] == String(past.end))
            var available = try minor(lines[0]["available"]), pending = try minor(lines[0]["pending"])
            for e in lines.dropFirst().dropLast() {
                let delta = try minor(e["credit"]) - minor(e["debit"])
                if e["bucket"] == "available" { available += delta } else { pending += delta }
                #expect(try minor(e["available"]) == available && minor(e["pending"]) == pending)
            }
            #expect(try minor(lines.last?["available"]) == available && minor(lines.last?["pending"]) == pending)
            let ledger = try portal.app.database.read { db in
                try db.queryOne("SELECT e.available_after, e.pending_after FROM ledger_entries e JOIN money_accounts m ON m.id = e.account_id WHERE m.public_id = ? AND e.created_at < ? ORDER BY e.created_at DESC, e.id DESC LIMIT 1",
                                accountID, past.end)
            }
            #expect(try ledger?.int64(0) == available && ledger?.int64(1) == pending)
        }
        #expect(lines.contains { $0["reason"] == "payin.paid" && $0["credit"] == "1234.50" && $0["bucket"] == "available" })
        #expect(lines.contains { $0["payout_id"]?.hasPrefix("po_") == true && $0["transaction_id"] == "" && $0["debit"] == "50.00" && $0["bucket"] == "available" })

        // The closed month's bytes do not change with later activity, and the page shows the checksum.
        _ = try Self.create(portal, scope, .payin, "5.00", "EUR")
        let again = try browser.get("\(base)/\(past.key)/transactions.csv")
        #expect(dechunk(again.body) == csv)
        let after = try browser.get(base)
        #expect(after.text.contains(sums["\(past.key) transactions"]!))
        #expect(after.text.contains(sums["\(past.key) accounts"]!))
    }

    /// The byte writers agree with the string ones they stand in for.
    @Test func amountsAndCellsAreWrittenAsTheStringFormsAre() {
        for code in ["EUR", "JPY", "KWD"] {
            let currency = Currency(code: code)!
            for minor: Int64 in [0, 1, 9, 10, 99, 100, 105, 1000, 123_450, 1_500, 12_345, 999_999_999_999] {
                var out: [UInt8] = []
                ReportKind.amount(minor, exponent: currency.exponent, &out)
                #expect(String(decoding: out, as: UTF8.self) == Amount.major(minor, currency), "\(minor) \(code)")
            }
        }
        for cell in ["plain", "=1+1", "+31 6", "-2", "@SUM(A1)", "\tx", "\rx", "a,b", "say \"hi\"", "two\nlines", "=a,\"b\"", "", "é ü 日本"] {
            var out: [UInt8] = []
            CSVWriter.appendField(cell, to: &out)
            #expect(String(decoding: out, as: UTF8.self) == CSVWriter.field(cell))
        }
        #expect(ReportKind.slug("Acme Payments B.V.") == "acme-payments-b-v")
        #expect(ReportKind.slug("日本") == "organization")
    }

    /// Times carry the zone's offset of their own instant: across a DST change, two offsets.
    @Test func timesCarryTheOffsetOfTheirInstant() {
        var ny = LocalTimeWriter(zone: PageTime.timeZone("America/New_York"))
        #expect(ny.string(1_793_000_000) == "2026-10-26T03:33:20-04:00")   // still summer time
        #expect(ny.string(1_795_000_000) == "2026-11-18T06:06:40-05:00")   // winter time
        var utc = LocalTimeWriter(zone: PageTime.timeZone("UTC"))
        #expect(utc.string(0) == "1970-01-01T00:00:00Z")
        var kathmandu = LocalTimeWriter(zone: PageTime.timeZone("Asia/Kathmandu"))
        #expect(kathmandu.string(1_795_000_000) == "2026-11-18T16:51:40+05:45")
        // Months begin at local midnight.
        let nov = ReportMonth(key: "2026-11", zone: PageTime.timeZone("America/New_York"))!
        #expect(ny.string(nov.start) == "2026-11-01T00:00:00-04:00")
        #expect(ny.string(nov.end) == "2026-12-01T00:00:00-05:00")
        #expect(ReportMonth(key: "2026-13", zone: PageTime.timeZone("UTC")) == nil)
        #expect(ReportMonth(key: "../etc", zone: PageTime.timeZone("UTC")) == nil)
    }

    /// Several downloads that read slowly, on a server whose pool is exactly two workers that
    /// cannot grow: the Reports page still answers, and each download is then complete.
    @Test func slowDownloadsDoNotHoldWorkersHostage() throws {
        let (portal, browser, org, scope) = try Self.setUp(zone: "UTC") {
            $0.server.minWorkers = 2
            $0.server.maxWorkers = 2
            $0.server.workerStallMillis = 600_000
        }
        // 30,000 transactions this month, written straight into the table: with long names,
        // about 13 MB of CSV, far more than the sockets' buffers (a few MB) hold.
        let now = portal.clock.now
        let month = ReportMonth(containing: now, zone: PageTime.timeZone("UTC"))
        _ = try Self.create(portal, scope, .payin, "1.00", "EUR")
        try portal.app.database.write { db in
            let account = try db.scalar("SELECT id FROM money_accounts WHERE organization_id = ? AND environment = 'production'", scope.organizationID, as: Int64.self)!
            for i in 0..<30_000 {
                try db.execute("""
                    INSERT INTO transactions (public_id, organization_id, environment, account_id, type, status, amount, currency,
                        sender_name, recipient_name, created_at, updated_at)
                    VALUES (?, ?, 'production', ?, 'payin', 'pending', ?, 'EUR', ?, 'A recipient', ?, ?)
                    """, "txn_bulk\(i)", scope.organizationID, account, 100 + i, String(repeating: "Sender ", count: 40), month.start + Int64(i % 3600), now)
            }
        }
        let cookie = browser.cookies.map { "\($0.key)=\($0.value)" }.sorted().joined(separator: "; ")
        let path = "/orgs/\(org)/production/reports/\(month.key)/transactions.csv"
        let downloads = try (0..<4).map { _ in try SlowDownload(port: portal.port, path: path, cookie: cookie) }
        for d in downloads { #expect(d.readSome()) } // each has started

        let page = try browser.get("/orgs/\(org)/production/reports")
        #expect(page.status == 200)
        #expect(page.text.contains("30,001 rows"))

        for d in downloads {
            let r = try #require(d.readAll())
            #expect(r.status == 200)
            let csv = try #require(dechunk(r.body))
            #expect(csv.filter { $0 == 0x0A }.count == 30_002) // header + rows
        }
    }

    @Test func anotherOrganizationsReportsAreNotFoundAndClosedProductionIsRefused() throws {
        let (portal, browser, org, _) = try Self.setUp()
        let month = ReportMonth(containing: portal.clock.now, zone: PageTime.timeZone("Asia/Kathmandu"))
        // Another person with their own organization (Production not enabled).
        let other = Browser(portal)
        let stranger = try TestUser.enrolled(portal, other)
        let theirs = try stranger.createOrganization(portal, other, ["trading_name": "Other"])
        for path in ["/orgs/\(org)/sandbox/reports", "/orgs/\(org)/production/reports/\(month.key)/transactions.csv",
                     "/orgs/\(org)/sandbox/reports/\(month.key)/accounts.csv"] {
            #expect(try other.get(path).status == 404)
        }
        #expect(try other.get("/orgs/\(theirs)/sandbox/reports").status == 200)
        #expect(try other.get("/orgs/\(theirs)/production/reports").status == 403)
        #expect(try other.get("/orgs/\(theirs)/production/reports/\(month.key)/transactions.csv").status == 403)
        // Signed out: to the login page, no file.
        #expect(try Browser(portal).get("/orgs/\(org)/sandbox/reports/\(month.key)/transactions.csv").status != 200)
        // Months that do not exist yet, and files that are not reports.
        let next = month.next(zone: PageTime.timeZone("Asia/Kathmandu"))
        for path in ["\(next.key)/transactions.csv", "\(month.key)/passwords.csv", "2026-13/transactions.csv", "\(month.key)/transactions.txt"] {
            #expect(try browser.get("/orgs/\(org)/sandbox/reports/\(path)").status == 404)
        }
        // The current month is always there, and its files download (a header when empty).
        let empty = try browser.get("/orgs/\(org)/sandbox/reports/\(month.key)/transactions.csv")
        #expect(empty.status == 200)
        #expect(String(decoding: dechunk(empty.body) ?? [], as: UTF8.self).hasPrefix("transaction_id,"))
        let page = try browser.get("/orgs/\(org)/sandbox/reports")
        #expect(page.text.contains("portal seed-demo"))
        #expect(page.text.contains(">Reports<"))
    }

    @Test func theOwnerSetsTheTimeZoneWithErrorsBesideTheFieldAndAnAuditEvent() throws {
        let (portal, browser, org, _) = try Self.setUp(zone: "Europe/Amsterdam")
        let settings = try browser.get("/orgs/\(org)/settings")
        #expect(settings.text.contains("<option value=\"Europe/Amsterdam\" selected>") || settings.text.contains("<option selected>Europe/Amsterdam</option>"))
        let bad = try browser.post("/orgs/\(org)/settings/time-zone", [("time_zone", "Mars/Olympus_Mons")], csrfFrom: settings)
        #expect(bad.status == 422)
        #expect(bad.text.contains("Choose a time zone from the list."))
        let zone = try portal.app.database.read { try $0.scalar("SELECT time_zone FROM organizations WHERE public_id = ?", org, as: String.self) }
        #expect(zone == "Europe/Amsterdam")
        #expect(try portal.auditActions(organization: org).filter { $0 == "org.time_zone_changed" }.count == 1) // UTC → Europe/Amsterdam, in setUp
        // Without the CSRF token nothing changes.
        let forged = try browser.post("/orgs/\(org)/settings/time-zone", [("time_zone", "UTC")])
        #expect(forged.status == 403)
    }
}
