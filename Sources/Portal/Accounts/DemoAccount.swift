import Database
import Security

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
        let orgID = PublicID.make("org")
        let details = ["legal_name": "Demo Payments Ltd", "trading_name": "Demo Payments", "country": "GB",
                       "registration_number": "01234567", "address": "1 Demo Street\nLondon EC1A 1AA", "website": "https://demo.example",
                       "industry": "E-commerce", "compliance_email": email]
        try database.write { db in
            guard try accounts.store.user(email: email, on: db) == nil else { throw DemoSeedError.exists(email) }
            let id = try accounts.store.insertUser(email: email, name: name, passwordHash: hash, now: now, on: db)
            try accounts.store.markVerified(userID: id, now: now, on: db)
            _ = try accounts.store.enableTOTP(userID: id, sealed: try accounts.box.seal(secret, associatedData: Accounts.totpAD(id)),
                                          step: 0, now: now, on: db)
            try accounts.store.replaceRecoveryCodes(userID: id, hashes: codes.map { RecoveryCodes.hash(RecoveryCodes.normalize($0)!) }, now: now, on: db)
            if let sessionToken {
                _ = try accounts.sessions.store.insert(
                    tokenHash: Sessions.hash(sessionToken), userID: id, stage: .active, csrfToken: SecureRandom.token(bytes: 32),
                    ip: actor.ip, userAgent: actor.userAgent, now: now, expiresAt: now + config.sessionAbsoluteTimeout, on: db)
            }
            try accounts.audit.record("signup.demo", by: actor.with(userID: id), subject: email, on: db)
            let org = try organizations.store.insertOrganization(publicID: orgID, details: details, createdBy: id, now: now, on: db)
            _ = try organizations.store.insertMembership(publicID: PublicID.make("mem"), organizationID: org, userID: id, role: .owner,
                                                         permissions: Set(Permission.allCases), now: now, on: db)
            try accounts.audit.record("org.created", by: actor.with(userID: id), organization: org, subject: details["legal_name"]!,
                                      details: Organizations.describe(details), on: db)
        }
        return DemoAccount(email: email, organizationPath: "/orgs/\(orgID)", totpSecretBase32: Base32.encode(secret),
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
