import Database

/// The SQL of the health check: one trivial read.
struct HealthStore {
    func alive(on db: Connection) throws -> Bool {
        try db.scalar("SELECT 1 FROM app_meta LIMIT 1", as: Int.self) == 1
    }
}
