import Foundation
@testable import Database

/// A fresh directory under the system temporary directory, removed when `body` returns.
func withTemporaryDirectory<T>(_ body: (String) throws -> T) throws -> T {
    let path = FileManager.default.temporaryDirectory
        .appendingPathComponent("portal-db-tests-\(UUID().uuidString)").path
    try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(atPath: path) }
    return try body(path)
}

/// A writable connection on a fresh database file.
func withConnection<T>(_ body: (Connection) throws -> T) throws -> T {
    try withTemporaryDirectory { directory in
        let connection = try Connection(path: directory + "/test.sqlite")
        defer { connection.close() }
        return try body(connection)
    }
}

/// A `Database` in a fresh directory (the file sits in a subdirectory that does not exist
/// yet, so that creating it is exercised too).
func withDatabase<T>(readers: Int = 4, _ body: (Database, String) throws -> T) throws -> T {
    try withTemporaryDirectory { directory in
        let database = try Database(path: directory + "/var/db/portal.sqlite", readers: readers)
        defer { database.close() }
        return try body(database, directory)
    }
}

/// The error `body` throws, or `nil` if it does not throw.
func thrownError(_ body: () throws -> Void) -> (any Error)? {
    do {
        try body()
        return nil
    } catch {
        return error
    }
}
