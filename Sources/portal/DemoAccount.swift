import Portal
import Security

/// A ready-to-use account for trying Portal out and for the benchmark: verified, with TOTP
/// enrolled, the Owner of a demo organization, and optionally an active session whose cookie
/// token the caller chose. Made through the services (``PortalSeeding``), never the stores.
struct DemoAccount: Sendable {
    let email: String
    /// The demo organization's dashboard path.
    let organizationPath: String
    let totpSecretBase32: String
    let otpauthURL: String
    let recoveryCodes: [String]

    static let organization = [
        "legal_name": "Demo Payments Ltd", "trading_name": "Demo Payments", "country": "GB", "registration_number": "01234567",
        "address": "1 Demo Street\nLondon EC1A 1AA", "website": "https://demo.example", "industry": "E-commerce",
    ]

    /// Creates the account, or refuses an address that already has one (it is never touched).
    static func seed(_ portal: PortalApp, name: String, email: String, password: String, sessionToken: String?) throws -> DemoAccount {
        let seeding = portal.seeding
        try seeding.check(name: name, email: email, password: password, sessionToken: sessionToken)
        let hash = try seeding.hashPassword(password)
        let secret = TOTP.generateSecret()
        let codes = RecoveryCodes.generate()
        let orgID = try seeding.write { tx -> String in
            guard try !tx.userExists(email: email) else { throw DemoSeedError.exists(email) }
            let id = try tx.createVerifiedUser(email: email, name: name, passwordHash: hash)
            try tx.enrolTOTP(userID: id, secret: secret, recoveryCodes: codes)
            if let sessionToken { try tx.startSession(userID: id, token: sessionToken) }
            return try tx.createOrganization(ownerID: id, details: organization.merging(["compliance_email": email]) { a, _ in a })
        }
        return DemoAccount(email: email, organizationPath: "/orgs/\(orgID)", totpSecretBase32: Base32.encode(secret),
                           otpauthURL: TOTP.otpauthURL(secret: secret, account: email, issuer: seeding.totpIssuer), recoveryCodes: codes)
    }
}
