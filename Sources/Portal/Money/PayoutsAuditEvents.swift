/// The audit actions of payouts: each step of the four-eyes rule. The subject is the payout's
/// id; details: `amount`, `beneficiary` (name and masked account), `reference`, `reason` (a
/// rejection's), `transaction` (the payout transaction an authorization made).
enum PayoutsAuditEvents {
    static let fields = [("amount", "Amount"), ("beneficiary", "Beneficiary"), ("reference", "Reference"), ("reason", "Reason"),
                         ("transaction", "Transaction")]

    static func of(_ p: AuditSentenceParts) -> String {
        "payout \(p.subjectOrSomeone)" + (p.text("amount").map { " of \($0)" } ?? "")
    }

    static let created = AuditAction("payout.created", title: "Payout prepared", fields: fields) { p in
        "\(p.actor) prepared \(of(p))" + (p.text("beneficiary").map { " to \($0)" } ?? "")
    }
    static let authorized = AuditAction("payout.authorized", title: "Payout authorized", fields: fields) { p in
        "\(p.actor) authorized \(of(p))"
    }
    static let rejected = AuditAction("payout.rejected", title: "Payout rejected", fields: fields) { p in
        "\(p.actor) rejected \(of(p))"
    }
    static let expired = AuditAction("payout.expired", title: "Payout expired", fields: fields) { p in
        "\(of(p).prefix(1).uppercased() + of(p).dropFirst()) expired unauthorized after 7 days"
    }

    static let all = [created, authorized, rejected, expired]
}
