import Database

/// The SQL of the webhooks: endpoints, the delivery queue, attempts and the fan-out cursor.
struct WebhooksStore {
    // MARK: - endpoints

    static let endpointColumns = """
        e.id, e.public_id, e.organization_id, e.environment, e.url, e.description, e.event_types, e.secret, e.old_secret, e.old_secret_until,
        e.enabled, e.disabled_reason, e.disabled_at, e.failing_since, e.last_success_at, e.created_by_name, e.created_at
        """

    static func endpoint(_ r: Row) throws -> WebhookEndpoint {
        let types = try r.string(6)
        return WebhookEndpoint(
            id: try r.int64(0), publicID: try r.string(1), organizationID: try r.int64(2), environment: Environment(rawValue: try r.string(3)) ?? .sandbox,
            url: try r.string(4), description: try r.string(5), eventTypes: types == "*" ? nil : types.split(separator: " ").map(String.init),
            sealedSecret: try r.blob(7), sealedOldSecret: try r.optionalBlob(8), oldSecretUntil: try r.optionalInt64(9), enabled: try r.int(10) != 0,
            disabledReason: try r.optionalString(11), disabledAt: try r.optionalInt64(12), failingSince: try r.optionalInt64(13),
            lastSuccessAt: try r.optionalInt64(14), createdByName: try r.string(15), createdAt: try r.int64(16))
    }

    static func types(_ t: [String]?) -> String { t.map { $0.joined(separator: " ") } ?? "*" }

    func insertEndpoint(publicID: String, organizationID: Int64, environment: Environment, url: String, description: String, eventTypes: [String]?,
                        sealedSecret: [UInt8], createdByName: String, at now: Int64, on db: Connection) throws -> Int64 {
        try db.execute("""
            INSERT INTO webhook_endpoints (public_id, organization_id, environment, url, description, event_types, secret, created_by_name, created_at)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
            """, publicID, organizationID, environment.rawValue, url, description, Self.types(eventTypes), sealedSecret, createdByName, now)
        return db.lastInsertRowID
    }

    func endpoint(id: Int64, on db: Connection) throws -> WebhookEndpoint? {
        try db.queryOne("SELECT \(Self.endpointColumns) FROM webhook_endpoints e WHERE e.id = ? AND e.deleted_at IS NULL", id).map(Self.endpoint)
    }

    func endpoint(publicID: String, organizationID: Int64, environment: Environment, on db: Connection) throws -> WebhookEndpoint? {
        try db.queryOne("SELECT \(Self.endpointColumns) FROM webhook_endpoints e WHERE e.public_id = ? AND e.organization_id = ? AND e.environment = ? AND e.deleted_at IS NULL",
                        publicID, organizationID, environment.rawValue).map(Self.endpoint)
    }

    func endpoint(publicIDAnyOrg publicID: String, on db: Connection) throws -> WebhookEndpoint? {
        try db.queryOne("SELECT \(Self.endpointColumns) FROM webhook_endpoints e WHERE e.public_id = ? AND e.deleted_at IS NULL", publicID).map(Self.endpoint)
    }

    func endpoints(organizationID: Int64, environment: Environment, on db: Connection) throws -> [WebhookEndpoint] {
        try db.query("SELECT \(Self.endpointColumns) FROM webhook_endpoints e WHERE e.organization_id = ? AND e.environment = ? AND e.deleted_at IS NULL ORDER BY e.id DESC",
                     organizationID, environment.rawValue).map(Self.endpoint)
    }

    /// The endpoints (enabled or not) of the given organizations (the fan-out of a batch of events).
    func endpoints(organizationIDs: [Int64], on db: Connection) throws -> [WebhookEndpoint] {
        guard !organizationIDs.isEmpty else { return [] }
        let marks = Array(repeating: "?", count: organizationIDs.count).joined(separator: ",")
        return try db.query("SELECT \(Self.endpointColumns) FROM webhook_endpoints e WHERE e.organization_id IN (\(marks)) AND e.deleted_at IS NULL",
                            arguments: organizationIDs).map(Self.endpoint)
    }

    func exists(organizationID: Int64, environment: Environment, on db: Connection) throws -> Bool {
        try db.scalar("SELECT EXISTS (SELECT 1 FROM webhook_endpoints WHERE organization_id = ? AND environment = ? AND deleted_at IS NULL)",
                      organizationID, environment.rawValue, as: Bool.self) ?? false
    }

    func update(id: Int64, url: String, description: String, eventTypes: [String]?, on db: Connection) throws {
        try db.execute("UPDATE webhook_endpoints SET url = ?, description = ?, event_types = ? WHERE id = ?", url, description, Self.types(eventTypes), id)
    }

    /// Disables the endpoint; what waited for a retry fails ("endpoint disabled"), so that
    /// enabling it offers to replay it with the rest.
    func disable(id: Int64, reason: String, at now: Int64, on db: Connection) throws -> Bool {
        guard try db.execute("UPDATE webhook_endpoints SET enabled = 0, disabled_reason = ?, disabled_at = ? WHERE id = ? AND enabled = 1", reason, now, id) == 1 else {
            return false
        }
        try db.execute("UPDATE webhook_deliveries SET state = 'failed', next_attempt_at = NULL, last_error = 'endpoint disabled' WHERE endpoint_id = ? AND state = 'pending'", id)
        return true
    }

    func enable(id: Int64, on db: Connection) throws -> Bool {
        try db.execute("UPDATE webhook_endpoints SET enabled = 1, disabled_reason = NULL, disabled_at = NULL, failing_since = NULL WHERE id = ? AND enabled = 0", id) == 1
    }

    func delete(id: Int64, at now: Int64, on db: Connection) throws {
        try db.execute("UPDATE webhook_endpoints SET deleted_at = ?, enabled = 0 WHERE id = ?", now, id)
        try db.execute("UPDATE webhook_deliveries SET state = 'failed', next_attempt_at = NULL, last_error = 'endpoint deleted' WHERE endpoint_id = ? AND state = 'pending'", id)
    }

    func rotate(id: Int64, sealedSecret: [UInt8], sealedOld: [UInt8]?, oldUntil: Int64?, on db: Connection) throws {
        try db.execute("UPDATE webhook_endpoints SET secret = ?, old_secret = ?, old_secret_until = ? WHERE id = ?", sealedSecret, sealedOld, oldUntil, id)
    }

    func markSuccess(endpointID: Int64, at now: Int64, on db: Connection) throws {
        try db.execute("UPDATE webhook_endpoints SET failing_since = NULL, last_success_at = ? WHERE id = ?", now, endpointID)
    }

    func markFailure(endpointID: Int64, at now: Int64, on db: Connection) throws {
        try db.execute("UPDATE webhook_endpoints SET failing_since = coalesce(failing_since, ?) WHERE id = ?", now, endpointID)
    }

    /// Enabled endpoints failing every attempt since before `before`.
    func failingSince(before: Int64, on db: Connection) throws -> [WebhookEndpoint] {
        try db.query("SELECT \(Self.endpointColumns) FROM webhook_endpoints e WHERE e.enabled = 1 AND e.deleted_at IS NULL AND e.failing_since IS NOT NULL AND e.failing_since <= ?",
                     before).map(Self.endpoint)
    }

    // MARK: - the cursor

    func cursor(on db: Connection) throws -> Int64 {
        try db.scalar("SELECT last_event_id FROM webhook_cursor WHERE id = 1", as: Int64.self) ?? 0
    }

    func moveCursor(to id: Int64, on db: Connection) throws {
        try db.execute("INSERT INTO webhook_cursor (id, last_event_id) VALUES (1, ?) ON CONFLICT (id) DO UPDATE SET last_event_id = max(last_event_id, excluded.last_event_id)", id)
    }

    // MARK: - deliveries

    static let deliveryColumns = """
        d.id, d.public_id, d.endpoint_id, d.event_id, ev.public_id, d.event_type, d.state, d.attempts, d.next_attempt_at, d.last_attempt_at,
        d.last_status, d.last_error, d.replay_of, d.created_at
        """

    static func delivery(_ r: Row) throws -> WebhookDelivery {
        WebhookDelivery(id: try r.int64(0), publicID: try r.string(1), endpointID: try r.int64(2), eventID: try r.int64(3), eventPublicID: try r.string(4),
                        eventType: try r.string(5), state: WebhookDeliveryState(rawValue: try r.string(6)) ?? .pending, attempts: try r.int(7),
                        nextAttemptAt: try r.optionalInt64(8), lastAttemptAt: try r.optionalInt64(9), lastStatus: try r.optionalInt(10),
                        lastError: try r.optionalString(11), replayOf: try r.optionalInt64(12), createdAt: try r.int64(13))
    }

    /// A delivery due now; or, for a disabled endpoint, one that failed at once (so the log
    /// shows what it missed and enabling it offers to replay it).
    func insertDelivery(publicID: String, endpointID: Int64, eventID: Int64, eventType: String, replayOf: Int64?, disabled: Bool = false,
                        at now: Int64, on db: Connection) throws -> Int64 {
        try db.execute("""
            INSERT INTO webhook_deliveries (public_id, endpoint_id, event_id, event_type, state, next_attempt_at, replay_of, created_at, last_error)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
            """, publicID, endpointID, eventID, eventType, disabled ? "failed" : "pending", disabled ? nil : now, replayOf, now,
                       disabled ? "endpoint disabled" : nil)
        return db.lastInsertRowID
    }

    func delivery(publicID: String, endpointID: Int64, on db: Connection) throws -> WebhookDelivery? {
        try db.queryOne("SELECT \(Self.deliveryColumns) FROM webhook_deliveries d JOIN events ev ON ev.id = d.event_id WHERE d.public_id = ? AND d.endpoint_id = ?",
                        publicID, endpointID).map(Self.delivery)
    }

    func delivery(id: Int64, on db: Connection) throws -> WebhookDelivery? {
        try db.queryOne("SELECT \(Self.deliveryColumns) FROM webhook_deliveries d JOIN events ev ON ev.id = d.event_id WHERE d.id = ?", id).map(Self.delivery)
    }

    /// One page of an endpoint's deliveries, newest first, before the row `before` (keyset).
    func deliveries(endpointID: Int64, state: WebhookDeliveryState?, type: String?, from: Int64?, to: Int64?, before: Int64?, limit: Int,
                    on db: Connection) throws -> [WebhookDelivery] {
        var sql = "SELECT \(Self.deliveryColumns) FROM webhook_deliveries d JOIN events ev ON ev.id = d.event_id WHERE d.endpoint_id = ?"
        var args: [any SQLBindable] = [endpointID]
        if let state { sql += " AND d.state = ?"; args.append(state.rawValue) }
        if let type { sql += " AND d.event_type = ?"; args.append(type) }
        if let from { sql += " AND d.created_at >= ?"; args.append(from) }
        if let to { sql += " AND d.created_at < ?"; args.append(to) }
        if let before { sql += " AND d.id < ?"; args.append(before) }
        sql += " ORDER BY d.id DESC LIMIT ?"
        args.append(limit)
        return try db.query(sql, arguments: args).map(Self.delivery)
    }

    /// The failed deliveries of an endpoint made since `since`, oldest first, one per event.
    func failed(endpointID: Int64, since: Int64, on db: Connection) throws -> [WebhookDelivery] {
        try db.query("""
            SELECT \(Self.deliveryColumns) FROM webhook_deliveries d JOIN events ev ON ev.id = d.event_id
            WHERE d.endpoint_id = ? AND d.state = 'failed' AND d.created_at >= ?
              AND NOT EXISTS (SELECT 1 FROM webhook_deliveries n WHERE n.endpoint_id = d.endpoint_id AND n.event_id = d.event_id AND n.id > d.id)
            ORDER BY d.id
            """, endpointID, since).map(Self.delivery)
    }

    func health(endpointID: Int64, since: Int64, on db: Connection) throws -> WebhookHealth {
        let last = try db.scalar("SELECT max(last_attempt_at) FROM webhook_deliveries WHERE endpoint_id = ?", endpointID, as: Int64.self)
        let row = try db.queryOne("""
            SELECT count(*), coalesce(sum(a.response_status BETWEEN 200 AND 299), 0) FROM webhook_attempts a
            JOIN webhook_deliveries d ON d.id = a.delivery_id WHERE d.endpoint_id = ? AND a.at >= ?
            """, endpointID, since)
        return WebhookHealth(lastDeliveryAt: last, attempts24h: try row?.int(0) ?? 0, succeeded24h: try row?.int(1) ?? 0)
    }

    // MARK: - the queue

    /// A due delivery with what sending it needs.
    struct Due: Sendable {
        let deliveryID: Int64
        let attempts: Int
        let endpoint: WebhookEndpoint
        let event: EventRecord
    }

    /// Due deliveries of enabled endpoints whose lease has ended, oldest due first.
    /// `busy`: endpoints already at their limit of deliveries in flight, skipped in the query so
    /// that their backlog never hides another endpoint's due deliveries.
    /// The enabled endpoints with a delivery due now and not leased, the one due longest first.
    /// One short range of `webhook_deliveries_due` per enabled endpoint: its leased rows (a
    /// few) and its first due one.
    func dueEndpoints(now: Int64, on db: Connection) throws -> [Int64] {
        try db.query("""
            SELECT id FROM (
              SELECT e.id, (SELECT d.next_attempt_at FROM webhook_deliveries d
                            WHERE d.endpoint_id = e.id AND d.state = 'pending' AND d.next_attempt_at <= ? AND d.lease_until <= ?
                            ORDER BY d.next_attempt_at, d.id LIMIT 1) AS due
              FROM webhook_endpoints e WHERE e.enabled = 1)
            WHERE due IS NOT NULL ORDER BY due, id
            """, now, now).map { try $0.int64(0) }
    }

    /// An endpoint's deliveries due now and not leased, oldest due first.
    func due(endpointID: Int64, now: Int64, limit: Int, on db: Connection) throws -> [(deliveryID: Int64, attempts: Int, eventID: Int64)] {
        try db.query("""
            SELECT id, attempts, event_id FROM webhook_deliveries
            WHERE endpoint_id = ? AND state = 'pending' AND next_attempt_at <= ? AND lease_until <= ?
            ORDER BY next_attempt_at, id LIMIT ?
            """, endpointID, now, now, limit).map { (try $0.int64(0), try $0.int(1), try $0.int64(2)) }
    }

    func lease(deliveryID: Int64, until: Int64, now: Int64, on db: Connection) throws -> Bool {
        try db.execute("UPDATE webhook_deliveries SET lease_until = ? WHERE id = ? AND state = 'pending' AND lease_until <= ?", until, deliveryID, now) == 1
    }

    struct NewAttempt {
        let deliveryID: Int64
        let number: Int
        let at: Int64
        let durationMs: Int
        let url: String
        let requestHeaders: String
        let requestBody: String
        let responseStatus: Int?
        let responseHeaders: String?
        let responseBody: [UInt8]?
        let error: String?
        let nextAttemptAt: Int64?
    }

    func insertAttempt(_ a: NewAttempt, on db: Connection) throws {
        try db.execute("""
            INSERT INTO webhook_attempts (delivery_id, number, at, duration_ms, url, request_headers, request_body, response_status, response_headers,
                                          response_body, error, next_attempt_at)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
            """, a.deliveryID, a.number, a.at, a.durationMs, a.url, a.requestHeaders, a.requestBody, a.responseStatus, a.responseHeaders,
                       a.responseBody, a.error, a.nextAttemptAt)
    }

    /// Records an attempt's outcome on its delivery: settled (`next` nil) or due again at `next`.
    func settle(deliveryID: Int64, attempts: Int, state: WebhookDeliveryState, next: Int64?, status: Int?, error: String?, at now: Int64, on db: Connection) throws {
        try db.execute("""
            UPDATE webhook_deliveries SET attempts = ?, state = ?, next_attempt_at = ?, lease_until = 0, last_attempt_at = ?, last_status = ?, last_error = ?
            WHERE id = ?
            """, attempts, state.rawValue, next, now, status, error, deliveryID)
    }

    func attempts(deliveryID: Int64, on db: Connection) throws -> [WebhookAttempt] {
        try db.query("""
            SELECT id, delivery_id, number, at, duration_ms, url, request_headers, request_body, response_status, response_headers, response_body, error, next_attempt_at
            FROM webhook_attempts WHERE delivery_id = ? ORDER BY id
            """, deliveryID).map { r in
            WebhookAttempt(id: try r.int64(0), deliveryID: try r.int64(1), number: try r.int(2), at: try r.int64(3), durationMs: try r.int(4),
                           url: try r.string(5), requestHeaders: try r.string(6), requestBody: try r.string(7), responseStatus: try r.optionalInt(8),
                           responseHeaders: try r.optionalString(9), responseBody: try r.optionalBlob(10), error: try r.optionalString(11),
                           nextAttemptAt: try r.optionalInt64(12))
        }
    }

    /// Deletes settled deliveries (and their attempts) made before `before`; returns how many.
    func prune(before: Int64, limit: Int, on db: Connection) throws -> Int {
        try db.execute("DELETE FROM webhook_deliveries WHERE id IN (SELECT id FROM webhook_deliveries WHERE created_at < ? AND state != 'pending' LIMIT ?)", before, limit)
    }
}
