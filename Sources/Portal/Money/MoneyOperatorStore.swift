import Database

/// The SQL of the operator's command line (`portal transactions …`): transactions found by id
/// alone (an operator is in no organization) and an environment's list by status.
struct MoneyOperatorStore {
    func transaction(publicID: String, on db: Connection) throws -> TransactionRecord? {
        try db.queryOne("SELECT \(MoneyStore.transactionColumns) FROM transactions t WHERE t.public_id = ?", publicID)
            .map { try MoneyStore.transaction($0) }
    }

    /// The newest first, through the (organization, environment, created_at, id) index.
    func transactions(_ scope: MoneyScope, status: TransactionStatus?, limit: Int, on db: Connection) throws -> [TransactionRecord] {
        try db.query(
            """
            SELECT \(MoneyStore.transactionColumns) FROM transactions t
            WHERE t.organization_id = ? AND t.environment = ? AND (?3 IS NULL OR t.status = ?3)
            ORDER BY t.created_at DESC, t.id DESC LIMIT ?
            """, scope.organizationID, scope.environment.rawValue, status?.rawValue, limit).map { try MoneyStore.transaction($0) }
    }
}
