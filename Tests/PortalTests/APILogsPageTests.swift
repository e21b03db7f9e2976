import Database
import Foundation
import Testing
import TestSupport
import Web
@testable import Portal

/// The API requests page of an environment: who may read it, what it shows, its filters and
/// pages, its detail, and the pruning of old rows.
@Suite("API request log: the page and the pruning")
struct APILogsPageTests {
    static func requestIDs(in html: String) -> [String] {
        let re = try! NSRegularExpression(pattern: #"/logs/api/([0-9a-f]{16}(?:[0-9a-f]{8})?)""#)
        return re.matches(in: html, range: NSRange(html.startIndex..., in: html)).map { String(html[Range($0.range(at: 1), in: html)!]) }
    }

    /// Requests of two keys in the Sandbox, one in Production, and one of another organization.
    struct Traffic {
        let portal: TestPortal
        let browser: Browser
        let org: String
        let ok: String, missing: String, production: String, other: String
    }

    static func traffic() throws -> Traffic {
        let (portal, browser, org) = try TestPortal.withLogOwner()
        let otherBrowser = Browser(portal)
        let otherOwner = try TestUser.enrolled(portal, otherBrowser)
        let otherOrg = try otherOwner.createOrganization(portal, otherBrowser)
        func call(_ method: String, _ path: String, _ token: String, body: String? = nil) throws -> String {
            try portal.request(method, path, headers: ["Authorization": token, "Content-Type": "application/json"], body: body)["X-Request-Id"]!
        }
        let ok = try call("GET", "/v1/ping", try portal.token(org, key: "aaaa"))
        let missing = try call("POST", "/v1/nowhere", try portal.token(org, key: "bbbb"), body: #"{"card":"4242424242424242"}"#)
        let production = try call("GET", "/v1/ping", try portal.token(org, .production, key: "cccc"))
        let other = try call("GET", "/v1/ping", try portal.token(otherOrg, key: "dddd"))
        portal.recorder.flush()
        return Traffic(portal: portal, browser: browser, org: org, ok: ok, missing: missing, production: production, other: other)
    }

    @Test func theEnvironmentsRequestsShowNewestFirstAndNothingOfAnotherEnvironmentOrOrganization() throws {
        let t = try Self.traffic()
        let page = try t.browser.get("/orgs/\(t.org)/sandbox/logs/api")
        #expect(page.status == 200)
        #expect(Self.requestIDs(in: page.text) == [t.missing, t.ok])
        #expect(page.text.contains("POST /v1/nowhere") && page.text.contains("sk_sandbox_…bbbb"))
        #expect(page.text.contains(">API requests</a>"))
        let production = try t.browser.get("/orgs/\(t.org)/production/logs/api")
        // Production is not enabled for this organization: its pages say so, and show nothing.
        #expect(production.status == 403 && !production.text.contains(t.production))
    }

    @Test func filtersByKeyStatusPathAndDates() throws {
        let t = try Self.traffic()
        let base = "/orgs/\(t.org)/sandbox/logs/api"
        #expect(Self.requestIDs(in: try t.browser.get("\(base)?key=key_aaaa").text) == [t.ok])
        #expect(Self.requestIDs(in: try t.browser.get("\(base)?status=4xx").text) == [t.missing])
        #expect(Self.requestIDs(in: try t.browser.get("\(base)?status=2xx").text) == [t.ok])
        #expect(Self.requestIDs(in: try t.browser.get("\(base)?status=5xx").text).isEmpty)
        #expect(Self.requestIDs(in: try t.browser.get("\(base)?path=%2Fv1%2Fno").text) == [t.missing])
        // `_` and `%` in a prefix mean themselves, not LIKE's wildcards.
        #expect(Self.requestIDs(in: try t.browser.get("\(base)?path=%2Fv1%2F_ing").text).isEmpty)
        let today = PageTime.iso8601(t.portal.clock.now).prefix(10)
        #expect(Self.requestIDs(in: try t.browser.get("\(base)?from=\(today)&to=\(today)").text) == [t.missing, t.ok])
        let later = try t.browser.get("\(base)?from=2099-01-01")
        #expect(Self.requestIDs(in: later.text).isEmpty && later.text.contains("No request matches these filters"))
        // A filter that cannot be used says so beside its field, keeps what was typed, and the others still apply.
        let bad = try t.browser.get("\(base)?path=v1+nowhere&status=4xx&from=2027-02-30")
        #expect(bad.status == 200)
        #expect(bad.text.contains("A path starts with /") && bad.text.contains("value=\"v1 nowhere\"") && bad.text.contains("Enter a date as YYYY-MM-DD"))
        #expect(Self.requestIDs(in: bad.text) == [t.missing])
        let badStatus = try t.browser.get("\(base)?status=3xx")
        #expect(badStatus.status == 200 && badStatus.text.contains("Choose 2xx, 4xx or 5xx."))
    }

    @Test func aRequestsDetailShowsItsHeadersAndMaskedBodiesAndAnotherOrganizationsIsNotFound() throws {
        let t = try Self.traffic()
        let base = "/orgs/\(t.org)/sandbox/logs/api"
        let detail = try t.browser.get("\(base)/\(t.missing)")
        #expect(detail.status == 200)
        #expect(detail.text.contains("************4242") && !detail.text.contains("4242424242424242"))
        #expect(detail.text.contains("resource_missing"))
        let orgID = try t.portal.orgRowID(t.org)
        #expect(detail.text.contains("Authorization: Bearer sk_sandbox_…bbbb") && !detail.text.contains("t.\(orgID).sandbox"))
        let success = try t.browser.get("\(base)/\(t.ok)")
        #expect(success.status == 200 && success.text.contains("Bodies are kept only for failed requests"))
        // The response's headers with its request id, once (it is stored as the request's id only).
        #expect(success.text.components(separatedBy: "Request-Id: \(t.ok)").count == 2)
        #expect(success.text.contains("Content-Type: application/json"))
        // Another organization's request, another environment's, a made-up id: the same 404.
        for id in [t.other, t.production, "0123456789abcdef", "not-an-id"] {
            #expect(try t.browser.get("\(base)/\(id)").status == 404, "\(id)")
        }
    }

    @Test func onlyMembersWithLogsReadMayReadIt() throws {
        let t = try Self.traffic()
        let base = "/orgs/\(t.org)/sandbox/logs/api"
        let (_, employee) = try t.portal.member(of: t.org, role: .employee)
        #expect(try employee.get(base).status == 403)
        #expect(try employee.get("\(base)/\(t.ok)").status == 403)
        #expect(try !employee.get("/orgs/\(t.org)/sandbox").text.contains(">API requests</a>"))
        let (_, developer) = try t.portal.member(of: t.org, role: .developer)
        #expect(Self.requestIDs(in: try developer.get(base).text) == [t.missing, t.ok])
        let (_, custom) = try t.portal.member(of: t.org, role: .custom, permissions: [.logsRead])
        #expect(try custom.get("\(base)/\(t.missing)").status == 200)
        // A stranger to the organization: 404, as for any organization not theirs.
        let stranger = Browser(t.portal)
        _ = try TestUser.enrolled(t.portal, stranger)
        #expect(try stranger.get(base).status == 404)
    }

    @Test func anEnvironmentNeverCalledSaysHowToMakeAFirstRequest() throws {
        let (portal, browser, org) = try TestPortal.withLogOwner()
        let page = try browser.get("/orgs/\(org)/sandbox/logs/api")
        #expect(page.status == 200)
        #expect(page.text.contains("No API requests in Sandbox yet") && page.text.contains("/v1/balances -H &quot;Authorization: Bearer sk_sandbox_…&quot;"))
        _ = portal
    }

    @Test func pagesOfFiftyByKeysetNewestFirst() throws {
        let (portal, browser, org) = try TestPortal.withLogOwner()
        let orgID = try portal.orgRowID(org)
        var entries: [APIRequestEntry] = []
        for i in 0..<120 {
            var e = APILogRecordingTests.entry(String(format: "%016x", i + 1), at: portal.clock.now)
            e.organizationID = orgID
            e.environment = .sandbox
            e.credentialID = "key_page"
            e.credentialName = "sk_sandbox_…page"
            entries.append(e)
        }
        try portal.app.apiLogs.save(entries)
        let all = entries.map(\.requestID).reversed().map { $0 }
        let first = try browser.get("/orgs/\(org)/sandbox/logs/api")
        #expect(Self.requestIDs(in: first.text) == Array(all[0..<50]))
        #expect(!first.text.contains("← Newer"))
        let olderPath = try #require(Self.link("next", in: first.text))
        let second = try browser.get(olderPath)
        #expect(Self.requestIDs(in: second.text) == Array(all[50..<100]))
        let third = try browser.get(try #require(Self.link("next", in: second.text)))
        #expect(Self.requestIDs(in: third.text) == Array(all[100..<120]))
        #expect(Self.link("next", in: third.text) == nil)
        let back = try browser.get(try #require(Self.link("prev", in: third.text)))
        #expect(Self.requestIDs(in: back.text) == Array(all[50..<100]))
        // A cursor that is not one: said, and the list starts again at the newest.
        let broken = try browser.get("/orgs/\(org)/sandbox/logs/api?before=abc")
        #expect(broken.status == 200 && broken.text.contains("That page link is not valid") && Self.requestIDs(in: broken.text) == Array(all[0..<50]))
        // The key filter names the key seen.
        #expect(first.text.contains("<option value=\"key_page\">sk_sandbox_…page (key_page)</option>"))
    }

    static func link(_ rel: String, in html: String) -> String? {
        let re = try! NSRegularExpression(pattern: #"<a href="([^"]+)" rel="\#(rel)">"#)
        guard let m = re.firstMatch(in: html, range: NSRange(html.startIndex..., in: html)) else { return nil }
        return String(html[Range(m.range(at: 1), in: html)!]).replacingOccurrences(of: "&amp;", with: "&")
    }

    @Test func theJobWorkerPrunesBodiesAfterSevenDaysAndRowsAfterThirty() throws {
        let portal = try TestPortal()
        func counts() throws -> (rows: Int, bodies: Int) {
            try portal.app.database.read { db in
                (try db.scalar("SELECT count(*) FROM api_requests", as: Int.self) ?? -1, try db.scalar("SELECT count(*) FROM api_request_bodies", as: Int.self) ?? -1)
            }
        }
        #expect(try portal.request("GET", "/v1/ping").status == 200)
        #expect(try portal.request("GET", "/v1/nowhere").status == 404)
        portal.recorder.flush()
        #expect(try counts() == (2, 1))
        // One pruning job waits (the first ran at start and scheduled the next); asked again, as
        // a restart does, the portal does not add a second.
        func pruneJobs() throws -> [String] {
            try portal.app.database.read { try $0.query("SELECT state FROM jobs WHERE kind = ? ORDER BY id", APILogs.pruneKind).map { try $0.string(0) } }
        }
        #expect(eventually { (try? pruneJobs()) == ["done", "queued"] })
        try portal.app.apiLogs.schedulePruning(on: portal.app.jobs, at: portal.clock.now)
        #expect(try pruneJobs() == ["done", "queued"])

        portal.clock.advance(seconds: 6 * 86400)
        #expect(try portal.runJobs { try portal.app.database.read { try $0.scalar("SELECT count(*) FROM jobs WHERE kind = ? AND state = 'done'", APILogs.pruneKind, as: Int.self) ?? 0 } >= 2 })
        #expect(try counts() == (2, 1))
        portal.clock.advance(seconds: 2 * 86400)
        #expect(try portal.runJobs { try counts() == (2, 0) })
        // A newer request is kept when the older ones go.
        #expect(try portal.request("GET", "/v1/ping").status == 200)
        portal.recorder.flush()
        portal.clock.advance(seconds: 23 * 86400)
        #expect(try portal.runJobs { try counts() == (1, 0) })
    }
}

/// "Last used" on the key list comes from the request log's flush, never from the request.
@Suite("API request log: last use of a key")
struct APILogsLastUseTests {
    @Test func aKeysLastUseIsSetByTheFlushWithTheNewestTimeAndAddress() throws {
        let (portal, browser, org) = try TestPortal.withLogOwner()
        let secret = try portal.app.seeding.write { try $0.createSandboxAPIKey(organizationPublicID: org, name: "Checkout server") }
        func lastUse() throws -> (at: Int64?, ip: String?) {
            try portal.app.database.read { db in
                let r = try db.queryOne("SELECT last_used_at, last_used_ip FROM api_keys WHERE name = 'Checkout server'")!
                return (try r.optionalInt64(0), try r.optionalString(1))
            }
        }
        portal.recorder.pause()
        let first = try portal.request("GET", "/v1/ping", headers: ["Authorization": "Bearer \(secret)"])
        #expect(first.status == 200)
        portal.clock.advance(seconds: 90)
        #expect(try portal.request("GET", "/v1/nowhere", headers: ["Authorization": "Bearer \(secret)"], from: "127.0.0.2").status == 404)
        // Answered, but not yet flushed: the key has not been used as far as the list knows.
        #expect(try lastUse().at == nil)
        portal.recorder.resume()
        #expect(eventually(within: 5) { (try? lastUse().at) == portal.clock.now || (try? lastUse().at) == portal.clock.now - 1 })
        #expect(try lastUse().ip == "127.0.0.2")
        // The page names the key as people named it, beside its masked secret; never the secret.
        let page = try browser.get("/orgs/\(org)/sandbox/logs/api")
        #expect(page.text.contains("Checkout server") && !page.text.contains(secret))
        #expect(APILogsPageTests.requestIDs(in: page.text).count == 2)
    }
}

@Suite("API request log: request ids")
struct APILogRequestIDTests {
    /// Ids of one second share their first 8 digits (the detail page finds an id's segment by
    /// them); the 64 random bits behind keep them apart.
    @Test func idsStartWithTheirSecondAndDifferInTheRest() {
        let a = Request.makeID(now: 1_796_586_911), b = Request.makeID(now: 1_796_586_911), later = Request.makeID(now: 1_796_586_912)
        #expect(a.count == 24 && a.allSatisfy { $0.isHexDigit && !$0.isUppercase })
        #expect(a.hasPrefix("6b15bd9f") && b.hasPrefix("6b15bd9f") && later.hasPrefix("6b15bda0"))
        #expect(a != b)
        #expect(APILogsStore.second(of: a) == 1_796_586_911 && APILogsStore.second(of: later) == 1_796_586_912)
        #expect(APILogsStore.second(of: "0123456789abcdef") == nil)
        #expect(Set((0..<1000).map { _ in Request.makeID() }).count == 1000)
    }

    /// A request logged before ids carried their second (16 digits) is still found by its id.
    @Test func aRequestLoggedWithAnOlderShorterIdIsStillFound() throws {
        let (portal, browser, org) = try TestPortal.withLogOwner()
        let orgID = try portal.orgRowID(org)
        let old = "0123456789abcdef"
        portal.recorder.record(APIRequestEntry(requestID: old, createdAt: portal.clock.portalClock.now(), organizationID: orgID, environment: .sandbox,
                                               credentialID: nil, credentialName: nil, method: "GET", path: "/v1/ping", status: 200,
                                               durationMicroseconds: 120, ip: "192.0.2.7", userAgent: "curl/8", requestHeaders: "",
                                               responseHeaders: "Request-Id: \(old)\n"))
        portal.recorder.flush()
        let page = try browser.get("/orgs/\(org)/sandbox/logs/api/\(old)")
        #expect(page.status == 200 && page.text.contains("192.0.2.7"))
        // Its summary kept the id itself: shown once, not twice.
        #expect(page.text.components(separatedBy: "Request-Id: \(old)").count == 2)
        #expect(try browser.get("/orgs/\(org)/sandbox/logs/api/0123456789abcdee").status == 404)
    }
}
