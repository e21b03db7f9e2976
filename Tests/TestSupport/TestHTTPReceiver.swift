import Foundation
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// A small keep-alive HTTP/1.1 server for the tests (a webhook receiver), on 127.0.0.1 with
/// an ephemeral port, on plain sockets and threads.
///
/// It records every request (method, target, headers in order, body — `Content-Length` or
/// chunked — and which connection it came on) and answers according to its ``Mode``:
/// ``Mode/answer(_:)`` with a configured status, headers and body; ``Mode/hold`` reads the
/// request and never answers (the client times out); ``Mode/close`` reads the request and
/// closes the connection without a word. Answers queued with ``enqueue(_:)`` are used first,
/// one per request, before falling back to ``mode``. Connections are kept open between
/// requests unless the client asks `Connection: close`.
public final class TestHTTPReceiver: Sendable {
    public struct Request: Sendable {
        public var method = ""
        public var target = ""
        public var headers: [(String, String)] = []
        public var body: [UInt8] = []
        /// 1 for the first connection accepted, 2 for the next…
        public var connection = 0

        /// The first header of that name (case-insensitive).
        public func header(_ name: String) -> String? {
            headers.first { $0.0.lowercased() == name.lowercased() }?.1
        }
        public var bodyText: String { String(decoding: body, as: UTF8.self) }
    }

    public struct Answer: Sendable {
        public var status: Int
        public var headers: [(String, String)]
        public var body: [UInt8]

        public init(status: Int, headers: [(String, String)] = [], body: [UInt8] = []) {
            self.status = status
            self.headers = headers
            self.body = body
        }

        public init(status: Int, headers: [(String, String)] = [], text: String) {
            self.init(status: status, headers: headers, body: Array(text.utf8))
        }
    }

    public enum Mode: Sendable {
        case answer(Answer)
        /// Read the request, never answer (until ``stop()``).
        case hold
        /// Read the request, close the connection without answering.
        case close
    }

    public let port: Int
    private let listener: Int32
    private let state = Mutex<State>(State())

    private struct State {
        var mode = Mode.answer(Answer(status: 204))
        var queue: [Mode] = []
        var requests: [Request] = []
        var connections = 0
        var open: Set<Int32> = []
        var closed = false
    }

    /// Binds 127.0.0.1 on an ephemeral port and starts accepting.
    public init(mode: Mode = .answer(Answer(status: 204))) throws {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw POSIXError(.init(rawValue: errno) ?? .EIO) }
        var one: Int32 = 1
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = 0
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let named = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        guard bound == 0, named == 0, Glibc.listen(fd, 64) == 0 else {
            close(fd)
            throw POSIXError(.EADDRINUSE)
        }
        listener = fd
        port = Int(UInt16(bigEndian: address.sin_port))
        state.withLock { $0.mode = mode }
        let thread = Thread { [self] in acceptLoop() }
        thread.name = "test-http-accept"
        thread.start()
    }

    deinit { stop() }

    /// `http://127.0.0.1:<port>`
    public var url: String { "http://127.0.0.1:\(port)" }

    public var mode: Mode {
        get { state.withLock { $0.mode } }
        set { state.withLock { $0.mode = newValue } }
    }

    /// Answers used first, one per request, in order.
    public func enqueue(_ modes: Mode...) { state.withLock { $0.queue += modes } }

    public var requests: [Request] { state.withLock { $0.requests } }
    /// Connections accepted so far.
    public var connections: Int { state.withLock { $0.connections } }

    /// Waits until at least `count` requests arrived; false after `timeout` seconds.
    public func waitForRequests(_ count: Int, timeout: Double = 5) -> Bool {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            if requests.count >= count { return true }
            usleep(10_000)
        }
        return requests.count >= count
    }

    /// Stops accepting, closes the listening socket and every open connection.
    ///
    /// Sockets are shut down here and closed only by the thread that uses them (under the
    /// lock for sessions), so a number freed by `close` and reused by another socket of the
    /// process is never shut down or accepted on by mistake.
    public func stop() {
        state.withLock { s in
            guard !s.closed else { return }
            s.closed = true
            for fd in s.open { shutdown(fd, Int32(SHUT_RDWR)) }
            shutdown(listener, Int32(SHUT_RDWR)) // wakes the blocked accept(), which then closes it
        }
    }

    private func acceptLoop() {
        defer { close(listener) }
        while true {
            let client = accept(listener, nil, nil)
            if client < 0 {
                if errno == EINTR { continue }
                return
            }
            let number = state.withLock { s -> Int? in
                guard !s.closed else { return nil }
                s.connections += 1
                s.open.insert(client)
                return s.connections
            }
            guard let number else {
                close(client)
                return
            }
            let thread = Thread { [self] in serve(client, connection: number) }
            thread.name = "test-http-session"
            thread.start()
        }
    }

    private func serve(_ fd: Int32, connection: Int) {
        defer {
            state.withLock { s in
                s.open.remove(fd)
                close(fd)
            }
        }
        var timeout = timeval(tv_sec: 30, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        var reader = ByteReader(fd: fd)
        while var request = reader.readRequest() {
            request.connection = connection
            let recorded = request
            let mode = state.withLock { s -> Mode in
                s.requests.append(recorded)
                return s.queue.isEmpty ? s.mode : s.queue.removeFirst()
            }
            switch mode {
            case .close:
                return
            case .hold:
                while reader.fill() {} // until the client gives up or stop() shuts the socket
                return
            case .answer(let answer):
                var head = "HTTP/1.1 \(answer.status) \(Self.reason(answer.status))\r\n"
                for (name, value) in answer.headers { head += "\(name): \(value)\r\n" }
                if !answer.headers.contains(where: { $0.0.lowercased() == "content-length" }) {
                    head += "Content-Length: \(answer.body.count)\r\n"
                }
                head += "\r\n"
                guard write(fd, Array(head.utf8) + answer.body) else { return }
                if request.header("Connection")?.lowercased() == "close" { return }
            }
        }
    }

    private func write(_ fd: Int32, _ bytes: [UInt8]) -> Bool {
        var sent = 0
        while sent < bytes.count {
            let n = bytes.withUnsafeBytes { send(fd, $0.baseAddress! + sent, bytes.count - sent, Int32(MSG_NOSIGNAL)) }
            if n < 0 && errno == EINTR { continue }
            if n <= 0 { return false }
            sent += n
        }
        return true
    }

    private static func reason(_ status: Int) -> String {
        switch status {
        case 200: "OK"
        case 201: "Created"
        case 202: "Accepted"
        case 204: "No Content"
        case 301: "Moved Permanently"
        case 302: "Found"
        case 400: "Bad Request"
        case 404: "Not Found"
        case 410: "Gone"
        case 429: "Too Many Requests"
        case 500: "Internal Server Error"
        case 503: "Service Unavailable"
        default: "Status"
        }
    }
}

/// Reads HTTP/1.1 requests from a socket.
private struct ByteReader {
    let fd: Int32
    private var buffer: [UInt8] = []

    init(fd: Int32) { self.fd = fd }

    /// Reads more bytes into the buffer; false at end of stream or error.
    mutating func fill() -> Bool {
        var chunk = [UInt8](repeating: 0, count: 16384)
        while true {
            let n = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress!, $0.count, 0) }
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else { return false }
            buffer += chunk[..<n]
            return true
        }
    }

    private mutating func line() -> String? {
        while true {
            if let end = buffer.indices.dropLast().first(where: { buffer[$0] == 0x0D && buffer[$0 + 1] == 0x0A }) {
                let text = String(decoding: buffer[..<end], as: UTF8.self)
                buffer.removeFirst(end + 2)
                return text
            }
            guard fill() else { return nil }
        }
    }

    private mutating func bytes(_ count: Int) -> [UInt8]? {
        while buffer.count < count { guard fill() else { return nil } }
        let out = Array(buffer.prefix(count))
        buffer.removeFirst(count)
        return out
    }

    mutating func readRequest() -> TestHTTPReceiver.Request? {
        guard let requestLine = line() else { return nil }
        let parts = requestLine.split(separator: " ")
        guard parts.count == 3 else { return nil }
        var request = TestHTTPReceiver.Request()
        request.method = String(parts[0])
        request.target = String(parts[1])
        while let header = line() {
            if header.isEmpty { break }
            guard let colon = header.firstIndex(of: ":") else { return nil }
            request.headers.append((String(header[..<colon]), header[header.index(after: colon)...].trimmingCharacters(in: .whitespaces)))
        }
        if request.header("Transfer-Encoding")?.lowercased() == "chunked" {
            while let sizeLine = line(), let size = Int(String(sizeLine.prefix { $0 != ";" }).trimmingCharacters(in: .whitespaces), radix: 16) {
                if size == 0 {
                    while let trailer = line(), !trailer.isEmpty {}
                    break
                }
                guard let chunk = bytes(size), line() != nil else { return nil }
                request.body += chunk
            }
        } else if let length = request.header("Content-Length").flatMap({ Int($0) }), length > 0 {
            guard let body = bytes(length) else { return nil }
            request.body = body
        }
        return request
    }
}
