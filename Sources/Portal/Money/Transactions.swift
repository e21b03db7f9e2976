import Database
import Foundation
import Jobs
import Web

/// Transactions and the accounts they move: the one place where money changes.
///
/// The rules, whoever calls (a page, the API, the simulator, an operator command, the
/// payouts of ``Payouts``): every movement is a ledger entry written with the change in the
/// caller's transaction; no balance goes below zero (the UPDATE itself refuses); every
/// change is audited and leaves an event row for webhooks.
///
/// How money moves with a transaction's status:
/// - a **pay-in** is pending until paid: created → +pending; paid → −pending +available;
///   failed or cancelled → −pending.
/// - a **payout, fee or refund** leaves available at once: created → −available +pending
///   (refused beyond the available balance; a payout made from an authorized ``Payouts``
///   payout takes over the payout's hold instead); paid → −pending; failed or cancelled →
///   −pending +available.
final class Transactions: Sendable {
    let database: Database
    let clock: PortalClock
    let audit: Audit
    let events: Events
    let store = MoneyStore()
    /// Schedules the Sandbox simulator. Nil where nothing should move by itself (tools that
    /// only read, tests that move transactions by hand).
    let jobs: JobWorker?

    init(database: Database, clock: PortalClock, jobs: JobWorker?) {
        self.database = database
        self.clock = clock
        self.audit = Audit(clock: clock)
        self.events = Events(clock: clock)
        self.jobs = jobs
    }

    static let maximumExternalIDLength = 64
    static let maximumMetadataKeys = 20

    struct NewTransaction: Sendable {
        var type: TransactionType
        var amount: Amount
        var externalID: String? = nil
        var sender = Party()
        var recipient = Party()
        var metadata: [String: String] = [:]
        /// The authorized payout this transaction pays out: its hold becomes the transaction's
        /// pending money, so no new entries are written at creation.
        var payoutID: Int64? = nil
    }

    // MARK: reading

    func accounts(_ scope: MoneyScope, on db: Connection) throws -> [MoneyAccountRecord] { try store.accounts(scope, on: db) }

    func account(_ scope: MoneyScope, currency: Currency, on db: Connection) throws -> MoneyAccountRecord? {
        try store.account(scope, currency: currency, on: db)
    }

    /// The account of `currency`, opened empty if there is none yet.
    func openAccount(_ scope: MoneyScope, currency: Currency, on db: Connection) throws -> MoneyAccountRecord {
        try store.openAccount(scope, currency: currency, at: clock.now(), on: db)
    }

    /// A transaction of this organization and environment; nil for any other id (another
    /// organization's included: the same 404).
    func find(_ publicID: String, in scope: MoneyScope, on db: Connection) throws -> TransactionRecord? {
        guard PublicID.isWellFormed(publicID, prefix: "txn") else { return nil }
        return try store.transaction(publicID: publicID, in: scope, on: db)
    }

    func find(externalID: String, in scope: MoneyScope, on db: Connection) throws -> TransactionRecord? {
        try store.transaction(externalID: externalID, in: scope, on: db)
    }

    func find(id: Int64, on db: Connection) throws -> TransactionRecord? { try store.transaction(id: id, on: db) }

    func history(_ txn: TransactionRecord, on db: Connection) throws -> [StatusChange] { try store.history(transactionID: txn.id, on: db) }

    /// What a list narrows by, and where a page starts: the dashboard's list and the API's share
    /// them and the `transactions_by_time` index (organization, environment, created_at, id).
    typealias ListQuery = TransactionListStore.Query
    typealias ListKey = TransactionListStore.Key

    /// Up to `limit` transactions, newest first, older than `olderThan` (a keyset cursor:
    /// every page is one index range, however deep the list).
    func page(_ scope: MoneyScope, _ q: ListQuery, olderThan key: ListKey?, limit: Int, on db: Connection) throws -> [TransactionRecord] {
        var rows: [TransactionRecord] = []
        try TransactionListStore().forEachInPage(scope, q, before: key, limit: limit, on: db) { rows.append(try MoneyStore.transaction($0)) }
        return rows
    }

    /// ``page(_:_:olderThan:limit:on:)`` written into `w` as a JSON array of
    /// ``TransactionJSON`` objects, each row straight from SQLite's memory into the writer (no
    /// record, no `String` per column: building those was a third of a `/v1/transactions`
    /// page). Reads one row more than `limit` and returns whether it was there (not written).
    func writePage(_ scope: MoneyScope, _ q: ListQuery, olderThan key: ListKey?, limit: Int, to w: inout JSONWriter, on db: Connection) throws -> Bool {
        var written = 0
        var more = false
        try w.array { w in
            try TransactionListStore().forEachInPage(scope, q, before: key, limit: limit + 1, on: db) { row in
                guard written < limit else { more = true; return }
                w.nextElement()
                try TransactionJSON.write(row: row, to: &w)
                written += 1
            }
        }
        return more
    }

    // MARK: creating

    /// Checks and records a new transaction (status pending), moves its money, audits it,
    /// writes `transaction.created`, and in Sandbox schedules the simulator.
    @discardableResult
    func create(_ new: NewTransaction, in scope: MoneyScope, by actor: MoneyActor, on db: Connection) throws -> TransactionRecord {
        // A savepoint: a refusal after the insert (insufficient funds) leaves nothing behind
        // even when the caller goes on with its transaction.
        try db.transaction { try insert(new, in: scope, by: actor, on: db) }
    }

    private func insert(_ new: NewTransaction, in scope: MoneyScope, by actor: MoneyActor, on db: Connection) throws -> TransactionRecord {
        var errors: [String: String] = [:]
        let externalID = new.externalID?.trimmingCharacters(in: .whitespaces)
        if let e = externalID {
            if e.isEmpty || e.count > Self.maximumExternalIDLength || !e.unicodeScalars.allSatisfy({ $0.value > 0x20 && $0.value < 0x7F }) {
                errors["external_id"] = "Use 1 to \(Self.maximumExternalIDLength) visible ASCII characters, without spaces."
            }
        }
        if new.metadata.count > Self.maximumMetadataKeys {
            errors["metadata"] = "Use at most \(Self.maximumMetadataKeys) keys."
        } else if new.metadata.contains(where: { $0.key.isEmpty || $0.key.count > 40 || $0.value.count > 500 }) {
            errors["metadata"] = "Keys are 1 to 40 characters and values at most 500."
        }
        for (field, party) in [("sender", new.sender), ("recipient", new.recipient)] {
            if party.name.count > 140 { errors["\(field).name"] = "Use at most 140 characters." }
            if !party.country.isEmpty && !(party.country.count == 2 && party.country.allSatisfy({ $0.isASCII && $0.isUppercase })) {
                errors["\(field).country"] = "Use a two-letter ISO 3166 country code, like NG."
            }
        }
        if new.amount.minor <= 0 || new.amount.minor > Amount.maximumMinor { errors["amount"] = "Enter an amount greater than zero." }
        guard errors.isEmpty else { throw TransactionProblem.invalid(errors) }
        if let e = externalID, let existing = try store.transaction(externalID: e, in: scope, on: db) {
            throw TransactionProblem.duplicateExternalID(existing: existing.publicID)
        }

        let now = clock.now()
        let account = try store.openAccount(scope, currency: new.amount.currency, at: now, on: db)
        let id = try store.insert(MoneyStore.NewRow(
            publicID: PublicID.make("txn"), scope: scope, accountID: account.id, externalID: externalID, type: new.type, status: .pending,
            amount: new.amount, sender: new.sender, recipient: new.recipient, metadata: new.metadata, payoutID: new.payoutID, createdAt: now), on: db)
        let a = new.amount.minor
        if new.type.isIncoming {
            _ = try store.post(accountID: account.id, available: 0, pending: a, transactionID: id, payoutID: nil, reason: "payin.pending", at: now, on: db)
        } else if new.payoutID == nil {
            guard try store.post(accountID: account.id, available: -a, pending: a, transactionID: id, payoutID: nil,
                                 reason: "\(new.type.rawValue).hold", at: now, on: db) else {
                throw TransactionProblem.insufficientFunds(available: account.availableAmount)
            }
        }
        try store.addHistory(transactionID: id, status: .pending, errorCode: nil, note: nil, actor: actor.name, at: now, on: db)
        try store.count(scope, currency: new.amount.currency.code, createdAt: now, status: .pending, amount: a, sign: 1, on: db)
        guard let txn = try store.transaction(id: id, on: db) else { throw MoneyStoreError("transaction not found after insert") }
        try audit.record(MoneyAuditEvents.transactionCreated, by: actor.audit, organization: scope.organizationID,
                         environment: scope.environment.rawValue, subject: txn.publicID,
                         details: ["type": .text(new.type.title), "amount": .text(new.amount.display)], on: db)
        try events.record("transaction.created", objectID: txn.publicID, data: TransactionJSON(txn), organizationID: scope.organizationID,
                          environment: scope.environment, on: db)
        if scope.environment == .sandbox, let jobs {
            try jobs.enqueue(SandboxSimulator.kind, payload: String(id), runAt: now + SandboxSimulator.step, on: db)
        }
        return txn
    }

    // MARK: moving

    /// Moves a transaction to `status` (with an error code and a note a person reads when it
    /// failed), moves its money, records the history, audits it and writes `transaction.updated`.
    /// Throws ``TransactionProblem/cannotMove(from:to:)`` when the lifecycle does not allow it
    /// (including when someone else moved it first).
    @discardableResult
    func move(_ txn: TransactionRecord, to status: TransactionStatus, error: (code: String, note: String)? = nil, note: String? = nil,
              by actor: MoneyActor, on db: Connection) throws -> TransactionRecord {
        try db.transaction { try apply(txn, to: status, error: error, note: note, by: actor, on: db) }
    }

    private func apply(_ txn: TransactionRecord, to status: TransactionStatus, error: (code: String, note: String)?, note: String?,
                       by actor: MoneyActor, on db: Connection) throws -> TransactionRecord {
        guard txn.status.canMove(to: status) else { throw TransactionProblem.cannotMove(from: txn.status, to: status) }
        let now = clock.now()
        let failure = status == .failed ? (error ?? (code: "failed", note: "The transaction failed.")) : nil
        guard try store.setStatus(id: txn.id, from: txn.status, to: status, errorCode: failure?.code, errorNote: failure?.note,
                                  settledAt: status == .paid ? now : nil, at: now, on: db) else {
            let current = try store.transaction(id: txn.id, on: db)?.status ?? txn.status
            throw TransactionProblem.cannotMove(from: current, to: status)
        }
        let a = txn.amount.minor
        let (available, pending): (Int64, Int64) = switch (txn.type.isIncoming, status) {
        case (true, .paid): (a, -a)
        case (true, .failed), (true, .cancelled): (0, -a)
        case (false, .paid): (0, -a)
        case (false, .failed), (false, .cancelled): (a, -a)
        default: (0, 0)
        }
        if available != 0 || pending != 0 {
            guard try store.post(accountID: txn.accountID, available: available, pending: pending, transactionID: txn.id, payoutID: nil,
                                 reason: "\(txn.type.rawValue).\(status.rawValue)", at: now, on: db) else {
                // The pending money of an open transaction is always there; if not, the ledger is wrong: stop.
                throw MoneyStoreError("ledger of account \(txn.accountID) cannot release \(txn.publicID)")
            }
        }
        try store.addHistory(transactionID: txn.id, status: status, errorCode: failure?.code, note: failure?.note ?? note, actor: actor.name, at: now, on: db)
        try store.count(txn.scope, currency: txn.amount.currency.code, createdAt: txn.createdAt, status: txn.status, amount: a, sign: -1, on: db)
        try store.count(txn.scope, currency: txn.amount.currency.code, createdAt: txn.createdAt, status: status, amount: a, sign: 1, on: db)
        guard let moved = try store.transaction(id: txn.id, on: db) else { throw MoneyStoreError("transaction vanished") }
        var details: AuditDetails = ["status": .change(before: txn.status.title, after: status.title)]
        if let failure { details["error"] = .text("\(failure.code): \(failure.note)") }
        if let note, failure == nil { details["note"] = .text(note) }
        try audit.record(MoneyAuditEvents.statusChanged, by: actor.audit, organization: txn.scope.organizationID,
                         environment: txn.scope.environment.rawValue, subject: txn.publicID, details: details, on: db)
        try events.record("transaction.updated", objectID: moved.publicID, data: TransactionJSON(moved), organizationID: txn.scope.organizationID,
                          environment: txn.scope.environment, on: db)
        // The final states have their own event too, for receivers that care only about those.
        if [.paid, .failed, .cancelled].contains(status) {
            try events.record("transaction.\(status.rawValue)", objectID: moved.publicID, data: TransactionJSON(moved),
                              organizationID: txn.scope.organizationID, environment: txn.scope.environment, on: db)
        }
        return moved
    }

    /// The ledger check of the invariant tests and `portal doctor`-style tools: every account's
    /// balances equal the sums of its entries. Returns the accounts that differ.
    func unbalancedAccounts(_ scope: MoneyScope, on db: Connection) throws -> [String] {
        try store.accounts(scope, on: db).filter { a in
            let sums = try store.ledgerSums(accountID: a.id, on: db)
            return sums.available != a.available || sums.pending != a.pending
        }.map(\.publicID)
    }
}
