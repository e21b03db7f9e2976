import Database

extension SupportRequestRecord.Kind {
    static let transactionCancellation = Self("transaction_cancellation", title: "Transaction cancellation",
                                              phrase: "the cancellation of a transaction", environment: Environment.production.rawValue,
                                              filed: CancellationAuditEvents.requested)
}

/// A member asks support to cancel a Production transaction (``Cancellations``). The request's
/// `changes` name the transaction and the cancellation; approving cancels the transaction if it
/// is still open (otherwise approval is refused with the reason, and support rejects it);
/// rejecting marks the cancellation refused.
struct TransactionCancellationRequest: SupportRequestKind {
    var kind: SupportRequestRecord.Kind { .transactionCancellation }

    /// Money's service over the decision's connection (the registry is built before any app).
    func cancellations(_ c: SupportCase) -> Cancellations {
        Cancellations(transactions: Transactions(database: c.organizations.database, clock: c.organizations.clock, jobs: nil))
    }

    func pending(_ c: SupportCase, on db: Connection) throws -> (CancellationRecord, TransactionRecord)? {
        guard let id = c.request.changes["cancellation"], case let (cxl, t)? = try cancellations(c).pending(cancellation: id, on: db),
              t.scope.organizationID == c.request.organizationID else { return nil }
        return (cxl, t)
    }

    func review(_ c: SupportCase, on db: Connection) throws -> (changes: [SupportChange], consequences: [String]) {
        guard case let (cxl, t)? = try pending(c, on: db) else {
            return ([SupportChange(label: "Transaction", before: c.request.changes["transaction"] ?? "—", after: "—")], [])
        }
        var changes = [
            SupportChange(label: "Transaction", before: t.publicID, after: t.publicID),
            SupportChange(label: "Amount", before: "\(t.type.title) of \(t.amount.display)", after: "\(t.type.title) of \(t.amount.display)"),
            SupportChange(label: "Status", before: t.status.title, after: TransactionStatus.cancelled.title),
        ]
        if let e = t.externalID { changes.insert(SupportChange(label: "External ID", before: e, after: e), at: 1) }
        let release = t.type.isIncoming ? "the pending \(t.amount.display) leaves the balance" : "\(t.amount.display) returns to the available balance"
        return (changes, cxl.isOpen && t.status.isOpen ? ["The transaction is cancelled at once and \(release)."] : [])
    }

    func check(_ c: SupportCase, on db: Connection) throws {
        guard c.organization?.isActive == true else { throw SupportProblem.conflict("The organization of this request is closed. Reject the request.") }
        guard case let (cxl, t)? = try pending(c, on: db) else { throw SupportProblem.conflict("The transaction no longer exists. Reject the request.") }
        if let why = cancellations(c).blocker(cxl, t) { throw SupportProblem.conflict(why) }
    }

    func apply(_ c: SupportCase, by actor: Actor, now: Int64, on db: Connection) throws {
        try check(c, on: db)
        guard case let (cxl, t)? = try pending(c, on: db) else { return }
        do {
            try cancellations(c).apply(cxl, to: t, by: MoneyActor(audit: actor, name: "Support"), now: now, on: db)
        } catch CancellationProblem.conflict(let why) {
            throw SupportProblem.conflict(why)
        }
    }

    func rejected(_ c: SupportCase, reason: String, by actor: Actor, now: Int64, on db: Connection) throws {
        guard case let (cxl, t)? = try pending(c, on: db) else { return }
        try cancellations(c).refuse(cxl, transaction: t, why: reason, by: actor, now: now, on: db)
    }

    /// The Owner took the request back: the cancellation is no longer waiting, so a member may ask again.
    func withdrawn(_ c: SupportCase, by actor: Actor, now: Int64, on db: Connection) throws {
        guard case let (cxl, _)? = try pending(c, on: db) else { return }
        try cancellations(c).withdraw(cxl, now: now, on: db)
    }

    func outcome(_ c: SupportCase, approved: Bool) -> SupportOutcome {
        let org = c.organization?.publicID ?? ""
        let txn = c.request.changes["transaction"] ?? ""
        return SupportOutcome(what: approved ? "The transaction \(txn) is cancelled and its money released." : "The transaction \(txn) was not cancelled.",
                              path: "/orgs/\(org)/production/transactions/\(txn)", linkText: "The transaction")
    }
}
