import Database
import Foundation
import Jobs
import Security

/// Fills one organization's Sandbox with a history of demo transactions, fast: the bulk path
/// behind `portal seed-demo --transactions N`.
///
/// It writes exactly the rows ``Transactions`` would have written had every transaction been
/// created through the API and moved by the Sandbox simulator: the transaction (with its
/// final status), its status history, one ledger entry per movement with the balances after
/// it, the hourly rollup, the account balances, plus payouts waiting for authorization with
/// their holds and expiry jobs. Pages and reports cannot tell it from real traffic.
///
/// What it does not write, on purpose: one audit event and one event row per change. A
/// million `transaction.created` events would be a million webhooks waiting for an endpoint
/// that does not exist, and a million audit lines "the simulator moved …" would bury the
/// organization's log; nobody did those things. The run is audited once ("demo data seeded",
/// with its size and seed).
///
/// How it stays consistent and fast:
/// - Time moves forward only. Creation times are drawn first (an hourly rhythm over the
///   months), then each transaction is created in order; its later money movement (paid,
///   failed…) waits in a heap and is written when the clock passes it. So ledger entries are
///   in time order per account, each entry's running balance is right, and an outgoing
///   transaction is created only when the available balance covers it (otherwise it becomes
///   a pay-in): no balance ever goes below zero. Each currency starts with an opening pay-in.
/// - Balances are kept in memory beside the entries and written once per batch; the rollup is
///   summed in memory and added once per batch.
/// - One writer transaction per batch of about ``batchRows`` rows, cut preferably where no
///   movement is in flight, with the same prepared statements throughout.
/// - Deterministic: every choice comes from a ``SeededRandom`` of the seed; only public ids
///   (random, as everywhere) and the end of the history (``Plan/end``) differ between runs.
final class MoneySeeder {
    struct Plan: Sendable {
        var transactions: Int
        var months: Int
        var seed: UInt64
        /// The end of the history (unix seconds): no transaction is created or moved after it;
        /// those still moving then are left pending or processing, with their simulator job due.
        var end: Int64
        var batchRows = 30_000
    }

    struct Progress: Sendable {
        let transactions: Int
        let total: Int
        let rows: Int
    }

    struct Summary: Sendable {
        let transactions: Int
        let rows: Int
        let pendingPayouts: Int
        let accounts: Int
        let start: Int64
        let end: Int64
    }

    /// The people of the organization, for the payouts they prepared.
    struct Member: Sendable {
        let id: Int64
        let name: String
    }

    static let payoutLifetime = Payouts.lifetime
    static let payoutExpiryJob = PayoutExpiry.kind
    static let apiActor = "API"

    let database: Database
    let scope: MoneyScope
    let plan: Plan
    let members: [Member]
    let audit: Audit
    private let store = SeedStore()
    private let accountStore = MoneyStore()

    private var r: SeededRandom
    private var accounts: [Account] = []
    private var weights: [Double] = []
    private var heap = EventHeap()
    private var stats: [StatKey: (count: Int64, amount: Int64)] = [:]
    private var ids = PublicIDSource()
    private var rows = 0
    private var made = 0
    private var inFlight = 0
    private var payoutsMade = 0
    private var stillMoving = 0
    private var generated = 0

    private struct Account {
        let id: Int64
        let profile: DemoTraffic.Profile
        var available: Int64 = 0
        var pending: Int64 = 0
    }

    private struct StatKey: Hashable {
        let account: Int
        let hour: Int64
        let status: TransactionStatus
    }

    init(database: Database, clock: PortalClock, scope: MoneyScope, members: [Member], plan: Plan) {
        self.database = database
        self.scope = scope
        self.plan = plan
        self.members = members
        self.audit = Audit(clock: clock)
        r = SeededRandom(seed: plan.seed)
    }

    /// The first moment of the history: `months` calendar months before its end.
    var start: Int64 {
        var c = Calendar(identifier: .gregorian)
        c.timeZone = TimeZone(identifier: "UTC")!
        let end = Date(timeIntervalSince1970: TimeInterval(plan.end))
        return Int64((c.date(byAdding: .month, value: -plan.months, to: end) ?? end).timeIntervalSince1970)
    }

    func run(progress: (Progress) -> Void) throws -> Summary {
        let start = self.start
        let profiles = DemoTraffic.profiles.prefix(max(1, min(DemoTraffic.profiles.count, plan.transactions)))
        try database.write { db in
            guard try store.transactionCount(scope, on: db) == 0 else { throw DemoDataProblem.notEmpty }
            for p in profiles {
                let a = try accountStore.openAccount(scope, currency: p.currency, at: start - 3600, on: db)
                accounts.append(Account(id: a.id, profile: p))
            }
            weights = accounts.map(\.profile.weight)
        }
        let times = creationTimes(count: plan.transactions - accounts.count, from: start, to: plan.end)
        // The newest few are still moving when the history ends, whatever N: the dashboard
        // always has pending and processing examples (every other one of each).
        stillMoving = min(times.count, 3 + times.count / 20_000, 60)
        generated = times.count
        schedulePendingPayouts()
        progress(Progress(transactions: 0, total: plan.transactions, rows: 0))

        var next = 0
        var funded = false
        var finished = false
        while !finished {
            try database.write { db in
                try store.setCacheSize(kibibytes: 256 * 1024, on: db)
                defer { try? store.setCacheSize(kibibytes: 2000, on: db) }
                let batchStart = rows
                if !funded {
                    // Opening balances: one pay-in per currency an hour before the history,
                    // settled at once, large enough for the payouts that follow.
                    for i in accounts.indices {
                        let p = accounts[i].profile
                        let amount = Int64(p.median * 500) * p.currency.scale
                        try create(account: i, type: .payin, outcome: .paid, amount: amount, at: start - 3600, sequence: 0, opening: true, on: db)
                    }
                    funded = true
                }
                while next < times.count {
                    let t = times[next]
                    try flush(upTo: t, on: db)
                    try create(at: t, sequence: next + 1, on: db)
                    next += 1
                    if made % 2000 == 0 { progress(Progress(transactions: made, total: plan.transactions, rows: rows)) }
                    let size = rows - batchStart
                    if size >= plan.batchRows && (inFlight == 0 || size >= 3 * plan.batchRows) { break }
                }
                if next == times.count {
                    try flush(upTo: plan.end, on: db)
                    try audit.record(DemoDataAuditEvents.seeded, by: Actor(userID: nil, ip: "127.0.0.1", userAgent: "portal seed-demo"),
                                     organization: scope.organizationID, environment: scope.environment.rawValue,
                                     subject: "\(made) transactions",
                                     details: ["transactions": .text(String(made)), "months": .text(String(plan.months)),
                                               "seed": .text(String(plan.seed)), "payouts": .text(String(payoutsMade))], on: db)
                    finished = true
                }
                try writeBalancesAndStats(on: db)
            }
            progress(Progress(transactions: made, total: plan.transactions, rows: rows))
        }
        return Summary(transactions: made, rows: rows, pendingPayouts: payoutsMade, accounts: accounts.count, start: start, end: plan.end)
    }

    // MARK: the timeline

    /// `count` creation times in order: each hour of the history gets its share of a weight
    /// (time of day, weekday, payday, growth, a day's luck), spread uniformly inside it.
    private func creationTimes(count: Int, from start: Int64, to end: Int64) -> [Int64] {
        guard count > 0, end > start else { return [] }
        let firstHour = start / 3600
        let hours = Int((end - 1) / 3600 - firstHour + 1)
        var weights = [Double](repeating: 0, count: hours)
        var dayNoise = 1.0
        var lastDay: Int64 = -1
        for h in 0..<hours {
            let t = (firstHour + Int64(h)) * 3600
            if t / 86_400 != lastDay {
                lastDay = t / 86_400
                dayNoise = 0.85 + 0.3 * r.unit()
            }
            let from = max(t, start), to = min(t + 3600, end)
            weights[h] = DemoTraffic.hourWeight(t, progress: Double(h) / Double(max(hours - 1, 1)), dayNoise: dayNoise)
                * Double(to - from) / 3600
        }
        let total = weights.reduce(0, +)
        var times: [Int64] = []
        times.reserveCapacity(count)
        var cumulative = 0.0
        var given = 0
        for h in 0..<hours {
            cumulative += weights[h]
            let upTo = h == hours - 1 ? count : min(count, Int((Double(count) * cumulative / total).rounded()))
            let n = upTo - given
            guard n > 0 else { continue }
            given = upTo
            let t = (firstHour + Int64(h)) * 3600
            let from = max(t, start), to = min(t + 3600, end)
            var inHour = (0..<n).map { _ in r.int(from...(to - 1)) }
            inHour.sort()
            times.append(contentsOf: inHour)
        }
        return times
    }

    /// A handful of payouts prepared in the last days and not yet authorized (some by the
    /// Owner, some by the other member, so each can authorize the other's).
    private func schedulePendingPayouts() {
        let count = plan.transactions >= 1000 ? 6 : plan.transactions >= 20 ? 2 : 0
        for k in 0..<count {
            let t = plan.end - r.int(600...(6 * 86_400))
            heap.push(t, .hold(k))
        }
    }

    /// Writes every movement due by `time`.
    private func flush(upTo time: Int64, on db: Connection) throws {
        while let e = heap.popDue(time) {
            switch e.event {
            case .settle(let txnID, let account, let type, let status, let amount):
                inFlight -= 1
                let a = amount
                let (available, pending): (Int64, Int64) = switch (type.isIncoming, status) {
                case (true, .paid): (a, -a)
                case (true, _): (0, -a)
                case (false, .paid): (0, -a)
                case (false, _): (a, -a)
                }
                try post(account, available: available, pending: pending, transactionID: txnID, payoutID: nil,
                         reason: "\(type.rawValue).\(status.rawValue)", at: e.time, on: db)
            case .hold(let k):
                try preparePayout(k, at: e.time, on: db)
            }
        }
    }

    // MARK: transactions

    private func create(at t: Int64, sequence: Int, on db: Connection) throws {
        let account = r.weighted(weights)
        var type = DemoTraffic.type[r.weighted(DemoTraffic.typeWeights)]
        let outcome = DemoTraffic.outcome(type, recent: t > plan.end - 3 * 86_400, &r)
        let amount = DemoTraffic.amount(accounts[account].profile, type, outcome, &r)
        // Money leaves only what is there: an unaffordable payout is a pay-in instead.
        if !type.isIncoming && accounts[account].available < amount { type = .payin }
        let fromEnd = generated - sequence
        let moving: TransactionStatus? = fromEnd < stillMoving ? (fromEnd % 2 == 0 ? .processing : .pending) : nil
        try create(account: account, type: type, outcome: outcome, amount: amount, at: t, sequence: sequence, opening: false,
                   stillMoving: moving, on: db)
    }

    private func create(account i: Int, type: TransactionType, outcome: DemoTraffic.Outcome, amount: Int64, at t: Int64, sequence: Int,
                        opening: Bool, stillMoving: TransactionStatus? = nil, on db: Connection) throws {
        let p = accounts[i].profile
        let end = plan.end
        let counterparty: Party
        let sender: Party, recipient: Party
        switch type {
        case .payin:
            counterparty = opening ? DemoTraffic.merchant : DemoTraffic.party(p, business: r.chance(0.1), &r)
            (sender, recipient) = (counterparty, DemoTraffic.merchant)
        case .payout, .refund:
            counterparty = DemoTraffic.party(p, business: type == .payout && r.chance(0.3), &r)
            (sender, recipient) = (DemoTraffic.merchant, counterparty)
        case .fee:
            counterparty = Party(name: "Portal fees", country: "GB", method: .bank, last4: "0001")
            (sender, recipient) = (DemoTraffic.merchant, counterparty)
        }
        let externalID = opening ? "OPENING-\(p.currency.code)" : DemoTraffic.externalID(type, sequence: sequence, &r)
        let metadata = opening ? "{\"purpose\":\"opening_balance\"}" : DemoTraffic.metadata(type, sequence: sequence, at: t, &r)
        let (d1, d2) = DemoTraffic.delays(type, counterparty, outcome, &r)
        var t1 = t + d1, t2 = t1 + d2
        switch stillMoving {
        case .pending?: (t1, t2) = (max(t1, end + 30 + d1), max(t1, end + 30 + d1) + d2)
        case .processing?: (t1, t2) = (min(t1, end), max(t2, end + 60 + d2))
        default: break
        }

        // Where it stands at the end of the history, and how it got there.
        var history: [(TransactionStatus, Int64, (code: String, note: String)?, String?)] = [(.pending, t, nil, nil)]
        if t1 <= end { history.append((.processing, t1, nil, nil)) }
        let settles = outcome != .staysProcessing && t2 <= end
        if settles {
            let note = outcome == .cancelled ? "Cancelled by the recipient's bank" : nil
            history.append((outcome.final, t2, outcome.error, note))
        }
        let (status, updatedAt) = (history.last!.0, history.last!.1)
        let error = status == .failed ? outcome.error : nil

        let id = try store.insertTransaction(SeedStore.Row(
            publicID: ids.make("txn"), accountID: accounts[i].id, externalID: externalID, type: type, status: status, amount: amount,
            currency: p.currency.code, error: error, sender: sender, recipient: recipient, metadata: metadata, createdAt: t,
            updatedAt: updatedAt, settledAt: status == .paid ? t2 : nil), scope: scope, on: db)
        rows += 1
        for (s, at, err, note) in history {
            try store.insertHistory(transactionID: id, status: s, errorCode: err?.code, note: err?.note ?? note,
                                    actor: s == .pending ? Self.apiActor : MoneyActor.simulator.name, at: at, on: db)
            rows += 1
        }
        if type.isIncoming {
            try post(i, available: 0, pending: amount, transactionID: id, payoutID: nil, reason: "payin.pending", at: t, on: db)
        } else {
            try post(i, available: -amount, pending: amount, transactionID: id, payoutID: nil, reason: "\(type.rawValue).hold", at: t, on: db)
        }
        if settles {
            heap.push(t2, .settle(transactionID: id, account: i, type: type, status: status, amount: amount))
            inFlight += 1
        } else if status == .pending || outcome != .staysProcessing {
            // Still moving when the history ends: the simulator takes it from here, when its
            // next step is due (as it would have, had it been created through the API).
            try JobQueue.enqueue(SandboxSimulator.kind, payload: String(id), runAt: status == .pending ? t1 : t2, now: t, on: db)
            rows += 1
        }
        stats[StatKey(account: i, hour: t / 3600, status: status), default: (0, 0)].count += 1
        stats[StatKey(account: i, hour: t / 3600, status: status), default: (0, 0)].amount += amount
        made += 1
    }

    /// ``MoneyStore/post`` in memory: moves the balances and writes one entry per bucket that
    /// moved, available first, each with the balances after it.
    private func post(_ i: Int, available: Int64, pending: Int64, transactionID: Int64?, payoutID: Int64?, reason: String, at t: Int64,
                      on db: Connection) throws {
        accounts[i].available += available
        accounts[i].pending += pending
        let (a, p) = (accounts[i].available, accounts[i].pending)
        guard a >= 0, p >= 0 else { throw MoneyStoreError("demo seeding would take account \(accounts[i].id) below zero") }
        if available != 0 {
            try store.insertEntry(accountID: accounts[i].id, bucket: "available", amount: available, availableAfter: a,
                                  pendingAfter: pending != 0 ? p - pending : p, transactionID: transactionID, payoutID: payoutID,
                                  reason: reason, at: t, on: db)
            rows += 1
        }
        if pending != 0 {
            try store.insertEntry(accountID: accounts[i].id, bucket: "pending", amount: pending, availableAfter: a, pendingAfter: p,
                                  transactionID: transactionID, payoutID: payoutID, reason: reason, at: t, on: db)
            rows += 1
        }
    }

    private func writeBalancesAndStats(on db: Connection) throws {
        for a in accounts {
            try store.setBalances(accountID: a.id, available: a.available, pending: a.pending, at: plan.end, on: db)
        }
        for (key, value) in stats {
            try store.addStats(scope, currency: accounts[key.account].profile.currency.code, hour: key.hour, status: key.status,
                               count: value.count, amount: value.amount, on: db)
        }
        rows += stats.count
        stats.removeAll(keepingCapacity: true)
    }

    // MARK: payouts

    /// The beneficiaries of the pending payouts: valid IBANs and E.164 numbers, as the payout
    /// form would have accepted them.
    static let beneficiaries: [(currency: String, name: String, country: String, method: PaymentMethod, account: String, reference: String)] = [
        ("EUR", "Müller Logistik GmbH", "DE", .bank, iban("DE", "370400440532013000"), "Invoice 2026-114"),
        ("KES", "Wanjiru Kamau", "KE", .mobile, "+254712345678", "December commission"),
        ("NGN", "Okafor Foods Ltd", "NG", .mobile, "+2348031234567", "Supplier settlement"),
        ("GBP", "Patel Printing Ltd", "GB", .bank, iban("GB", "NWBK60161331926819"), "Order PO-7781"),
        ("GHS", "Kwame Mensah", "GH", .mobile, "+233241234567", "Agent payout"),
        ("EUR", "Camille Dubois", "FR", .bank, iban("FR", "20041010050500013M02606"), "Refund of order ORD-20931"),
    ]

    /// An IBAN with its check digits computed (ISO 13616: mod 97).
    static func iban(_ country: String, _ bban: String) -> String {
        let rearranged = bban + country + "00"
        var remainder = 0
        for ch in rearranged {
            let value = ch.isNumber ? Int(String(ch))! : Int(ch.unicodeScalars.first!.value) - 55
            for digit in String(value) { remainder = (remainder * 10 + Int(String(digit))!) % 97 }
        }
        let check = 98 - remainder
        return country + (check < 10 ? "0" : "") + String(check) + bban
    }

    private func preparePayout(_ k: Int, at t: Int64, on db: Connection) throws {
        let b = Self.beneficiaries[k % Self.beneficiaries.count]
        guard let i = accounts.firstIndex(where: { $0.profile.currency.code == b.currency }) ?? accounts.indices.first else { return }
        let p = accounts[i].profile
        let desired = Int64(r.logNormal(median: p.median * 8, sigma: 0.6, in: (p.median)...(p.median * 60))) * p.currency.scale
        let amount = min(desired, accounts[i].available / 4 / p.currency.scale * p.currency.scale)
        guard amount > 0 else { return }
        // The Owner prepares the even ones, the other member the odd ones.
        let creator = members[members.count > 1 ? k % 2 : 0]
        let id = try store.insertPendingPayout(SeedStore.PayoutRow(
            publicID: ids.make("po"), accountID: accounts[i].id, amount: amount, currency: p.currency.code,
            beneficiary: Party(name: b.name, country: b.country, method: b.method, account: b.account), account: b.account,
            reference: b.reference, createdBy: creator.id, createdByName: creator.name, createdAt: t), scope: scope, on: db)
        rows += 1
        try post(i, available: -amount, pending: amount, transactionID: nil, payoutID: id, reason: "payout.hold", at: t, on: db)
        try JobQueue.enqueue(Self.payoutExpiryJob, payload: String(id), runAt: t + Self.payoutLifetime, now: t, on: db)
        rows += 1
        payoutsMade += 1
    }
}

/// Why demo data was not seeded.
enum DemoDataProblem: Error, CustomStringConvertible {
    case notEmpty
    var description: String { "the demo organization's Sandbox already has transactions" }
}

/// Money movements waiting for their time, earliest first (ties in the order they were pushed).
private struct EventHeap {
    enum Event {
        case settle(transactionID: Int64, account: Int, type: TransactionType, status: TransactionStatus, amount: Int64)
        case hold(Int)
    }

    struct Timed {
        let time: Int64
        let order: Int
        let event: Event
        func before(_ o: Timed) -> Bool { time < o.time || (time == o.time && order < o.order) }
    }

    private var items: [Timed] = []
    private var pushed = 0

    mutating func push(_ time: Int64, _ event: Event) {
        pushed += 1
        items.append(Timed(time: time, order: pushed, event: event))
        var i = items.count - 1
        while i > 0 {
            let parent = (i - 1) / 2
            guard items[i].before(items[parent]) else { break }
            items.swapAt(i, parent)
            i = parent
        }
    }

    /// The earliest event if it is due by `time`.
    mutating func popDue(_ time: Int64) -> Timed? {
        guard let first = items.first, first.time <= time else { return nil }
        let last = items.removeLast()
        if !items.isEmpty {
            items[0] = last
            var i = 0
            while true {
                let l = 2 * i + 1, rr = l + 1
                var m = i
                if l < items.count && items[l].before(items[m]) { m = l }
                if rr < items.count && items[rr].before(items[m]) { m = rr }
                if m == i { break }
                items.swapAt(i, m)
                i = m
            }
        }
        return first
    }
}

/// ``PublicID``s for a million rows: the same alphabet and 80 random bits, drawn from the
/// CSPRNG a few kilobytes at a time instead of one call per id.
private struct PublicIDSource {
    private static let alphabet = Array("abcdefghijkmnpqrstuvwxyz23456789".utf8)
    private var buffer: [UInt8] = []
    private var position = 0

    mutating func make(_ prefix: String) -> String {
        if position + 16 > buffer.count {
            buffer = SecureRandom.bytes(16 * 1024)
            position = 0
        }
        var bytes = Array(prefix.utf8)
        bytes.append(UInt8(ascii: "_"))
        // 256 is a multiple of 32: the low 5 bits of a random byte are uniform.
        for k in 0..<16 { bytes.append(Self.alphabet[Int(buffer[position + k] & 31)]) }
        position += 16
        return String(decoding: bytes, as: UTF8.self)
    }
}
