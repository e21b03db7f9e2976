import Foundation
import HTTP
import Testing
import Web

@Suite struct CookieTests {
    @Test func parsesCookieHeaders() {
        let headers = HTTPHeaders([("Cookie", "a=1; b=\"two\";c=x=y ; a=3"), ("Cookie", "d=4; junk; =nameless")])
        let cookies = Cookies.parse(headers)
        #expect(cookies == ["a": "1", "b": "two", "c": "x=y", "d": "4"])
        #expect(Cookies.parse(HTTPHeaders()) == [:])
        // Tabs and spaces around names and values, an empty value, a lone quote, a trailing
        // separator, non-ASCII bytes kept as they are.
        let odd = HTTPHeaders([("Cookie", "\t e = 5 ;f=;g=\";h=\"\";  é=ü ;")])
        #expect(Cookies.parse(odd) == ["e": "5", "f": "", "g": "\"", "h": "", "é": "ü"])
    }

    @Test func requestCookiesAreLazy() {
        let req = Request(request("/", headers: [("Cookie", "sid=abc")]))
        #expect(req.cookies["sid"] == "abc")
        #expect(req.cookies["other"] == nil)
    }

    @Test func setCookieFormat() {
        let c = SetCookie(name: "sid", value: "abc123", path: "/", maxAge: 3600, expires: 784_111_777, secure: true, httpOnly: true, sameSite: .strict)
        #expect(c.headerValue == "sid=abc123; Path=/; Max-Age=3600; Expires=Sun, 06 Nov 1994 08:49:37 GMT; Secure; HttpOnly; SameSite=Strict")
        #expect(SetCookie(name: "a", value: "b").headerValue == "a=b; Path=/; HttpOnly; SameSite=Lax")
        #expect(SetCookie(name: "a", value: "b", path: nil, httpOnly: false, sameSite: nil).headerValue == "a=b")
        #expect(SetCookie(name: "x", value: "1", domain: "example.com", sameSite: SetCookie.SameSite.none).headerValue
            == "x=1; Path=/; Domain=example.com; Secure; HttpOnly; SameSite=None")
        #expect(SetCookie.expired("sid").headerValue == "sid=; Path=/; Max-Age=0; Expires=Thu, 01 Jan 1970 00:00:00 GMT; HttpOnly; SameSite=Lax")
        // Nothing can break out of the header.
        #expect(SetCookie(name: "n;x", value: "v; Domain=evil\r\nX: y", path: nil, httpOnly: false, sameSite: nil).headerValue == "nx=vDomain=evilX:y")
        var res = HTTPResponse()
        res.setCookie(SetCookie(name: "a", value: "1"))
        res.setCookie(SetCookie(name: "b", value: "2"))
        #expect(res.headers.values("Set-Cookie").count == 2)
    }

    @Test func httpDates() {
        #expect(HTTPDateFormat.string(from: 784_111_777) == "Sun, 06 Nov 1994 08:49:37 GMT")
        #expect(HTTPDateFormat.unixTime(from: "Sun, 06 Nov 1994 08:49:37 GMT") == 784_111_777)
        #expect(HTTPDateFormat.unixTime(from: "Sunday, 06-Nov-94 08:49:37 GMT") == nil)
        #expect(HTTPDateFormat.unixTime(from: "garbage") == nil)
    }

    @Test func redirects() {
        let see = HTTPResponse.redirect(to: "/orgs/1")
        #expect(see.status == .seeOther)
        #expect(see.headers["Location"] == "/orgs/1")
        #expect(HTTPResponse.redirect(to: "/a\r\nSet-Cookie: x=1", status: .found).headers["Location"] == "/aSet-Cookie: x=1")
        #expect(HTTPResponse.redirect(to: "/x", status: .found).status == .found)
        #expect(HTTPResponse.isLocalRedirectTarget("/orgs/1?tab=keys"))
        for bad in ["//evil.example", "/\\evil.example", "https://evil.example", "javascript:alert(1)", "", "/\t/evil"] {
            #expect(!HTTPResponse.isLocalRedirectTarget(bad), "\(bad)")
        }
    }
}

@Suite struct FlashTests {
    func app() throws -> WebApplication {
        let templates = try testTemplates()
        var router = Router()
        router.post("/keys") { req in
            req.flash(.success, "Key <created>.")
            return .redirect(to: "/keys")
        }
        router.get("/keys") { req in try templates.render(page: "home/index", context: ["name": "keys"], request: req) }
        router.get("/bounce") { _ in .redirect(to: "/keys", status: .found) }
        return WebApplication(router: router, templates: templates, middleware: [FlashMiddleware()], logger: LogCapture().logger)
    }

    @Test func flashSurvivesOneRedirectAndIsCleared() throws {
        let app = try app()
        let post = app.respond(to: request(.POST, "/keys"))
        #expect(post.status == .seeOther)
        let setCookie = try #require(post.headers["Set-Cookie"])
        #expect(setCookie.hasPrefix("flash="))
        #expect(setCookie.contains("HttpOnly"))
        let cookie = String(setCookie.split(separator: ";")[0])

        // A request that renders nothing keeps the message.
        let bounce = app.respond(to: request("/bounce", headers: [("Cookie", cookie)]))
        #expect(bounce.headers["Set-Cookie"] == nil)

        let page = app.respond(to: request("/keys", headers: [("Cookie", cookie)]))
        #expect(page.bodyText.contains("<p class=\"flash success\">Key &lt;created&gt;.</p>"))
        #expect(page.headers["Set-Cookie"]?.hasPrefix("flash=; Path=/; Max-Age=0") == true)

        // Without the cookie, no message.
        #expect(!app.respond(to: request("/keys")).bodyText.contains("flash"))
        // A forged, undecodable cookie is ignored.
        #expect(app.respond(to: request("/keys", headers: [("Cookie", "flash=%%%")])).status == .ok)
    }
}

@Suite struct SignedFlashCookieTests {
    func app(now: @escaping @Sendable () -> Int64 = { 1_000 }) throws -> WebApplication {
        let templates = try testTemplates()
        var router = Router()
        router.post("/keys") { req in
            req.flash(.success, "Key created.")
            return .redirect(to: "/keys")
        }
        router.get("/keys") { req in try templates.render(page: "home/index", context: ["name": "keys"], request: req) }
        let store = CookieFlashStore(key: Array(repeating: 7, count: 32), now: now)
        return WebApplication(router: router, templates: templates, middleware: [FlashMiddleware(store: store)], logger: LogCapture().logger)
    }

    /// The format the unsigned store wrote: base64url of the JSON messages.
    static func unsigned(_ json: String) -> String {
        Data(json.utf8).base64EncodedString().replacingOccurrences(of: "+", with: "-")
            .replacingOccurrences(of: "/", with: "_").replacingOccurrences(of: "=", with: "")
    }

    @Test func aForgedCookieInjectsNothing() throws {
        let app = try app()
        let forged = Self.unsigned(#"[{"kind":"error","text":"Your account is suspended: call +1 555 0100."}]"#)
        let page = app.respond(to: request("/keys", headers: [("Cookie", "flash=\(forged)")]))
        #expect(page.status == .ok)
        #expect(!page.bodyText.contains("suspended"))
        #expect(!page.bodyText.contains("class=\"flash"))
    }

    @Test func anEditedOrExpiredCookieInjectsNothing() throws {
        let post = try app().respond(to: request(.POST, "/keys"))
        let value = try #require(post.headers["Set-Cookie"]).split(separator: ";")[0].dropFirst("flash=".count)
        let parts = value.split(separator: ".").map(String.init)
        #expect(parts.count == 3)
        // The genuine cookie works…
        #expect(try app().respond(to: request("/keys", headers: [("Cookie", "flash=\(value)")])).bodyText.contains("Key created."))
        // …an edited message does not…
        let edited = Self.unsigned(#"[{"kind":"error","text":"Call +1 555 0100."}]"#) + "." + parts[1] + "." + parts[2]
        #expect(!(try app().respond(to: request("/keys", headers: [("Cookie", "flash=\(edited)")])).bodyText.contains("555")))
        // …nor a pushed-back expiry…
        let later = parts[0] + "." + String(Int64(parts[1])! + 10_000) + "." + parts[2]
        #expect(!(try app(now: { 2_000 }).respond(to: request("/keys", headers: [("Cookie", "flash=\(later)")])).bodyText.contains("Key created.")))
        // …nor the genuine cookie once expired, nor one signed with another key.
        #expect(!(try app(now: { 1_000 + 301 }).respond(to: request("/keys", headers: [("Cookie", "flash=\(value)")])).bodyText.contains("Key created.")))
        let otherKey = WebApplication(router: { var r = Router(); r.get("/keys") { req in .text(req.flashMessages.map(\.text).joined()) }; return r }(),
                                      middleware: [FlashMiddleware(store: CookieFlashStore(now: { 1_000 }))], logger: LogCapture().logger)
        #expect(otherKey.respond(to: request("/keys", headers: [("Cookie", "flash=\(value)")])).bodyText.isEmpty)
    }
}
