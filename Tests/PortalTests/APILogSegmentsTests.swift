import Database
import Foundation
import Testing
import TestSupport
import Web
@testable import Portal

/// The request log's storage: segments of JSON (migration 0033), compressed (0036). What is written reads back
/// the same, SQLite's own JSON reads the same as ours, pages and filters across many segments
/// are what a plain filter of the requests gives, and a log written before segments is kept.
@Suite("API request log: segments")
struct APILogSegmentsTests {
    static let awkward = ["plain", "quote \" and backslash \\ and slash /", "tab\tnew\nline\r\u{8}\u{c}", "nul \u{0} and \u{1f}",
                          "Grüße, 東京, 👩🏽‍💻", "", "[\"not\",\"an\",\"element\"]", "\\u0041 stays text"]

    static func entry(_ i: Int, id: String? = nil, org: Int64?, env: Environment?, key: String?, status: Int = 200, at: Int64,
                      path: String = "/v1/balances", text: String = "curl/8") -> APIRequestEntry {
        var e = APIRequestEntry(requestID: id ?? Request.makeID(now: Int(at)), createdAt: at, organizationID: org, environment: env,
                                credentialID: key, credentialName: key.map { "sk_sandbox_…\($0.suffix(4))" }, method: i % 3 == 0 ? "POST" : "GET",
                                path: path, status: status, durationMicroseconds: Int64(40 + i), ip: "192.0.2.\(i % 250)", userAgent: text,
                                requestHeaders: "Accept: \(text)\n", responseHeaders: "Request-Id: x\n")
        e.credentialLabel = key == nil ? nil : "Key \(text)"
        if status >= 400 { e.requestBody = "{\"n\":\(i)}"; e.responseBody = "{\"error\":\"\(i)\"}" }
        return e
    }

    static func decode(_ json: String) throws -> [[String?]] {
        var json = json
        return try json.withUTF8 { bytes in
            let slots = try APILogSegment.parse(bytes)
            return try (0..<(slots.count / APILogSegment.fieldCount)).map { position in
                let f = APILogSegment.Fields(position, of: slots, in: bytes)
                return try (0..<APILogSegment.fieldCount).map { k in
                    if case .integer(let n) = f.slots[f.slots.startIndex + k] { return String(n) }
                    return try f.optionalString(k)
                }
            }
        }
    }

    static func fields(_ e: APIRequestEntry) -> [String?] {
        [e.requestID, String(e.createdAt), e.credentialID, e.credentialName, e.credentialLabel, e.method, e.path, String(e.status),
         String(e.durationMicroseconds), e.ip, e.userAgent, e.requestHeaders, e.responseHeaders]
    }

    @Test func whatIsWrittenReadsBackTheSameAndSQLitesJSONReadsLikeOurs() throws {
        let entries = Self.awkward.enumerated().map { i, s in
            Self.entry(i, org: i % 2 == 0 ? 7 : nil, env: i % 2 == 0 ? .sandbox : nil, key: i % 2 == 0 ? "key_\(i)" : nil, at: 1_796_586_911 + Int64(i),
                       path: "/v1/" + s, text: s)
        }
        let ours = String(decoding: APILogSegment.encode(entries[...]), as: UTF8.self)
        #expect(try Self.decode(ours) == entries.map(Self.fields))
        // SQLite's JSON (what the migration wrote from the old rows, and what the view reads)
        // agrees with ours both ways.
        let db = try Connection(path: ":memory:")
        defer { db.close() }
        var sqlites: [String] = []
        for e in entries {
            let f = Self.fields(e)
            let args: [any SQLBindable] = [f[0], e.createdAt, f[2], f[3], f[4], f[5], f[6], e.status, e.durationMicroseconds, f[9], f[10], f[11], f[12]]
            sqlites.append(try db.scalar("SELECT json_array(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", arguments: args, as: String.self) ?? "")
        }
        #expect(try Self.decode("[" + sqlites.joined(separator: ",") + "]") == entries.map(Self.fields))
        // (SQLite's own reading ends a string at an escaped NUL, so that one is left out here.)
        for (k, e) in entries.enumerated() where !e.userAgent.contains("\u{0}") {
            #expect(try db.scalar("SELECT json_extract(?, ?)", ours, "$[\(k)][10]", as: String.self) == e.userAgent)
        }
        // An empty segment, and what is not one.
        #expect(try Self.decode("[]").isEmpty)
        for bad in ["", "[", "[[\"a\"]]", "[[1,2,3,4,5,6,7,8,9,10,11,12,13", "{}", "[[1.5,2,3,4,5,6,7,8,9,10,11,12,13]]", "[[\"unterminated]]"] {
            #expect(throws: APILogSegment.Malformed.self) { try Self.decode(bad) }
        }
    }

    /// The detail page's search for an id in a segment's bytes: found wherever it stands, not
    /// found when only part of it does.
    @Test(arguments: [
        ("\"abc\"", "\"abc\"", true), ("x\"abc\"", "\"abc\"", true), ("\"abc\"x", "\"abc\"", true), ("\"ab\"abc\"", "\"abc\"", true),
        ("\"abd\"", "\"abc\"", false), ("\"abc", "\"abc\"", false), ("abc\"", "\"abc\"", false), ("", "\"abc\"", false),
        ("cc\"abc\"c\"", "\"abc\"", true), ("\"a\"\"a\"", "\"a\"", true), ("\"b\"", "\"a\"", false),
    ])
    func findsAnIdInASegmentsBytes(_ hay: String, _ needle: String, _ found: Bool) {
        var hay = hay
        hay.withUTF8 { #expect(APILogsStore.contains($0, Array(needle.utf8)) == found) }
    }

    /// Many batches of three keys, two environments and nobody's requests, paged 7 at a time
    /// with each filter: the pages, read down and back up, are the plain filter of the requests.
    @Test func pagesAcrossSegmentsAreWhatAPlainFilterGives() throws {
        let (portal, _, orgPublicID) = try TestPortal.withLogOwner()
        let org = try portal.orgRowID(orgPublicID)
        let base: Int64 = 1_796_586_000
        var all: [APIRequestEntry] = []
        var i = 0
        for batch in 0..<9 {
            var entries: [APIRequestEntry] = []
            for _ in 0..<(5 + batch * 3) {
                i += 1
                let env: Environment? = i % 5 == 0 ? .production : (i % 7 == 0 ? nil : .sandbox)
                let status = [200, 201, 404, 422, 500, 200][i % 6]
                entries.append(Self.entry(i, org: env == nil ? nil : org, env: env, key: env == nil ? nil : ["key_aaaa", "key_bbbb", "key_cccc"][i % 3],
                                          status: status, at: base + Int64(i * 20), path: i % 4 == 0 ? "/v1/transactions/txn_\(i)" : "/v1/balances"))
            }
            try portal.app.apiLogs.save(entries)
            all += entries
        }
        let store = APILogsStore()
        // Kept compressed (migration 0036), and read back through the view by SQLite alone.
        try portal.app.database.read { db in
            let kinds = try db.query("SELECT typeof(data), raw_size IS NOT NULL, count(*), sum(length(data)), sum(raw_size) FROM api_request_segments GROUP BY 1, 2")
            let (type, compressed, stored, raw) = (try kinds.first?.string(0), try kinds.first?.bool(1), try kinds.first?.int(3) ?? 0, try kinds.first?.int(4) ?? 0)
            #expect(kinds.count == 1 && type == "blob" && compressed == true)
            #expect(stored * 3 < raw)
            #expect(try db.query("SELECT request_id FROM api_requests").map { try $0.string(0) }.sorted() == all.map(\.requestID).sorted())
        }
        let sandbox = all.filter { $0.organizationID == org && $0.environment == .sandbox }
        let queries: [APILogsStore.Query] = [
            .init(), .init(credentialID: "key_bbbb"), .init(statuses: 400..<500), .init(statuses: 500..<600), .init(pathPrefix: "/v1/transactions/"),
            .init(from: base + 300, until: base + 1500), .init(credentialID: "key_cccc", statuses: 200..<300, from: base + 200),
            .init(credentialID: "key_none"),
        ]
        for q in queries {
            let expected = sandbox.filter { e in
                (q.credentialID == nil || e.credentialID == q.credentialID) && (q.statuses?.contains(e.status) ?? true)
                    && (q.pathPrefix.map { e.path.hasPrefix($0) } ?? true) && (q.from.map { e.createdAt >= $0 } ?? true) && (q.until.map { e.createdAt < $0 } ?? true)
            }.reversed().map(\.requestID)
            try portal.app.database.read { db in
                var seen: [String] = []
                var pages: [[APILogsStore.LogRow]] = []
                var before: Int64?
                while true {
                    let page = try store.page(organizationID: org, environment: .sandbox, q, before: before, after: nil, limit: 7, on: db)
                    if page.isEmpty { break }
                    pages.append(page)
                    seen += page.map(\.requestID)
                    #expect(try store.exists(organizationID: org, environment: .sandbox, q, beyond: page.last!.id, newer: false, on: db) == (seen.count < expected.count))
                    before = page.last!.id
                }
                #expect(seen == Array(expected), "query \(q)")
                // Back up from the last page, page by page, with `after`.
                for k in stride(from: pages.count - 1, to: 0, by: -1) {
                    let up = try store.page(organizationID: org, environment: .sandbox, q, before: nil, after: pages[k].first!.id, limit: 7, on: db)
                    #expect(up.map(\.requestID) == pages[k - 1].map(\.requestID), "query \(q), page \(k)")
                }
            }
        }
        // Each request's detail, its bodies with it; another environment's id is not found here.
        try portal.app.database.read { db in
            for e in all.filter({ $0.organizationID == org }) {
                let d = try store.detail(organizationID: org, environment: .sandbox, requestID: e.requestID, on: db)
                if e.environment == .sandbox {
                    #expect(d?.row.path == e.path && d?.row.status == e.status && d?.requestHeaders == e.requestHeaders)
                    #expect(d?.responseBody == e.responseBody && d?.requestBody == e.requestBody)
                } else {
                    #expect(d == nil)
                }
            }
        }
    }

    /// A log written before segments (one row per request, migration 0028) is upgraded by
    /// 0033: its requests show on the page and in their detail with their bodies, and new
    /// requests are written after them.
    @Test func aLogWrittenBeforeSegmentsIsKept() throws {
        let now = Int64(Date().timeIntervalSince1970)
        let legacyID = "0123456789abcdef", recentID = Request.makeID(now: Int(now - 100))
        let older = try OlderDatabase(before: "0033", now: now) { c in
            try c.execute("""
                INSERT INTO api_requests(request_id, request_key, created_at, organization_id, environment, credential_id, credential_name, credential_label,
                                         method, path, status, duration_us, ip, user_agent, request_headers, response_headers) VALUES
                (?, 81985529216486895, ?, 1, 'sandbox', 'key_old', 'sk_sandbox_…old1', 'Old "server"', 'GET', '/v1/balances', 200, 51, '192.0.2.1',
                 'curl/7 "quoted"', 'Accept: */*\n', 'Request-Id: 0123456789abcdef\n'),
                (?, 0, ?, 1, 'sandbox', 'key_old', 'sk_sandbox_…old1', NULL, 'POST', '/v1/transactions', 422, 77, '192.0.2.2', 'Grüße/1',
                 'Content-Type: application/json\n', 'Request-Id: x\n'),
                (?, 0, ?, NULL, NULL, NULL, NULL, NULL, 'GET', '/v1/ping', 401, 5, '192.0.2.3', 'x', '', '')
                """, legacyID, now - 200, recentID, now - 100, Request.makeID(now: Int(now - 50)), now - 50)
            try c.execute("INSERT INTO api_request_bodies(api_request_id, created_at, request_body, response_body) VALUES (2, ?, '{\"amount\":-1}', '{\"error\":\"invalid\"}')", now - 100)
        }
        defer { older.remove() }
        let path = older.path
        let portal = try TestPortal { $0.databasePath = path }
        let store = APILogsStore()
        try portal.app.database.read { db in
            let rows = try store.page(organizationID: 1, environment: .sandbox, .init(), before: nil, after: nil, limit: 50, on: db)
            #expect(rows.map(\.requestID) == [recentID, legacyID])
            #expect(rows[1].credentialLabel == "Old \"server\"" && rows[1].userAgent == "curl/7 \"quoted\"" && rows[0].userAgent == "Grüße/1")
            let legacy = try #require(try store.detail(organizationID: 1, environment: .sandbox, requestID: legacyID, on: db))
            #expect(legacy.row.status == 200 && legacy.requestHeaders == "Accept: */*\n" && legacy.responseBody == nil)
            let recent = try #require(try store.detail(organizationID: 1, environment: .sandbox, requestID: recentID, on: db))
            #expect(recent.row.status == 422 && recent.requestBody == "{\"amount\":-1}" && recent.responseBody == "{\"error\":\"invalid\"}")
            #expect(try db.scalar("SELECT count(*) FROM api_requests", as: Int.self) == 3)
        }
        try portal.app.apiLogs.save([Self.entry(1, org: 1, env: .sandbox, key: "key_new", at: now, text: "new")])
        try portal.app.database.read { db in
            let rows = try store.page(organizationID: 1, environment: .sandbox, .init(), before: nil, after: nil, limit: 2, on: db)
            #expect(rows.map(\.credentialID) == ["key_new", "key_old"])
            #expect(try store.page(organizationID: 1, environment: .sandbox, .init(), before: rows[1].id, after: nil, limit: 2, on: db).map(\.requestID) == [legacyID])
            // The segments 0033 made stay text, the new one is compressed (0036): a path filter,
            // the detail and the view read both.
            let kinds = try db.query("SELECT typeof(data), raw_size IS NULL FROM api_request_segments ORDER BY id").map { "\(try $0.string(0)) \(try $0.bool(1))" }
            #expect(kinds.dropLast().allSatisfy { $0 == "text true" } && kinds.last == "blob false", "\(kinds)")
            #expect(try store.page(organizationID: 1, environment: .sandbox, .init(pathPrefix: "/v1/bal"), before: nil, after: nil, limit: 5, on: db)
                .map(\.credentialID) == ["key_new", "key_old"])
            #expect(try store.page(organizationID: 1, environment: .sandbox, .init(pathPrefix: "/v1/tr"), before: nil, after: nil, limit: 5, on: db)
                .map(\.requestID) == [recentID])
            let new = try #require(rows.first)
            #expect(try store.detail(organizationID: 1, environment: .sandbox, requestID: new.requestID, on: db)?.requestHeaders == "Accept: new\n")
            #expect(try db.scalar("SELECT count(*) FROM api_requests", as: Int.self) == 4)
        }
    }
}
