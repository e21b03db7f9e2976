import HTTP
import Testing
import Web

@Suite struct RouterTests {
    func app(_ build: (inout Router) -> Void) -> WebApplication {
        var router = Router()
        build(&router)
        return WebApplication(router: router, templates: try? testTemplates(), logger: LogCapture().logger)
    }

    @Test func pathParameters() {
        let app = app { r in
            r.get("/orgs/:org/keys/:id") { req in
                .text("org=\(req.parameters["org"] ?? "-") id=\(try req.parameters.require("id", as: Int.self))")
            }
        }
        let res = app.respond(to: request("/orgs/acme/keys/42"))
        #expect(res.status == .ok)
        #expect(res.bodyText == "org=acme id=42")
        // A non-numeric id is a 404, like a missing object.
        #expect(app.respond(to: request("/orgs/acme/keys/abc")).status == .notFound)
    }

    @Test func parametersArePercentDecodedPerSegment() {
        let app = app { r in
            r.get("/files/:name") { req in .text(req.parameters["name"] ?? "") }
            r.get("/café") { _ in .text("literal") }
        }
        #expect(app.respond(to: request("/files/a%20b%2Fc+d")).bodyText == "a b/c+d")
        #expect(app.respond(to: request("/caf%C3%A9")).bodyText == "literal")
        // An encoded slash stays inside its segment: no match for a one-segment pattern.
        #expect(app.respond(to: request("/files/a/b")).status == .notFound)
        // Malformed escapes and invalid UTF-8 are refused.
        #expect(app.respond(to: request("/files/%zz")).status == .badRequest)
        #expect(app.respond(to: request("/files/%C3")).status == .badRequest)
    }

    @Test func queryParametersAreDecoded() {
        let app = app { r in
            r.get("/search") { req in .text("\(req.query["q"] ?? "-")|\(req.query.values("tag").joined(separator: ","))") }
        }
        #expect(app.respond(to: request("/search?q=a+b%26c&tag=x&tag=y%20z")).bodyText == "a b&c|x,y z")
    }

    @Test func unknownPathIs404WithErrorPage() {
        let app = app { r in r.get("/") { _ in .text("home") } }
        let res = app.respond(to: request("/nope"))
        #expect(res.status == .notFound)
        #expect(res.bodyText.contains("404 Not Found"))
        #expect(res.headers["Content-Type"] == "text/html; charset=utf-8")
    }

    @Test func wrongMethodIs405WithAllow() {
        let app = app { r in
            r.get("/keys") { _ in .text("list") }
            r.post("/keys") { _ in .text("create") }
        }
        let res = app.respond(to: request(.DELETE, "/keys"))
        #expect(res.status == .methodNotAllowed)
        #expect(res.headers["Allow"] == "GET, HEAD, POST")
        #expect(app.respond(to: request(.POST, "/keys")).bodyText == "create")
    }

    @Test func headIsServedByGetWithoutBody() {
        let big = String(repeating: "<p>row</p>\n", count: 500)
        let app = app { r in
            r.get("/page") { _ in .html(big) }
            r.get("/small") { _ in .text("hello") }
        }
        let head = app.respond(to: request(.HEAD, "/small"))
        #expect(head.status == .ok)
        #expect(head.bodyBytes.isEmpty)
        #expect(head.headers["Content-Length"] == "5")
        #expect(head.headers["Content-Type"] == "text/plain; charset=utf-8")

        // With compression the length is that of the compressed GET body.
        let ae = [("Accept-Encoding", "gzip")]
        let get = app.respond(to: request(.GET, "/page", headers: ae))
        let headGz = app.respond(to: request(.HEAD, "/page", headers: ae))
        #expect(get.headers["Content-Encoding"] == "gzip")
        #expect(headGz.headers["Content-Encoding"] == "gzip")
        #expect(headGz.headers["Content-Length"] == String(get.bodyBytes.count))
        #expect(headGz.bodyBytes.isEmpty)
    }

    @Test func literalsBeatParametersWhateverTheOrder() {
        let app = app { r in
            r.get("/orgs/:org") { req in .text("show \(req.parameters["org"]!)") }
            r.get("/orgs/new") { _ in .text("new form") }
            r.post("/orgs/:org") { req in .text("update \(req.parameters["org"]!)") }
            r.get("/assets/*") { req in .text("rest=\(req.parameters.wildcard.joined(separator: "|"))") }
        }
        #expect(app.respond(to: request("/orgs/new")).bodyText == "new form")
        #expect(app.respond(to: request("/orgs/acme")).bodyText == "show acme")
        // The literal route has no POST, the parameter route does.
        #expect(app.respond(to: request(.POST, "/orgs/new")).bodyText == "update new")
        #expect(app.respond(to: request("/assets/a/b%20c")).bodyText == "rest=a|b c")
        // Trailing slash is significant.
        #expect(app.respond(to: request("/orgs/")).status == .notFound)
    }

    @Test func groupsSharePrefixAndMiddleware() {
        let tag = ClosureMiddleware { req, next in
            var res = try next(req)
            res.headers.add("X-Group", req.parameters["org"] ?? "?")
            return res
        }
        let app = app { r in
            r.get("/") { _ in .text("root") }
            r.group("/orgs/:org", middleware: [tag]) { org in
                org.get("/keys") { req in .text("keys of \(req.parameters["org"]!)") }
                org.group("/apps/:app") { a in
                    a.get("") { req in .text("app \(req.parameters["app"]!) of \(req.parameters["org"]!)") }
                }
            }
        }
        let keys = app.respond(to: request("/orgs/acme/keys"))
        #expect(keys.bodyText == "keys of acme")
        #expect(keys.headers["X-Group"] == "acme")
        let appRes = app.respond(to: request("/orgs/acme/apps/7"))
        #expect(appRes.bodyText == "app 7 of acme")
        #expect(appRes.headers["X-Group"] == "acme")
        #expect(app.respond(to: request("/")).headers["X-Group"] == nil)
    }

    @Test func bodyLimitsPerRoute() {
        let app = app { r in
            r.post("/upload", bodyLimit: 20 << 20) { _ in .text("ok") }
            r.post("/login") { _ in .text("ok") }
            r.group("/api", bodyLimit: 4096) { api in
                api.post("/ping") { _ in .text("pong") }
            }
        }
        #expect(app.bodyLimit(for: HTTPRequestHead(method: .POST, target: "/upload")) == 20 << 20)
        #expect(app.bodyLimit(for: HTTPRequestHead(method: .POST, target: "/login?x=1")) == Router.defaultBodyLimit)
        #expect(app.bodyLimit(for: HTTPRequestHead(method: .POST, target: "/api/ping")) == 4096)
        #expect(app.bodyLimit(for: HTTPRequestHead(method: .POST, target: "/unknown")) == Router.defaultBodyLimit)
    }

    @Test func storagePassesValuesFromMiddlewareToHandler() {
        enum UserKey: RequestStorageKey { typealias Value = String }
        let auth = ClosureMiddleware { req, next in
            req.storage[UserKey.self] = "ada"
            return try next(req)
        }
        var router = Router()
        router.get("/me") { req in .text(req.storage[UserKey.self] ?? "nobody") }
        let app = WebApplication(router: router, middleware: [auth], logger: LogCapture().logger)
        #expect(app.respond(to: request("/me")).bodyText == "ada")
    }
}
