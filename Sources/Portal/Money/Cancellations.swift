import Database
import Foundation

/// Why a cancellation request was refused; the page shows it beside the reason field or at
/// the top of the form.
enum CancellationProblem: Error, Equatable {
    case notFound
    /// Field → message.
    case invalid([String: String])
    /// The transaction cannot be cancelled now (finished, or a request already waits).
    case conflict(String)
}

/// Cancellation requests (`transactions.cancel`): a member asks, with a reason, to cancel a
/// transaction that is still open. In Sandbox it is applied at once; in Production it becomes
/// a support request (``TransactionCancellationRequest``) that support approves (applied, if
/// the transaction is still open) or rejects (refused). Every step is audited and the request
/// leaves a `cancellation.requested` event row, in the same transaction as the change.
final class Cancellations: Sendable {
    let transactions: Transactions
    let store = TransactionListStore()
    let supportQueue = SupportQueue()
    var database: Database { transactions.database }
    var clock: PortalClock { transactions.clock }

    init(transactions: Transactions) {
        self.transactions = transactions
    }

    /// Whether this member may ask to cancel this transaction now.
    static func allowed(_ env: EnvAccess, _ detail: Dashboard.Detail) -> Bool {
        env.can(.transactionsCancel) && detail.transaction.status.isOpen && detail.openCancellation == nil
    }

    /// Checks the reason as typed, before the confirmation step.
    func checkReason(_ raw: String) throws -> String {
        let reason = raw.trimmingCharacters(in: .whitespacesAndNewlines)
        if reason.isEmpty { throw CancellationProblem.invalid(["reason": "Say why the transaction should be cancelled: it is kept with the request."]) }
        if let p = TextField.note.problem(reason) { throw CancellationProblem.invalid(["reason": p]) }
        return reason
    }

    /// The transaction a member may ask to cancel (not found for another organization's id).
    func cancellable(_ env: EnvAccess, publicID: String) throws -> TransactionRecord {
        try env.require(.transactionsCancel)
        return try database.read { db in
            try db.transaction(.deferred) {
                let t = try find(env, publicID, on: db)
                try checkOpen(t, on: db)
                return t
            }
        }
    }

    /// Who asks: a member on the page, or an API credential (``PublicAPI``), whose request
    /// support sees under the e-mail given here.
    struct Requester: Sendable {
        let userID: Int64?
        let name: String
        let email: String
        let actor: MoneyActor
    }

    /// Records the request and, in Sandbox, applies it. Returns the request as it ends up.
    @discardableResult
    func request(_ env: EnvAccess, publicID: String, reason raw: String, actor: Actor) throws -> CancellationRecord {
        try env.require(.transactionsCancel)
        let reason = try checkReason(raw)
        let requester = Requester(userID: env.user.id, name: env.user.name, email: env.user.email, actor: .member(env, actor))
        return try database.write { db in try request(publicID, in: env.scope, reason: reason, by: requester, on: db) }
    }

    /// The same inside the caller's transaction, for a caller that checked its own permission
    /// and the reason (``checkReason(_:)``).
    @discardableResult
    func request(_ publicID: String, in scope: MoneyScope, reason: String, by requester: Requester, on db: Connection) throws -> CancellationRecord {
        let now = clock.now()
        guard let t = try transactions.find(publicID, in: scope, on: db) else { throw CancellationProblem.notFound }
        try checkOpen(t, on: db)
        let cxl = PublicID.make("cxl")
        let id = try store.insertCancellation(publicID: cxl, transactionID: t.id, requestedBy: requester.userID, requestedByName: requester.name,
                                              reason: reason, status: .requested, now: now, on: db)
        var details: AuditDetails = ["reason": .text(reason), "cancellation": .text(cxl)]
        if scope.environment == .production {
            let (requestID, requestPublicID) = try supportQueue.file(
                kind: .transactionCancellation, userID: requester.userID, email: requester.email, organizationID: scope.organizationID, note: reason,
                changes: ["transaction": t.publicID, "cancellation": cxl, "amount": t.amount.display], now: now, on: db)
            try store.linkSupportRequest(cancellationID: id, supportRequestID: requestID, on: db)
            details["request"] = .text(requestPublicID)
        }
        try transactions.audit.record(CancellationAuditEvents.requested, by: requester.actor.audit, organization: scope.organizationID,
                                      environment: scope.environment.rawValue, subject: t.publicID, details: details, on: db)
        guard let record = try store.cancellation(publicID: cxl, on: db) else { throw MoneyStoreError("cancellation not found after insert") }
        try transactions.events.record("cancellation.requested", objectID: cxl, data: CancellationJSON(record, transaction: t.publicID),
                                       organizationID: scope.organizationID, environment: scope.environment, on: db)
        guard scope.environment == .sandbox else { return record }
        return try apply(record, to: t, by: requester.actor, now: now, on: db)
    }

    /// Cancels the transaction (its money released by ``Transactions/move``) and marks the
    /// request applied, audited.
    @discardableResult
    func apply(_ c: CancellationRecord, to t: TransactionRecord, by actor: MoneyActor, now: Int64, on db: Connection) throws -> CancellationRecord {
        do {
            try transactions.move(t, to: .cancelled, note: c.reason, by: actor, on: db)
        } catch TransactionProblem.cannotMove(let from, _) {
            throw CancellationProblem.conflict("The transaction is \(from.title.lowercased()) now, so it can no longer be cancelled.")
        }
        guard try store.decideCancellation(id: c.id, status: .applied, now: now, on: db) else {
            throw CancellationProblem.conflict("This cancellation request was decided a moment ago.")
        }
        try transactions.audit.record(CancellationAuditEvents.applied, by: actor.audit, organization: t.scope.organizationID,
                                      environment: t.scope.environment.rawValue, subject: t.publicID,
                                      details: ["cancellation": .text(c.publicID), "reason": .text(c.reason)], on: db)
        return try store.cancellation(publicID: c.publicID, on: db) ?? c
    }

    /// Marks an open request refused, audited with why.
    func refuse(_ c: CancellationRecord, transaction t: TransactionRecord, why: String, by actor: Actor, now: Int64, on db: Connection) throws {
        guard try store.decideCancellation(id: c.id, status: .refused, now: now, on: db) else { return }
        try transactions.audit.record(CancellationAuditEvents.refused, by: actor, organization: t.scope.organizationID,
                                      environment: t.scope.environment.rawValue, subject: t.publicID,
                                      details: ["cancellation": .text(c.publicID), "why": .text(why)], on: db)
    }

    /// Marks an open request withdrawn (its support request was taken back).
    func withdraw(_ c: CancellationRecord, now: Int64, on db: Connection) throws {
        _ = try store.decideCancellation(id: c.id, status: .withdrawn, now: now, on: db)
    }

    // MARK: - the support request's side

    /// The request and its transaction, if both still exist.
    func pending(cancellation publicID: String, on db: Connection) throws -> (CancellationRecord, TransactionRecord)? {
        guard let c = try store.cancellation(publicID: publicID, on: db), let t = try transactions.find(id: c.transactionID, on: db) else { return nil }
        return (c, t)
    }

    /// Why approving cannot work now, if it cannot.
    func blocker(_ c: CancellationRecord, _ t: TransactionRecord) -> String? {
        guard c.isOpen else { return "This cancellation request is already \(c.status.rawValue)." }
        guard t.status.isOpen else {
            return "\(t.publicID) is \(t.status.title.lowercased()) now, so it can no longer be cancelled. Reject the request and say so."
        }
        return nil
    }

    // MARK: -

    private func find(_ env: EnvAccess, _ publicID: String, on db: Connection) throws -> TransactionRecord {
        guard let t = try transactions.find(publicID, in: env.scope, on: db) else { throw CancellationProblem.notFound }
        return t
    }

    private func checkOpen(_ t: TransactionRecord, on db: Connection) throws {
        guard t.status.isOpen else {
            throw CancellationProblem.conflict("This transaction is \(t.status.title.lowercased()), so it can no longer be cancelled.")
        }
        if let open = try store.cancellations(transactionID: t.id, on: db).first(where: \.isOpen) {
            throw CancellationProblem.conflict("\(open.requestedByName) already asked to cancel this transaction; the request is waiting for support.")
        }
    }
}
