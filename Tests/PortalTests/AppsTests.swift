import Database
import Foundation
import Security
import Testing
import TestSupport
@testable import Portal

/// Apps over real sockets: the Rabobank journey (register → secret once → more credentials →
/// verify → reset with overlap → subscriptions and the PSD2 licence → certificate → redirect
/// URIs → delete), and the rules a user could try to break.
@Suite("Apps: credentials, subscriptions, certificates, redirect URIs")
struct AppsTests {
    // MARK: - helpers

    static func base(_ org: String) -> String { "/orgs/\(org)/sandbox/apps" }

    /// The client id and secret on a secret page, or nil.
    static func shown(_ page: TestResponse) -> (clientID: String, secret: String)? {
        guard let c = page.text.range(of: #"<code id="client_id">(client_[a-z0-9]+)</code>"#, options: .regularExpression),
              let s = page.text.range(of: #"aria-labelledby="secret-label">(cs_[A-Za-z0-9_-]+)</p>"#, options: .regularExpression) else { return nil }
        let clientID = page.text[c].dropFirst(#"<code id="client_id">"#.count).dropLast("</code>".count)
        let secret = page.text[s].dropFirst(#"aria-labelledby="secret-label">"#.count).dropLast("</p>".count)
        return (String(clientID), String(secret))
    }

    static func appID(_ portal: TestPortal, named name: String) throws -> String? {
        try portal.app.database.read { try $0.scalar("SELECT public_id FROM apps WHERE name = ?", name, as: String.self) }
    }

    /// Registers an app through the form; the page and what it showed.
    static func register(_ b: Browser, _ org: String, _ name: String) throws -> (page: TestResponse, clientID: String, secret: String) {
        let page = try b.submit("\(base(org))/new", to: "\(base(org))/new", [("name", name)])
        guard let shown = shown(page) else { throw TestFailure("register \(name): \(page.status)") }
        return (page, shown.clientID, shown.secret)
    }

    /// Posts to an app page's form, the CSRF token read from the app page.
    static func post(_ b: Browser, _ org: String, _ app: String, _ path: String, _ fields: [(String, String)]) throws -> TestResponse {
        let page = try b.get("\(base(org))/\(app)")
        return try b.post("\(base(org))/\(app)\(path)", fields, csrfFrom: page)
    }

    static func authenticates(_ portal: TestPortal, _ clientID: String, _ secret: String) throws -> Bool {
        try portal.app.apps.authenticateClient(clientID: clientID, secret: secret) != nil
    }

    /// A self-signed certificate made by the `openssl` command: (certificate PEM, key PEM).
    static func makeCertificate(key: [String] = ["rsa:2048"], subject: String = "/CN=client.example.com") throws -> (cert: String, key: String) {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("apps-cert-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/openssl")
        p.arguments = ["req", "-x509", "-newkey"] + key + ["-nodes", "-keyout", dir + "/k.pem", "-out", dir + "/c.pem", "-days", "20",
                       "-subj", subject, "-addext", "subjectAltName=DNS:client.example.com"]
        p.standardError = FileHandle.nullDevice
        try p.run()
        p.waitUntilExit()
        guard p.terminationStatus == 0 else { throw TestFailure("openssl req failed") }
        return (try String(contentsOfFile: dir + "/c.pem", encoding: .utf8), try String(contentsOfFile: dir + "/k.pem", encoding: .utf8))
    }

    /// `POST /orgs/:org/certificates` as a browser uploads a file (multipart/form-data).
    static func upload(_ b: Browser, _ org: String, file: String, filename: String = "client.pem") throws -> TestResponse {
        let page = try b.get("/orgs/\(org)/certificates")
        let csrf = try #require(Browser.csrf(in: page))
        let boundary = "----portaltest\(UUID().uuidString.prefix(8))"
        var body = "--\(boundary)\r\nContent-Disposition: form-data; name=\"_csrf\"\r\n\r\n\(csrf)\r\n"
        body += "--\(boundary)\r\nContent-Disposition: form-data; name=\"certificate\"; filename=\"\(filename)\"\r\nContent-Type: application/x-pem-file\r\n\r\n\(file)\r\n"
        body += "--\(boundary)\r\nContent-Disposition: form-data; name=\"certificate_text\"\r\n\r\n\r\n--\(boundary)--\r\n"
        return try b.send("POST", "/orgs/\(org)/certificates", headers: ["Content-Type": "multipart/form-data; boundary=\(boundary)"], body: body)
    }

    /// The same upload with a binary file (DER), sent as raw bytes on the browser's session.
    static func uploadBytes(_ portal: TestPortal, _ b: Browser, _ org: String, file: [UInt8]) throws -> TestResponse {
        let page = try b.get("/orgs/\(org)/certificates")
        let csrf = try #require(Browser.csrf(in: page))
        let boundary = "----portaltest\(UUID().uuidString.prefix(8))"
        var body = Array("--\(boundary)\r\nContent-Disposition: form-data; name=\"_csrf\"\r\n\r\n\(csrf)\r\n".utf8)
        body += Array("--\(boundary)\r\nContent-Disposition: form-data; name=\"certificate\"; filename=\"client.der\"\r\nContent-Type: application/pkix-cert\r\n\r\n".utf8)
        body += file + Array("\r\n--\(boundary)--\r\n".utf8)
        let cookie = b.cookies.map { "\($0.key)=\($0.value)" }.sorted().joined(separator: "; ")
        let head = "POST /orgs/\(org)/certificates HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\nUser-Agent: \(b.userAgent)\r\nCookie: \(cookie)\r\n"
            + "Content-Type: multipart/form-data; boundary=\(boundary)\r\nContent-Length: \(body.count)\r\n\r\n"
        let c = try Socket(port: portal.port, from: nil)
        c.send(Array(head.utf8) + body)
        return try TestResponse(parsing: c.readAll(), headRequest: false)
    }

    // MARK: - the journey

    @Test func theRabobankJourney() throws {
        let capture = LogCapture()
        let portal = try TestPortal(logger: capture.logger)
        let ob = Browser(portal)
        let owner = try TestUser.enrolled(portal, ob)
        let org = try owner.createOrganization(portal, ob)
        _ = owner

        // Register: the first credentials' secret shown once, as text, never stored.
        let (page, clientID, secret) = try Self.register(ob, org, "Checkout web app")
        #expect(page.status == 201)
        #expect(page["cache-control"] == "no-store")
        #expect(clientID.hasPrefix("client_") && secret.hasPrefix("cs_") && secret.count == 46)
        #expect(page.text.contains("you won't be able to see it again"))
        #expect(page.text.components(separatedBy: secret).count == 2)
        let app = try #require(try Self.appID(portal, named: "Checkout web app"))
        let appPage = try ob.get("\(Self.base(org))/\(app)")
        #expect(appPage.status == 200 && appPage.text.contains(clientID) && !appPage.text.contains(secret))
        #expect(appPage.text.contains("cs_…" + String(secret.suffix(4))))
        let stored = try portal.app.database.read { try $0.queryOne("SELECT secret_sha256, last4 FROM app_credentials WHERE client_id = ?", clientID)! }
        #expect(try stored.blob(0) == Digest.sha256(secret))
        #expect(try Self.authenticates(portal, clientID, secret))
        #expect(!(try Self.authenticates(portal, clientID, secret + "x")))
        // The list names it; a second app with the same name in another case is refused beside the field.
        #expect(try ob.get(Self.base(org)).text.contains("Checkout web app"))
        let dup = try ob.submit("\(Self.base(org))/new", to: "\(Self.base(org))/new", [("name", "checkout WEB app")])
        #expect(dup.status == 422 && dup.text.contains("already exists") && dup.text.contains("value=\"checkout WEB app\""))

        // A second credential, its own secret once.
        let second = try Self.post(ob, org, app, "/credentials", [("name", "Staging server")])
        #expect(second.status == 201)
        let (client2, secret2) = try #require(Self.shown(second))
        #expect(client2 != clientID && secret2 != secret)
        #expect(try Self.authenticates(portal, client2, secret2))
        #expect(!(try Self.authenticates(portal, client2, secret)), "a secret opens only its own credentials")

        // Verify: right, wrong, and the other credentials' secret; the pasted value never comes back.
        let right = try Self.post(ob, org, app, "/credentials/\(clientID)/verify", [("secret", " \(secret)\n")])
        #expect(right.status == 200 && right.text.contains("It matches") && !right.text.contains(secret))
        let wrong = try Self.post(ob, org, app, "/credentials/\(clientID)/verify", [("secret", secret2)])
        #expect(wrong.status == 200 && wrong.text.contains("It does not match") && !wrong.text.contains(secret2))

        // Reset with a 1-hour overlap: both work until it ends, then only the new one.
        let reset = try Self.post(ob, org, app, "/credentials/\(clientID)/reset", [("overlap", "3600")])
        #expect(reset.status == 201 && reset["cache-control"] == "no-store")
        let (sameClient, newSecret) = try #require(Self.shown(reset))
        #expect(sameClient == clientID && newSecret != secret)
        #expect(reset.text.contains("The old secret keeps working until"))
        #expect(try Self.authenticates(portal, clientID, secret))
        #expect(try Self.authenticates(portal, clientID, newSecret))
        // (When the overlap ends: ``theOldSecretStopsWhenTheOverlapEnds``.)
        // "Now": the old one stops at once.
        let now = try Self.post(ob, org, app, "/credentials/\(client2)/reset", [("overlap", "0")])
        let (_, newSecret2) = try #require(Self.shown(now))
        #expect(!(try Self.authenticates(portal, client2, secret2)))
        #expect(try Self.authenticates(portal, client2, newSecret2))
        #expect(try Self.post(ob, org, app, "/credentials/\(client2)/reset", [("overlap", "604800")]).status == 422)

        // Rename the app and a credential.
        #expect(try Self.post(ob, org, app, "/rename", [("name", "Checkout")]).status == 303)
        #expect(try Self.post(ob, org, app, "/credentials/\(client2)/rename", [("name", "Staging")]).status == 303)
        let renamed = try ob.get("\(Self.base(org))/\(app)")
        #expect(renamed.text.contains("Checkout</h1>") && renamed.text.contains("<h3>Staging</h3>"))

        // Subscriptions: Balances at once; PSD2 locked until support approves the licence.
        #expect(try Self.post(ob, org, app, "/subscriptions", [("product", "balances")]).status == 303)
        #expect(try Self.authenticateScopes(portal, clientID, newSecret) == ["balances:read"])
        let locked = try Self.post(ob, org, app, "/subscriptions", [("product", "psd2_ais")])
        #expect(locked.status == 409 && locked.text.contains("PSD2 licence"))
        #expect(try ob.get("\(Self.base(org))/\(app)").text.contains("Locked"))
        let appNow = try ob.get("\(Self.base(org))/\(app)")
        let licence = try ob.post("/orgs/\(org)/psd2-licence", [("licence_number", "R123456"), ("authority", "De Nederlandsche Bank"),
                                                                ("register_url", "https://www.dnb.nl/en/public-register/R123456"),
                                                                ("back", "\(Self.base(org))/\(app)")], csrfFrom: appNow)
        #expect(licence.status == 303 && licence["Location"] == "\(Self.base(org))/\(app)")
        let request = try SupportTests.requestID(portal, kind: "psd2_licence")
        #expect(try Self.post(ob, org, app, "/subscriptions", [("product", "psd2_ais")]).status == 409, "still locked while support reviews it")
        let sb = Browser(portal)
        _ = try SupportTests.staff(portal, sb)
        #expect(try SupportTests.decide(sb, request, approve: true, reason: "Found in the DNB register").status == 303)
        #expect(try SupportTests.status(portal, request) == "approved")
        #expect(try Self.post(ob, org, app, "/subscriptions", [("product", "psd2_ais")]).status == 303)
        #expect(try Self.authenticateScopes(portal, clientID, newSecret) == ["balances:read", "transactions:read"])
        // Unsubscribe: the trash button asks first, the confirming form removes.
        let ask = try Self.post(ob, org, app, "/subscriptions/balances/remove", [])
        #expect(ask.status == 200 && ask.text.contains("Unsubscribe from Balances?"))
        #expect(try Self.post(ob, org, app, "/subscriptions/balances/remove", [("confirm", "yes")]).status == 303)
        #expect(try Self.authenticateScopes(portal, clientID, newSecret) == ["balances:read", "transactions:read"]) // PSD2 AIS still grants it
        #expect(try Self.post(ob, org, app, "/subscriptions/psd2_ais/remove", [("confirm", "yes")]).status == 303)
        #expect(try Self.authenticateScopes(portal, clientID, newSecret) == [])

        // Certificate: uploaded to the organization's store, chosen by the app.
        let (pem, _) = try Self.makeCertificate()
        let uploaded = try Self.upload(ob, org, file: pem)
        #expect(uploaded.status == 303)
        let certs = try ob.get("/orgs/\(org)/certificates")
        #expect(certs.text.contains("CN=client.example.com") && certs.text.contains("RSA 2048") && certs.text.contains("DNS:client.example.com"))
        let certID = try #require(try portal.app.database.read { try $0.scalar("SELECT public_id FROM certificates", as: String.self) })
        let fingerprint = try portal.app.database.read { try $0.scalar("SELECT hex(sha256) FROM certificates", as: String.self) }!
        #expect(try Self.post(ob, org, app, "/certificate", [("certificate", certID)]).status == 303)
        let withCert = try ob.get("\(Self.base(org))/\(app)")
        let colons = stride(from: 0, to: fingerprint.count, by: 2).map { i in
            String(fingerprint[fingerprint.index(fingerprint.startIndex, offsetBy: i)..<fingerprint.index(fingerprint.startIndex, offsetBy: i + 2)])
        }.joined(separator: ":")
        #expect(withCert.text.contains(colons))
        let thumbprint = Base64URL.encode(Hex.decode(fingerprint)!)
        #expect(withCert.text.contains(thumbprint))
        #expect(try portal.app.apps.authenticateClient(clientID: clientID, secret: newSecret)?.certificateThumbprint == thumbprint)
        // It expires in 20 days: flagged on the app, and mailed once to those who manage apps.
        #expect(withCert.text.contains("Expires within 30 days"))
        #expect(try portal.runJobs { try portal.count("SELECT count(*) FROM outbox WHERE subject LIKE '%Certificate CN=client.example.com expires soon%'") == 1 })
        let certMail = try portal.app.database.read { try $0.scalar("SELECT count(*) FROM outbox WHERE subject LIKE '%Certificate CN=%'", as: Int.self) }
        #expect(certMail == 1)
        let certRow = try portal.app.database.read { try $0.scalar("SELECT id FROM certificates", as: Int64.self) }!
        #expect(try portal.app.apps.remindCertificate(id: certRow) == false, "the reminder goes once")

        // Redirect URIs: added, refused with the reason, changed, removed.
        #expect(try Self.post(ob, org, app, "/redirect-uris", [("uri", "https://app.example.com/cb")]).status == 303)
        #expect(try Self.post(ob, org, app, "/redirect-uris", [("uri", "http://127.0.0.1:8765/cb")]).status == 303)
        let bad = try Self.post(ob, org, app, "/redirect-uris", [("uri", "https://*.example.com/cb")])
        #expect(bad.status == 422 && bad.text.contains("Wildcards are not allowed") && bad.text.contains("value=\"https://*.example.com/cb\""))
        let local = try Self.post(ob, org, app, "/redirect-uris", [("uri", "http://localhost:8080/cb")])
        #expect(local.status == 422 && local.text.contains("instead of localhost"))
        let uriID = try portal.app.database.read { try $0.scalar("SELECT public_id FROM app_redirect_uris WHERE uri = 'https://app.example.com/cb'", as: String.self) }!
        #expect(try Self.post(ob, org, app, "/redirect-uris/\(uriID)", [("uri", "https://app.example.com/callback")]).status == 303)
        #expect(try Self.post(ob, org, app, "/redirect-uris/\(uriID)", [("uri", "https://app.example.com/x#y")]).status == 422)
        #expect(try Self.post(ob, org, app, "/redirect-uris/\(uriID)/remove", []).status == 303)
        let uris = try portal.app.database.read { try $0.query("SELECT uri FROM app_redirect_uris").map { try $0.string(0) } }
        #expect(uris == ["http://127.0.0.1:8765/cb"])

        // Delete: the name typed wrong is refused; typed right, the credentials stop at once.
        let notIt = try Self.post(ob, org, app, "/delete", [("confirm_name", "checkout")])
        #expect(notIt.status == 422 && notIt.text.contains("exactly"))
        let gone = try Self.post(ob, org, app, "/delete", [("confirm_name", "Checkout")])
        #expect(gone.status == 303 && gone["Location"] == Self.base(org))
        #expect(!(try Self.authenticates(portal, clientID, newSecret)))
        #expect(!(try Self.authenticates(portal, client2, newSecret2)))
        #expect(try ob.get("\(Self.base(org))/\(app)").status == 404)

        // Every step is in the audit log, in order; no secret in any audit row or log line.
        #expect(try portal.audit(of: app) == [
            "app.created", "app.credential_created", "app.credential_created", "app.secret_verified", "app.secret_verified",
            "app.secret_reset", "app.secret_reset", "app.renamed", "app.credential_renamed", "app.subscribed", "app.subscribed",
            "app.unsubscribed", "app.unsubscribed", "app.certificate_selected", "app.redirect_uri_added", "app.redirect_uri_added",
            "app.redirect_uri_changed", "app.redirect_uri_removed", "app.deleted",
        ])
        #expect(try portal.audit(of: certID) == ["certificate.uploaded"])
        let details = try portal.app.database.read { try $0.query("SELECT details FROM audit_events").map { try $0.string(0) } }.joined()
        for s in [secret, secret2, newSecret, newSecret2] {
            #expect(!details.contains(s) && !capture.all.contains(s))
        }
        #expect(details.contains("it matches") && details.contains("it does not match"))
    }

    @Test func theOldSecretStopsWhenTheOverlapEnds() throws {
        let (portal, ob, _, org) = try TestPortal.withOwner()
        let (_, clientID, secret) = try Self.register(ob, org, "Overlapping")
        let app = try #require(try Self.appID(portal, named: "Overlapping"))
        let reset = try Self.post(ob, org, app, "/credentials/\(clientID)/reset", [("overlap", "86400")])
        let (_, newSecret) = try #require(Self.shown(reset))
        portal.clock.advance(seconds: 86400 - 60)
        #expect(try Self.authenticates(portal, clientID, secret))
        #expect(try Self.authenticates(portal, clientID, newSecret))
        portal.clock.advance(seconds: 61)
        #expect(!(try Self.authenticates(portal, clientID, secret)))
        #expect(try Self.authenticates(portal, clientID, newSecret))
    }

    /// A client secret pasted into a path by mistake (a 404) never reaches a log line; the
    /// rest of the path stays readable.
    @Test func aSecretInAPathIsMaskedInTheLog() throws {
        let capture = LogCapture()
        let portal = try TestPortal(logger: capture.logger)
        let ob = Browser(portal)
        let owner = try TestUser.enrolled(portal, ob)
        let org = try owner.createOrganization(portal, ob)
        let (_, clientID, secret) = try Self.register(ob, org, "Leaky")
        let app = try #require(try Self.appID(portal, named: "Leaky"))
        #expect(try ob.get("\(Self.base(org))/\(app)/credentials/\(clientID)/verify/\(secret)").status == 404)
        let lines = capture.lines.filter { !$0.message.hasPrefix("mail not sent") }.map(\.rendered)
        #expect(!lines.contains { $0.contains(secret) })
        #expect(lines.contains { $0.contains("path=\(Self.base(org))/\(app)/credentials/\(clientID)/verify/[token]") })
    }

    static func authenticateScopes(_ portal: TestPortal, _ clientID: String, _ secret: String) throws -> [String]? {
        try portal.app.apps.authenticateClient(clientID: clientID, secret: secret)?.scopes
    }

    // MARK: - rules a user could try to break

    @Test func verifyingIsThrottledPerCredentialAndPerMember() throws {
        let (portal, ob, _, org) = try TestPortal.withOwner()
        portal.clock.stop() // the throttle's first delay is 2 s: a slow second between guesses must not end it
        let (_, clientID, secret) = try Self.register(ob, org, "Throttled")
        let app = try #require(try Self.appID(portal, named: "Throttled"))
        for i in 0..<5 {
            let r = try Self.post(ob, org, app, "/credentials/\(clientID)/verify", [("secret", "cs_wrong\(i)")])
            #expect(r.status == 200 && r.text.contains("It does not match"))
        }
        // The 6th wrong guess must wait; so must the right secret (a locked check reveals nothing).
        let waited = try Self.post(ob, org, app, "/credentials/\(clientID)/verify", [("secret", "cs_wrong6")])
        #expect(waited.status == 429 && waited.text.contains("Too many wrong secrets") && waited["retry-after"] != nil)
        let rightButWaiting = try Self.post(ob, org, app, "/credentials/\(clientID)/verify", [("secret", secret)])
        #expect(rightButWaiting.status == 429 && !rightButWaiting.text.contains("It matches"))
        // The member's own key is counted too: another credential of theirs must wait as well.
        let second = try Self.post(ob, org, app, "/credentials", [("name", "Second")])
        let (client2, secret2) = try #require(Self.shown(second))
        #expect(try Self.post(ob, org, app, "/credentials/\(client2)/verify", [("secret", secret2)]).status == 429)
        // The wait passes.
        portal.clock.advance(seconds: 120)
        #expect(try Self.post(ob, org, app, "/credentials/\(clientID)/verify", [("secret", secret)]).text.contains("It matches"))
        // Only checks that ran are audited (5 wrong + 1 right).
        #expect(try portal.audit(of: app).filter { $0 == "app.secret_verified" }.count == 6)
    }

    @Test func anotherOrganizationsIDsAre404() throws {
        let (portal, ob, _, org) = try TestPortal.withOwner()
        let (_, clientID, _) = try Self.register(ob, org, "Mine")
        let app = try #require(try Self.appID(portal, named: "Mine"))
        #expect(try Self.post(ob, org, app, "/certificate", [("certificate", "")]).status == 303)

        let other = Browser(portal)
        let otherOwner = try TestUser.enrolled(portal, other)
        let otherOrg = try otherOwner.createOrganization(portal, other)
        let home = try other.get("/orgs/\(otherOrg)")
        let (pem, _) = try Self.makeCertificate()
        #expect(try Self.upload(ob, org, file: pem).status == 303)
        let certID = try portal.app.database.read { try $0.scalar("SELECT public_id FROM certificates", as: String.self) }!
        // Their own organization's URLs with this app's ids: the same 404 as an unknown id.
        let base = Self.base(otherOrg)
        #expect(try other.get("\(base)/\(app)").status == 404)
        #expect(try other.get("\(base)/app_aaaaaaaaaaaaaaaa").status == 404)
        for (path, fields) in [("/rename", [("name", "Stolen")]), ("/delete", [("confirm_name", "Mine")]), ("/credentials", [("name", "x")]),
                               ("/credentials/\(clientID)/verify", [("secret", "cs_x")]), ("/credentials/\(clientID)/reset", [("overlap", "0")]),
                               ("/subscriptions", [("product", "balances")]), ("/redirect-uris", [("uri", "https://evil.example/cb")])] {
            #expect(try other.post("\(base)/\(app)\(path)", fields, csrfFrom: home).status == 404, "\(path)")
        }
        // An app of theirs cannot select this organization's certificate.
        let (_, _, _) = try Self.register(other, otherOrg, "Theirs")
        let theirs = try #require(try Self.appID(portal, named: "Theirs"))
        let steal = try Self.post(other, otherOrg, theirs, "/certificate", [("certificate", certID)])
        #expect(steal.status == 422)
        // And this organization's URLs are theirs to see only if they are members: 404.
        #expect(try other.get("\(Self.base(org))/\(app)").status == 404)
        #expect(try other.get("/orgs/\(org)/certificates").status == 404)
        #expect(try portal.app.database.read { try $0.scalar("SELECT name FROM apps WHERE public_id = ?", app, as: String.self) } == "Mine")
    }

    @Test func credentialsExpireWithRemindersAt30And7And1Days() throws {
        let (portal, ob, owner, org) = try TestPortal.withOwner()
        let (developer, _) = try portal.member(of: org, role: .developer)
        let (employee, _) = try portal.member(of: org, role: .employee)
        func mails(_ email: String) throws -> [String] {
            try portal.app.database.read { db in
                try db.query("SELECT subject FROM outbox WHERE recipient = ? AND subject LIKE '%Credentials%' ORDER BY id", email).map { try $0.string(0) }
            }
        }
        let page = try ob.submit("\(Self.base(org))/new", to: "\(Self.base(org))/new", [("name", "Yearly"), ("expires_in_days", "365")])
        let (clientID, secret) = try #require(Self.shown(page))
        let app = try #require(try Self.appID(portal, named: "Yearly"))
        #expect(try ob.get("\(Self.base(org))/\(app)").text.contains("Expires</dt>"))
        // A choice not offered is refused beside the field, keeping the name.
        let odd = try ob.submit("\(Self.base(org))/new", to: "\(Self.base(org))/new", [("name", "Odd"), ("expires_in_days", "12")])
        #expect(odd.status == 422 && odd.text.contains("Choose never, 30, 90 or 365 days") && odd.text.contains("value=\"Odd\""))

        portal.clock.advance(seconds: 335 * 86400 + 60)
        #expect(try portal.runJobs { try mails(owner.email).count == 1 })
        #expect(try mails(owner.email) == ["Credentials “Default” of “Yearly” expire in 30 days"])
        #expect(try mails(employee.email).isEmpty, "an Employee does not manage apps")
        portal.clock.advance(seconds: 23 * 86400)
        #expect(try portal.runJobs { try mails(owner.email).count == 2 })
        portal.clock.advance(seconds: 6 * 86400)
        #expect(try portal.runJobs { try mails(owner.email).count == 3 })
        #expect(try mails(owner.email).last == "Credentials “Default” of “Yearly” expire in 1 day")
        #expect(try mails(developer.email).count == 3)
        // Running the job again sends nothing twice.
        let row = try portal.app.database.read { try $0.scalar("SELECT id FROM app_credentials WHERE client_id = ?", clientID, as: Int64.self) }!
        #expect(try portal.app.apps.remind(credentialID: row) == nil)
        #expect(try mails(owner.email).count == 3)
        #expect(try Self.authenticates(portal, clientID, secret))
        // Past the expiry the token endpoint's check refuses them.
        portal.clock.advance(seconds: 86400)
        #expect(!(try Self.authenticates(portal, clientID, secret)))
    }

    /// An environment's apps are its own: a Sandbox app is a 404 in Production, and names are
    /// unique per environment only.
    @Test func appsLiveInOneEnvironment() throws {
        let (portal, ob, owner, org) = try TestPortal.withOwner()
        let (_, clientID, secret) = try Self.register(ob, org, "Shared name")
        let app = try #require(try Self.appID(portal, named: "Shared name"))
        #expect(try ob.get("/orgs/\(org)/production/apps").status == 403, "Production is closed until support enables it")
        try portal.enableProduction(org)
        #expect(try ob.get("/orgs/\(org)/production/apps/\(app)").status == 404)
        // A Production app's credentials need the member's fresh authenticator code.
        portal.clock.advance(seconds: 30)
        let prod = try ob.submit("/orgs/\(org)/production/apps/new", to: "/orgs/\(org)/production/apps/new",
                                 [("name", "Shared name"), ("code", owner.code(portal))])
        #expect(prod.status == 201)
        let list = try ob.get("/orgs/\(org)/production/apps")
        #expect(list.text.contains("Shared name") && !list.text.contains(app))
        let client = try #require(try portal.app.apps.authenticateClient(clientID: clientID, secret: secret))
        #expect(client.app.environment == .sandbox)
    }

    @Test func certificateUploadsRefusePrivateKeysAndDuplicates() throws {
        let (portal, ob, _, org) = try TestPortal.withOwner()
        let (pem, key) = try Self.makeCertificate()
        // A private key in the upload: refused, and nothing of it kept or shown.
        let withKey = try Self.upload(ob, org, file: pem + key)
        #expect(withKey.status == 422 && withKey.text.contains("we never want your private key; nothing of it was kept"))
        let keyBody = key.split(separator: "\n").dropFirst().first.map(String.init) ?? "—"
        #expect(!withKey.text.contains(keyBody))
        #expect(try portal.count("SELECT count(*) FROM certificates") == 0)
        let audit = try portal.app.database.read { try $0.query("SELECT details FROM audit_events").map { try $0.string(0) } }.joined()
        #expect(!audit.contains(keyBody))
        // Weak keys and garbage, with their reason.
        let (weak, _) = try Self.makeCertificate(key: ["rsa:1024"])
        #expect(try Self.upload(ob, org, file: weak).text.contains("at least 2048 bits"))
        #expect(try Self.upload(ob, org, file: "hello").text.contains("not an X.509 certificate"))
        // A DER file (binary) is read as well as PEM.
        let der = Array(Data(base64Encoded: pem.split(separator: "\n").filter { !$0.hasPrefix("-----") }.joined())!)
        let (other, _) = try Self.makeCertificate(key: ["ec", "-pkeyopt", "ec_paramgen_curve:P-256"], subject: "/CN=der.example.com")
        let otherDER = Array(Data(base64Encoded: other.split(separator: "\n").filter { !$0.hasPrefix("-----") }.joined())!)
        #expect(try Self.uploadBytes(portal, ob, org, file: otherDER).status == 303)
        #expect(try ob.get("/orgs/\(org)/certificates").text.contains("CN=der.example.com") == true)
        #expect(try ob.get("/orgs/\(org)/certificates").text.contains("EC P-256"))
        // Pasted as text in an urlencoded form works as well as a file.
        let page = try ob.get("/orgs/\(org)/certificates")
        #expect(try ob.post("/orgs/\(org)/certificates", [("certificate", pem)], csrfFrom: page).status == 303)
        // A duplicate is refused, naming the stored one.
        let again = try Self.upload(ob, org, file: pem)
        let stored = try portal.app.database.read { try $0.scalar("SELECT public_id FROM certificates WHERE subject = 'CN=client.example.com'", as: String.self) }!
        #expect(again.status == 409 && again.text.contains("already in your store as \(stored)"))
        #expect(try portal.count("SELECT count(*) FROM certificates") == 2)
        // The same certificate as DER is the same certificate: a duplicate.
        #expect(try Self.uploadBytes(portal, ob, org, file: der).status == 409)
    }

    @Test func redirectURIsAreLimitedToTen() throws {
        let (portal, ob, _, org) = try TestPortal.withOwner()
        _ = try Self.register(ob, org, "Many")
        let app = try #require(try Self.appID(portal, named: "Many"))
        for i in 0..<10 {
            #expect(try Self.post(ob, org, app, "/redirect-uris", [("uri", "https://app.example.com/cb\(i)")]).status == 303)
        }
        let eleventh = try Self.post(ob, org, app, "/redirect-uris", [("uri", "https://app.example.com/cb10")])
        #expect(eleventh.status == 422 && eleventh.text.contains("at most 10"))
        let same = try Self.post(ob, org, app, "/redirect-uris/\(try portal.app.database.read { try $0.scalar("SELECT public_id FROM app_redirect_uris ORDER BY id LIMIT 1", as: String.self) }!)",
                                 [("uri", "https://app.example.com/cb1")])
        #expect(same.status == 422, "changing one into another registered URI is refused")
        #expect(try portal.count("SELECT count(*) FROM app_redirect_uris") == 10)
    }

    @Test func onlyTheOwnerFilesTheLicenceAndReadersChangeNothing() throws {
        let (portal, ob, _, org) = try TestPortal.withOwner()
        _ = try Self.register(ob, org, "Readable")
        let app = try #require(try Self.appID(portal, named: "Readable"))
        let (_, reader) = try portal.member(of: org, role: .custom, permissions: [.appsRead])
        let page = try reader.get("\(Self.base(org))/\(app)")
        #expect(page.status == 200 && page.text.contains("client_") && !page.text.contains("Reset client secret"))
        #expect(!page.text.contains("Send to support"))
        #expect(try reader.post("\(Self.base(org))/\(app)/rename", [("name", "Mine now")], csrfFrom: page).status == 403)
        let (_, developer) = try portal.member(of: org, role: .developer)
        let devPage = try developer.get("\(Self.base(org))/\(app)")
        #expect(devPage.text.contains("Reset client secret") && !devPage.text.contains("Send to support"))
        #expect(try developer.post("/orgs/\(org)/psd2-licence", [("licence_number", "R1"), ("authority", "DNB"),
                                                                 ("register_url", "https://www.dnb.nl/x")], csrfFrom: devPage).status == 403)
        #expect(try portal.count("SELECT count(*) FROM support_requests") == 0)
    }

    /// The token endpoint's client check is one indexed read and a SHA-256: thousands a
    /// second even in a debug build (the benchmark measures the release build).
    @Test func clientAuthenticationIsCheap() throws {
        let (portal, ob, _, org) = try TestPortal.withOwner()
        let (_, clientID, secret) = try Self.register(ob, org, "Fast")
        let start = Date()
        for _ in 0..<2000 { _ = try Self.authenticates(portal, clientID, secret) }
        let perSecond = 2000 / Date().timeIntervalSince(start)
        print("client authentications per second (debug build): \(Int(perSecond))")
        #expect(perSecond > 1000, "\(Int(perSecond)) client authentications per second")
    }
}
