import Foundation
import Security
@testable import Portal

/// Organization helpers shared by the organization, team, support and audit-log tests.
extension TestUser {
    /// Valid details for `POST /orgs/new`, with `overrides` replacing fields.
    static func orgFields(_ overrides: [String: String] = [:]) -> [(String, String)] {
        let base: [(String, String)] = [
            ("legal_name", "Acme Payments B.V."), ("trading_name", "Acme"), ("country", "NL"),
            ("registration_number", "KVK 12345678"), ("address", "Herengracht 1\n1015 BA Amsterdam"),
            ("website", "https://acme.example"), ("industry", "E-commerce"), ("compliance_email", "compliance@acme.example"),
        ]
        return base.map { ($0.0, overrides[$0.0] ?? $0.1) }
    }

    /// Creates an organization as this (signed-in) user and returns its public id.
    @discardableResult
    func createOrganization(_ portal: TestPortal, _ browser: Browser, _ overrides: [String: String] = [:]) throws -> String {
        let r = try browser.submit("/orgs/new", to: "/orgs/new", Self.orgFields(overrides))
        guard r.status == 303, let location = r["Location"], location.hasPrefix("/orgs/org_") else {
            throw TestFailure("create organization: \(r.status) \(r["Location"] ?? "")")
        }
        return String(location.dropFirst("/orgs/".count))
    }
}

struct TestFailure: Error, CustomStringConvertible {
    let description: String
    init(_ d: String) { description = d }
}

extension TestPortal {
    /// A fresh portal with a signed-in Owner (enrolled through the real pages) of one
    /// organization: the portal, the Owner's browser, the Owner, the organization's public id.
    static func withOwner() throws -> (TestPortal, Browser, TestUser, String) {
        let portal = try TestPortal()
        let browser = Browser(portal)
        let owner = try TestUser.enrolled(portal, browser)
        return (portal, browser, owner, try owner.createOrganization(portal, browser))
    }

    /// The database id of an organization from its public id.
    func orgRowID(_ publicID: String) throws -> Int64 {
        try app.database.read { try $0.scalar("SELECT id FROM organizations WHERE public_id = ?", publicID, as: Int64.self) }!
    }

    func auditActions(organization publicID: String) throws -> [String] {
        let id = try orgRowID(publicID)
        return try app.database.read { db in
            try db.query("SELECT action FROM audit_events WHERE organization_id = ? ORDER BY id", id).map { try $0.string(0) }
        }
    }
}

extension PortalApp {
    /// What `portal seed-demo` makes (a verified, enrolled Owner of their own organization,
    /// optionally signed in with `sessionToken`), through the same public seeding API.
    @discardableResult
    func seedDemoAccount(name: String, email: String, password: String, sessionToken: String?) throws -> String {
        try seeding.check(name: name, email: email, password: password, sessionToken: sessionToken)
        let hash = try seeding.hashPassword(password)
        return try seeding.write { tx -> String in
            let id = try tx.createVerifiedUser(email: email, name: name, passwordHash: hash)
            try tx.enrolTOTP(userID: id, secret: TOTP.generateSecret(), recoveryCodes: RecoveryCodes.generate())
            if let sessionToken { try tx.startSession(userID: id, token: sessionToken) }
            return try tx.createOrganization(ownerID: id, details: [
                "legal_name": "Demo Payments Ltd", "trading_name": "Demo Payments", "country": "GB", "registration_number": "01234567",
                "address": "1 Demo Street\nLondon EC1A 1AA", "website": "https://demo.example", "industry": "E-commerce",
                "compliance_email": email])
        }
    }
}
