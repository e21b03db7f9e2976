import Foundation

/// What the command line's operator commands (`portal transactions …`) may do, made public for
/// the `portal` executable: list an environment's transactions and move one (``MoneyOperator``).
public struct PortalOperations: Sendable {
    let app: PortalApp

    public struct TransactionLine: Sendable {
        public let id: String
        public let environment: String
        public let type: String
        public let status: String
        /// Major units and currency: `1234.50 EUR`.
        public let amount: String
        public let externalID: String?
        public let createdAt: Int64
        public let error: String?
    }

    static func line(_ t: TransactionRecord) -> TransactionLine {
        TransactionLine(id: t.publicID, environment: t.scope.environment.rawValue, type: t.type.rawValue, status: t.status.rawValue,
                        amount: "\(t.amount.major) \(t.amount.currency.code)", externalID: t.externalID, createdAt: t.createdAt,
                        error: t.errorCode.map { "\($0): \(t.errorNote ?? "")" })
    }

    /// Moves a transaction (Production or Sandbox) to `status` as the operator. Throws an error
    /// whose description is the message to print.
    public func settle(transaction id: String, status: String, code: String?, note: String?) throws -> (before: TransactionLine, after: TransactionLine) {
        guard let to = TransactionStatus(rawValue: status), to != .pending else {
            throw OperatorProblem.invalid("--status must be processing, paid, failed or cancelled")
        }
        let (before, after) = try MoneyOperator(transactions: app.transactions).settle(publicID: id, to: to, code: code, note: note)
        return (Self.line(before), Self.line(after))
    }

    /// The newest transactions of an organization's environment, by status if given.
    public func list(organization publicID: String, environment: String, status: String?, limit: Int) throws -> [TransactionLine] {
        guard let env = Environment(rawValue: environment) else { throw OperatorProblem.invalid("--env must be sandbox or production") }
        let st = try status.map { s throws(OperatorProblem) -> TransactionStatus in
            guard let v = TransactionStatus(rawValue: s) else { throw .invalid("--status must be one of \(TransactionStatus.allCases.map(\.rawValue).joined(separator: ", "))") }
            return v
        }
        guard let org = try app.database.read({ try app.organizations.store.organization(publicID: publicID, on: $0) }) else {
            throw OperatorProblem.notFound(publicID).organization
        }
        return try MoneyOperator(transactions: app.transactions).list(MoneyScope(organizationID: org.id, environment: env), status: st, limit: limit).map(Self.line)
    }
}

extension PortalOperations {
    /// `portal webhooks add-endpoint`: an endpoint of the organization's environment; returns
    /// its id and signing secret.
    public func addWebhookEndpoint(organization publicID: String, environment: String, url: String, events: [String]) throws -> (id: String, secret: String) {
        guard let env = Environment(rawValue: environment) else { throw OperatorProblem.invalid("--env must be sandbox or production") }
        guard let org = try app.database.read({ try app.organizations.store.organization(publicID: publicID, on: $0) }) else {
            throw OperatorProblem.invalid("no organization \(publicID)")
        }
        let (e, secret) = try app.webhooks.addAsOperator(organizationID: org.id, environment: env, url: url, events: events)
        return (e.publicID, secret)
    }

    /// `portal webhooks send-tests`: queues `count` `webhook.test` deliveries to an endpoint;
    /// a running server sends them. Returns the event ids.
    public func queueWebhookTests(endpoint: String, count: Int) throws -> [String] {
        try app.webhooks.queueTests(endpointPublicID: endpoint, count: count)
    }
}

extension OperatorProblem {
    /// "no organization …" for an organization id that names none.
    var organization: OperatorProblem {
        if case .notFound(let id) = self { return .invalid("no organization \(id)") }
        return self
    }
}

extension PortalApp {
    public var operations: PortalOperations { PortalOperations(app: self) }
}
