import HTTP
import Testing
import Web

@Suite struct CookieTests {
    @Test func parsesCookieHeaders() {
        let headers = HTTPHeaders([("Cookie", "a=1; b=\"two\";c=x=y ; a=3"), ("Cookie", "d=4; junk; =nameless")])
        let cookies = Cookies.parse(headers)
        #expect(cookies == ["a": "1", "b": "two", "c": "x=y", "d": "4"])
        #expect(Cookies.parse(HTTPHeaders()) == [:])
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
