/// A payout as programs see it: the API's responses and the `data` of its events. Like
/// ``TransactionJSON``: minor units with the exponent, the decimal string beside them, and the
/// beneficiary's account only by its last 4.
struct PayoutJSON: Encodable, Sendable {
    let id: String
    let object = "payout"
    let environment: String
    let status: String
    let amount: Int64
    let amount_decimal: String
    let currency: String
    let currency_exponent: Int
    let beneficiary: TransactionJSON.PartyJSON?
    let reference: String
    /// The `payout` transaction's id once authorized.
    let transaction: String?
    let reject_reason: String?
    let created_at: String
    let expires_at: String
    let decided_at: String?

    init(_ p: PayoutRecord) {
        id = p.publicID
        environment = p.scope.environment.rawValue
        status = p.status.rawValue
        amount = p.amount.minor
        amount_decimal = p.amount.major
        currency = p.amount.currency.code
        currency_exponent = p.amount.currency.exponent
        beneficiary = TransactionJSON.party(p.beneficiary)
        reference = p.reference
        transaction = p.transactionPublicID
        reject_reason = p.rejectReason
        created_at = TransactionJSON.time(p.createdAt)
        expires_at = TransactionJSON.time(p.expiresAt)
        decided_at = p.decidedAt.map(TransactionJSON.time)
    }
}
