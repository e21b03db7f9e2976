import HTTP
import Testing
import Web

@Suite struct CompressionTests {
    let html = "<!doctype html>" + String(repeating: "<tr><td>row</td><td>value</td></tr>\n", count: 200)

    func app() -> WebApplication {
        let html = self.html
        var router = Router()
        router.get("/page") { _ in .html(html) }
        router.get("/small") { _ in .html("<p>tiny</p>") }
        router.get("/image") { _ in
            HTTPResponse(status: .ok, headers: ["Content-Type": "image/png"], body: .bytes([UInt8](repeating: 1, count: 5000)))
        }
        router.get("/encoded") { _ in
            HTTPResponse(status: .ok, headers: ["Content-Type": "text/plain", "Content-Encoding": "br"], body: .bytes([UInt8](repeating: 2, count: 5000)))
        }
        router.get("/json") { _ in
            HTTPResponse(status: .ok, headers: ["Content-Type": "application/json"], body: .bytes(Array(("[" + String(repeating: "{\"a\":1},", count: 300) + "{}]").utf8)))
        }
        return WebApplication(router: router, logger: LogCapture().logger)
    }

    @Test func compressesTextWhenAccepted() throws {
        let res = app().respond(to: request("/page", headers: [("Accept-Encoding", "gzip, deflate, br")]))
        #expect(res.headers["Content-Encoding"] == "gzip")
        #expect(res.headers["Vary"] == "Accept-Encoding")
        #expect(res.bodyBytes.count < html.utf8.count / 4)
        #expect(gunzip(res.bodyBytes) == Array(html.utf8))
        let json = app().respond(to: request("/json", headers: [("Accept-Encoding", "*")]))
        #expect(json.headers["Content-Encoding"] == "gzip")
        #expect(gunzip(json.bodyBytes).map { String(decoding: $0, as: UTF8.self).hasPrefix("[{\"a\":1}") } == true)
    }

    @Test(arguments: ["gzip;q=0", "gzip;q=0.000, deflate", "identity", "br", "*;q=0", "x-gzip;q=0,*"])
    func notCompressedWhenRefused(_ acceptEncoding: String) {
        let res = app().respond(to: request("/page", headers: [("Accept-Encoding", acceptEncoding)]))
        #expect(res.headers["Content-Encoding"] == nil)
        #expect(res.bodyText == html)
        #expect(res.headers["Vary"] == "Accept-Encoding")  // caches must still know it varies
    }

    @Test func notCompressedWithoutHeaderSmallBodyImagesOrAlreadyEncoded() {
        let app = app()
        #expect(app.respond(to: request("/page")).headers["Content-Encoding"] == nil)
        let gz = [("Accept-Encoding", "gzip")]
        #expect(app.respond(to: request("/small", headers: gz)).headers["Content-Encoding"] == nil)
        let image = app.respond(to: request("/image", headers: gz))
        #expect(image.headers["Content-Encoding"] == nil)
        #expect(image.bodyBytes.count == 5000)
        let encoded = app.respond(to: request("/encoded", headers: gz))
        #expect(encoded.headers["Content-Encoding"] == "br")
        #expect(encoded.bodyBytes.count == 5000)
    }

    @Test func acceptEncodingParsing() {
        #expect(Gzip.isAccepted(by: "gzip"))
        #expect(Gzip.isAccepted(by: "GZIP ; q=0.5"))
        #expect(Gzip.isAccepted(by: "deflate, x-gzip"))
        #expect(Gzip.isAccepted(by: "*;q=0.1"))
        #expect(!Gzip.isAccepted(by: nil))
        #expect(!Gzip.isAccepted(by: ""))
        #expect(!Gzip.isAccepted(by: "gzip;q=0, *"))
        #expect(!Gzip.isAccepted(by: "deflate"))
        // Without parameters (what browsers send), the quick path: the same answers.
        #expect(Gzip.isAccepted(by: "gzip, deflate, br, zstd"))
        #expect(Gzip.isAccepted(by: "br,\tX-GZIP "))
        #expect(Gzip.isAccepted(by: "identity, *"))
        #expect(!Gzip.isAccepted(by: "deflate, br, identity"))
        #expect(!Gzip.isAccepted(by: "gzipx, xgzip, x-gzi, g zip, ,"))
        #expect(!Gzip.isAccepted(by: "x\rgzip, x\u{0D}gzip"))
    }

    @Test func gzipRoundTrip() throws {
        let data = (0..<10_000).map { UInt8(truncatingIfNeeded: $0 * 7) }
        let gz = try #require(Gzip.compress(data))
        #expect(gz.prefix(2) == [0x1F, 0x8B])
        #expect(gunzip(gz) == data)
        #expect(gunzip(try #require(Gzip.compress([]))) == [])
    }
}

/// Which types are worth compressing: the quick paths answer as the parsed one does.
@Suite struct CompressibleTypesTests {
    @Test(arguments: ["text/html; charset=utf-8", "TEXT/CSS", "application/json", "application/json; charset=utf-8", "application/json ;x=y",
                      "Application/JSON", "application/problem+json", "image/svg+xml", "application/vnd.api+json; q=1"])
    func compressible(type: String) { #expect(MediaTypes.isCompressible(type)) }

    @Test(arguments: ["application/json-seq", "application/jsonx", "image/png", "application/octet-stream", "", "application/zip; x=json"])
    func notCompressible(type: String) { #expect(!MediaTypes.isCompressible(type)) }
}
