import Database
import Foundation
import HTTP
import Synchronization
import Logging
@testable import Portal

/// The repository root, found from this file's path, for Templates/, Public/, Migrations/.
let repoRoot: String = {
    var url = URL(fileURLWithPath: #filePath)
    for _ in 0..<3 { url.deleteLastPathComponent() }
    return url.path
}()

/// A running Portal on an ephemeral port with a database in a fresh temporary folder.
// Immutable after init; requests open their own sockets, so threads may share it.
final class TestPortal: @unchecked Sendable {
    let app: PortalApp
    let dir: String
    let clock = TestClock()
    var port: Int { app.server.port }

    /// `logger`: where the portal logs (by default nowhere below critical).
    init(logger: Logger? = nil, configure: (inout PortalConfig) -> Void = { _ in }) throws {
        dir = NSTemporaryDirectory() + "portal-test-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        var config = PortalConfig()
        config.port = 0
        config.databasePath = dir + "/var/portal.sqlite"
        config.templatesDirectory = repoRoot + "/Templates"
        config.publicDirectory = repoRoot + "/Public"
        config.migrationsDirectory = repoRoot + "/Migrations"
        config.server.minWorkers = 2
        config.scryptLogN = 10
        config.clock = clock.portalClock
        configure(&config)
        var quiet = Logger(label: "portal-test")
        quiet.logLevel = .critical
        app = try PortalApp(config: config, logger: logger ?? quiet)
        try app.start()
    }

    deinit {
        app.shutdown()
        app.waitUntilStopped()
        try? FileManager.default.removeItem(atPath: dir)
    }

    /// One request on a new connection; returns status, headers (lower-cased names) and body.
    /// `from`: the client's source address (any of 127.0.0.0/8), to come from another network.
    func request(_ method: String = "GET", _ path: String, headers: [String: String] = [:], body: String? = nil,
                 from source: String? = nil) throws -> TestResponse {
        let c = try Socket(port: port, from: source)
        var raw = "\(method) \(path) HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n"
        for (k, v) in headers { raw += "\(k): \(v)\r\n" }
        if let body { raw += "Content-Length: \(body.utf8.count)\r\n" }
        raw += "\r\n" + (body ?? "")
        c.send(Array(raw.utf8))
        return try TestResponse(parsing: c.readAll(), headRequest: method == "HEAD")
    }

    func raw(_ bytes: String) throws -> TestResponse {
        let c = try Socket(port: port)
        c.send(Array(bytes.utf8))
        return try TestResponse(parsing: c.readAll(), headRequest: false)
    }
}

struct TestResponse {
    let status: Int
    let headers: [String: String]
    /// Every header line in order (several `Set-Cookie` lines stay apart).
    let fields: [(String, String)]
    let body: [UInt8]
    var text: String { String(decoding: body, as: UTF8.self) }
    subscript(_ name: String) -> String? { headers[name.lowercased()] }
    func all(_ name: String) -> [String] { fields.filter { $0.0 == name.lowercased() }.map(\.1) }

    init(parsing data: [UInt8], headRequest: Bool) throws {
        guard let end = data.firstRange(of: [13, 10, 13, 10]) else { throw TestError.malformed(String(decoding: data, as: UTF8.self)) }
        let head = String(decoding: data[..<end.lowerBound], as: UTF8.self).components(separatedBy: "\r\n")
        status = Int(head[0].split(separator: " ")[1]) ?? 0
        var h: [String: String] = [:]
        var f: [(String, String)] = []
        for line in head.dropFirst() {
            guard let i = line.firstIndex(of: ":") else { continue }
            let name = line[..<i].lowercased(), value = line[line.index(after: i)...].trimmingCharacters(in: .whitespaces)
            h[name] = value
            f.append((name, value))
        }
        headers = h
        fields = f
        body = Array(data[end.upperBound...])
    }
}

enum TestError: Error { case malformed(String), connect }

/// A blocking client socket that reads until the server closes.
final class Socket {
    let fd: Int32
    init(port: Int, from source: String? = nil) throws {
        fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var tv = timeval(tv_sec: 5, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        if let source {
            // Linux answers for all of 127.0.0.0/8: binding 127.0.0.2 makes a second network.
            var local = sockaddr_in()
            local.sin_family = sa_family_t(AF_INET)
            local.sin_addr.s_addr = inet_addr(source)
            let bound = withUnsafePointer(to: &local) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
            if bound != 0 { close(fd); throw TestError.connect }
        }
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_port = UInt16(port).bigEndian
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        let rc = withUnsafePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
        if rc != 0 { close(fd); throw TestError.connect }
    }
    deinit { close(fd) }
    func send(_ b: [UInt8]) { _ = b.withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) } }
    func readAll() -> [UInt8] {
        var out: [UInt8] = []
        var buf = [UInt8](repeating: 0, count: 65536)
        while true {
            let n = recv(fd, &buf, buf.count, 0)
            if n <= 0 { return out }
            out += buf[0..<n]
        }
    }
}

/// Real time plus an offset a test can move forward; or, once stopped, the second it was
/// stopped at plus that offset.
final class TestClock: Sendable {
    private let offset = Atomic<Int64>(0)
    /// The real second the clock stopped at, 0 while it runs.
    private let stoppedAt = Atomic<Int64>(0)
    func advance(seconds: Int64) { offset.add(seconds, ordering: .relaxed) }
    /// From now on every reading, the portal's and the test's, is the same second until the
    /// test advances it: for checks at an exact second (an expiry, a 30-second code step, a
    /// minute shown on a page), which a second or a step turning over between two readings of
    /// the running clock made fail now and then.
    func stop() { stoppedAt.store(Int64(Date().timeIntervalSince1970), ordering: .relaxed) }
    var now: Int64 {
        let stopped = stoppedAt.load(ordering: .relaxed)
        return (stopped != 0 ? stopped : Int64(Date().timeIntervalSince1970)) + offset.load(ordering: .relaxed)
    }
    var portalClock: PortalClock { PortalClock { [self] in now } }
}

/// A database an older version wrote: the migrations before `migration` applied, Ana Lovelace
/// (user 1) and Acme B.V. (organization 1) in it, then whatever `fill` adds. Open it with
/// `TestPortal { $0.databasePath = older.path }` to upgrade it; `remove()` when done.
struct OlderDatabase {
    let directory: String
    var path: String { directory + "/var/portal.sqlite" }

    init(before migration: String, now: Int64, fill: (Connection) throws -> Void) throws {
        directory = NSTemporaryDirectory() + "portal-upgrade-" + UUID().uuidString
        let old = directory + "/old-migrations"
        try FileManager.default.createDirectory(atPath: old, withIntermediateDirectories: true)
        try FileManager.default.createDirectory(atPath: directory + "/var", withIntermediateDirectories: true)
        for name in try FileManager.default.contentsOfDirectory(atPath: repoRoot + "/Migrations") where name < migration {
            try FileManager.default.copyItem(atPath: repoRoot + "/Migrations/" + name, toPath: old + "/" + name)
        }
        let db = try Database(path: directory + "/var/portal.sqlite")
        defer { db.close() }
        _ = try Migrator(directory: old).migrate(db)
        try db.write { c in
            try c.execute("INSERT INTO users (id, email, name, password_hash, created_at, updated_at) VALUES (1, 'ana@example.com', 'Ana Lovelace', 'x', ?, ?)", now, now)
            try c.execute("""
                INSERT INTO organizations (id, public_id, legal_name, trading_name, country, registration_number, address, website,
                                           industry, compliance_email, created_by, created_at, updated_at)
                VALUES (1, 'org_aaaaaaaaaaaaaaaa', 'Acme B.V.', '', 'NL', '1', 'Street 1', 'https://a.example', 'Other', 'c@a.example', 1, ?, ?)
                """, now, now)
            try fill(c)
        }
    }

    func remove() { try? FileManager.default.removeItem(atPath: directory) }
}
