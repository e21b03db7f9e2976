import Database
import Foundation
import HTTP
import Jobs
import Logging
import Mail
import Outbound
import Security
import Web

/// Puts Portal together: database (migrated), server key, templates, mail, routes,
/// middleware, HTTP server.
///
/// `PortalApp(config:)` does all the work that can fail (opening the database, applying
/// migrations, reading the server key, loading templates and the password list) before
/// anything listens, so a bad start is a clear error and not a half-running server.
public final class PortalApp: Sendable {
    public let config: PortalConfig
    public let database: Database
    public let web: WebApplication
    public let server: HTTPServer
    /// The durable job worker (mail now; webhooks and reports register their kinds here).
    public let jobs: JobWorker
    let accounts: Accounts
    let organizations: Organizations
    let transactions: Transactions
    let reports: Reports
    let apiKeys: APIKeys
    let apps: Apps
    let oauth: OAuth
    let logger: Logger
    /// The API request log's flusher (nil when the log is off): started with the server,
    /// stopped after it has drained and before the database closes.
    let apiLogRecorder: APILogRecorder?
    let apiLogs: APILogs
    let webhooks: Webhooks
    /// Sends the webhook queue: started with the server, stopped before the database closes.
    let webhookDispatcher: WebhookDispatcher

    public init(config: PortalConfig, logger: Logger = Logger(label: "portal")) throws {
        self.config = config
        self.logger = logger
        let dir = (config.databasePath as NSString).deletingLastPathComponent
        if !dir.isEmpty { try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true) }
        // A request waiting for the writer or its commit lets the server's pool run another meanwhile.
        database = try Database(path: config.databasePath, readers: config.databaseReaders, logger: logger,
                                waits: WaitObserver(begin: { HTTPServer.beginWaiting() }, end: { HTTPServer.endWaiting() }))
        let applied = try Migrator(directory: config.migrationsDirectory, logger: logger).migrate(database)
        if !applied.isEmpty { logger.info("migrations applied", metadata: ["names": "\(applied.joined(separator: ","))"]) }
        // Audit details written before they were JSON are rewritten once, before anyone reads them.
        try AuditDetailsUpgrade.runOnce(database, logger: logger)

        // One server key; each use gets its own key derived from it.
        let master = try SecretBox.loadKey(environmentValue: config.secretKey, keyFile: config.resolvedSecretKeyFile)
        func subkey(_ purpose: String) -> [UInt8] { Digest.hmacSHA256(key: master, message: Array(purpose.utf8)) }

        var templates = try Templates(directory: config.templatesDirectory)
        templates.use(SiteLayout())
        // The log transport writes reset and verification links to the log: fine on a
        // developer's machine, never behind TLS where real people sign up.
        if config.smtpURL == nil && config.baseURL.lowercased().hasPrefix("https://") {
            throw PortalConfigError("--base-url is https but no --smtp-url is set: mails, with their sign-in links, would only be written to the log")
        }
        let transport: any MailTransport = try config.smtpURL.map { try SMTPTransport(url: $0, logger: logger) } ?? LogTransport(logger: logger)
        let mailer = try Mailer(templates: templates, baseURL: config.baseURL, from: config.mailFrom)
        // The portal's clock: a job due at a payout's expiry runs when that time comes on the same clock.
        jobs = JobWorker(database: database, niceness: 10, clock: JobClock { [clock = config.clock] in clock.now() }, logger: logger)
        MailDelivery.register(on: jobs, transport: transport, logger: logger)
        mailer.onEnqueue = { [jobs] in jobs.notify() }

        let sessions = Sessions(database: database, clock: config.clock, idleTimeout: config.sessionIdleTimeout,
                                absoluteTimeout: config.sessionAbsoluteTimeout, secureCookies: config.resolvedSecureCookies)
        accounts = Accounts(
            database: database, clock: config.clock, sessions: sessions, mailer: mailer,
            hasher: PasswordHasher(parameters: ScryptParameters(logN: config.scryptLogN, r: 8, p: 1), lowPriority: true, maximumWaiting: 8),
            policy: PasswordPolicy(),
            box: try SecretBox(key: subkey("portal secret box v1")), enrolmentKey: subkey("portal totp enrolment v1"),
            issuer: config.totpIssuer, logger: logger)

        transactions = Transactions(database: database, clock: config.clock, jobs: jobs)
        jobs.register(kind: SandboxSimulator.kind, retry: RetryPolicy(firstDelay: .seconds(5), maximumDelay: .seconds(300), giveUpAfter: .seconds(86400)),
                      lease: .seconds(60), handler: SandboxSimulator(transactions: transactions))

        reports = Reports(database: database, clock: config.clock, jobs: jobs)
        jobs.register(kind: Reports.checksumKind, retry: RetryPolicy(firstDelay: .seconds(60), maximumDelay: .seconds(3600), giveUpAfter: .seconds(86400)), lease: .seconds(600), handler: ReportChecksumJob(reports: reports))
        jobs.register(kind: Reports.sweepKind, retry: RetryPolicy(firstDelay: .seconds(60), maximumDelay: .seconds(3600), giveUpAfter: .seconds(86400)),
                      lease: .seconds(300), handler: ReportSweepJob(reports: reports))

        organizations = Organizations(database: database, clock: config.clock, accounts: accounts,
                                      countries: try Countries(file: config.countriesFile), logger: logger)

        let payouts = Payouts(transactions: transactions, organizations: organizations)
        jobs.register(kind: PayoutExpiry.kind, retry: RetryPolicy(firstDelay: .seconds(60), maximumDelay: .seconds(3600), giveUpAfter: .seconds(7 * 86400)),
                      lease: .seconds(60), handler: PayoutExpiry(payouts: payouts))

        let apiKeys = APIKeys(database: database, clock: config.clock, organizations: organizations, jobs: jobs)
        jobs.register(kind: APIKeys.remindKind, retry: RetryPolicy(firstDelay: .seconds(60), maximumDelay: .seconds(3600), giveUpAfter: .seconds(7 * 86400)),
                      lease: .seconds(120), handler: APIKeyReminders(keys: apiKeys))
        self.apiKeys = apiKeys
        // The app page's "tokens issued in the last 24 hours" is the OAuth server's count.
        let apps = Apps(database: database, clock: config.clock, organizations: organizations, jobs: jobs,
                        tokensIssued: { try OAuth.tokensIssued(credentialIDs: $0, since: $1, on: $2) })
        jobs.register(kind: Apps.remindKind, retry: RetryPolicy(firstDelay: .seconds(60), maximumDelay: .seconds(3600), giveUpAfter: .seconds(7 * 86400)),
                      lease: .seconds(120), handler: AppCredentialReminders(apps: apps))
        jobs.register(kind: Apps.certificateRemindKind, retry: RetryPolicy(firstDelay: .seconds(60), maximumDelay: .seconds(3600), giveUpAfter: .seconds(7 * 86400)),
                      lease: .seconds(120), handler: CertificateReminders(apps: apps))
        self.apps = apps
        let oauth = OAuth(database: database, clock: config.clock, apps: apps)
        jobs.register(kind: OAuth.pruneKind, retry: RetryPolicy(firstDelay: .seconds(60), maximumDelay: .seconds(3600), giveUpAfter: .seconds(86400)),
                      lease: .seconds(300), handler: OAuthPruning(oauth: oauth, jobs: jobs))
        self.oauth = oauth
        let idempotency = Idempotency(database: database, clock: config.clock, jobs: jobs)
        jobs.register(kind: Idempotency.pruneKind, retry: RetryPolicy(firstDelay: .seconds(60), maximumDelay: .seconds(3600), giveUpAfter: .seconds(86400)),
                      lease: .seconds(60), handler: IdempotencyPrune(idempotency: idempotency))
        let publicAPI = PublicAPI(transactions: transactions, payouts: payouts, idempotency: idempotency)
        let openAPI = try OpenAPIDocument(file: config.publicDirectory + "/openapi.json")
        let limiter = RateLimiter(policy: .init(rate: config.apiRequestsPerSecond, burst: config.apiBurst))

        // The request log's flush sets each key's "last used", in the flush's transaction.
        let apiLogs = APILogs(database: database, clock: config.clock, retentionDays: config.apiLogRetentionDays,
                              bodyRetentionDays: config.apiLogBodyRetentionDays) { try apiKeys.recordUse(publicID: $0, at: $1, ip: $2, on: $3) }
        self.apiLogs = apiLogs
        jobs.register(kind: APILogs.pruneKind, retry: RetryPolicy(firstDelay: .seconds(60), maximumDelay: .seconds(3600), giveUpAfter: .seconds(86400)),
                      lease: .seconds(600), handler: APILogPruning(logs: apiLogs, jobs: jobs))
        apiLogRecorder = config.apiRequestLog ? APILogRecorder(logger: logger) { try apiLogs.save($0, $1) } : nil

        // Webhooks: outbound HTTP refused to private networks unless the operator allows them.
        if config.webhooksAllowPrivateNetworks {
            logger.warning("WEBHOOKS MAY BE SENT TO PRIVATE NETWORKS: --webhooks-allow-private-networks is on; loopback, private and link-local addresses (cloud metadata included) are reachable. Use it only in development and tests.")
        }
        let policy: AddressPolicy = config.webhooksAllowPrivateNetworks ? .allowPrivate : .publicOnly
        let userAgent = "Portal-Webhooks/\(PortalVersion.current) (+\(config.baseURL)/docs/webhooks)"
        let outbound = config.webhookResolver.map { OutboundClient(policy: policy, userAgent: userAgent, resolver: $0) }
            ?? OutboundClient(policy: policy, userAgent: userAgent)
        let webhooks = Webhooks(database: database, clock: config.clock, organizations: organizations, client: outbound,
                                box: try SecretBox(key: subkey("portal webhook secrets v1")), jobs: jobs, retentionDays: config.webhookRetentionDays, logger: logger)
        self.webhooks = webhooks
        jobs.register(kind: Webhooks.maintainKind, retry: RetryPolicy(firstDelay: .seconds(60), maximumDelay: .seconds(3600), giveUpAfter: .seconds(86400)),
                      lease: .seconds(600), handler: WebhookMaintenance(webhooks: webhooks, jobs: jobs))
        webhookDispatcher = WebhookDispatcher(webhooks: webhooks, client: outbound, senders: config.webhookSenders,
                                              perEndpoint: config.webhookSendersPerEndpoint, logger: logger)

        var headers = SecurityHeadersMiddleware.defaultHeaders
        if config.resolvedSecureCookies { headers.append(("Strict-Transport-Security", "max-age=31536000")) }
        let pipelines = Pipelines(
            session: AuthMiddleware(sessions: sessions, csrfKey: subkey("portal csrf v1"),
                                    baseOrigin: config.baseOrigin),
            flash: FlashMiddleware(store: SessionFlashStore(sessions: sessions, cookies: CookieFlashStore(
                cookieName: config.resolvedSecureCookies ? "__Host-flash" : "flash", secure: config.resolvedSecureCookies,
                key: subkey("portal flash v1"), now: { [clock = config.clock] in clock.now() }))),
            errorPages: ErrorPages(templates: templates),
            verifiers: [APIKeyVerifier(keys: apiKeys), OAuthTokenVerifier(oauth: oauth, trustedProxies: Set(config.trustedProxies), certificateHeader: config.clientCertificateHeader)] + config.apiVerifiers,
            apiOuter: [APIResponseHeaders(limiter: limiter)], apiInner: [APIRateLimit(limiter: limiter)],
            apiLog: apiLogRecorder.map { APILogMiddleware(recorder: $0, clock: config.clock, redaction: SecretPaths.redaction) },
            authFailures: APIAuthFailures(policy: .init(rate: config.apiAuthFailuresPerSecond, burst: config.apiAuthFailuresBurst,
                                                        delay: config.apiAuthFailureDelay)))

        let (accounts, organizations, database) = (self.accounts, self.organizations, self.database)
        let transactions = self.transactions
        let reports = self.reports
        var router = Router()
        // Outside both pipelines: a load balancer's probe needs no session, flash or CSRF.
        HealthController(database: database).register(on: &router)
        let oauthController = OAuthController(oauth: oauth, issuer: config.baseURL, limiter: limiter)
        oauthController.registerMetadata(on: &router)
        pipelines.pages(&router) { router in
            HomeController(templates: templates).register(on: &router)
            let consent = OAuthConsentController(oauth: oauth, templates: templates)
            AccountsController(accounts: accounts, templates: templates, securitySections: { try consent.grantsSection($0, user: $1) }).register(on: &router)
            OrganizationsController(organizations: organizations, templates: templates).register(on: &router)
            TeamController(team: Team(organizations: organizations), templates: templates).register(on: &router)
            AuditLogController(auditLog: AuditLog(database: database, clock: config.clock), organizations: organizations, templates: templates).register(on: &router)
            SupportController(support: Support(organizations: organizations, logger: logger), templates: templates).register(on: &router)
            DashboardController(transactions: transactions, organizations: organizations, templates: templates).register(on: &router)
            PayoutsController(payouts: payouts, templates: templates).register(on: &router)
            ReportsController(reports: reports, organizations: organizations, templates: templates).register(on: &router)
            APIKeysController(keys: apiKeys, templates: templates).register(on: &router)
            AppsController(apps: apps, templates: templates).register(on: &router)
            consent.register(on: &router)
            APILogsController(logs: apiLogs, organizations: organizations, templates: templates, baseURL: config.baseURL).register(on: &router)
            WebhooksController(webhooks: webhooks, templates: templates).register(on: &router)
            APIReferenceController(document: openAPI, organizations: organizations, templates: templates, baseURL: config.baseURL).register(on: &router)
        }
        // Both prefixes are in Pipelines.apiPrefixes, which the server's refusals use.
        pipelines.api(&router, "/v1") { v1 in
            PingController().register(on: &v1)
            PublicAPIController(api: publicAPI, openAPI: openAPI).register(on: &v1)
        }
        pipelines.oauth(&router, "/oauth") { router in oauthController.register(on: &router) }

        web = WebApplication(
            router: router,
            templates: templates,
            staticFiles: try StaticFiles(urlPrefix: "/static", directory: config.publicDirectory),
            securityHeaders: SecurityHeadersMiddleware(headers: headers),
            requestLog: RequestLogMiddleware(redaction: SecretPaths.redaction),
            logger: logger
        )
        var serverConfig = config.server
        serverConfig.host = config.host
        serverConfig.port = config.port
        serverConfig.refusalPrefixes = Pipelines.apiPrefixes
        server = HTTPServer(configuration: serverConfig, responder: web, logger: logger)
    }

    /// Starts listening and running jobs (delivering mail); returns once connections are accepted.
    public func start() throws {
        // A serving process keeps its recurring jobs queued (the CLI's commands do not).
        try reports.scheduleSweep()
        try apiLogs.schedulePruning(on: jobs, at: config.clock.now())
        try webhooks.scheduleMaintenance(on: jobs, at: config.clock.now())
        try oauth.schedulePruning(on: jobs, at: config.clock.now() + OAuth.pruneInterval)
        jobs.start()
        webhookDispatcher.start()
        apiLogRecorder?.start()
        try server.start()
    }

    /// Stops accepting and lets in-flight requests finish (bounded by the drain timeout).
    public func shutdown() { server.shutdown() }

    /// Waits for the server to drain, writes what the API request log still buffers, then stops the job worker (each job running gets
    /// `jobStopTimeout` to finish and be recorded; one still running then is abandoned and
    /// the worker touches the database no more), and only then closes the database.
    public func waitUntilStopped() {
        server.waitUntilStopped()
        // No request adds to the API log any more: write what it holds.
        apiLogRecorder?.stop()
        // POSTs under way finish and are recorded; one cut off is sent again after its lease.
        webhookDispatcher.stop(timeout: config.jobStopTimeout)
        jobs.stop(timeout: .milliseconds(Int(config.jobStopTimeout * 1000)))
        database.close()
    }
}

/// A setting that cannot work, found before anything starts.
public struct PortalConfigError: Error, CustomStringConvertible {
    public let description: String
    init(_ message: String) { description = message }
}
