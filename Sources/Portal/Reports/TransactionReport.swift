import Database
import Foundation
import HTTP

/// The transaction report of one month as a pulled body: the header, then the month's
/// transactions in time order, about 64 KB per chunk. It keeps a keyset cursor over
/// (created_at, id) and reads each batch in its own short read, so it holds no database
/// connection and no thread between chunks, and its memory does not grow with the month.
///
/// A closed month's bytes never change: transactions are created "now", so none is added to
/// a past month, and each row shows its status as at the month's end (from the status
/// history, written "now" too). That is what lets a checksum be kept for it.
final class TransactionReport: ReportBody, @unchecked Sendable {
    // Mutable state: the server calls `nextChunk` once at a time (see ``BodyProducer``).
    private let database: Database
    private let store: ReportsStore
    private let scope: MoneyScope
    private let month: ReportMonth
    private let asOf: Int64
    private var time: LocalTimeWriter
    private var cursor: (Int64, Int64) = (Int64.min, Int64.min)
    private var headerSent = false
    private var done = false
    /// Exponents by currency code, looked up once per code.
    private var exponents: [String: Int] = [:]
    /// Data rows written so far (the header not counted).
    private(set) var rows = 0

    /// `asOf`: statuses are those before this instant: the month's end, or now for the
    /// current month.
    init(database: Database, store: ReportsStore, scope: MoneyScope, month: ReportMonth, zone: TimeZone, asOf: Int64) {
        self.database = database
        self.store = store
        self.scope = scope
        self.month = month
        self.asOf = asOf
        self.time = LocalTimeWriter(zone: zone)
    }

    func nextChunk() throws -> [UInt8]? {
        if done { return nil }
        var out: [UInt8] = []
        out.reserveCapacity(ReportKind.chunkBytes + 8 * 1024)
        if !headerSent {
            headerSent = true
            out.append(contentsOf: ReportKind.transactions.header)
        }
        while out.count < ReportKind.chunkBytes {
            let batch = try database.read { db in
                try store.transactions(scope, from: month.start, to: month.end, asOf: asOf, after: cursor, limit: ReportKind.batchRows, on: db)
            }
            for t in batch { append(t, to: &out) }
            rows += batch.count
            if let last = batch.last { cursor = (last.createdAt, last.id) }
            if batch.count < ReportKind.batchRows {
                done = true
                break
            }
        }
        return out
    }

    private func append(_ t: ReportTransactionLine, to out: inout [UInt8]) {
        let comma = ReportKind.comma
        ReportKind.text(t.publicID, &out); out.append(comma)
        ReportKind.text(t.externalID, &out); out.append(comma)
        time.append(t.createdAt, to: &out); out.append(comma)
        ReportKind.text(t.type, &out); out.append(comma)
        let exponent = exponents[t.currency] ?? Currency(code: t.currency)?.exponent ?? 0
        exponents[t.currency] = exponent
        ReportKind.amount(t.amount, exponent: exponent, &out)
        out.append(comma)
        ReportKind.text(t.currency, &out); out.append(comma)
        ReportKind.text(t.status, &out); out.append(comma)
        time.append(t.statusAt, to: &out); out.append(comma)
        ReportKind.text(t.errorCode, &out); out.append(comma)
        ReportKind.text(t.statusNote, &out); out.append(comma)
        ReportKind.text(t.senderName, &out); out.append(comma)
        ReportKind.text(t.senderCountry, &out); out.append(comma)
        ReportKind.text(t.senderMethod, &out); out.append(comma)
        ReportKind.text(t.senderLast4, &out); out.append(comma)
        ReportKind.text(t.recipientName, &out); out.append(comma)
        ReportKind.text(t.recipientCountry, &out); out.append(comma)
        ReportKind.text(t.recipientMethod, &out); out.append(comma)
        ReportKind.text(t.recipientLast4, &out)
        out.append(contentsOf: ReportKind.crlf)
    }
}
