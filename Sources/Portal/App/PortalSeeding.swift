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
