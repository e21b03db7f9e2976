import Foundation
import HTTP
import Testing
import Web
@testable import Portal

/// The HTTP layer's own refusals (before any routing) are JSON under the API prefixes and
/// pages elsewhere, like every other error of the two pipelines.
extension PipelinesTests {
    func isPage(_ r: TestResponse) -> Bool {
        r["content-type"] == "text/html; charset=utf-8" && r.text.contains("<html")
    }

    @Test func refusalsBeforeParsingAreJSONUnderTheAPIAndPagesElsewhere() throws {
        let portal = try TestPortal()
        let long = String(repeating: "a", count: 10_000)
        let uri = try portal.raw("GET /v1/\(long) HTTP/1.1\r\nHost: x\r\n\r\n")
        #expect(uri.status == 414)
        let error = try jsonError(uri)
        #expect(error["code"] == "uri_too_long" && error["type"] == "invalid_request_error")
        #expect(error["message"] == "The request URI is too long.")
        #expect(error["request_id"] == uri["x-request-id"])
        #expect(isPage(try portal.raw("GET /\(long) HTTP/1.1\r\nHost: x\r\n\r\n")))

        let big = String(repeating: "b", count: 40_000)
        let headers = try portal.raw("GET /oauth/token HTTP/1.1\r\nHost: x\r\nX-Big: \(big)\r\n\r\n")
        #expect(headers.status == 431 && headers["content-type"] == "application/json")
        // Under /oauth in RFC 6749's shape: {"error", "error_description"}.
        let oauthError = try #require(try JSONSerialization.jsonObject(with: Data(headers.body)) as? [String: Any])
        #expect(oauthError["error"] as? String == "invalid_request" && (oauthError["error_description"] as? String)?.contains("431") == true)
        let pageHeaders = try portal.raw("GET /login HTTP/1.1\r\nHost: x\r\nX-Big: \(big)\r\n\r\n")
        #expect(pageHeaders.status == 431 && isPage(pageHeaders))
    }

    @Test func aHeadThatNeverEndsTimesOutInJSONUnderTheAPI() throws {
        let portal = try TestPortal { $0.server.headerTimeout = 0.2 }
        let api = try portal.raw("GET /v1/ping HTTP/1.1\r\nHost: x\r\n")
        #expect(api.status == 408)
        #expect(try jsonError(api)["code"] == "request_timeout")
        let page = try portal.raw("GET /login HTTP/1.1\r\nHost: x\r\n")
        #expect(page.status == 408 && isPage(page))
    }

    @Test func anOverloadedServerAnswersTheAPIInJSON() throws {
        let portal = try TestPortal { $0.server.maxConnections = 1 }
        // One connection, kept alive, fills the server.
        let held = try Socket(port: portal.port)
        held.send(Array("GET /v1/ping HTTP/1.1\r\nHost: x\r\n\r\n".utf8))
        var buf = [UInt8](repeating: 0, count: 4096)
        #expect(recv(held.fd, &buf, buf.count, 0) > 0)

        let api = try portal.raw("GET /v1/ping HTTP/1.1\r\nHost: x\r\n\r\n")
        #expect(api.status == 503)
        let error = try jsonError(api)
        #expect(error["code"] == "unavailable" && error["type"] == "api_error")
        let page = try portal.raw("GET /login HTTP/1.1\r\nHost: x\r\n\r\n")
        #expect(page.status == 503 && isPage(page))
    }
}
