import Portal
import Security

/// A ready-to-use account for trying Portal out and for the benchmark: verified, with TOTP
/// enrolled, the Owner of a demo organization, and optionally an active session whose cookie
/// token the caller chose. Made through the services (``PortalSeeding``), never the stores.
struct DemoAccount: Sendable {
    let email: String
    /// The demo organization's public id and dashboard path.
    let organizationID: String
    let organizationPath: String
    let totpSecretBase32: String
    let otpauthURL: String
    let recoveryCodes: [String]
    /// The second member, when asked for: a Manager who can authorize the Owner's payouts.
    let manager: Member?

    struct Member: Sendable {
        let name: String
        let email: String
        let password: String
        let totpSecretBase32: String
    }

    static let organization = [
        "legal_name": "Demo Payments Ltd", "trading_name": "Demo Payments", "country": "GB", "registration_number": "01234567",
        "address": "1 Demo Street\nLondon EC1A 1AA", "website": "https://demo.example", "industry": "E-commerce",
    ]

    static let managerName = "Amara Okafor"
    static let managerPassword = "violet ferry compass autumn"

    /// The Manager's address beside the Owner's: `demo@x` → `demo+manager@x`.
    static func managerEmail(for email: String) -> String {
        guard let at = email.lastIndex(of: "@") else { return "manager@portal.localhost" }
        return email[..<at] + "+manager" + email[at...]
    }

    /// Creates the account (and, with `withManager`, a second member with the Manager role,
    /// TOTP enrolled too), or refuses an address that already has one (it is never touched).
    static func seed(_ portal: PortalApp, name: String, email: String, password: String, sessionToken: String?,
                     withManager: Bool = false) throws -> DemoAccount {
        let seeding = portal.seeding
        try seeding.check(name: name, email: email, password: password, sessionToken: sessionToken)
        let managerEmail = Self.managerEmail(for: email)
        if withManager { try seeding.check(name: managerName, email: managerEmail, password: managerPassword, sessionToken: nil) }
        let hash = try seeding.hashPassword(password)
        let managerHash = withManager ? try seeding.hashPassword(managerPassword) : nil
        let secret = TOTP.generateSecret()
        let managerSecret = TOTP.generateSecret()
        let codes = RecoveryCodes.generate()
        let orgID = try seeding.write { tx -> String in
            guard try !tx.userExists(email: email) else { throw DemoSeedError.exists(email) }
            let id = try tx.createVerifiedUser(email: email, name: name, passwordHash: hash)
            try tx.enrolTOTP(userID: id, secret: secret, recoveryCodes: codes)
            if let sessionToken { try tx.startSession(userID: id, token: sessionToken) }
            let org = try tx.createOrganization(ownerID: id, details: organization.merging(["compliance_email": email]) { a, _ in a })
            if let managerHash {
                guard try !tx.userExists(email: managerEmail) else { throw DemoSeedError.exists(managerEmail) }
                let m = try tx.createVerifiedUser(email: managerEmail, name: managerName, passwordHash: managerHash)
                try tx.enrolTOTP(userID: m, secret: managerSecret, recoveryCodes: RecoveryCodes.generate())
                try tx.addManager(organizationPublicID: org, userID: m, email: managerEmail)
            }
            return org
        }
        return DemoAccount(email: email, organizationID: orgID, organizationPath: "/orgs/\(orgID)", totpSecretBase32: Base32.encode(secret),
                           otpauthURL: TOTP.otpauthURL(secret: secret, account: email, issuer: seeding.totpIssuer), recoveryCodes: codes,
                           manager: withManager ? Member(name: managerName, email: managerEmail, password: managerPassword,
                                                         totpSecretBase32: Base32.encode(managerSecret)) : nil)
    }
}
