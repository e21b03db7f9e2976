import Foundation
import Synchronization
import Testing
@testable import HTTP

/// A pulled body of `chunks` chunks of `size` bytes (chunk i is filled with the digit i % 10),
/// that counts its pulls, can fail at a given pull, and says when it is released.
final class CountingProducer: BodyProducer, @unchecked Sendable {
    let chunks: Int
    let size: Int
    let failAt: Int?
    let stats: PullStats
    private var next = 0

    init(chunks: Int, size: Int, failAt: Int? = nil, stats: PullStats) {
        self.chunks = chunks
        self.size = size
        self.failAt = failAt
        self.stats = stats
    }

    deinit { stats.released.signal() }

    func nextChunk() throws -> [UInt8]? {
        if next == failAt { throw CocoaError(.fileReadUnknown) }
        guard next < chunks else { return nil }
        defer { next += 1 }
        stats.pulls.add(1, ordering: .relaxed)
        return [UInt8](repeating: UInt8(ascii: "0") + UInt8(next % 10), count: size)
    }
}

final class PullStats: Sendable {
    let pulls = Atomic<Int>(0)
    let released = DispatchSemaphore(value: 0)
}

/// Reads everything until the server closes (or the timeout).
func readToClose(_ c: RawClient) -> [UInt8] {
    while c.fill() {}
    return c.buffer
}

@Suite("Pulled bodies: no worker held while a client reads")
struct PullBodyTests {
    /// `/pull?chunks=N&size=S[&fail=K]` answers a pulled body; anything else is a small page.
    func responder(_ stats: PullStats) -> ClosureResponder {
        ClosureResponder(bodyLimit: 1024) { req in
            guard req.path == "/pull" else { return HTTPResponse(contentType: "text/plain", body: "page \(req.path)") }
            var q: [String: Int] = [:]
            for pair in (req.query ?? "").split(separator: "&") {
                let kv = pair.split(separator: "=")
                if kv.count == 2 { q[String(kv[0])] = Int(kv[1]) }
            }
            return HTTPResponse(headers: ["Content-Type": "text/csv"], body: .pull(
                CountingProducer(chunks: q["chunks"] ?? 3, size: q["size"] ?? 10, failAt: q["fail"], stats: stats)))
        }
    }

    @Test func pulledBodyIsChunkedCompleteAndKeepsTheConnection() throws {
        let stats = PullStats()
        try withServer(responder: responder(stats)) { server in
            let c = try RawClient(port: server.port, timeout: 10)
            c.send("GET /pull?chunks=40&size=50000 HTTP/1.1\r\nHost: t\r\n\r\n")
            let r = try #require(c.readResponse())
            #expect(r.status == 200)
            #expect(r.header("Transfer-Encoding") == "chunked")
            #expect(r.header("Content-Length") == nil)
            #expect(r.body.count == 40 * 50000)
            #expect(r.body[49999] == UInt8(ascii: "0") && r.body[50000] == UInt8(ascii: "1") && r.body.last == UInt8(ascii: "9"))
            c.send("GET /after HTTP/1.1\r\nHost: t\r\n\r\n")
            #expect(c.readResponse()?.text == "page /after")

            // An empty body is the head and the last chunk.
            c.send("GET /pull?chunks=0 HTTP/1.1\r\nHost: t\r\n\r\n")
            let empty = try #require(c.readResponse())
            #expect(empty.status == 200 && empty.body.isEmpty)

            // HEAD: the head only, and the producer is never asked.
            let before = stats.pulls.load(ordering: .relaxed)
            c.send("HEAD /pull?chunks=5 HTTP/1.1\r\nHost: t\r\n\r\n")
            let head = try #require(c.readResponse(headRequest: true))
            #expect(head.status == 200)
            c.send("GET /after2 HTTP/1.1\r\nHost: t\r\n\r\n")
            #expect(c.readResponse()?.text == "page /after2")
            #expect(stats.pulls.load(ordering: .relaxed) == before)
        }
    }

    @Test func http10GetsTheBodyUntilClose() throws {
        try withServer(responder: responder(PullStats())) { server in
            let c = try RawClient(port: server.port)
            c.send("GET /pull?chunks=3&size=7 HTTP/1.0\r\n\r\n")
            let r = try #require(c.readResponse())
            #expect(r.header("Transfer-Encoding") == nil)
            #expect(r.header("Connection") == "close")
            #expect(r.text == "000000011111112222222")
        }
    }

    /// Several clients that do not read, each with a body far larger than any socket buffer,
    /// and a pool of exactly two workers that cannot grow: another request is still answered,
    /// because no worker waits for a slow client. (A `.stream` body would hold both workers.)
    @Test func slowDownloadsDoNotHoldTheTwoWorkers() throws {
        let stats = PullStats()
        let chunks = 400, size = 64 * 1024 // 25 MB each
        try withServer({ $0.minWorkers = 2; $0.maxWorkers = 2; $0.workerStallMillis = 600_000 }, responder: responder(stats)) { server in
            var slow: [RawClient] = []
            for _ in 0..<6 {
                let s = try RawClient(port: server.port, timeout: 10, receiveBuffer: 16 * 1024)
                s.send("GET /pull?chunks=\(chunks)&size=\(size) HTTP/1.1\r\nHost: t\r\n\r\n")
                slow.append(s)
            }
            // The heads have arrived: every download has started.
            for s in slow { #expect(s.fill()) }

            let other = try RawClient(port: server.port, timeout: 5)
            other.send("GET /other HTTP/1.1\r\nHost: t\r\n\r\n")
            #expect(other.readResponse()?.text == "page /other")

            // Nobody has read much, so the server has not produced the bodies ahead of them.
            #expect(stats.pulls.load(ordering: .relaxed) < 6 * chunks / 2)

            // Each download is then complete and correct.
            for s in slow {
                let r = try #require(s.readResponse())
                #expect(r.body.count == chunks * size)
                #expect(r.body.last == UInt8(ascii: "0") + UInt8((chunks - 1) % 10))
            }
        }
    }

    /// A client that leaves mid-body: the server stops asking and lets the producer go.
    @Test func clientGoneMidStreamReleasesTheProducer() throws {
        let stats = PullStats()
        try withServer(responder: responder(stats)) { server in
            do {
                let c = try RawClient(port: server.port, timeout: 5, receiveBuffer: 16 * 1024)
                c.send("GET /pull?chunks=10000&size=65536 HTTP/1.1\r\nHost: t\r\n\r\n")
                #expect(c.fill())
            } // closed here
            #expect(stats.released.wait(timeout: .now() + 10) == .success)
            #expect(stats.pulls.load(ordering: .relaxed) < 10000)
            // The server goes on serving.
            let c = try RawClient(port: server.port)
            c.send("GET /next HTTP/1.1\r\nHost: t\r\n\r\n")
            #expect(c.readResponse()?.text == "page /next")
        }
    }

    /// A producer that fails after some chunks: the connection ends without the last chunk,
    /// so the client cannot take the truncated body for a complete one.
    @Test func failureMidStreamEndsWithoutTheTerminator() throws {
        try withServer(responder: responder(PullStats())) { server in
            let c = try RawClient(port: server.port)
            c.send("GET /pull?chunks=10&size=100&fail=3 HTTP/1.1\r\nHost: t\r\n\r\n")
            let raw = readToClose(c)
            let text = String(decoding: raw, as: UTF8.self)
            #expect(text.hasPrefix("HTTP/1.1 200"))
            #expect(text.contains(String(repeating: "2", count: 100)))
            #expect(!text.contains(String(repeating: "3", count: 100)))
            #expect(!text.hasSuffix("0\r\n\r\n"))
        }
    }

    /// A producer that fails before its first chunk: an honest 500, not a 200 with nothing.
    @Test func failureBeforeTheFirstChunkIsA500() throws {
        try withServer(responder: responder(PullStats())) { server in
            let c = try RawClient(port: server.port)
            c.send("GET /pull?chunks=10&size=100&fail=0 HTTP/1.1\r\nHost: t\r\n\r\n")
            let r = try #require(c.readResponse())
            #expect(r.status == 500)
        }
    }
}
