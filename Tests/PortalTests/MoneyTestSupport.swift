import Database
import Foundation
import Jobs
@testable import Portal

/// A migrated database with one organization and the money service over it, without a
/// server: for the ledger's property tests and the simulator, where the pages add nothing.
final class MoneyBench: @unchecked Sendable {
    let dir: String
    let database: Database
    let clock = TestClock()
    let jobs: JobWorker
    let transactions: Transactions
    let orgID: Int64

    init() throws {
        dir = NSTemporaryDirectory() + "portal-money-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        database = try Database(path: dir + "/money.sqlite", readers: 2)
        _ = try Migrator(directory: repoRoot + "/Migrations").migrate(database)
        let clock = self.clock
        jobs = JobWorker(database: database, clock: JobClock { clock.now })
        transactions = Transactions(database: database, clock: clock.portalClock, jobs: jobs)
        jobs.register(kind: SandboxSimulator.kind, handler: SandboxSimulator(transactions: transactions))
        orgID = try MoneyBench.makeOrganization(database, name: "Acme")
    }

    deinit {
        database.close()
        try? FileManager.default.removeItem(atPath: dir)
    }

    static func makeOrganization(_ database: Database, name: String) throws -> Int64 {
        try database.write { db in
            try db.scalar("""
                INSERT INTO organizations (public_id, legal_name, trading_name, country, registration_number, address, website, industry,
                    compliance_email, created_at, updated_at)
                VALUES (?, ?, ?, 'NG', 'RC1', 'Lagos', 'https://example.com', 'payments', 'c@example.com', 0, 0) RETURNING id
                """, PublicID.make("org"), name + " Ltd", name, as: Int64.self)!
        }
    }

    func scope(_ env: Environment = .sandbox) -> MoneyScope { MoneyScope(organizationID: orgID, environment: env) }

    @discardableResult
    func create(_ type: TransactionType, _ major: String, _ code: String = "EUR", env: Environment = .sandbox, externalID: String? = nil) throws -> TransactionRecord {
        let amount = try Amount.parse(major, currency: Currency(code: code)!)
        return try database.write { db in
            try transactions.create(.init(type: type, amount: amount, externalID: externalID), in: scope(env), by: .operator, on: db)
        }
    }

    func move(_ txn: TransactionRecord, _ status: TransactionStatus) throws -> TransactionRecord {
        try database.write { db in try transactions.move(txn, to: status, by: .operator, on: db) }
    }

    func balances(_ code: String = "EUR", env: Environment = .sandbox) throws -> (available: Int64, pending: Int64) {
        let a = try database.read { try transactions.account(scope(env), currency: Currency(code: code)!, on: $0) }
        return (a?.available ?? 0, a?.pending ?? 0)
    }
}
