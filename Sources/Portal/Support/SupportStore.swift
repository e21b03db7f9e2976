import Database
import Foundation

/// A request that needs a person at the operator: an organization change, offboarding,
/// Production access, or a lost authenticator.
struct SupportRequestRecord: Sendable {
    let id: Int64
    let publicID: String
    let kind: Kind
    let userID: Int64?
    let email: String
    let note: String
    let organizationID: Int64?
    /// Field → proposed value.
    let changes: [String: String]
    let status: String
    let createdAt: Int64
    let resolvedAt: Int64?
    let resolvedBy: Int64?
    let resolutionNote: String?

    var isOpen: Bool { status == "open" }

    static func encode(_ changes: [String: String]) -> String {
        guard let data = try? JSONSerialization.data(withJSONObject: changes, options: [.sortedKeys]) else { return "{}" }
        return String(decoding: data, as: UTF8.self)
    }

    static func decode(_ json: String) -> [String: String] {
        (try? JSONSerialization.jsonObject(with: Data(json.utf8))) as? [String: String] ?? [:]
    }
}

/// The SQL for support requests.
struct SupportStore {
    static let columns = """
        r.id, r.public_id, r.kind, r.user_id, r.email, r.note, r.organization_id, r.changes, r.status, r.created_at,
        r.resolved_at, r.resolved_by, r.resolution_note
        """

    static func request(_ r: some RowReading, offset o: Int = 0) throws -> SupportRequestRecord {
        SupportRequestRecord(
            id: try r.int64(o), publicID: try r.string(o + 1), kind: Self.kind(try r.string(o + 2)),
            userID: try r.optionalInt64(o + 3), email: try r.string(o + 4), note: try r.string(o + 5),
            organizationID: try r.optionalInt64(o + 6), changes: SupportRequestRecord.decode(try r.string(o + 7)),
            status: try r.string(o + 8), createdAt: try r.int64(o + 9), resolvedAt: try r.optionalInt64(o + 10),
            resolvedBy: try r.optionalInt64(o + 11), resolutionNote: try r.optionalString(o + 12))
    }

    static func kind(_ raw: String) -> SupportRequestRecord.Kind { SupportRequestRecord.Kind(rawValue: raw) ?? .unknown(raw) }

    func insert(publicID: String, kind: SupportRequestRecord.Kind, userID: Int64?, email: String, note: String,
                organizationID: Int64?, changes: [String: String], now: Int64, on db: Connection) throws -> Int64 {
        try db.scalar(
            """
            INSERT INTO support_requests (public_id, kind, user_id, email, note, organization_id, changes, created_at)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?) RETURNING id
            """, publicID, kind.rawValue, userID, email, note, organizationID, SupportRequestRecord.encode(changes), now, as: Int64.self)!
    }

    /// An organization's requests, newest first.
    func requests(organizationID: Int64, on db: Connection) throws -> [SupportRequestRecord] {
        try db.query("SELECT \(Self.columns) FROM support_requests r WHERE r.organization_id = ? ORDER BY r.id DESC LIMIT 100",
                     organizationID).map { try Self.request($0) }
    }

    /// The organization's open requests (at most one per kind), oldest first.
    func openRequests(organizationID: Int64, on db: Connection) throws -> [SupportRequestRecord] {
        try db.query("SELECT \(Self.columns) FROM support_requests r WHERE r.organization_id = ? AND r.status = 'open' ORDER BY r.id",
                     organizationID).map { try Self.request($0) }
    }

    /// The user's open requests of a kind (lost-authenticator requests name no organization).
    func openCount(userID: Int64, kind: SupportRequestRecord.Kind, on db: Connection) throws -> Int {
        try db.scalar("SELECT count(*) FROM support_requests WHERE user_id = ? AND kind = ? AND status = 'open'",
                      userID, kind.rawValue, as: Int.self) ?? 0
    }

    /// The requester takes back an open request; false if it was decided (or withdrawn) first.
    func withdraw(id: Int64, now: Int64, on db: Connection) throws -> Bool {
        try db.execute("UPDATE support_requests SET status = 'withdrawn', resolved_at = ? WHERE id = ? AND status = 'open'", now, id) == 1
    }

    func openRequest(organizationID: Int64, kind: SupportRequestRecord.Kind, on db: Connection) throws -> SupportRequestRecord? {
        try db.queryOne(
            "SELECT \(Self.columns) FROM support_requests r WHERE r.organization_id = ? AND r.kind = ? AND r.status = 'open'",
            organizationID, kind.rawValue).map { try Self.request($0) }
    }
}

// MARK: - the back-office queue and decisions

/// A line of the support queue: the request with its organization's name, if it has one.
struct SupportQueueRow: Sendable {
    let request: SupportRequestRecord
    let organizationName: String?
    let organizationPublicID: String?
}

extension SupportStore {
    /// The queue, newest first: `status` nil means every status, `kind` nil every kind.
    /// Asks for one row more than `limit`, so the caller knows whether a next page exists.
    func queue(status: String?, kind: SupportRequestRecord.Kind?, limit: Int, offset: Int, on db: Connection) throws -> [SupportQueueRow] {
        var conditions: [String] = []
        var arguments: [any SQLBindable] = []
        if let status { conditions.append("r.status = ?"); arguments.append(status) }
        if let kind { conditions.append("r.kind = ?"); arguments.append(kind.rawValue) }
        arguments.append(limit + 1)
        arguments.append(offset)
        let filter = conditions.isEmpty ? "" : "WHERE " + conditions.joined(separator: " AND ")
        return try db.query(
            """
            SELECT \(Self.columns), CASE WHEN o.trading_name = '' THEN o.legal_name ELSE o.trading_name END, o.public_id
            FROM support_requests r LEFT JOIN organizations o ON o.id = r.organization_id
            \(filter)
            ORDER BY r.id DESC LIMIT ? OFFSET ?
            """, arguments: arguments
        ).map { SupportQueueRow(request: try Self.request($0), organizationName: try $0.optionalString(13),
                                organizationPublicID: try $0.optionalString(14)) }
    }

    /// Open requests by kind, for the queue's filter labels.
    func openCounts(on db: Connection) throws -> [String: Int] {
        var counts: [String: Int] = [:]
        for row in try db.query("SELECT kind, count(*) FROM support_requests WHERE status = 'open' GROUP BY kind") {
            counts[try row.string(0)] = try row.int(1)
        }
        return counts
    }

    func request(publicID: String, on db: Connection) throws -> SupportRequestRecord? {
        try db.queryOne("SELECT \(Self.columns) FROM support_requests r WHERE r.public_id = ?", publicID).map { try Self.request($0) }
    }

    /// Records the decision, only if the request is still open: false means someone decided
    /// it first.
    func resolve(id: Int64, status: String, by staffID: Int64, note: String, now: Int64, on db: Connection) throws -> Bool {
        try db.execute(
            """
            UPDATE support_requests SET status = ?, resolved_at = ?, resolved_by = ?, resolution_note = ?
            WHERE id = ? AND status = 'open'
            """, status, now, staffID, note, id) == 1
    }
}
