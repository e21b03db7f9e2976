import Database
import Foundation
import Security
@testable import Portal

/// A cookie-keeping client that talks to the test portal the way a browser with JavaScript
/// off does: it reads `_csrf` from the page's form and posts urlencoded bodies. Redirects
/// are not followed automatically, so tests can look at each step.
final class Browser {
    let portal: TestPortal
    var cookies: [String: String] = [:]
    var userAgent = "Mozilla/5.0 (X11; Linux x86_64) TestBrowser/1.0"
    /// The source address of its connections (nil: 127.0.0.1), to come from another network.
    var sourceAddress: String?

    init(_ portal: TestPortal, from sourceAddress: String? = nil) {
        self.portal = portal
        self.sourceAddress = sourceAddress
    }

    @discardableResult
    func get(_ path: String, headers: [String: String] = [:]) throws -> TestResponse {
        try send("GET", path, headers: headers, body: nil)
    }

    /// Posts `fields` (urlencoded), adding `_csrf` from `page` unless `csrf` is given.
    @discardableResult
    func post(_ path: String, _ fields: [(String, String)], csrfFrom page: TestResponse? = nil, csrf: String? = nil,
              headers: [String: String] = [:]) throws -> TestResponse {
        var all = fields
        if let token = csrf ?? page.flatMap(Browser.csrf(in:)) { all.insert(("_csrf", token), at: 0) }
        let body = all.map { "\(Self.encode($0.0))=\(Self.encode($0.1))" }.joined(separator: "&")
        var h = headers
        h["Content-Type"] = "application/x-www-form-urlencoded"
        return try send("POST", path, headers: h, body: body)
    }

    /// GETs `pagePath`, then posts its form to `action` with `fields`.
    @discardableResult
    func submit(_ pagePath: String, to action: String, _ fields: [(String, String)]) throws -> TestResponse {
        let page = try get(pagePath)
        return try post(action, fields, csrfFrom: page)
    }

    func send(_ method: String, _ path: String, headers: [String: String], body: String?) throws -> TestResponse {
        var h = headers
        h["User-Agent"] = h["User-Agent"] ?? userAgent
        if !cookies.isEmpty { h["Cookie"] = cookies.map { "\($0.key)=\($0.value)" }.sorted().joined(separator: "; ") }
        let r = try portal.request(method, path, headers: h, body: body, from: sourceAddress)
        for line in r.all("set-cookie") {
            let pair = line.split(separator: ";", maxSplits: 1)[0]
            guard let eq = pair.firstIndex(of: "=") else { continue }
            let name = String(pair[..<eq]), value = String(pair[pair.index(after: eq)...])
            if value.isEmpty || line.contains("Max-Age=0") { cookies[name] = nil } else { cookies[name] = value }
        }
        return r
    }

    var sessionCookie: String? { cookies["portal_session"] }

    static func csrf(in page: TestResponse) -> String? { field("_csrf", in: page.text) }

    /// The value of the first `<input … name="NAME" value="…">` on the page.
    static func field(_ name: String, in html: String) -> String? {
        guard let r = html.range(of: "name=\"\(name)\" value=\"") else { return nil }
        let rest = html[r.upperBound...]
        return rest.firstIndex(of: "\"").map { String(rest[..<$0]) }
    }

    static func encode(_ s: String) -> String {
        var allowed = CharacterSet.alphanumerics
        allowed.insert(charactersIn: "-._~")
        return s.addingPercentEncoding(withAllowedCharacters: allowed) ?? s
    }
}

extension TestPortal {
    /// The newest mail to `address`: (subject, text body).
    func lastMail(to address: String) throws -> (subject: String, text: String)? {
        try app.database.read { db in
            try db.queryOne("SELECT subject, text_body FROM outbox WHERE recipient = ? ORDER BY id DESC LIMIT 1", address)
                .map { (try $0.string(0), try $0.string(1)) }
        }
    }

    func mailCount(to address: String) throws -> Int {
        try app.database.read { try $0.scalar("SELECT count(*) FROM outbox WHERE recipient = ?", address, as: Int.self) ?? 0 }
    }

    /// The path and query of the one absolute link in the newest mail to `address`.
    func link(inMailTo address: String) throws -> String? {
        guard let mail = try lastMail(to: address) else { return nil }
        let links = mail.text.split(whereSeparator: \.isWhitespace).filter { $0.hasPrefix("http://") || $0.hasPrefix("https://") }
        guard links.count == 1, let url = URL(string: String(links[0])) else { return nil }
        return url.path + (url.query.map { "?" + $0 } ?? "")
    }

    func auditActions(for email: String) throws -> [String] {
        try app.database.read { db in
            try db.query("SELECT action FROM audit_events WHERE subject = ? ORDER BY id", email).map { try $0.string(0) }
        }
    }
}

/// A person with an authenticator: signs up, verifies, enrols and keeps the secret.
struct TestUser {
    let email: String
    let password: String
    var name = "Ada Lovelace"
    var secret: [UInt8] = []
    var recoveryCodes: [String] = []

    init(email: String = "ada+\(UUID().uuidString.prefix(8))@example.com", password: String = "correct horse battery staple") {
        self.email = email
        self.password = password
    }

    func code(_ portal: TestPortal, stepsFromNow: Int64 = 0) -> String {
        TOTP.code(secret: secret, at: portal.clock.now + stepsFromNow * 30)
    }

    /// Signs up, confirms the address, logs in and enrols TOTP; the browser ends signed in.
    static func enrolled(_ portal: TestPortal, _ browser: Browser, email: String? = nil) throws -> TestUser {
        var user = email.map { TestUser(email: $0) } ?? TestUser()
        let signup = try browser.submit("/signup", to: "/signup", [("name", user.name), ("email", user.email), ("password", user.password)])
        precondition(signup.status == 303, "signup: \(signup.status) \(signup.text)")
        let link = try portal.link(inMailTo: user.email)!
        let verified = try browser.get(link)
        precondition(verified["Location"] == "/login", "verify: \(verified.status)")
        let login = try browser.submit("/login", to: "/login", [("email", user.email), ("password", user.password)])
        precondition(login["Location"] == "/mfa/setup", "login: \(login.status) \(login["Location"] ?? "")")
        let setup = try browser.get("/mfa/setup")
        let grouped = setup.text.range(of: "id=\"totp-secret\">").map { r in
            String(setup.text[r.upperBound...].prefix { $0 != "<" })
        }!
        user.secret = Base32.decode(grouped)!
        let enrolled = try browser.post("/mfa/setup", [("code", user.code(portal))], csrfFrom: setup)
        precondition(enrolled["Location"] == "/mfa/recovery-codes", "enrol: \(enrolled.status)")
        let codesPage = try browser.get("/mfa/recovery-codes")
        user.recoveryCodes = codesPage.text.components(separatedBy: "<li>").dropFirst().compactMap { $0.components(separatedBy: "</li>").first }
            .filter { $0.count == 11 }
        try browser.post("/mfa/recovery-codes/done", [], csrfFrom: codesPage)
        return user
    }

    /// Logs in with password and the current TOTP code (moving the clock a step on first,
    /// so a code is never a replay of the one used a moment ago).
    func logIn(_ portal: TestPortal, _ browser: Browser) throws -> TestResponse {
        portal.clock.advance(seconds: 30)
        let r = try browser.submit("/login", to: "/login", [("email", email), ("password", password)])
        precondition(r["Location"]?.hasPrefix("/login/mfa") == true, "password step: \(r.status)")
        return try browser.submit("/login/mfa", to: "/login/mfa", [("code", code(portal))])
    }
}
