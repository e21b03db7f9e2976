/// The audit actions of money: transactions created and moved. (Payouts and cancellations
/// declare theirs beside their services.) Details: `type`, `amount`, `status` (before/after),
/// `error` ("code: note"), `note`.
enum MoneyAuditEvents {
    static let fields = [("type", "Type"), ("amount", "Amount"), ("status", "Status"), ("error", "Error"), ("note", "Note")]

    static let transactionCreated = AuditAction("transaction.created", title: "Transaction created", fields: fields) { p in
        "\(p.actor) created \(p.text("type")?.lowercased() ?? "a transaction") \(p.subjectOrSomeone)" + (p.text("amount").map { " of \($0)" } ?? "")
    }
    static let statusChanged = AuditAction("transaction.status_changed", title: "Transaction status changed", fields: fields) { p in
        "\(p.actor) moved \(p.subjectOrSomeone) to \(p.text("status")?.lowercased() ?? "a new status")"
    }

    static let families = [AuditLog.Family(key: "money", title: "Money: transactions, payouts and cancellations",
                                           prefixes: ["transaction.", "payout.", "cancellation."])]

    static let all = [transactionCreated, statusChanged]
}
