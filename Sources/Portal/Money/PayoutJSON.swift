import Web

/// A payout as programs see it: the API's responses and the `data` of its events. Like
/// ``TransactionJSON``: minor units with the exponent, the decimal string beside them, and the
/// beneficiary's account only by its last 4.
struct PayoutJSON: JSONWritable, Sendable {
    let record: PayoutRecord

    init(_ p: PayoutRecord) { record = p }

    func write(to w: inout JSONWriter) {
        let p = record
        w.object { w in
            w.key("amount"); w.integer(p.amount.minor)
            w.key("amount_decimal"); w.string(p.amount.major)
            if !p.beneficiary.isEmpty { w.key("beneficiary"); TransactionJSON.write(p.beneficiary, to: &w) }
            w.key("created_at"); w.utcTime(p.createdAt)
            w.key("currency"); w.string(p.amount.currency.code)
            w.key("currency_exponent"); w.integer(p.amount.currency.exponent)
            if let d = p.decidedAt { w.key("decided_at"); w.utcTime(d) }
            w.key("environment"); w.string(p.scope.environment.rawValue)
            w.key("expires_at"); w.utcTime(p.expiresAt)
            w.key("id"); w.string(p.publicID)
            w.key("object"); w.string("payout")
            w.key("reference"); w.string(p.reference)
            if let r = p.rejectReason { w.key("reject_reason"); w.string(r) }
            w.key("status"); w.string(p.status.rawValue)
            // The `payout` transaction's id once authorized.
            if let t = p.transactionPublicID { w.key("transaction"); w.string(t) }
        }
    }
}
