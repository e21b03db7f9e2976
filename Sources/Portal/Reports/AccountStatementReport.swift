import Database
import Foundation
import HTTP

/// The account report of one month as a pulled body: for each account of the environment (by
/// currency), an opening line with the balances when the month began, every ledger entry of
/// the month with the balances after it, and a closing line. The opening balances are one
/// lookup (the running balances kept beside the last earlier entry), not a sum of the past;
/// entries are paged by keyset over (created_at, id), one short read per batch.
final class AccountStatementReport: ReportBody, @unchecked Sendable {
    // Mutable state: the server calls `nextChunk` once at a time (see ``BodyProducer``).
    private let database: Database
    private let store: ReportsStore
    private let scope: MoneyScope
    private let month: ReportMonth
    /// The closing line's time: the month's end, or now for the current month.
    private let closingAt: Int64
    private var time: LocalTimeWriter
    private var accounts: [ReportAccount]? = nil
    private var index = 0
    /// The account being written: its cursor and its balances after the last line written.
    private var opened = false
    private var cursor: (Int64, Int64) = (Int64.min, Int64.min)
    private var available: Int64 = 0
    private var pending: Int64 = 0
    private(set) var rows = 0

    init(database: Database, store: ReportsStore, scope: MoneyScope, month: ReportMonth, zone: TimeZone, closingAt: Int64) {
        self.database = database
        self.store = store
        self.scope = scope
        self.month = month
        self.closingAt = closingAt
        self.time = LocalTimeWriter(zone: zone)
    }

    func nextChunk() throws -> [UInt8]? {
        var out: [UInt8] = []
        if accounts == nil {
            accounts = try database.read { try store.accounts(scope, openedBefore: month.end, on: $0) }
            out.append(contentsOf: ReportKind.accounts.header)
        }
        guard let accounts else { return nil }
        if index >= accounts.count { return out.isEmpty ? nil : out }
        out.reserveCapacity(ReportKind.chunkBytes + 8 * 1024)
        while out.count < ReportKind.chunkBytes && index < accounts.count {
            let account = accounts[index]
            let exponent = Currency(code: account.currency)?.exponent ?? 0
            if !opened {
                (available, pending) = try database.read { try store.balances(accountID: account.id, before: month.start, on: $0) }
                line(account, "opening", at: month.start, exponent: exponent, to: &out)
                opened = true
                cursor = (Int64.min, Int64.min)
            }
            let batch = try database.read { db in
                try store.ledger(accountID: account.id, from: month.start, to: month.end, after: cursor, limit: ReportKind.batchRows, on: db)
            }
            for e in batch {
                available = e.availableAfter
                pending = e.pendingAfter
                entry(account, e, exponent: exponent, to: &out)
            }
            if let last = batch.last { cursor = (last.createdAt, last.id) }
            if batch.count < ReportKind.batchRows {
                line(account, "closing", at: closingAt, exponent: exponent, to: &out)
                index += 1
                opened = false
            }
        }
        return out
    }


    /// An opening or closing line: the balances, no movement.
    private func line(_ a: ReportAccount, _ kind: String, at t: Int64, exponent: Int, to out: inout [UInt8]) {
        let comma = ReportKind.comma
        ReportKind.text(a.publicID, &out); out.append(comma)
        ReportKind.text(a.currency, &out); out.append(comma)
        ReportKind.plain(kind, &out); out.append(comma)
        time.append(t, to: &out)
        out.append(contentsOf: [comma, comma, comma, comma, comma]) // bucket, reason, credit, debit
        ReportKind.amount(available, exponent: exponent, &out); out.append(comma)
        ReportKind.amount(pending, exponent: exponent, &out); out.append(comma)
        out.append(comma) // transaction_id, payout_id
        out.append(contentsOf: ReportKind.crlf)
        rows += 1
    }

    private func entry(_ a: ReportAccount, _ e: ReportLedgerLine, exponent: Int, to out: inout [UInt8]) {
        let comma = ReportKind.comma
        ReportKind.text(a.publicID, &out); out.append(comma)
        ReportKind.text(a.currency, &out); out.append(comma)
        ReportKind.plain("entry", &out); out.append(comma)
        time.append(e.createdAt, to: &out); out.append(comma)
        ReportKind.text(e.bucket, &out); out.append(comma)
        ReportKind.text(e.reason, &out); out.append(comma)
        // Credit and debit, both positive: a statement's columns, and no cell starts with "-".
        if e.amount > 0 { ReportKind.amount(e.amount, exponent: exponent, &out) }
        out.append(comma)
        if e.amount < 0 { ReportKind.amount(-e.amount, exponent: exponent, &out) }
        out.append(comma)
        ReportKind.amount(available, exponent: exponent, &out); out.append(comma)
        ReportKind.amount(pending, exponent: exponent, &out); out.append(comma)
        ReportKind.text(e.transactionPublicID, &out); out.append(comma)
        ReportKind.text(e.payoutPublicID, &out)
        out.append(contentsOf: ReportKind.crlf)
        rows += 1
    }
}
