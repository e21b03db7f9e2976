import HTTP
import Logging

/// Everything `portal serve` can be told, with the defaults the README documents.
public struct PortalConfig: Sendable {
    public var host = "127.0.0.1"
    public var port = 8080
    public var databasePath = "var/portal.sqlite"
    public var publicDirectory = "Public"
    public var templatesDirectory = "Templates"
    public var migrationsDirectory = "Migrations"
    public var logLevel = Logger.Level.info
    /// Connections, timeouts and workers of the HTTP server.
    public var server = HTTPServer.Configuration()
    /// WAL reader connections beside the one writer.
    public var databaseReaders = 4

    public init() {}
}
