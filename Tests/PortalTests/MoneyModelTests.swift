import Database
import Foundation
import Synchronization
import Testing
import Web
@testable import Portal

@Suite("Money: currencies and amounts")
struct AmountTests {
    let eur = Currency(code: "EUR")!, jpy = Currency(code: "jpy")!, kwd = Currency(code: "KWD")!

    @Test func exponentsComeFromTheTable() {
        #expect(eur.exponent == 2 && jpy.exponent == 0 && kwd.exponent == 3)
        #expect(Currency(code: "XXX") == nil && Currency(code: "") == nil)
        #expect(Currency.all.allSatisfy { $0.code.count == 3 && $0.code == $0.code.uppercased() })
        #expect(Set(Currency.all.map(\.code)).count == Currency.all.count)
    }

    /// Rows are read from their bytes: every stored name reads back as itself, nothing else reads.
    @Test func storedNamesReadFromBytes() {
        func bytes<R>(_ s: String, _ body: (UnsafeBufferPointer<UInt8>) -> R) -> R { Array(s.utf8).withUnsafeBufferPointer(body) }
        for c in Currency.all { #expect(bytes(c.code) { Currency(storedCode: $0) } == c) }
        for t in TransactionType.allCases { #expect(bytes(t.rawValue) { TransactionType(stored: $0) } == t) }
        for s in TransactionStatus.allCases { #expect(bytes(s.rawValue) { TransactionStatus(stored: $0) } == s) }
        for bad in ["", "eur", "EU", "EURO", "XXX", "EU\u{0}"] { #expect(bytes(bad) { Currency(storedCode: $0) } == nil, "\(bad)") }
        for bad in ["", "Paid", "pai", "paidx", "pending ", "payin"] { #expect(bytes(bad) { TransactionStatus(stored: $0) } == nil, "\(bad)") }
        for bad in ["", "PAYIN", "payi", "payouts", "paid"] { #expect(bytes(bad) { TransactionType(stored: $0) } == nil, "\(bad)") }
    }

    @Test func typedAmountsBecomeMinorUnits() throws {
        #expect(try Amount.parse("1234.50", currency: eur).minor == 123450)
        #expect(try Amount.parse("1,234.5", currency: eur).minor == 123450)
        #expect(try Amount.parse(" 0.01 ", currency: eur).minor == 1)
        #expect(try Amount.parse(".5", currency: eur).minor == 50)
        #expect(try Amount.parse("1500", currency: jpy).minor == 1500)
        #expect(try Amount.parse("12.345", currency: kwd).minor == 12345)
        #expect(try Amount.parse("007", currency: eur).minor == 700)
    }

    @Test func badAmountsAreRefusedWithAReason() {
        #expect(throws: AmountProblem.empty) { try Amount.parse("  ", currency: eur) }
        #expect(throws: AmountProblem.notPositive) { try Amount.parse("0.00", currency: eur) }
        #expect(throws: AmountProblem.notPositive) { try Amount.parse("-5", currency: eur) }
        #expect(throws: AmountProblem.tooPrecise(eur)) { try Amount.parse("1.234", currency: eur) }
        #expect(throws: AmountProblem.tooPrecise(jpy)) { try Amount.parse("10.5", currency: jpy) }
        for bad in ["1e5", "1.2.3", "abc", "1,,000", ",5", "5,", "1.", "0x10", "１２", "NaN", "1 .5"] {
            #expect(throws: AmountProblem.malformed, "\(bad)") { try Amount.parse(bad, currency: eur) }
        }
        #expect(throws: AmountProblem.tooLarge(eur)) { try Amount.parse("99999999999999999999", currency: eur) }
        #expect(AmountProblem.tooPrecise(jpy).message.contains("whole number"))
    }

    @Test func amountsReadWithTheCurrencysExponent() {
        #expect(Amount(minor: 123450, currency: eur).major == "1234.50")
        #expect(Amount(minor: 5, currency: eur).major == "0.05")
        #expect(Amount(minor: 1500, currency: jpy).major == "1500")
        #expect(Amount(minor: 12345, currency: kwd).major == "12.345")
        #expect(Amount(minor: -250, currency: eur).major == "-2.50")
        #expect(Amount(minor: 123456789, currency: eur).display == "€1,234,567.89")
        #expect(Amount(minor: 12345, currency: kwd).display == "12.345 KWD")
        #expect(Amount(minor: -500, currency: eur).display == "−€5.00")
        #expect(Amount(minor: 1000000, currency: jpy).display == "¥1,000,000")
        // Inner groups keep their zeros; fractions too.
        #expect(Amount(minor: 100_005_000_07, currency: eur).display == "€100,005,000.07")
        #expect(Amount(minor: 1_000_000_005, currency: kwd).display == "1,000,000.005 KWD")
        #expect(Amount(minor: 999, currency: jpy).display == "¥999")
        #expect(Amount(minor: 0, currency: eur).display == "€0.00")
    }

    @Test func aZoneKeepsAnHoursOffsetOnlyWhenItHoldsForTheWholeHour() {
        // Around summer time in New York, Lord Howe's half-hour shift, and Amsterdam's 1937
        // change from +00:19:32 to +00:20 at an odd second: every minute, forwards and
        // backwards, with one zone asked in turn as a page's rows ask it.
        let spans: [(String, Int64)] = [("America/New_York", 1_772_953_200), ("America/New_York", 1_793_512_800),
                                        ("Australia/Lord_Howe", 1_775_314_800), ("Europe/Amsterdam", -1_025_745_572), ("Asia/Kolkata", 1_700_000_000)]
        for (name, around) in spans {
            let tz = TimeZone(identifier: name)!
            let times = Array(stride(from: around - 3 * 3600, through: around + 3 * 3600, by: 37))
            for order in [times, times.reversed()] {
                var zone = PageTime.Zone(name)
                for t in order {
                    #expect(zone.offset(t) == Int64(tz.secondsFromGMT(for: Date(timeIntervalSince1970: TimeInterval(t)))), "\(name) \(t)")
                }
            }
        }
    }

    @Test func tableTimesShowTheDayInTheReadersZoneAndTheInstantInUTC() {
        // 2023-11-14T22:13:20Z is already the 15th in Kolkata (+05:30) and still the 14th in New York (-05:00).
        #expect(PageTime.compact(1_700_000_000, zone: "Asia/Kolkata")
            == "<time datetime=\"2023-11-14T22:13:20Z\" title=\"15 Nov 2023, 03:43 (Asia/Kolkata)\">15 Nov 2023</time>")
        #expect(PageTime.compact(1_700_000_000, zone: "America/New_York")
            == "<time datetime=\"2023-11-14T22:13:20Z\" title=\"14 Nov 2023, 17:13 (America/New_York)\">14 Nov 2023</time>")
        // Summer time: New York is -04:00 in July.
        #expect(PageTime.compact(1_783_000_000, zone: "America/New_York").contains("title=\"2 Jul 2026, 09:46 (America/New_York)\""))
        #expect(PageTime.compact(-1, zone: "Nonsense/Zone") == "<time datetime=\"1969-12-31T23:59:59Z\" title=\"31 Dec 1969, 23:59 (UTC)\">31 Dec 1969</time>")
    }

    /// The hand-written times read as Foundation's formatter writes them, from 1601 to year
    /// 14,000 (five-digit years), in zones on both sides of UTC, a table's times included.
    @Test func handWrittenTimesReadAsFoundationsFormatterWritesThem() {
        for name in ["UTC", "Asia/Kathmandu", "America/St_Johns", "Pacific/Chatham"] {
            let f = DateFormatter()
            f.locale = Locale(identifier: "en_US_POSIX")
            f.calendar = Calendar(identifier: .gregorian)
            f.timeZone = TimeZone(identifier: name)!
            f.dateFormat = "d MMM y"
            let hm = DateFormatter()
            hm.locale = f.locale
            hm.timeZone = f.timeZone
            hm.dateFormat = "HH:mm"
            var zone = PageTime.Zone(name)
            for t in stride(from: Int64(-11_600_000_000), to: 379_000_000_000, by: 3_333_333_337) + [0, 59, 3599, 86_399, 1_700_000_000] {
                let date = Date(timeIntervalSince1970: TimeInterval(t))
                let day = f.string(from: date), label = name == "UTC" ? "UTC" : name
                #expect(PageTime.day(t, zone: name) == day, "\(t) \(name)")
                #expect(PageTime.full(t, zone: name) == "\(day), \(hm.string(from: date)) (\(label))", "\(t) \(name)")
                var w = HTMLWriter(capacity: 16)
                PageTime.compact(t, in: &zone, into: &w)
                #expect(w.string.hasSuffix("title=\"\(day), \(hm.string(from: date)) (\(label))\">\(day)</time>"), "\(t) \(name)")
                #expect(w.string.hasPrefix("<time datetime=\"\(PageTime.iso8601(t))\""))
            }
        }
    }

    @Test func partiesKeepOnlyTheLastFourOfAnAccount() {
        let p = Party(name: "Ada", country: "NG", method: .bank, account: "GB82 WEST 1234 5698 7654 32")
        #expect(p.last4 == "5432" && p.masked == "•••• 5432")
    }
}

@Suite("Money: the ledger, transactions and the Sandbox simulator")
struct LedgerTests {
    @Test func aPayinIsPendingUntilPaidThenAvailable() throws {
        let m = try MoneyBench()
        let t = try m.create(.payin, "100.00")
        #expect(t.status == .pending && t.publicID.hasPrefix("txn_"))
        #expect(try m.balances() == (0, 10000))
        let p = try m.move(try m.move(t, .processing), .paid)
        #expect(p.settledAt != nil)
        #expect(try m.balances() == (10000, 0))
        let h = try m.database.read { try m.transactions.history(p, on: $0) }
        #expect(h.map(\.status) == [.pending, .processing, .paid])
        #expect(h.allSatisfy { $0.actor == "Operator" })
    }

    @Test func moneyOutIsRefusedBeyondTheAvailableBalanceAndLeavesNothing() throws {
        let m = try MoneyBench()
        _ = try m.move(try m.move(try m.create(.payin, "50.00"), .processing), .paid)
        #expect(throws: TransactionProblem.insufficientFunds(available: Amount(minor: 5000, currency: Currency(code: "EUR")!))) {
            try m.create(.payout, "50.01")
        }
        #expect(try m.database.read { try $0.scalar("SELECT count(*) FROM transactions", as: Int.self) } == 1)
        let out = try m.create(.payout, "20.00")
        #expect(try m.balances() == (3000, 2000))
        _ = try m.move(out, .cancelled)
        #expect(try m.balances() == (5000, 0))
    }

    @Test func theLifecycleOnlyGoesForward() throws {
        let m = try MoneyBench()
        let t = try m.create(.payin, "1.00")
        #expect(throws: TransactionProblem.cannotMove(from: .pending, to: .paid)) { try m.move(t, .paid) }
        let failed = try m.move(t, .failed)
        #expect(failed.errorCode == "failed")
        #expect(throws: TransactionProblem.cannotMove(from: .failed, to: .processing)) { try m.move(failed, .processing) }
        // A stale record (someone moved it first) loses instead of overwriting.
        #expect(throws: TransactionProblem.cannotMove(from: .failed, to: .processing)) { try m.move(t, .processing) }
    }

    @Test func externalIDsAreUniquePerOrganizationAndEnvironment() throws {
        let m = try MoneyBench()
        let first = try m.create(.payin, "1.00", externalID: "order-1")
        #expect(throws: TransactionProblem.duplicateExternalID(existing: first.publicID)) { try m.create(.payin, "2.00", externalID: "order-1") }
        _ = try m.create(.payin, "2.00", env: .production, externalID: "order-1")
        #expect(throws: TransactionProblem.self) { try m.create(.payin, "2.00", externalID: "has space") }
    }

    @Test func everyChangeIsAuditedAndLeavesAnEventInTheSameTransaction() throws {
        let m = try MoneyBench()
        let t = try m.create(.payin, "3.00")
        _ = try m.move(t, .processing)
        let (actions, events) = try m.database.read { db in
            (try db.query("SELECT action FROM audit_events ORDER BY id").map { try $0.string(0) },
             try db.query("SELECT type, object_id, data FROM events ORDER BY id").map { (try $0.string(0), try $0.string(1), try $0.string(2)) })
        }
        #expect(actions == ["transaction.created", "transaction.status_changed"])
        #expect(events.map(\.0) == ["transaction.created", "transaction.updated"])
        #expect(events.allSatisfy { $0.1 == t.publicID })
        #expect(events[1].2.contains("\"status\":\"processing\"") && events[1].2.contains("\"amount\":300"))
    }

    /// Thousands of random operations: every balance stays equal to the sum of its entries,
    /// none goes below zero, and the rollup counts every transaction once at its status.
    @Test func randomOperationsKeepEveryBalanceEqualToItsEntries() throws {
        let m = try MoneyBench()
        var rng = SplitMix(seed: 20261205)
        let codes = ["EUR", "JPY", "KWD"]
        var open: [TransactionRecord] = []
        var refused = 0
        for _ in 0..<3000 {
            if open.isEmpty || rng.next() % 3 == 0 {
                let type = [TransactionType.payin, .payin, .payout, .fee, .refund][Int(rng.next() % 5)]
                let code = codes[Int(rng.next() % 3)]
                let amount = Amount(minor: Int64(rng.next() % 50_000) + 1, currency: Currency(code: code)!)
                do {
                    open.append(try m.database.write { db in
                        try m.transactions.create(.init(type: type, amount: amount), in: m.scope(), by: .operator, on: db)
                    })
                } catch TransactionProblem.insufficientFunds { refused += 1 }
            } else {
                let i = Int(rng.next() % UInt64(open.count))
                let t = open[i]
                let next: [TransactionStatus] = t.status == .pending ? [.processing, .failed, .cancelled] : [.paid, .paid, .paid, .failed, .cancelled]
                let moved = try m.move(t, next[Int(rng.next() % UInt64(next.count))])
                if moved.status.isOpen { open[i] = moved } else { open.remove(at: i) }
            }
        }
        #expect(refused > 0, "the run should have tried to overdraw")
        try m.database.read { db in
            #expect(try m.transactions.unbalancedAccounts(m.scope(), on: db).isEmpty)
            #expect(try db.scalar("SELECT count(*) FROM ledger_entries WHERE available_after < 0 OR pending_after < 0", as: Int.self) == 0)
            let stats = try db.query("SELECT currency, status, sum(count), sum(amount) FROM transaction_stats GROUP BY 1, 2 HAVING sum(count) > 0 ORDER BY 1, 2")
            let actual = try db.query("SELECT currency, status, count(*), sum(amount) FROM transactions GROUP BY 1, 2 ORDER BY 1, 2")
            #expect(stats.map { $0.values } == actual.map { $0.values })
            // Open transactions are exactly what pending holds.
            for a in try m.transactions.accounts(m.scope(), on: db) {
                let pending = try db.scalar("SELECT coalesce(sum(amount), 0) FROM transactions WHERE account_id = ? AND status IN ('pending', 'processing')", a.id, as: Int64.self)
                #expect(pending == a.pending)
            }
        }
    }

    /// Many threads paying out of one balance at once: the total paid out never exceeds it.
    @Test func concurrentPayoutsCannotOverdraw() throws {
        let m = try MoneyBench()
        _ = try m.move(try m.move(try m.create(.payin, "100.00"), .processing), .paid)
        let eur = Currency(code: "EUR")!
        let results = Mutex<(ok: Int, refused: Int)>((0, 0))
        DispatchQueue.concurrentPerform(iterations: 40) { _ in
            do {
                try m.database.write { db in
                    _ = try m.transactions.create(.init(type: .payout, amount: Amount(minor: 700, currency: eur)), in: m.scope(), by: .operator, on: db)
                }
                results.withLock { $0.ok += 1 }
            } catch { results.withLock { $0.refused += 1 } }
        }
        #expect(results.withLock { $0.ok } == 14 && results.withLock { $0.refused } == 26)
        #expect(try m.balances() == (200, 9800))
    }

    @Test func theSimulatorMovesSandboxMoneyAndMagicAmountsFail() throws {
        let m = try MoneyBench()
        let ok = try m.create(.payin, "10.00")
        let bad = try m.create(.payin, "10.13")
        let cancelled = try m.create(.payin, "10.15")
        let stuck = try m.create(.payin, "10.16")
        let live = try m.create(.payin, "10.00", env: .production)
        for _ in 0..<3 {
            m.clock.advance(seconds: SandboxSimulator.step)
            _ = try m.jobs.runDue()
        }
        let status = { (t: TransactionRecord) in try m.database.read { try m.transactions.find(id: t.id, on: $0)! } }
        #expect(try status(ok).status == .paid)
        let failed = try status(bad)
        #expect(failed.status == .failed && failed.errorCode == "recipient_account_invalid")
        #expect(failed.errorNote == "Recipient's bank rejected the account number")
        #expect(try status(cancelled).status == .cancelled)
        #expect(try status(stuck).status == .processing)
        #expect(try status(live).status == .pending, "Production never moves by itself")
        #expect(try m.balances() == (1000, 1016))
        let h = try m.database.read { try m.transactions.history(ok, on: $0) }
        #expect(h.map(\.actor) == ["Operator", "Simulator", "Simulator"])
    }
}

/// A small deterministic generator (SplitMix64) so a failing run can be replayed.
struct SplitMix: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49EB_2D3E_F7C9
        return z ^ (z >> 31)
    }
}
