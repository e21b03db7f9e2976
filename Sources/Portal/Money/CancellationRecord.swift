/// A member's request to cancel a transaction (`transaction_cancellations`): applied at once
/// in Sandbox; in Production it waits for support (`support_request_id`), who applies or
/// refuses it.
struct CancellationRecord: Sendable {
    enum Status: String, Sendable {
        case requested, applied, refused, withdrawn

        var title: String {
            switch self {
            case .requested: "Waiting for support"
            case .applied: "Applied"
            case .refused: "Refused"
            case .withdrawn: "Withdrawn"
            }
        }
    }

    let id: Int64
    let publicID: String
    let transactionID: Int64
    let requestedBy: Int64?
    let requestedByName: String
    let reason: String
    let status: Status
    let supportRequestID: Int64?
    let createdAt: Int64
    let decidedAt: Int64?

    var isOpen: Bool { status == .requested }
}

/// A cancellation as programs see it: the `data` of its event rows.
struct CancellationJSON: Encodable, Sendable {
    let id: String
    let object = "cancellation"
    let transaction: String
    let status: String
    let reason: String
    let created_at: String

    init(_ c: CancellationRecord, transaction: String) {
        id = c.publicID
        self.transaction = transaction
        status = c.status.rawValue
        reason = c.reason
        created_at = TransactionJSON.time(c.createdAt)
    }
}
