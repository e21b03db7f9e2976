import Database
import Foundation
import Testing
@testable import Portal

@Suite("Start-up: migrations and templates are checked before anything listens")
struct StartupTests {
    /// A copy of Migrations/ that a test may edit.
    func migrationsCopy() throws -> String {
        let dir = NSTemporaryDirectory() + "portal-migrations-" + UUID().uuidString
        try FileManager.default.copyItem(atPath: repoRoot + "/Migrations", toPath: dir)
        return dir
    }

    @Test func refusesToStartWhenAnAppliedMigrationWasEdited() throws {
        let migrations = try migrationsCopy()
        defer { try? FileManager.default.removeItem(atPath: migrations) }
        let db = NSTemporaryDirectory() + "portal-start-" + UUID().uuidString + ".sqlite"
        defer { for s in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: db + s) } }
        _ = try TestPortal { $0.migrationsDirectory = migrations; $0.databasePath = db }

        let first = try FileManager.default.contentsOfDirectory(atPath: migrations).filter { $0.hasSuffix(".sql") }.sorted()[0]
        let path = migrations + "/" + first
        try (String(contentsOfFile: path, encoding: .utf8) + "\n-- edited\n").write(toFile: path, atomically: true, encoding: .utf8)
        #expect {
            _ = try TestPortal { $0.migrationsDirectory = migrations; $0.databasePath = db }
        } throws: { error in
            "\(error)".contains(first)
        }
    }

    @Test func aFailingMigrationLeavesNothingBehindAndStopsTheStart() throws {
        let migrations = try migrationsCopy()
        defer { try? FileManager.default.removeItem(atPath: migrations) }
        try "CREATE TABLE half_done(id INTEGER);\nINSERT INTO no_such_table VALUES (1);\n"
            .write(toFile: migrations + "/9999_broken.sql", atomically: true, encoding: .utf8)
        let db = NSTemporaryDirectory() + "portal-start-" + UUID().uuidString + ".sqlite"
        defer { for s in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: db + s) } }
        #expect {
            _ = try TestPortal { $0.migrationsDirectory = migrations; $0.databasePath = db }
        } throws: { error in
            "\(error)".contains("9999_broken.sql")
        }
        let check = try Database(path: db)
        defer { check.close() }
        let table = try check.read { try $0.scalar("SELECT count(*) FROM sqlite_master WHERE name = 'half_done'", as: Int.self) }
        #expect(table == 0)
        let recorded = try check.read { try $0.scalar("SELECT count(*) FROM schema_migrations WHERE name = '9999_broken.sql'", as: Int.self) }
        #expect(recorded == 0)
    }

    @Test func refusesToStartWithABrokenTemplate() throws {
        let templates = NSTemporaryDirectory() + "portal-templates-" + UUID().uuidString
        try FileManager.default.copyItem(atPath: repoRoot + "/Templates", toPath: templates)
        defer { try? FileManager.default.removeItem(atPath: templates) }
        try "{{#unclosed}}".write(toFile: templates + "/home/index.mustache", atomically: true, encoding: .utf8)
        #expect {
            _ = try TestPortal { $0.templatesDirectory = templates }
        } throws: { error in
            "\(error)".contains("home/index")
        }
    }
}
