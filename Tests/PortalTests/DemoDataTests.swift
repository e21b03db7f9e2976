import Database
import Foundation
import Testing
@testable import Portal

/// `portal seed-demo --transactions N` and `portal transactions settle|list`, run as the
/// built executable against a database file the test then reads.
@Suite("demo data and the operator's transactions command")
struct DemoDataTests {
    let cli = CommandLineTests()

    /// Seeds a fresh database; returns the command's output and the open database.
    func seed(_ n: Int, seed: Int, in dir: String) throws -> (out: String, err: String, db: Database) {
        let path = dir + "/p.sqlite"
        let r = try cli.run(["seed-demo", "--db", path, "--scrypt-log-n", "10", "--transactions", String(n), "--seed", String(seed),
                             "--until", "2026-11-20T15:00:00Z"])
        #expect(r.status == 0, "\(r.err)")
        return (r.out, r.err, try Database(path: path, readers: 1))
    }

    /// Everything seeded, without row ids of other tables and public ids or secrets.
    func dump(_ db: Database) throws -> [String] {
        try db.read { c in
            var lines: [String] = []
            let queries = [
                """
                SELECT external_id, type, status, amount, currency, error_code, error_note, sender_name, sender_country, sender_method,
                       sender_last4, recipient_name, recipient_country, recipient_method, recipient_last4, metadata, created_at, updated_at, settled_at
                FROM transactions ORDER BY id
                """,
                "SELECT transaction_id, status, error_code, note, actor, at FROM transaction_status_history ORDER BY id",
                """
                SELECT a.currency, e.bucket, e.amount, e.available_after, e.pending_after, e.transaction_id, e.payout_id, e.reason, e.created_at
                FROM ledger_entries e JOIN money_accounts a ON a.id = e.account_id ORDER BY e.id
                """,
                "SELECT currency, hour, status, count, amount FROM transaction_stats ORDER BY currency, hour, status",
                """
                SELECT status, amount, currency, beneficiary_name, beneficiary_country, method, beneficiary_account, reference,
                       created_by_name, created_at, expires_at FROM payouts ORDER BY id
                """,
                "SELECT kind, payload, run_at FROM jobs ORDER BY id",
                "SELECT currency, available, pending FROM money_accounts ORDER BY currency",
            ]
            for q in queries {
                try c.forEach(q) { row in
                    lines.append((0..<row.columnCount).map { "\(row.value(at: $0))" }.joined(separator: "|"))
                }
            }
            return lines
        }
    }

    func temp() throws -> String {
        let dir = NSTemporaryDirectory() + "portal-demo-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        return dir
    }

    @Test func seedDemoIsDeterministicForASeed() throws {
        let (a, b, c) = (try temp(), try temp(), try temp())
        defer { for d in [a, b, c] { try? FileManager.default.removeItem(atPath: d) } }
        let first = try seed(5000, seed: 7, in: a)
        let second = try seed(5000, seed: 7, in: b)
        let other = try seed(5000, seed: 8, in: c)
        defer { first.db.close(); second.db.close(); other.db.close() }
        let one = try dump(first.db), two = try dump(second.db)
        #expect(one.count > 5000 * 5)
        #expect(one == two, "first difference: \(zip(one, two).first { $0 != $1 }.map { "\($0.0) / \($0.1)" } ?? "in length")")
        #expect(try dump(other.db) != one)
    }

    @Test func seededDataIsConsistentAndLooksReal() throws {
        let dir = try temp()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let (out, err, database) = try seed(5000, seed: 1, in: dir)
        defer { database.close() }
        #expect(out.contains("E-mail:      demo@portal.localhost"))
        #expect(out.contains("TOTP secret: "))
        #expect(out.contains("Manager e-mail:      demo+manager@portal.localhost"))
        #expect(out.contains("Manager TOTP secret: "))

        // stderr is a pipe here: plain lines, never a bar redrawn with carriage returns.
        #expect(!err.contains("\r"))
        let progress = err.split(separator: "\n").filter { $0.hasPrefix("seed-demo: ") }
        #expect(progress.count >= 2, "\(err)")
        #expect(progress.last?.contains("5000/5000 transactions") == true)

        try database.read { db in
            let orgID = try #require(try db.scalar("SELECT id FROM organizations", as: Int64.self))
            let scope = MoneyScope(organizationID: orgID, environment: .sandbox)
            #expect(try db.scalar("SELECT count(*) FROM transactions WHERE organization_id = ? AND environment = 'sandbox'", orgID, as: Int.self) == 5000)

            // Every balance is the sum of its entries, and never went below zero on the way.
            let transactions = Transactions(database: database, clock: .system, jobs: nil)
            #expect(try transactions.unbalancedAccounts(scope, on: db).isEmpty)
            #expect(try db.scalar("SELECT count(*) FROM ledger_entries WHERE available_after < 0 OR pending_after < 0", as: Int.self) == 0)
            // Every transaction has its entries and its history.
            #expect(try db.scalar("SELECT count(*) FROM transactions t WHERE NOT EXISTS (SELECT 1 FROM ledger_entries e WHERE e.transaction_id = t.id)", as: Int.self) == 0)
            #expect(try db.scalar("""
                SELECT count(*) FROM transactions t
                WHERE (SELECT status FROM transaction_status_history h WHERE h.transaction_id = t.id ORDER BY h.id DESC LIMIT 1) IS NOT t.status
                """, as: Int.self) == 0)
            // The pending money is exactly that of the open transactions and held payouts.
            #expect(try db.scalar("SELECT sum(pending) FROM money_accounts", as: Int64.self)
                    == (try db.scalar("""
                        SELECT (SELECT coalesce(sum(amount), 0) FROM transactions WHERE status IN ('pending', 'processing'))
                             + (SELECT coalesce(sum(amount), 0) FROM payouts WHERE status = 'pending_authorization')
                        """, as: Int64.self)))
            // The rollup is a GROUP BY over the transactions.
            #expect(try db.scalar("""
                SELECT count(*) FROM (
                    SELECT currency, created_at / 3600 AS hour, status, count(*) AS n, sum(amount) AS total FROM transactions GROUP BY 1, 2, 3) g
                FULL JOIN transaction_stats s USING (currency, hour, status)
                WHERE s.count IS NOT g.n OR s.amount IS NOT g.total
                """, as: Int.self) == 0)

            // Realistic: several currencies, mostly paid, some failed with the simulator's words, some still moving.
            #expect(try db.scalar("SELECT count(DISTINCT currency) FROM transactions", as: Int.self)! >= 6)
            let byStatus = Dictionary(uniqueKeysWithValues: try db.query("SELECT status, count(*) FROM transactions GROUP BY 1").map {
                (try $0.string(0), try $0.int(1))
            })
            #expect(byStatus["paid", default: 0] > 4000)
            #expect(byStatus["failed", default: 0] > 50)
            #expect(byStatus["cancelled", default: 0] > 0)
            #expect(byStatus["pending", default: 0] > 0 && byStatus["processing", default: 0] > 0)
            #expect(try db.scalar("""
                SELECT count(*) FROM transactions WHERE status = 'failed'
                AND NOT ((error_code = 'recipient_account_invalid' AND error_note = 'Recipient''s bank rejected the account number' AND amount % 100 = 13)
                      OR (error_code = 'insufficient_funds' AND error_note = 'The sender''s account did not have enough money' AND amount % 100 = 14))
                """, as: Int.self) == 0)
            #expect(try db.scalar("SELECT count(*) FROM transactions WHERE status = 'paid' AND amount % 100 BETWEEN 13 AND 16", as: Int.self) == 0)
            #expect(try db.scalar("SELECT count(*) FROM transactions WHERE length(sender_last4) <> 4 OR length(recipient_last4) <> 4", as: Int.self) == 0)
            #expect(try db.scalar("SELECT count(DISTINCT external_id) FROM transactions", as: Int.self)! > 4500)
            // Still moving: the simulator's job is due for each (ones that stay processing aside).
            #expect(try db.scalar("""
                SELECT count(*) FROM transactions t WHERE t.status = 'pending'
                AND NOT EXISTS (SELECT 1 FROM jobs j WHERE j.kind = 'money.simulate' AND j.payload = CAST(t.id AS TEXT) AND j.state = 'queued')
                """, as: Int.self) == 0)

            // Payouts waiting for authorization, each with its hold and its expiry job, as the payouts service leaves them.
            let payouts = try db.query("SELECT id, amount, created_at, expires_at, created_by, beneficiary_account, method FROM payouts WHERE status = 'pending_authorization'")
            #expect(payouts.count >= 2)
            let authorizers = try db.query("SELECT user_id FROM memberships WHERE status = 'active' AND (role = 'owner' OR permissions LIKE '%payouts.authorize%')")
                .map { try $0.int64(0) }
            #expect(authorizers.count == 2)
            #expect(try db.scalar("SELECT role FROM memberships WHERE role <> 'owner'", as: String.self) == "manager")
            for p in payouts {
                let (id, amount, created, expires, creator) = (try p.int64(0), try p.int64(1), try p.int64(2), try p.int64(3), try p.int64(4))
                #expect(expires == created + 7 * 86_400)
                #expect(try db.scalar("SELECT count(*) FROM ledger_entries WHERE payout_id = ? AND reason = 'payout.hold' AND transaction_id IS NULL AND ((bucket = 'available' AND amount = ?) OR (bucket = 'pending' AND amount = ?))",
                                      id, -amount, amount, as: Int.self) == 2)
                #expect(try db.scalar("SELECT count(*) FROM jobs WHERE kind = 'payout.expire' AND payload = ? AND run_at = ? AND state = 'queued'",
                                      String(id), expires, as: Int.self) == 1)
                // The account is one the payout form accepts (IBAN check digits, E.164), already normalized.
                let account = try p.string(5)
                #expect(try BeneficiaryAccount.normalize(account, method: PaymentMethod(rawValue: try p.string(6))!) == account)
                // Four eyes: someone other than its creator can authorize it.
                #expect(authorizers.contains { $0 != creator })
            }

            // One audit event for the run, and no event rows for webhooks (nobody made these changes).
            #expect(try db.scalar("SELECT count(*) FROM audit_events WHERE action = 'transaction.demo_seeded'", as: Int.self) == 1)
            #expect(try db.scalar("SELECT count(*) FROM audit_events WHERE action LIKE 'transaction.%'", as: Int.self) == 1)
            #expect(try db.scalar("SELECT count(*) FROM events", as: Int.self) == 0)
        }
    }

    @Test func settleMovesAProductionTransactionAndRefusesAnImpossibleMove() throws {
        let bench = try MoneyBench()
        let path = bench.dir + "/money.sqlite"
        let txn = try bench.create(.payin, "100.00", env: .production, externalID: "ORD-1")
        let orgPublicID = try #require(try bench.database.read { try $0.scalar("SELECT public_id FROM organizations", as: String.self) })

        let processing = try cli.run(["transactions", "settle", txn.publicID, "--status", "processing", "--db", path])
        #expect(processing.status == 0, "\(processing.err)")
        #expect(processing.out.contains("pending → processing"))
        let paid = try cli.run(["transactions", "settle", txn.publicID, "--status", "paid", "--note", "Confirmed by the bank", "--db", path])
        #expect(paid.status == 0, "\(paid.err)")
        let moved = try #require(try bench.database.read { try bench.transactions.find(id: txn.id, on: $0) })
        #expect(moved.status == .paid)
        #expect(try bench.balances(env: .production) == (available: 10000, pending: 0))
        let history = try bench.database.read { try bench.transactions.history(moved, on: $0) }
        #expect(history.map(\.status) == [.pending, .processing, .paid])
        #expect(history.last?.actor == "Operator" && history.last?.note == "Confirmed by the bank")
        #expect(try bench.database.read { try bench.transactions.unbalancedAccounts(bench.scope(.production), on: $0) }.isEmpty)
        #expect(try bench.database.read { try $0.scalar("SELECT count(*) FROM events WHERE type = 'transaction.updated'", as: Int.self) } == 2)

        // Paid is final: a clear message, a non-zero exit, nothing written.
        let again = try cli.run(["transactions", "settle", txn.publicID, "--status", "failed", "--code", "insufficient_funds", "--db", path])
        #expect(again.status != 0)
        #expect(again.err.contains("\(txn.publicID) is paid and cannot move to failed"), "\(again.err)")
        #expect(try bench.database.read { try bench.transactions.history(moved, on: $0) }.count == 3)

        let unknown = try cli.run(["transactions", "settle", "txn_aaaaaaaaaaaaaaaa", "--status", "paid", "--db", path])
        #expect(unknown.status != 0 && unknown.err.contains("no transaction txn_aaaaaaaaaaaaaaaa"))
        let other = try bench.create(.payin, "5.00", env: .production)
        let codeWithPaid = try cli.run(["transactions", "settle", other.publicID, "--status", "paid", "--code", "x", "--db", path])
        #expect(codeWithPaid.status != 0 && codeWithPaid.err.contains("--code is only for --status failed"))
        let failed = try cli.run(["transactions", "settle", other.publicID, "--status", "failed", "--code", "recipient_account_invalid", "--db", path])
        #expect(failed.status == 0, "\(failed.err)")
        let f = try #require(try bench.database.read { try bench.transactions.find(id: other.id, on: $0) })
        #expect(f.errorCode == "recipient_account_invalid" && f.errorNote == "Recipient's bank rejected the account number")

        let list = try cli.run(["transactions", "list", "--org", orgPublicID, "--env", "production", "--status", "paid", "--db", path])
        #expect(list.status == 0, "\(list.err)")
        #expect(list.out.contains(txn.publicID) && !list.out.contains(other.publicID))
        #expect(list.out.contains("100.00 EUR"))
    }
}
