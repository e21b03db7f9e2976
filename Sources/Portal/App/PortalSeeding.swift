import Database
import Security

/// What the command line's seeding (`portal seed-demo`) may do, and nothing more: the
/// services' own operations (Accounts, Auth, Organizations), made public for the `portal`
/// executable, which sees no feature's internals and no store. One ``write(_:)`` covers a
/// whole seed, as one request's transaction would.
public struct PortalSeeding: Sendable {
    let app: PortalApp

    public var totpIssuer: String { app.config.totpIssuer }

    /// Refuses what sign-up would refuse (the name, the address, the password) and a session
    /// token that is not 32 bytes in base64url.
    public func check(name: String, email: String, password: String, sessionToken: String?) throws {
        // The name shows in pages, mails and logs.csv like any other: same rule as sign-up's.
        if name.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty { throw DemoSeedError.invalid("enter a name") }
        if let problem = TextField.personName.problem(name) { throw DemoSeedError.invalid("the name: \(problem)") }
        if let problem = Accounts.emailProblem(email) { throw DemoSeedError.invalid(problem) }
        if let problem = app.accounts.policy.check(password, context: [email, name]) { throw DemoSeedError.invalid(problem.message) }
        if let token = sessionToken, Base64URL.decode(token)?.count != 32 {
            throw DemoSeedError.invalid("the session token must be 32 bytes in base64url (43 characters)")
        }
    }

    /// A password hash, computed before the write begins (never inside it).
    public func hashPassword(_ password: String) throws -> String { try app.accounts.hasher.hash(password) }

    public func write<T>(_ body: (Transaction) throws -> T) throws -> T {
        try app.database.write { db in
            try body(Transaction(app: app, db: db, now: app.config.clock.now(),
                                 actor: Actor(userID: nil, ip: "127.0.0.1", userAgent: "portal seed-demo")))
        }
    }

    /// One seed's transaction.
    public struct Transaction {
        let app: PortalApp
        let db: Connection
        let now: Int64
        let actor: Actor

        public func userExists(email: String) throws -> Bool { try app.accounts.user(email: email, on: db) != nil }

        /// A verified account (audited as a demo sign-up); returns its id.
        public func createVerifiedUser(email: String, name: String, passwordHash: String) throws -> Int64 {
            let id = try app.accounts.createUser(email: Accounts.normalizeEmail(email), name: name, passwordHash: passwordHash,
                                                 verified: true, now: now, on: db)
            try app.accounts.audit.record(AccountsAuditEvents.signupDemo, by: actor.with(userID: id), subject: email, on: db)
            return id
        }

        public func enrolTOTP(userID: Int64, secret: [UInt8], recoveryCodes: [String]) throws {
            try app.accounts.enrolForSeeding(userID: userID, secret: secret, recoveryCodes: recoveryCodes, now: now, on: db)
        }

        /// A signed-in session whose cookie token the caller chose.
        public func startSession(userID: Int64, token: String) throws {
            try app.accounts.sessions.startActive(userID: userID, token: token, ip: actor.ip, userAgent: actor.userAgent, on: db)
        }

        /// An organization with the user as its Owner; returns its public id.
        public func createOrganization(ownerID: Int64, details: [String: String]) throws -> String {
            try app.organizations.createOwned(details: details, ownerID: ownerID, by: actor.with(userID: ownerID), now: now, on: db).publicID
        }

        /// An unrestricted Sandbox API key of the organization, made by its Owner; returns the
        /// secret (printed once by `portal seed-demo --api-key`, for the bench and the contract test).
        public func createSandboxAPIKey(organizationPublicID: String, name: String = "Demo key") throws -> String {
            guard let org = try app.organizations.store.organization(publicID: organizationPublicID, on: db),
                  let owner = try app.organizations.owner(organizationID: org.id, on: db),
                  let user = try app.accounts.user(id: owner.userID, on: db) else {
                throw DemoSeedError.invalid("no organization \(organizationPublicID)")
            }
            return try app.apiKeys.insert(organizationID: org.id, environment: .sandbox, name: name, user: user, actor: actor, on: db).secret.text
        }

        /// Makes the user a Manager of the organization (who may create and authorize payouts),
        /// audited as the Owner's invitation the user accepted.
        public func addManager(organizationPublicID: String, userID: Int64, email: String) throws {
            guard let org = try app.organizations.store.organization(publicID: organizationPublicID, on: db),
                  let owner = try app.organizations.owner(organizationID: org.id, on: db) else {
                throw DemoSeedError.invalid("no organization \(organizationPublicID)")
            }
            let role = Role.manager
            try app.organizations.addMember(organizationID: org.id, userID: userID, role: role, permissions: role.preset ?? [], now: now, on: db)
            let details: AuditDetails = ["role": .text(role.rawValue), "permissions": .text(Permission.store(role.preset ?? []))]
            try app.organizations.audit.record(TeamAuditEvents.invited, by: actor.with(userID: owner.userID), organization: org.id,
                                               subject: email, details: details, on: db)
            try app.organizations.audit.record(TeamAuditEvents.accepted, by: actor.with(userID: userID), organization: org.id,
                                               subject: email, details: details, on: db)
        }
    }
}

/// How much demo money `portal seed-demo --transactions N` makes, and from which seed.
public struct DemoMoneyOptions: Sendable {
    public var transactions: Int
    public var months: Int
    public var seed: UInt64
    /// The end of the history (unix seconds). The same seed and end give the same rows.
    public var end: Int64
    /// Rows per writer transaction.
    public var batchRows: Int

    public init(transactions: Int, months: Int = 12, seed: UInt64 = 1, end: Int64, batchRows: Int = 30_000) {
        self.transactions = transactions
        self.months = months
        self.seed = seed
        self.end = end
        self.batchRows = batchRows
    }

    /// The default end of the history: the current hour (so the newest transactions are minutes
    /// old, a few still moving), the same for every run within that hour.
    public static func defaultEnd(now: Int64) -> Int64 { now - now % 3600 }
}

public struct DemoMoneyProgress: Sendable {
    /// Transactions written so far, of `total`.
    public let transactions: Int
    public let total: Int
    /// Rows of every table written so far (transactions, history, ledger, rollup, payouts, jobs).
    public let rows: Int

    public init(transactions: Int, total: Int, rows: Int) {
        self.transactions = transactions
        self.total = total
        self.rows = rows
    }
}

public struct DemoMoneySummary: Sendable {
    public let transactions: Int
    public let rows: Int
    public let pendingPayouts: Int
    public let accounts: Int
    public let start: Int64
    public let end: Int64
}

extension PortalSeeding {
    /// The time the portal's clock says (the default end of the demo history comes from it).
    public var now: Int64 { app.config.clock.now() }

    /// Fills the organization's Sandbox with a demo history (``MoneySeeder``): batches of its own
    /// writer transactions, so it runs after the account and organization exist. Its payouts
    /// waiting for authorization are prepared by the Owner and by the organization's Managers.
    public func seedDemoMoney(organizationPublicID: String, options: DemoMoneyOptions,
                              progress: (DemoMoneyProgress) -> Void) throws -> DemoMoneySummary {
        guard options.transactions > 0 else { throw DemoSeedError.invalid("--transactions must be at least 1") }
        guard (1...120).contains(options.months) else { throw DemoSeedError.invalid("--months must be 1-120") }
        let (org, members) = try app.database.read { db -> (OrganizationRecord?, [MoneySeeder.Member]) in
            guard let org = try app.organizations.store.organization(publicID: organizationPublicID, on: db) else { return (nil, []) }
            let members = try app.organizations.members(organizationID: org.id, on: db)
                .filter { $0.member.status == "active" && ($0.member.role == .owner || $0.member.permissions.contains(.payoutsCreate)) }
                .map { MoneySeeder.Member(id: $0.member.userID, name: $0.name) }
            return (org, members)
        }
        guard let org, !members.isEmpty else { throw DemoSeedError.invalid("no organization \(organizationPublicID)") }
        let seeder = MoneySeeder(database: app.database, clock: app.config.clock,
                                 scope: MoneyScope(organizationID: org.id, environment: .sandbox), members: members,
                                 plan: .init(transactions: options.transactions, months: options.months, seed: options.seed, end: options.end,
                                             batchRows: options.batchRows))
        let s = try seeder.run { p in progress(DemoMoneyProgress(transactions: p.transactions, total: p.total, rows: p.rows)) }
        return DemoMoneySummary(transactions: s.transactions, rows: s.rows, pendingPayouts: s.pendingPayouts, accounts: s.accounts,
                                start: s.start, end: s.end)
    }
}

extension PortalApp {
    public var seeding: PortalSeeding { PortalSeeding(app: self) }
}

public enum DemoSeedError: Error, CustomStringConvertible {
    case invalid(String)
    case exists(String)
    public var description: String {
        switch self {
        case .invalid(let m): "cannot create the demo account: \(m)"
        case .exists(let e): "an account for \(e) already exists"
        }
    }
}
