import Foundation
import Logging
import Testing
@testable import Portal

/// A webhook receiver on loopback: `Tests/Support/webhook_receiver.py` (Python's http.server,
/// keep-alive), which verifies each request with the reference `standardwebhooks` package
/// when given the secrets. Configured and read over HTTP.
final class WebhookReceiver: @unchecked Sendable {
    let process = Process()
    let input = Pipe()
    let port: Int

    init() throws {
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", repoRoot + "/Tests/Support/webhook_receiver.py", "--exit-with-stdin"]
        let out = Pipe()
        process.standardOutput = out
        process.standardInput = input
        try process.run()
        var line = ""
        while !line.hasSuffix("\n") {
            let d = out.fileHandleForReading.readData(ofLength: 1)
            if d.isEmpty { throw TestFailure("the receiver did not start") }
            line += String(decoding: d, as: UTF8.self)
        }
        guard let p = Int(line.dropFirst(5).trimmingCharacters(in: .whitespacesAndNewlines)) else { throw TestFailure("receiver said \(line)") }
        port = p
    }

    deinit {
        // Closing its stdin ends the receiver (Process.waitUntilExit can hang off the main thread).
        try? input.fileHandleForWriting.close()
        kill(process.processIdentifier, SIGTERM)
    }

    func url(_ path: String) -> String { "http://127.0.0.1:\(port)\(path)" }

    private func call(_ method: String, _ path: String, body: String? = nil) throws -> TestResponse {
        let c = try Socket(port: port)
        var raw = "\(method) \(path) HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n"
        if let body { raw += "Content-Type: application/json\r\nContent-Length: \(body.utf8.count)\r\n" }
        raw += "\r\n" + (body ?? "")
        c.send(Array(raw.utf8))
        return try TestResponse(parsing: c.readAll(), headRequest: false)
    }

    /// How `path` answers from now on.
    func configure(_ path: String, status: Int = 200, headers: [[String]] = [], hold: Double = 0, secrets: [String] = []) throws {
        let obj: [String: Any] = ["status": status, "headers": headers, "hold": hold, "secrets": secrets]
        let body = String(decoding: try JSONSerialization.data(withJSONObject: obj), as: UTF8.self)
        _ = try call("POST", "/_control\(path)", body: body)
    }

    struct Received {
        let headers: [String: String]
        let body: String
        let verified: [Any]
        var id: String { headers["webhook-id"] ?? "" }
        var json: [String: Any] { (try? JSONSerialization.jsonObject(with: Data(body.utf8))) as? [String: Any] ?? [:] }
        var allVerified: Bool { !verified.isEmpty && verified.allSatisfy { ($0 as? Bool) == true } }
    }

    func requests(_ path: String) throws -> [Received] {
        let r = try call("GET", "/_requests\(path)")
        let list = try JSONSerialization.jsonObject(with: Data(r.body)) as? [[String: Any]] ?? []
        return list.map { e in
            var h: [String: String] = [:]
            for pair in e["headers"] as? [[String]] ?? [] where pair.count == 2 { h[pair[0].lowercased()] = pair[1] }
            return Received(headers: h, body: e["body"] as? String ?? "", verified: e["verified"] as? [Any] ?? [])
        }
    }

    /// Waits (up to `seconds`) until `path` has received `count` requests.
    @discardableResult
    func wait(_ path: String, count: Int, seconds: Double = 10) throws -> [Received] {
        let deadline = Date(timeIntervalSinceNow: seconds)
        while true {
            let got = try requests(path)
            if got.count >= count || Date() > deadline { return got }
            Thread.sleep(forTimeInterval: 0.05)
        }
    }
}

/// Polls `condition` until true or `seconds` pass; returns whether it became true.
@discardableResult
func eventually(_ seconds: Double = 10, _ condition: () throws -> Bool) rethrows -> Bool {
    let deadline = Date(timeIntervalSinceNow: seconds)
    while Date() < deadline {
        if try condition() { return true }
        Thread.sleep(forTimeInterval: 0.05)
    }
    return try condition()
}

/// A portal with the webhooks flag on, a signed-in Owner of one organization and a receiver.
struct WebhookFixture {
    let portal: TestPortal
    let browser: Browser
    let owner: TestUser
    let org: String
    let receiver: WebhookReceiver

    init(logger: Logger? = nil, configure: (inout PortalConfig) -> Void = { $0.webhooksAllowPrivateNetworks = true }) throws {
        portal = try TestPortal(logger: logger, configure: configure)
        browser = Browser(portal)
        owner = try TestUser.enrolled(portal, browser)
        org = try owner.createOrganization(portal, browser)
        receiver = try WebhookReceiver()
    }

    var base: String { "/orgs/\(org)/sandbox/webhooks" }

    /// Adds an endpoint through the form; returns its id (from the redirect).
    func addEndpoint(_ url: String, events: [String] = ["all"], description: String = "") throws -> String {
        let r = try browser.submit("\(base)/new", to: "\(base)/new", [("url", url), ("description", description)] + events.map { ("events", $0) })
        guard r.status == 303, let location = r["Location"] else { throw TestFailure("add endpoint: \(r.status) \(r.text.prefix(2000))") }
        return String(location.split(separator: "/").last!)
    }

    /// A fresh authenticator code (the clock moves a step first: codes are single-use).
    func code() -> String {
        portal.clock.advance(seconds: 30)
        return owner.code(portal)
    }

    /// Reveals the endpoint's secrets with a fresh code.
    func secrets(_ endpoint: String) throws -> [String] {
        let r = try browser.submit("\(base)/\(endpoint)", to: "\(base)/\(endpoint)/secret", [("code", code())])
        #expect(r.status == 200 && r["cache-control"] == "no-store", "reveal: \(r.status)")
        return r.shownWebhookSecrets
    }

    func sendTest(_ endpoint: String) throws -> String {
        let r = try browser.submit("\(base)/\(endpoint)", to: "\(base)/\(endpoint)/test", [])
        guard r.status == 303, let location = r["Location"] else { throw TestFailure("test event: \(r.status) \(r.text.prefix(500))") }
        return location
    }

    /// A column of the delivery row `publicID` (or the newest of the endpoint).
    func delivery(_ endpoint: String) throws -> (id: String, state: String, attempts: Int, next: Int64?) {
        try portal.app.database.read { db in
            let r = try db.queryOne("""
                SELECT d.public_id, d.state, d.attempts, d.next_attempt_at FROM webhook_deliveries d JOIN webhook_endpoints e ON e.id = d.endpoint_id
                WHERE e.public_id = ? ORDER BY d.id DESC LIMIT 1
                """, endpoint)!
            return (try r.string(0), try r.string(1), try r.int(2), try r.optionalInt64(3))
        }
    }

    func count(_ sql: String, _ endpoint: String) throws -> Int {
        try portal.app.database.read { try $0.scalar(sql, endpoint, as: Int.self) } ?? 0
    }
}

extension TestResponse {
    /// The signing secrets a reveal or rotation page shows.
    var shownWebhookSecrets: [String] {
        text.components(separatedBy: "<p class=\"secret mono\">").dropFirst().compactMap { $0.components(separatedBy: "</p>").first }
    }
}
