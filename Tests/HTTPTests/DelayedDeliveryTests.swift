import Foundation
import Testing
@testable import HTTP

/// ``HTTPResponse/deliverAfter``: a response sent late by the event loop's timer, holding no
/// worker meanwhile, in order on its connection, dropped when the peer hangs up.
@Suite("Delayed delivery")
struct DelayedDeliveryTests {
    static let delay = 400 // ms

    /// `/late/…` answers after ``delay`` (on a worker, or on the loop under `/late/inline/`);
    /// anything else at once.
    static func responder(delay: Int = delay) -> ClosureResponder {
        var r = ClosureResponder(bodyLimit: 1024) { req in
            var res = HTTPResponse(contentType: "text/plain", body: "answer \(req.path)")
            if req.path.hasPrefix("/late/") { res.deliverAfter = .milliseconds(delay) }
            return res
        }
        r.inline = { req in
            guard req.path.hasPrefix("/late/inline/") else { return nil }
            var res = HTTPResponse(contentType: "text/plain", body: "answer \(req.path)")
            res.deliverAfter = .milliseconds(delay)
            return res
        }
        return r
    }

    static func oneWorker(_ c: inout HTTPServer.Configuration) {
        c.minWorkers = 1
        c.maxWorkers = 1
    }

    func millis(since start: ContinuousClock.Instant) -> Int {
        let d = ContinuousClock.now - start
        return Int(d.components.seconds * 1000 + d.components.attoseconds / 1_000_000_000_000_000)
    }

    func get(_ c: RawClient, _ path: String) {
        c.send("GET \(path) HTTP/1.1\r\nHost: t\r\n\r\n")
    }

    @Test func theHeapGivesTheEarliestFirstAndTiesInPostingOrder() {
        var heap = DelayedDeliveries()
        var expected: [(UInt64, Int)] = []
        var rng = SystemRandomNumberGenerator()
        for i in 0..<500 {
            let due = UInt64.random(in: 1...50, using: &rng)
            heap.push(Completion(token: ConnectionToken(fd: 0, id: UInt64(i)), bytes: [], final: true, keepAlive: true), due: due)
            expected.append((due, i))
        }
        expected.sort { $0.0 < $1.0 || ($0.0 == $1.0 && $0.1 < $1.1) }
        #expect(heap.nextDue == expected[0].0)
        #expect(heap.popDue(now: 0) == nil) // nothing is due before its time
        var got: [Int] = []
        for now in UInt64(1)...50 {
            while let c = heap.popDue(now: now) { got.append(Int(c.token.id)) }
            #expect(heap.nextDue.map { $0 > now } ?? true)
        }
        #expect(got == expected.map(\.1))
        #expect(heap.isEmpty)
    }

    @Test func aDelayedResponseArrivesNoSoonerThanAsked() throws {
        try withServer(responder: Self.responder()) { server in
            for path in ["/late/worker", "/late/inline/x"] {
                let c = try RawClient(port: server.port)
                let start = ContinuousClock.now
                get(c, path)
                let r = try #require(c.readResponse())
                let took = millis(since: start)
                #expect(r.status == 200 && r.text == "answer \(path)")
                #expect(took >= Self.delay - 5, "\(path) came after \(took) ms")
                #expect(took < Self.delay + 1000, "\(path) came after \(took) ms")
            }
        }
    }

    @Test func hundredsOfDelayedResponsesHoldNoWorker() throws {
        // One worker in all: were a delayed response holding it, nothing else could answer.
        try withServer(Self.oneWorker, responder: Self.responder(delay: 1500)) { server in
            var waiting: [RawClient] = []
            for i in 0..<300 {
                let c = try RawClient(port: server.port)
                get(c, "/late/\(i)")
                waiting.append(c)
            }
            usleep(200_000) // let the worker make all of them
            let c = try RawClient(port: server.port)
            let start = ContinuousClock.now
            get(c, "/now")
            let r = try #require(c.readResponse())
            #expect(r.text == "answer /now")
            #expect(millis(since: start) < 1000, "a prompt request waited \(millis(since: start)) ms")
            for (i, w) in waiting.enumerated() {
                let r = try #require(w.readResponse())
                #expect(r.text == "answer /late/\(i)")
            }
        }
    }

    @Test func pipelinedRequestsBehindADelayedOneKeepTheirOrder() throws {
        try withServer(responder: Self.responder()) { server in
            let c = try RawClient(port: server.port)
            let start = ContinuousClock.now
            // Sent together: the quick ones must wait for the late one ahead of them.
            c.send("GET /late/1 HTTP/1.1\r\nHost: t\r\n\r\nGET /quick HTTP/1.1\r\nHost: t\r\n\r\nGET /late/inline/2 HTTP/1.1\r\nHost: t\r\n\r\nGET /last HTTP/1.1\r\nHost: t\r\n\r\n")
            let answers = (0..<4).compactMap { _ in c.readResponse()?.text }
            #expect(answers == ["answer /late/1", "answer /quick", "answer /late/inline/2", "answer /last"])
            #expect(millis(since: start) >= 2 * Self.delay - 10)
            // The connection stays usable (keep-alive) after delayed answers.
            get(c, "/again")
            #expect(c.readResponse()?.text == "answer /again")
        }
    }

    @Test func aClientThatHangsUpDuringTheDelayIsDroppedAndTheServerGoesOn() throws {
        try withServer(Self.oneWorker, responder: Self.responder()) { server in
            for i in 0..<50 {
                let c = try RawClient(port: server.port)
                get(c, i % 2 == 0 ? "/late/gone" : "/late/inline/gone")
                if i % 3 == 0 { Glibc.shutdown(c.fd, Int32(SHUT_WR)) } // half-close: FIN only
                usleep(1000)
                // `c` is released here: closed with its response still pending.
            }
            // Meanwhile and after the delays ran out, others are served as usual.
            let c = try RawClient(port: server.port)
            get(c, "/now")
            #expect(c.readResponse()?.text == "answer /now")
            usleep(UInt32(Self.delay + 200) * 1000)
            get(c, "/late/after")
            #expect(c.readResponse()?.text == "answer /late/after")
        }
    }

    @Test func aPeerThatHangsUpWhileItsResponseIsHeldIsClosedAtOnce() throws {
        try withServer(responder: Self.responder(delay: 3000)) { server in
            for path in ["/late/worker", "/late/inline/x"] {
                let c = try RawClient(port: server.port, timeout: 6)
                get(c, path)
                usleep(150_000) // made, and waiting on the loop
                let start = ContinuousClock.now
                Glibc.shutdown(c.fd, Int32(SHUT_WR))
                #expect(c.isClosedByServer())
                #expect(c.buffer.isEmpty, "nothing is sent to a client that left")
                #expect(millis(since: start) < 1500, "\(path): closed after \(millis(since: start)) ms, not at once")
            }
        }
    }

    @Test func shutdownDoesNotWaitForADelayedResponse() throws {
        var cfg = HTTPServer.Configuration()
        cfg.port = 0
        cfg.minWorkers = 1
        let server = HTTPServer(configuration: cfg, responder: Self.responder(delay: 8000))
        try server.start()
        let c = try RawClient(port: server.port, timeout: 10)
        get(c, "/late/long")
        usleep(200_000)
        let start = ContinuousClock.now
        server.shutdown()
        let r = c.readResponse()
        server.waitUntilStopped()
        #expect(r?.text == "answer /late/long") // sent, early, rather than lost
        #expect(millis(since: start) < 3000)
    }
}
