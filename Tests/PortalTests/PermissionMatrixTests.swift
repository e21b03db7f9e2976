import Foundation
import Security
import Testing
@testable import Portal

/// The permission matrix: for every organization route, a member holding exactly one
/// permission gets through exactly the routes that permission names (and the routes open to
/// every member), and a 403 page everywhere else; the Owner gets through everything. Later
/// features add their routes to `routes`.
@Suite("Permissions: each permission opens exactly its routes")
struct PermissionMatrixTests {
    enum Need: Equatable {
        case anyMember
        case owner
        case permission(Permission)
        /// Any one of these permissions opens it (a page that readers and writers both see).
        case anyOf([Permission])
    }

    struct Route {
        let method: String
        let path: String
        let need: Need
        var fields: [(String, String)] = []
    }

    /// `{org}` is the organization's public id, `{member}` the membership of a member with no
    /// permissions (whom every holder of roles.write may manage), `{txn}` an open Sandbox
    /// transaction of the organization.
    static let routes: [Route] = [
        Route(method: "GET", path: "/orgs/{org}", need: .anyMember),
        // An environment's overview is every member's (each part shows only what the role opens).
        Route(method: "GET", path: "/orgs/{org}/sandbox", need: .anyMember),
        // The dashboard's charts as tables: whoever sees the charts.
        Route(method: "GET", path: "/orgs/{org}/sandbox/volume", need: .anyMember),
        Route(method: "GET", path: "/orgs/{org}/sandbox/transactions", need: .permission(.transactionsRead)),
        Route(method: "GET", path: "/orgs/{org}/sandbox/transactions?external_id=x&from=2026-01-01&to=2026-12-31", need: .permission(.transactionsRead)),
        Route(method: "GET", path: "/orgs/{org}/sandbox/transactions/{txn}", need: .permission(.transactionsRead)),
        // Without `confirm`, the answer is the confirmation page: nothing is cancelled.
        Route(method: "POST", path: "/orgs/{org}/sandbox/transactions/{txn}/cancel", need: .permission(.transactionsCancel),
              fields: [("reason", "Matrix probe")]),
        Route(method: "GET", path: "/orgs/{org}/settings", need: .anyMember),
        Route(method: "GET", path: "/orgs/{org}/settings/details", need: .owner),
        Route(method: "POST", path: "/orgs/{org}/settings/details", need: .owner),
        Route(method: "GET", path: "/orgs/{org}/settings/name", need: .owner),
        Route(method: "POST", path: "/orgs/{org}/settings/name", need: .owner),
        Route(method: "GET", path: "/orgs/{org}/settings/production", need: .owner),
        Route(method: "POST", path: "/orgs/{org}/settings/production", need: .owner),
        Route(method: "GET", path: "/orgs/{org}/settings/offboarding", need: .owner),
        Route(method: "POST", path: "/orgs/{org}/settings/offboarding", need: .owner),
        Route(method: "GET", path: "/orgs/{org}/settings/owner", need: .owner),
        Route(method: "POST", path: "/orgs/{org}/settings/owner", need: .owner),
        Route(method: "GET", path: "/orgs/{org}/team", need: .permission(.rolesRead)),
        Route(method: "GET", path: "/orgs/{org}/team/invite", need: .permission(.rolesWrite)),
        Route(method: "POST", path: "/orgs/{org}/team/invitations", need: .permission(.rolesWrite),
              fields: [("name", "Matrix Probe"), ("email", "probe@example.com"), ("role", "custom")]),
        Route(method: "GET", path: "/orgs/{org}/team/members/{member}", need: .permission(.rolesWrite)),
        Route(method: "GET", path: "/orgs/{org}/logs", need: .permission(.logsRead)),
        Route(method: "GET", path: "/orgs/{org}/logs.csv", need: .permission(.logsRead)),
        Route(method: "POST", path: "/orgs/{org}/settings/time-zone", need: .owner, fields: [("time_zone", "UTC")]),
        // Reports are every member's (TransferZero's rule), downloads included.
        Route(method: "GET", path: "/orgs/{org}/sandbox/reports", need: .anyMember),
        Route(method: "GET", path: "/orgs/{org}/sandbox/reports/\(thisMonth)/transactions.csv", need: .anyMember),
        Route(method: "GET", path: "/orgs/{org}/sandbox/reports/\(thisMonth)/accounts.csv", need: .anyMember),
        // Apps: `{app}` is an app the Owner registered, `{cred}` its first client id. Every
        // probe posts a form that fails its check (422 for those allowed): nothing changes.
        Route(method: "GET", path: "/orgs/{org}/sandbox/apps", need: .anyOf([.appsRead, .appsWrite])),
        Route(method: "GET", path: "/orgs/{org}/sandbox/apps/new", need: .permission(.appsWrite)),
        Route(method: "POST", path: "/orgs/{org}/sandbox/apps/new", need: .permission(.appsWrite), fields: [("name", "")]),
        Route(method: "GET", path: "/orgs/{org}/sandbox/apps/{app}", need: .anyOf([.appsRead, .appsWrite])),
        Route(method: "POST", path: "/orgs/{org}/sandbox/apps/{app}/rename", need: .permission(.appsWrite), fields: [("name", "")]),
        Route(method: "POST", path: "/orgs/{org}/sandbox/apps/{app}/delete", need: .permission(.appsWrite), fields: [("confirm_name", "not it")]),
        Route(method: "POST", path: "/orgs/{org}/sandbox/apps/{app}/credentials", need: .permission(.appsWrite), fields: [("name", "")]),
        Route(method: "POST", path: "/orgs/{org}/sandbox/apps/{app}/credentials/{cred}/rename", need: .permission(.appsWrite), fields: [("name", "")]),
        Route(method: "POST", path: "/orgs/{org}/sandbox/apps/{app}/credentials/{cred}/verify", need: .permission(.appsWrite), fields: [("secret", "")]),
        Route(method: "POST", path: "/orgs/{org}/sandbox/apps/{app}/credentials/{cred}/reset", need: .permission(.appsWrite), fields: [("overlap", "7")]),
        Route(method: "POST", path: "/orgs/{org}/sandbox/apps/{app}/subscriptions", need: .permission(.appsWrite), fields: [("product", "nothing")]),
        // Without `confirm`, the answer is the confirmation page: nothing is removed.
        Route(method: "POST", path: "/orgs/{org}/sandbox/apps/{app}/subscriptions/balances/remove", need: .permission(.appsWrite)),
        Route(method: "POST", path: "/orgs/{org}/sandbox/apps/{app}/redirect-uris", need: .permission(.appsWrite), fields: [("uri", "http://example.com/cb")]),
        Route(method: "POST", path: "/orgs/{org}/sandbox/apps/{app}/certificate", need: .permission(.appsWrite), fields: [("certificate", "cert_none")]),
        Route(method: "GET", path: "/orgs/{org}/certificates", need: .anyOf([.appsRead, .appsWrite])),
        Route(method: "POST", path: "/orgs/{org}/certificates", need: .permission(.appsWrite), fields: [("certificate", "not a certificate")]),
        // Empty fields: the Owner's probe files nothing either.
        Route(method: "POST", path: "/orgs/{org}/psd2-licence", need: .owner),
        // Webhooks: `{endpoint}` is a Sandbox endpoint, `{delivery}` one of its deliveries.
        // Posts without their fields answer the form again (422), never change anything.
        Route(method: "GET", path: "/orgs/{org}/sandbox/webhooks", need: .anyOf([.webhooksRead, .webhooksWrite])),
        Route(method: "GET", path: "/orgs/{org}/sandbox/webhooks/{endpoint}", need: .anyOf([.webhooksRead, .webhooksWrite])),
        Route(method: "GET", path: "/orgs/{org}/sandbox/webhooks/{endpoint}?state=failed&type=webhook.test", need: .anyOf([.webhooksRead, .webhooksWrite])),
        Route(method: "GET", path: "/orgs/{org}/sandbox/webhooks/{endpoint}/deliveries/{delivery}", need: .anyOf([.webhooksRead, .webhooksWrite])),
        Route(method: "GET", path: "/orgs/{org}/sandbox/webhooks/check-signature", need: .anyOf([.webhooksRead, .webhooksWrite])),
        Route(method: "POST", path: "/orgs/{org}/sandbox/webhooks/check-signature", need: .anyOf([.webhooksRead, .webhooksWrite])),
        Route(method: "GET", path: "/orgs/{org}/sandbox/webhooks/new", need: .permission(.webhooksWrite)),
        Route(method: "POST", path: "/orgs/{org}/sandbox/webhooks/new", need: .permission(.webhooksWrite)),
        Route(method: "GET", path: "/orgs/{org}/sandbox/webhooks/{endpoint}/edit", need: .permission(.webhooksWrite)),
        Route(method: "POST", path: "/orgs/{org}/sandbox/webhooks/{endpoint}/edit", need: .permission(.webhooksWrite)),
        Route(method: "POST", path: "/orgs/{org}/sandbox/webhooks/{endpoint}/test", need: .permission(.webhooksWrite)),
        Route(method: "POST", path: "/orgs/{org}/sandbox/webhooks/{endpoint}/deliveries/{delivery}/replay", need: .permission(.webhooksWrite)),
        Route(method: "POST", path: "/orgs/{org}/sandbox/webhooks/{endpoint}/replay", need: .permission(.webhooksWrite)),
        Route(method: "POST", path: "/orgs/{org}/sandbox/webhooks/{endpoint}/secret", need: .permission(.webhooksWrite)),
        Route(method: "POST", path: "/orgs/{org}/sandbox/webhooks/{endpoint}/rotate-secret", need: .permission(.webhooksWrite)),
        Route(method: "POST", path: "/orgs/{org}/sandbox/webhooks/{endpoint}/disable", need: .permission(.webhooksWrite)),
        Route(method: "POST", path: "/orgs/{org}/sandbox/webhooks/{endpoint}/enable", need: .permission(.webhooksWrite)),
        // Without `confirm`, the answer is the confirmation page: nothing is deleted.
        Route(method: "POST", path: "/orgs/{org}/sandbox/webhooks/{endpoint}/delete", need: .permission(.webhooksWrite)),
    ]

    /// The current month in UTC (a new organization's zone): its reports always exist.
    static let thisMonth = ReportMonth(containing: Int64(Date().timeIntervalSince1970), zone: PageTime.timeZone("UTC")).key

    /// A signed-in member of `org` holding exactly `permissions` (as a Custom role).
    static func member(_ portal: TestPortal, org: String, role: Role, permissions: Set<Permission>, tag: String) throws -> Browser {
        let token = SecureRandom.token(bytes: 32)
        let email = "matrix-\(tag)-\(UUID().uuidString.prefix(6))@example.com"
        _ = try portal.app.seedDemoAccount(name: "Matrix \(tag)", email: email, password: "matrix probe passphrase", sessionToken: token)
        try portal.app.database.write { db in
            let userID = try db.scalar("SELECT id FROM users WHERE email = ?", email, as: Int64.self)!
            _ = try OrganizationsStore().insertMembership(publicID: PublicID.make("mem"), organizationID: try portal.orgRowID(org),
                                                          userID: userID, role: role, permissions: permissions, now: portal.clock.now, on: db)
        }
        let b = Browser(portal)
        b.cookies["portal_session"] = token
        return b
    }

    func allowed(_ need: Need, role: Role, permissions: Set<Permission>) -> Bool {
        switch need {
        case .anyMember: true
        case .owner: role == .owner
        case .permission(let p): role == .owner || permissions.contains(p)
        case .anyOf(let any): role == .owner || !permissions.isDisjoint(with: any)
        }
    }

    @Test func eachPermissionOpensExactlyWhatItNames() throws {
        let (portal, ob, owner, org) = try TestPortal.withOwner()
        _ = try Self.member(portal, org: org, role: .custom, permissions: [], tag: "target")
        // (Each probe also owns the demo organization seed-demo makes: pick the membership in this one.)
        let target = try portal.app.database.read {
            try $0.scalar("""
                SELECT m.public_id FROM memberships m JOIN users u ON u.id = m.user_id
                WHERE u.email LIKE 'matrix-target-%' AND m.organization_id = ?
                """, try portal.orgRowID(org), as: String.self)
        }!

        // Stays processing whatever the simulator does, so every cancel probe finds it open.
        let txn = try portal.makeTransaction(org, .payin, "1.16").publicID
        #expect(try ob.submit("/orgs/\(org)/sandbox/apps/new", to: "/orgs/\(org)/sandbox/apps/new", [("name", "Matrix app")]).status == 201)
        let (app, cred) = try portal.app.database.read { db in
            let r = try db.queryOne("SELECT a.public_id, c.client_id FROM apps a JOIN app_credentials c ON c.app_id = a.id WHERE a.name = 'Matrix app'")!
            return (try r.string(0), try r.string(1))
        }
        let appPage = try ob.get("/orgs/\(org)/sandbox/apps/\(app)")
        #expect(try ob.post("/orgs/\(org)/sandbox/apps/\(app)/subscriptions", [("product", "balances")], csrfFrom: appPage).status == 303)
        // A Sandbox endpoint on a public address literal (the policy refuses private ones) and a delivery.
        let hooks = "/orgs/\(org)/sandbox/webhooks"
        let added = try ob.submit("\(hooks)/new", to: "\(hooks)/new", [("url", "https://93.184.216.34/matrix"), ("events", "payout.expired")])
        let endpoint = String(try #require(added["Location"]).split(separator: "/").last!)
        let sent = try ob.submit("\(hooks)/\(endpoint)", to: "\(hooks)/\(endpoint)/test", [])
        let delivery = String(try #require(sent["Location"]).split(separator: "/").last!)
        func fill(_ path: String) -> String {
            path.replacingOccurrences(of: "{org}", with: org).replacingOccurrences(of: "{member}", with: target).replacingOccurrences(of: "{txn}", with: txn)
                .replacingOccurrences(of: "{app}", with: app).replacingOccurrences(of: "{cred}", with: cred)
                .replacingOccurrences(of: "{endpoint}", with: endpoint).replacingOccurrences(of: "{delivery}", with: delivery)
        }
        var members: [(String, Role, Set<Permission>, Browser)] = [("owner", .owner, Set(Permission.allCases), ob)]
        members.append(("none", .custom, [], try Self.member(portal, org: org, role: .custom, permissions: [], tag: "none")))
        for p in Permission.allCases {
            members.append((p.rawValue, .custom, [p], try Self.member(portal, org: org, role: .custom, permissions: [p], tag: p.rawValue)))
        }

        for (label, role, permissions, browser) in members {
            let home = try browser.get("/orgs/\(org)")
            #expect(home.status == 200, "\(label) cannot open the dashboard")
            for route in Self.routes {
                let path = fill(route.path)
                let r = route.method == "GET" ? try browser.get(path) : try browser.post(path, route.fields, csrfFrom: home)
                let ok = allowed(route.need, role: role, permissions: permissions)
                if ok {
                    #expect(r.status != 403 && r.status != 404 && r.status < 500, "\(label): \(route.method) \(path) answered \(r.status)")
                } else {
                    #expect(r.status == 403, "\(label): \(route.method) \(path) answered \(r.status), not 403")
                }
            }
            // Navigation shows only what the member may open.
            #expect(home.text.contains("/orgs/\(org)/team\"") == permissions.contains(.rolesRead), "\(label): Team link")
            #expect(home.text.contains("/orgs/\(org)/logs\"") == permissions.contains(.logsRead), "\(label): Logs link")
            #expect(home.text.contains("/orgs/\(org)/sandbox/transactions\"") == permissions.contains(.transactionsRead), "\(label): Transactions link")
        }
        // The probes only ever reached the confirmation page: nothing was cancelled.
        #expect(try portal.count("SELECT count(*) FROM transaction_cancellations") == 0)
        // Nor was the endpoint deleted, and no other endpoint was added.
        #expect(try portal.count("SELECT count(*) FROM webhook_endpoints WHERE deleted_at IS NULL") == 1)
        // Someone from another organization (seed-demo gave them their own) gets the same 404
        // on every route as for an organization that does not exist.
        let strangerToken = SecureRandom.token(bytes: 32)
        _ = try portal.app.seedDemoAccount(name: "Stranger", email: "stranger@example.com", password: "matrix probe passphrase",
                                           sessionToken: strangerToken)
        let stranger = Browser(portal)
        stranger.cookies["portal_session"] = strangerToken
        let strangerHome = try stranger.get("/orgs")
        for route in Self.routes {
            let path = fill(route.path)
            let r = route.method == "GET" ? try stranger.get(path) : try stranger.post(path, route.fields, csrfFrom: strangerHome)
            #expect(r.status == 404, "a stranger: \(route.method) \(path) answered \(r.status), not 404")
        }

        // The refused posts changed nothing: the Owner's empty forms filed no request either,
        // and the only invitations are from the Owner and the holder of roles.write.
        #expect(try portal.app.database.read { try $0.scalar("SELECT count(*) FROM support_requests", as: Int.self) } == 0)
        let inviters = try portal.app.database.read { db in
            try db.query("SELECT DISTINCT u.email FROM invitations i JOIN users u ON u.id = i.invited_by").map { try $0.string(0) }
        }
        // The app probes changed nothing: one app, its one credential, nothing else.
        #expect(try portal.count("SELECT count(*) FROM apps") == 1)
        #expect(try portal.count("SELECT count(*) FROM app_credentials") == 1)
        #expect(try portal.count("SELECT count(*) FROM app_subscriptions") == 1)
        #expect(try portal.count("SELECT count(*) FROM app_redirect_uris") + (try portal.count("SELECT count(*) FROM certificates")) == 0)
        #expect(inviters.allSatisfy { $0 == owner.email || $0.hasPrefix("matrix-roles.write-") }, "\(inviters)")
    }
}
