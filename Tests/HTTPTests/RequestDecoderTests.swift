import Testing
@testable import HTTP

/// Table tests for the request decoder, in the style of swift-nio's HTTP1 decoder tests and
/// Go's TestServerValidatesHeaders: raw bytes in, events out. Every valid case is replayed
/// split at every byte offset.

/// What a case expects, compactly.
enum Expect: Equatable, CustomStringConvertible {
    case request(String, String, body: String)     // method, target, body
    case sendContinue
    case error(Int)

    var description: String {
        switch self {
        case let .request(m, t, b): return "request(\(m) \(t) body:\(b.count)B)"
        case .sendContinue: return "100-continue"
        case let .error(s): return "error(\(s))"
        }
    }
}

/// Drives a decoder the way a connection does: unconsumed bytes are kept and handed back
/// with the next arrival; decoding stops at the first error.
func decodeAll(_ chunks: [[UInt8]], bodyLimit: Int = 1024, limits: RequestDecoder.Limits = RequestDecoder.Limits()) -> [Expect] {
    var decoder = RequestDecoder(limits: limits, bodyLimit: { _ in bodyLimit })
    var pending: [UInt8] = []
    var out: [Expect] = []
    for chunk in chunks {
        pending += chunk
        while true {
            let (consumed, event) = pending.withUnsafeBufferPointer { decoder.decode($0) }
            pending.removeFirst(consumed)
            guard let event else { break }
            switch event {
            case .sendContinue: out.append(.sendContinue)
            case let .request(head, body):
                out.append(.request(head.method.rawValue, head.target, body: String(decoding: body, as: UTF8.self)))
            case let .error(status, _):
                out.append(.error(status.code))
                return out
            }
        }
    }
    return out
}

func bytes(_ s: String) -> [UInt8] { Array(s.utf8) }

struct DecoderCase: CustomTestStringConvertible, Sendable {
    let name: String
    let raw: [UInt8]
    let expected: [Expect]
    var bodyLimit = 1024
    var testDescription: String { name }

    init(_ name: String, _ raw: String, _ expected: [Expect], bodyLimit: Int = 1024) {
        self.name = name
        self.raw = bytes(raw)
        self.expected = expected
        self.bodyLimit = bodyLimit
    }

    init(_ name: String, raw: [UInt8], _ expected: [Expect]) {
        self.name = name
        self.raw = raw
        self.expected = expected
    }
}

extension Expect: @unchecked Sendable {}

let validCases: [DecoderCase] = [
    DecoderCase("simple GET", "GET / HTTP/1.1\r\nHost: a\r\n\r\n", [.request("GET", "/", body: "")]),
    DecoderCase("HTTP/1.0 without Host", "GET /x HTTP/1.0\r\n\r\n", [.request("GET", "/x", body: "")]),
    DecoderCase("query and OWS", "GET /p?q=1&r=%20 HTTP/1.1\r\nHost:a\r\nX-A: \t spaced \t\r\n\r\n", [.request("GET", "/p?q=1&r=%20", body: "")]),
    DecoderCase("content-length body", "POST /f HTTP/1.1\r\nHost: a\r\nContent-Length: 11\r\n\r\nhello world", [.request("POST", "/f", body: "hello world")]),
    DecoderCase("repeated identical content-length", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3, 3\r\nContent-Length: 3\r\n\r\nabc", [.request("POST", "/", body: "abc")]),
    DecoderCase("chunked with extension and trailers",
                "POST /c HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n5;name=val\r\nhello\r\n6\r\n world\r\n0\r\nX-Trailer: yes\r\n\r\n",
                [.request("POST", "/c", body: "hello world")]),
    DecoderCase("chunked, upper-case hex", "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: Chunked\r\n\r\nA\r\n0123456789\r\n0\r\n\r\n", [.request("POST", "/", body: "0123456789")]),
    DecoderCase("pipelined requests",
                "GET /1 HTTP/1.1\r\nHost: a\r\n\r\nPOST /2 HTTP/1.1\r\nHost: a\r\nContent-Length: 2\r\n\r\nokGET /3 HTTP/1.1\r\nHost: a\r\n\r\n",
                [.request("GET", "/1", body: ""), .request("POST", "/2", body: "ok"), .request("GET", "/3", body: "")]),
    DecoderCase("absolute-form target", "GET http://example.com/a?b=c HTTP/1.1\r\nHost: example.com\r\n\r\n", [.request("GET", "http://example.com/a?b=c", body: "")]),
    DecoderCase("leading empty line", "\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n", [.request("GET", "/", body: "")]),
    DecoderCase("obs-text in a value", raw: bytes("GET / HTTP/1.1\r\nHost: a\r\nX-Name: caf") + [0xC3, 0xA9] + bytes("\r\n\r\n"), [.request("GET", "/", body: "")]),
    DecoderCase("expect 100-continue", "PUT /u HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\nContent-Length: 4\r\n\r\ndata", [.sendContinue, .request("PUT", "/u", body: "data")]),
    DecoderCase("OPTIONS asterisk", "OPTIONS * HTTP/1.1\r\nHost: a\r\n\r\n", [.request("OPTIONS", "*", body: "")]),
    DecoderCase("HEAD", "HEAD /h HTTP/1.1\r\nHost: a\r\n\r\n", [.request("HEAD", "/h", body: "")]),
    DecoderCase("body exactly at the limit", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 4\r\n\r\nabcd", [.request("POST", "/", body: "abcd")], bodyLimit: 4),
    DecoderCase("empty Host on absolute form", "GET http://h/ HTTP/1.1\r\nHost:\r\n\r\n", [.request("GET", "http://h/", body: "")]),
]

let longTarget = "/" + String(repeating: "a", count: 8 * 1024 + 1)
let bigHeaders = (0..<40).map { "X-Fill-\($0): " + String(repeating: "v", count: 1000) + "\r\n" }.joined()

let invalidCases: [DecoderCase] = [
    // framing
    DecoderCase("content-length with transfer-encoding", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n", [.error(400)]),
    DecoderCase("transfer-encoding with content-length", "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n", [.error(400)]),
    DecoderCase("differing content-lengths", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\nabcd", [.error(400)]),
    DecoderCase("differing content-length list", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3, 4\r\n\r\nabcd", [.error(400)]),
    DecoderCase("negative content-length", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: -1\r\n\r\n", [.error(400)]),
    DecoderCase("plus-signed content-length", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: +3\r\n\r\nabc", [.error(400)]),
    DecoderCase("non-numeric content-length", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3a\r\n\r\nabc", [.error(400)]),
    DecoderCase("empty content-length", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length:\r\n\r\n", [.error(400)]),
    DecoderCase("huge content-length", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 99999999999999999999999\r\n\r\n", [.error(400)]),
    DecoderCase("transfer-encoding not ending in chunked", "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip\r\n\r\n", [.error(400)]),
    DecoderCase("chunked then gzip", "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked, gzip\r\n\r\n", [.error(400)]),
    DecoderCase("unknown coding before chunked", "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip, chunked\r\n\r\n", [.error(501)]),
    DecoderCase("chunked twice", "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n", [.error(400)]),
    DecoderCase("transfer-encoding on HTTP/1.0", "POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", [.error(400)]),
    DecoderCase("bad chunk size", "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nhello\r\n0\r\n\r\n", [.error(400)]),
    DecoderCase("chunk size with spaces only", "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n5 \r\nhello\r\n0\r\n\r\n", [.error(400)]),
    DecoderCase("chunk size overflow", "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n10000000000000000\r\nx\r\n", [.error(400)]),
    DecoderCase("negative chunk size", "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n-5\r\nhello\r\n", [.error(400)]),
    DecoderCase("missing CRLF after chunk data", "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhelloXX0\r\n\r\n", [.error(400)]),
    DecoderCase("chunk size line ending in bare LF", "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n5\nhello\r\n0\r\n\r\n", [.error(400)]),
    // Host
    DecoderCase("missing Host on 1.1", "GET / HTTP/1.1\r\nAccept: */*\r\n\r\n", [.error(400)]),
    DecoderCase("duplicate Host", "GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", [.error(400)]),
    DecoderCase("Host with a space", "GET / HTTP/1.1\r\nHost: a b\r\n\r\n", [.error(400)]),
    DecoderCase("Host with a slash", "GET / HTTP/1.1\r\nHost: a/b\r\n\r\n", [.error(400)]),
    // header syntax
    DecoderCase("space before colon", "GET / HTTP/1.1\r\nHost : a\r\n\r\n", [.error(400)]),
    DecoderCase("tab before colon", "GET / HTTP/1.1\r\nHost\t: a\r\n\r\n", [.error(400)]),
    DecoderCase("control char in value", "GET / HTTP/1.1\r\nHost: a\r\nX-A: b\u{01}c\r\n\r\n", [.error(400)]),
    DecoderCase("NUL in value", "GET / HTTP/1.1\r\nHost: a\r\nX-A: b\u{00}c\r\n\r\n", [.error(400)]),
    DecoderCase("DEL in value", "GET / HTTP/1.1\r\nHost: a\r\nX-A: b\u{7F}c\r\n\r\n", [.error(400)]),
    DecoderCase("bare CR in a value", "GET / HTTP/1.1\r\nHost: a\r\nX-A: b\rc\r\n\r\n", [.error(400)]),
    DecoderCase("bare LF line ending", "GET / HTTP/1.1\nHost: a\n\n", [.error(400)]),
    DecoderCase("obs-fold", "GET / HTTP/1.1\r\nHost: a\r\nX-A: b\r\n c\r\n\r\n", [.error(400)]),
    DecoderCase("empty header name", "GET / HTTP/1.1\r\nHost: a\r\n: b\r\n\r\n", [.error(400)]),
    DecoderCase("header without colon", "GET / HTTP/1.1\r\nHost: a\r\nNoColon\r\n\r\n", [.error(400)]),
    DecoderCase("non-token in header name", "GET / HTTP/1.1\r\nHost: a\r\nX(A): b\r\n\r\n", [.error(400)]),
    // request line
    DecoderCase("space inside target", "GET /a b HTTP/1.1\r\nHost: a\r\n\r\n", [.error(400)]),
    DecoderCase("two spaces after method", "GET  / HTTP/1.1\r\nHost: a\r\n\r\n", [.error(400)]),
    DecoderCase("malformed method", "G(T / HTTP/1.1\r\nHost: a\r\n\r\n", [.error(400)]),
    DecoderCase("missing version", "GET /\r\nHost: a\r\n\r\n", [.error(400)]),
    DecoderCase("malformed version", "GET / HTTP/1.x\r\nHost: a\r\n\r\n", [.error(400)]),
    DecoderCase("lower-case version", "GET / http/1.1\r\nHost: a\r\n\r\n", [.error(400)]),
    DecoderCase("two-digit version", "GET / HTTP/11\r\nHost: a\r\n\r\n", [.error(400)]),
    DecoderCase("trailing space after version", "GET / HTTP/1.1 \r\nHost: a\r\n\r\n", [.error(400)]),
    DecoderCase("HTTP/2.0", "GET / HTTP/2.0\r\nHost: a\r\n\r\n", [.error(505)]),
    DecoderCase("relative target", "GET a/b HTTP/1.1\r\nHost: a\r\n\r\n", [.error(400)]),
    DecoderCase("asterisk for GET", "GET * HTTP/1.1\r\nHost: a\r\n\r\n", [.error(400)]),
    DecoderCase("non-ASCII in target", raw: bytes("GET /caf") + [0xC3, 0xA9] + bytes(" HTTP/1.1\r\nHost: a\r\n\r\n"), [.error(400)]),
    // methods
    DecoderCase("TRACE", "TRACE / HTTP/1.1\r\nHost: a\r\n\r\n", [.error(405)]),
    DecoderCase("unknown method", "BREW /pot HTTP/1.1\r\nHost: a\r\n\r\n", [.error(501)]),
    DecoderCase("lower-case method", "get / HTTP/1.1\r\nHost: a\r\n\r\n", [.error(501)]),
    DecoderCase("CONNECT", "CONNECT a:443 HTTP/1.1\r\nHost: a:443\r\n\r\n", [.error(400)]),
    // sizes
    DecoderCase("target over 8 KiB", "GET \(longTarget) HTTP/1.1\r\nHost: a\r\n\r\n", [.error(414)]),
    DecoderCase("header section over the limit", "GET / HTTP/1.1\r\nHost: a\r\n\(bigHeaders)\r\n", [.error(431)]),
    DecoderCase("declared body over the limit", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\n", [.error(413)], bodyLimit: 4),
    DecoderCase("chunked body growing over the limit", "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n3\r\ndef\r\n0\r\n\r\n", [.error(413)], bodyLimit: 4),
    DecoderCase("unknown expectation", "POST / HTTP/1.1\r\nHost: a\r\nExpect: 200-ok\r\nContent-Length: 1\r\n\r\nx", [.error(417)]),
    DecoderCase("endless empty lines before a request", String(repeating: "\r\n", count: 100_000) + "GET / HTTP/1.1\r\nHost: a\r\n\r\n", [.error(400)]),
    // nothing after an error is parsed
    DecoderCase("valid request after a bad one is not parsed", "GET / HTTP/1.1\r\nHost : a\r\n\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n", [.error(400)]),
    DecoderCase("smuggled request after CL+TE is not parsed",
                "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\nGET /admin HTTP/1.1\r\nHost: a\r\n\r\n", [.error(400)]),
]

@Suite("RequestDecoder tables")
struct RequestDecoderTests {
    @Test("valid requests, whole", arguments: validCases)
    func validWhole(_ c: DecoderCase) {
        #expect(decodeAll([c.raw], bodyLimit: c.bodyLimit) == c.expected)
    }

    @Test("valid requests, split at every byte offset", arguments: validCases)
    func validSplit(_ c: DecoderCase) {
        for cut in 1..<c.raw.count {
            let got = decodeAll([Array(c.raw[..<cut]), Array(c.raw[cut...])], bodyLimit: c.bodyLimit)
            #expect(got == c.expected, "split at \(cut)")
            if got != c.expected { return }
        }
    }

    @Test("valid requests, one byte at a time", arguments: validCases)
    func validBytewise(_ c: DecoderCase) {
        #expect(decodeAll(c.raw.map { [$0] }, bodyLimit: c.bodyLimit) == c.expected)
    }

    @Test("invalid requests are refused and nothing after them is parsed", arguments: invalidCases)
    func invalid(_ c: DecoderCase) {
        #expect(decodeAll([c.raw], bodyLimit: c.bodyLimit) == c.expected)
    }

    @Test("invalid requests fed one byte at a time are refused the same way", arguments: invalidCases)
    func invalidBytewise(_ c: DecoderCase) {
        #expect(decodeAll(c.raw.map { [$0] }, bodyLimit: c.bodyLimit) == c.expected)
    }

    @Test func oversizeTargetIsRefusedBeforeTheLineEnds() {
        // 414 as soon as the request line is known to be too long, without waiting for CRLF.
        let partial = bytes("GET /" + String(repeating: "b", count: 9000))
        #expect(decodeAll([partial]) == [.error(414)])
    }

    @Test func oversizeHeadersAreRefusedBeforeTheSectionEnds() {
        let partial = bytes("GET / HTTP/1.1\r\nHost: a\r\n" + bigHeaders)
        #expect(decodeAll([partial]) == [.error(431)])
    }

    @Test func declaredBodyOverLimitIsRefusedWithoutReadingIt() {
        // The head alone is enough: 413 comes before any body byte.
        let head = bytes("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 100000\r\n\r\n")
        #expect(decodeAll([head], bodyLimit: 10) == [.error(413)])
    }

    /// The limit is a route lookup on the event loop: asked only for requests with a body,
    /// and still enforced for those (declared or chunked).
    @Test func bodyLimitIsAskedOnlyWhenThereIsABody() {
        final class Asked: @unchecked Sendable { var count = 0 }
        let asked = Asked()
        var d = RequestDecoder(bodyLimit: { _ in asked.count += 1; return 4 })
        func decode(_ s: String) -> RequestDecoder.Event? {
            let raw = bytes(s)
            return raw.withUnsafeBufferPointer { d.decode($0) }.event
        }
        _ = decode("GET / HTTP/1.1\r\nHost: a\r\n\r\n")
        _ = decode("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 0\r\n\r\n")
        #expect(asked.count == 0)
        _ = decode("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n\r\nabc")
        #expect(asked.count == 1)
        if case .error(let status, _)? = decode("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\n") {
            #expect(status == .payloadTooLarge)
        } else {
            Issue.record("a declared body over the limit must be refused")
        }
        var c = RequestDecoder(bodyLimit: { _ in asked.count += 1; return 4 })
        let chunked = bytes("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nabcde\r\n0\r\n\r\n")
        var pos = 0
        var last: RequestDecoder.Event?
        while pos < chunked.count {
            let (n, ev) = chunked.withUnsafeBufferPointer { c.decode(UnsafeBufferPointer(rebasing: $0[pos...])) }
            pos += n
            if let ev { last = ev; break }
            if n == 0 { break }
        }
        #expect(asked.count == 3)
        if case .error(let status, _)? = last { #expect(status == .payloadTooLarge) } else { Issue.record("chunked body over the limit") }
    }

    @Test func headersAreParsedWithValuesTrimmed() {
        var d = RequestDecoder(bodyLimit: { _ in 0 })
        let raw = bytes("GET /a?x=1 HTTP/1.1\r\nHost: example\r\nX-Multi: one\r\nx-multi:  two \r\nConnection: close\r\n\r\n")
        let (n, ev) = raw.withUnsafeBufferPointer { d.decode($0) }
        #expect(n == raw.count)
        guard case let .request(head, _)? = ev else { Issue.record("no request"); return }
        #expect(head.path == "/a")
        #expect(head.query == "x=1")
        #expect(head.headers["host"] == "example")
        #expect(head.headers.values("X-MULTI") == ["one", "two"])
        #expect(head.keepAlive == false)
    }

    @Test func keepAliveDefaults() {
        #expect(HTTPRequestHead(method: .GET, target: "/", version: .http1_1).keepAlive)
        #expect(!HTTPRequestHead(method: .GET, target: "/", version: .http1_0).keepAlive)
        #expect(HTTPRequestHead(method: .GET, target: "/", version: .http1_0, headers: ["Connection": "Keep-Alive"]).keepAlive)
        #expect(!HTTPRequestHead(method: .GET, target: "/", version: .http1_1, headers: ["Connection": "foo, close"]).keepAlive)
    }

    @Test func absoluteFormYieldsPathAndQuery() {
        let h = HTTPRequestHead(method: .GET, target: "http://example.com:8080/a/b?c=d")
        #expect(h.path == "/a/b")
        #expect(h.query == "c=d")
        #expect(HTTPRequestHead(method: .GET, target: "http://example.com").path == "/")
    }

    @Test func httpDateRoundTrips() {
        #expect(HTTPDateFormat.string(from: 784111777) == "Sun, 06 Nov 1994 08:49:37 GMT")
        #expect(HTTPDateFormat.unixTime(from: "Sun, 06 Nov 1994 08:49:37 GMT") == 784111777)
        #expect(HTTPDateFormat.unixTime(from: "Sunday, 06-Nov-94 08:49:37 GMT") == nil)
    }
}
