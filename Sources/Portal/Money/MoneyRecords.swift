import Foundation

/// One organization's money in one environment: every money table is scoped by both.
struct MoneyScope: Sendable, Hashable {
    let organizationID: Int64
    let environment: Environment
}

extension EnvAccess {
    /// The money this member's request is about.
    var scope: MoneyScope { MoneyScope(organizationID: org.id, environment: environment) }
}

enum TransactionType: String, Sendable, CaseIterable {
    case payin, payout, fee, refund

    var title: String {
        switch self {
        case .payin: "Pay-in"
        case .payout: "Payout"
        case .fee: "Fee"
        case .refund: "Refund"
        }
    }

    /// Money coming in (pending until paid) or going out (taken from available at creation).
    var isIncoming: Bool { self == .payin }
}

enum TransactionStatus: String, Sendable, CaseIterable {
    case pending, processing, paid, failed, cancelled

    var title: String {
        switch self {
        case .pending: "Pending"
        case .processing: "Processing"
        case .paid: "Paid"
        case .failed: "Failed"
        case .cancelled: "Cancelled"
        }
    }

    /// Whether it can still change (and so be cancelled).
    var isOpen: Bool { self == .pending || self == .processing }

    /// The lifecycle: pending → processing → paid; failed or cancelled from either open
    /// status. Nothing leaves paid, failed or cancelled.
    func canMove(to next: TransactionStatus) -> Bool {
        switch (self, next) {
        case (.pending, .processing), (.pending, .failed), (.pending, .cancelled): true
        case (.processing, .paid), (.processing, .failed), (.processing, .cancelled): true
        default: false
        }
    }
}

/// How a party holds its account: a bank account (IBAN or local number) or a mobile-money number.
enum PaymentMethod: String, Sendable, CaseIterable {
    case bank, mobile
    var title: String { self == .bank ? "Bank account" : "Mobile money" }
}

/// A sender or recipient as a transaction keeps it: the account number only by its last 4.
struct Party: Sendable, Hashable {
    var name: String
    /// ISO 3166-1 alpha-2, or empty.
    var country: String
    var method: PaymentMethod?
    var last4: String

    init(name: String = "", country: String = "", method: PaymentMethod? = nil, last4: String = "") {
        self.name = name
        self.country = country
        self.method = method
        self.last4 = last4
    }

    /// Keeps only the last 4 letters or digits of a full account number.
    init(name: String, country: String, method: PaymentMethod?, account: String) {
        self.init(name: name, country: country, method: method, last4: Party.last4(of: account))
    }

    static func last4(of account: String) -> String {
        String(account.filter { $0.isLetter || $0.isNumber }.suffix(4))
    }

    /// "•••• 1234", or "" when no account is known.
    var masked: String { last4.isEmpty ? "" : "•••• " + last4 }
    var isEmpty: Bool { name.isEmpty && country.isEmpty && method == nil && last4.isEmpty }
}

/// One currency account: its balances are the running sums of its ledger entries.
struct MoneyAccountRecord: Sendable {
    let id: Int64
    let publicID: String
    let scope: MoneyScope
    let currency: Currency
    let available: Int64
    let pending: Int64
    let createdAt: Int64
    let updatedAt: Int64

    var availableAmount: Amount { Amount(minor: available, currency: currency) }
    var pendingAmount: Amount { Amount(minor: pending, currency: currency) }
}

struct TransactionRecord: Sendable {
    let id: Int64
    let publicID: String
    let scope: MoneyScope
    let accountID: Int64
    let externalID: String?
    let type: TransactionType
    let status: TransactionStatus
    let amount: Amount
    let errorCode: String?
    let errorNote: String?
    let sender: Party
    let recipient: Party
    /// The integrator's small JSON map as stored (an object of string values). Lists never
    /// show it, so it is decoded only when asked for (a JSONDecoder per row was an eighth of
    /// the dashboard's time).
    let metadataJSON: String
    var metadata: [String: String] { MoneyStore.decodeMetadata(metadataJSON) }
    let payoutID: Int64?
    let createdAt: Int64
    let updatedAt: Int64
    let settledAt: Int64?
}

/// A transaction as a table row shows it (the dashboard's recent list, the list's pages):
/// read with only the columns such a row needs. A page of 25 full records made twenty-five
/// strings per row, metadata and parties' details no table shows, and their reading was a
/// third of a page's time.
struct TransactionSummary: Sendable {
    let id: Int64
    let publicID: String
    let externalID: String?
    let type: TransactionType
    let status: TransactionStatus
    let amount: Amount
    /// The sender of money coming in, the recipient of money going out.
    let counterparty: String
    let createdAt: Int64

    init(id: Int64, publicID: String, externalID: String?, type: TransactionType, status: TransactionStatus, amount: Amount,
         counterparty: String, createdAt: Int64) {
        self.id = id
        self.publicID = publicID
        self.externalID = externalID
        self.type = type
        self.status = status
        self.amount = amount
        self.counterparty = counterparty
        self.createdAt = createdAt
    }

    init(_ t: TransactionRecord) {
        self.init(id: t.id, publicID: t.publicID, externalID: t.externalID, type: t.type, status: t.status, amount: t.amount,
                  counterparty: t.type.isIncoming ? t.sender.name : t.recipient.name, createdAt: t.createdAt)
    }
}

/// What a transactions table shows of a row, from a ``TransactionSummary`` (the dashboard's
/// kept recent rows) or read in place from the statement (``MoneyStore/SummaryRow``, the
/// list's pages): one row writer for both. Texts are handed over as their UTF-8 bytes.
protocol TransactionRowFields {
    var createdAt: Int64 { get }
    var type: TransactionType { get }
    var status: TransactionStatus { get }
    var amount: Amount { get }
    func withPublicID(_ body: (UnsafeBufferPointer<UInt8>) -> Void)
    /// False, without calling `body`, when the transaction has no external id.
    func withExternalID(_ body: (UnsafeBufferPointer<UInt8>) -> Void) -> Bool
    /// The sender of money coming in, the recipient of money going out.
    func withCounterparty(_ body: (UnsafeBufferPointer<UInt8>) -> Void)
}

extension TransactionSummary: TransactionRowFields {
    func withPublicID(_ body: (UnsafeBufferPointer<UInt8>) -> Void) {
        var s = publicID
        s.withUTF8(body)
    }

    func withExternalID(_ body: (UnsafeBufferPointer<UInt8>) -> Void) -> Bool {
        guard var s = externalID else { return false }
        s.withUTF8(body)
        return true
    }

    func withCounterparty(_ body: (UnsafeBufferPointer<UInt8>) -> Void) {
        var s = counterparty
        s.withUTF8(body)
    }
}

/// One step of a transaction's status history.
struct StatusChange: Sendable {
    let status: TransactionStatus
    let errorCode: String?
    let note: String?
    /// Who moved it: a member's name, "Simulator", "Operator" or "API".
    let actor: String
    let at: Int64
}

/// Who moves money, for the audit log (`audit`) and the status history (`name`).
struct MoneyActor: Sendable {
    let audit: Actor
    let name: String

    /// A member acting through a page (the audit log names them; the history shows their name).
    static func member(_ access: EnvAccess, _ actor: Actor) -> MoneyActor {
        MoneyActor(audit: actor.with(userID: access.user.id), name: access.user.name)
    }

    /// The portal itself: the Sandbox simulator, the expiry job, the operator's command.
    static func system(_ name: String) -> MoneyActor {
        MoneyActor(audit: Actor(userID: nil, ip: "", userAgent: name), name: name)
    }

    static let simulator = system("Simulator")
    static let `operator` = system("Operator")
}

/// Why a money change was refused. `fields` are shown beside a form's fields; the API names
/// the parameter.
enum TransactionProblem: Error, Equatable {
    case notFound
    /// Field → message.
    case invalid([String: String])
    /// Another transaction of the organization and environment has this external id.
    case duplicateExternalID(existing: String)
    /// An outgoing amount above the account's available balance.
    case insufficientFunds(available: Amount)
    case cannotMove(from: TransactionStatus, to: TransactionStatus)
}

/// Stored names read from a row's bytes in place (``RowView/withUTF8(_:_:)``), without a
/// string for each: a page of 25 rows reads 50 of them.
protocol StoredName: RawRepresentable, CaseIterable where RawValue == String {
    /// Each case with its stored name's bytes (``utf8Names()``, kept).
    static var storedNames: [(Self, [UInt8])] { get }
}

extension StoredName {
    static func utf8Names() -> [(Self, [UInt8])] { allCases.map { ($0, Array($0.rawValue.utf8)) } }

    init?(stored b: UnsafeBufferPointer<UInt8>) {
        // A name's length and first eight bytes as one number each, compared at once: a generic
        // elementsEqual cost some 300 instructions a name, and a page's rows read two each.
        let (length, head) = (b.count, Self.head(b))
        for (value, name) in Self.storedNames where name.count == length && name.withUnsafeBufferPointer({ n in
            Self.head(n) == head && (length <= 8 || memcmp(n.baseAddress! + 8, b.baseAddress! + 8, length - 8) == 0)
        }) {
            self = value
            return
        }
        return nil
    }

    /// Up to the first eight bytes, packed.
    @inline(__always)
    private static func head(_ b: UnsafeBufferPointer<UInt8>) -> UInt64 {
        var h: UInt64 = 0
        for i in 0..<min(b.count, 8) { h |= UInt64(b[i]) << (8 * UInt64(i)) }
        return h
    }
}

extension TransactionType: StoredName {
    static let storedNames = utf8Names()
}

extension TransactionStatus: StoredName {
    static let storedNames = utf8Names()
}
