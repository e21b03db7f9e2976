import ArgumentParser
import Foundation
import Portal

/// `portal transactions …`: the operator's hands on money. Production transactions never move
/// by themselves; until the API's operator side exists, `settle` is how they move.
struct TransactionsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "transactions",
        abstract: "List and settle transactions as the portal's operator.",
        subcommands: [Settle.self, List.self])

    struct Settle: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Move a transaction (Production or Sandbox) to its next status, as the operator.",
            discussion: """
                The lifecycle is pending → processing → paid, or failed or cancelled from pending or processing; \
                nothing leaves paid, failed or cancelled. The move writes the ledger entries, the status history \
                (actor "Operator"), the audit event and the transaction.updated event, as any other move does. \
                A failure takes --code (default failed) and --note, the sentence the organization reads.
                """)

        @Argument(help: ArgumentHelp("The transaction's id (txn_…).", valueName: "txn_id"))
        var transaction: String

        @Option(help: ArgumentHelp("processing, paid, failed or cancelled.", valueName: "status"))
        var status: String

        @Option(help: ArgumentHelp("Error code of a failure, e.g. recipient_account_invalid.", valueName: "code"))
        var code: String?

        @Option(help: ArgumentHelp("What happened, in words a person reads (a failure's note, or a note in the history).", valueName: "text"))
        var note: String?

        @OptionGroup var database: DatabaseOptions
        @OptionGroup var app: AppOptions

        func run() throws {
            try withOfflinePortal("transactions settle", database: database, app: app) { portal, _ in
                let (before, after) = try portal.operations.settle(transaction: transaction, status: status, code: code, note: note)
                print("\(after.id) (\(after.environment), \(after.type) of \(after.amount)): \(before.status) → \(after.status)"
                      + (after.error.map { " (\($0))" } ?? ""))
            }
        }
    }

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List an organization's newest transactions in one environment.")

        @Option(help: ArgumentHelp("The organization's id (org_…).", valueName: "org_id"))
        var org: String

        @Option(help: ArgumentHelp("sandbox or production.", valueName: "env"))
        var env: String = "production"

        @Option(help: ArgumentHelp("Only this status: pending, processing, paid, failed or cancelled.", valueName: "status"))
        var status: String?

        @Option(help: ArgumentHelp("At most this many, newest first.", valueName: "n"))
        var limit: Int = 50

        @OptionGroup var database: DatabaseOptions
        @OptionGroup var app: AppOptions

        func validate() throws {
            guard (1...10_000).contains(limit) else { throw ValidationError("--limit must be 1-10000") }
        }

        func run() throws {
            try withOfflinePortal("transactions list", database: database, app: app) { portal, _ in
                let lines = try portal.operations.list(organization: org, environment: env, status: status, limit: limit)
                if lines.isEmpty {
                    print("No \(status.map { $0 + " " } ?? "")transactions in \(env).")
                    return
                }
                let iso = ISO8601DateFormatter()
                for t in lines {
                    let created = iso.string(from: Date(timeIntervalSince1970: TimeInterval(t.createdAt)))
                    print([t.id, created, t.type, t.status, t.amount, t.externalID ?? "-", t.error ?? ""].joined(separator: "\t"))
                }
            }
        }
    }
}
