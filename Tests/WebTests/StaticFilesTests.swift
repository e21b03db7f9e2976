import Foundation
import HTTP
import Testing
import Web

@Suite struct StaticFilesTests {
    let dir = TempDir()
    let css = String(repeating: "body { color: #123456; margin: 0 auto; }\n", count: 100)
    let secret = "TOP-SECRET-CONTENT"
    let app: WebApplication

    init() throws {
        dir.write("secret.txt", secret)
        dir.write("Public/app.css", css)
        dir.write("Public/css/site.css", "h1 { font-weight: bold; }")
        dir.write("Public/logo.png", [0x89, 0x50, 0x4E, 0x47] + [UInt8](repeating: 7, count: 4000))
        dir.write("Public/.hidden", secret)
        dir.mkdir("Public/sub")
        try FileManager.default.createSymbolicLink(atPath: dir.path + "/Public/link.txt", withDestinationPath: "../secret.txt")
        try FileManager.default.createSymbolicLink(atPath: dir.path + "/Public/inside.css", withDestinationPath: "css/site.css")
        let files = try StaticFiles(urlPrefix: "/static/", directory: dir.path + "/Public")
        var router = Router()
        router.get("/*") { req in .text("router: \(req.path)") }
        app = WebApplication(router: router, templates: try testTemplates(), staticFiles: files, logger: LogCapture().logger)
    }

    @Test func servesFileWithTypeAndValidators() throws {
        let res = app.respond(to: request("/static/app.css"))
        #expect(res.status == .ok)
        #expect(res.headers["Content-Type"] == "text/css; charset=utf-8")
        #expect(res.headers["Cache-Control"] == "public, max-age=3600")
        #expect(res.headers["ETag"]?.hasPrefix("\"") == true)
        #expect(res.headers["Last-Modified"]?.hasSuffix(" GMT") == true)
        #expect(res.headers["Content-Encoding"] == nil)
        #expect(res.bodyText == css)
        #expect(hasSecurityHeaders(res))

        let nested = app.respond(to: request("/static/css/site.css"))
        #expect(nested.bodyText == "h1 { font-weight: bold; }")
        let png = app.respond(to: request("/static/logo.png"))
        #expect(png.headers["Content-Type"] == "image/png")
        // A symlink that stays inside the folder is fine.
        #expect(app.respond(to: request("/static/inside.css")).bodyText == "h1 { font-weight: bold; }")
        // Requests outside the prefix fall through to the router.
        #expect(app.respond(to: request("/staticky/app.css")).bodyText == "router: /staticky/app.css")
    }

    @Test func conditionalRequestsGet304() throws {
        let first = app.respond(to: request("/static/app.css"))
        let etag = try #require(first.headers["ETag"])
        let lastModified = try #require(first.headers["Last-Modified"])

        let inm = app.respond(to: request("/static/app.css", headers: [("If-None-Match", etag)]))
        #expect(inm.status == .notModified)
        #expect(inm.bodyBytes.isEmpty)
        #expect(inm.headers["ETag"] == etag)
        #expect(app.respond(to: request("/static/app.css", headers: [("If-None-Match", "\"other\", W/\(etag)")])).status == .notModified)
        #expect(app.respond(to: request("/static/app.css", headers: [("If-None-Match", "\"other\"")])).status == .ok)

        let ims = app.respond(to: request("/static/app.css", headers: [("If-Modified-Since", lastModified)]))
        #expect(ims.status == .notModified)
        let old = app.respond(to: request("/static/app.css", headers: [("If-Modified-Since", "Sat, 01 Jan 2000 00:00:00 GMT")]))
        #expect(old.status == .ok)
        // If-None-Match wins over If-Modified-Since.
        let both = app.respond(to: request("/static/app.css", headers: [("If-None-Match", "\"other\""), ("If-Modified-Since", lastModified)]))
        #expect(both.status == .ok)
    }

    @Test(arguments: [
        "/static/../secret.txt",
        "/static/%2e%2e/secret.txt",
        "/static/%2E%2E/secret.txt",
        "/static/%2e%2e%2fsecret.txt",
        "/static/..%2fsecret.txt",
        "/static/sub/..%2f..%2fsecret.txt",
        "/static/sub%2f..%2f..%2fsecret.txt",
        "/static/..\\secret.txt",
        "/static/%5c..%5csecret.txt",
        "/static/app.css%00.txt",
        "/static/%00",
        "/static/link.txt",
        "/static/sub",
        "/static/sub/",
        "/static/",
        "/static/.hidden",
        "/static/%2ehidden",
        "/static//etc/passwd",
        "/static/%2fetc%2fpasswd",
        "/static/app.css/",
        "/static/missing.css",
        "/static/%zz",
    ])
    func traversalAndNonFilesAreRefused(_ target: String) {
        let res = app.respond(to: request(target))
        #expect(res.status == .notFound || res.status == .badRequest, "\(target) → \(res.status)")
        #expect(!res.bodyText.contains(secret))
        #expect(hasSecurityHeaders(res))
    }

    @Test func precompressedVariantForGzipClients() throws {
        let res = app.respond(to: request("/static/app.css", headers: [("Accept-Encoding", "br, gzip;q=0.8")]))
        #expect(res.status == .ok)
        #expect(res.headers["Content-Encoding"] == "gzip")
        #expect(res.headers["Vary"] == "Accept-Encoding")
        #expect(res.bodyBytes.count < css.utf8.count)
        #expect(gunzip(res.bodyBytes) == Array(css.utf8))
        let plain = app.respond(to: request("/static/app.css", headers: [("Accept-Encoding", "gzip;q=0")]))
        #expect(plain.headers["Content-Encoding"] == nil)
        #expect(plain.bodyText == css)
        // Images are never compressed.
        let png = app.respond(to: request("/static/logo.png", headers: [("Accept-Encoding", "gzip")]))
        #expect(png.headers["Content-Encoding"] == nil)
    }

    @Test func headAndOtherMethods() {
        let head = app.respond(to: request(.HEAD, "/static/app.css"))
        #expect(head.status == .ok)
        #expect(head.bodyBytes.isEmpty)
        #expect(head.headers["Content-Length"] == String(css.utf8.count))
        let post = app.respond(to: request(.POST, "/static/app.css"))
        #expect(post.status == .methodNotAllowed)
        #expect(post.headers["Allow"] == "GET, HEAD")
    }

    @Test func changedFileIsServedAfterRevalidation() throws {
        #expect(app.respond(to: request("/static/css/site.css")).bodyText == "h1 { font-weight: bold; }")
        dir.write("Public/css/site.css", "h1 { font-weight: normal; color: red; }")
        Thread.sleep(forTimeInterval: 1.2)
        #expect(app.respond(to: request("/static/css/site.css")).bodyText == "h1 { font-weight: normal; color: red; }")
        try FileManager.default.removeItem(atPath: dir.path + "/Public/css/site.css")
        Thread.sleep(forTimeInterval: 1.2)
        #expect(app.respond(to: request("/static/css/site.css")).status == .notFound)
    }

    @Test func largeFilesAreStreamed() throws {
        let big = [UInt8](repeating: 65, count: 3000)
        let d = TempDir()
        d.write("Public/big.txt", big)
        let files = try StaticFiles(directory: d.path + "/Public", maxCachedFileSize: 1000)
        let app = WebApplication(router: Router(), staticFiles: files, logger: LogCapture().logger)
        let res = app.respond(to: request("/static/big.txt"))
        #expect(res.status == .ok)
        guard case .stream(let produce) = res.body else {
            Issue.record("expected a streamed body")
            return
        }
        final class Collect: BodyWriter, @unchecked Sendable {
            var bytes: [UInt8] = []
            func write(_ b: [UInt8]) throws { bytes += b }
        }
        let c = Collect()
        try produce(c)
        #expect(c.bytes == big)
    }

    /// The event loop's fast path answers a cached file exactly as a worker would, and leaves
    /// everything that needs the disk, a decision or a refusal to the worker.
    @Test func cachedFilesAreAnsweredInlineAsOnAWorker() throws {
        // Not cached yet: the first request must read the disk, on a worker.
        #expect(app.respondInline(to: request("/static/app.css")) == nil)
        let onWorker = app.respond(to: request("/static/app.css", headers: [("Accept-Encoding", "gzip")]))
        let inline = try #require(app.respondInline(to: request("/static/app.css", headers: [("Accept-Encoding", "gzip")])))
        #expect(inline.status == onWorker.status)
        #expect(inline.bodyBytes == onWorker.bodyBytes)
        #expect(inline.headers["Content-Encoding"] == "gzip")
        let names = { (r: HTTPResponse) in r.headers.map { $0.name.lowercased() }.sorted() }
        #expect(names(inline) == names(onWorker))
        for name in ["Content-Type", "ETag", "Last-Modified", "Cache-Control", "Vary", "Content-Security-Policy"] {
            #expect(inline.headers[name] == onWorker.headers[name], "\(name)")
        }
        #expect(hasSecurityHeaders(inline))
        #expect(inline.headers["X-Request-Id"]?.count == 24)
        #expect(inline.headers["X-Request-Id"] != onWorker.headers["X-Request-Id"])

        // Small and binary files too: compression (left out inline) would not touch them on a worker.
        for path in ["/static/css/site.css", "/static/logo.png"] {
            let worker = app.respond(to: request(path, headers: [("Accept-Encoding", "gzip")]))
            let loop = try #require(app.respondInline(to: request(path, headers: [("Accept-Encoding", "gzip")])))
            #expect(loop.bodyBytes == worker.bodyBytes, "\(path)")
            #expect(loop.headers["Content-Encoding"] == worker.headers["Content-Encoding"], "\(path)")
            #expect(loop.headers["Vary"] == worker.headers["Vary"], "\(path)")
            #expect(names(loop) == names(worker), "\(path)")
        }

        let etag = try #require(app.respond(to: request("/static/app.css")).headers["ETag"])
        let notModified = try #require(app.respondInline(to: request("/static/app.css", headers: [("If-None-Match", etag)])))
        #expect(notModified.status == .notModified)
        let head = try #require(app.respondInline(to: request(.HEAD, "/static/app.css")))
        #expect(head.bodyBytes.isEmpty)
        #expect(head.headers["Content-Length"] == String(css.utf8.count))

        // Left to the worker: other methods (405), unsafe or missing paths, other prefixes.
        #expect(app.respondInline(to: request(.POST, "/static/app.css")) == nil)
        #expect(app.respondInline(to: request("/static/../secret.txt")) == nil)
        #expect(app.respondInline(to: request("/static/missing.css")) == nil)
        #expect(app.respondInline(to: request("/staticky/app.css")) == nil)
        #expect(app.respondInline(to: request("/")) == nil)
    }

    /// A cached file whose `stat` is due goes to a worker (the loop never touches the disk);
    /// the worker's check makes it inline-able again.
    @Test func inlineAnswersStopWhenAFileIsDueForItsCheck() throws {
        _ = app.respond(to: request("/static/css/site.css"))
        #expect(app.respondInline(to: request("/static/css/site.css"))?.bodyText == "h1 { font-weight: bold; }")
        dir.write("Public/css/site.css", "h1 { font-weight: normal; color: red; }")
        Thread.sleep(forTimeInterval: 1.2)
        #expect(app.respondInline(to: request("/static/css/site.css")) == nil)
        #expect(app.respond(to: request("/static/css/site.css")).bodyText == "h1 { font-weight: normal; color: red; }")
        #expect(app.respondInline(to: request("/static/css/site.css"))?.bodyText == "h1 { font-weight: normal; color: red; }")
    }

    /// Large files are streamed from disk: never inline.
    @Test func largeFilesAreNeverAnsweredInline() throws {
        let d = TempDir()
        d.write("Public/big.txt", [UInt8](repeating: 65, count: 3000))
        let files = try StaticFiles(directory: d.path + "/Public", maxCachedFileSize: 1000)
        let app = WebApplication(router: Router(), staticFiles: files, logger: LogCapture().logger)
        _ = app.respond(to: request("/static/big.txt"))
        #expect(app.respondInline(to: request("/static/big.txt")) == nil)
    }

    @Test func missingDirectoryThrows() {
        #expect(throws: StaticFiles.Error.self) { try StaticFiles(directory: dir.path + "/Nope") }
    }
}
