import Database
import Foundation
import HTTP
import Testing
import TestSupport
import Web
@testable import Portal

/// A credential of the tests' own kind until API keys exist on this branch: the token
/// `t.<organization row id>.<environment>.<name>` opens that organization and environment,
/// as key `key_<name>`.
struct LogTestCredential: APICredential {
    let organizationID: Int64
    let environment: Environment
    let name: String
    var publicID: String { "key_\(name)" }
    var logName: String { "sk_\(environment.rawValue)_…\(name.suffix(4))" }
    func access(to resource: APIResource) -> APIAccessLevel { .read }
}

struct LogTestVerifier: APICredentialVerifier {
    func verify(scheme: String, token: String, request: Request) throws -> (any APICredential)? {
        let parts = token.split(separator: ".")
        guard scheme == "bearer", parts.count == 4, parts[0] == "t", let org = Int64(parts[1]), let env = Environment(rawValue: String(parts[2])) else { return nil }
        return LogTestCredential(organizationID: org, environment: env, name: String(parts[3]))
    }
}

extension TestPortal {
    /// A portal that accepts ``LogTestVerifier``'s tokens, with a signed-in Owner of one organization.
    static func withLogOwner(_ configure: @escaping (inout PortalConfig) -> Void = { _ in }) throws -> (TestPortal, Browser, String) {
        let portal = try TestPortal { c in
            c.apiVerifiers = [LogTestVerifier()]
            configure(&c)
        }
        let browser = Browser(portal)
        let owner = try TestUser.enrolled(portal, browser)
        return (portal, browser, try owner.createOrganization(portal, browser))
    }

    func token(_ org: String, _ env: Environment = .sandbox, key: String = "abcd") throws -> String {
        "Bearer t.\(try orgRowID(org)).\(env.rawValue).\(key)"
    }

    var recorder: APILogRecorder { app.apiLogRecorder! }

    /// The log's rows as stored, oldest first.
    func loggedRequests() throws -> [(requestID: String, method: String, path: String, status: Int, credential: String?, org: Int64?, env: String?,
                                      ip: String, userAgent: String, requestHeaders: String)] {
        try app.database.read { db in
            try db.query("SELECT request_id, method, path, status, credential_id, organization_id, environment, ip, user_agent, request_headers FROM api_requests ORDER BY id").map {
                (try $0.string(0), try $0.string(1), try $0.string(2), try $0.int(3), try $0.optionalString(4), try $0.optionalInt64(5),
                 try $0.optionalString(6), try $0.string(7), try $0.string(8), try $0.string(9))
            }
        }
    }

    func loggedBodies() throws -> [(request: String, response: String)] {
        try app.database.read { db in
            try db.query("SELECT request_body, response_body FROM api_request_bodies ORDER BY api_request_id").map { (try $0.string(0), try $0.string(1)) }
        }
    }
}

@Suite("API request log: recording")
struct APILogRecordingTests {
    @Test func aRequestIsAnsweredWhileTheFlusherIsHeldAndLoggedOnceItFlushes() throws {
        let portal = try TestPortal()
        portal.recorder.pause()
        let r = try portal.request("GET", "/v1/ping?token=query-secret", headers: ["User-Agent": "curl/8.5.0"])
        // The answer came while nothing could be written: the request path did not wait for the log.
        #expect(r.status == 200)
        #expect(try portal.loggedRequests().isEmpty)
        #expect(portal.recorder.buffer.count == 1)
        portal.recorder.resume()
        // The flusher writes at least once a second, by itself.
        #expect(eventually(within: 5) { ((try? portal.loggedRequests().count) ?? 0) == 1 })
        let row = try #require(try portal.loggedRequests().first)
        #expect(row.requestID == r["X-Request-Id"])
        #expect(row.method == "GET" && row.path == "/v1/ping" && row.status == 200)
        #expect(row.userAgent == "curl/8.5.0" && row.ip == "127.0.0.1")
        #expect(row.credential == nil && row.org == nil)
        // A success keeps no bodies.
        #expect(try portal.loggedBodies().isEmpty)
    }

    @Test func refusalsOfEveryKindAreLoggedWithTheStatusTheCallerGot() throws {
        let (portal, _, org) = try TestPortal.withLogOwner()
        portal.recorder.pause()
        let unknown = try portal.request("GET", "/v1/balances", headers: ["Authorization": "Bearer sk_sandbox_\(String(repeating: "Z", count: 40))"])
        let malformed = try portal.request("GET", "/v1/ping", headers: ["Authorization": "Bearer"])
        let missing = try portal.request("GET", "/v1/nowhere", headers: ["Authorization": try portal.token(org)])
        let method = try portal.request("DELETE", "/v1/ping")
        let oauth = try portal.request("GET", "/oauth/token")
        let pasted = try portal.request("GET", "/v1/sk_live_\(String(repeating: "Q", count: 40))")
        #expect([unknown.status, malformed.status, missing.status, method.status, oauth.status, pasted.status] == [Int]([401, 401, 404, 405, 405, 404]))
        portal.recorder.flush()
        let rows = try portal.loggedRequests()
        // The organization's requests and those that are nobody's are stored apart (a segment
        // per organization and environment), each in the order they were answered.
        let nobodys = rows.filter { $0.org == nil }, owned = rows.filter { $0.org != nil }
        #expect(nobodys.map(\.status) == [Int]([401, 401, 405, 405, 404]))
        // Never the query, and a key pasted into the path is masked.
        #expect(nobodys.map(\.path) == ["/v1/balances", "/v1/ping", "/v1/ping", "/oauth/token", "/v1/sk_live_[masked]"])
        #expect(nobodys.map(\.requestID) == [unknown, malformed, method, oauth, pasted].map { $0["X-Request-Id"]! })
        // The 404 with a key is the organization's; the 401s say whose they are to nobody.
        #expect(owned.count == 1)
        #expect(owned.first?.org == (try portal.orgRowID(org)) && owned.first?.env == "sandbox" && owned.first?.credential == "key_abcd")
        #expect(owned.first?.requestID == missing["X-Request-Id"] && owned.first?.path == "/v1/nowhere" && owned.first?.status == 404)
        #expect(nobodys.allSatisfy { $0.credential == nil && $0.env == nil })
        // The key that was refused is not in the row: the header shows its scheme only.
        #expect(nobodys[0].requestHeaders.contains("Authorization: Bearer [masked]"))
        #expect(!rows.contains { $0.requestHeaders.contains("ZZZZ") })
        // Every failure keeps the JSON error it was answered with.
        let bodies = try portal.loggedBodies()
        #expect(bodies.count == 6)
        #expect(bodies.contains { $0.response.contains("\"resource_missing\"") && $0.response.contains(missing["X-Request-Id"]!) })
    }

    @Test func aRateLimitedCallIsLoggedAsThe429TheCallerGotWithItsHeaders() throws {
        let (portal, _, org) = try TestPortal.withLogOwner { $0.apiRequestsPerSecond = 1; $0.apiBurst = 1 }
        let token = try portal.token(org)
        let first = try portal.request("GET", "/v1/ping", headers: ["Authorization": token])
        let second = try portal.request("GET", "/v1/ping", headers: ["Authorization": token])
        #expect(first.status == 200 && second.status == 429)
        portal.recorder.flush()
        let rows = try portal.loggedRequests()
        #expect(rows.map(\.status) == [Int]([200, 429]))
        #expect(rows[1].credential == "key_abcd" && rows[1].requestID == second["X-Request-Id"])
        let headers = try portal.app.database.read { try $0.scalar("SELECT response_headers FROM api_requests ORDER BY id DESC LIMIT 1", as: String.self) } ?? ""
        #expect(headers.contains("Retry-After: ") && headers.contains("RateLimit-Remaining: 0"))
    }

    @Test func bodiesOfFailuresAreKeptWithKeysSecretsAndCardNumbersMasked() throws {
        let portal = try TestPortal()
        let key = "sk_live_4eC39HqLyjWDarjtT1zdp7dcAbCdEf"
        let body = #"{"api_key":"\#(key)","card":{"number":"4242424242424242","cvc":"123"},"password":"hunter2","note":"Bearer abc.def.ghi","webhook":"whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"}"#
        let r = try portal.request("POST", "/v1/ping", headers: ["Content-Type": "application/json"], body: body)
        #expect(r.status == 405)
        portal.recorder.flush()
        let stored = try #require(try portal.loggedBodies().first)
        for secret in [key, "4eC39HqLyjWDarjtT1zdp7dc", "4242424242424242", "hunter2", "abc.def.ghi", "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "\"123\""] {
            #expect(!stored.request.contains(secret), "\(secret) was stored")
        }
        #expect(stored.request.contains("************4242"))
        #expect(stored.request.contains("sk_live_[masked]") || stored.request.contains("\"api_key\":\"[masked]\""))
        #expect(stored.request.contains("\"note\""))  // what is not secret is still there to read
        #expect(stored.response.contains("method_not_allowed"))
    }

    @Test func theRecordingCanBeTurnedOff() throws {
        let portal = try TestPortal { $0.apiRequestLog = false }
        #expect(portal.app.apiLogRecorder == nil)
        #expect(try portal.request("GET", "/v1/ping").status == 200)
        #expect(try portal.request("GET", "/v1/nowhere").status == 404)
        #expect(try portal.loggedRequests().isEmpty)
    }

    @Test func aCleanStopWritesWhatIsStillBuffered() throws {
        let capture = LogCapture()
        let portal = try TestPortal(logger: capture.logger)
        portal.recorder.pause()
        var ids: [String] = []
        for i in 0..<25 { ids.append(try #require(try portal.request("GET", "/v1/ping?n=\(i)")["X-Request-Id"])) }
        #expect(try portal.loggedRequests().isEmpty)
        portal.app.shutdown()
        portal.app.waitUntilStopped()
        let db = try Database(path: portal.app.config.databasePath, readers: 1)
        defer { db.close() }
        let stored = try db.read { try $0.query("SELECT request_id FROM api_requests ORDER BY id").map { try $0.string(0) } }
        #expect(stored == ids)
        #expect(!capture.lines.contains { $0.level >= .error }, "\(capture.lines.filter { $0.level >= .error }.map(\.rendered))")
    }

    /// A batch is written 16 rows to a statement, and a failed request (whose bodies need its
    /// row) alone: the log keeps the order the requests were answered in, and each failure's
    /// bodies stay with its own row.
    @Test func aBatchOfSuccessesAndFailuresKeepsItsOrderAndEachFailureItsBody() throws {
        let portal = try TestPortal()
        portal.recorder.pause()
        var expected: [(id: String, failed: Bool)] = []
        for i in 0..<53 {
            let failed = [3, 20, 21, 50].contains(i)
            let id = try #require(try portal.request("GET", failed ? "/v1/nowhere-\(i)" : "/v1/ping?n=\(i)")["X-Request-Id"])
            expected.append((id, failed))
        }
        portal.recorder.resume()
        portal.recorder.flush()
        let stored = try portal.app.database.read {
            try $0.query("""
                SELECT r.request_id, r.path, b.response_body FROM api_requests r LEFT JOIN api_request_bodies b ON b.api_request_id = r.id ORDER BY r.id
                """).map { (try $0.string(0), try $0.string(1), try $0.optionalString(2)) }
        }
        #expect(stored.map(\.0) == expected.map(\.id))
        for (row, e) in zip(stored, expected) {
            if e.failed {
                #expect(row.1.hasPrefix("/v1/nowhere-") && (row.2 ?? "").contains(e.id), "\(row)")
            } else {
                #expect(row.1 == "/v1/ping" && row.2 == nil, "\(row)")
            }
        }
    }

    @Test func aFullBufferDropsTheOldestAndSaysSoOnce() throws {
        let capture = LogCapture()
        let saved = SavedBatches()
        let recorder = APILogRecorder(capacity: 3, logger: capture.logger) { saved.add($0, $1) }
        for i in 0..<5 { recorder.record(Self.entry("r\(i)")) }
        #expect(recorder.buffer.dropped == 2)
        recorder.flush()
        recorder.record(Self.entry("r5"))
        recorder.record(Self.entry("r6"))
        for i in 7..<10 { recorder.record(Self.entry("r\(i)")) }
        recorder.stop()
        // The newest survive, in order; each drop was counted, and said once plus once at the end.
        #expect(saved.ids == ["r2", "r3", "r4", "r7", "r8", "r9"])
        #expect(recorder.buffer.dropped == 4)
        #expect(capture.lines.filter { $0.rendered.contains("oldest entries were dropped") }.count == 2)
    }

    @Test func aBufferThatKeepsDroppingHoldsNoMoreThanItsCapacity() throws {
        let buffer = APILogBuffer(capacity: 10)
        for i in 0..<1_000 { buffer.append(APIRequestRecord(Self.entry("r\(i)"))) }
        #expect(buffer.count == 10)
        #expect(buffer.dropped == 990)
        let batch = buffer.takeAll()
        // What dropped is gone from memory too, not only from the count.
        #expect(batch.bytes.count <= 2 * 10 * (batch.items[0].end - batch.items[0].start))
        let saved = SavedBatches()
        saved.add(batch, 0..<batch.count)
        #expect(saved.ids == (990..<1_000).map { "r\($0)" })
        buffer.recycle(batch)
        #expect(buffer.count == 0)
        buffer.append(APIRequestRecord(Self.entry("next")))
        let again = buffer.takeAll()
        saved.add(again, 0..<again.count)
        #expect(saved.ids.last == "next" && again.count == 1)
    }

    final class SavedBatches: @unchecked Sendable {
        private let lock = NSLock()
        private var all: [String] = []
        func add(_ batch: APILogBatch, _ range: Range<Int>) {
            // The ids as the flusher's segment holds them.
            let ids = range.map { i in
                batch.withElement(i) { e -> String in
                    let bytes = [UInt8(ascii: "[")] + Array(e) + [UInt8(ascii: "]")]
                    return bytes.withUnsafeBufferPointer { b in
                        (try? APILogSegment.parse(b)).flatMap { try? APILogSegment.Fields(0, of: $0, in: b).string(APILogSegment.requestID) } ?? "?"
                    }
                }
            }
            lock.withLock { all += ids }
        }
        var ids: [String] { lock.withLock { all } }
    }

    static func entry(_ id: String, at: Int64 = 0) -> APIRequestEntry {
        APIRequestEntry(requestID: id, createdAt: at, method: "GET", path: "/v1/ping", status: 200, durationMicroseconds: 10, ip: "127.0.0.1",
                        userAgent: "", requestHeaders: "", responseHeaders: "")
    }
}

@Suite("API request log: the record written straight from a request")
struct APILogRecordTests {
    struct Key: APICredential {
        let publicID = "key_abcdefghjkmnpqrs"
        let logName = "sk_sandbox_Ab3x…wxyz"
        let organizationID: Int64 = 7
        let environment = Environment.sandbox
        func access(to resource: APIResource) -> APIAccessLevel { .write }
        /// A name people gave it, with what JSON must escape.
        var logLabel: String? { "Checkout \"blue\" \\ server\n✓" }
    }

    /// The request as a caller could send it: awkward values included.
    static func request(_ headers: [(String, String)], path: String, credential: (any APICredential)?) -> Request {
        let req = Request(HTTPRequest(head: HTTPRequestHead(method: .POST, target: path, headers: HTTPHeaders(headers))),
                          id: Request.makeID(now: 1_796_586_911))
        if let credential { req.storage[APICredentialKey.self] = credential }
        return req
    }

    @Test("An answered request's record is byte for byte the entry's, however odd its headers")
    func theRecordEqualsTheEncodedEntry() throws {
        let middleware = APILogMiddleware(recorder: APILogRecorder(logger: LogCapture().logger) { _, _ in }, clock: PortalClock { 1_796_586_911 },
                                          redaction: SecretPaths.redaction)
        let long = String(repeating: "é", count: 300) // 600 bytes, 300 characters
        let cases: [(headers: [(String, String)], path: String, credential: (any APICredential)?)] = [
            ([("Authorization", "Bearer sk_sandbox_secret"), ("User-Agent", "curl/8.5.0"), ("Accept", "*/*")], "/v1/balances", Key()),
            ([("authorization", "VeryLongSchemeNameHere token"), ("User-Agent", long), ("Content-Type", "application/json; \"q\"\n"),
              ("Idempotency-Key", "key with \\ and \t"), ("Stripe-Version", "sk_live_pasted_here")], "/v1/transactions/" + long, nil),
            ([("Authorization", "Bearer"), ("Content-Length", "12")], "/v1/ping?token=query-secret", Key()),
        ]
        for c in cases {
            let req = Self.request(c.headers, path: c.path, credential: c.credential)
            var res = HTTPResponse(status: .ok, headers: ["Content-Type": "application/json", "RateLimit-Remaining": "199", "X-Other": "x"])
            res.headers.add("Retry-After", String(repeating: "9", count: 250))
            let entry = APIRequestRecord(middleware.entry(req, res, micros: 1234))
            let record = middleware.record(req, res, micros: 1234)
            #expect(String(decoding: record.element.bytes, as: UTF8.self) == String(decoding: entry.element.bytes, as: UTF8.self))
            // The credential's fields, escaped once for the key, read back as the strings they are.
            let fields = try APILogSegmentsTests.decode("[" + String(decoding: record.element.bytes, as: UTF8.self) + "]")[0]
            #expect(fields[2] == c.credential?.publicID && fields[3] == c.credential?.logName && fields[4] == c.credential?.logLabel)
            #expect(record.requestID == entry.requestID && record.createdAt == entry.createdAt && record.second == entry.second
                    && record.organizationID == entry.organizationID && record.environment == entry.environment
                    && record.credentialID == entry.credentialID && record.credentialName == entry.credentialName
                    && record.credentialLabel == entry.credentialLabel && record.ip == entry.ip && record.status == entry.status
                    && record.requestBody == nil && record.responseBody == nil)
        }
    }
}

@Suite("API request log: masking")
struct BodyMaskingTests {
    @Test(arguments: [
        ("sk_sandbox_AbCdEfGhIjKlMnOpQrStUvWxYz0123456789", "sk_sandbox_[masked]"),
        ("key=sk_live_AbCdEfGhIjKlMnOpQrSt", "key=sk_live_[masked]"),
        ("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "whsec_[masked]"),
        ("Authorization: Bearer eyJhbGciOiJIUzI1NiJ9.e30.abc", "Authorization: [masked]"),
        ("basic dXNlcjpwYXNz", "basic [masked]"),
        ("{\"password\": \"correct horse\"}", "{\"password\": \"[masked]\"}"),
        ("client_secret=abc123&grant_type=client_credentials", "client_secret=[masked]&grant_type=client_credentials"),
        ("card 4242 4242 4242 4242 ok", "card ************4242 ok"),
        ("pan=5555-5555-5555-4444", "pan=************4444"),
        ("{\"n\":378282246310005}", "{\"n\":***********0005}"),
        ("amount=1000&currency=EUR&external_id=ord_123456789012", "amount=1000&currency=EUR&external_id=ord_123456789012"),
        ("phone +44 20 7946 0958", "phone +44 20 7946 0958"),
        // Digits inside a word (a request id, a hash) are not a card number.
        ("request 6b15c60a4242424242424242 failed", "request 6b15c60a4242424242424242 failed"),
        ("{\"id\":\"4242424242424242ab\"}", "{\"id\":\"4242424242424242ab\"}"),
        ("{\"id\":\"4242424242424242\"}", "{\"id\":\"************4242\"}"),
    ])
    func masks(_ input: String, _ expected: String) {
        #expect(BodyMasking.mask(input) == expected)
    }

    /// The quick test that skips masking must never skip a text some rule would change: random
    /// texts built from the pieces the rules look for (prefixes, schemes, field names in any
    /// case, digits, separators, non-ASCII) mask the same with and without it.
    @Test func theQuickTestNeverLetsASecretBy() {
        let pieces = ["sk_", "sandbox_", "whsec_", "oat_", "Bearer ", "BASIC ", "Pass", "word", "toKen", "secret", "cvc", "Verifier",
                      "=", ":", " ", "\"", "&", "-", "4242", "42", "1", "abcDEF", "x", "é", "/", ";", "application/json", "api", "key", "_"]
        var g = SystemRandomNumberGenerator()
        var skipped = 0
        for _ in 0..<20_000 {
            let text = (0..<Int.random(in: 1...12, using: &g)).map { _ in pieces.randomElement(using: &g)! }.joined()
            let quick = BodyMasking.mask(text), full = BodyMasking.maskEveryRule(text)
            if quick != full { Issue.record("quick test let by: \(text.debugDescription) → \(full.debugDescription)"); break }
            if !BodyMasking.mayHoldSecret(text) { skipped += 1 }
        }
        #expect(skipped > 1000) // the quick path is taken, so this compared something
        for plain in ["application/x-www-form-urlencoded", "53", "*/*", "application/json; charset=utf-8", "2024-06-01"] {
            #expect(!BodyMasking.mayHoldSecret(plain))
        }
    }

    @Test func keepsTheFirst4KBAndMasksASecretTheCutWouldSplit() throws {
        let card = "4111111111111111"
        let body = String(repeating: "a", count: 4090) + " " + card + String(repeating: "b", count: 10_000)
        let kept = try #require(BodyMasking.keep(Array(body.utf8)))
        #expect(kept.utf8.count <= 4096 + 3)
        #expect(!kept.contains("411111"))
        #expect(kept.hasSuffix("…"))
        #expect(BodyMasking.keep([]) == nil)
    }
}
