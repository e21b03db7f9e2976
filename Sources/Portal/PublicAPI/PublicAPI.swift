import Database
import Foundation
import Web

/// The `/v1` API's service: what a credential may do with the money of its organization and
/// environment. Each call checks the credential's access to its resource first, then hands
/// over to the money features' services (``Transactions``, ``Payouts``, ``Cancellations``) so
/// the rules, audit and event rows are theirs, the same as for a member on a page. The
/// environment is always the credential's, never the request's.
final class PublicAPI: Sendable {
    let transactions: Transactions
    let payouts: Payouts
    let cancellations: Cancellations
    let idempotency: Idempotency
    var database: Database { transactions.database }
    var countries: Countries { payouts.countries }

    static let maximumPageSize = 100
    static let defaultPageSize = 10

    init(transactions: Transactions, payouts: Payouts, idempotency: Idempotency) {
        self.transactions = transactions
        self.payouts = payouts
        self.cancellations = Cancellations(transactions: transactions)
        self.idempotency = idempotency
    }

    /// Who calls: the credential, and where from (for the audit log).
    struct Caller: Sendable {
        let credential: any APICredential
        let ip: String
        let userAgent: String

        var scope: MoneyScope { MoneyScope(organizationID: credential.organizationID, environment: credential.environment) }
        /// The audit log's actor: no person, the key by name (its members read "API key …").
        var actor: Actor { Actor(userID: nil, ip: ip, userAgent: "\(credential.actorName) · \(userAgent)") }
        var name: String { credential.actorName }
        var moneyActor: MoneyActor { MoneyActor(audit: actor, name: name) }
    }

    func require(_ caller: Caller, _ resource: APIResource, _ level: APIAccessLevel) throws {
        guard caller.credential.access(to: resource) >= level else {
            if let scope = caller.credential.missingScope(resource, level) { throw APIProblem.insufficientScope(scope) }
            throw APIProblem.insufficientPermissions(resource: resource, needed: level)
        }
    }

    // MARK: - balances

    func balances(_ caller: Caller) throws -> [MoneyAccountRecord] {
        try require(caller, .balances, .read)
        return try database.read { try transactions.accounts(caller.scope, on: $0) }
    }

    // MARK: - transactions

    struct TransactionFilter: Sendable {
        var query = Transactions.ListQuery()
        var externalID: String?
        var startingAfter: String?
        var limit = PublicAPI.defaultPageSize
    }

    /// A page newest first, written into `w` as the list's `data` array (each row straight
    /// from SQLite into the writer, see ``Transactions/writePage(_:_:olderThan:limit:to:on:)``);
    /// returns whether more follow.
    func writeTransactions(_ caller: Caller, _ f: TransactionFilter, to w: inout JSONWriter) throws -> Bool {
        try require(caller, .transactions, .read)
        let scope = caller.scope
        return try database.read { db in
            func page(_ w: inout JSONWriter) throws -> Bool {
                var key: Transactions.ListKey?
                if let after = f.startingAfter {
                    guard let t = try transactions.find(after, in: scope, on: db) else { throw APIProblem.unknownCursor(after) }
                    key = Transactions.ListKey(createdAt: t.createdAt, id: t.id)
                }
                if let e = f.externalID {
                    // At most one transaction has an external id: the unique index answers.
                    let t = try transactions.find(externalID: e, in: scope, on: db)
                    w.array { w in
                        guard let t, Self.matches(t, f.query), key.map({ (t.createdAt, t.id) < ($0.createdAt, $0.id) }) ?? true else { return }
                        TransactionJSON(t).write(to: &w)
                    }
                    return false
                }
                return try transactions.writePage(scope, f.query, olderThan: key, limit: f.limit, to: &w, on: db)
            }
            // One statement reads one snapshot; a cursor's lookup and the page after it share one.
            guard f.startingAfter != nil else { return try page(&w) }
            return try db.transaction(.deferred) { try page(&w) }
        }
    }

    private static func matches(_ t: TransactionRecord, _ q: Transactions.ListQuery) -> Bool {
        (q.from.map { t.createdAt >= $0 } ?? true) && (q.until.map { t.createdAt < $0 } ?? true)
            && (q.status.map { t.status == $0 } ?? true) && (q.type.map { t.type == $0 } ?? true)
    }

    func transaction(_ caller: Caller, _ publicID: String) throws -> TransactionRecord {
        try require(caller, .transactions, .read)
        guard let t = try database.read({ try transactions.find(publicID, in: caller.scope, on: $0) }) else { throw APIProblem.notFound("transaction") }
        return t
    }

    /// Creates a Sandbox transaction (the simulator moves it along) in the caller's write
    /// transaction (the idempotency record's).
    func createTransaction(_ caller: Caller, _ new: Transactions.NewTransaction, on db: Connection) throws -> TransactionRecord {
        try require(caller, .transactions, .write)
        guard caller.credential.environment == .sandbox else { throw APIProblem.sandboxOnly }
        return try transactions.create(new, in: caller.scope, by: caller.moneyActor, on: db)
    }

    /// Asks to cancel: applied at once in Sandbox; in Production a support request.
    func cancel(_ caller: Caller, _ publicID: String, reason: String?, on db: Connection) throws -> (CancellationRecord, TransactionRecord) {
        try require(caller, .transactions, .write)
        let reason = try cancellations.checkReason(reason ?? "Cancelled through the API by \(caller.name).")
        let requester = Cancellations.Requester(userID: nil, name: caller.name, email: try contactEmail(caller, on: db), actor: caller.moneyActor)
        let c = try cancellations.request(publicID, in: caller.scope, reason: reason, by: requester, on: db)
        guard let t = try transactions.find(id: c.transactionID, on: db) else { throw APIProblem.notFound("transaction") }
        return (c, t)
    }

    /// Where support answers a request a key filed: its creator, else the organization's
    /// compliance contact.
    private func contactEmail(_ caller: Caller, on db: Connection) throws -> String {
        if let id = caller.credential.createdByUserID, let user = try payouts.accounts.user(id: id, on: db) { return user.email }
        return try payouts.organizations.organization(id: caller.credential.organizationID, on: db)?.complianceEmail ?? ""
    }

    // MARK: - payouts

    /// Prepares a payout that a member must still authorize in the portal: a key can never
    /// authorize. The key's creator is its creator, so they cannot be the one who authorizes.
    func preparePayout(_ caller: Caller, _ input: Payouts.Input, on db: Connection) throws -> PayoutRecord {
        try require(caller, .payouts, .write)
        var name = caller.name
        if let id = caller.credential.createdByUserID, let user = try payouts.accounts.user(id: id, on: db) { name = "\(user.name) (API key \(caller.credential.logName))" }
        return try payouts.prepare(input, in: caller.scope, by: Payouts.Preparer(userID: caller.credential.createdByUserID, name: name, actor: caller.actor), on: db)
    }

    func payouts(_ caller: Caller, startingAfter: String?, limit: Int) throws -> (rows: [PayoutRecord], hasMore: Bool) {
        try require(caller, .payouts, .read)
        return try database.read { db in
            try db.transaction(.deferred) {
                var key: (createdAt: Int64, id: Int64)?
                if let after = startingAfter {
                    guard let p = try payouts.find(after, in: caller.scope, on: db) else { throw APIProblem.unknownCursor(after) }
                    key = (p.createdAt, p.id)
                }
                let rows = try payouts.page(caller.scope, olderThan: key, limit: limit + 1, on: db)
                return (Array(rows.prefix(limit)), rows.count > limit)
            }
        }
    }

    func payout(_ caller: Caller, _ publicID: String) throws -> PayoutRecord {
        try require(caller, .payouts, .read)
        guard let p = try database.read({ try payouts.find(publicID, in: caller.scope, on: $0) }) else { throw APIProblem.notFound("payout") }
        return p
    }
}
