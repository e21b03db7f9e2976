import Database
import Glibc
import Web

/// The SQL of the API request log: batch inserts for the flusher, the page and detail reads,
/// the pruning deletes. Every statement is parameterized; writes run inside the caller's
/// transaction.
struct APILogsStore {
    /// What narrows the page (all optional).
    struct Query: Sendable, Equatable {
        var credentialID: String?
        /// `[lower, upper)` of status codes: 200..<300 for "2xx".
        var statuses: Range<Int>?
        var pathPrefix: String?
        var from: Int64?
        var until: Int64?
    }

    /// A row of the page or the head of the detail page.
    struct LogRow: Sendable, Equatable {
        let id: Int64
        let requestID: String
        let createdAt: Int64
        let credentialID: String?
        let credentialName: String?
        let credentialLabel: String?
        let method: String
        let path: String
        let status: Int
        let durationMicroseconds: Int64
        let ip: String
        let userAgent: String
    }

    struct Detail: Sendable, Equatable {
        let row: LogRow
        let requestHeaders: String
        let responseHeaders: String
        /// Nil when none were kept (a success) or they were pruned.
        let requestBody: String?
        let responseBody: String?
    }

    // MARK: writing a batch

    /// A batch's segments made ready to insert (``prepare(_:)``): grouped and encoded before
    /// the write transaction, so the writer is held only for the inserts.
    struct PreparedSegment {
        fileprivate let key: SegmentKey
        fileprivate let firstAt: Int64, lastAt: Int64, firstSecond: Int64, lastSecond: Int64, statuses: Int
        fileprivate let credentials: String
        fileprivate let count: Int
        /// The JSON compressed (``SQLArchive``), with its length; or, when it would not shrink,
        /// the JSON itself and no length.
        fileprivate let data: any SQLBindable
        fileprivate let rawSize: Int?
        /// (position, created_at, request body, response body) of the failed requests.
        fileprivate let bodies: [(Int, Int64, String, String)]
    }

    /// Writes the segments, and the bodies of failures beside them under their segment and
    /// position.
    func insert(_ segments: [PreparedSegment], on db: Connection) throws {
        for p in segments {
            _ = try db.execute("""
                INSERT INTO api_request_segments(organization_id, environment, credentials, first_at, last_at, statuses, first_second, last_second, entries, data, raw_size)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                """, p.key.org, p.key.env?.rawValue, p.credentials, p.firstAt, p.lastAt, p.statuses, p.firstSecond, p.lastSecond, p.count, p.data,
                p.rawSize)
            let segment = db.lastInsertRowID
            for (position, createdAt, request, response) in p.bodies {
                _ = try db.execute("""
                    INSERT INTO api_request_segment_bodies(segment_id, position, created_at, request_body, response_body) VALUES (?, ?, ?, ?, ?)
                    """, segment, position, createdAt, request, response)
            }
        }
    }

    /// The items of `batch` in `range` as segments: one per organization and environment (and
    /// more when one would pass ``APILogSegment/capacity``), each keeping the batch's order.
    func prepare(_ batch: APILogBatch, _ range: Range<Int>, compressor: SQLArchive.Compressor) -> [PreparedSegment] {
        var groups: [(key: SegmentKey, indices: [Int])] = []
        for i in range {
            let key = SegmentKey(org: batch.items[i].facts.organizationID, env: batch.items[i].facts.environment)
            if let g = groups.lastIndex(where: { $0.key == key }), groups[g].indices.count < APILogSegment.capacity {
                groups[g].indices.append(i)
            } else {
                groups.append((key, [i]))
            }
        }
        return groups.map { prepareSegment($0.key, batch, $0.indices, compressor) }
    }

    fileprivate struct SegmentKey: Equatable {
        let org: Int64?
        let env: Environment?
    }

    private func prepareSegment(_ key: SegmentKey, _ batch: APILogBatch, _ indices: [Int], _ compressor: SQLArchive.Compressor) -> PreparedSegment {
        var firstAt = Int64.max, lastAt = Int64.min, firstSecond = Int64.max, lastSecond = Int64.min, statuses = 0
        var seen = Set<String>()
        var lastCredential: String?
        var credentials = " "
        var bodies: [(Int, Int64, String, String)] = []
        for (position, i) in indices.enumerated() {
            let item = batch.items[i]
            firstAt = min(firstAt, item.facts.createdAt)
            lastAt = max(lastAt, item.facts.createdAt)
            firstSecond = min(firstSecond, item.facts.second)
            lastSecond = max(lastSecond, item.facts.second)
            statuses |= Self.statusBit(item.facts.status)
            // The same credential as the item before (nearly always) is not hashed again.
            if let c = item.facts.credentialID, c != lastCredential {
                lastCredential = c
                if seen.insert(c).inserted { credentials += c + " " }
            }
            if let request = item.facts.requestBody, let response = item.facts.responseBody { bodies.append((position, item.facts.createdAt, request, response)) }
        }
        // Compressed before the write transaction, on the flusher's thread (migration 0036 says
        // why), from the elements where they lie in the batch; kept as JSON text when that
        // would not shrink it.
        let compressed = compressor.compress { write in APILogSegment.encode(batch, indices, into: write) }
        return PreparedSegment(key: key, firstAt: firstAt, lastAt: lastAt, firstSecond: firstSecond, lastSecond: lastSecond, statuses: statuses,
                               credentials: credentials, count: indices.count,
                               // Bound as they are: the writer wrote them from strings, escaped, so they are UTF-8.
                               data: compressed?.data ?? UTF8Text(unchecked: APILogSegment.encode(batch, indices)) as any SQLBindable,
                               rawSize: compressed?.size, bodies: bodies)
    }

    /// The bit of a status's class in a segment's `statuses`.
    static func statusBit(_ status: Int) -> Int { 1 << min(max(status / 100, 0), 9) }

    /// The unix second a request id (``Request/makeID(now:)``, 24 hex digits) begins with;
    /// nil for an id of another form (16 digits, made before ids carried their time).
    static func second(of id: String) -> Int64? {
        guard id.utf8.count == 24 else { return nil }
        var v: Int64 = 0
        for b in id.utf8.prefix(8) {
            guard let d = HexDigit.value(b) else { return nil }
            v = v << 4 | Int64(d)
        }
        return v
    }

    func noteCredential(organizationID: Int64, environment: Environment, credentialID: String, name: String, label: String?, at: Int64, on db: Connection) throws {
        _ = try db.execute("""
            INSERT INTO api_request_credentials(organization_id, environment, credential_id, credential_name, credential_label, last_seen_at)
            VALUES (?, ?, ?, ?, ?, ?)
            ON CONFLICT(organization_id, environment, credential_id)
            DO UPDATE SET credential_name = excluded.credential_name, credential_label = excluded.credential_label,
                          last_seen_at = max(last_seen_at, excluded.last_seen_at)
            """, organizationID, environment.rawValue, credentialID, name, label, at)
    }

    // MARK: the page

    /// A page of `limit` rows of one environment, newest first: older than `before`, newer than
    /// `after` (read upwards, returned newest first), or the newest.
    func page(organizationID: Int64, environment: Environment, _ q: Query, before: Int64?, after: Int64?, limit: Int, on db: Connection) throws -> [LogRow] {
        if let before {
            return try scan(organizationID, environment, q, beyond: before, newer: false, limit: limit, on: db)
        } else if let after {
            return try scan(organizationID, environment, q, beyond: after, newer: true, limit: limit, on: db).reversed()
        }
        return try scan(organizationID, environment, q, beyond: nil, newer: false, limit: limit, on: db)
    }

    /// Whether a row of the query lies beyond `id`: newer (`newer` true) or older.
    func exists(organizationID: Int64, environment: Environment, _ q: Query, beyond id: Int64, newer: Bool, on db: Connection) throws -> Bool {
        try !scan(organizationID, environment, q, beyond: id, newer: newer, limit: 1, on: db).isEmpty
    }

    /// Segments read per statement while a page is gathered.
    static let segmentsPerRead = 8

    /// Up to `limit` requests of the query beyond `cursor` (a page id; none: from the newest),
    /// in the order of reading: upwards when `newer`, else downwards. Segments are skipped on
    /// what their columns say (credential, status classes, time span, and the path's bytes in
    /// their JSON) before any of their JSON is parsed.
    private func scan(_ org: Int64, _ env: Environment, _ q: Query, beyond cursor: Int64?, newer: Bool, limit: Int,
                      on db: Connection) throws -> [LogRow] {
        guard limit > 0 else { return [] }
        var sql = "SELECT id, data, raw_size FROM api_request_segments WHERE organization_id = ? AND environment = ?"
        var args: [any SQLBindable] = [org, env.rawValue]
        if let c = q.credentialID { sql += " AND instr(credentials, ?) > 0"; args.append(" \(c) ") }
        if let s = q.statuses {
            var bits = 0
            for status in stride(from: s.lowerBound / 100 * 100, to: s.upperBound, by: 100) { bits |= Self.statusBit(status) }
            sql += " AND statuses & ? != 0"; args.append(bits)
        }
        if let from = q.from { sql += " AND last_at >= ?"; args.append(from) }
        if let until = q.until { sql += " AND first_at < ?"; args.append(until) }
        // The path as its JSON string begins: a segment without these bytes holds no match. Looked
        // for by SQLite in a segment kept as text, here in one inflated.
        let pathNeedle = q.pathPrefix.map { p -> [UInt8] in
            var w = JSONWriter(capacity: p.utf8.count + 8)
            w.string(p)
            return Array(w.bytes.dropLast())
        }
        if let pathNeedle {
            sql += " AND (raw_size IS NOT NULL OR instr(data, ?) > 0)"; args.append(String(decoding: pathNeedle, as: UTF8.self))
        }
        sql += newer ? " AND id >= ? ORDER BY id ASC LIMIT ?" : " AND id <= ? ORDER BY id DESC LIMIT ?"
        let capacity = Int64(APILogSegment.capacity)
        var bound: Int64 = cursor.map { $0 >= 0 ? $0 / capacity : -1 } ?? Int64.max
        var rows: [LogRow] = []
        while rows.count < limit {
            var read = 0
            try db.forEach(sql, arguments: args + [bound, Self.segmentsPerRead]) { r in
                read += 1
                let segment = try r.int64(0)
                bound = newer ? segment + 1 : segment - 1
                guard rows.count < limit else { return }
                // Parsed where SQLite holds it (or where it was inflated): no String of the whole
                // segment (its copy and UTF-8 check cost as much as the parse).
                try Self.withJSON(r) { bytes in
                    if let pathNeedle, pathNeedle.count >= 2, !Self.contains(bytes, pathNeedle) { return }
                    let slots = try APILogSegment.parse(bytes)
                    // Positions [low, high) of this segment, all of them or those beyond the cursor.
                    var low = 0, high = slots.count / APILogSegment.fieldCount
                    if let cursor, cursor >= 0, cursor / capacity == segment {
                        let p = Int(cursor % capacity)
                        if newer { low = min(p + 1, high) } else { high = min(p, high) }
                    }
                    for position in stride(from: newer ? low : high - 1, to: newer ? high : low - 1, by: newer ? 1 : -1) where rows.count < limit {
                        let f = APILogSegment.Fields(position, of: slots, in: bytes)
                        guard try Self.matches(f, q) else { continue }
                        rows.append(try Self.row(f, id: segment * capacity + Int64(position)))
                    }
                }
            }
            if read < Self.segmentsPerRead { break }
        }
        return rows
    }

    private static func matches(_ f: APILogSegment.Fields, _ q: Query) throws -> Bool {
        if let c = q.credentialID, try !f.equals(APILogSegment.credentialID, c) { return false }
        if let s = q.statuses, try !s.contains(Int(f.integer(APILogSegment.status))) { return false }
        if q.from != nil || q.until != nil {
            let at = try f.integer(APILogSegment.createdAt)
            if let from = q.from, at < from { return false }
            if let until = q.until, at >= until { return false }
        }
        if let p = q.pathPrefix, try !f.string(APILogSegment.path).utf8.starts(with: p.utf8) { return false }
        return true
    }

    private static func row(_ f: APILogSegment.Fields, id: Int64) throws -> LogRow {
        typealias S = APILogSegment
        return LogRow(id: id, requestID: try f.string(S.requestID), createdAt: try f.integer(S.createdAt),
                      credentialID: try f.optionalString(S.credentialID), credentialName: try f.optionalString(S.credentialName),
                      credentialLabel: try f.optionalString(S.credentialLabel), method: try f.string(S.method), path: try f.string(S.path),
                      status: Int(try f.integer(S.status)), durationMicroseconds: try f.integer(S.duration), ip: try f.string(S.ip),
                      userAgent: try f.string(S.userAgent))
    }

    /// Whether the environment has any request at all (for the page's first-request advice).
    func hasAny(organizationID: Int64, environment: Environment, on db: Connection) throws -> Bool {
        try db.queryOne("SELECT 1 FROM api_request_segments WHERE organization_id = ? AND environment = ? LIMIT 1", organizationID, environment.rawValue) != nil
    }

    /// The credentials seen in the environment, most recently used first.
    func credentials(organizationID: Int64, environment: Environment, on db: Connection) throws -> [(id: String, name: String, label: String?)] {
        try db.query("""
            SELECT credential_id, credential_name, credential_label FROM api_request_credentials WHERE organization_id = ? AND environment = ?
            ORDER BY last_seen_at DESC, credential_id LIMIT 200
            """, organizationID, environment.rawValue).map { (try $0.string(0), try $0.string(1), try $0.optionalString(2)) }
    }

    /// How long a request may have run before its entry was written: the detail lookup looks
    /// this far back from the second in its id.
    static let longestRequest: Int64 = 3600

    /// The request with this id, found among the segments whose span of seconds holds the
    /// second its id begins with (any segment of the environment for an id of 16 digits).
    func detail(organizationID: Int64, environment: Environment, requestID: String, on db: Connection) throws -> Detail? {
        var sql = "SELECT id, data, raw_size FROM api_request_segments WHERE organization_id = ? AND environment = ?"
        var args: [any SQLBindable] = [organizationID, environment.rawValue]
        if let second = Self.second(of: requestID) {
            sql += " AND first_second BETWEEN ? AND ? AND last_second >= ?"
            args += [second - Self.longestRequest, second, second]
        }
        sql += " ORDER BY id DESC"
        // The id as it stands in a segment's JSON, looked for before a segment is parsed (here,
        // not by SQLite's instr, which calls memcmp at every byte of 400 KB).
        let needle = Array(("\"" + requestID + "\"").utf8)
        var found: (segment: Int64, position: Int, row: LogRow, requestHeaders: String, responseHeaders: String)?
        try db.forEach(sql, arguments: args) { r in
            guard found == nil else { return }
            let segment = try r.int64(0)
            try Self.withJSON(r) { bytes in
                guard Self.contains(bytes, needle) else { return }
                let slots = try APILogSegment.parse(bytes)
                for position in (0..<(slots.count / APILogSegment.fieldCount)).reversed() {
                    let f = APILogSegment.Fields(position, of: slots, in: bytes)
                    if try f.equals(APILogSegment.requestID, requestID) {
                        found = (segment, position, try Self.row(f, id: segment * Int64(APILogSegment.capacity) + Int64(position)),
                                 try f.string(APILogSegment.requestHeaders), try f.string(APILogSegment.responseHeaders))
                        return
                    }
                }
            }
        }
        guard let found else { return nil }
        let bodies = try db.queryOne("SELECT request_body, response_body FROM api_request_segment_bodies WHERE segment_id = ? AND position = ?",
                                     found.segment, found.position)
        return Detail(row: found.row, requestHeaders: found.requestHeaders, responseHeaders: found.responseHeaders,
                      requestBody: try bodies?.string(0), responseBody: try bodies?.string(1))
    }

    /// The JSON of a segment read by `SELECT id, data, raw_size`: in place when kept as text,
    /// else inflated.
    private static func withJSON(_ r: RowView, _ body: (UnsafeBufferPointer<UInt8>) throws -> Void) throws {
        let size = try r.optionalInt64(2)
        _ = try r.withBytes(1) { stored in
            guard let size else { return try body(stored) }
            try SQLArchive.uncompress(stored, size: Int(size)).withUnsafeBufferPointer(body)
        }
    }

    /// Whether `needle` (two bytes or more) occurs in `hay`: `memchr` to each place its
    /// next-to-last byte occurs, then one comparison there.
    static func contains(_ hay: UnsafeBufferPointer<UInt8>, _ needle: [UInt8]) -> Bool {
        let n = needle.count, k = n - 2
        guard n >= 2, hay.count >= n, let base = hay.baseAddress else { return false }
        return needle.withUnsafeBytes { nb in
            var from = k
            while from < hay.count {
                guard let hit = memchr(base + from, Int32(needle[k]), hay.count - from) else { return false }
                let at = base.distance(to: hit.assumingMemoryBound(to: UInt8.self))
                let start = at - k
                if start + n <= hay.count, memcmp(base + start, nb.baseAddress!, n) == 0 { return true }
                from = at + 1
            }
            return false
        }
    }

    // MARK: pruning

    /// Segments one pruning statement deletes at most: a segment written under load holds
    /// thousands of requests, so fewer than the bodies' batch keep the writer's hold short.
    static let pruneSegments = 50

    /// Deletes the segments whose newest request is older than `cutoff` among the
    /// ``pruneSegments`` oldest (their bodies go with them); returns how many went. Segments
    /// are written in the order of their batches, so the oldest are the lowest ids: the
    /// primary key is walked, no index on the time is kept (a clock stepped back only delays
    /// the segments behind it until it has aged too).
    func deleteSegments(olderThan cutoff: Int64, on db: Connection) throws -> Int {
        try db.execute("""
            DELETE FROM api_request_segments WHERE id IN
              (SELECT id FROM (SELECT id, last_at FROM api_request_segments ORDER BY id LIMIT ?) WHERE last_at < ?)
            """, Self.pruneSegments, cutoff)
    }

    func deleteBodies(olderThan cutoff: Int64, limit: Int, on db: Connection) throws -> Int {
        try db.execute("""
            DELETE FROM api_request_segment_bodies WHERE (segment_id, position) IN
              (SELECT segment_id, position FROM
                (SELECT segment_id, position, created_at FROM api_request_segment_bodies ORDER BY segment_id, position LIMIT ?)
               WHERE created_at < ?)
            """, limit, cutoff)
    }

    func deleteCredentials(lastSeenBefore cutoff: Int64, on db: Connection) throws -> Int {
        try db.execute("DELETE FROM api_request_credentials WHERE last_seen_at < ?", cutoff)
    }
}
