import Foundation
import HTTP
import Testing
import Web

/// Two pipelines in one app: pages at the root, JSON under /v1.
@Suite struct PipelineTests {
    struct Boom: Error, CustomStringConvertible { var description: String { "secret stack detail" } }

    /// Adds `X-Pipeline` so a test can see which group's middleware ran.
    static func tag(_ name: String) -> ClosureMiddleware {
        ClosureMiddleware { req, next in
            do {
                var res = try next(req)
                res.headers.add("X-Pipeline", name)
                return res
            } catch {
                req.templateValues["ranPipeline"] = name
                throw error
            }
        }
    }

    func app(log: LogCapture = LogCapture()) throws -> WebApplication {
        let templates = try testTemplates(extra: ["errors/error": "<h1>{{title}}</h1><p class=\"message\">{{message}}</p><p>ran {{ranPipeline}}</p>"])
        var router = Router()
        router.get("/healthz") { _ in .text("ok") }
        router.group("", middleware: [Self.tag("pages")], errors: ErrorPages(templates: templates)) { web in
            web.get("/") { _ in .html("<p>home</p>") }
            web.get("/boom") { _ in throw Boom() }
            web.post("/form", bodyLimit: 64) { _ in .text("posted") }
        }
        router.group("/v1", middleware: [Self.tag("api")], errors: JSONErrors()) { api in
            api.get("/ping") { _ in try .json(["ok": true]) }
            api.get("/boom") { _ in throw Boom() }
            api.post("/things", bodyLimit: 128) { req in try .json(try req.decodeJSON(Thing.self), status: .created) }
            api.get("/conflict") { _ in throw HTTPError(.conflict, "Already exists.", code: "already_exists", param: "name") }
        }
        return WebApplication(router: router, templates: templates, logger: log.logger)
    }

    struct Thing: Codable, Equatable {
        struct Line: Codable, Equatable { var amount: Int; var memo: String? }
        var name: String
        var lines: [Line]
    }

    /// The parsed `{"error": {…}}` object of a JSON error.
    func jsonError(_ res: HTTPResponse) throws -> [String: String] {
        #expect(res.headers["Content-Type"] == "application/json")
        let obj = try #require(try JSONSerialization.jsonObject(with: Data(res.bodyBytes)) as? [String: Any])
        let err = try #require(obj["error"] as? [String: Any])
        return err.compactMapValues { $0 as? String }
    }

    @Test func pingIsJSON() throws {
        let res = try app().respond(to: request("/v1/ping"))
        #expect(res.status == .ok)
        #expect(res.headers["Content-Type"] == "application/json")
        #expect(res.bodyText == #"{"ok":true}"#)
        #expect(res.headers["X-Pipeline"] == "api")
        #expect(res.headers["X-Content-Type-Options"] == "nosniff")
        #expect(res.headers["X-Request-Id"] != nil)
    }

    @Test func apiNotFoundAndMethodNotAllowedAreJSONAfterTheGroupsMiddleware() throws {
        let app = try app()
        let missing = app.respond(to: request("/v1/nope"))
        #expect(missing.status == .notFound)
        let e = try jsonError(missing)
        #expect(e["type"] == "invalid_request_error")
        #expect(e["code"] == "resource_missing")
        #expect(e["request_id"] == missing.headers["X-Request-Id"])
        #expect(e["param"] == nil)
        #expect(!missing.bodyText.contains("<"))

        let wrong = app.respond(to: request(.DELETE, "/v1/ping"))
        #expect(wrong.status == .methodNotAllowed)
        #expect(wrong.headers["Allow"] == "GET, HEAD")
        #expect(try jsonError(wrong)["code"] == "method_not_allowed")
    }

    @Test func pagesNotFoundIsAPageAfterTheGroupsMiddleware() throws {
        let app = try app()
        let res = app.respond(to: request("/nope"))
        #expect(res.status == .notFound)
        #expect(res.headers["Content-Type"] == "text/html; charset=utf-8")
        #expect(res.bodyText.contains("404 Not Found"))
        // The pages group's middleware ran before the 404, so the page knows its context.
        #expect(res.bodyText.contains("ran pages"))
        #expect(app.respond(to: request(.DELETE, "/")).headers["Content-Type"] == "text/html; charset=utf-8")
    }

    @Test func serverErrorsAreJSONWithoutDetailsUnderTheAPI() throws {
        let log = LogCapture()
        let app = try app(log: log)
        let res = app.respond(to: request("/v1/boom"))
        #expect(res.status == .internalServerError)
        let e = try jsonError(res)
        #expect(e["type"] == "api_error")
        #expect(e["code"] == "internal_error")
        #expect(e["request_id"] == res.headers["X-Request-Id"])
        #expect(!res.bodyText.contains("secret stack detail"))
        #expect(!res.bodyText.contains("Boom"))
        // The details are in the log, with the same id.
        #expect(log.all.contains("secret stack detail"))

        let page = app.respond(to: request("/boom"))
        #expect(page.status == .internalServerError)
        #expect(page.headers["Content-Type"] == "text/html; charset=utf-8")
        #expect(!page.bodyText.contains("secret stack detail"))
    }

    @Test func aMalformedAPIPathIsAJSON400AndLogged() throws {
        let log = LogCapture()
        let app = try app(log: log)
        let res = app.respond(to: request("/v1/%zz"))
        #expect(res.status == .badRequest)
        #expect(try jsonError(res)["code"] == "bad_request")
        #expect(app.respond(to: request("/%zz")).headers["Content-Type"] == "text/html; charset=utf-8")
        // Both pipelines keep the request log line.
        _ = app.respond(to: request("/v1/nope"))
        #expect(log.all.contains("path=/v1/nope") && log.all.contains("status=404"))
    }

    @Test func typedErrorsKeepCodeAndParam() throws {
        let res = try app().respond(to: request("/v1/conflict"))
        #expect(res.status == .conflict)
        let e = try jsonError(res)
        #expect(e["code"] == "already_exists")
        #expect(e["param"] == "name")
        #expect(e["message"] == "Already exists.")
        #expect(e["type"] == "invalid_request_error")
    }

    @Test func refusalsBeforeRoutingTakeTheShapeOfThePathsPipeline() throws {
        let app = try app()
        let api = app.errorResponse(status: .payloadTooLarge, head: HTTPRequestHead(method: .POST, target: "/v1/things"))
        #expect(api.status == .payloadTooLarge)
        #expect(try jsonError(api)["code"] == "body_too_large")
        #expect(try jsonError(api)["request_id"] == api.headers["X-Request-Id"])
        #expect(api.headers["X-Content-Type-Options"] == "nosniff")
        // Even for a path under /v1 that no route answers.
        let unknown = app.errorResponse(status: .badRequest, head: HTTPRequestHead(method: .GET, target: "/v1/x/y"))
        #expect(try jsonError(unknown)["code"] == "bad_request")

        let page = app.errorResponse(status: .payloadTooLarge, head: HTTPRequestHead(method: .POST, target: "/form"))
        #expect(page.headers["Content-Type"] == "text/html; charset=utf-8")
        #expect(page.bodyText.contains("413"))
        // Without a head (or a path no pipeline covers), the default shape: a page.
        #expect(app.errorResponse(status: .badRequest, head: nil).headers["Content-Type"] == "text/html; charset=utf-8")
        #expect(app.overloadResponse().headers["Content-Type"] == "text/html; charset=utf-8")
    }

    @Test func routesOutsideAnyPipelineRunNoGroupMiddleware() throws {
        let res = try app().respond(to: request("/healthz"))
        #expect(res.bodyText == "ok")
        #expect(res.headers["X-Pipeline"] == nil)
    }

    @Test func bodyLimitsPerRouteWhateverTheMethod() throws {
        let app = try app()
        #expect(app.bodyLimit(for: HTTPRequestHead(method: .POST, target: "/form")) == 64)
        #expect(app.bodyLimit(for: HTTPRequestHead(method: .POST, target: "/v1/things")) == 128)
        #expect(app.bodyLimit(for: HTTPRequestHead(method: .POST, target: "/nowhere")) == Router.defaultBodyLimit)
        #expect(app.bodyLimit(for: HTTPRequestHead(method: .GET, target: "/")) == Router.defaultBodyLimit)
        #expect(app.bodyLimit(for: HTTPRequestHead(method: .PUT, target: "/form")) == Router.defaultBodyLimit)

        // A GET route with its own limit is still found (and HEAD follows GET).
        var router = Router()
        router.get("/a") { _ in .text("a") }
        router.get("/b", bodyLimit: 10) { _ in .text("b") }
        let two = WebApplication(router: router, logger: LogCapture().logger)
        #expect(two.bodyLimit(for: HTTPRequestHead(method: .GET, target: "/b")) == 10)
        #expect(two.bodyLimit(for: HTTPRequestHead(method: .HEAD, target: "/b")) == 10)
        #expect(two.bodyLimit(for: HTTPRequestHead(method: .GET, target: "/a")) == Router.defaultBodyLimit)
    }

    @Test func headOnAJSONRouteKeepsTheLength() throws {
        let res = try app().respond(to: request(.HEAD, "/v1/ping"))
        #expect(res.status == .ok)
        #expect(res.bodyBytes.isEmpty)
        #expect(res.headers["Content-Length"] == "11")
        #expect(res.headers["Content-Type"] == "application/json")
    }

    // MARK: JSON bodies

    func post(_ body: String, contentType: String? = "application/json") throws -> HTTPResponse {
        var headers: [(String, String)] = []
        if let contentType { headers.append(("Content-Type", contentType)) }
        return try app().respond(to: request(.POST, "/v1/things", headers: headers, body: Array(body.utf8)))
    }

    @Test func decodesAValidBody() throws {
        let res = try post(#"{"name":"a/b","lines":[{"amount":5}]}"#, contentType: "application/json; charset=utf-8")
        #expect(res.status == .created)
        #expect(res.bodyText == #"{"lines":[{"amount":5}],"name":"a/b"}"#)
    }

    @Test func wrongContentTypeIs415() throws {
        for ct in ["application/x-www-form-urlencoded", "text/plain", nil] as [String?] {
            let res = try post(#"{"name":"a","lines":[]}"#, contentType: ct)
            #expect(res.status == .unsupportedMediaType)
            #expect(try jsonError(res)["code"] == "unsupported_media_type")
        }
    }

    @Test(arguments: [
        (#"{"name":"a","lines":[{"amount":1},{"amount":"2"}]}"#, "parameter_invalid", "lines[1].amount", "must be an integer"),
        (#"{"name":5,"lines":[]}"#, "parameter_invalid", "name", "must be a string"),
        (#"{"name":"a","lines":[{"memo":"x"}]}"#, "parameter_missing", "lines[0].amount", "Missing"),
        (#"{"lines":[]}"#, "parameter_missing", "name", "Missing"),
        (#"{"name":null,"lines":[]}"#, "parameter_invalid", "name", "null"),
        (#"{"name":"a","lines":{}}"#, "parameter_invalid", "lines", "must be an array"),
    ])
    func wrongFieldsAre400NamingTheField(body: String, code: String, param: String, message: String) throws {
        let res = try post(body)
        #expect(res.status == .badRequest)
        let e = try jsonError(res)
        #expect(e["code"] == code)
        #expect(e["param"] == param)
        #expect(e["message"]?.contains(message) == true, "\(e["message"] ?? "")")
        // The decoder's own words (Swift type names) stay out.
        #expect(!res.bodyText.contains("Swift"))
    }

    @Test(arguments: [#"{"name":"a","#, "", "   ", "[1,2]", "nope", #"{"name":"a","lines":[]}}"#])
    func malformedBodiesAre400(body: String) throws {
        let res = try post(body)
        #expect(res.status == .badRequest)
        let code = try jsonError(res)["code"]
        #expect(code == "invalid_json" || code == "body_missing")
    }

    @Test func depthAndSizeAreLimited() throws {
        let deep = String(repeating: "[", count: 40) + String(repeating: "]", count: 40)
        let req = Request(request(.POST, "/x", headers: [("Content-Type", "application/json")], body: Array(deep.utf8)))
        #expect(throws: HTTPError.self) { try req.decodeJSON([[Int]].self) }
        do {
            _ = try req.decodeJSON([[Int]].self)
        } catch let e as HTTPError {
            #expect(e.status == .badRequest)
            #expect(e.code == "body_too_deep")
        }
        // Brackets inside strings do not count.
        let quoted = Request(request(.POST, "/x", headers: [("Content-Type", "application/json")],
                                     body: Array(#"{"name":"[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[","lines":[]}"#.utf8)))
        #expect(try quoted.decodeJSON(Thing.self).name.count == 42)

        let big = Request(request(.POST, "/x", headers: [("Content-Type", "application/json")], body: Array(repeating: 0x20, count: 2000)))
        do {
            _ = try big.decodeJSON(Thing.self, limits: JSONLimits(maxBytes: 1000))
            Issue.record("a body over the limit was decoded")
        } catch let e as HTTPError {
            #expect(e.status == .payloadTooLarge)
        }
    }

    @Test func jsonIsCompressedWhenAccepted() throws {
        var router = Router()
        let rows = (0..<200).map { "row \($0)" }
        router.group("/v1", errors: JSONErrors()) { $0.get("/rows") { _ in try .json(rows) } }
        let app = WebApplication(router: router, logger: LogCapture().logger)
        let res = app.respond(to: request("/v1/rows", headers: [("Accept-Encoding", "gzip")]))
        #expect(res.headers["Content-Encoding"] == "gzip")
        let plain = try #require(gunzip(res.bodyBytes))
        #expect(try JSONDecoder().decode([String].self, from: Data(plain)) == rows)
    }
}
