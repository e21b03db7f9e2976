import Foundation
import Testing
@testable import HTTP

/// Refusals made before a request's head is parsed (408, 414, 431) or read at all (503 over
/// the connection cap) tell the responder which configured prefix the request target began
/// with, so an application can answer them in that part's shape (JSON for an API).
@Suite("Refusals before routing know their prefix")
struct RefusalShapeTests {
    /// Says in the body what the server told it.
    struct ShapeResponder: HTTPResponder {
        func bodyLimit(for head: HTTPRequestHead) -> Int { 1024 }
        func respond(to request: HTTPRequest) -> HTTPResponse { HTTPResponse(contentType: "text/plain", body: "ok") }
        func errorResponse(status: HTTPStatus, head: HTTPRequestHead?) -> HTTPResponse {
            errorResponse(status: status, head: head, prefix: nil)
        }
        func errorResponse(status: HTTPStatus, head: HTTPRequestHead?, prefix: String?) -> HTTPResponse {
            HTTPResponse(status: status, contentType: "text/plain", body: "refused path=\(head?.path ?? "-") prefix=\(prefix ?? "-")")
        }
        func overloadResponse(prefix: String?) -> HTTPResponse {
            HTTPResponse(status: .serviceUnavailable, contentType: "text/plain", body: "overload prefix=\(prefix ?? "-")")
        }
    }

    static func configure(_ c: inout HTTPServer.Configuration) {
        c.refusalPrefixes = ["/v1", "/oauth"]
        c.limits.maxTargetLength = 1024
        c.limits.maxHeaderBytes = 4096
    }

    func refusal(_ server: HTTPServer, _ raw: String) throws -> RawClient.Response {
        let c = try RawClient(port: server.port)
        c.send(raw)
        return try #require(c.readResponse())
    }

    @Test func aURITooLongIsJudgedByTheStartOfItsTarget() throws {
        try withServer(Self.configure, responder: ShapeResponder()) { server in
            let long = String(repeating: "a", count: 5000)
            for (target, prefix) in [("/v1/\(long)", "/v1"), ("/v1?\(long)", "/v1"), ("/oauth/\(long)", "/oauth"),
                                     ("/v12/\(long)", "-"), ("/\(long)", "-"), ("/static/\(long)", "-")] {
                let r = try refusal(server, "GET \(target) HTTP/1.1\r\nHost: t\r\n\r\n")
                #expect(r.status == 414)
                #expect(r.text == "refused path=- prefix=\(prefix)", "\(target.prefix(12))")
            }
            // Before the request line is even complete.
            let r = try refusal(server, "GET /v1/\(long)")
            #expect(r.status == 414 && r.text == "refused path=- prefix=/v1")
        }
    }

    @Test func headersTooLargeKnowTheirPrefix() throws {
        try withServer(Self.configure, responder: ShapeResponder()) { server in
            let big = String(repeating: "b", count: 5000)
            let api = try refusal(server, "GET /oauth/token HTTP/1.1\r\nHost: t\r\nX-Big: \(big)\r\n\r\n")
            #expect(api.status == 431 && api.text == "refused path=- prefix=/oauth")
            let page = try refusal(server, "GET /login HTTP/1.1\r\nHost: t\r\nX-Big: \(big)\r\n\r\n")
            #expect(page.status == 431 && page.text == "refused path=- prefix=-")
        }
    }

    @Test func aTimeoutKnowsItsPrefixOrItsHead() throws {
        try withServer({ Self.configure(&$0); $0.headerTimeout = 0.2; $0.bodyTimeout = 0.2 }, responder: ShapeResponder()) { server in
            let head = try refusal(server, "GET /v1/ping HTTP/1.1\r\nHost: t\r\n")
            #expect(head.status == 408 && head.text == "refused path=- prefix=/v1")
            // The head arrived, the body did not: the head itself is passed.
            let body = try refusal(server, "POST /v1/things HTTP/1.1\r\nHost: t\r\nContent-Length: 10\r\n\r\nabc")
            #expect(body.status == 408 && body.text == "refused path=/v1/things prefix=-")
        }
    }

    @Test func aConnectionOverTheCapIsReadFarEnoughToKnowItsPrefix() throws {
        try withServer({ Self.configure(&$0); $0.maxConnections = 1 }, responder: ShapeResponder()) { server in
            let held = try RawClient(port: server.port)
            held.send("GET / HTTP/1.1\r\nHost: t\r\n\r\n")
            #expect(held.readResponse()?.status == 200)
            for (target, prefix) in [("/v1/ping", "/v1"), ("/oauth", "/oauth"), ("/", "-"), ("/v1x", "-")] {
                let c = try RawClient(port: server.port)
                c.send("GET \(target) HTTP/1.1\r\nHost: t\r\n\r\n")
                let r = try #require(c.readResponse())
                #expect(r.status == 503 && r.text == "overload prefix=\(prefix)", "\(target)")
                #expect(r.header("Connection") == "close")
                #expect(c.isClosedByServer())
            }
            // The held connection still works.
            held.send("GET /again HTTP/1.1\r\nHost: t\r\n\r\n")
            #expect(held.readResponse()?.text == "ok")
        }
    }

    @Test func withoutPrefixesOverCapConnectionsAreRefusedUnread() throws {
        try withServer({ $0.maxConnections = 1 }, responder: ShapeResponder()) { server in
            let held = try RawClient(port: server.port)
            held.send("GET / HTTP/1.1\r\nHost: t\r\n\r\n")
            #expect(held.readResponse()?.status == 200)
            // Nothing sent: the 503 comes anyway.
            let c = try RawClient(port: server.port)
            let r = try #require(c.readResponse())
            #expect(r.status == 503 && r.text == "overload prefix=-")
        }
    }
}
