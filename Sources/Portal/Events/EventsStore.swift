import Database

/// The SQL of the `events` table.
struct EventsStore {
    func insert(publicID: String, organizationID: Int64, environment: String, type: String, objectID: String, data: String, at now: Int64, on db: Connection) throws {
        try db.execute("INSERT INTO events (public_id, organization_id, environment, type, object_id, data, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
                       publicID, organizationID, environment, type, objectID, data, now)
    }

    func recent(organizationID: Int64, environment: String, limit: Int, on db: Connection) throws -> [EventRecord] {
        try db.query("SELECT id, public_id, organization_id, environment, type, object_id, data, created_at FROM events WHERE organization_id = ? AND environment = ? ORDER BY id DESC LIMIT ?",
                     organizationID, environment, limit).map {
            EventRecord(id: try $0.int64(0), publicID: try $0.string(1), organizationID: try $0.int64(2),
                        environment: Environment(rawValue: try $0.string(3)) ?? .sandbox, type: try $0.string(4),
                        objectID: try $0.string(5), data: try $0.string(6), createdAt: try $0.int64(7))
        }
    }

    static let columns = "id, public_id, organization_id, environment, type, object_id, data, created_at"

    static func record(_ r: Row) throws -> EventRecord {
        EventRecord(id: try r.int64(0), publicID: try r.string(1), organizationID: try r.int64(2),
                    environment: Environment(rawValue: try r.string(3)) ?? .sandbox, type: try r.string(4),
                    objectID: try r.string(5), data: try r.string(6), createdAt: try r.int64(7))
    }

    func after(id: Int64, limit: Int, on db: Connection) throws -> [EventRecord] {
        try db.query("SELECT \(Self.columns) FROM events WHERE id > ? ORDER BY id LIMIT ?", id, limit).map(Self.record)
    }

    func event(publicID: String, on db: Connection) throws -> EventRecord? {
        try db.queryOne("SELECT \(Self.columns) FROM events WHERE public_id = ?", publicID).map(Self.record)
    }

    func event(id: Int64, on db: Connection) throws -> EventRecord? {
        try db.queryOne("SELECT \(Self.columns) FROM events WHERE id = ?", id).map(Self.record)
    }

    func maxID(on db: Connection) throws -> Int64 {
        try db.scalar("SELECT coalesce(max(id), 0) FROM events", as: Int64.self) ?? 0
    }
}
