import Database
import Foundation
import Jobs
import Mail
import Security

/// Apps: the OAuth clients of one organization's environment, their client credentials,
/// subscriptions to API products, redirect URIs and mTLS certificate.
///
/// The rules, all checked here whatever the pages show:
/// - `apps.read` (or `apps.write`) sees apps, client ids, subscriptions, certificates and
///   redirect URIs; `apps.write` changes them. Checking a pasted secret also needs
///   `apps.write`: it is an oracle for the secret, so it is throttled per credential and per
///   member and audited (the value itself is never kept, logged or audited).
/// - Names are unique in the environment (case-insensitively). Registering makes the first
///   credentials; their secret exists only in the answer to that request (``Created``).
/// - A client secret is `cs_` + 32 random bytes, stored as SHA-256 only. A reset keeps the old
///   hash working for the chosen overlap (now, 1 hour, 24 hours).
/// - Subscriptions come from ``AppProduct/catalogue``; the regulated (PSD2) products are
///   refused until the organization's PSD2 licence is approved by support.
/// - At most 10 redirect URIs per app, each checked by ``RedirectURI``.
/// - Certificates live in the organization's store (``uploadCertificate``); an app selects one.
/// - In Production, registering an app (its first credentials), adding credentials and
///   resetting a secret need the member's fresh authenticator code (single use), as a
///   Production API key does; Sandbox does not ask.
/// - Credential health: the last successful client authentication (time and IP, written at
///   most once a minute), the tokens issued and the failed authentications (a known client id
///   with a wrong or expired secret, counted per hour) of the last 24 hours; credentials
///   unused for 90 days are flagged.
/// - Every change is audited in its own transaction; another organization's ids are 404.
final class Apps: Sendable {
    let database: Database
    let clock: PortalClock
    let organizations: Organizations
    let store = AppsStore()
    let audit: Audit
    let licences: PSD2Licences
    let jobs: JobWorker?
    /// Client lookups of the token endpoint, remembered (``checkClient``).
    private let clients: VerifiedCredentials<String, AppsStore.ClientRow>
    /// How many access tokens each credential was issued from a time on, read on the caller's
    /// connection: the OAuth server's count, wired by the composition root (apps do not know
    /// what a token is).
    let tokensIssued: @Sendable (_ credentialIDs: [Int64], _ since: Int64, _ db: Connection) throws -> [Int64: Int]

    static let remindKind = "app_credential.remind"
    static let certificateRemindKind = "certificate.remind"
    /// Certificates are flagged, and their reminder mailed, this long before they expire.
    static let certificateSoon: Int64 = 30 * 86400
    static let expiryChoices = [30, 90, 365]
    static let reminderDays = [30, 7, 1]

    static let nameField = TextField(maximumCharacters: 100)
    static let overlapChoices: [Int64] = [0, 3600, 86400]
    static let maximumRedirectURIs = 10
    static let maximumCredentials = 20
    /// Pasted-secret checks: 5 free failures per credential and per member, then waits, and a
    /// 15-minute lock at 20.
    static let verifyThrottle = Throttle(freeFailures: 5, lockAfter: 20, lockSeconds: 15 * 60, maxDelay: 60, window: 3600)
    /// "Last used" moves at most this often (seconds): a busy client costs at most one extra
    /// write a minute.
    static let useInterval: Int64 = 60
    /// The window of the health figures (tokens issued, failed authentications).
    static let healthWindow: Int64 = 86400
    /// Credentials unused (or never used since they were made) this long are flagged.
    static let idleAfter: Int64 = 90 * 86400

    init(database: Database, clock: PortalClock, organizations: Organizations, jobs: JobWorker?,
         tokensIssued: @escaping @Sendable ([Int64], Int64, Connection) throws -> [Int64: Int]) {
        self.database = database
        self.clock = clock
        self.organizations = organizations
        self.jobs = jobs
        self.tokensIssued = tokensIssued
        audit = Audit(clock: clock)
        licences = PSD2Licences()
        clients = VerifiedCredentials(database: database)
    }

    // MARK: - who may do what

    func mayView(_ env: EnvAccess) -> Bool { env.can(.appsRead) || env.can(.appsWrite) }
    func mayChange(_ env: EnvAccess) -> Bool { env.can(.appsWrite) }

    func requireView(_ env: EnvAccess) throws {
        if !mayView(env) { try env.require(.appsRead) }
    }

    // MARK: - reading

    struct Summary: Sendable {
        let app: AppRecord
        let credentials: Int
    }

    /// The environment's apps by name, with how many credentials each has.
    func list(_ env: EnvAccess) throws -> [Summary] {
        try requireView(env)
        return try database.read { db in
            try store.apps(organizationID: env.org.id, environment: env.environment, on: db).map {
                Summary(app: $0, credentials: try store.credentials(appID: $0.id, on: db).count)
            }
        }
    }

    /// Everything an app's page shows.
    struct Detail: Sendable {
        let app: AppRecord
        let credentials: [AppCredentialRecord]
        let subscriptions: [AppSubscriptionRecord]
        let redirectURIs: [AppRedirectURIRecord]
        let certificate: CertificateRecord?
        /// The organization's certificates, to choose from.
        let certificates: [CertificateRecord]
        let psd2Licensed: Bool
        /// Each credential's figures of the last 24 hours, by credential id.
        var health: [Int64: CredentialHealth] = [:]

        var scopes: [String] { AppProduct.scopes(of: subscriptions.map(\.product)) }
    }

    /// What the app page tells about one credential's use in the last 24 hours.
    struct CredentialHealth: Sendable, Equatable {
        var tokensIssued = 0
        var failedAuthentications = 0
    }

    /// The first hour bucket of the failures window: the one holding `now - 24 h`, so a
    /// failure counts for 24 hours at least and 25 at most.
    static func firstFailureHour(now: Int64) -> Int64 { (now - healthWindow) / 3600 }

    func detail(_ env: EnvAccess, _ publicID: String) throws -> Detail {
        try requireView(env)
        return try database.read { db in try detail(find(env, publicID, on: db), on: db) }
    }

    private func detail(_ app: AppRecord, on db: Connection) throws -> Detail {
        let credentials = try store.credentials(appID: app.id, on: db)
        let now = clock.now()
        let issued = try tokensIssued(credentials.map(\.id), now - Self.healthWindow, db)
        let failed = try store.failures(appID: app.id, fromHour: Self.firstFailureHour(now: now), on: db)
        var health: [Int64: CredentialHealth] = [:]
        for c in credentials {
            health[c.id] = CredentialHealth(tokensIssued: issued[c.id] ?? 0, failedAuthentications: failed[c.id] ?? 0)
        }
        return Detail(app: app, credentials: credentials, subscriptions: try store.subscriptions(appID: app.id, on: db),
                      redirectURIs: try store.redirectURIs(appID: app.id, on: db),
                      certificate: try app.certificateID.flatMap { try store.certificate(id: $0, on: db) },
                      certificates: try store.certificates(organizationID: app.organizationID, on: db),
                      psd2Licensed: try licences.isApproved(organizationID: app.organizationID, on: db), health: health)
    }

    private func find(_ env: EnvAccess, _ publicID: String, on db: Connection) throws -> AppRecord {
        guard PublicID.isWellFormed(publicID, prefix: "app"),
              let app = try store.app(publicID: publicID, organizationID: env.org.id, environment: env.environment, on: db) else {
            throw OrgProblem.notFound
        }
        return app
    }

    private func findCredential(_ app: AppRecord, _ clientID: String, on db: Connection) throws -> AppCredentialRecord {
        guard PublicID.isWellFormed(clientID, prefix: "client"), let c = try store.credential(clientID: clientID, appID: app.id, on: db) else {
            throw OrgProblem.notFound
        }
        return c
    }

    // MARK: - registering, renaming, deleting

    /// New credentials and their secret: the only time the secret exists outside the caller's hands.
    struct Created: Sendable {
        let app: AppRecord
        let credential: AppCredentialRecord
        let secret: ClientSecret
        /// For a reset: when the old secret stops working (nil: at once).
        let previousEndsAt: Int64?
    }

    private func checkName(_ raw: String, field: String = "name", what: String) throws -> String {
        let name = raw.trimmingCharacters(in: .whitespacesAndNewlines)
        if name.isEmpty { throw OrgProblem.invalid([field: "Give the \(what) a name, like “Checkout web app”."]) }
        if let p = Self.nameField.problem(name) { throw OrgProblem.invalid([field: p]) }
        return name
    }

    private static func nameTaken(_ name: String) -> String {
        "An app named “\(name)” already exists in this environment: choose another name."
    }

    /// Registers an app with its first credentials (named "Default"), in one transaction. In
    /// Production the member's fresh authenticator code (`code`) is needed.
    func register(_ env: EnvAccess, name raw: String, expiresInDays: String = "", code: String = "", actor: Actor) throws -> Created {
        try env.require(.appsWrite)
        let (name, expiresAt) = try checked(env, code: code) { () -> (String, Int64?) in
            var errors: [String: String] = [:]
            var name = ""
            var expiresAt: Int64?
            do { name = try checkName(raw, what: "app") } catch OrgProblem.invalid(let e) { errors.merge(e) { a, _ in a } }
            do { expiresAt = try expiry(expiresInDays) } catch OrgProblem.invalid(let e) { errors.merge(e) { a, _ in a } }
            if errors["name"] == nil,
               try database.read({ try store.app(named: name, organizationID: env.org.id, environment: env.environment, on: $0) }) != nil {
                errors["name"] = Self.nameTaken(name)
            }
            guard errors.isEmpty else { throw OrgProblem.invalid(errors) }
            return (name, expiresAt)
        }
        try confirmForProduction(env, code: code, actor: actor)
        let now = clock.now()
        let who = actor.with(userID: env.user.id)
        return try database.write { db -> Created in
            if try store.app(named: name, organizationID: env.org.id, environment: env.environment, on: db) != nil {
                throw OrgProblem.invalid(["name": Self.nameTaken(name)])
            }
            let id = try store.insertApp(publicID: PublicID.make("app"), organizationID: env.org.id, environment: env.environment, name: name,
                                         createdByName: env.user.name, at: now, on: db)
            guard let app = try store.app(id: id, on: db) else { throw AppsError("app not found after insert") }
            try record(AppsAuditEvents.created, app, by: who, on: db)
            return try insertCredential(app, name: "Default", expiresAt: expiresAt, user: env.user, actor: who, on: db)
        }
    }

    func rename(_ env: EnvAccess, _ publicID: String, name raw: String, actor: Actor) throws -> AppRecord {
        try env.require(.appsWrite)
        let name = try checkName(raw, what: "app")
        return try database.write { db -> AppRecord in
            let app = try find(env, publicID, on: db)
            if let other = try store.app(named: name, organizationID: env.org.id, environment: env.environment, on: db), other.id != app.id {
                throw OrgProblem.invalid(["name": Self.nameTaken(name)])
            }
            guard app.name != name else { return app }
            _ = try store.renameApp(id: app.id, to: name, on: db)
            guard let renamed = try store.app(id: app.id, on: db) else { throw OrgProblem.notFound }
            try record(AppsAuditEvents.renamed, renamed, by: actor.with(userID: env.user.id), extra: ["from": .text(app.name)], on: db)
            return renamed
        }
    }

    /// The app, if `env`'s member may delete it (the confirmation page asks this first).
    func checkDelete(_ env: EnvAccess, _ publicID: String) throws -> AppRecord {
        try env.require(.appsWrite)
        return try database.read { try find(env, publicID, on: $0) }
    }

    /// Deletes the app once its name was typed exactly: its credentials stop working at once.
    func delete(_ env: EnvAccess, _ publicID: String, confirmName: String, actor: Actor) throws -> AppRecord {
        try env.require(.appsWrite)
        return try database.write { db -> AppRecord in
            let app = try find(env, publicID, on: db)
            guard confirmName.trimmingCharacters(in: .whitespacesAndNewlines) == app.name else {
                throw OrgProblem.invalid(["confirm_name": "Type the app's name, “\(app.name)”, exactly to delete it."])
            }
            let credentials = try store.credentials(appID: app.id, on: db)
            guard try store.deleteApp(id: app.id, on: db) else { throw OrgProblem.notFound }
            try record(AppsAuditEvents.deleted, app, by: actor.with(userID: env.user.id),
                       extra: ["client_id": .text(credentials.map(\.clientID).joined(separator: ", "))], on: db)
            return app
        }
    }

    // MARK: - credentials

    /// New credentials for the app; in Production only with the member's fresh authenticator code.
    func addCredential(_ env: EnvAccess, _ publicID: String, name raw: String, expiresInDays: String = "", code: String = "",
                       actor: Actor) throws -> Created {
        try env.require(.appsWrite)
        let (name, expiresAt) = try checked(env, code: code) { () -> (String, Int64?) in
            var errors: [String: String] = [:]
            var name = ""
            var expiresAt: Int64?
            do { name = try checkName(raw, what: "credentials") } catch OrgProblem.invalid(let e) { errors.merge(e) { a, _ in a } }
            do { expiresAt = try expiry(expiresInDays) } catch OrgProblem.invalid(let e) { errors.merge(e) { a, _ in a } }
            // An unknown app is a 404 before any code is spent.
            let count = try database.read { db in try store.credentials(appID: try find(env, publicID, on: db).id, on: db).count }
            if errors["name"] == nil, count >= Self.maximumCredentials {
                errors["name"] = "An app can have at most \(Self.maximumCredentials) credentials."
            }
            guard errors.isEmpty else { throw OrgProblem.invalid(errors) }
            return (name, expiresAt)
        }
        try confirmForProduction(env, code: code, actor: actor)
        return try database.write { db -> Created in
            let app = try find(env, publicID, on: db)
            if try store.credentials(appID: app.id, on: db).count >= Self.maximumCredentials {
                throw OrgProblem.invalid(["name": "An app can have at most \(Self.maximumCredentials) credentials."])
            }
            return try insertCredential(app, name: name, expiresAt: expiresAt, user: env.user, actor: actor.with(userID: env.user.id), on: db)
        }
    }

    /// "" or "never": no expiry; "30", "90", "365": that many days from now.
    private func expiry(_ raw: String) throws -> Int64? {
        let choice = raw.trimmingCharacters(in: .whitespaces)
        if choice.isEmpty || choice == "never" { return nil }
        guard let days = Int(choice), Self.expiryChoices.contains(days) else {
            throw OrgProblem.invalid(["expires_in_days": "Choose never, 30, 90 or 365 days."])
        }
        return clock.now() + Int64(days) * 86400
    }

    private func insertCredential(_ app: AppRecord, name: String, expiresAt: Int64?, user: UserRecord, actor: Actor, on db: Connection) throws -> Created {
        let secret = ClientSecret.make()
        let id = try store.insertCredential(appID: app.id, clientID: PublicID.make("client"), name: name, secret: secret,
                                            createdByName: user.name, at: clock.now(), expiresAt: expiresAt, on: db)
        guard let credential = try store.credential(id: id, on: db) else { throw AppsError("credentials not found after insert") }
        try record(AppsAuditEvents.credentialCreated, app, by: actor,
                   extra: ["client_id": .text(credential.clientID), "credential": .text(credential.name),
                           "expires": .text(expiresAt.map { PageTime.iso8601($0) } ?? "never")], on: db)
        if let jobs, let next = Self.nextCheck(credential, after: clock.now()) {
            try jobs.enqueue(Self.remindKind, payload: String(credential.id), runAt: next, on: db)
        }
        return Created(app: app, credential: credential, secret: secret, previousEndsAt: nil)
    }

    func renameCredential(_ env: EnvAccess, _ publicID: String, clientID: String, name raw: String, actor: Actor) throws -> AppCredentialRecord {
        try env.require(.appsWrite)
        let name = try checkName(raw, what: "credentials")
        return try database.write { db -> AppCredentialRecord in
            let app = try find(env, publicID, on: db)
            let c = try findCredential(app, clientID, on: db)
            guard c.name != name else { return c }
            _ = try store.renameCredential(id: c.id, to: name, on: db)
            guard let renamed = try store.credential(id: c.id, on: db) else { throw OrgProblem.notFound }
            try record(AppsAuditEvents.credentialRenamed, app, by: actor.with(userID: env.user.id),
                       extra: ["client_id": .text(c.clientID), "credential": .text(name), "from": .text(c.name)], on: db)
            return renamed
        }
    }

    /// Whether `pasted` is the current secret (or the previous one, within its overlap) of the
    /// credentials. Throttled per credential and per member; each check is audited with its
    /// result, never with the value.
    func verifySecret(_ env: EnvAccess, _ publicID: String, clientID: String, pasted: String, actor: Actor) throws -> Bool {
        try env.require(.appsWrite)
        if pasted.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty {
            throw OrgProblem.invalid(["secret": "Paste the client secret to check."])
        }
        let digest = ClientSecret.digest(ofPasted: pasted)
        let now = clock.now()
        let (verdict, matched) = try database.write { db -> (Throttle.Verdict, Bool) in
            let app = try find(env, publicID, on: db)
            let c = try findCredential(app, clientID, on: db)
            let keys = ["app_secret_verify:\(c.clientID)", "app_secret_verify_member:\(env.user.id)"]
            let verdict = try Self.verifyThrottle.check(keys, now: now, on: db)
            guard verdict == .allowed else { return (verdict, false) }
            let matched = Self.matches(digest, c, now: now)
            if !matched { try Self.verifyThrottle.fail(keys, now: now, on: db) }
            try record(AppsAuditEvents.secretVerified, app, by: actor.with(userID: env.user.id),
                       extra: ["client_id": .text(c.clientID), "credential": .text(c.name),
                               "result": .text(matched ? "it matches" : "it does not match")], on: db)
            return (.allowed, matched)
        }
        switch verdict {
        case .allowed: return matched
        case .wait(let seconds), .locked(let seconds): throw OrgProblem.throttled(seconds: seconds)
        }
    }

    /// Constant-time comparison of a secret's digest with the current hash, and with the
    /// previous one while its overlap lasts. Both comparisons always run.
    static func matches(_ digest: [UInt8], _ c: AppCredentialRecord, now: Int64) -> Bool {
        let current = Digest.constantTimeEquals(digest, c.secretSHA256)
        let previous = c.previousSHA256.map { Digest.constantTimeEquals(digest, $0) } ?? false
        return current || (previous && c.previousWorks(now: now))
    }

    /// A new secret; the old one keeps working for `overlap` seconds (0, 3600 or 86400). In
    /// Production only with the member's fresh authenticator code.
    func resetSecret(_ env: EnvAccess, _ publicID: String, clientID: String, overlap raw: String, code: String = "", actor: Actor) throws -> Created {
        try env.require(.appsWrite)
        let overlap = try checked(env, code: code) { () -> Int64 in
            // Unknown app or credentials: a 404 before any code is spent.
            _ = try database.read { db in try findCredential(try find(env, publicID, on: db), clientID, on: db) }
            guard let overlap = Int64(raw.trimmingCharacters(in: .whitespaces)), Self.overlapChoices.contains(overlap) else {
                throw OrgProblem.invalid(["overlap": "Choose how long the old secret keeps working: not at all, 1 hour or 24 hours."])
            }
            return overlap
        }
        try confirmForProduction(env, code: code, actor: actor)
        let now = clock.now()
        let secret = ClientSecret.make()
        return try database.write { db -> Created in
            let app = try find(env, publicID, on: db)
            let c = try findCredential(app, clientID, on: db)
            let endsAt: Int64? = overlap > 0 ? now + overlap : nil
            guard try store.resetSecret(id: c.id, expected: c.secretSHA256, new: secret, previousEndsAt: endsAt, at: now, on: db),
                  let reset = try store.credential(id: c.id, on: db) else {
                throw OrgProblem.conflict("Someone reset this secret meanwhile; look at the app again.")
            }
            try record(AppsAuditEvents.secretReset, app, by: actor.with(userID: env.user.id),
                       extra: ["client_id": .text(c.clientID), "credential": .text(c.name),
                               "overlap_ends": .text(PageTime.iso8601(endsAt ?? now))], on: db)
            return Created(app: app, credential: reset, secret: secret, previousEndsAt: endsAt)
        }
    }

    // MARK: - Production: a fresh authenticator code

    static let codeMissing = "Enter the current code from your authenticator app: Production credentials need it."

    /// Runs a form's checks. In Production a missing code is said at once beside the other
    /// problems, but a code is never spent on a form that fails.
    private func checked<T>(_ env: EnvAccess, code: String, _ checks: () throws -> T) throws -> T {
        do { return try checks() } catch OrgProblem.invalid(var errors) {
            if env.isProduction && code.filter({ !$0.isWhitespace }).isEmpty { errors["code"] = Self.codeMissing }
            throw OrgProblem.invalid(errors)
        }
    }

    /// A Production secret is made only with the member's fresh authenticator code (single
    /// use, throttled as every confirmation is: wrong codes here and elsewhere count together).
    private func confirmForProduction(_ env: EnvAccess, code: String, actor: Actor) throws {
        guard env.isProduction else { return }
        if code.filter({ !$0.isWhitespace }).isEmpty { throw OrgProblem.invalid(["code": Self.codeMissing]) }
        try organizations.accounts.confirmCode(for: env, code: code, actor: actor)
    }

    // MARK: - the OAuth server's client check

    /// An authenticated client: the app and the credentials that proved themselves.
    struct Client: Sendable {
        let app: AppRecord
        let credential: AppCredentialRecord
        /// What its subscriptions grant: the most a token may carry.
        var scopes: [String]
        /// The RFC 8705 `x5t#S256` of the app's certificate, to bind its tokens to (nil: none).
        var certificateThumbprint: String?

        /// Whether an authentication at `now` is to be recorded as the credentials' last use:
        /// the one recorded (as read when they authenticated) is older than a minute.
        func useIsStale(now: Int64) -> Bool { credential.lastUsedAt.map { $0 < now - Apps.useInterval } ?? true }
    }

    /// What a client authentication found.
    enum ClientCheck: Sendable {
        case authenticated(Client)
        /// Refused. `credentialID`: the credentials of a known client id whose secret was wrong
        /// or expired (nil for an unknown client id or one of a closed organization).
        case refused(credentialID: Int64?)
    }

    /// Checks a `client_id` and secret: one indexed read on a reader and a constant-time
    /// SHA-256 comparison (no scrypt: secrets are high-entropy), so the token endpoint verifies
    /// thousands a second. A closed organization's clients fail. Writes nothing.
    func checkClient(clientID: String, secret: String) throws -> ClientCheck {
        guard PublicID.isWellFormed(clientID, prefix: "client") else { return .refused(credentialID: nil) }
        let digest = Digest.sha256(secret)
        let now = clock.now()
        // Remembered ≤ 1 s and not past any write (a reset secret, a closed organization): see
        // VerifiedCredentials. The secret is compared on every use, remembered or not.
        guard let row = try clients.record(clientID, read: { try database.read { try store.client(clientID: clientID, on: $0) } }) else {
            return .refused(credentialID: nil)
        }
        guard Self.matches(digest, row.credential, now: now), !row.credential.isExpired(now: now) else {
            return .refused(credentialID: row.credential.id)
        }
        return .authenticated(Client(app: row.app, credential: row.credential, scopes: AppProduct.scopes(of: row.products),
                                     certificateThumbprint: row.certificateSHA256.map { Base64URL.encode($0) }))
    }

    /// The client whose `client_id` and secret these are, or nil (``checkClient``).
    func authenticateClient(clientID: String, secret: String) throws -> Client? {
        if case .authenticated(let client) = try checkClient(clientID: clientID, secret: secret) { return client }
        return nil
    }

    // MARK: - credential health

    /// Records `client`'s successful authentication from `ip` as its credentials' last use, in
    /// the caller's transaction, when the one read at authentication is older than a minute;
    /// otherwise runs no statement at all. Returns whether it wrote.
    @discardableResult
    func recordUse(_ client: Client, ip: String, at now: Int64, on db: Connection) throws -> Bool {
        guard client.useIsStale(now: now) else { return false }
        return try store.recordUse(credentialID: client.credential.id, at: now, ip: ip, staleBefore: now - Self.useInterval, on: db)
    }

    /// The same in a small write of its own (for an endpoint that otherwise only reads), and
    /// only when stale.
    @discardableResult
    func recordUse(_ client: Client, ip: String) throws -> Bool {
        let now = clock.now()
        guard client.useIsStale(now: now) else { return false }
        return try database.write { try recordUse(client, ip: ip, at: now, on: $0) }
    }

    /// Counts a failed authentication of the credentials (a wrong or expired secret) in the
    /// bucket of the current hour: a flood of wrong secrets is one row an hour. Nothing of the
    /// secret is kept.
    func recordFailedAuthentication(credentialID: Int64) throws {
        let hour = clock.now() / 3600
        try database.write { try store.recordFailure(credentialID: credentialID, hour: hour, on: $0) }
    }

    /// Deletes failure buckets that no longer count (older than the window and an hour), in
    /// the caller's transaction (the OAuth server's hourly pruning).
    @discardableResult
    func pruneHealth(now: Int64, on db: Connection) throws -> Int {
        try store.pruneFailures(beforeHour: Self.firstFailureHour(now: now), on: db)
    }

    /// The client with this `client_id`, its app's redirect URIs and the name of the
    /// organization that owns it, without a secret: what the authorization endpoint shows and
    /// checks before a member consents. Nil for an unknown or expired client, or one of a
    /// closed organization.
    func publicClient(clientID: String) throws -> (client: Client, redirectURIs: [String], organizationName: String)? {
        guard PublicID.isWellFormed(clientID, prefix: "client") else { return nil }
        return try database.read { db -> (Client, [String], String)? in
            guard let row = try store.client(clientID: clientID, on: db), !row.credential.isExpired(now: clock.now()),
                  let org = try organizations.organization(id: row.app.organizationID, on: db) else { return nil }
            let client = Client(app: row.app, credential: row.credential, scopes: AppProduct.scopes(of: row.products),
                                certificateThumbprint: row.certificateSHA256.map { Base64URL.encode($0) })
            return (client, try store.redirectURIs(appID: row.app.id, on: db).map(\.uri), org.displayName)
        }
    }

    // MARK: - subscriptions

    func subscribe(_ env: EnvAccess, _ publicID: String, product raw: String, actor: Actor) throws -> AppProduct {
        try env.require(.appsWrite)
        guard let product = AppProduct.named(raw.trimmingCharacters(in: .whitespaces)) else {
            throw OrgProblem.invalid(["product": "Choose a product from the catalogue."])
        }
        return try database.write { db -> AppProduct in
            let app = try find(env, publicID, on: db)
            if product.regulated, !(try licences.isApproved(organizationID: env.org.id, on: db)) {
                throw OrgProblem.conflict(PSD2Licences.lockedReason(product))
            }
            guard try store.subscribe(appID: app.id, product: product.id, createdByName: env.user.name, at: clock.now(), on: db) else {
                throw OrgProblem.conflict("This app is already subscribed to \(product.title).")
            }
            try record(AppsAuditEvents.subscribed, app, by: actor.with(userID: env.user.id), extra: ["product": .text(product.title)], on: db)
            return product
        }
    }

    func unsubscribe(_ env: EnvAccess, _ publicID: String, product raw: String, actor: Actor) throws -> AppProduct {
        try env.require(.appsWrite)
        guard let product = AppProduct.named(raw) else { throw OrgProblem.notFound }
        return try database.write { db -> AppProduct in
            let app = try find(env, publicID, on: db)
            guard try store.unsubscribe(appID: app.id, product: product.id, on: db) else { throw OrgProblem.notFound }
            try record(AppsAuditEvents.unsubscribed, app, by: actor.with(userID: env.user.id), extra: ["product": .text(product.title)], on: db)
            return product
        }
    }

    // MARK: - redirect URIs

    private func checkURI(_ raw: String) throws -> RedirectURI {
        do { return try RedirectURI.parse(raw) } catch { throw OrgProblem.invalid(["uri": error.message]) }
    }

    func addRedirectURI(_ env: EnvAccess, _ publicID: String, uri raw: String, actor: Actor) throws -> RedirectURI {
        try env.require(.appsWrite)
        let uri = try checkURI(raw)
        return try database.write { db -> RedirectURI in
            let app = try find(env, publicID, on: db)
            if try store.redirectURIs(appID: app.id, on: db).count >= Self.maximumRedirectURIs {
                throw OrgProblem.invalid(["uri": "An app can have at most \(Self.maximumRedirectURIs) redirect URIs: remove one first."])
            }
            guard try store.insertRedirectURI(publicID: PublicID.make("uri"), appID: app.id, uri: uri.value, at: clock.now(), on: db) else {
                throw OrgProblem.invalid(["uri": "This redirect URI is already registered."])
            }
            try record(AppsAuditEvents.redirectURIAdded, app, by: actor.with(userID: env.user.id), extra: ["uri": .text(uri.value)], on: db)
            return uri
        }
    }

    func changeRedirectURI(_ env: EnvAccess, _ publicID: String, uriID: String, uri raw: String, actor: Actor) throws -> RedirectURI {
        try env.require(.appsWrite)
        let uri = try checkURI(raw)
        return try database.write { db -> RedirectURI in
            let app = try find(env, publicID, on: db)
            guard let existing = try store.redirectURIs(appID: app.id, on: db).first(where: { $0.publicID == uriID }) else { throw OrgProblem.notFound }
            guard existing.uri != uri.value else { return uri }
            guard try store.changeRedirectURI(id: existing.id, to: uri.value, on: db) else {
                throw OrgProblem.invalid(["uri": "This redirect URI is already registered."])
            }
            try record(AppsAuditEvents.redirectURIChanged, app, by: actor.with(userID: env.user.id),
                       extra: ["uri": .text(uri.value), "previous_uri": .text(existing.uri)], on: db)
            return uri
        }
    }

    func removeRedirectURI(_ env: EnvAccess, _ publicID: String, uriID: String, actor: Actor) throws -> String {
        try env.require(.appsWrite)
        return try database.write { db -> String in
            let app = try find(env, publicID, on: db)
            guard let existing = try store.redirectURIs(appID: app.id, on: db).first(where: { $0.publicID == uriID }),
                  try store.deleteRedirectURI(id: existing.id, on: db) else { throw OrgProblem.notFound }
            try record(AppsAuditEvents.redirectURIRemoved, app, by: actor.with(userID: env.user.id), extra: ["uri": .text(existing.uri)], on: db)
            return existing.uri
        }
    }

    // MARK: - certificates

    func mayViewCertificates(_ access: OrgAccess) -> Bool { access.can(.appsRead) || access.can(.appsWrite) }

    func certificates(_ access: OrgAccess) throws -> [CertificateRecord] {
        if !mayViewCertificates(access) { try access.require(.appsRead) }
        return try database.read { try store.certificates(organizationID: access.org.id, on: $0) }
    }

    /// Parses the upload (``Certificate/parse(_:now:)``) and stores the certificate. A refusal
    /// is ``OrgProblem/invalid`` on `certificate`; nothing of a refused upload is kept (a
    /// private key included). A duplicate is ``CertificateDuplicate`` naming the stored one.
    func uploadCertificate(_ access: OrgAccess, upload: [UInt8], actor: Actor) throws -> CertificateRecord {
        try access.require(.appsWrite)
        let now = clock.now()
        let parsed: Certificate
        do { parsed = try Certificate.parse(upload, now: now) } catch { throw OrgProblem.invalid(["certificate": error.message]) }
        return try database.write { db -> CertificateRecord in
            if let existing = try store.certificate(sha256: parsed.sha256, organizationID: access.org.id, on: db) {
                throw CertificateDuplicate(existing: existing)
            }
            let id = try store.insertCertificate(AppsStore.NewCertificate(
                publicID: PublicID.make("cert"), organizationID: access.org.id, sha256: parsed.sha256, der: parsed.der, subject: parsed.subject,
                issuer: parsed.issuer, serial: parsed.serialHex, keyType: parsed.keyType.description, notBefore: parsed.notBefore,
                notAfter: parsed.notAfter, altNames: parsed.alternativeNames.map(\.description).joined(separator: ", "),
                createdByName: access.user.name, createdAt: now), on: db)
            guard let cert = try store.certificate(id: id, on: db) else { throw AppsError("certificate not found after insert") }
            if let jobs {
                try jobs.enqueue(Self.certificateRemindKind, payload: String(cert.id), runAt: max(now, cert.notAfter - Self.certificateSoon), on: db)
            }
            try audit.record(AppsAuditEvents.certificateUploaded, by: actor.with(userID: access.user.id), organization: access.org.id,
                             subject: cert.publicID,
                             details: ["subject": .text(cert.subject), "certificate": .text(cert.fingerprint),
                                       "expires": .text(PageTime.iso8601(cert.notAfter))], on: db)
            return cert
        }
    }

    /// Chooses the app's certificate from the organization's store ("" for none).
    func selectCertificate(_ env: EnvAccess, _ publicID: String, certificate raw: String, actor: Actor) throws -> CertificateRecord? {
        try env.require(.appsWrite)
        return try database.write { db -> CertificateRecord? in
            let app = try find(env, publicID, on: db)
            var cert: CertificateRecord?
            if !raw.isEmpty {
                guard PublicID.isWellFormed(raw, prefix: "cert"), let c = try store.certificate(publicID: raw, organizationID: env.org.id, on: db) else {
                    throw OrgProblem.invalid(["certificate": "Choose one of your organization's certificates."])
                }
                cert = c
            }
            guard app.certificateID != cert?.id else { return cert }
            _ = try store.selectCertificate(appID: app.id, certificateID: cert?.id, on: db)
            try record(AppsAuditEvents.certificateSelected, app, by: actor.with(userID: env.user.id),
                       extra: cert.map { ["certificate": .text($0.fingerprint)] } ?? AuditDetails(), on: db)
            return cert
        }
    }

    // MARK: - the PSD2 licence

    /// The approved licence, or the request waiting for support, of the organization.
    func licenceState(organizationID: Int64) throws -> (licence: PSD2Licences.Licence?, pending: SupportRequestRecord?) {
        try database.read { db in
            (try licences.licence(organizationID: organizationID, on: db), try licences.pending(organizationID: organizationID, on: db))
        }
    }

    static let licenceFields = ["licence_number", "authority", "register_url"]

    /// The Owner files the PSD2 licence with support (one open request at a time). Returns the
    /// support request's public id.
    func fileLicence(_ access: OrgAccess, number: String, authority: String, registerURL: String, actor: Actor) throws -> String {
        try access.requireOwner("file the PSD2 licence")
        var errors: [String: String] = [:]
        let number = number.trimmingCharacters(in: .whitespacesAndNewlines)
        let authority = authority.trimmingCharacters(in: .whitespacesAndNewlines)
        let url = registerURL.trimmingCharacters(in: .whitespacesAndNewlines)
        let field = TextField(maximumCharacters: 200)
        if number.isEmpty { errors["licence_number"] = "Enter the licence number the authority gave you." }
        else if let p = field.problem(number) { errors["licence_number"] = p }
        if authority.isEmpty { errors["authority"] = "Enter the competent authority, like De Nederlandsche Bank." }
        else if let p = field.problem(authority) { errors["authority"] = p }
        if url.isEmpty { errors["register_url"] = "Enter the link to your entry in the authority's public register." }
        else if url.utf8.count > 500 || !(url.hasPrefix("https://") && URL(string: url)?.host?.isEmpty == false) {
            errors["register_url"] = "Enter an https link to the register entry, like https://www.dnb.nl/en/public-register/…"
        }
        guard errors.isEmpty else { throw OrgProblem.invalid(errors) }
        let now = clock.now()
        return try database.write { db -> String in
            if try licences.isApproved(organizationID: access.org.id, on: db) { throw OrgProblem.conflict("Your PSD2 licence is already approved.") }
            if let open = try licences.pending(organizationID: access.org.id, on: db) {
                throw OrgProblem.conflict("Support is already reviewing your PSD2 licence (\(open.publicID)).")
            }
            let (_, requestID) = try licences.supportQueue.file(
                kind: .psd2Licence, by: access.user, organizationID: access.org.id,
                note: "PSD2 licence \(number) from \(authority): \(url)",
                changes: ["licence_number": number, "authority": authority, "register_url": url], now: now, on: db)
            try audit.record(AppsAuditEvents.licenceFiled, by: actor.with(userID: access.user.id), organization: access.org.id, subject: requestID,
                             details: ["licence_number": .text(number), "authority": .text(authority), "request": .text(requestID)], on: db)
            return requestID
        }
    }

    // MARK: - expiry reminders

    /// The time the reminder `days` before the expiry is due, or nil if the credentials were
    /// made after it (a 30-day credential gets no "30 days left" mail).
    static func reminderTime(_ c: AppCredentialRecord, days: Int) -> Int64? {
        guard let e = c.expiresAt else { return nil }
        let t = e - Int64(days) * 86400
        return t > c.createdAt ? t : nil
    }

    /// The next moment after `now` a reminder is due, or the expiry itself.
    static func nextCheck(_ c: AppCredentialRecord, after now: Int64) -> Int64? {
        guard let e = c.expiresAt, e > now else { return nil }
        let times = reminderDays.compactMap { reminderTime(c, days: $0) }.filter { $0 > now } + [e]
        return max(now, times.min() ?? e)
    }

    /// The ``AppCredentialReminders`` job: mails the members with `apps.write` once per
    /// threshold passed (30, 7, 1 days before the expiry; of several passed together only the
    /// nearest), and schedules the next check. Running it twice sends nothing twice. Returns
    /// the days of the reminder sent, if one was.
    @discardableResult
    func remind(credentialID: Int64) throws -> Int? {
        let now = clock.now()
        return try database.write { db -> Int? in
            guard let c = try store.credential(id: credentialID, on: db), let expiresAt = c.expiresAt, expiresAt > now,
                  let app = try store.app(id: c.appID, on: db) else { return nil }
            let due = Self.reminderDays.filter { d in Self.reminderTime(c, days: d).map { $0 <= now } ?? false }
            var marked: [Int] = []
            for d in due where try store.markReminded(credentialID: c.id, days: d, at: now, on: db) { marked.append(d) }
            let nearest = marked.min()
            if let nearest { try mailReminder(app, c, days: nearest, expiresAt: expiresAt, on: db) }
            if let jobs, let next = Self.nextCheck(c, after: now), next < expiresAt {
                try jobs.enqueue(Self.remindKind, payload: String(c.id), runAt: next, on: db)
            }
            return nearest
        }
    }

    /// The ``CertificateReminders`` job: once the certificate is within 30 days of its expiry,
    /// mails the members who manage apps (once), naming the apps that use it. Returns whether
    /// it mailed.
    @discardableResult
    func remindCertificate(id: Int64) throws -> Bool {
        let now = clock.now()
        return try database.write { db -> Bool in
            guard let cert = try store.certificate(id: id, on: db), cert.notAfter > now else { return false }
            guard now >= cert.notAfter - Self.certificateSoon else {
                // Ran early (a clock change): check again when it is due.
                if let jobs { try jobs.enqueue(Self.certificateRemindKind, payload: String(id), runAt: cert.notAfter - Self.certificateSoon, on: db) }
                return false
            }
            guard try store.markCertificateReminded(id: id, at: now, on: db),
                  let org = try organizations.organization(id: cert.organizationID, on: db), org.isActive else { return false }
            let apps = try store.appNames(certificateID: id, on: db)
            let members = try organizations.members(organizationID: org.id, on: db)
                .filter { $0.member.isActive && $0.member.effectivePermissions.contains(.appsWrite) }
            let mailer = organizations.accounts.mailer
            for m in members {
                let zone = try organizations.accounts.user(id: m.member.userID, on: db)?.timeZone ?? "UTC"
                do {
                    try mailer.enqueue(
                        template: "certificate_expiring", to: m.email, subject: Team.subject("Certificate \(cert.subject) expires soon"),
                        context: ["name": m.name, "subject": cert.subject, "fingerprint": cert.fingerprint, "orgName": org.displayName,
                                  "expires": PageTime.full(cert.notAfter, zone: zone), "hasApps": !apps.isEmpty,
                                  "apps": apps.joined(separator: ", "), "link": mailer.url(path: "/orgs/\(org.publicID)/certificates")],
                        on: db)
                } catch let error as MailError {
                    organizations.logger.warning("certificate reminder not sent", metadata: ["error": "\(error)"])
                }
            }
            return true
        }
    }

    private func mailReminder(_ app: AppRecord, _ c: AppCredentialRecord, days: Int, expiresAt: Int64, on db: Connection) throws {
        guard let org = try organizations.organization(id: app.organizationID, on: db), org.isActive else { return }
        let members = try organizations.members(organizationID: org.id, on: db)
            .filter { $0.member.isActive && $0.member.effectivePermissions.contains(.appsWrite) }
        let left = days == 1 ? "1 day" : "\(days) days"
        let mailer = organizations.accounts.mailer
        for m in members {
            let zone = try organizations.accounts.user(id: m.member.userID, on: db)?.timeZone ?? "UTC"
            do {
                try mailer.enqueue(
                    template: "app_credential_expiring", to: m.email,
                    subject: Team.subject("Credentials “\(c.name)” of “\(app.name)” expire in \(left)"),
                    context: ["name": m.name, "credentialName": c.name, "clientID": c.clientID, "appName": app.name, "left": left,
                              "orgName": org.displayName, "environment": app.environment.title, "expires": PageTime.full(expiresAt, zone: zone),
                              "link": mailer.url(path: "/orgs/\(org.publicID)/\(app.environment.rawValue)/apps/\(app.publicID)")],
                    on: db)
            } catch let error as MailError {
                organizations.logger.warning("app credential reminder not sent", metadata: ["error": "\(error)"])
            }
        }
    }

    // MARK: - shared steps

    private func record(_ action: AuditAction, _ app: AppRecord, by actor: Actor, extra: AuditDetails = AuditDetails(), on db: Connection) throws {
        var details: AuditDetails = ["name": .text(app.name)]
        for f in extra.fields { details[f.key] = f.value }
        try audit.record(action, by: actor, organization: app.organizationID, environment: app.environment.rawValue, subject: app.publicID,
                         details: details, on: db)
    }
}

/// An upload whose certificate the organization already stored.
struct CertificateDuplicate: Error {
    let existing: CertificateRecord
}

/// A state the apps' own writes should never leave.
struct AppsError: Error, CustomStringConvertible {
    let description: String
    init(_ d: String) { description = d }
}
