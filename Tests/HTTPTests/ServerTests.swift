import Foundation
import Testing
@testable import HTTP

/// A blocking test client on a raw socket, so tests can send exactly the bytes they mean.
final class RawClient {
    let fd: Int32
    var buffer: [UInt8] = []

    /// `receiveBuffer`: a small kernel receive buffer, for a client that reads slowly.
    init(port: Int, timeout: Double = 5, receiveBuffer: Int32? = nil) throws {
        fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        if var size = receiveBuffer { setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, socklen_t(MemoryLayout<Int32>.size)) }
        var tv = timeval(tv_sec: Int(timeout), tv_usec: Int((timeout - Double(Int(timeout))) * 1_000_000))
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_port = UInt16(port).bigEndian
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        let rc = withUnsafePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
        if rc != 0 { Glibc.close(fd); throw POSIXError(.ECONNREFUSED) }
    }

    deinit { Glibc.close(fd) }

    func send(_ s: String) { send(Array(s.utf8)) }
    func send(_ b: [UInt8]) {
        var off = 0
        while off < b.count {
            let n = b.withUnsafeBytes { Glibc.send(fd, $0.baseAddress! + off, b.count - off, Int32(MSG_NOSIGNAL)) }
            if n <= 0 { return }
            off += n
        }
    }

    /// Reads more bytes; false on EOF, error or timeout.
    @discardableResult
    func fill() -> Bool {
        var tmp = [UInt8](repeating: 0, count: 65536)
        let n = recv(fd, &tmp, tmp.count, 0)
        if n <= 0 { return false }
        buffer += tmp[0..<n]
        return true
    }

    /// True when the server closed the connection (EOF or reset) within the timeout.
    func isClosedByServer() -> Bool {
        var tmp = [UInt8](repeating: 0, count: 4096)
        while true {
            let n = recv(fd, &tmp, tmp.count, 0)
            if n == 0 { return true }
            if n < 0 { return errno == ECONNRESET }
            buffer += tmp[0..<n]
        }
    }

    struct Response {
        let status: Int
        let headers: [(String, String)]
        let body: [UInt8]
        func header(_ n: String) -> String? { headers.first { $0.0.lowercased() == n.lowercased() }?.1 }
        var text: String { String(decoding: body, as: UTF8.self) }
    }

    /// Reads one response (Content-Length, chunked, or until close).
    func readResponse(headRequest: Bool = false) -> Response? {
        func findHeadEnd() -> Int? {
            guard buffer.count >= 4 else { return nil }
            for i in 0...(buffer.count - 4) where buffer[i] == 13 && buffer[i + 1] == 10 && buffer[i + 2] == 13 && buffer[i + 3] == 10 { return i }
            return nil
        }
        var end = findHeadEnd()
        while end == nil {
            guard fill() else { return nil }
            end = findHeadEnd()
        }
        let head = String(decoding: buffer[0..<end!], as: UTF8.self)
        buffer.removeFirst(end! + 4)
        var lines = head.components(separatedBy: "\r\n")
        let statusLine = lines.removeFirst()
        let status = Int(statusLine.split(separator: " ")[1])!
        let headers = lines.map { l -> (String, String) in
            let i = l.firstIndex(of: ":")!
            return (String(l[..<i]), l[l.index(after: i)...].trimmingCharacters(in: .whitespaces))
        }
        let r = Response(status: status, headers: headers, body: [])
        if headRequest || status == 204 || status == 304 || status < 200 { return r }
        if let cl = r.header("Content-Length").flatMap({ Int($0) }) {
            while buffer.count < cl { guard fill() else { return nil } }
            let body = Array(buffer[0..<cl])
            buffer.removeFirst(cl)
            return Response(status: status, headers: headers, body: body)
        }
        if r.header("Transfer-Encoding")?.lowercased() == "chunked" {
            var body: [UInt8] = []
            while true {
                var lineEnd: Int? = nil
                while lineEnd == nil {
                    lineEnd = buffer.indices.dropLast().first { buffer[$0] == 13 && buffer[$0 + 1] == 10 }
                    if lineEnd == nil { guard fill() else { return nil } }
                }
                let size = Int(String(decoding: buffer[0..<lineEnd!], as: UTF8.self), radix: 16)!
                buffer.removeFirst(lineEnd! + 2)
                while buffer.count < size + 2 { guard fill() else { return nil } }
                body += buffer[0..<size]
                buffer.removeFirst(size + 2)
                if size == 0 { return Response(status: status, headers: headers, body: body) }
            }
        }
        while fill() {}
        let body = buffer
        buffer = []
        return Response(status: status, headers: headers, body: body)
    }
}

/// Starts a server on an ephemeral port for the duration of `body`.
func withServer(_ configure: (inout HTTPServer.Configuration) -> Void = { _ in },
                responder: any HTTPResponder,
                _ body: (HTTPServer) throws -> Void) throws {
    var cfg = HTTPServer.Configuration()
    cfg.port = 0
    cfg.minWorkers = 2
    configure(&cfg)
    let server = HTTPServer(configuration: cfg, responder: responder)
    try server.start()
    defer {
        server.shutdown()
        server.waitUntilStopped()
    }
    try body(server)
}

let echo = ClosureResponder(bodyLimit: 1024) { req in
    switch req.path {
    case "/slow":
        usleep(600_000)
        return HTTPResponse(contentType: "text/plain", body: "slow")
    case "/big":
        return HTTPResponse(headers: ["Content-Type": "application/octet-stream"], body: .bytes(bigBody))
    case "/stream":
        return HTTPResponse(headers: ["Content-Type": "text/plain"], body: .stream { w in
            for i in 0..<2000 { try w.write(Array(String(repeating: "\(i % 10)", count: 1000).utf8)) }
        })
    default:
        let body = "\(req.method) \(req.path) \(req.body.count) \(String(decoding: req.body, as: UTF8.self))"
        return HTTPResponse(contentType: "text/plain", body: body)
    }
}

/// 3 MB that differ at every position mod 251: a byte lost, doubled or moved shows.
let bigBody: [UInt8] = (0..<3_000_000).map { UInt8($0 % 251) }

@Suite("HTTP server over real sockets")
struct ServerTests {
    /// A large buffered body leaves in its own array behind its head: to a client that reads
    /// only later (the socket fills, the loop waits and resumes mid-body), pipelined behind
    /// another large body, a HEAD and a small answer, every byte arrives once, in order.
    @Test func largeBodiesReachASlowReaderWhole() throws {
        try withServer(responder: echo) { server in
            let c = try RawClient(port: server.port, timeout: 20)
            c.send("GET /big HTTP/1.1\r\nHost: t\r\n\r\nGET /big HTTP/1.1\r\nHost: t\r\n\r\nHEAD /big HTTP/1.1\r\nHost: t\r\n\r\nGET /after HTTP/1.1\r\nHost: t\r\n\r\n")
            usleep(300_000)
            for _ in 0..<2 {
                let r = try #require(c.readResponse())
                #expect(r.status == 200 && r.header("Content-Length") == "3000000")
                #expect(r.body == bigBody)
            }
            let head = try #require(c.readResponse(headRequest: true))
            #expect(head.header("Content-Length") == "3000000" && head.body.isEmpty)
            #expect(c.readResponse()?.text == "GET /after 0 ")
        }
    }

    @Test func keepAliveServesSeveralRequestsOnOneConnection() throws {
        try withServer(responder: echo) { server in
            let c = try RawClient(port: server.port)
            for i in 0..<3 {
                c.send("GET /k\(i) HTTP/1.1\r\nHost: t\r\n\r\n")
                let r = try #require(c.readResponse())
                #expect(r.status == 200)
                #expect(r.text == "GET /k\(i) 0 ")
                #expect(r.header("Date") != nil)
                #expect(r.header("Connection") == nil)
            }
        }
    }

    @Test func http10ClosesByDefaultAndKeepsAliveOnRequest() throws {
        try withServer(responder: echo) { server in
            let c = try RawClient(port: server.port)
            c.send("GET /a HTTP/1.0\r\n\r\n")
            let r = try #require(c.readResponse())
            #expect(r.status == 200)
            #expect(r.header("Connection") == "close")
            #expect(c.isClosedByServer())

            let k = try RawClient(port: server.port)
            k.send("GET /a HTTP/1.0\r\nConnection: keep-alive\r\n\r\n")
            let r1 = try #require(k.readResponse())
            #expect(r1.header("Connection") == "keep-alive")
            k.send("GET /b HTTP/1.0\r\nConnection: keep-alive\r\n\r\n")
            #expect(k.readResponse()?.text == "GET /b 0 ")
        }
    }

    @Test func connectionCloseIsHonoured() throws {
        try withServer(responder: echo) { server in
            let c = try RawClient(port: server.port)
            c.send("GET / HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n")
            let r = try #require(c.readResponse())
            #expect(r.header("Connection") == "close")
            #expect(c.isClosedByServer())
        }
    }

    @Test func pipelinedRequestsAreAnsweredInOrder() throws {
        try withServer(responder: echo) { server in
            let c = try RawClient(port: server.port)
            // The first is slow; the second and third must still come after it.
            c.send("GET /slow HTTP/1.1\r\nHost: t\r\n\r\nPOST /two HTTP/1.1\r\nHost: t\r\nContent-Length: 3\r\n\r\nabcGET /three HTTP/1.1\r\nHost: t\r\n\r\n")
            #expect(c.readResponse()?.text == "slow")
            #expect(c.readResponse()?.text == "POST /two 3 abc")
            #expect(c.readResponse()?.text == "GET /three 0 ")
        }
    }

    @Test func chunkedRequestBody() throws {
        try withServer(responder: echo) { server in
            let c = try RawClient(port: server.port)
            c.send("POST /c HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n3;x=y\r\nabc\r\n2\r\nde\r\n0\r\nTrailer: 1\r\n\r\n")
            #expect(c.readResponse()?.text == "POST /c 5 abcde")
        }
    }

    @Test func expectContinueGetsInterimResponseBeforeBody() throws {
        try withServer(responder: echo) { server in
            let c = try RawClient(port: server.port)
            c.send("PUT /u HTTP/1.1\r\nHost: t\r\nExpect: 100-continue\r\nContent-Length: 4\r\n\r\n")
            let interim = try #require(c.readResponse())
            #expect(interim.status == 100)
            c.send("data")
            let r = try #require(c.readResponse())
            #expect(r.status == 200)
            #expect(r.text == "PUT /u 4 data")
        }
    }

    @Test func oversizeBodyIsRefusedBeforeItIsSent() throws {
        try withServer(responder: echo) { server in
            let c = try RawClient(port: server.port)
            // Only the head is sent: the 413 must arrive without the body.
            c.send("POST /big HTTP/1.1\r\nHost: t\r\nExpect: 100-continue\r\nContent-Length: 5000000\r\n\r\n")
            let r = try #require(c.readResponse())
            #expect(r.status == 413)
            #expect(r.header("Connection") == "close")
            #expect(c.isClosedByServer())
        }
    }

    @Test func chunkedBodyGrowingPastTheLimitGets413() throws {
        try withServer(responder: echo) { server in
            let c = try RawClient(port: server.port)
            c.send("POST /big HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n")
            for _ in 0..<3 { c.send("200\r\n" + String(repeating: "x", count: 512) + "\r\n") }
            let r = try #require(c.readResponse())
            #expect(r.status == 413)
            #expect(c.isClosedByServer())
        }
    }

    @Test(arguments: [
        ("GET / HTTP/1.1\r\nHost: t\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n", 400),
        ("GET / HTTP/1.1\r\n\r\n", 400),
        ("GET / HTTP/1.1\r\nHost: t\r\nHost: u\r\n\r\n", 400),
        ("GET /a b HTTP/1.1\r\nHost: t\r\n\r\n", 400),
        ("TRACE / HTTP/1.1\r\nHost: t\r\n\r\n", 405),
        ("FOO / HTTP/1.1\r\nHost: t\r\n\r\n", 501),
        ("GET /\(String(repeating: "a", count: 9000)) HTTP/1.1\r\nHost: t\r\n\r\n", 414),
        ("GET / HTTP/1.1\r\nHost: t\r\n\(String(repeating: "X-Big: \(String(repeating: "b", count: 1000))\r\n", count: 40))\r\n", 431),
    ])
    func rejectionsCloseTheConnectionAndIgnoreWhatFollows(raw: String, status: Int) throws {
        try withServer(responder: echo) { server in
            let c = try RawClient(port: server.port)
            // A valid request follows the bad one: it must never be answered.
            c.send(raw + "GET /smuggled HTTP/1.1\r\nHost: t\r\n\r\n")
            let r = try #require(c.readResponse())
            #expect(r.status == status)
            #expect(r.header("Connection") == "close")
            #expect(c.isClosedByServer())
            #expect(!String(decoding: c.buffer, as: UTF8.self).contains("smuggled"))
        }
    }

    @Test func headRequestHasLengthButNoBody() throws {
        try withServer(responder: echo) { server in
            let c = try RawClient(port: server.port)
            c.send("HEAD /h HTTP/1.1\r\nHost: t\r\n\r\nGET /after HTTP/1.1\r\nHost: t\r\n\r\n")
            let r = try #require(c.readResponse(headRequest: true))
            #expect(r.status == 200)
            #expect(r.header("Content-Length") == "\("HEAD /h 0 ".utf8.count)")
            // The next response starts right away: no body bytes were sent for HEAD.
            #expect(c.readResponse()?.text == "GET /after 0 ")
        }
    }

    @Test func streamedBodyIsChunkedAndComplete() throws {
        try withServer(responder: echo) { server in
            let c = try RawClient(port: server.port, timeout: 10)
            c.send("GET /stream HTTP/1.1\r\nHost: t\r\n\r\n")
            let r = try #require(c.readResponse())
            #expect(r.header("Transfer-Encoding") == "chunked")
            #expect(r.body.count == 2_000_000)
            #expect(r.body[999] == UInt8(ascii: "0") && r.body[1000] == UInt8(ascii: "1"))
            // keep-alive still works afterwards
            c.send("GET /x HTTP/1.1\r\nHost: t\r\n\r\n")
            #expect(c.readResponse()?.text == "GET /x 0 ")
        }
    }

    /// Sends `count` requests to /hold, which `hold` keeps busy until released, then checks
    /// that a request to /fast is answered within 2 s meanwhile, and the held ones after.
    func expectFastAnswerWhileHeld(count: Int, _ configure: (inout HTTPServer.Configuration) -> Void,
                                   hold: @escaping @Sendable (DispatchSemaphore) -> Void) throws {
        let gate = DispatchSemaphore(value: 0)
        let responder = ClosureResponder { req in
            if req.path == "/hold" { hold(gate) }
            return HTTPResponse(contentType: "text/plain", body: "ok")
        }
        try withServer(configure, responder: responder) { server in
            var held: [RawClient] = []
            for _ in 0..<count {
                let h = try RawClient(port: server.port)
                h.send("GET /hold HTTP/1.1\r\nHost: t\r\n\r\n")
                held.append(h)
            }
            let start = Date()
            let c = try RawClient(port: server.port)
            c.send("GET /fast HTTP/1.1\r\nHost: t\r\n\r\n")
            #expect(c.readResponse()?.status == 200)
            #expect(Date().timeIntervalSince(start) < 2)
            for _ in 0..<count { gate.signal() }
            for h in held { #expect(h.readResponse()?.status == 200) }
        }
    }

    /// Every worker blocked (without saying so): the pool grows after the stall timeout.
    @Test func slowHandlerDoesNotDelayOtherConnections() throws {
        try expectFastAnswerWhileHeld(count: 3, { $0.minWorkers = 1; $0.workerStallMillis = 10 }) { $0.wait() }
    }

    /// No stall rescue during the test: only `HTTPServer.waiting` can free the queue.
    @Test func aWorkerThatWaitsHandsQueuedRequestsOnAtOnce() throws {
        try expectFastAnswerWhileHeld(count: 4, { $0.minWorkers = 1; $0.workerStallMillis = 600_000 }) { gate in
            HTTPServer.waiting { gate.wait() }
        }
    }

    @Test func slowlorisHeadIsCutOffAtTheDeadline() throws {
        try withServer({ $0.headerTimeout = 1 }, responder: echo) { server in
            let c = try RawClient(port: server.port, timeout: 5)
            let start = Date()
            c.send("GET / HTTP/1.1\r\nHost: t\r\n")
            usleep(400_000)
            c.send("X-A: 1\r\n") // still trickling, never finishing
            let r = try #require(c.readResponse())
            #expect(r.status == 408)
            #expect(c.isClosedByServer())
            #expect(Date().timeIntervalSince(start) < 3)
        }
    }

    @Test func slowBodyIsCutOffAtTheDeadline() throws {
        try withServer({ $0.headerTimeout = 0.5; $0.bodyTimeout = 0.5 }, responder: echo) { server in
            let c = try RawClient(port: server.port, timeout: 5)
            c.send("POST / HTTP/1.1\r\nHost: t\r\nContent-Length: 10\r\n\r\nabc")
            let r = try #require(c.readResponse())
            #expect(r.status == 408)
            #expect(c.isClosedByServer())
        }
    }

    @Test func idleKeepAliveConnectionIsClosed() throws {
        try withServer({ $0.idleTimeout = 1 }, responder: echo) { server in
            let c = try RawClient(port: server.port, timeout: 5)
            c.send("GET / HTTP/1.1\r\nHost: t\r\n\r\n")
            #expect(c.readResponse()?.status == 200)
            let start = Date()
            #expect(c.isClosedByServer())
            let waited = Date().timeIntervalSince(start)
            #expect(waited > 0.5 && waited < 3)
        }
    }

    @Test func connectionsAboveTheCapGet503() throws {
        try withServer({ $0.maxConnections = 2 }, responder: echo) { server in
            let a = try RawClient(port: server.port)
            let b = try RawClient(port: server.port)
            a.send("GET / HTTP/1.1\r\nHost: t\r\n\r\n")
            b.send("GET / HTTP/1.1\r\nHost: t\r\n\r\n")
            #expect(a.readResponse()?.status == 200)
            #expect(b.readResponse()?.status == 200)
            let c = try RawClient(port: server.port)
            let r = try #require(c.readResponse())
            #expect(r.status == 503)
            #expect(c.isClosedByServer())
            // The held connections still work.
            a.send("GET /again HTTP/1.1\r\nHost: t\r\n\r\n")
            #expect(a.readResponse()?.text == "GET /again 0 ")
        }
    }

    @Test func gracefulShutdownFinishesInFlightRequests() throws {
        var cfg = HTTPServer.Configuration()
        cfg.port = 0
        cfg.minWorkers = 2
        let server = HTTPServer(configuration: cfg, responder: echo)
        try server.start()
        let c = try RawClient(port: server.port, timeout: 5)
        let idle = try RawClient(port: server.port, timeout: 5)
        idle.send("GET / HTTP/1.1\r\nHost: t\r\n\r\n")
        #expect(idle.readResponse()?.status == 200)
        c.send("GET /slow HTTP/1.1\r\nHost: t\r\n\r\n")
        usleep(100_000)
        server.shutdown()
        let r = try #require(c.readResponse())
        #expect(r.text == "slow")
        #expect(r.header("Connection") == "close")
        #expect(idle.isClosedByServer())
        server.waitUntilStopped()
        #expect(throws: (any Error).self) { _ = try RawClient(port: server.port) }
    }

    @Test func halfClosedClientStillGetsEveryPipelinedAnswer() throws {
        try withServer(responder: echo) { server in
            let c = try RawClient(port: server.port)
            c.send("GET /slow HTTP/1.1\r\nHost: t\r\n\r\nGET /second HTTP/1.1\r\nHost: t\r\n\r\n")
            shutdown(c.fd, Int32(SHUT_WR))
            #expect(c.readResponse()?.text == "slow")
            #expect(c.readResponse()?.text == "GET /second 0 ")
            #expect(c.isClosedByServer())
        }
    }

    @Test func responseHeadersCannotBeSplit() throws {
        let responder = ClosureResponder { _ in
            HTTPResponse(headers: ["X-Evil": "a\r\nSet-Cookie: pwned=1"], body: .bytes(Array("x".utf8)))
        }
        try withServer(responder: responder) { server in
            let c = try RawClient(port: server.port)
            c.send("GET / HTTP/1.1\r\nHost: t\r\n\r\n")
            let r = try #require(c.readResponse())
            #expect(r.header("Set-Cookie") == nil)
            #expect(r.header("X-Evil") == "aSet-Cookie: pwned=1")
        }
    }

    // MARK: answers made on the event loop (HTTPResponder.respondInline)

    /// `/inline/…` is answered on the loop (and counted there); everything else by `echo` on a worker.
    final class InlineCounter: @unchecked Sendable {
        let lock = NSLock()
        var inline = 0
        var worker = 0
        var workerThreads = Set<String>()
        func count(_ onLoop: Bool) {
            lock.lock(); defer { lock.unlock() }
            if onLoop { inline += 1 } else { worker += 1 }
        }
    }

    func inlineResponder(_ counter: InlineCounter) -> ClosureResponder {
        var r = ClosureResponder(bodyLimit: 1024) { req in
            counter.count(false)
            return echo.respond(to: req)
        }
        r.inline = { req in
            guard req.path.hasPrefix("/inline/") else { return nil }
            #expect(WorkerPool.current == nil) // the event loop, not a worker
            counter.count(true)
            if req.path == "/inline/stream" {
                return HTTPResponse(headers: ["Content-Type": "text/plain"], body: .stream { w in
                    for i in 0..<3 { try w.write(Array("part\(i);".utf8)) }
                })
            }
            return HTTPResponse(contentType: "text/plain", body: "inline \(req.path)")
        }
        return r
    }

    @Test func inlineAnswersSkipTheWorkers() throws {
        let counter = InlineCounter()
        try withServer(responder: inlineResponder(counter)) { server in
            let c = try RawClient(port: server.port)
            for _ in 0..<3 {
                c.send("GET /inline/a HTTP/1.1\r\nHost: t\r\n\r\n")
                let r = try #require(c.readResponse())
                #expect(r.status == 200)
                #expect(r.text == "inline /inline/a")
                #expect(r.header("Content-Length") == "16")
                #expect(r.header("Date") != nil)
            }
            c.send("GET /other HTTP/1.1\r\nHost: t\r\n\r\n")
            #expect(c.readResponse()?.text == "GET /other 0 ")
        }
        #expect(counter.inline == 3)
        #expect(counter.worker == 1)
    }

    /// Pipelined requests keep their order whichever side answers them, and an inline answer
    /// never overtakes one still with a worker.
    @Test func pipelinedInlineAndWorkerAnswersKeepTheirOrder() throws {
        let counter = InlineCounter()
        try withServer(responder: inlineResponder(counter)) { server in
            let c = try RawClient(port: server.port)
            c.send("GET /inline/1 HTTP/1.1\r\nHost: t\r\n\r\nGET /slow HTTP/1.1\r\nHost: t\r\n\r\n"
                + "GET /inline/2 HTTP/1.1\r\nHost: t\r\n\r\nGET /inline/3 HTTP/1.1\r\nHost: t\r\n\r\n"
                + "POST /four HTTP/1.1\r\nHost: t\r\nContent-Length: 3\r\n\r\nabcGET /inline/5 HTTP/1.1\r\nHost: t\r\n\r\n")
            #expect(c.readResponse()?.text == "inline /inline/1")
            #expect(c.readResponse()?.text == "slow")
            #expect(c.readResponse()?.text == "inline /inline/2")
            #expect(c.readResponse()?.text == "inline /inline/3")
            #expect(c.readResponse()?.text == "POST /four 3 abc")
            #expect(c.readResponse()?.text == "inline /inline/5")
        }
        #expect(counter.inline == 4)
    }

    @Test func inlineAnswersHonourHeadCloseAndHTTP10() throws {
        let counter = InlineCounter()
        try withServer(responder: inlineResponder(counter)) { server in
            let head = try RawClient(port: server.port)
            head.send("HEAD /inline/h HTTP/1.1\r\nHost: t\r\n\r\nGET /inline/after HTTP/1.1\r\nHost: t\r\n\r\n")
            let h = try #require(head.readResponse(headRequest: true))
            #expect(h.header("Content-Length") == "16")
            #expect(head.readResponse()?.text == "inline /inline/after")

            let close = try RawClient(port: server.port)
            close.send("GET /inline/c HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\nGET /inline/never HTTP/1.1\r\nHost: t\r\n\r\n")
            let r = try #require(close.readResponse())
            #expect(r.header("Connection") == "close")
            #expect(r.text == "inline /inline/c")
            #expect(close.isClosedByServer())
            #expect(!String(decoding: close.buffer, as: UTF8.self).contains("never"))

            let old = try RawClient(port: server.port)
            old.send("GET /inline/old HTTP/1.0\r\n\r\n")
            #expect(old.readResponse()?.text == "inline /inline/old")
            #expect(old.isClosedByServer())
        }
        #expect(counter.inline == 4)
    }

    /// A streamed body returned inline is still produced on a worker, chunked, in order.
    @Test func inlineStreamedBodyIsProducedOnAWorker() throws {
        let counter = InlineCounter()
        try withServer(responder: inlineResponder(counter)) { server in
            let c = try RawClient(port: server.port)
            c.send("GET /inline/stream HTTP/1.1\r\nHost: t\r\n\r\nGET /inline/next HTTP/1.1\r\nHost: t\r\n\r\n")
            let r = try #require(c.readResponse())
            #expect(r.header("Transfer-Encoding") == "chunked")
            #expect(r.text == "part0;part1;part2;")
            #expect(c.readResponse()?.text == "inline /inline/next")
        }
    }

    /// Graceful shutdown still closes idle connections that were served inline, and a
    /// response made during the drain says `Connection: close`.
    @Test func inlineAnswersDuringShutdownClose() throws {
        let counter = InlineCounter()
        var cfg = HTTPServer.Configuration()
        cfg.port = 0
        cfg.minWorkers = 2
        let server = HTTPServer(configuration: cfg, responder: inlineResponder(counter))
        try server.start()
        let idle = try RawClient(port: server.port)
        idle.send("GET /inline/x HTTP/1.1\r\nHost: t\r\n\r\n")
        #expect(idle.readResponse()?.text == "inline /inline/x")
        let busy = try RawClient(port: server.port)
        busy.send("GET /slow HTTP/1.1\r\nHost: t\r\n\r\n")
        Thread.sleep(forTimeInterval: 0.1)
        server.shutdown()
        #expect(idle.isClosedByServer())
        let r = try #require(busy.readResponse())
        #expect(r.text == "slow")
        #expect(r.header("Connection") == "close")
        server.waitUntilStopped()
    }
}

/// The pool adds workers when the queue stops moving, not merely because jobs queue up.
@Suite("Worker pool")
struct WorkerPoolTests {
    /// One worker busy with a long run of short jobs is making progress: even though the last
    /// jobs wait far longer than the stall time, no worker is added (on one core, more workers
    /// only take turns and fight over the queue's lock).
    @Test func aBusyButMovingQueueDoesNotGrowThePool() throws {
        let pool = WorkerPool(minimum: 1, maximum: 8)
        defer { pool.stop() }
        let done = DispatchSemaphore(value: 0)
        let jobs = 300
        for _ in 0..<jobs { pool.submit { usleep(1_000); done.signal() } }
        // Each job takes about 1 ms: the last waits about 300 ms, well past the 100 ms stall time.
        var finished = 0
        while finished < jobs {
            if done.wait(timeout: .now() + .milliseconds(10)) == .success { finished += 1 }
            pool.growIfStalled(after: 100)
        }
        #expect(pool.threadCount == 1)
    }

    /// Every worker blocked: the queue does not move, so the pool grows and the job runs.
    @Test func aStuckQueueGrowsThePool() throws {
        let pool = WorkerPool(minimum: 1, maximum: 8)
        defer { pool.stop() }
        let gate = DispatchSemaphore(value: 0)
        let ran = DispatchSemaphore(value: 0)
        pool.submit { gate.wait() }
        pool.submit { ran.signal() }
        let start = Date()
        while ran.wait(timeout: .now() + .milliseconds(10)) == .timedOut {
            pool.growIfStalled(after: 20)
            #expect(Date().timeIntervalSince(start) < 5)
            if Date().timeIntervalSince(start) >= 5 { break }
        }
        #expect(pool.threadCount == 2)
        gate.signal()
    }

    /// Workers blocked in slow handlers are covered for by others, which keep going; once the
    /// blocked ones are back, no more jobs run at once than there are CPUs. Before, every worker awake when the stall
    /// ended stayed awake while jobs queued, and they took turns on the CPUs, each request
    /// stretched by the others' slices.
    @Test func workersBackFromAStallDoNotOutnumberTheCPUs() throws {
        let pool = WorkerPool(minimum: 1, maximum: 32)
        defer { pool.stop() }
        let cpus = pool.cpus
        let gate = DispatchSemaphore(value: 0)
        let started = DispatchSemaphore(value: 0)
        for _ in 0..<cpus { pool.submit { started.signal(); gate.wait() } }
        let deadline = Date().addingTimeInterval(10)
        var blocked = 0
        while blocked < cpus && Date() < deadline {
            if started.wait(timeout: .now() + .milliseconds(5)) == .success { blocked += 1 } else { pool.growIfStalled(after: 10) }
        }
        try #require(blocked == cpus)

        // Short jobs queue behind the blocked ones; the stalled queue grows the pool to run them.
        // Once a worker covers for them it stays awake (those it covers for are long in their
        // jobs, so they do not count): the first 300 run without the pool being asked again.
        let running = Running()
        let jobs = 4000
        for _ in 0..<jobs { pool.submit { running.during { spin(micros: 100) } } }
        while running.done == 0 && Date() < deadline {
            pool.growIfStalled(after: 10)
            usleep(2_000)
        }
        while running.done < 300 && Date() < deadline { usleep(2_000) }
        try #require(running.done >= 300)
        #expect(pool.threadCount > cpus)

        // The blocked workers come back while jobs still queue; from a little later on, no
        // more than `cpus` jobs are ever in progress at once.
        for _ in 0..<cpus { gate.signal() }
        let mark = running.done
        while running.done < mark + 200 && Date() < deadline { usleep(500) }
        running.resetMost()
        while running.done < jobs && Date() < deadline { usleep(2_000) }
        #expect(running.done == jobs)
        #expect(running.most <= cpus)
    }
}

/// Counts jobs in progress at once (the most seen) and jobs done.
private final class Running: @unchecked Sendable {
    private let lock = NSLock()
    private var now = 0
    private var most_ = 0
    private var done_ = 0

    func during(_ body: () -> Void) {
        lock.withLock { now += 1; most_ = max(most_, now) }
        body()
        lock.withLock { now -= 1; done_ += 1 }
    }

    var done: Int { lock.withLock { done_ } }
    var most: Int { lock.withLock { most_ } }
    func resetMost() { lock.withLock { most_ = now } }
}

/// Busy for about `micros` of wall time (a job that computes rather than sleeps).
private func spin(micros: UInt64) {
    let end = DispatchTime.now().uptimeNanoseconds + micros * 1000
    while DispatchTime.now().uptimeNanoseconds < end {}
}
