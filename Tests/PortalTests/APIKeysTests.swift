import Database
import Foundation
import Security
import Testing
import TestSupport
@testable import Portal

/// API keys over real sockets: made through the pages, used against the `/v1` pipeline
/// (`GET /v1/ping` runs the credential check for any `Authorization` header), rolled,
/// revoked, expired, restricted to addresses, and guarded by permissions and CSRF.
@Suite("API keys: pages, verifier, rolls, revocation, reminders")
struct APIKeysTests {
    // MARK: - shown once, kept as a hash

    @Test func theSecretIsShownOnceAndOnlyItsHashIsKept() throws {
        let capture = LogCapture()
        let portal = try TestPortal(logger: capture.logger)
        let b = Browser(portal)
        let owner = try TestUser.enrolled(portal, b)
        let org = try owner.createOrganization(portal, b)
        let page = try b.createKey(org, [("restrict_payouts", "none"), ("restrict_balances", "read")])
        #expect(page.status == 201)
        #expect(page["cache-control"] == "no-store")
        let secret = try #require(page.shownSecret)
        #expect(secret.hasPrefix("sk_sandbox_"))
        #expect(page.text.components(separatedBy: secret).count == 2, "the secret is on the page exactly once")
        #expect(page.text.contains("Copy secret") && page.text.contains("secret manager"))
        #expect(page.all("set-cookie").allSatisfy { !$0.contains(secret) })

        // The list (and the key's page) never show it again: only its prefix and last 4.
        let list = try b.get("/orgs/\(org)/sandbox/api-keys")
        #expect(list.status == 200 && !list.text.contains(secret))
        #expect(list.text.contains(String(secret.prefix(15)) + "…" + String(secret.suffix(4))))
        #expect(list.text.contains("Balances: read · Transactions: write · Payouts: none"))
        let id = try portal.keyID(secret)
        #expect(!(try b.get("/orgs/\(org)/sandbox/api-keys/\(id)").text.contains(secret)))

        // The database holds the SHA-256, and the secret in no column of any row.
        let row = try portal.app.database.read { db in try db.queryOne("SELECT * FROM api_keys WHERE public_id = ?", id)! }
        #expect(try row.blob("secret_sha256") == Digest.sha256(secret))
        let dump = try portal.app.database.read { db in
            try db.query("SELECT quote(secret_sha256), name, display_prefix, last4, restrictions FROM api_keys").map { r in
                (0..<5).compactMap { try? r.string($0) }.joined(separator: " ")
            }.joined()
        }
        #expect(!dump.contains(secret) && !dump.contains(String(secret.dropFirst(11).prefix(20))))
        #expect(try portal.audit(of: id) == ["api_key.created"])
        #expect(try portal.events(of: id) == ["api_key.created"])

        // It opens the API, as Bearer and as Basic's user name.
        #expect(try portal.ping(secret).status == 200)
        #expect(try portal.ping(secret, basic: true).status == 200)
        // And no log line holds it, used or refused.
        var typo = Array(secret)
        typo[30] = typo[30] == "Q" ? "R" : "Q"
        #expect(try portal.ping(String(typo)).status == 401)
        #expect(!capture.all.contains(secret) && !capture.all.contains(String(typo)))
        #expect(!capture.all.contains(String(secret.dropFirst(15).prefix(20))))
    }

    // MARK: - one 401 for every bad key

    @Test func everyBadKeyGetsTheSame401() throws {
        let (portal, b, _, org) = try TestPortal.withOwner()
        func make(_ extra: [(String, String)] = []) throws -> String { try #require(try b.createKey(org, extra).shownSecret) }
        let revoked = try make()
        let revokedID = try portal.keyID(revoked)
        #expect(try b.post("/orgs/\(org)/sandbox/api-keys/\(revokedID)/revoke", [("confirm", "yes")],
                           csrfFrom: try b.get("/orgs/\(org)/sandbox/api-keys/\(revokedID)")).status == 303)
        let expiring = try make([("expires_in_days", "30")])
        let rolled = try make()
        let rolledID = try portal.keyID(rolled)
        let rollPage = try b.post("/orgs/\(org)/sandbox/api-keys/\(rolledID)/roll", [("overlap", "0")],
                                  csrfFrom: try b.get("/orgs/\(org)/sandbox/api-keys/\(rolledID)"))
        #expect(rollPage.status == 201)
        var typo = Array(try make())
        typo[25] = typo[25] == "k" ? "m" : "k"
        portal.clock.advance(seconds: 30 * 86400 + 1)

        let unknown = APIKeySecret.make(.sandbox).text              // well formed, checksum right, never issued
        let refusals = [
            try portal.ping(unknown), try portal.ping(String(typo)), try portal.ping(revoked), try portal.ping(expiring),
            try portal.ping(rolled), try portal.ping(unknown, basic: true), try portal.ping("sk_sandbox_short"),
            try portal.request("GET", "/v1/ping", headers: ["Authorization": "Basic " + Base64.encode(Array(":".utf8))]),
            try portal.ping(APIKeySecret.make(.production).text),
            // A route that needs a key: no header and a malformed one get the same answer too.
            try portal.request("GET", "/v1/balances"),
            try portal.request("GET", "/v1/balances", headers: ["Authorization": "Bearer"]),
            try portal.request("GET", "/v1/balances", headers: ["Authorization": "Token a b"]),
            try portal.request("GET", "/v1/balances", headers: ["Authorization": "Bearer " + unknown]),
        ]
        let first = refusals[0]
        #expect(first.status == 401 && first["www-authenticate"] == "Bearer realm=\"portal\"")
        #expect(first.text.contains("\"code\":\"invalid_credentials\""))
        for r in refusals {
            #expect(r.status == 401)
            #expect(r.errorWithoutRequestID == first.errorWithoutRequestID)
            #expect(r["www-authenticate"] == first["www-authenticate"] && r["content-length"] == first["content-length"])
        }
    }

    // MARK: - roll with overlap

    @Test func aRollKeepsTheOldSecretWorkingForTheOverlapOnly() throws {
        let (portal, b, _, org) = try TestPortal.withOwner()
        portal.clock.stop() // the overlap is checked to the second
        let old = try #require(try b.createKey(org, [("ip_allowlist", "127.0.0.0/8"), ("restrict_payouts", "read")]).shownSecret)
        let oldID = try portal.keyID(old)
        let keyPage = try b.get("/orgs/\(org)/sandbox/api-keys/\(oldID)")
        // An overlap not on offer is refused beside the field.
        let bad = try b.post("/orgs/\(org)/sandbox/api-keys/\(oldID)/roll", [("overlap", "120")], csrfFrom: keyPage)
        #expect(bad.status == 422 && bad.text.contains("Choose how long the old secret keeps working"))
        let rolled = try b.post("/orgs/\(org)/sandbox/api-keys/\(oldID)/roll", [("overlap", "3600")], csrfFrom: keyPage)
        #expect(rolled.status == 201 && rolled["cache-control"] == "no-store")
        let new = try #require(rolled.shownSecret)
        #expect(new != old && rolled.text.components(separatedBy: new).count == 2)
        #expect(rolled.text.contains("keeps working until"))
        let newID = try portal.keyID(new)

        // Same settings.
        let settings = try portal.app.database.read { db in
            try db.query("SELECT name, restrictions, ip_allowlist FROM api_keys WHERE public_id IN (?, ?) ORDER BY id", oldID, newID).map {
                "\(try $0.string(0))|\(try $0.optionalString(1) ?? "")|\(try $0.optionalString(2) ?? "")"
            }
        }
        #expect(settings.count == 2 && settings[0] == settings[1])
        #expect(try portal.audit(of: oldID) == ["api_key.created", "api_key.rolled"])
        #expect(try portal.events(of: oldID) == ["api_key.created", "api_key.rolled"])

        // Both listed, the old one with its end; both work.
        let list = try b.get("/orgs/\(org)/sandbox/api-keys")
        #expect(list.text.contains("Rolled, still working") && list.text.contains("Works until") && list.text.contains(newID))
        #expect(try portal.ping(old).status == 200 && portal.ping(new).status == 200)
        // A key already rolled cannot be rolled again.
        let again = try b.post("/orgs/\(org)/sandbox/api-keys/\(oldID)/roll", [("overlap", "0")], csrfFrom: keyPage)
        #expect(again.status == 409 && again.text.contains("already rolled"))

        portal.clock.advance(seconds: 3599)
        #expect(try portal.ping(old).status == 200)
        portal.clock.advance(seconds: 1)
        #expect(try portal.ping(old).status == 401)
        #expect(try portal.ping(new).status == 200)
    }

    // MARK: - revoke

    @Test func revokingAsksFirstThenStopsTheKeyAtOnceAndOffersToTellSupport() throws {
        let (portal, b, _, org) = try TestPortal.withOwner()
        let secret = try #require(try b.createKey(org, name: "Leaky").shownSecret)
        let other = try #require(try b.createKey(org, name: "Other").shownSecret)
        let id = try portal.keyID(secret)
        let base = "/orgs/\(org)/sandbox/api-keys/\(id)"
        // Without JavaScript the button leads to a confirmation page; nothing changes yet.
        let confirm = try b.post("\(base)/revoke", [], csrfFrom: try b.get(base))
        #expect(confirm.status == 200 && confirm.text.contains("Yes, revoke it now") && confirm.text.contains("name=\"confirm\" value=\"yes\""))
        #expect(try portal.ping(secret).status == 200)
        let done = try b.post("\(base)/revoke", [("confirm", "yes")], csrfFrom: confirm)
        #expect(done.status == 303 && done["Location"] == "\(base)/revoked")
        #expect(try portal.ping(secret).status == 401)
        #expect(try portal.ping(other).status == 200)
        #expect(try portal.audit(of: id) == ["api_key.created", "api_key.revoked"])
        #expect(try portal.events(of: id) == ["api_key.created", "api_key.revoked"])

        // The page after it suggests rolling the others and telling support.
        let after = try b.get("\(base)/revoked")
        #expect(after.text.contains("Roll the other keys") && after.text.contains("Other") && after.text.contains("Tell support about \(id)"))
        let told = try b.post("\(base)/report", [], csrfFrom: after)
        #expect(told.status == 303)
        let request = try portal.app.database.read { db in
            try db.queryOne("SELECT kind, changes, note FROM support_requests WHERE organization_id = ?", try portal.orgRowID(org))
        }
        let r = try #require(request)
        #expect(try r.string(0) == "api_key_leak" && r.string(1).contains(id) && r.string(2).contains(id))
        #expect(try portal.audit(of: id).last == "api_key.leak_reported")
        // Revoking twice is a conflict, not a second event.
        let twice = try b.post("\(base)/revoke", [("confirm", "yes")], csrfFrom: after)
        #expect(twice.status == 409)
        #expect(try portal.events(of: id) == ["api_key.created", "api_key.revoked"])
    }

    // MARK: - expiry

    @Test func anExpiredKeyIsRefusedAtItsExpiry() throws {
        let (portal, b, _, org) = try TestPortal.withOwner()
        portal.clock.stop() // the expiry is checked to the second
        let secret = try #require(try b.createKey(org, [("expires_in_days", "30")]).shownSecret)
        portal.clock.advance(seconds: 30 * 86400 - 1)
        #expect(try portal.ping(secret).status == 200)
        portal.clock.advance(seconds: 1)
        #expect(try portal.ping(secret).status == 401)
    }

    @Test func anExpiryDateEndsWithThatDayInTheMembersZone() throws {
        let (portal, b, owner, org) = try TestPortal.withOwner()
        try portal.setTimeZone(owner.email, "Asia/Tokyo")
        let now = portal.clock.now
        let day = PageTime.iso8601(now + 10 * 86400, zone: "Asia/Tokyo").prefix(10)
        let page = try b.createKey(org, [("expires_in_days", "date"), ("expires_on", String(day))])
        #expect(page.status == 201)
        let id = try portal.keyID(try #require(page.shownSecret))
        let expires = try portal.app.database.read { try $0.scalar("SELECT expires_at FROM api_keys WHERE public_id = ?", id, as: Int64.self) }!
        // Midnight after that day in Tokyo, 15:00 UTC the day before.
        #expect(PageTime.iso8601(expires, zone: "Asia/Tokyo").hasSuffix("T00:00:00+09:00"))
        #expect(PageTime.iso8601(expires - 1, zone: "Asia/Tokyo").hasPrefix(String(day)))
        let past = try b.createKey(org, [("expires_in_days", "date"), ("expires_on", "2001-01-01")])
        #expect(past.status == 422 && past.text.contains("Choose a date after today"))
    }

    // MARK: - the form

    @Test func aRefusedFormKeepsWhatWasTypedAndSaysWhatIsWrongBesideIt() throws {
        let (portal, b, _, org) = try TestPortal.withOwner()
        let r = try b.createKey(org, name: "  ", [("ip_allowlist", "203.0.113.0/24\n10.0.0.1/8"), ("restrict_transactions", "read"),
                                                  ("expires_in_days", "45")])
        #expect(r.status == 422)
        #expect(r.shownSecret == nil)
        #expect(r.text.contains("id=\"name-error\"") && r.text.contains("id=\"ip_allowlist-error\"") && r.text.contains("id=\"expires_in_days-error\""))
        #expect(r.text.contains("did you mean 10.0.0.0/8?"))
        #expect(r.text.contains(">203.0.113.0/24\n10.0.0.1/8</textarea>"))
        #expect(r.text.contains("<option value=\"read\" selected>Read</option>"))
        let nothing = try b.createKey(org, [("restrict_balances", "none"), ("restrict_transactions", "none"), ("restrict_payouts", "none")])
        #expect(nothing.status == 422 && nothing.text.contains("opens nothing"))
        #expect(try portal.count("SELECT count(*) FROM api_keys") == 0)
    }

    // MARK: - IP allowlist

    @Test func anAllowlistAdmitsItsAddressesAndNamesTheRefusal() throws {
        let (portal, b, _, org) = try TestPortal.withOwner()
        let secret = try #require(try b.createKey(org, [("ip_allowlist", "127.0.0.1")]).shownSecret)
        #expect(try portal.ping(secret, from: "127.0.0.1").status == 200)
        let refused = try portal.ping(secret, from: "127.0.0.2")
        #expect(refused.status == 403)
        #expect(refused.text.contains("\"code\":\"ip_not_allowed\"") && refused.text.contains("\"type\":\"permission_error\""))
        #expect(refused.text.contains("127.0.0.2"))
        let wide = try #require(try b.createKey(org, [("ip_allowlist", "127.0.0.2/32, 2001:db8::/32")]).shownSecret)
        #expect(try portal.ping(wide, from: "127.0.0.2").status == 200)
        #expect(try portal.ping(wide, from: "127.0.0.1").status == 403)
    }

    // MARK: - environments

    @Test func aKeyActsInItsOwnEnvironmentOnly() throws {
        let (portal, b, owner, org) = try TestPortal.withOwner()
        // Production is closed until support opens it: no key can be made there.
        let closed = try b.get("/orgs/\(org)/production/api-keys/new")
        #expect(closed.status == 403)
        try portal.enableProduction(org)
        let form = try b.get("/orgs/\(org)/production/api-keys/new")
        #expect(form.text.contains("name=\"code\""))
        let noCode = try b.post("/orgs/\(org)/production/api-keys/new", [("name", "Live")], csrfFrom: form)
        #expect(noCode.status == 422 && noCode.text.contains("id=\"code-error\"") && noCode.shownSecret == nil)
        let wrong = try b.post("/orgs/\(org)/production/api-keys/new", [("name", "Live"), ("code", "000000")], csrfFrom: form)
        #expect(wrong.status == 422 && wrong.text.contains("That code is not right"))
        portal.clock.advance(seconds: 30)
        let live = try b.post("/orgs/\(org)/production/api-keys/new", [("name", "Live"), ("code", owner.code(portal))], csrfFrom: form)
        #expect(live.status == 201)
        let liveSecret = try #require(live.shownSecret)
        #expect(liveSecret.hasPrefix("sk_live_"))
        let sandboxSecret = try #require(try b.createKey(org).shownSecret)

        let verifier = APIKeyVerifier(keys: portal.app.apiKeys)
        let sandbox = try #require(try verifier.credential(scheme: "bearer", token: sandboxSecret, remoteAddress: "127.0.0.1"))
        let production = try #require(try verifier.credential(scheme: "bearer", token: liveSecret, remoteAddress: "127.0.0.1"))
        #expect(sandbox.environment == .sandbox && production.environment == .production)
        #expect(sandbox.organizationID == (try portal.orgRowID(org)))
        // Each environment lists only its own keys.
        #expect(!(try b.get("/orgs/\(org)/sandbox/api-keys").text.contains(try portal.keyID(liveSecret))))
        #expect(!(try b.get("/orgs/\(org)/production/api-keys").text.contains(try portal.keyID(sandboxSecret))))
        // A Sandbox key's id is not found under Production's pages.
        #expect(try b.get("/orgs/\(org)/production/api-keys/\(try portal.keyID(sandboxSecret))").status == 404)
    }

    @Test func restrictionsDecideTheCredentialsAccess() throws {
        let (portal, b, _, org) = try TestPortal.withOwner()
        let full = try #require(try b.createKey(org).shownSecret)
        let limited = try #require(try b.createKey(org, [("restrict_balances", "read"), ("restrict_payouts", "none")]).shownSecret)
        let verifier = APIKeyVerifier(keys: portal.app.apiKeys)
        let f = try #require(try verifier.credential(scheme: "bearer", token: full, remoteAddress: "127.0.0.1"))
        #expect(APIResource.allCases.allSatisfy { f.access(to: $0) == .write })
        let l = try #require(try verifier.credential(scheme: "bearer", token: limited, remoteAddress: "127.0.0.1"))
        #expect(l.access(to: .balances) == .read && l.access(to: .transactions) == .write && l.access(to: .payouts) == .none)
        #expect(l.logName.hasPrefix("sk_sandbox_") && l.logName.contains("…") && !l.logName.contains(limited))
    }

    // MARK: - permissions

    @Test func permissionsDecideWhoSeesAndWhoChanges() throws {
        let (portal, ob, _, org) = try TestPortal.withOwner()
        let secret = try #require(try ob.createKey(org).shownSecret)
        let id = try portal.keyID(secret)
        let base = "/orgs/\(org)/sandbox/api-keys"

        // A Developer manages keys (their preset has both permissions).
        let (_, dev) = try portal.member(of: org, role: .developer)
        #expect(try dev.createKey(org, name: "Dev key").status == 201)

        // api_keys.read: the list and the key, no forms, and every change refused.
        let (_, reader) = try portal.member(of: org, role: .custom, permissions: [.apiKeysRead])
        let list = try reader.get(base)
        #expect(list.status == 200 && list.text.contains(id) && !list.text.contains("New API key"))
        let keyPage = try reader.get("\(base)/\(id)")
        #expect(keyPage.status == 200 && !keyPage.text.contains("Roll key") && !keyPage.text.contains("Revoke key"))
        #expect(try reader.get("\(base)/new").status == 403)
        let csrf = try #require(Browser.csrf(in: list))
        #expect(try reader.post("\(base)/new", [("name", "Mine")], csrf: csrf).status == 403)
        #expect(try reader.post("\(base)/\(id)/roll", [("overlap", "0")], csrf: csrf).status == 403)
        #expect(try reader.post("\(base)/\(id)/revoke", [("confirm", "yes")], csrf: csrf).status == 403)
        #expect(try reader.post("\(base)/\(id)/report", [], csrf: csrf).status == 403)
        #expect(try portal.ping(secret).status == 200)

        // Without either permission: the same 403 as other sections, and no menu entry.
        let (_, employee) = try portal.member(of: org, role: .employee)
        #expect(try employee.get(base).status == 403)
        #expect(try employee.get("\(base)/\(id)").status == 403)
        #expect(!(try employee.get("/orgs/\(org)/sandbox").text.contains("href=\"\(base)\"")))
        #expect(try ob.get("/orgs/\(org)/sandbox").text.contains("href=\"\(base)\""))

        // Another organization's key is the same 404 as a missing one, for every action.
        let (_, other, _, otherOrg) = try { () throws -> (TestPortal, Browser, TestUser, String) in
            let b2 = Browser(portal)
            let u2 = try TestUser.enrolled(portal, b2)
            return (portal, b2, u2, try u2.createOrganization(portal, b2))
        }()
        let otherBase = "/orgs/\(otherOrg)/sandbox/api-keys"
        let otherList = try other.get(otherBase)
        let otherCSRF = try #require(Browser.csrf(in: otherList))
        let missing = try other.get("\(otherBase)/key_aaaaaaaaaaaaaaaa")
        #expect(missing.status == 404)
        #expect(try other.get("\(otherBase)/\(id)").status == 404)
        #expect(try other.post("\(otherBase)/\(id)/roll", [("overlap", "0")], csrf: otherCSRF).status == 404)
        #expect(try other.post("\(otherBase)/\(id)/revoke", [("confirm", "yes")], csrf: otherCSRF).status == 404)
        #expect(try other.post("\(otherBase)/\(id)/report", [], csrf: otherCSRF).status == 404)
        #expect(try portal.ping(secret).status == 200)
    }

    @Test func everyFormNeedsItsCSRFToken() throws {
        let (portal, b, _, org) = try TestPortal.withOwner()
        let secret = try #require(try b.createKey(org).shownSecret)
        let id = try portal.keyID(secret)
        let base = "/orgs/\(org)/sandbox/api-keys"
        for (path, fields) in [("\(base)/new", [("name", "X")]), ("\(base)/\(id)/roll", [("overlap", "0")]),
                               ("\(base)/\(id)/revoke", [("confirm", "yes")]), ("\(base)/\(id)/report", [])] {
            #expect(try b.post(path, fields).status == 403, "\(path)")
            #expect(try b.post(path, fields, csrf: "forged").status == 403, "\(path)")
        }
        #expect(try portal.count("SELECT count(*) FROM api_keys") == 1)
        #expect(try portal.ping(secret).status == 200)
    }

    // MARK: - last use

    @Test func lastUseOnlyMovesForward() throws {
        let (portal, b, _, org) = try TestPortal.withOwner()
        let secret = try #require(try b.createKey(org).shownSecret)
        let id = try portal.keyID(secret)
        #expect(try b.get("/orgs/\(org)/sandbox/api-keys").text.contains("Never"))
        let now = portal.clock.now
        #expect(try portal.app.database.write { try portal.app.apiKeys.recordUse(publicID: id, at: now, ip: "203.0.113.9", on: $0) })
        #expect(!(try portal.app.database.write { try portal.app.apiKeys.recordUse(publicID: id, at: now - 5, ip: "198.51.100.1", on: $0) }))
        let list = try b.get("/orgs/\(org)/sandbox/api-keys")
        #expect(list.text.contains("from 203.0.113.9") && !list.text.contains("198.51.100.1"))
    }

    @Test func theListMarksKeysExpiringSoonAndUnused() throws {
        let (portal, b, owner, org) = try TestPortal.withOwner()
        _ = try #require(try b.createKey(org, name: "Short", [("expires_in_days", "30")]).shownSecret)
        let empty = try b.get("/orgs/\(org)/sandbox/api-keys")
        #expect(!empty.text.contains("Expires soon") && !empty.text.contains("Not used for 90 days"))
        portal.clock.advance(seconds: 24 * 86400)
        _ = try owner.logIn(portal, b)
        #expect(try b.get("/orgs/\(org)/sandbox/api-keys").text.contains("Expires soon"))
        #expect(try b.createKey(org, name: "Idle").status == 201)
        portal.clock.advance(seconds: 91 * 86400)
        _ = try owner.logIn(portal, b)
        let later = try b.get("/orgs/\(org)/sandbox/api-keys")
        #expect(later.text.contains("Not used for 90 days") && later.text.contains("Expired"))
    }

    // MARK: - reminders

    @Test func remindersGoOutOnceEachAt30And7And1DaysAndTheExpiryIsRecorded() throws {
        let (portal, b, owner, org) = try TestPortal.withOwner()
        let (dev, _) = try portal.member(of: org, role: .developer)
        let (employee, _) = try portal.member(of: org, role: .employee)
        let secret = try #require(try b.createKey(org, name: "Yearly", [("expires_in_days", "90")]).shownSecret)
        let id = try portal.keyID(secret)
        func mails(_ who: TestUser) throws -> [String] {
            try portal.app.database.read { db in
                try db.query("SELECT subject FROM outbox WHERE recipient = ? AND subject LIKE '%API key%' ORDER BY id", who.email).map { try $0.string(0) }
            }
        }
        func run() throws { _ = try portal.app.jobs.runDue(); _ = try portal.app.jobs.runDue() }

        try run()
        #expect(try mails(owner).isEmpty)
        portal.clock.advance(seconds: 60 * 86400 - 10)
        try run()
        #expect(try mails(owner).isEmpty)
        portal.clock.advance(seconds: 10)
        #expect(try portal.runJobs { try mails(owner).count == 1 })
        try run()
        #expect(try mails(owner) == ["API key “Yearly” expires in 30 days"])
        #expect(try mails(dev) == ["API key “Yearly” expires in 30 days"])
        #expect(try mails(employee).isEmpty)
        #expect(try portal.lastMail(to: dev.email)!.text.contains("/orgs/\(org)/sandbox/api-keys"))
        #expect(try !portal.events(of: id).contains("api_key.expiring"))

        portal.clock.advance(seconds: 23 * 86400)
        #expect(try portal.runJobs { try mails(owner).count == 2 })
        try run()
        #expect(try mails(owner).last == "API key “Yearly” expires in 7 days")
        #expect(try portal.events(of: id).filter { $0 == "api_key.expiring" }.count == 1)

        portal.clock.advance(seconds: 6 * 86400)
        #expect(try portal.runJobs { try mails(owner).count == 3 })
        try run()
        #expect(try mails(owner).last == "API key “Yearly” expires in 1 day")
        #expect(try mails(dev).count == 3)

        portal.clock.advance(seconds: 86400)
        #expect(try portal.runJobs { try portal.audit(of: id).contains("api_key.expired") })
        try run()
        #expect(try mails(owner).count == 3)
        #expect(try portal.audit(of: id).filter { $0 == "api_key.expired" }.count == 1)
        #expect(try portal.events(of: id).filter { $0 == "api_key.expiring" }.count == 1)
        // The job does the same work again when run by hand: nothing more happens.
        let row = try portal.app.database.read { try $0.scalar("SELECT id FROM api_keys WHERE public_id = ?", id, as: Int64.self) }!
        #expect(try portal.app.apiKeys.remind(id: row) == .nothing)
        #expect(try mails(owner).count == 3)
    }

    @Test func aRevokedKeyGetsNoReminders() throws {
        let (portal, b, _, org) = try TestPortal.withOwner()
        let secret = try #require(try b.createKey(org, [("expires_in_days", "90")]).shownSecret)
        let id = try portal.keyID(secret)
        #expect(try b.post("/orgs/\(org)/sandbox/api-keys/\(id)/revoke", [("confirm", "yes")],
                           csrfFrom: try b.get("/orgs/\(org)/sandbox/api-keys/\(id)")).status == 303)
        portal.clock.advance(seconds: 61 * 86400)
        _ = try portal.app.jobs.runDue()
        _ = try portal.app.jobs.runDue()
        #expect(try portal.app.database.read { try $0.scalar("SELECT count(*) FROM outbox WHERE subject LIKE '%API key%'", as: Int.self) } == 0)
    }
}

extension APIKeysTests {
    /// "Tell support" files a request support reads with the key's details; approving it
    /// revokes the key if it still works, in the decision's transaction.
    @Test func supportReviewsALeakReportAndApprovingRevokesTheKey() throws {
        let (portal, b, owner, org) = try TestPortal.withOwner()
        let secret = try #require(try b.createKey(org, name: "Maybe leaked").shownSecret)
        let id = try portal.keyID(secret)
        let keyPage = try b.get("/orgs/\(org)/sandbox/api-keys/\(id)")
        #expect(try b.post("/orgs/\(org)/sandbox/api-keys/\(id)/report", [], csrfFrom: keyPage).status == 303)
        #expect(try portal.ping(secret).status == 200)

        let sb = Browser(portal)
        _ = try SupportTests.staff(portal, sb)
        let request = try SupportTests.requestID(portal, kind: "api_key_leak")
        let review = try sb.get("/support/requests/\(request)")
        #expect(review.status == 200)
        #expect(review.text.contains("API key may have leaked") && review.text.contains(id) && review.text.contains("Maybe leaked"))
        #expect(review.text.contains("Approving revokes the key at once"))
        #expect(!review.text.contains(secret))
        #expect(try SupportTests.decide(sb, request, approve: true, reason: "Found requests from an unknown address").status == 303)
        #expect(try SupportTests.status(portal, request) == "approved")
        #expect(try portal.ping(secret).status == 401)
        #expect(try portal.audit(of: id) == ["api_key.created", "api_key.leak_reported", "api_key.revoked"])
        #expect(try portal.lastMail(to: owner.email)?.text.contains("it is revoked") == true)
    }
}

extension CommandLineTests {
    /// `portal seed-demo --api-key` prints a working Sandbox key on its own line: the bench
    /// and the contract test read it from there.
    @Test func seedDemoWithAPIKeyPrintsAKeyThatVerifies() throws {
        let dir = NSTemporaryDirectory() + "portal-cli-" + UUID().uuidString
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let r = try run(["seed-demo", "--db", dir + "/p.sqlite", "--scrypt-log-n", "10", "--api-key"])
        #expect(r.status == 0, "\(r.err)")
        let line = try #require(r.out.split(separator: "\n").first { $0.hasPrefix("API key (Sandbox): ") })
        let secret = String(line.dropFirst("API key (Sandbox): ".count))
        let parsed = try #require(APIKeySecret.parse(secret))
        #expect(parsed.environment == .sandbox)
        let db = try Database(path: dir + "/p.sqlite")
        defer { db.close() }
        let row = try db.read { try $0.queryOne("SELECT environment, name FROM api_keys WHERE secret_sha256 = ?", Digest.sha256(secret)) }
        #expect(try row?.string(0) == "sandbox")
        // Without the flag, no key is made.
        let plain = try run(["seed-demo", "--db", dir + "/q.sqlite", "--scrypt-log-n", "10"])
        #expect(plain.status == 0 && !plain.out.contains("API key"))
    }
}

extension APIKeysTests {
    /// A closed (offboarded) organization's keys open nothing, with the same 401 as any bad key.
    @Test func aClosedOrganizationsKeysStopWorking() throws {
        let (portal, b, _, org) = try TestPortal.withOwner()
        let secret = try #require(try b.createKey(org).shownSecret)
        let unknown = try portal.ping(APIKeySecret.make(.sandbox).text)
        #expect(try portal.ping(secret).status == 200)
        try portal.app.database.write { _ = try $0.execute("UPDATE organizations SET status = 'closed' WHERE public_id = ?", org) }
        let refused = try portal.ping(secret)
        #expect(refused.status == 401 && refused.errorWithoutRequestID == unknown.errorWithoutRequestID)
    }

    /// A new Production secret, rolled or made, needs a fresh authenticator code.
    @Test func rollingAProductionKeyNeedsAFreshCode() throws {
        let (portal, b, owner, org) = try TestPortal.withOwner()
        portal.clock.stop() // "the code just used" must be the same 30-second step's
        try portal.enableProduction(org)
        portal.clock.advance(seconds: 30)
        let live = try #require(try b.createKey(org, env: "production", [("code", owner.code(portal))]).shownSecret)
        let id = try portal.keyID(live)
        let base = "/orgs/\(org)/production/api-keys/\(id)"
        let page = try b.get(base)
        #expect(page.text.contains("name=\"code\""))
        let noCode = try b.post("\(base)/roll", [("overlap", "3600")], csrfFrom: page)
        #expect(noCode.status == 422 && noCode.shownSecret == nil && noCode.text.contains("id=\"code-error\""))
        // The code just used to create the key is spent.
        let reused = try b.post("\(base)/roll", [("overlap", "3600"), ("code", owner.code(portal))], csrfFrom: page)
        #expect(reused.status == 422 && reused.text.contains("already used"))
        portal.clock.advance(seconds: 30)
        let rolled = try b.post("\(base)/roll", [("overlap", "3600"), ("code", owner.code(portal))], csrfFrom: page)
        #expect(rolled.status == 201)
        #expect(try #require(rolled.shownSecret).hasPrefix("sk_live_"))
        #expect(try portal.audit(of: id) == ["api_key.created", "api_key.rolled"])
    }
}

extension APIKeysTests {
    /// The expiry as people and programs give it: a choice of days, a date with or without its
    /// radio ticked, or a date in `expires_in_days`; a choice and a date together is asked about.
    @Test func theExpiryIsReadTheWayItWasMeant() throws {
        let (portal, b, _, org) = try TestPortal.withOwner()
        portal.clock.stop() // "90 days from now" is checked to the second
        let day = String(PageTime.iso8601(portal.clock.now + 40 * 86400).prefix(10))
        func expiry(_ fields: [(String, String)]) throws -> Int64? {
            let page = try b.createKey(org, fields)
            guard page.status == 201, let secret = page.shownSecret else { return nil }
            let id = try portal.keyID(secret)
            return try portal.app.database.read { try $0.scalar("SELECT expires_at FROM api_keys WHERE public_id = ?", id, as: Int64.self) }
        }
        let now = portal.clock.now
        #expect(try expiry([("expires_in_days", "90")]) == now + 90 * 86400)
        let onDate = try #require(try expiry([("expires_in_days", "date"), ("expires_on", day)]))
        #expect(try expiry([("expires_in_days", ""), ("expires_on", day)]) == onDate)
        #expect(try expiry([("expires_in_days", day)]) == onDate)
        let both = try b.createKey(org, [("expires_in_days", "30"), ("expires_on", day)])
        #expect(both.status == 422 && both.text.contains("clear the date"))
        #expect(try b.createKey(org, [("expires_in_days", "date")]).text.contains("Enter the date the key stops working"))
        #expect(try b.createKey(org, [("expires_in_days", "date"), ("expires_on", "2027-02-30")]).text.contains("is not a date on the calendar"))
    }

    /// Telling support twice about the same key files one request.
    @Test func tellingSupportTwiceFilesOneRequest() throws {
        let (portal, b, _, org) = try TestPortal.withOwner()
        let id = try portal.keyID(try #require(try b.createKey(org).shownSecret))
        let page = try b.get("/orgs/\(org)/sandbox/api-keys/\(id)")
        #expect(try b.post("/orgs/\(org)/sandbox/api-keys/\(id)/report", [], csrfFrom: page).status == 303)
        #expect(try b.post("/orgs/\(org)/sandbox/api-keys/\(id)/report", [], csrfFrom: page).status == 303)
        #expect(try portal.count("SELECT count(*) FROM support_requests WHERE kind = 'api_key_leak'") == 1)
        #expect(try portal.audit(of: id).filter { $0 == "api_key.leak_reported" }.count == 1)
    }
}

extension APIKeysTests {
    /// Verified keys are remembered between requests: a key in use, revoked or rolled without
    /// overlap, must still be refused on the very next call (the memory is dropped by any
    /// write), never a second later.
    @Test func aKeyInUseIsRefusedOnTheNextCallAfterRevokeOrRoll() throws {
        let (portal, b, _, org) = try TestPortal.withOwner()
        let revoked = try #require(try b.createKey(org).shownSecret)
        let rolled = try #require(try b.createKey(org).shownSecret)
        for _ in 0..<5 {
            #expect(try portal.ping(revoked).status == 200)
            #expect(try portal.ping(rolled).status == 200)
        }
        let revokedID = try portal.keyID(revoked)
        #expect(try b.post("/orgs/\(org)/sandbox/api-keys/\(revokedID)/revoke", [("confirm", "yes")],
                           csrfFrom: try b.get("/orgs/\(org)/sandbox/api-keys/\(revokedID)")).status == 303)
        #expect(try portal.ping(revoked).status == 401)
        let rolledID = try portal.keyID(rolled)
        let page = try b.post("/orgs/\(org)/sandbox/api-keys/\(rolledID)/roll", [("overlap", "0")],
                              csrfFrom: try b.get("/orgs/\(org)/sandbox/api-keys/\(rolledID)"))
        #expect(page.status == 201)
        #expect(try portal.ping(rolled).status == 401)
        let replacement = try #require(page.shownSecret)
        #expect(try portal.ping(replacement).status == 200)
    }
}
