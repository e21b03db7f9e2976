import Foundation

/// A transaction as programs see it: the API's responses and the `data` of its events. Amounts
/// are integers of minor units (`amount`) with the currency's exponent beside them, and the
/// same amount as a decimal string (`amount_decimal`) for people reading a log.
struct TransactionJSON: Encodable, Sendable {
    struct PartyJSON: Encodable, Sendable {
        let name: String
        let country: String?
        let method: String?
        let account_last4: String?
    }

    struct ErrorJSON: Encodable, Sendable {
        let code: String
        let message: String
    }

    let id: String
    let object = "transaction"
    let environment: String
    let external_id: String?
    let type: String
    let status: String
    let amount: Int64
    let amount_decimal: String
    let currency: String
    let currency_exponent: Int
    let error: ErrorJSON?
    let sender: PartyJSON?
    let recipient: PartyJSON?
    let metadata: [String: String]
    let created_at: String
    let updated_at: String
    let settled_at: String?

    init(_ t: TransactionRecord) {
        id = t.publicID
        environment = t.scope.environment.rawValue
        external_id = t.externalID
        type = t.type.rawValue
        status = t.status.rawValue
        amount = t.amount.minor
        amount_decimal = t.amount.major
        currency = t.amount.currency.code
        currency_exponent = t.amount.currency.exponent
        error = t.errorCode.map { ErrorJSON(code: $0, message: t.errorNote ?? "") }
        sender = Self.party(t.sender)
        recipient = Self.party(t.recipient)
        metadata = t.metadata
        created_at = Self.time(t.createdAt)
        updated_at = Self.time(t.updatedAt)
        settled_at = t.settledAt.map(Self.time)
    }

    static func party(_ p: Party) -> PartyJSON? {
        p.isEmpty ? nil : PartyJSON(name: p.name, country: p.country.isEmpty ? nil : p.country, method: p.method?.rawValue,
                                    account_last4: p.last4.isEmpty ? nil : p.last4)
    }

    /// RFC 3339 in UTC: `2026-12-05T07:21:38Z`.
    static func time(_ t: Int64) -> String {
        var tm = tm()
        var seconds = time_t(t)
        gmtime_r(&seconds, &tm)
        return String(format: "%04d-%02d-%02dT%02d:%02d:%02dZ", Int(tm.tm_year) + 1900, Int(tm.tm_mon) + 1, Int(tm.tm_mday),
                      Int(tm.tm_hour), Int(tm.tm_min), Int(tm.tm_sec))
    }
}
