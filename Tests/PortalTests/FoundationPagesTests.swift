import CZlib
import Foundation
import Testing
@testable import Portal

@Suite("Home page, health check, static files and error pages over real sockets")
struct FoundationPagesTests {
    static let securityHeaders = [
        "content-security-policy", "x-content-type-options", "referrer-policy",
    ]

    func expectSecurityHeaders(_ r: TestResponse, sourceLocation: SourceLocation = #_sourceLocation) {
        let csp = r["Content-Security-Policy"] ?? ""
        for part in ["default-src 'self'", "object-src 'none'", "base-uri 'none'", "frame-ancestors 'none'"] {
            #expect(csp.contains(part), "CSP lacks \(part)", sourceLocation: sourceLocation)
        }
        #expect(r["X-Content-Type-Options"] == "nosniff", sourceLocation: sourceLocation)
        #expect(r["Referrer-Policy"] != nil, sourceLocation: sourceLocation)
        #expect(r["Content-Type"]?.contains("charset=utf-8") == true, sourceLocation: sourceLocation)
        #expect(r["Date"] != nil, sourceLocation: sourceLocation)
    }

    @Test func homePageSaysWhatPortalIsAndLinksToSignUpAndLogIn() throws {
        let portal = try TestPortal()
        let r = try portal.request("GET", "/")
        #expect(r.status == 200)
        #expect(r["Content-Type"] == "text/html; charset=utf-8")
        #expect(r.text.contains("developer portal"))
        #expect(r.text.contains("href=\"/signup\""))
        #expect(r.text.contains("href=\"/login\""))
        #expect(r.text.contains("/static/css/portal.css"))
        // No external resources: every src/href is local.
        #expect(!r.text.contains("http://") && !r.text.contains("https://"))
        expectSecurityHeaders(r)
    }

    @Test func homePageSaysWhatIsThereAndWhatIsStillComing() throws {
        let portal = try TestPortal()
        let text = try portal.request("GET", "/").text
        let today = try #require(text.range(of: "What you can do here today"))
        let coming = try #require(text.range(of: "Coming next"))
        #expect(today.upperBound < coming.lowerBound)
        // What exists is promised; keys, webhooks and money are listed only as coming.
        #expect(text[today.upperBound..<coming.lowerBound].contains("two-factor"))
        #expect(!text[today.upperBound..<coming.lowerBound].contains("API keys"))
        #expect(!text[today.upperBound..<coming.lowerBound].contains("webhooks"))
        #expect(text[coming.upperBound...].contains("API keys") && text[coming.upperBound...].contains("payouts"))
    }

    @Test func healthCheckReadsTheDatabase() throws {
        let portal = try TestPortal()
        let r = try portal.request("GET", "/healthz")
        #expect(r.status == 200)
        #expect(r.text == "ok")
        // Break the database under it: the check must notice.
        try portal.app.database.write { _ = try $0.execute("DELETE FROM app_meta") }
        let broken = try portal.request("GET", "/healthz")
        #expect(broken.status == 503)
    }

    @Test func stylesheetIsServedWithCachingHeaders() throws {
        let portal = try TestPortal()
        let r = try portal.request("GET", "/static/css/portal.css")
        #expect(r.status == 200)
        #expect(r["Content-Type"]?.hasPrefix("text/css") == true)
        let etag = try #require(r["ETag"])
        #expect(r["Last-Modified"] != nil)
        #expect(r["Cache-Control"]?.contains("max-age") == true)
        let again = try portal.request("GET", "/static/css/portal.css", headers: ["If-None-Match": etag])
        #expect(again.status == 304)
        #expect(again.body.isEmpty)
    }

    @Test(arguments: ["/static/../Package.swift", "/static/%2e%2e/Package.swift", "/static/..%2fPackage.swift", "/static/css/%2e%2e/%2e%2e/Package.swift", "/static/%2e%2e%2fPackage.swift"])
    func staticFilesCannotEscapePublic(path: String) throws {
        let portal = try TestPortal()
        let r = try portal.request("GET", path)
        #expect(r.status == 404 || r.status == 400)
        #expect(!r.text.contains("PackageDescription"))
    }

    @Test func unknownPageGetsTheTemplated404WithSecurityHeaders() throws {
        let portal = try TestPortal()
        let r = try portal.request("GET", "/no/such/page?secret=1")
        #expect(r.status == 404)
        #expect(r.text.contains("<html"))
        #expect(r.text.contains("Not Found"))
        expectSecurityHeaders(r)
    }

    @Test func wrongMethodGets405WithAllow() throws {
        let portal = try TestPortal()
        let r = try portal.request("DELETE", "/healthz")
        #expect(r.status == 405)
        #expect(r["Allow"]?.contains("GET") == true)
        expectSecurityHeaders(r)
    }

    @Test func protocolErrorsGetTemplatedPagesWithSecurityHeaders() throws {
        let portal = try TestPortal()
        let bad = try portal.raw("GET / HTTP/1.1\r\nHost : x\r\n\r\n")
        #expect(bad.status == 400)
        #expect(bad.text.contains("<html"))
        expectSecurityHeaders(bad)
        let big = try portal.raw("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 99999999\r\n\r\n")
        #expect(big.status == 413)
        #expect(big.text.contains("too large"))
        expectSecurityHeaders(big)
    }

    @Test func headOfTheHomePageHasNoBody() throws {
        let portal = try TestPortal()
        let get = try portal.request("GET", "/")
        let head = try portal.request("HEAD", "/")
        #expect(head.status == 200)
        #expect(head.body.isEmpty)
        #expect(head["Content-Length"] == get["Content-Length"])
    }

    @Test func pagesAreGzippedForClientsThatAcceptIt() throws {
        let portal = try TestPortal()
        let plain = try portal.request("GET", "/")
        let r = try portal.request("GET", "/", headers: ["Accept-Encoding": "gzip"])
        #expect(r["Content-Encoding"] == "gzip")
        #expect(r.body.count < plain.body.count)
        let roundTrips = gunzip(r.body) == plain.body
        #expect(roundTrips)
    }

    @Test func migrationsAreRecordedOnStart() throws {
        let portal = try TestPortal()
        let count = try portal.app.database.read { try $0.scalar("SELECT count(*) FROM schema_migrations", as: Int.self) }
        let files = try FileManager.default.contentsOfDirectory(atPath: repoRoot + "/Migrations").filter { $0.hasSuffix(".sql") }
        #expect(count == files.count)
    }
}

func gunzip(_ data: [UInt8]) -> [UInt8] {
    var stream = z_stream()
    inflateInit2_(&stream, 15 + 16, ZLIB_VERSION, Int32(MemoryLayout<z_stream>.size))
    defer { inflateEnd(&stream) }
    var input = data
    var out: [UInt8] = []
    var buf = [UInt8](repeating: 0, count: 65536)
    input.withUnsafeMutableBufferPointer { inp in
        stream.next_in = inp.baseAddress
        stream.avail_in = UInt32(inp.count)
        repeat {
            buf.withUnsafeMutableBufferPointer { b in
                stream.next_out = b.baseAddress
                stream.avail_out = UInt32(b.count)
                inflate(&stream, Z_NO_FLUSH)
                out += b[0..<(b.count - Int(stream.avail_out))]
            }
        } while stream.avail_out == 0
    }
    return out
}
