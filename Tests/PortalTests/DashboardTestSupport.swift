import Foundation
@testable import Portal

/// Money made through the real service (`portal.app.transactions`), for the dashboard,
/// transactions and cancellation tests. In Sandbox the simulator moves a transaction by
/// itself after a few seconds unless its minor amount ends in 16 (it then stays processing):
/// tests that need a status to hold use such amounts, or Production, where nothing moves by itself.
extension TestPortal {
    // (`scope(org, env)` is the payouts tests' helper.)

    @discardableResult
    func makeTransaction(_ org: String, _ type: TransactionType = .payin, _ major: String, _ code: String = "EUR", env: Environment = .sandbox,
                         externalID: String? = nil, sender: Party = Party(), recipient: Party = Party(),
                         metadata: [String: String] = [:]) throws -> TransactionRecord {
        let amount = try Amount.parse(major, currency: Currency(code: code)!)
        let scope = try self.scope(org, env)
        return try app.database.write { db in
            try app.transactions.create(.init(type: type, amount: amount, externalID: externalID, sender: sender, recipient: recipient, metadata: metadata),
                                        in: scope, by: .operator, on: db)
        }
    }

    @discardableResult
    func moveTransaction(_ t: TransactionRecord, _ status: TransactionStatus, error: (code: String, note: String)? = nil) throws -> TransactionRecord {
        try app.database.write { db in
            let current = try app.transactions.find(id: t.id, on: db)!
            return try app.transactions.move(current, to: status, error: error, by: .operator, on: db)
        }
    }

    func currentTransaction(_ t: TransactionRecord) throws -> TransactionRecord {
        try app.database.read { try app.transactions.find(id: t.id, on: $0)! }
    }

    func balances(_ org: String, _ code: String = "EUR", env: Environment = .sandbox) throws -> (available: Int64, pending: Int64) {
        let scope = try self.scope(org, env)
        let a = try app.database.read { try app.transactions.account(scope, currency: Currency(code: code)!, on: $0) }
        return (a?.available ?? 0, a?.pending ?? 0)
    }

    /// What support would do: Production opens for the organization.
    func enableProduction(_ org: String) throws {
        try app.database.write { _ = try $0.execute("UPDATE organizations SET production_enabled_at = ? WHERE public_id = ?", clock.now, org) }
    }

    func setTimeZone(_ email: String, _ zone: String) throws {
        try app.database.write { _ = try $0.execute("UPDATE users SET time_zone = ? WHERE email = ?", zone, email) }
    }

    func count(_ sql: String, _ args: String...) throws -> Int {
        try app.database.read { try $0.scalar(sql, arguments: args, as: Int.self) } ?? 0
    }
}

extension TestResponse {
    /// The text of the page between two markers (both excluded), or "".
    func section(from start: String, to end: String) -> String {
        guard let a = text.range(of: start) else { return "" }
        let rest = text[a.upperBound...]
        guard let b = rest.range(of: end) else { return String(rest) }
        return String(rest[..<b.lowerBound])
    }

    /// The `txn_…` ids linked from the page, in order.
    func transactionIDs(base: String) -> [String] {
        text.components(separatedBy: "href=\"\(base)/transactions/").dropFirst().map { String($0.prefix { $0 != "\"" }) }
    }
}
