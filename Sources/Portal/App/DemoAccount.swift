import Database
import Security

// The demo account lives in the composition root: it is made through the services of
// Accounts, Auth and Organizations (never their stores), for `portal seed-demo` and the tests.

/// A ready-to-use account for trying Portal out and for the benchmark: verified, with TOTP
/// enrolled, the Owner of a demo organization, and optionally an active session whose cookie
/// token the caller chose.
public struct DemoAccount: Sendable {
    public let email: String
    /// The demo organization's dashboard path.
    public let organizationPath: String
    public let totpSecretBase32: String
    public let otpauthURL: String
    public let recoveryCodes: [String]
}

extension PortalApp {
    /// Creates (or, for an existing address, refuses to touch) a demo account.
    public func seedDemoAccount(name: String, email: String, password: String, sessionToken: String?) throws -> DemoAccount {
        if let problem = Accounts.emailProblem(email) { throw DemoSeedError.invalid(problem) }
        if let problem = accounts.policy.check(password, context: [email, name]) { throw DemoSeedError.invalid(problem.message) }
        if let token = sessionToken, Base64URL.decode(token)?.count != 32 {
            throw DemoSeedError.invalid("the session token must be 32 bytes in base64url (43 characters)")
        }
        let hash = try accounts.hasher.hash(password)
        let secret = TOTP.generateSecret()
        let codes = RecoveryCodes.generate()
        let now = config.clock.now()
        let actor = Actor(userID: nil, ip: "127.0.0.1", userAgent: "portal seed-demo")
        let details = ["legal_name": "Demo Payments Ltd", "trading_name": "Demo Payments", "country": "GB",
                       "registration_number": "01234567", "address": "1 Demo Street\nLondon EC1A 1AA", "website": "https://demo.example",
                       "industry": "E-commerce", "compliance_email": email]
        // Through the services, as any feature would: one transaction for the whole account.
        let orgPublicID = try database.write { db -> String in
            guard try accounts.user(email: email, on: db) == nil else { throw DemoSeedError.exists(email) }
            let id = try accounts.createUser(email: email, name: name, passwordHash: hash, verified: true, now: now, on: db)
            try accounts.enrolForSeeding(userID: id, secret: secret, recoveryCodes: codes, now: now, on: db)
            if let sessionToken {
                try accounts.sessions.startActive(userID: id, token: sessionToken, ip: actor.ip, userAgent: actor.userAgent, on: db)
            }
            try accounts.audit.record(AccountsAuditEvents.signupDemo, by: actor.with(userID: id), subject: email, on: db)
            return try organizations.createOwned(details: details, ownerID: id, by: actor.with(userID: id), now: now, on: db).publicID
        }
        return DemoAccount(email: email, organizationPath: "/orgs/\(orgPublicID)", totpSecretBase32: Base32.encode(secret),
                           otpauthURL: TOTP.otpauthURL(secret: secret, account: email, issuer: config.totpIssuer), recoveryCodes: codes)
    }
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
