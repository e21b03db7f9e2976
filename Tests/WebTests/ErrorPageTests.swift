import HTTP
import Logging
import Testing
import Web

struct DatabaseExploded: Error, CustomStringConvertible {
    var description: String { "SQLITE_CORRUPT: table users is damaged at /var/lib/portal.db" }
}

@Suite struct ErrorPageTests {
    let log = LogCapture()

    func app(templates: Templates? = try? testTemplates()) -> WebApplication {
        var router = Router()
        router.get("/ok") { _ in .html("<p>fine</p>") }
        router.get("/boom") { _ in throw DatabaseExploded() }
        router.get("/forbidden") { _ in throw HTTPError(.forbidden, "Only admins may view <keys>.") }
        router.get("/teapot") { _ in throw HTTPError(HTTPStatus(418), "short and stout", headers: ["X-Extra": "1"]) }
        router.get("/server") { _ in throw HTTPError(.serviceUnavailable, "internal detail: pool exhausted") }
        router.get("/plain") { _ in HTTPResponse(status: .ok, headers: ["Content-Type": "text/plain"], body: .bytes(Array("x".utf8))) }
        return WebApplication(router: router, templates: templates, logger: log.logger)
    }

    @Test func securityHeadersOn200And404And500() {
        let app = app()
        for target in ["/ok", "/missing", "/boom", "/forbidden"] {
            let res = app.respond(to: request(target))
            #expect(hasSecurityHeaders(res), "\(target)")
        }
        #expect(hasSecurityHeaders(app.errorResponse(status: .badRequest, head: nil)))
    }

    @Test func textTypesGetCharset() {
        #expect(app().respond(to: request("/plain")).headers["Content-Type"] == "text/plain; charset=utf-8")
        // A charset already declared, in any case, is left alone; other types get none.
        for (type, expected) in [("text/csv; Charset=ISO-8859-1", "text/csv; Charset=ISO-8859-1"), ("text/html;CHARSET=utf-8", "text/html;CHARSET=utf-8"),
                                 ("text/x", "text/x; charset=utf-8"), ("application/json", "application/json"), ("text/charset", "text/charset; charset=utf-8")] {
            var res = HTTPResponse(status: .ok, headers: ["Content-Type": type])
            SecurityHeadersMiddleware().apply(to: &res)
            #expect(res.headers["Content-Type"] == expected, "\(type)")
        }
    }

    @Test func serverErrorShowsOnlyTheRequestID() throws {
        let res = app().respond(to: request("/boom"))
        #expect(res.status == .internalServerError)
        let body = res.bodyText
        #expect(!body.contains("SQLITE"))
        #expect(!body.contains("DatabaseExploded"))
        #expect(!body.contains("portal.db"))
        #expect(body.contains("500 Internal Server Error"))
        #expect(body.contains("<html>"))  // inside the layout
        let id = try #require(res.headers["X-Request-Id"])
        #expect(id.count == 24)
        #expect(body.contains("<code>\(id)</code>"))
        // The details are in the log, with the same request id.
        let line = try #require(log.lines.first { $0.message == "unhandled error" })
        #expect(line.level == .error)
        #expect(line.rendered.contains("SQLITE_CORRUPT"))
        #expect(line.metadata["request-id"] == .string(id))
        // 5xx HTTPError messages are not shown either.
        let unavailable = app().respond(to: request("/server"))
        #expect(unavailable.status == .serviceUnavailable)
        #expect(!unavailable.bodyText.contains("pool exhausted"))
    }

    @Test func clientErrorsShowTheirEscapedMessage() {
        let res = app().respond(to: request("/forbidden"))
        #expect(res.status == .forbidden)
        #expect(res.bodyText.contains("Only admins may view &lt;keys&gt;."))
        let teapot = app().respond(to: request("/teapot"))
        #expect(teapot.status.code == 418)
        #expect(teapot.headers["X-Extra"] == "1")
        #expect(teapot.bodyText.contains("short and stout"))
    }

    @Test func specificErrorTemplateWins() throws {
        let templates = try testTemplates(extra: ["errors/404": "<h1>Lost?</h1>{{requestId}}"])
        let res = app(templates: templates).respond(to: request("/nowhere"))
        #expect(res.status == .notFound)
        #expect(res.bodyText.contains("<h1>Lost?</h1>"))
    }

    @Test func fallsBackToBuiltInPage() throws {
        for templates in [nil, try Templates(sources: ["home/index": "x"])] {
            let res = app(templates: templates).respond(to: request("/boom"))
            #expect(res.status == .internalServerError)
            #expect(res.headers["Content-Type"] == "text/html; charset=utf-8")
            #expect(res.bodyText.contains("500 Internal Server Error"))
            #expect(res.bodyText.contains(res.headers["X-Request-Id"] ?? "missing"))
            #expect(!res.bodyText.contains("SQLITE"))
            #expect(hasSecurityHeaders(res))
        }
    }

    @Test func errorResponseForProtocolErrors() {
        let app = app()
        let res = app.errorResponse(status: .payloadTooLarge, head: HTTPRequestHead(method: .POST, target: "/upload?token=secret"))
        #expect(res.status == .payloadTooLarge)
        #expect(res.bodyText.contains("413 Content Too Large"))
        #expect(res.bodyText.contains("The request is too large."))
        #expect(hasSecurityHeaders(res))
        let line = log.lines.first { $0.message == "request refused" }
        #expect(line?.metadata["path"]?.description == "/upload")
        #expect(line?.rendered.contains("secret") == false)
        let head = app.errorResponse(status: .badRequest, head: HTTPRequestHead(method: .HEAD, target: "/"))
        #expect(head.bodyBytes.isEmpty)
    }

    @Test func oneRequestLogLineWithoutQueryCookiesOrForm() throws {
        var router = Router()
        router.post("/login") { req in
            _ = try req.form()
            return .redirect(to: "/home")
        }
        let app = WebApplication(router: router, logger: log.logger)
        let res = app.respond(to: request(
            .POST, "/login?next=%2Fsecret-query",
            headers: [("Content-Type", "application/x-www-form-urlencoded"), ("Cookie", "sid=cookie-value-123")],
            body: Array("password=hunter2".utf8)))
        #expect(res.status == .seeOther)
        let lines = log.lines.filter { $0.message == "request" }
        #expect(lines.count == 1)
        let line = try #require(lines.first)
        #expect(line.level == .info)
        #expect(line.metadata["method"]?.description == "POST")
        #expect(line.metadata["path"]?.description == "/login")
        #expect(line.metadata["status"]?.description == "303")
        #expect(line.metadata["bytes"]?.description == "0")
        #expect(line.metadata["duration_ms"] != nil)
        #expect(line.metadata["request-id"] == .string(res.headers["X-Request-Id"] ?? "?"))
        let all = log.lines.map(\.rendered).joined(separator: "\n")
        #expect(!all.contains("secret-query"))
        #expect(!all.contains("next="))
        #expect(!all.contains("cookie-value-123"))
        #expect(!all.contains("hunter2"))
    }

    @Test func errorPagesAreLoggedWithTheirStatus() throws {
        _ = app().respond(to: request("/boom"))
        let line = try #require(log.lines.first { $0.message == "request" })
        #expect(line.metadata["status"]?.description == "500")
    }
}
