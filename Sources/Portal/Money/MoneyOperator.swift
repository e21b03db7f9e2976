import Database
import Foundation

/// What the portal's operator does to money from the command line: Production transactions
/// never move by themselves (the Sandbox simulator moves only Sandbox ones), so
/// `portal transactions settle` is how they move until the API's operator side exists. Every
/// move goes through ``Transactions/move(_:to:error:note:by:on:)`` as ``MoneyActor/operator``:
/// the same lifecycle, ledger entries, history, audit event and event row as any other.
struct MoneyOperator {
    let transactions: Transactions
    let store = MoneyOperatorStore()

    static let maximumNoteLength = 500

    /// Moves the transaction `publicID` (of any organization and environment) to `status`.
    /// A failure carries `code` (default `failed`) and `note` (default: the simulator's note
    /// for a code it knows); `code` is refused for any other status.
    func settle(publicID: String, to status: TransactionStatus, code: String?, note: String?) throws(OperatorProblem) -> (before: TransactionRecord, after: TransactionRecord) {
        if code != nil, status != .failed { throw .invalid("--code is only for --status failed") }
        if let code, code.isEmpty || code.count > 64 || !code.allSatisfy({ $0.isASCII && ($0.isLowercase || $0.isNumber || $0 == "_") }) {
            throw .invalid("--code: use 1 to 64 lower-case letters, digits and underscores, like recipient_account_invalid")
        }
        if let note {
            if note.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty { throw .invalid("--note is empty") }
            if note.count > Self.maximumNoteLength { throw .invalid("--note: use at most \(Self.maximumNoteLength) characters") }
            if note.unicodeScalars.contains(where: { $0.properties.generalCategory == .control || $0.properties.generalCategory == .format }) {
                throw .invalid("--note: no control or formatting characters")
            }
        }
        guard PublicID.isWellFormed(publicID, prefix: "txn") else { throw .notFound(publicID) }
        do {
            return try transactions.database.write { db in
                guard let txn = try store.transaction(publicID: publicID, on: db) else { throw OperatorProblem.notFound(publicID) }
                var error: (code: String, note: String)?
                if status == .failed {
                    let code = code ?? "failed"
                    guard let text = note ?? Self.knownNotes[code] else {
                        throw OperatorProblem.invalid("--note: say what happened, in words a person reads (the code \(code) has no standard note)")
                    }
                    error = (code, text)
                }
                let moved = try transactions.move(txn, to: status, error: error, note: status == .failed ? nil : note, by: .operator, on: db)
                return (txn, moved)
            }
        } catch let p as OperatorProblem {
            throw p
        } catch TransactionProblem.cannotMove(let from, let to) {
            throw .cannotMove(publicID, from: from, to: to)
        } catch {
            throw .failed("\(error)")
        }
    }

    /// The notes of the failure codes the simulator uses, for a failure given only its code.
    static let knownNotes: [String: String] = [
        "recipient_account_invalid": "Recipient's bank rejected the account number",
        "insufficient_funds": "The sender's account did not have enough money",
        "failed": "The transaction failed.",
    ]

    func list(_ scope: MoneyScope, status: TransactionStatus?, limit: Int) throws -> [TransactionRecord] {
        try transactions.database.read { db in try store.transactions(scope, status: status, limit: limit, on: db) }
    }
}

/// Why an operator's command did nothing; `description` is the message it prints.
enum OperatorProblem: Error, CustomStringConvertible {
    case notFound(String)
    case invalid(String)
    case cannotMove(String, from: TransactionStatus, to: TransactionStatus)
    case failed(String)

    var description: String {
        switch self {
        case .notFound(let id): "no transaction \(id)"
        case .invalid(let m): m
        case .cannotMove(let id, let from, let to):
            "\(id) is \(from.rawValue) and cannot move to \(to.rawValue)"
                + (from.isOpen ? " (\(from.rawValue) moves to \(TransactionStatus.allCases.filter { from.canMove(to: $0) }.map(\.rawValue).joined(separator: ", ")))"
                    : " (\(from.rawValue) is final)")
        case .failed(let m): m
        }
    }
}
