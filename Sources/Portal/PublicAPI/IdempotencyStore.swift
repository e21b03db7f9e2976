import Database

/// The SQL of idempotency keys (`api_idempotency_keys`, migration 0027). Writes happen inside
/// the caller's transaction: the one that made the change the stored response describes.
struct IdempotencyStore {
    struct Row: Sendable {
        let requestHash: String
        let method: String
        let path: String
        let status: Int
        let body: [UInt8]
    }

    /// The response recorded for `key` by `credential` at or after `since`, if any.
    func find(credential: String, key: String, since: Int64, on db: Connection) throws -> Row? {
        try db.queryOne("""
            SELECT request_hash, method, path, status, response_body FROM api_idempotency_keys
            WHERE credential_id = ? AND idempotency_key = ? AND created_at >= ?
            """, credential, key, since).map {
            Row(requestHash: try $0.string(0), method: try $0.string(1), path: try $0.string(2), status: Int(try $0.int64(3)), body: try $0.blob(4))
        }
    }

    /// Removes `key`'s row when it is older than `before` (a retry after the window starts afresh).
    func forget(credential: String, key: String, before: Int64, on db: Connection) throws {
        try db.execute("DELETE FROM api_idempotency_keys WHERE credential_id = ? AND idempotency_key = ? AND created_at < ?",
                       credential, key, before)
    }

    func insert(credential: String, key: String, method: String, path: String, requestHash: String, status: Int, body: [UInt8],
                at now: Int64, on db: Connection) throws -> Int64 {
        try db.scalar("""
            INSERT INTO api_idempotency_keys (credential_id, idempotency_key, method, path, request_hash, status, response_body, created_at)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?) RETURNING id
            """, credential, key, method, path, requestHash, status, body, now, as: Int64.self) ?? 0
    }

    /// Deletes every row older than `before`; returns how many.
    @discardableResult
    func prune(before: Int64, on db: Connection) throws -> Int {
        try db.execute("DELETE FROM api_idempotency_keys WHERE created_at < ?", before)
    }

    func count(on db: Connection) throws -> Int {
        try db.scalar("SELECT count(*) FROM api_idempotency_keys", as: Int.self) ?? 0
    }
}
