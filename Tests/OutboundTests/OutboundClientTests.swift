import Foundation
import Synchronization
import Testing
import TestSupport
@testable import Outbound

/// The client over real loopback sockets against `TestHTTPReceiver`.
@Suite(.serialized) struct OutboundClientTests {
    static let userAgent = "Portal-Webhooks/1.0"

    func client(_ policy: AddressPolicy = .allowPrivate, resolver: OutboundClient.Resolver? = nil) -> OutboundClient {
        if let resolver { return OutboundClient(policy: policy, userAgent: Self.userAgent, resolver: resolver) }
        return OutboundClient(policy: policy, userAgent: Self.userAgent)
    }

    /// A resolver that knows one name and records every lookup.
    final class FakeDNS: Sendable {
        let answers: [String: [IPAddress]]
        private let lookups = Mutex<[String]>([])
        init(_ answers: [String: [IPAddress]]) { self.answers = answers }
        var asked: [String] { lookups.withLock { $0 } }
        var resolver: OutboundClient.Resolver {
            { [self] (host: String) throws(OutboundError) -> [IPAddress] in
                lookups.withLock { $0.append(host) }
                guard let found = answers[host] else { throw .dnsFailure(host: host) }
                return found
            }
        }
    }

    func expectError(_ expected: OutboundError, _ body: () throws(OutboundError) -> Void, sourceLocation: SourceLocation = #_sourceLocation) {
        do {
            try body()
            Issue.record("expected \(expected), got success", sourceLocation: sourceLocation)
        } catch {
            #expect(error == expected, sourceLocation: sourceLocation)
        }
    }

    @Test func postArrivesWithHeadersAndBodyAndTheAnswerComesBack() throws {
        let receiver = try TestHTTPReceiver(mode: .answer(.init(status: 200, headers: [("X-Receiver", "yes"), ("Content-Type", "text/plain")], text: "thanks")))
        defer { receiver.stop() }
        let body = Array(#"{"type":"payout.paid","data":{"id":"po_1"}}"#.utf8)
        let response = try client().post(OutboundRequest(
            url: receiver.url + "/hooks/in?source=portal",
            headers: [("Content-Type", "application/json"), ("webhook-id", "msg_1"), ("webhook-timestamp", "1700000000")],
            body: body))
        #expect(response.status == 200)
        #expect(response.body == Array("thanks".utf8))
        #expect(response.headers.first { $0.0 == "X-Receiver" }?.1 == "yes")
        #expect(response.headers.map(\.0) == ["X-Receiver", "Content-Type", "Content-Length"])
        #expect(response.remoteAddress == "127.0.0.1")
        #expect(response.duration > 0 && response.duration < 5)

        let request = try #require(receiver.requests.first)
        #expect(request.method == "POST")
        #expect(request.target == "/hooks/in?source=portal")
        #expect(request.body == body)
        #expect(request.header("Content-Type") == "application/json")
        #expect(request.header("webhook-id") == "msg_1")
        #expect(request.header("webhook-timestamp") == "1700000000")
        #expect(request.header("User-Agent") == Self.userAgent)
        #expect(request.header("Expect") == nil)
    }

    @Test func largeBodyIsSentWhole() throws {
        let receiver = try TestHTTPReceiver()
        defer { receiver.stop() }
        let body = (0..<200_000).map { UInt8($0 % 251) }
        let response = try client().post(OutboundRequest(url: receiver.url, headers: [], body: body))
        #expect(response.status == 204)
        #expect(receiver.requests.first?.body == body)
        #expect(receiver.requests.first?.header("Expect") == nil) // no 100-continue round trip
    }

    @Test func aHugeAnswerGivesItsStatusAndFirst4KBNotAnError() throws {
        let huge = [UInt8](repeating: 0x41, count: 8 << 20)
        let receiver = try TestHTTPReceiver(mode: .answer(.init(status: 200, body: huge)))
        defer { receiver.stop() }
        let response = try client().post(OutboundRequest(url: receiver.url, headers: [], body: []))
        #expect(response.status == 200)
        #expect(response.body == Array(huge.prefix(4096)))
    }

    @Test func responseBodyIsCutAt4KBAndTheConnectionStillServesTheNextPost() throws {
        let long = (0..<10_000).map { UInt8(ascii: "a") + UInt8($0 % 26) }
        let receiver = try TestHTTPReceiver(mode: .answer(.init(status: 500, body: long)))
        defer { receiver.stop() }
        let client = self.client()
        let first = try client.post(OutboundRequest(url: receiver.url, headers: [], body: []))
        #expect(first.status == 500)
        #expect(first.body == Array(long.prefix(4096)))
        receiver.mode = .answer(.init(status: 200, text: "ok"))
        let second = try client.post(OutboundRequest(url: receiver.url, headers: [], body: []))
        #expect(second.body == Array("ok".utf8))
        #expect(receiver.connections == 1)

        var small = OutboundRequest(url: receiver.url, headers: [], body: [])
        small.maxResponseBody = 1
        #expect(try client.post(small).body == Array("o".utf8))
    }

    @Test func aRedirectIsAnAnswerNotFollowed() throws {
        let receiver = try TestHTTPReceiver()
        defer { receiver.stop() }
        receiver.mode = .answer(.init(status: 302, headers: [("Location", receiver.url + "/elsewhere")]))
        let response = try client().post(OutboundRequest(url: receiver.url + "/start", headers: [], body: Array("x".utf8)))
        #expect(response.status == 302)
        #expect(response.headers.first { $0.0 == "Location" }?.1 == receiver.url + "/elsewhere")
        #expect(receiver.requests.map(\.target) == ["/start"])
    }

    @Test func manyPostsShareOneKeepAliveConnection() throws {
        let receiver = try TestHTTPReceiver()
        defer { receiver.stop() }
        let client = self.client()
        for i in 0..<5 {
            let response = try client.post(OutboundRequest(url: receiver.url + "/\(i)", headers: [], body: Array("\(i)".utf8)))
            #expect(response.status == 204)
        }
        #expect(receiver.requests.map(\.bodyText) == ["0", "1", "2", "3", "4"])
        #expect(receiver.connections == 1)
    }

    @Test func threadsShareTheClientAndItsPooledConnections() throws {
        let receiver = try TestHTTPReceiver()
        defer { receiver.stop() }
        let client = self.client()
        let failures = Mutex<[String]>([])
        DispatchQueue.concurrentPerform(iterations: 6) { thread in
            for i in 0..<10 {
                do {
                    let response = try client.post(OutboundRequest(url: receiver.url, headers: [], body: Array("\(thread)-\(i)".utf8)))
                    if response.status != 204 { failures.withLock { $0.append("status \(response.status)") } }
                } catch {
                    failures.withLock { $0.append("\(error)") }
                }
            }
        }
        #expect(failures.withLock { $0 } == [])
        #expect(Set(receiver.requests.map(\.bodyText)).count == 60)
        // One connection per handle at most, handles reused: never one per post.
        #expect(receiver.connections <= 6)
    }

    @Test func aClosedPortIsConnectionRefused() throws {
        let receiver = try TestHTTPReceiver()
        let url = receiver.url
        receiver.stop()
        expectError(.connectionRefused) { () throws(OutboundError) in
            _ = try client().post(OutboundRequest(url: url, headers: [], body: []))
        }
        #expect(OutboundError.connectionRefused.message == "connection refused")
    }

    @Test func aReceiverThatHoldsTimesOut() throws {
        let receiver = try TestHTTPReceiver(mode: .hold)
        defer { receiver.stop() }
        var request = OutboundRequest(url: receiver.url, headers: [], body: Array("x".utf8))
        request.totalTimeout = 0.5
        let start = Date()
        expectError(.timeout) { () throws(OutboundError) in _ = try client().post(request) }
        let elapsed = Date().timeIntervalSince(start)
        #expect(elapsed >= 0.4 && elapsed < 3)
        #expect(receiver.requests.count == 1)
    }

    @Test func aReceiverThatHangsUpIsReported() throws {
        let receiver = try TestHTTPReceiver(mode: .close)
        defer { receiver.stop() }
        expectError(.other("the server closed the connection without answering")) { () throws(OutboundError) in
            _ = try self.client().post(OutboundRequest(url: receiver.url, headers: [], body: []))
        }
        // The handle that saw the failure still works for the next post.
        receiver.mode = .answer(.init(status: 200))
        let client = self.client()
        receiver.enqueue(.close)
        #expect(throws: OutboundError.self) { try client.post(OutboundRequest(url: receiver.url, headers: [], body: [])) }
        #expect(try client.post(OutboundRequest(url: receiver.url, headers: [], body: [])).status == 200)
    }

    @Test func publicOnlyRefusesLoopbackBeforeConnecting() throws {
        let receiver = try TestHTTPReceiver()
        defer { receiver.stop() }
        for host in ["127.0.0.1", "0x7f.1", "2130706433", "127.1"] {
            expectError(.refusedAddress(host: host == "127.0.0.1" ? host : try! ParsedURL("http://\(host)/").host,
                                        address: "127.0.0.1", reason: "127.0.0.1 is a loopback address")) { () throws(OutboundError) in
                _ = try client(.publicOnly).post(OutboundRequest(url: "http://\(host):\(receiver.port)/", headers: [], body: []))
            }
        }
        expectError(.refusedAddress(host: "::1", address: "::1", reason: "::1 is the loopback address")) { () throws(OutboundError) in
            _ = try client(.publicOnly).post(OutboundRequest(url: "http://[::1]:\(receiver.port)/", headers: [], body: []))
        }
        #expect(receiver.connections == 0)
    }

    /// Spellings that reach this machine one way or another: each is refused, whether as a
    /// literal, or through what the system resolver makes of it, before any connection.
    @Test(arguments: ["127.0.0.1.", "0", "0x7f000001", "017700000001", "[::ffff:127.0.0.1]", "[::ffff:7f00:1]",
                      "[::127.0.0.1]", "[64:ff9b::127.0.0.1]", "[2002:7f00:1::]", "[0:0:0:0:0:0:0:1]", "localhost", "LocalHost."])
    func otherSpellingsOfThisMachineAreRefused(host: String) throws {
        let receiver = try TestHTTPReceiver()
        defer { receiver.stop() }
        do {
            _ = try client(.publicOnly).post(OutboundRequest(url: "http://\(host):\(receiver.port)/", headers: [], body: []))
            Issue.record("\(host) was reached")
        } catch {
            switch error {
            case .refusedAddress, .dnsFailure: break
            default: Issue.record("\(host): \(error)")
            }
        }
        #expect(receiver.connections == 0)
    }

    @Test func publicOnlyRefusesANameThatResolvesToLoopback() throws {
        let receiver = try TestHTTPReceiver()
        defer { receiver.stop() }
        let dns = FakeDNS(["hooks.example.test": [.v4(0x7F00_0001)]])
        let error = OutboundError.refusedAddress(host: "hooks.example.test", address: "127.0.0.1", reason: "127.0.0.1 is a loopback address")
        expectError(error) { () throws(OutboundError) in
            _ = try client(.publicOnly, resolver: dns.resolver).post(OutboundRequest(url: "http://hooks.example.test:\(receiver.port)/", headers: [], body: []))
        }
        #expect(error.message == "hooks.example.test resolves to 127.0.0.1: 127.0.0.1 is a loopback address")
        #expect(receiver.connections == 0)
    }

    @Test func anyRefusedAddressAmongSeveralRefusesTheName() throws {
        let dns = FakeDNS(["mixed.example.test": [IPAddress.parse("93.184.216.34")!, IPAddress.parse("10.1.2.3")!]])
        expectError(.refusedAddress(host: "mixed.example.test", address: "10.1.2.3", reason: "10.1.2.3 is a private network address")) { () throws(OutboundError) in
            _ = try client(.publicOnly, resolver: dns.resolver).check(url: "https://mixed.example.test/hook")
        }
        let publicDNS = FakeDNS(["ok.example.test": [IPAddress.parse("93.184.216.34")!, IPAddress.parse("2606:4700::1111")!]])
        #expect(try client(.publicOnly, resolver: publicDNS.resolver).check(url: "https://ok.example.test/hook")
                == [IPAddress.parse("93.184.216.34")!, IPAddress.parse("2606:4700::1111")!])
    }

    @Test(arguments: ["localhost", "LOCALHOST", "localhost.", "api.localhost", "a.b.localhost."])
    func localhostIsRefusedByNameWithoutAsking(host: String) {
        let dns = FakeDNS([:])
        do {
            _ = try client(.publicOnly, resolver: dns.resolver).check(url: "http://\(host):8080/")
            Issue.record("\(host) was allowed")
        } catch {
            guard case .refusedAddress(_, _, let reason) = error else { Issue.record("\(error)"); return }
            #expect(reason.hasSuffix("names this machine"))
        }
        #expect(dns.asked.isEmpty)
    }

    @Test func theConnectionIsPinnedToTheCheckedAddress() throws {
        let receiver = try TestHTTPReceiver()
        defer { receiver.stop() }
        // No DNS server knows this name: only the pinned answer can reach the receiver.
        let dns = FakeDNS(["hooks.example.test": [.v4(0x7F00_0001)]])
        let client = self.client(.allowPrivate, resolver: dns.resolver)
        let response = try client.post(OutboundRequest(url: "http://hooks.example.test:\(receiver.port)/in", headers: [], body: []))
        #expect(response.status == 204)
        #expect(response.remoteAddress == "127.0.0.1")
        #expect(receiver.requests.first?.header("Host") == "hooks.example.test:\(receiver.port)")
        #expect(dns.asked == ["hooks.example.test"])
    }

    @Test func theSocketCheckAloneRefusesLoopback() throws {
        let receiver = try TestHTTPReceiver()
        defer { receiver.stop() }
        let unchecked = OutboundClient(policy: .publicOnly, userAgent: Self.userAgent, maxIdleHandles: 4,
                                       resolver: OutboundClient.systemResolver, checksBeforeConnecting: false)
        expectError(.refusedAddress(host: "127.0.0.1", address: "127.0.0.1", reason: "127.0.0.1 is a loopback address")) { () throws(OutboundError) in
            _ = try unchecked.post(OutboundRequest(url: receiver.url, headers: [], body: []))
        }
        #expect(receiver.connections == 0)
    }

    @Test func aProxyInTheEnvironmentIsIgnored() throws {
        let receiver = try TestHTTPReceiver()
        let proxy = try TestHTTPReceiver(mode: .answer(.init(status: 200, text: "from the proxy")))
        defer { receiver.stop(); proxy.stop() }
        for name in ["http_proxy", "HTTPS_PROXY", "ALL_PROXY"] { setenv(name, proxy.url, 1) }
        defer { for name in ["http_proxy", "HTTPS_PROXY", "ALL_PROXY"] { unsetenv(name) } }
        let response = try client().post(OutboundRequest(url: receiver.url, headers: [], body: []))
        #expect(response.status == 204)
        #expect(receiver.requests.count == 1)
        #expect(proxy.connections == 0)
    }

    @Test func headersThatWouldInjectLinesAreRefused() throws {
        let receiver = try TestHTTPReceiver()
        defer { receiver.stop() }
        #expect(throws: OutboundError.self) {
            try client().post(OutboundRequest(url: receiver.url, headers: [("X-A", "1\r\nX-Injected: yes")], body: []))
        }
        #expect(throws: OutboundError.self) {
            try client().post(OutboundRequest(url: receiver.url, headers: [("X A:", "1")], body: []))
        }
        #expect(receiver.connections == 0)
    }

    @Test(arguments: [
        ("ftp://example.com/hook", "only http and https URLs can be used"),
        ("file:///etc/passwd", "only http and https URLs can be used"),
        ("gopher://example.com/", "only http and https URLs can be used"),
        ("http://user:secret@example.com/hook", "a URL with a user name or password is not accepted"),
        ("https://user@example.com/hook", "a URL with a user name or password is not accepted"),
        ("http://[fe80::1%25eth0]/", "an IPv6 zone id is not accepted"),
    ])
    func badURLsAreRefusedWithAReason(url: String, reason: String) {
        let dns = FakeDNS([:])
        expectError(.invalidURL(reason)) { () throws(OutboundError) in _ = try client(.allowPrivate, resolver: dns.resolver).check(url: url) }
        #expect(dns.asked.isEmpty)
    }

    @Test(arguments: ["http://", "http:///path", "not a url", "", "example.com/hook", "http://exa mple.com/"])
    func urlsWithoutAHostAreInvalid(url: String) {
        do {
            _ = try client(.allowPrivate, resolver: FakeDNS([:]).resolver).check(url: url)
            Issue.record("\(url) was accepted")
        } catch {
            guard case .invalidURL(let reason) = error else { Issue.record("\(url): \(error)"); return }
            #expect(!reason.isEmpty)
        }
    }

    @Test func checkReturnsTheAddressesAllowed() throws {
        #expect(try client(.allowPrivate).check(url: "http://127.0.0.1:8080/x") == [.v4(0x7F00_0001)])
        #expect(try client(.allowPrivate).check(url: "http://[::1]/") == [IPAddress.parse("::1")!])
        #expect(try client(.publicOnly).check(url: "https://93.184.216.34/hook") == [IPAddress.parse("93.184.216.34")!])
    }
}
