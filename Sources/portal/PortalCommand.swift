import ArgumentParser
import Database
import Foundation
import Logging
import Portal

/// `portal`: the command line. Each option can also come from an environment variable
/// (`PORTAL_PORT`, …); a flag given on the command line wins.
@main
struct PortalCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "portal",
        abstract: "Portal, the developer portal for a payments API.",
        version: PortalVersion.current,
        subcommands: [Serve.self, Migrate.self, SeedDemo.self, CreateStaff.self, TransactionsCommand.self, WebhooksCommand.self],
        defaultSubcommand: nil
    )
}

/// Reads an environment variable, treating an empty value as unset.
func env(_ name: String) -> String? {
    guard let v = ProcessInfo.processInfo.environment[name], !v.isEmpty else { return nil }
    return v
}

struct DatabaseOptions: ParsableArguments {
    @Option(help: ArgumentHelp("SQLite database file (env PORTAL_DB).", valueName: "path"))
    var db: String = env("PORTAL_DB") ?? "var/portal.sqlite"

    @Option(help: ArgumentHelp("Folder of numbered .sql migrations (env PORTAL_MIGRATIONS).", valueName: "dir"))
    var migrations: String = env("PORTAL_MIGRATIONS") ?? "Migrations"

    @Option(help: ArgumentHelp("trace, debug, info, notice, warning, error or critical (env PORTAL_LOG_LEVEL).", valueName: "level"))
    var logLevel: String = env("PORTAL_LOG_LEVEL") ?? "info"

    func level() throws -> Logger.Level {
        guard let l = Logger.Level(rawValue: logLevel.lowercased()) else {
            throw ValidationError("unknown log level '\(logLevel)'")
        }
        return l
    }
}

/// Options every command that builds the whole portal (serve, seed-demo) shares.
struct AppOptions: ParsableArguments {
    @Option(name: .customLong("public"), help: ArgumentHelp("Static files served under /static (env PORTAL_PUBLIC).", valueName: "dir"))
    var publicDirectory: String = env("PORTAL_PUBLIC") ?? "Public"

    @Option(help: ArgumentHelp("Mustache templates (env PORTAL_TEMPLATES).", valueName: "dir"))
    var templates: String = env("PORTAL_TEMPLATES") ?? "Templates"

    @Option(help: ArgumentHelp("Server key file, created 0600 on first start unless PORTAL_SECRET_KEY is set; default secret.key beside --db (env PORTAL_SECRET_KEY_FILE).", valueName: "path"))
    var secretKeyFile: String = env("PORTAL_SECRET_KEY_FILE") ?? ""

    @Option(help: ArgumentHelp("scrypt cost as log2(N); 17 in production, lower only for tests (env PORTAL_SCRYPT_LOG_N).", valueName: "n"))
    var scryptLogN: Int = env("PORTAL_SCRYPT_LOG_N").flatMap(Int.init) ?? 17

    func validate() throws {
        guard (10...20).contains(scryptLogN) else { throw ValidationError("--scrypt-log-n must be 10-20") }
    }

    func apply(to config: inout PortalConfig) {
        config.publicDirectory = publicDirectory
        config.templatesDirectory = templates
        config.secretKey = env("PORTAL_SECRET_KEY")
        config.secretKeyFile = secretKeyFile.isEmpty ? nil : secretKeyFile
        config.scryptLogN = scryptLogN
    }
}

struct Serve: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Apply pending migrations and serve HTTP until SIGINT or SIGTERM.")

    @Option(help: ArgumentHelp("Address to listen on (env PORTAL_HOST).", valueName: "address"))
    var host: String = env("PORTAL_HOST") ?? "127.0.0.1"

    @Option(help: ArgumentHelp("Port to listen on (env PORTAL_PORT).", valueName: "port"))
    var port: Int = env("PORTAL_PORT").flatMap(Int.init) ?? 8080

    @OptionGroup var database: DatabaseOptions
    @OptionGroup var app: AppOptions

    @Option(help: ArgumentHelp("Most open connections; above it new ones get 503 (env PORTAL_MAX_CONNECTIONS).", valueName: "n"))
    var maxConnections: Int = env("PORTAL_MAX_CONNECTIONS").flatMap(Int.init) ?? 16_384

    @Option(help: ArgumentHelp("Seconds allowed for a request's header section (env PORTAL_HEADER_TIMEOUT).", valueName: "s"))
    var headerTimeout: Double = env("PORTAL_HEADER_TIMEOUT").flatMap(Double.init) ?? 10

    @Option(help: ArgumentHelp("Seconds allowed for a request body (env PORTAL_BODY_TIMEOUT).", valueName: "s"))
    var bodyTimeout: Double = env("PORTAL_BODY_TIMEOUT").flatMap(Double.init) ?? 30

    @Option(help: ArgumentHelp("Seconds an idle keep-alive connection is kept (env PORTAL_IDLE_TIMEOUT).", valueName: "s"))
    var idleTimeout: Double = env("PORTAL_IDLE_TIMEOUT").flatMap(Double.init) ?? 60

    @Option(help: ArgumentHelp("Seconds in-flight requests get to finish on shutdown (env PORTAL_DRAIN_TIMEOUT).", valueName: "s"))
    var drainTimeout: Double = env("PORTAL_DRAIN_TIMEOUT").flatMap(Double.init) ?? 10

    @Option(help: ArgumentHelp("Worker threads kept ready for handlers; more are added while all are blocked (env PORTAL_WORKERS).", valueName: "n"))
    var workers: Int = env("PORTAL_WORKERS").flatMap(Int.init) ?? 16

    @Option(help: ArgumentHelp("Address people use, for links in e-mails (env PORTAL_BASE_URL).", valueName: "url"))
    var baseURL: String = env("PORTAL_BASE_URL") ?? "http://127.0.0.1:8080"

    @Option(help: ArgumentHelp("Secure cookies with the __Host- prefix: auto (when --base-url is https), true or false (env PORTAL_SECURE_COOKIES).", valueName: "mode"))
    var secureCookies: String = env("PORTAL_SECURE_COOKIES") ?? "auto"

    @Option(help: ArgumentHelp("SMTP server as smtp://user:pass@host:port (STARTTLS when offered) or smtps://…; unset writes mails to the log (env PORTAL_SMTP_URL).", valueName: "url"))
    var smtpURL: String = env("PORTAL_SMTP_URL") ?? ""

    @Option(help: ArgumentHelp("Sender of the portal's mails (env PORTAL_MAIL_FROM).", valueName: "address"))
    var mailFrom: String = env("PORTAL_MAIL_FROM") ?? "Portal <no-reply@portal.localhost>"

    @Option(help: ArgumentHelp("Minutes a session may sit idle (env PORTAL_SESSION_IDLE_MINUTES).", valueName: "min"))
    var sessionIdleMinutes: Int = env("PORTAL_SESSION_IDLE_MINUTES").flatMap(Int.init) ?? 30

    @Option(help: ArgumentHelp("Hours a session lasts at most (env PORTAL_SESSION_HOURS).", valueName: "h"))
    var sessionHours: Int = env("PORTAL_SESSION_HOURS").flatMap(Int.init) ?? 12

    @Option(help: ArgumentHelp("Issuer shown in authenticator apps (env PORTAL_TOTP_ISSUER).", valueName: "name"))
    var totpIssuer: String = env("PORTAL_TOTP_ISSUER") ?? "Portal"

    @Option(help: ArgumentHelp("Record every /v1 and /oauth request in the API request log: on or off (env PORTAL_API_LOG).", valueName: "mode"))
    var apiLog: String = env("PORTAL_API_LOG") ?? "on"

    @Option(help: ArgumentHelp("Requests a second each API key may make, in bursts of twice that (env PORTAL_API_RATE); the benchmark raises it.", valueName: "n"))
    var apiRate: Double = env("PORTAL_API_RATE").flatMap(Double.init) ?? 100

    @Option(help: ArgumentHelp("Failed API credentials (401s) each client address may send a second, in bursts of twice that, before its 401s are answered late (env PORTAL_API_AUTH_FAILURES_RATE). Counted apart from --api-rate; a working key is never slowed.", valueName: "n"))
    var apiAuthFailuresRate: Double = env("PORTAL_API_AUTH_FAILURES_RATE").flatMap(Double.init) ?? 20

    @Option(help: ArgumentHelp("Seconds a 401 past that budget waits before it is sent; the wait holds no thread (env PORTAL_API_AUTH_FAILURE_DELAY).", valueName: "s"))
    var apiAuthFailureDelay: Double = env("PORTAL_API_AUTH_FAILURE_DELAY").flatMap(Double.init) ?? 1

    @Option(help: ArgumentHelp("Days API request log rows are kept; failed requests' bodies are kept 7 (env PORTAL_API_LOG_DAYS).", valueName: "days"))
    var apiLogDays: Int = env("PORTAL_API_LOG_DAYS").flatMap(Int.init) ?? 30

    @Flag(name: .customLong("webhooks-allow-private-networks"),
          help: "Let webhooks reach loopback, private and link-local addresses: development and tests only (env PORTAL_WEBHOOKS_ALLOW_PRIVATE_NETWORKS=1).")
    var webhooksAllowPrivateNetworks = false

    @Option(help: ArgumentHelp("Days webhook deliveries and their attempts are kept (env PORTAL_WEBHOOK_DAYS).", valueName: "days"))
    var webhookDays: Int = env("PORTAL_WEBHOOK_DAYS").flatMap(Int.init) ?? 30

    @Option(help: ArgumentHelp("Address of a TLS terminator trusted to send the client certificate's SHA-256 in X-Client-Cert-SHA256; repeat for more (env PORTAL_TRUSTED_PROXY, comma-separated). Tokens bound to a certificate then need it.", valueName: "ip"))
    var trustedProxy: [String] = env("PORTAL_TRUSTED_PROXY").map { $0.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) } } ?? []

    func validate() throws {
        guard webhookDays >= 1 else { throw ValidationError("--webhook-days must be at least 1") }
        guard baseURL.hasPrefix("http://") || baseURL.hasPrefix("https://") else { throw ValidationError("--base-url must start with http:// or https://") }
        guard ["auto", "true", "false"].contains(secureCookies.lowercased()) else { throw ValidationError("--secure-cookies must be auto, true or false") }
        guard sessionIdleMinutes > 0, sessionHours > 0 else { throw ValidationError("session timeouts must be positive") }
        guard ["on", "off"].contains(apiLog.lowercased()) else { throw ValidationError("--api-log must be on or off") }
        guard apiRate >= 1 else { throw ValidationError("--api-rate must be at least 1") }
        guard apiAuthFailuresRate > 0 else { throw ValidationError("--api-auth-failures-rate must be positive") }
        guard (0...60).contains(apiAuthFailureDelay) else { throw ValidationError("--api-auth-failure-delay must be 0-60 seconds") }
        guard apiLogDays >= 1 else { throw ValidationError("--api-log-days must be at least 1") }
        guard (0...65535).contains(port) else { throw ValidationError("--port must be 0-65535") }
        guard maxConnections > 0, workers > 0 else { throw ValidationError("--max-connections and --workers must be positive") }
        for t in [headerTimeout, bodyTimeout, idleTimeout, drainTimeout] where t <= 0 {
            throw ValidationError("timeouts must be positive")
        }
    }

    func run() throws {
        // Block the stop signals before any thread starts, so every thread inherits the mask
        // and only `sigwait` below sees them.
        var signals = sigset_t()
        sigemptyset(&signals)
        sigaddset(&signals, SIGINT)
        sigaddset(&signals, SIGTERM)
        pthread_sigmask(SIG_BLOCK, &signals, nil)

        let sink = LogSink()
        let level = try database.level()
        LoggingSystem.bootstrap { LogfmtHandler(label: $0, level: level, sink: sink) }
        let logger = Logger(label: "portal")

        var config = PortalConfig()
        config.host = host
        config.port = port
        config.databasePath = database.db
        config.migrationsDirectory = database.migrations
        app.apply(to: &config)
        config.logLevel = level
        config.server.maxConnections = maxConnections
        config.server.headerTimeout = headerTimeout
        config.server.bodyTimeout = bodyTimeout
        config.server.idleTimeout = idleTimeout
        config.server.drainTimeout = drainTimeout
        config.server.minWorkers = workers
        config.baseURL = baseURL.hasSuffix("/") ? String(baseURL.dropLast()) : baseURL
        config.secureCookies = secureCookies.lowercased() == "auto" ? nil : secureCookies.lowercased() == "true"
        config.smtpURL = smtpURL.isEmpty ? nil : smtpURL
        config.mailFrom = mailFrom
        config.sessionIdleTimeout = Int64(sessionIdleMinutes) * 60
        config.sessionAbsoluteTimeout = Int64(sessionHours) * 3600
        config.totpIssuer = totpIssuer
        config.apiRequestLog = apiLog.lowercased() == "on"
        config.apiLogRetentionDays = apiLogDays
        config.apiRequestsPerSecond = apiRate
        config.trustedProxies = trustedProxy
        config.apiBurst = 2 * apiRate
        config.apiAuthFailuresPerSecond = apiAuthFailuresRate
        config.apiAuthFailuresBurst = 2 * apiAuthFailuresRate
        config.apiAuthFailureDelay = .milliseconds(Int64((apiAuthFailureDelay * 1000).rounded()))
        config.apiLogBodyRetentionDays = min(7, apiLogDays)
        config.webhooksAllowPrivateNetworks = webhooksAllowPrivateNetworks || ["1", "true", "on", "yes"].contains((env("PORTAL_WEBHOOKS_ALLOW_PRIVATE_NETWORKS") ?? "").lowercased())
        config.webhookRetentionDays = webhookDays

        let app: PortalApp
        do {
            app = try PortalApp(config: config, logger: logger)
            try app.start()
        } catch {
            logger.critical("cannot start", metadata: ["error": "\(error)"])
            sink.stop()
            throw ExitCode.failure
        }

        var received: Int32 = 0
        sigwait(&signals, &received)
        logger.info("stopping", metadata: ["signal": "\(received == SIGINT ? "SIGINT" : "SIGTERM")", "drain_timeout_s": "\(drainTimeout)"])
        // A second signal while draining stops at once.
        let stopSignals = signals
        Thread.detachNewThread {
            var s = stopSignals
            var again: Int32 = 0
            sigwait(&s, &again)
            sink.stop()
            Glibc.exit(1)
        }
        app.shutdown()
        app.waitUntilStopped()
        sink.stop()
    }
}

struct Migrate: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Apply pending migrations and exit.")

    @OptionGroup var database: DatabaseOptions

    func run() throws {
        let sink = LogSink()
        let level = try database.level()
        LoggingSystem.bootstrap { LogfmtHandler(label: $0, level: level, sink: sink) }
        defer { sink.stop() }
        let dir = (database.db as NSString).deletingLastPathComponent
        if !dir.isEmpty { try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true) }
        do {
            let db = try Database(path: database.db)
            defer { db.close() }
            let applied = try Migrator(directory: database.migrations).migrate(db)
            print(applied.isEmpty ? "Database is up to date." : "Applied: \(applied.joined(separator: ", "))")
        } catch {
            sink.stop()
            FileHandle.standardError.write(Data("portal migrate: \(error)\n".utf8))
            throw ExitCode.failure
        }
    }
}

struct SeedDemo: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "seed-demo",
        abstract: "Create a verified demo account with TOTP set up, and print how to sign in as it.",
        discussion: """
            Prints the TOTP secret and recovery codes of the new account: for trying Portal out and for benchmarks, never for real users.

            With --transactions N it also fills the demo organization's Sandbox with N transactions over the last \
            --months months (several currencies, statuses in realistic proportions, failures with the simulator's codes \
            and notes, ledger, history and rollup included), prepares payouts waiting for authorization, and adds a \
            second member with the Manager role who can authorize them. The same --seed and --until give the same \
            rows (ids and secrets aside); --until defaults to the start of the current hour (UTC).
            """)

    @OptionGroup var database: DatabaseOptions
    @OptionGroup var app: AppOptions

    @Option var name = "Demo Developer"
    @Option var email = "demo@portal.localhost"
    @Option var password = "quiet harbour lantern morning"

    @Option(help: "Also start an active session with this cookie token (43 base64url characters).")
    var sessionToken: String?

    @Flag(help: "Also create a Sandbox API key for the demo organization and print its secret (\"API key (Sandbox): sk_sandbox_…\").")
    var apiKey = false

    @Option(help: ArgumentHelp("Fill the Sandbox with this many demo transactions.", valueName: "n"))
    var transactions: Int?

    @Option(help: ArgumentHelp("Months of history the transactions span.", valueName: "m"))
    var months: Int = 12

    @Option(help: ArgumentHelp("Seed of the demo data: the same seed and --until give the same rows.", valueName: "s"))
    var seed: UInt64 = 1

    @Option(help: ArgumentHelp("End of the history: YYYY-MM-DD (midnight UTC), an ISO 8601 time, or unix seconds; default the current hour.", valueName: "time"))
    var until: String?

    func validate() throws {
        if let n = transactions, !(1...50_000_000).contains(n) { throw ValidationError("--transactions must be 1-50000000") }
        guard (1...120).contains(months) else { throw ValidationError("--months must be 1-120") }
        if let until, Self.parseTime(until) == nil { throw ValidationError("--until: use YYYY-MM-DD, an ISO 8601 time or unix seconds") }
    }

    static func parseTime(_ text: String) -> Int64? {
        if let seconds = Int64(text), seconds > 0 { return seconds }
        let f = ISO8601DateFormatter()
        if let d = f.date(from: text) { return Int64(d.timeIntervalSince1970) }
        f.formatOptions = [.withFullDate]
        return f.date(from: text).map { Int64($0.timeIntervalSince1970) }
    }

    func run() throws {
        try withOfflinePortal("seed-demo", database: database, app: app) { portal, config in
            let demo = try DemoAccount.seed(portal, name: name, email: email, password: password, sessionToken: sessionToken,
                                            withManager: transactions != nil)
            print("""
                E-mail:      \(demo.email)
                Password:    \(password)
                TOTP secret: \(demo.totpSecretBase32)
                Setup link:  \(demo.otpauthURL)
                Recovery codes: \(demo.recoveryCodes.joined(separator: " "))
                Organization: \(config.baseURL)\(demo.organizationPath)
                """)
            if apiKey {
                let secret = try portal.seeding.write { try $0.createSandboxAPIKey(organizationPublicID: demo.organizationID) }
                print("API key (Sandbox): \(secret)")
            }
            guard let transactions, let manager = demo.manager else { return }
            print("""
                Manager (authorizes payouts): \(manager.name)
                Manager e-mail:      \(manager.email)
                Manager password:    \(manager.password)
                Manager TOTP secret: \(manager.totpSecretBase32)
                """)
            fflush(nil)
            let end = until.flatMap(Self.parseTime) ?? DemoMoneyOptions.defaultEnd(now: portal.seeding.now)
            let bar = SeedProgressBar(total: transactions)
            let started = Date()
            let summary = try portal.seeding.seedDemoMoney(
                organizationPublicID: demo.organizationID,
                options: DemoMoneyOptions(transactions: transactions, months: months, seed: seed, end: end), progress: bar.update)
            bar.finish(summary)
            let seconds = Date().timeIntervalSince(started)
            let iso = ISO8601DateFormatter()
            print("""
                Sandbox: \(summary.transactions) transactions from \(iso.string(from: Date(timeIntervalSince1970: TimeInterval(summary.start)))) \
                to \(iso.string(from: Date(timeIntervalSince1970: TimeInterval(summary.end)))) (seed \(seed)), \
                \(summary.pendingPayouts) payouts waiting for authorization
                Seeded in \(String(format: "%.1f", seconds)) s: \(Int(Double(summary.transactions) / max(seconds, 0.001))) transactions/s, \
                \(summary.rows) rows, \(Int(Double(summary.rows) / max(seconds, 0.001))) rows/s
                """)
        }
    }
}

struct CreateStaff: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "create-staff",
        abstract: "Create a support staff account and print its single-use setup link.",
        discussion: """
            The link (valid 72 hours) lets the staff member choose a password; then they set up two-factor \
            authentication like everyone else and reach the support queue at /support. An address that already \
            has an account is refused, except a staff account that has not set its password yet: it gets a new \
            link and the old one stops working.
            """)

    @OptionGroup var database: DatabaseOptions
    @OptionGroup var app: AppOptions

    @Option(help: ArgumentHelp("The staff member's e-mail address.", valueName: "address"))
    var email: String

    @Option(help: ArgumentHelp("The staff member's name.", valueName: "name"))
    var name: String

    @Option(help: ArgumentHelp("Address people use, for the printed link (env PORTAL_BASE_URL).", valueName: "url"))
    var baseURL: String = env("PORTAL_BASE_URL") ?? "http://127.0.0.1:8080"

    func validate() throws {
        guard baseURL.hasPrefix("http://") || baseURL.hasPrefix("https://") else { throw ValidationError("--base-url must start with http:// or https://") }
    }

    func run() throws {
        try withOfflinePortal("create-staff", database: database, app: app, configure: { config in
            config.baseURL = baseURL.hasSuffix("/") ? String(baseURL.dropLast()) : baseURL
            // The link is printed, not mailed, and mail delivery is never started here. PortalApp
            // refuses an https base URL without an SMTP server (that protects `serve`), so one is
            // named even though nothing is sent through it.
            config.smtpURL = env("PORTAL_SMTP_URL") ?? "smtp://127.0.0.1:25"
        }) { portal, _ in
            let link = try portal.createStaff(email: email, name: name)
            print("""
                Staff account: \(email)
                Setup link (single use, valid 72 hours): \(link)
                """)
        }
    }
}

/// Runs a one-shot command's `body` with a migrated PortalApp that does not serve, logging
/// warnings only. An error is printed as `portal <command>: …` and exits with status 1.
func withOfflinePortal(_ command: String, database: DatabaseOptions, app: AppOptions,
                       configure: (inout PortalConfig) -> Void = { _ in }, _ body: (PortalApp, PortalConfig) throws -> Void) throws {
    let sink = LogSink()
    LoggingSystem.bootstrap { LogfmtHandler(label: $0, level: .warning, sink: sink) }
    defer { sink.stop() }
    var config = PortalConfig()
    config.databasePath = database.db
    config.migrationsDirectory = database.migrations
    app.apply(to: &config)
    configure(&config)
    do {
        let portal = try PortalApp(config: config)
        defer { portal.database.close() }
        try body(portal, config)
    } catch {
        sink.stop()
        FileHandle.standardError.write(Data("portal \(command): \(error)\n".utf8))
        throw ExitCode.failure
    }
}
