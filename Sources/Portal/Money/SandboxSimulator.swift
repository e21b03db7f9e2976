import Database
import Foundation
import Jobs

/// Moves Sandbox transactions through their lifecycle by themselves, on the job worker, so an
/// integrator can rehearse every case without an operator: pending → processing after
/// ``step`` seconds, then the outcome after another ``step``. The last two digits of the
/// amount in minor units choose the outcome (Stripe's test cards, for money):
///
/// | ends in | outcome |
/// |---|---|
/// | `13` | failed, `recipient_account_invalid`: "Recipient's bank rejected the account number" |
/// | `14` | failed, `insufficient_funds`: "The sender's account did not have enough money" |
/// | `15` | cancelled by the recipient's bank |
/// | `16` | stays processing (until cancelled) |
/// | anything else | paid |
///
/// So `100.13 EUR` fails and `1013 JPY` fails. Production transactions never move here: only
/// `portal transactions settle` (an operator) moves them.
struct SandboxSimulator: JobHandler {
    static let kind = "money.simulate"
    static let step: Int64 = 3

    enum Outcome: Equatable {
        case paid, stays, cancelled
        case failed(code: String, note: String)
    }

    static func outcome(minor: Int64) -> Outcome {
        switch minor % 100 {
        case 13: .failed(code: "recipient_account_invalid", note: "Recipient's bank rejected the account number")
        case 14: .failed(code: "insufficient_funds", note: "The sender's account did not have enough money")
        case 15: .cancelled
        case 16: .stays
        default: .paid
        }
    }

    let transactions: Transactions

    func run(_ job: Job) throws {
        guard let id = Int64(job.payload) else { throw JobError.permanent("payload is not a transaction id") }
        try transactions.database.write { db in
            // Gone, moved by someone else (cancelled), or not Sandbox: nothing to do.
            guard let txn = try transactions.find(id: id, on: db), txn.scope.environment == .sandbox, txn.status.isOpen else { return }
            let outcome = Self.outcome(minor: txn.amount.minor)
            switch (txn.status, outcome) {
            case (.pending, _):
                try transactions.move(txn, to: .processing, by: .simulator, on: db)
                if outcome != .stays, let jobs = transactions.jobs {
                    try jobs.enqueue(Self.kind, payload: job.payload, runAt: transactions.clock.now() + Self.step, on: db)
                }
            case (.processing, .paid): try transactions.move(txn, to: .paid, by: .simulator, on: db)
            case (.processing, .cancelled): try transactions.move(txn, to: .cancelled, note: "Cancelled by the recipient's bank", by: .simulator, on: db)
            case (.processing, .failed(let code, let note)): try transactions.move(txn, to: .failed, error: (code, note), by: .simulator, on: db)
            default: return
            }
        }
    }
}
