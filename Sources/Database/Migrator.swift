#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import Logging

/// One migration file, `NNNN_name.sql`, as read from disk.
public struct Migration: Sendable, Hashable {
    /// The number before the first underscore; migrations run in numeric order.
    public let version: Int
    /// The part between the underscore and `.sql`.
    public let name: String
    /// The whole file name, as recorded in `schema_migrations.name`.
    public let fileName: String
    public let sql: String
    /// SHA-256 of the file's bytes, in hex.
    public let checksum: String
}

/// Why the migrator refused to run, in words a person can act on.
public enum MigrationError: Error, CustomStringConvertible, Sendable {
    case unreadableDirectory(path: String, reason: String)
    case unreadableFile(path: String)
    /// A `.sql` file whose name is not `NNNN_name.sql`.
    case malformedFileName(file: String)
    /// Two files with the same number.
    case duplicateVersion(version: Int, files: [String])
    /// An applied migration's file no longer has the checksum recorded when it was applied.
    case editedAfterApply(file: String, recordedChecksum: String, currentChecksum: String)
    /// An applied migration's file is gone.
    case missingFile(file: String, directory: String)
    /// An applied migration's number now belongs to a file of another name.
    case renamed(version: Int, appliedAs: String, nowNamed: String)
    /// A migration's SQL failed; its transaction was rolled back. `line` is 1-based.
    case failed(file: String, line: Int?, error: DatabaseError)

    public var description: String {
        switch self {
        case .unreadableDirectory(let path, let reason):
            return "Cannot read the migrations directory '\(path)': \(reason)."
        case .unreadableFile(let path):
            return "Cannot read the migration file '\(path)'."
        case .malformedFileName(let file):
            return "Migration file name '\(file)' is malformed: expected NNNN_name.sql (digits, an underscore, then letters, digits, '_' or '-')."
        case .duplicateVersion(let version, let files):
            return "Migrations \(files.joined(separator: " and ")) share the number \(version); give each migration its own number."
        case .editedAfterApply(let file, let recorded, let current):
            return "Migration \(file) was edited after it was applied (checksum recorded \(recorded.prefix(12))…, file now \(current.prefix(12))…). Restore the file and put the change in a new migration."
        case .missingFile(let file, let directory):
            return "Migration \(file) was applied to this database but is missing from '\(directory)'. Restore the file; applied migrations must not be deleted."
        case .renamed(let version, let appliedAs, let nowNamed):
            return "Migration number \(version) was applied as \(appliedAs) but the file is now named \(nowNamed). Restore the original name."
        case .failed(let file, let line, let error):
            let place = line.map { "\(file) line \($0)" } ?? file
            return "Migration \(place) failed: \(error.message). None of it was applied (its transaction was rolled back)."
        }
    }
}

/// Applies the `NNNN_name.sql` files of a directory to a ``Database``, in numeric order,
/// each in its own transaction, and records them in
/// `schema_migrations(version, name, checksum, applied_at)`.
///
/// Before applying anything it checks the whole history and refuses, naming the file, when a
/// file name is malformed, two files share a number, or an applied migration's file was
/// edited (SHA-256 of its bytes differs), renamed or deleted. A failing migration leaves no
/// trace: its statements and its `schema_migrations` row are rolled back together.
///
/// Files not ending in `.sql` are ignored. A file numbered below an applied one (merged from
/// another branch) is still applied, in numeric order among the pending ones. Migrations run
/// inside a transaction, so they must not contain `BEGIN`/`COMMIT`, and
/// `PRAGMA foreign_keys` has no effect in them.
public struct Migrator: Sendable {
    public let directory: String
    private let logger: Logger

    public init(directory: String, logger: Logger? = nil) {
        self.directory = directory
        self.logger = logger ?? Logger(label: "portal.migrator", factory: { _ in SwiftLogNoOpLogHandler() })
    }

    /// Applies the pending migrations and returns their file names, in the order applied
    /// (empty when the database is up to date).
    @discardableResult
    public func migrate(_ database: Database) throws -> [String] {
        let files = try migrations()
        let applied = try database.write { connection in
            try connection.executeScript(Self.createTable)
            return try Self.appliedMigrations(connection)
        }
        var done: [String] = []
        for migration in try Self.pending(files, applied: applied, directory: directory) {
            var errorOffset: Int?
            do {
                try database.write { connection in
                    var offset = 0
                    do {
                        try connection.executeScript(migration.sql, errorOffset: &offset)
                    } catch {
                        errorOffset = offset
                        throw error
                    }
                    try connection.execute(
                        "INSERT INTO schema_migrations(version, name, checksum, applied_at) VALUES (?, ?, ?, strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))",
                        migration.version, migration.fileName, migration.checksum)
                }
            } catch let error as DatabaseError {
                let line = errorOffset.map { offset in 1 + migration.sql.utf8.prefix(offset).lazy.filter { $0 == UInt8(ascii: "\n") }.count }
                throw MigrationError.failed(file: migration.fileName, line: line, error: error)
            }
            logger.info("applied migration", metadata: ["file": "\(migration.fileName)"])
            done.append(migration.fileName)
        }
        return done
    }

    /// The file names of the migrations `migrate` would apply, after the same checks.
    public func pending(in database: Database) throws -> [String] {
        let files = try migrations()
        let applied = try database.read { connection in
            let exists = try connection.scalar(
                "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'schema_migrations'", as: Int.self) != nil
            return exists ? try Self.appliedMigrations(connection) : []
        }
        return try Self.pending(files, applied: applied, directory: directory).map(\.fileName)
    }

    /// The migration files of the directory, in numeric order, after checking their names.
    public func migrations() throws -> [Migration] {
        let entries: [String]
        do {
            entries = try FileManager.default.contentsOfDirectory(atPath: directory)
        } catch {
            throw MigrationError.unreadableDirectory(path: directory, reason: "\(error)")
        }
        var byVersion: [Int: [String]] = [:]
        var migrations: [Migration] = []
        for file in entries.sorted() where file.hasSuffix(".sql") {
            guard let (version, name) = Self.parse(fileName: file) else {
                throw MigrationError.malformedFileName(file: file)
            }
            byVersion[version, default: []].append(file)
            let path = directory.hasSuffix("/") ? directory + file : directory + "/" + file
            guard let data = FileManager.default.contents(atPath: path) else {
                throw MigrationError.unreadableFile(path: path)
            }
            let bytes = [UInt8](data)
            migrations.append(Migration(
                version: version, name: name, fileName: file,
                sql: String(decoding: bytes, as: UTF8.self), checksum: SHA256.hexDigest(bytes)))
        }
        if let (version, files) = byVersion.filter({ $0.value.count > 1 }).min(by: { $0.key < $1.key }) {
            throw MigrationError.duplicateVersion(version: version, files: files)
        }
        return migrations.sorted { $0.version < $1.version }
    }

    // MARK: - Internals

    private static let createTable = """
        CREATE TABLE IF NOT EXISTS schema_migrations(
            version INTEGER PRIMARY KEY,
            name TEXT NOT NULL,
            checksum TEXT NOT NULL,
            applied_at TEXT NOT NULL
        );
        """

    private struct Applied {
        let version: Int
        let fileName: String
        let checksum: String
    }

    private static func appliedMigrations(_ connection: Connection) throws -> [Applied] {
        try connection.query("SELECT version, name, checksum FROM schema_migrations ORDER BY version").map {
            Applied(version: try $0.int(0), fileName: try $0.string(1), checksum: try $0.string(2))
        }
    }

    /// Checks the applied history against the files and returns the files not yet applied.
    private static func pending(_ files: [Migration], applied: [Applied], directory: String) throws -> [Migration] {
        let filesByVersion = Dictionary(uniqueKeysWithValues: files.map { ($0.version, $0) })
        for record in applied {
            guard let file = filesByVersion[record.version] else {
                throw MigrationError.missingFile(file: record.fileName, directory: directory)
            }
            guard file.fileName == record.fileName else {
                throw MigrationError.renamed(version: record.version, appliedAs: record.fileName, nowNamed: file.fileName)
            }
            guard file.checksum == record.checksum else {
                throw MigrationError.editedAfterApply(file: file.fileName, recordedChecksum: record.checksum, currentChecksum: file.checksum)
            }
        }
        let appliedVersions = Set(applied.map(\.version))
        return files.filter { !appliedVersions.contains($0.version) }
    }

    /// `0001_create_users.sql` → (1, "create_users"); `nil` unless digits, `_`, then
    /// `[A-Za-z0-9_-]+`, then `.sql`.
    static func parse(fileName: String) -> (version: Int, name: String)? {
        guard fileName.hasSuffix(".sql"), let underscore = fileName.firstIndex(of: "_") else { return nil }
        let digits = fileName[..<underscore]
        let name = fileName[fileName.index(after: underscore)..<fileName.index(fileName.endIndex, offsetBy: -4)]
        guard !digits.isEmpty, digits.allSatisfy({ $0.isASCII && $0.isNumber }), let version = Int(digits),
              !name.isEmpty, name.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "_" || $0 == "-") })
        else { return nil }
        return (version, String(name))
    }
}
