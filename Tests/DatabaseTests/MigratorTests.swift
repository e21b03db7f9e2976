import Foundation
import Testing
@testable import Database

/// A temporary migrations directory and database.
private struct Fixture {
    let directory: String
    let db: Database
    var migrator: Migrator { Migrator(directory: directory) }

    func write(_ file: String, _ sql: String) throws {
        try sql.write(toFile: directory + "/" + file, atomically: true, encoding: .utf8)
    }

    func remove(_ file: String) throws {
        try FileManager.default.removeItem(atPath: directory + "/" + file)
    }

    func tables() throws -> [String] {
        try db.read { conn in
            try conn.query("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name").map { try $0.string(0) }
        }
    }

    func appliedVersions() throws -> [Int] {
        try db.read { conn in
            try conn.query("SELECT version FROM schema_migrations ORDER BY version").map { try $0.int(0) }
        }
    }
}

private func withFixture(_ body: (Fixture) throws -> Void) throws {
    try withTemporaryDirectory { root in
        let directory = root + "/migrations"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let db = try Database(path: root + "/app.sqlite", readers: 2)
        defer { db.close() }
        try body(Fixture(directory: directory, db: db))
    }
}

/// The `MigrationError` `body` throws; records an issue if it throws anything else or nothing.
private func migrationError(_ body: () throws -> Void, sourceLocation: SourceLocation = #_sourceLocation) -> MigrationError? {
    let error = thrownError(body)
    guard let migrationError = error as? MigrationError else {
        Issue.record("expected a MigrationError, got \(String(describing: error))", sourceLocation: sourceLocation)
        return nil
    }
    return migrationError
}

@Suite struct MigratorTests {
    /// Versions sort numerically (10 after 2), and each migration can rely on the previous ones.
    @Test func appliesInNumericOrderAndRecordsChecksums() throws {
        try withFixture { f in
            try f.write("10_add_email.sql", "ALTER TABLE users ADD COLUMN email TEXT;")
            try f.write("2_users.sql", "CREATE TABLE users(id INTEGER PRIMARY KEY, kind TEXT REFERENCES kinds(name));")
            try f.write("1_kinds.sql", "CREATE TABLE kinds(name TEXT PRIMARY KEY);\nINSERT INTO kinds VALUES ('admin');")
            try f.write("README.md", "not a migration")

            #expect(try f.migrator.pending(in: f.db) == ["1_kinds.sql", "2_users.sql", "10_add_email.sql"])
            #expect(try f.migrator.migrate(f.db) == ["1_kinds.sql", "2_users.sql", "10_add_email.sql"])

            #expect(try f.tables() == ["kinds", "schema_migrations", "users"])
            let rows = try f.db.read { try $0.query("SELECT version, name, checksum, applied_at FROM schema_migrations ORDER BY version") }
            #expect(try rows.map { try $0.int("version") } == [1, 2, 10])
            #expect(try rows.map { try $0.string("name") } == ["1_kinds.sql", "2_users.sql", "10_add_email.sql"])
            #expect(try rows[2].string("checksum") == SHA256.hexDigest(Array("ALTER TABLE users ADD COLUMN email TEXT;".utf8)))
            #expect(try rows[0].string("applied_at").hasSuffix("Z"))
            try f.db.write { try $0.execute("INSERT INTO users(kind, email) VALUES ('admin', 'a@example.com')") }
        }
    }

    @Test func secondRunIsANoOp() throws {
        try withFixture { f in
            try f.write("0001_a.sql", "CREATE TABLE a(x);")
            try f.write("0002_b.sql", "CREATE TABLE b(x);")
            #expect(try f.migrator.migrate(f.db).count == 2)
            #expect(try f.migrator.migrate(f.db) == [])
            #expect(try f.migrator.pending(in: f.db) == [])
            #expect(try f.appliedVersions() == [1, 2])
        }
    }

    @Test func appliesOnlyNewMigrations() throws {
        try withFixture { f in
            try f.write("0001_a.sql", "CREATE TABLE a(x);")
            try f.migrator.migrate(f.db)
            try f.write("0002_b.sql", "INSERT INTO a VALUES (1);")
            #expect(try f.migrator.pending(in: f.db) == ["0002_b.sql"])
            #expect(try f.migrator.migrate(f.db) == ["0002_b.sql"])
            // 0001 did not run again (it would have failed: table a exists) and 0002 ran once.
            #expect(try f.db.read { try $0.scalar("SELECT count(*) FROM a", as: Int.self) } == 1)
        }
    }

    @Test func refusesAnEditedAppliedMigration() throws {
        try withFixture { f in
            try f.write("0001_a.sql", "CREATE TABLE a(x);")
            try f.write("0002_b.sql", "CREATE TABLE b(x);")
            try f.migrator.migrate(f.db)
            try f.write("0002_b.sql", "CREATE TABLE b(x); ") // even a whitespace edit
            try f.write("0003_c.sql", "CREATE TABLE c(x);")

            let error = try #require(migrationError { try f.migrator.migrate(f.db) })
            guard case .editedAfterApply(let file, _, _) = error else {
                Issue.record("unexpected \(error)")
                return
            }
            #expect(file == "0002_b.sql")
            #expect(error.description.contains("0002_b.sql") && error.description.contains("edited"))
            #expect(migrationError { _ = try f.migrator.pending(in: f.db) } != nil)
            #expect(!(try f.tables()).contains("c")) // nothing newer was applied
        }
    }

    @Test func refusesWhenAnAppliedFileIsMissing() throws {
        try withFixture { f in
            try f.write("0001_a.sql", "CREATE TABLE a(x);")
            try f.write("0002_b.sql", "CREATE TABLE b(x);")
            try f.migrator.migrate(f.db)
            try f.remove("0001_a.sql")

            let error = try #require(migrationError { try f.migrator.migrate(f.db) })
            guard case .missingFile(let file, _) = error else {
                Issue.record("unexpected \(error)")
                return
            }
            #expect(file == "0001_a.sql")
            #expect(error.description.contains("0001_a.sql") && error.description.contains("missing"))
        }
    }

    @Test func refusesARenamedAppliedFile() throws {
        try withFixture { f in
            try f.write("0001_a.sql", "CREATE TABLE a(x);")
            try f.migrator.migrate(f.db)
            try f.remove("0001_a.sql")
            try f.write("0001_renamed.sql", "CREATE TABLE a(x);")

            let error = try #require(migrationError { try f.migrator.migrate(f.db) })
            guard case .renamed(1, "0001_a.sql", "0001_renamed.sql") = error else {
                Issue.record("unexpected \(error)")
                return
            }
        }
    }

    /// A migration failing halfway leaves nothing: not its first statements, not its
    /// schema_migrations row. Earlier migrations stay applied, and a fixed file then applies.
    @Test func failingMigrationLeavesNoTrace() throws {
        try withFixture { f in
            try f.write("0001_a.sql", "CREATE TABLE a(x);")
            try f.write("0002_broken.sql", """
                CREATE TABLE partial(x);
                INSERT INTO partial VALUES (1);
                INSERT INTO nonexistent VALUES (1);
                """)
            try f.write("0003_c.sql", "CREATE TABLE c(x);")

            let error = try #require(migrationError { try f.migrator.migrate(f.db) })
            guard case .failed(let file, let line, let underlying) = error else {
                Issue.record("unexpected \(error)")
                return
            }
            #expect(file == "0002_broken.sql")
            #expect(line == 3)
            #expect(underlying.message == "no such table: nonexistent")
            #expect(error.description.contains("0002_broken.sql line 3") && error.description.contains("no such table: nonexistent"))

            #expect(try f.tables() == ["a", "schema_migrations"])
            #expect(try f.appliedVersions() == [1])
            #expect(try f.migrator.pending(in: f.db) == ["0002_broken.sql", "0003_c.sql"])

            try f.write("0002_broken.sql", "CREATE TABLE partial(x);")
            #expect(try f.migrator.migrate(f.db) == ["0002_broken.sql", "0003_c.sql"])
        }
    }

    @Test func syntaxErrorNamesFileAndLine() throws {
        try withFixture { f in
            try f.write("0001_typo.sql", "-- create things\nCREATE TABLE a(x);\n\nCREAT TABLE b(y);\n")
            let error = try #require(migrationError { try f.migrator.migrate(f.db) })
            guard case .failed("0001_typo.sql", 4, let underlying) = error else {
                Issue.record("unexpected \(error)")
                return
            }
            #expect(underlying.message.contains("syntax error"))
            #expect(try f.tables() == ["schema_migrations"])
        }
    }

    @Test func transactionControlInsideAMigrationFails() throws {
        try withFixture { f in
            try f.write("0001_tx.sql", "BEGIN; CREATE TABLE a(x); COMMIT;")
            let error = try #require(migrationError { try f.migrator.migrate(f.db) })
            guard case .failed("0001_tx.sql", 1, _) = error else {
                Issue.record("unexpected \(error)")
                return
            }
            #expect(try f.tables() == ["schema_migrations"])
        }
    }

    @Test func refusesDuplicateNumbers() throws {
        try withFixture { f in
            try f.write("0001_a.sql", "CREATE TABLE a(x);")
            try f.write("0002_b.sql", "CREATE TABLE b(x);")
            try f.write("2_c.sql", "CREATE TABLE c(x);")
            let error = try #require(migrationError { try f.migrator.migrate(f.db) })
            guard case .duplicateVersion(2, let files) = error else {
                Issue.record("unexpected \(error)")
                return
            }
            #expect(Set(files) == ["0002_b.sql", "2_c.sql"])
            #expect(error.description.contains("0002_b.sql") && error.description.contains("2_c.sql"))
            #expect(try f.tables() == []) // refused before applying anything
        }
    }

    @Test(arguments: ["init.sql", "0001-init.sql", "0001_.sql", "_init.sql", "0001_in it.sql", "x1_init.sql", "0001_ínit.sql"])
    func refusesMalformedNames(file: String) throws {
        try withFixture { f in
            try f.write("0001_ok.sql", "CREATE TABLE a(x);")
            try f.write(file, "CREATE TABLE b(x);")
            let error = try #require(migrationError { try f.migrator.migrate(f.db) })
            guard case .malformedFileName(let named) = error else {
                Issue.record("unexpected \(error)")
                return
            }
            #expect(named == file)
            #expect(error.description.contains(file))
        }
    }

    @Test func fileNameParsing() {
        #expect(Migrator.parse(fileName: "0001_init.sql")! == (1, "init"))
        #expect(Migrator.parse(fileName: "42_add-users_table2.sql")! == (42, "add-users_table2"))
        #expect(Migrator.parse(fileName: "0001_init.SQL") == nil)
        #expect(Migrator.parse(fileName: "0001_init.sql.bak") == nil)
        #expect(Migrator.parse(fileName: "99999999999999999999_big.sql") == nil)
    }

    @Test func missingDirectoryIsReported() throws {
        try withFixture { f in
            let migrator = Migrator(directory: f.directory + "/nope")
            let error = try #require(migrationError { try migrator.migrate(f.db) })
            guard case .unreadableDirectory = error else {
                Issue.record("unexpected \(error)")
                return
            }
            #expect(error.description.contains("/nope"))
        }
    }

    /// The repository's own migrations apply cleanly to an empty database.
    @Test func projectMigrationsApply() throws {
        let directory = URL(fileURLWithPath: #filePath)
            .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("Migrations").path
        try withTemporaryDirectory { root in
            let db = try Database(path: root + "/portal.sqlite", readers: 1)
            defer { db.close() }
            let applied = try Migrator(directory: directory).migrate(db)
            #expect(applied.first == "0001_init.sql")
            #expect(try db.read { try $0.scalar("SELECT value FROM app_meta WHERE key = ?", "schema", as: String.self) } == "portal")
            #expect(try Migrator(directory: directory).migrate(db) == [])
        }
    }
}
