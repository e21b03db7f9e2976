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
}
