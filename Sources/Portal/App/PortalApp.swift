import Database
import Foundation
import HTTP
import Logging
import Web

/// Puts Portal together: database (migrated), templates, routes, middleware, HTTP server.
///
/// `PortalApp(config:)` does all the work that can fail (opening the database, applying
/// migrations, loading templates) before anything listens, so a bad start is a clear error
/// and not a half-running server.
public final class PortalApp: Sendable {
    public let config: PortalConfig
    public let database: Database
    public let web: WebApplication
    public let server: HTTPServer
    let logger: Logger

    public init(config: PortalConfig, logger: Logger = Logger(label: "portal")) throws {
        self.config = config
        self.logger = logger
        let dir = (config.databasePath as NSString).deletingLastPathComponent
        if !dir.isEmpty { try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true) }
        database = try Database(path: config.databasePath, readers: config.databaseReaders, logger: logger)
        let applied = try Migrator(directory: config.migrationsDirectory, logger: logger).migrate(database)
        if !applied.isEmpty { logger.info("migrations applied", metadata: ["names": "\(applied.joined(separator: ","))"]) }

        let templates = try Templates(directory: config.templatesDirectory)
        var router = Router()
        HomeController(templates: templates).register(on: &router)
        HealthController(database: database).register(on: &router)

        web = WebApplication(
            router: router,
            templates: templates,
            staticFiles: try StaticFiles(urlPrefix: "/static", directory: config.publicDirectory),
            middleware: [FlashMiddleware()],
            logger: logger
        )
        var serverConfig = config.server
        serverConfig.host = config.host
        serverConfig.port = config.port
        server = HTTPServer(configuration: serverConfig, responder: web, logger: logger)
    }

    /// Starts listening; returns once connections are accepted.
    public func start() throws { try server.start() }

    /// Stops accepting and lets in-flight requests finish (bounded by the drain timeout).
    public func shutdown() { server.shutdown() }

    public func waitUntilStopped() {
        server.waitUntilStopped()
        database.close()
    }
}
