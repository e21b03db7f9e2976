import Database
import Foundation
import Outbound
import Security
import Testing
import TestSupport
@testable import Portal

/// Webhooks over real sockets: endpoints added through the pages, events delivered to a real
/// receiver on loopback (Python's http.server) that verifies every signature with the
/// reference `standardwebhooks` package; retries on a clock the test moves; 410, Retry-After,
/// a restart in the middle of a schedule, rotation, replay, test events, the SSRF policy.
@Suite("Webhooks: delivery, signatures, retries, replay, SSRF", .serialized)
struct WebhooksTests {
    // MARK: - delivery and verification

    @Test func aTransactionEventArrivesSignedAndTheReferenceVerifierAcceptsIt() throws {
        let f = try WebhookFixture()
        let endpoint = try f.addEndpoint(f.receiver.url("/hooks"), events: ["transaction.created"], description: "Orders")
        #expect(try f.portal.auditActions(organization: f.org).contains("webhook.endpoint_created"))
        let secrets = try f.secrets(endpoint)
        #expect(secrets.count == 1 && secrets[0].hasPrefix("whsec_"))
        #expect(try f.portal.auditActions(organization: f.org).contains("webhook.secret_revealed"))
        // The secret is sealed: no column holds it.
        let stored = try f.portal.app.database.read { try $0.scalar("SELECT hex(secret) FROM webhook_endpoints", as: String.self) } ?? ""
        #expect(!stored.contains(Hex.encode(Array(secrets[0].utf8)).uppercased()))
        try f.receiver.configure("/hooks", secrets: secrets)

        let txn = try f.portal.makeTransaction(f.org, .payin, "12.00")
        let got = try f.receiver.wait("/hooks", count: 1)
        try #require(got.count == 1)
        let r = got[0]
        #expect(r.allVerified, "standardwebhooks: \(r.verified)")
        #expect(r.id.hasPrefix("evt_"))
        #expect(r.headers["content-type"] == "application/json")
        #expect(r.headers["user-agent"]?.hasPrefix("Portal-Webhooks/") == true)
        #expect(r.json["type"] as? String == "transaction.created")
        #expect(r.json["id"] as? String == r.id)
        #expect(r.json["environment"] as? String == "sandbox")
        #expect(((r.json["data"] as? [String: Any])?["object"] as? [String: Any])?["id"] as? String == txn.publicID)
        // Only the chosen type: the simulator's later moves (transaction.updated…) are not sent.
        #expect(try eventually(5) { try f.delivery(endpoint).state == "succeeded" })

        // The log shows it, and the attempt has the exact request and the response.
        let page = try f.browser.get("\(f.base)/\(endpoint)")
        #expect(page.status == 200 && page.text.contains("transaction.created") && page.text.contains("Succeeded"))
        let d = try f.delivery(endpoint)
        let detail = try f.browser.get("\(f.base)/\(endpoint)/deliveries/\(d.id)")
        #expect(detail.status == 200)
        #expect(detail.text.contains("webhook-signature: v1,") && detail.text.contains("HTTP 200") && detail.text.contains(r.id))
        #expect(!detail.text.contains("http-equiv=\"refresh\""))
        // The list shows health.
        let list = try f.browser.get(f.base)
        #expect(list.text.contains("Healthy") && list.text.contains("100 %"))
    }

    // MARK: - retries

    @Test func failuresAreRetriedOnTheScheduleWithTheSameWebhookID() throws {
        let f = try WebhookFixture()
        let endpoint = try f.addEndpoint(f.receiver.url("/flaky"), events: ["payout.rejected"])
        try f.receiver.configure("/flaky", status: 500)
        let start = f.portal.clock.now
        _ = try f.sendTest(endpoint)
        try f.receiver.wait("/flaky", count: 1)
        #expect(try eventually(5) { try f.delivery(endpoint).attempts == 1 })
        var d = try f.delivery(endpoint)
        #expect(d.state == "pending")
        let first = try #require(d.next) - start
        #expect((4...7).contains(first), "5 s ± 10 %: \(first)")

        f.portal.clock.advance(seconds: 7)
        try f.receiver.wait("/flaky", count: 2)
        #expect(try eventually(5) { try f.delivery(endpoint).attempts == 2 })
        d = try f.delivery(endpoint)
        let second = try #require(d.next) - f.portal.clock.now
        #expect((265...335).contains(second), "5 min ± 10 %: \(second)")
        // Nothing more before it is due.
        Thread.sleep(forTimeInterval: 0.4)
        #expect(try f.receiver.requests("/flaky").count == 2)

        try f.receiver.configure("/flaky", status: 204)
        f.portal.clock.advance(seconds: 340)
        let got = try f.receiver.wait("/flaky", count: 3)
        #expect(try eventually(5) { try f.delivery(endpoint).state == "succeeded" })
        #expect(Set(got.map(\.id)).count == 1, "one webhook-id across retries")
        #expect(try f.delivery(endpoint).attempts == 3)
        let page = try f.browser.get("\(f.base)/\(endpoint)/deliveries/\(d.id)")
        #expect(page.text.contains("Attempt 1") && page.text.contains("Attempt 3") && page.text.contains("HTTP 500"))
    }

    @Test func goneDisablesTheEndpointAtOnce() throws {
        let f = try WebhookFixture()
        let endpoint = try f.addEndpoint(f.receiver.url("/gone"))
        try f.receiver.configure("/gone", status: 410)
        _ = try f.sendTest(endpoint)
        #expect(try eventually(5) { try f.delivery(endpoint).state == "failed" })
        #expect(try f.count("SELECT enabled FROM webhook_endpoints WHERE public_id = ?", endpoint) == 0)
        #expect(try f.portal.auditActions(organization: f.org).contains("webhook.endpoint_disabled"))
        #expect(try f.browser.get(f.base).text.contains("410 Gone"))
        // New events are not sent to it (the log shows them failed, to replay once enabled), and the test button refuses.
        _ = try f.portal.makeTransaction(f.org, .payin, "3.00")
        #expect(try eventually(5) {
            try f.count("SELECT count(*) FROM webhook_deliveries d JOIN webhook_endpoints e ON e.id = d.endpoint_id WHERE e.public_id = ? AND d.last_error = 'endpoint disabled'", endpoint) == 1
        })
        #expect(try f.count("SELECT count(*) FROM webhook_deliveries d JOIN webhook_endpoints e ON e.id = d.endpoint_id WHERE e.public_id = ? AND d.state = 'pending'", endpoint) == 0)
        let again = try f.browser.submit("\(f.base)/\(endpoint)", to: "\(f.base)/\(endpoint)/test", [])
        #expect(again.status == 409 && again.text.contains("disabled"))
        #expect(try f.receiver.requests("/gone").count == 1)
    }

    @Test func retryAfterOn429And503IsHonoured() throws {
        let f = try WebhookFixture()
        let endpoint = try f.addEndpoint(f.receiver.url("/busy"))
        try f.receiver.configure("/busy", status: 429, headers: [["Retry-After", "120"]])
        let before = f.portal.clock.now
        _ = try f.sendTest(endpoint)
        #expect(try eventually(5) { try f.delivery(endpoint).attempts == 1 })
        let next = try #require(try f.delivery(endpoint).next)
        #expect((before + 120...f.portal.clock.now + 121).contains(next), "Retry-After 120, not the 5 s of the schedule: \(next - before)")
        try f.receiver.configure("/busy", status: 503, headers: [["Retry-After", "900"]])
        f.portal.clock.advance(seconds: 121)
        #expect(try eventually(5) { try f.delivery(endpoint).attempts == 2 })
        let second = try #require(try f.delivery(endpoint).next) - f.portal.clock.now
        #expect((898...901).contains(second), "\(second)")
    }

    @Test func aRestartInTheMiddleOfTheScheduleLosesAndDuplicatesNothing() throws {
        let receiver = try WebhookReceiver()
        let dir = NSTemporaryDirectory() + "portal-restart-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let configure: (inout PortalConfig) -> Void = {
            $0.databasePath = dir + "/portal.sqlite"
            $0.webhooksAllowPrivateNetworks = true
            $0.jobStopTimeout = 0.3
        }
        var endpoint = ""
        var eventID = ""
        do {
            let portal = try TestPortal(configure: configure)
            let b = Browser(portal)
            let owner = try TestUser.enrolled(portal, b)
            let org = try owner.createOrganization(portal, b)
            let base = "/orgs/\(org)/sandbox/webhooks"
            let r = try b.submit("\(base)/new", to: "\(base)/new", [("url", receiver.url("/r")), ("events", "payout.rejected")])
            endpoint = String(try #require(r["Location"]).split(separator: "/").last!)
            // The first attempt fails: a retry is scheduled.
            try receiver.configure("/r", status: 500)
            _ = try b.submit("\(base)/\(endpoint)", to: "\(base)/\(endpoint)/test", [])
            let first = try receiver.wait("/r", count: 1)
            eventID = first[0].id
            #expect(try eventually(5) {
                try portal.app.database.read { try $0.scalar("SELECT attempts FROM webhook_deliveries", as: Int.self) } == 1
            })
            // The second is cut off by the stop: the receiver holds, the process goes away.
            try receiver.configure("/r", status: 200, hold: 2)
            portal.clock.advance(seconds: 7)
            try receiver.wait("/r", count: 2)
            portal.app.shutdown()
            portal.app.waitUntilStopped()
        }
        // Same database, new process: the leased delivery is sent again once its lease ends.
        let again = try TestPortal(configure: configure)
        try receiver.configure("/r", status: 200)
        Thread.sleep(forTimeInterval: 0.5)
        #expect(try receiver.requests("/r").count == 2, "nothing is sent while the lease holds")
        // The lease was taken on the first process's clock, 7 s ahead of this one's.
        again.clock.advance(seconds: 7 + 61)
        let got = try receiver.wait("/r", count: 3)
        #expect(try eventually(5) {
            try again.app.database.read { try $0.scalar("SELECT state FROM webhook_deliveries", as: String.self) } == "succeeded"
        })
        #expect(got.count == 3 && got.allSatisfy { $0.id == eventID }, "at-least-once, one webhook-id: \(got.map(\.id))")
        #expect(try again.app.database.read { try $0.scalar("SELECT count(*) FROM webhook_deliveries", as: Int.self) } == 1)
        Thread.sleep(forTimeInterval: 0.3)
        #expect(try receiver.requests("/r").count == 3, "no duplicate after success")
        _ = endpoint
    }

    @Test func aReceiverThatHoldsDoesNotStarveAnotherEndpoint() throws {
        let f = try WebhookFixture()
        let slow = try f.addEndpoint(f.receiver.url("/hold"))
        let fast = try f.addEndpoint(f.receiver.url("/fast"))
        try f.receiver.configure("/hold", status: 200, hold: 4)
        // A backlog on the holding endpoint, older than anything for the other one.
        for _ in 0..<12 { _ = try f.sendTest(slow) }
        try f.receiver.wait("/hold", count: 4)
        let started = Date()
        _ = try f.sendTest(fast)
        let got = try f.receiver.wait("/fast", count: 1, seconds: 3)
        #expect(got.count == 1 && Date().timeIntervalSince(started) < 2, "the other endpoint waited \(Date().timeIntervalSince(started)) s")
        #expect(try f.receiver.requests("/hold").count == 4, "at most 4 in flight for one endpoint")
    }

    // MARK: - rotation, replay, test event

    @Test func duringARotationEveryDeliveryCarriesBothSignatures() throws {
        let f = try WebhookFixture()
        let endpoint = try f.addEndpoint(f.receiver.url("/rot"))
        let old = try f.secrets(endpoint)[0]
        let missing = try f.browser.submit("\(f.base)/\(endpoint)", to: "\(f.base)/\(endpoint)/rotate-secret", [("overlap", "86400"), ("code", "")])
        #expect(missing.status == 422 && missing.text.contains("authenticator"))
        let rotated = try f.browser.submit("\(f.base)/\(endpoint)", to: "\(f.base)/\(endpoint)/rotate-secret", [("overlap", "86400"), ("code", f.code())])
        #expect(rotated.status == 200 && rotated["cache-control"] == "no-store")
        let new = try #require(rotated.shownWebhookSecrets.first)
        #expect(new != old && new.hasPrefix("whsec_"))
        #expect(try f.portal.auditActions(organization: f.org).contains("webhook.secret_rotated"))
        try f.receiver.configure("/rot", secrets: [new, old])
        _ = try f.sendTest(endpoint)
        let got = try f.receiver.wait("/rot", count: 1)
        try #require(got.count == 1)
        #expect(got[0].headers["webhook-signature"]?.split(separator: " ").count == 2)
        #expect(got[0].verified.count == 2 && got[0].allVerified, "each secret verifies: \(got[0].verified)")
        // After the overlap only the new one signs.
        f.portal.clock.advance(seconds: 86400)
        _ = try f.owner.logIn(f.portal, f.browser) // a session lasts 12 hours
        try f.receiver.configure("/rot", secrets: [new])
        _ = try f.sendTest(endpoint)
        let later = try f.receiver.wait("/rot", count: 2)
        // (The reference verifier reads the real time, a day behind this clock: our own verifier, cross-checked with it elsewhere.)
        #expect(later.count == 2 && later[1].headers["webhook-signature"]?.split(separator: " ").count == 1)
        if later.count == 2 {
            let h = later[1].headers
            #expect(StandardWebhooks.verify(secret: new, id: h["webhook-id"] ?? "", timestamp: h["webhook-timestamp"] ?? "", signatureHeader: h["webhook-signature"] ?? "",
                                            body: Array(later[1].body.utf8), now: f.portal.clock.now) == .valid)
            #expect(StandardWebhooks.verify(secret: old, id: h["webhook-id"] ?? "", timestamp: h["webhook-timestamp"] ?? "", signatureHeader: h["webhook-signature"] ?? "",
                                            body: Array(later[1].body.utf8), now: f.portal.clock.now) == .noMatch)
        }
    }

    @Test func replayOneAndEveryFailedSinceKeepTheWebhookID() throws {
        let f = try WebhookFixture()
        let endpoint = try f.addEndpoint(f.receiver.url("/rp"))
        try f.receiver.configure("/rp", status: 500)
        _ = try f.sendTest(endpoint)
        // Run the whole schedule: 10 attempts, then failed.
        try f.receiver.wait("/rp", count: 1)
        for (i, delay) in WebhookSchedule.delays.enumerated() {
            #expect(try eventually(5) { try f.delivery(endpoint).attempts == i + 1 })
            f.portal.clock.advance(seconds: delay + delay / 10 + 1)
        }
        #expect(try eventually(5) { try f.delivery(endpoint).state == "failed" })
        #expect(try f.receiver.requests("/rp").count == WebhookSchedule.maximumAttempts)
        let failed = try f.delivery(endpoint)
        _ = try f.owner.logIn(f.portal, f.browser) // days went by: a session lasts 12 hours
        #expect(try f.browser.get("\(f.base)/\(endpoint)?state=failed").text.contains(failed.id))

        try f.receiver.configure("/rp", status: 200)
        let bad = try f.browser.submit("\(f.base)/\(endpoint)", to: "\(f.base)/\(endpoint)/replay", [("since", "last tuesday")])
        #expect(bad.status == 422 && bad.text.contains("last tuesday"))
        let r = try f.browser.submit("\(f.base)/\(endpoint)", to: "\(f.base)/\(endpoint)/replay", [("since", "2020-01-01")])
        #expect(r.status == 303)
        let got = try f.receiver.wait("/rp", count: WebhookSchedule.maximumAttempts + 1)
        #expect(Set(got.map(\.id)).count == 1, "a replay keeps the webhook-id")
        #expect(try eventually(5) { try f.delivery(endpoint).state == "succeeded" })
        // Nothing failed since: a second replay since then sends nothing.
        _ = try f.browser.submit("\(f.base)/\(endpoint)", to: "\(f.base)/\(endpoint)/replay", [("since", "2020-01-01")])
        // And one delivery, replayed by its own button.
        let one = try f.browser.submit("\(f.base)/\(endpoint)/deliveries/\(failed.id)", to: "\(f.base)/\(endpoint)/deliveries/\(failed.id)/replay", [])
        #expect(one.status == 303)
        let all = try f.receiver.wait("/rp", count: WebhookSchedule.maximumAttempts + 2)
        #expect(all.count == WebhookSchedule.maximumAttempts + 2 && Set(all.map(\.id)).count == 1)
        #expect(try f.portal.auditActions(organization: f.org).filter { $0 == "webhook.replayed" }.count == 3)
    }

    @Test func theTestEventPageShowsSendingThenTheResultWithoutScript() throws {
        let f = try WebhookFixture()
        let endpoint = try f.addEndpoint(f.receiver.url("/slow"))
        try f.receiver.configure("/slow", status: 200, hold: 1.5)
        let location = try f.sendTest(endpoint)
        #expect(location.contains("/deliveries/whd_"))
        let waiting = try f.browser.get(location)
        #expect(waiting.status == 200 && waiting.text.contains("Sending…") && waiting.text.contains("<meta http-equiv=\"refresh\" content=\"1\">"))
        #expect(try eventually(8) { try f.browser.get(location).text.contains("HTTP 200") })
        let done = try f.browser.get(location)
        #expect(!done.text.contains("http-equiv=\"refresh\"") && done.text.contains("webhook.test"))
        #expect(try f.portal.auditActions(organization: f.org).contains("webhook.test_sent"))
    }

    // MARK: - the 5-day rule

    @Test func anEndpointFailingFiveDaysIsDisabledMembersAreMailedAndEnablingOffersReplay() throws {
        let f = try WebhookFixture()
        let endpoint = try f.addEndpoint(f.receiver.url("/down"))
        try f.receiver.configure("/down", status: 502)
        _ = try f.sendTest(endpoint)
        #expect(try eventually(5) { try f.delivery(endpoint).attempts == 1 })
        #expect(try f.browser.get(f.base).text.contains("Failing since"))
        #expect(try f.portal.app.webhooks.maintain().disabled == 0, "not before 5 days")
        f.portal.clock.advance(seconds: 5 * 86400 + 60)
        #expect(try f.portal.app.webhooks.maintain().disabled == 1)
        #expect(try f.count("SELECT enabled FROM webhook_endpoints WHERE public_id = ?", endpoint) == 0)
        let mail = try #require(try f.portal.lastMail(to: f.owner.email))
        #expect(mail.subject.contains("Webhook endpoint disabled") && mail.text.contains(f.receiver.url("/down")))
        // Enabling it offers to replay what failed meanwhile.
        _ = try f.owner.logIn(f.portal, f.browser)
        let enabled = try f.browser.submit("\(f.base)/\(endpoint)", to: "\(f.base)/\(endpoint)/enable", [])
        #expect(enabled.status == 303 && enabled["Location"]?.contains("since=") == true)
        // (A browser does not send the fragment.)
        let page = try f.browser.get(String(try #require(enabled["Location"]).split(separator: "#")[0]))
        #expect(page.text.contains("failed meanwhile") && page.text.contains("id=\"replay\""))
        // Replaying from the offered time sends what failed.
        try f.receiver.configure("/down", status: 200)
        let since = try #require(Browser.field("since", in: page.text))
        #expect(!since.isEmpty, "\(since)")
        let replayed = try f.browser.post("\(f.base)/\(endpoint)/replay", [("since", since)], csrfFrom: page)
        #expect(replayed.status == 303, "since=\(since)")
        #expect(try eventually(5) { try f.delivery(endpoint).state == "succeeded" })
    }

    // MARK: - isolation

    @Test func anotherOrganizationsEndpointsAre404() throws {
        let f = try WebhookFixture()
        let endpoint = try f.addEndpoint(f.receiver.url("/mine"))
        _ = try f.sendTest(endpoint)
        let d = try f.delivery(endpoint)
        let other = Browser(f.portal)
        let stranger = try TestUser.enrolled(f.portal, other)
        let theirs = try stranger.createOrganization(f.portal, other)
        let mine = "/orgs/\(theirs)/sandbox/webhooks/\(endpoint)"
        for path in [mine, "\(mine)/edit", "\(mine)/deliveries/\(d.id)"] {
            #expect(try other.get(path).status == 404, "\(path)")
        }
        let home = try other.get("/orgs/\(theirs)/sandbox/webhooks")
        for action in ["test", "disable", "delete", "secret", "rotate-secret", "replay", "deliveries/\(d.id)/replay"] {
            #expect(try other.post("\(mine)/\(action)", [("confirm", "yes"), ("since", "2020-01-01")], csrfFrom: home).status == 404, "\(action)")
        }
        // And in the owner's organization, under their path, a stranger gets 404 too.
        #expect(try other.get("\(f.base)/\(endpoint)").status == 404)
        #expect(try f.count("SELECT enabled FROM webhook_endpoints WHERE public_id = ?", endpoint) == 1)
    }

    // MARK: - SSRF, flag off

    @Test func withTheFlagOffPrivateAddressesAreRefusedOnSaveAndAtDelivery() throws {
        let rebind = RebindingResolver()
        let f = try WebhookFixture { config in
            config.webhooksAllowPrivateNetworks = false
            config.webhookResolver = { host throws(OutboundError) in try rebind.resolve(host) }
        }
        for (url, words) in [("http://127.0.0.1:\(f.receiver.port)/x", "loopback"), ("http://loopback.test:\(f.receiver.port)/x", "127.0.0.1"),
                             ("http://169.254.169.254/latest/meta-data", "169.254.169.254")] {
            let r = try f.browser.submit("\(f.base)/new", to: "\(f.base)/new", [("url", url), ("events", "all")])
            #expect(r.status == 422, "\(url): \(r.status)")
            #expect(r.text.contains("id=\"url-error\"") && r.text.contains(words) && r.text.contains("public addresses"), "\(url)")
            #expect(r.text.contains("value=\"\(url)\""), "the URL typed stays in the field")
        }
        #expect(try f.portal.app.database.read { try $0.scalar("SELECT count(*) FROM webhook_endpoints", as: Int.self) } == 0)

        // A name that was public when saved and resolves to loopback at delivery (DNS rebinding).
        let endpoint = try f.addEndpoint("http://rebind.test:\(f.receiver.port)/x")
        rebind.flip()
        _ = try f.sendTest(endpoint)
        #expect(try eventually(5) { try f.delivery(endpoint).attempts == 1 })
        let error = try f.portal.app.database.read { try $0.scalar("SELECT error FROM webhook_attempts", as: String.self) } ?? ""
        #expect(error.contains("127.0.0.1"), "\(error)")
        Thread.sleep(forTimeInterval: 0.3)
        #expect(try f.receiver.requests("/x").isEmpty, "nothing reached the receiver")
    }

    // MARK: - validation

    @Test func theFormExplainsBadInputBesideEachField() throws {
        let f = try WebhookFixture()
        let r = try f.browser.submit("\(f.base)/new", to: "\(f.base)/new", [("url", "ftp://example.com/x"), ("description", "kept")])
        #expect(r.status == 422)
        #expect(r.text.contains("id=\"url-error\"") && r.text.contains("id=\"events-error\"") && r.text.contains("value=\"kept\""))
        let unknown = try f.browser.submit("\(f.base)/new", to: "\(f.base)/new", [("url", f.receiver.url("/v")), ("events", "money.printed")])
        #expect(unknown.status == 422 && unknown.text.contains("money.printed"))
        let empty = try f.browser.submit("\(f.base)/new", to: "\(f.base)/new", [("url", ""), ("events", "all")])
        #expect(empty.status == 422 && empty.text.contains("Enter the URL"))
    }

    // MARK: - signature checker

    @Test func theSignatureCheckerExplainsFailuresAndKeepsNothing() throws {
        let capture = LogCapture()
        var logger = capture.logger
        logger.logLevel = .debug
        let f = try WebhookFixture(logger: logger) { config in config.webhooksAllowPrivateNetworks = true }
        let endpoint = try f.addEndpoint(f.receiver.url("/chk"))
        let secret = try f.secrets(endpoint)[0]
        let now = f.portal.clock.now
        let body = #"{"id":"evt_1","type":"webhook.test","data":{"object":{"a":1}}}"#
        let sig = StandardWebhooks.signature(secret: secret, id: "msg_1", timestamp: now, body: Array(body.utf8))!
        let page = "\(f.base)/check-signature"
        func check(_ payload: String, ts: Int64 = now, secret s: String = secret, endpoint e: String = "") throws -> TestResponse {
            try f.browser.submit(page, to: page, [("payload", payload), ("webhook_id", "msg_1"), ("webhook_timestamp", String(ts)),
                                                 ("webhook_signature", sig), ("secret", s), ("endpoint", e)])
        }
        let ok = try check(body)
        #expect(ok.status == 200 && ok.text.contains("The signature is valid."))
        #expect(!ok.text.contains(secret), "the pasted secret is not shown again")
        #expect(try check(body + "\n").text.contains("without the trailing newline"))
        let pretty = "{\n  \"id\": \"evt_1\",\n  \"type\": \"webhook.test\",\n  \"data\": {\"object\": {\"a\": 1}}\n}"
        #expect(try check(pretty).text.contains("The body was altered"))
        #expect(try check(body, secret: StandardWebhooks.makeSecret()).text.contains("does not match"))
        #expect(try check(body, ts: now - 600).text.contains("seconds old"))
        #expect(try check(body, secret: "", endpoint: endpoint).text.contains("The signature is valid."))
        let missing = try f.browser.submit(page, to: page, [("payload", "")])
        #expect(missing.status == 422)
        // Nothing pasted was stored.
        let dump = try f.portal.app.database.read { db in
            try db.query("SELECT coalesce(details, '') FROM audit_events").map { try $0.string(0) }.joined()
        }
        #expect(!dump.contains("msg_1") && !dump.contains(sig))
        // Nor logged: the request log writes the path, never the body.
        #expect(!capture.all.contains(sig) && !capture.all.contains(secret) && !capture.all.contains("evt_1"))
    }

    // MARK: - units

    @Test func theRetryScheduleIsThePublishedOneWithTenPercentJitter() {
        #expect(WebhookSchedule.delays == [5, 300, 1800, 7200, 18000, 36000, 50400, 72000, 86400])
        #expect(WebhookSchedule.maximumAttempts == 10)
        #expect(WebhookSchedule.delay(afterAttempts: 1, jitter: 0) == 5)
        #expect(WebhookSchedule.delay(afterAttempts: 9, jitter: 0.1) == 95040)
        #expect(WebhookSchedule.delay(afterAttempts: 2, jitter: -0.1) == 270)
        #expect(WebhookSchedule.delay(afterAttempts: 10) == nil)
        for _ in 0..<200 {
            let d = WebhookSchedule.delay(afterAttempts: 3)!
            #expect((1620...1980).contains(d))
        }
        #expect(WebhookSchedule.retryAfter("120", now: 0) == 120)
        #expect(WebhookSchedule.retryAfter("Wed, 21 Oct 2015 07:28:00 GMT", now: 1445412400) == 80)
        #expect(WebhookSchedule.retryAfter("soon", now: 0) == nil)
        #expect(WebhookSchedule.retryAfter("99999999", now: 0) == 86400)
    }

    @Test func theCataloguePageListsEveryTypeAndTheAPIReferenceLinksToIt() throws {
        let portal = try TestPortal()
        let page = try portal.request("GET", "/docs/webhooks")
        #expect(page.status == 200)
        for t in ["transaction.created", "transaction.updated", "transaction.paid", "transaction.failed", "transaction.cancelled", "payout.created",
                  "payout.authorized", "payout.rejected", "payout.expired", "report.ready", "api_key.created", "api_key.rolled", "api_key.revoked",
                  "api_key.expiring", "webhook.test"] {
            #expect(page.text.contains("<code>\(t)</code>"), "\(t)")
        }
        #expect(page.text.contains("&quot;data&quot;") || page.text.contains("\"data\""))
        #expect(try portal.request("GET", "/docs/api").text.contains("href=\"/docs/webhooks\""))
    }
}

/// Resolves `loopback.test` to 127.0.0.1 and `rebind.test` to a public address until flipped,
/// then to 127.0.0.1 (a DNS answer that changes after the endpoint was saved).
final class RebindingResolver: @unchecked Sendable {
    private let lock = NSLock()
    private var flipped = false

    func flip() { lock.withLock { flipped = true } }

    func resolve(_ host: String) throws(OutboundError) -> [IPAddress] {
        switch host {
        case "loopback.test": return [IPAddress.parse("127.0.0.1")!]
        case "rebind.test": return [IPAddress.parse(lock.withLock { flipped } ? "127.0.0.1" : "93.184.216.34")!]
        default: throw OutboundError.dnsFailure(host: host)
        }
    }
}
