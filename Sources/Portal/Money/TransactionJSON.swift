import Foundation
import Web

/// A transaction as programs see it: the API's responses and the `data` of its events. Amounts
/// are integers of minor units (`amount`) with the currency's exponent beside them, and the
/// same amount as a decimal string (`amount_decimal`) for people reading a log.
///
/// Written with a ``JSONWriter`` (keys in sorted order, absent optionals left out: what
/// `JSONEncoder` with `.sortedKeys` gave before, which `MoneyJSONTests` checks byte for byte):
/// a `/v1/transactions` page of 25 spent most of its time in the encoder.
struct TransactionJSON: JSONWritable, Sendable {
    let record: TransactionRecord

    init(_ t: TransactionRecord) { record = t }

    func write(to w: inout JSONWriter) {
        let t = record
        w.object { w in
            w.key("amount"); w.integer(t.amount.minor)
            w.key("amount_decimal"); w.string(t.amount.major)
            w.key("created_at"); w.utcTime(t.createdAt)
            w.key("currency"); w.string(t.amount.currency.code)
            w.key("currency_exponent"); w.integer(t.amount.currency.exponent)
            w.key("environment"); w.string(t.scope.environment.rawValue)
            if let code = t.errorCode {
                w.key("error")
                w.object { w in
                    w.key("code"); w.string(code)
                    w.key("message"); w.string(t.errorNote ?? "")
                }
            }
            if let e = t.externalID { w.key("external_id"); w.string(e) }
            w.key("id"); w.string(t.publicID)
            w.key("metadata"); Self.write(t.metadata, to: &w)
            w.key("object"); w.string("transaction")
            if !t.recipient.isEmpty { w.key("recipient"); Self.write(t.recipient, to: &w) }
            if !t.sender.isEmpty { w.key("sender"); Self.write(t.sender, to: &w) }
            if let s = t.settledAt { w.key("settled_at"); w.utcTime(s) }
            w.key("status"); w.string(t.status.rawValue)
            w.key("type"); w.string(t.type.rawValue)
            w.key("updated_at"); w.utcTime(t.updatedAt)
        }
    }

    /// A sender, recipient or beneficiary: only the last 4 of the account.
    static func write(_ p: Party, to w: inout JSONWriter) {
        w.object { w in
            if !p.last4.isEmpty { w.key("account_last4"); w.string(p.last4) }
            if !p.country.isEmpty { w.key("country"); w.string(p.country) }
            if let m = p.method { w.key("method"); w.string(m.rawValue) }
            w.key("name"); w.string(p.name)
        }
    }

    /// The integrator's metadata, keys in the order `JSONEncoder`'s `.sortedKeys` gives.
    static func write(_ map: [String: String], to w: inout JSONWriter) {
        w.object { w in
            for (k, v) in map.sorted(by: { $0.key.utf8.lexicographicallyPrecedes($1.key.utf8) }) {
                w.key(k); w.string(v)
            }
        }
    }

    /// RFC 3339 in UTC: `2026-12-05T07:21:38Z`.
    static func time(_ t: Int64) -> String {
        var w = JSONWriter(capacity: 24)
        w.utcTime(t)
        return String(decoding: w.bytes.dropFirst().dropLast(), as: UTF8.self)
    }
}
