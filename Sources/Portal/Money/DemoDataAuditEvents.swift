/// The audit action of `portal seed-demo --transactions N`: one event for the whole run (its
/// rows are demo data nobody created one by one; see ``MoneySeeder``). Details:
/// `transactions`, `months`, `seed`, `payouts` (waiting for authorization).
enum DemoDataAuditEvents {
    static let fields = [("transactions", "Transactions"), ("months", "Months"), ("seed", "Seed"), ("payouts", "Payouts waiting")]

    static let seeded = AuditAction("transaction.demo_seeded", title: "Demo data seeded", fields: fields) { p in
        "\(p.actor) filled the Sandbox with \(p.text("transactions") ?? "some") demo transactions"
    }

    static let all = [seeded]
}
