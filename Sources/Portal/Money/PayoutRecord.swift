import Foundation

/// Where a payout stands. Only `pending_authorization` holds money; the others are final
/// (an authorized payout lives on as its `payout` transaction).
enum PayoutStatus: String, Sendable, CaseIterable {
    case pendingAuthorization = "pending_authorization"
    case authorized, rejected, expired

    var title: String {
        switch self {
        case .pendingAuthorization: "Waiting for authorization"
        case .authorized: "Authorized"
        case .rejected: "Rejected"
        case .expired: "Expired"
        }
    }
}

/// A payout as stored: prepared by one member, decided by another (or expired).
struct PayoutRecord: Sendable {
    let id: Int64
    let publicID: String
    let scope: MoneyScope
    let accountID: Int64
    let status: PayoutStatus
    let amount: Amount
    let beneficiaryName: String
    let beneficiaryCountry: String
    let method: PaymentMethod
    /// The whole IBAN or E.164 number (the money must reach it); pages show ``maskedAccount``.
    let beneficiaryAccount: String
    let reference: String
    let createdBy: Int64?
    let createdByName: String
    let decidedBy: Int64?
    let decidedByName: String?
    let rejectReason: String?
    let transactionID: Int64?
    /// The public id of the payout's transaction, once authorized.
    let transactionPublicID: String?
    let createdAt: Int64
    let expiresAt: Int64
    let decidedAt: Int64?
    let updatedAt: Int64

    /// The beneficiary as the payout's transaction keeps it: the account by its last 4 only.
    var beneficiary: Party { Party(name: beneficiaryName, country: beneficiaryCountry, method: method, account: beneficiaryAccount) }

    /// "•••• 5432": never the whole account on a page, in a mail or in an event.
    var maskedAccount: String { beneficiary.masked }

    /// Waiting for authorization and not past its 7 days (the expiry job may not have run yet).
    func isDecidable(now: Int64) -> Bool { status == .pendingAuthorization && expiresAt > now }
}
