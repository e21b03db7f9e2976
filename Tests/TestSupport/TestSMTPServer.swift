import Foundation
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// A tiny SMTP server for the tests, on 127.0.0.1 with an ephemeral port, on plain sockets
/// and threads.
///
/// It speaks just enough of RFC 5321 for libcurl: `220` greeting, `EHLO` (advertising
/// `AUTH PLAIN`, never STARTTLS), `AUTH PLAIN`, `MAIL`, `RCPT`, `DATA` (`354`, then the
/// message up to `CRLF.CRLF`, un-dot-stuffed), `RSET`, `NOOP`, `QUIT`. It records every
/// accepted message with its envelope and the credentials it was given.
///
/// The port is bound at init but nothing is accepted until ``listen()``: until then a
/// connection is refused, as with a mail server that is down, and the port stays reserved.
/// In ``Mode/refuse`` it answers `MAIL FROM` with `451` (a temporary failure); in
/// ``Mode/rejectRecipient(_:)``, ``Mode/rejectData(_:)`` and ``Mode/rejectAuth(_:)`` it answers
/// `RCPT TO`, the end of `DATA` or `AUTH` with the reply line given (e.g. `550 5.1.1 User
/// unknown`, `451 4.7.1 Greylisted`, `535 5.7.8 Authentication credentials invalid`).
public final class TestSMTPServer: Sendable {
    public struct Received: Sendable {
        public var mailFrom = ""
        public var recipients: [String] = []
        /// The message as the client meant it: CRLF line ends, dot-stuffing undone.
        public var data = ""
        public var username: String?
        public var password: String?
    }

    public enum Mode: Sendable, Equatable {
        case accept, refuse
        /// Answers every `RCPT TO` with this reply line.
        case rejectRecipient(String)
        /// Takes the whole message, then answers with this reply line instead of `250`.
        case rejectData(String)
        /// Answers `AUTH` with this reply line (wrong credentials: `535 5.7.8 …`).
        case rejectAuth(String)
    }

    public let port: Int
    private let listener: Int32
    private let state = Mutex<State>(State())

    private struct State {
        var mode = Mode.accept
        var received: [Received] = []
        var listening = false
        var closed = false
        var connections = 0
        /// Credentials seen in any session, even one that sent no mail.
        var authentications: [(String, String)] = []
    }

    public init() throws {
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
        guard bound == 0, named == 0 else {
            close(fd)
            throw POSIXError(.EADDRINUSE)
        }
        listener = fd
        port = Int(UInt16(bigEndian: address.sin_port))
    }

    public var mode: Mode {
        get { state.withLock { $0.mode } }
        set { state.withLock { $0.mode = newValue } }
    }

    public var received: [Received] { state.withLock { $0.received } }
    public var connections: Int { state.withLock { $0.connections } }
    public var authentications: [(String, String)] { state.withLock { $0.authentications } }

    /// Starts accepting connections.
    public func listen() {
        let start = state.withLock { s -> Bool in
            guard !s.listening, !s.closed else { return false }
            s.listening = true
            return true
        }
        guard start else { return }
        _ = Glibc.listen(listener, 16)
        let thread = Thread { [self] in acceptLoop() }
        thread.name = "test-smtp-accept"
        thread.start()
    }

    /// Stops accepting and closes the listening socket.
    public func stop() {
        let wasOpen = state.withLock { s -> Bool in
            defer { s.closed = true }
            return !s.closed
        }
        guard wasOpen else { return }
        shutdown(listener, Int32(SHUT_RDWR)) // wakes a blocked accept()
        close(listener)
    }

    private func acceptLoop() {
        while true {
            let client = accept(listener, nil, nil)
            if client < 0 {
                if errno == EINTR { continue }
                return
            }
            let closed = state.withLock { s -> Bool in
                s.connections += 1
                return s.closed
            }
            if closed {
                close(client)
                return
            }
            let thread = Thread { [self] in serve(client) }
            thread.name = "test-smtp-session"
            thread.start()
        }
    }

    private func serve(_ fd: Int32) {
        defer { close(fd) }
        var timeout = timeval(tv_sec: 10, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        var reader = LineReader(fd: fd)
        func reply(_ line: String) {
            let bytes = Array((line + "\r\n").utf8)
            var sent = 0
            while sent < bytes.count {
                let n = bytes.withUnsafeBytes { send(fd, $0.baseAddress! + sent, bytes.count - sent, Int32(MSG_NOSIGNAL)) }
                if n <= 0 { return }
                sent += n
            }
        }
        func address(_ line: String) -> String {
            guard let open = line.firstIndex(of: "<"), let close = line.lastIndex(of: ">"), open < close else { return "" }
            return String(line[line.index(after: open)..<close])
        }

        reply("220 smtp.test ESMTP ready")
        var current = Received()
        while let line = reader.readLine() {
            let upper = line.uppercased()
            if upper.hasPrefix("EHLO") {
                reply("250-smtp.test")
                reply("250-AUTH PLAIN")
                reply("250 8BITMIME")
            } else if upper.hasPrefix("HELO") {
                reply("250 smtp.test")
            } else if upper.hasPrefix("AUTH PLAIN"), case .rejectAuth(let answer) = mode {
                reply(answer)
            } else if upper.hasPrefix("AUTH PLAIN") {
                var encoded = String(line.dropFirst("AUTH PLAIN".count)).trimmingCharacters(in: .whitespaces)
                if encoded.isEmpty {
                    reply("334 ")
                    encoded = reader.readLine() ?? ""
                }
                let fields = Data(base64Encoded: encoded).map { [UInt8]($0).split(separator: 0, omittingEmptySubsequences: false) } ?? []
                guard fields.count == 3 else {
                    reply("501 5.5.2 Cannot decode")
                    continue
                }
                current.username = String(decoding: fields[1], as: UTF8.self)
                current.password = String(decoding: fields[2], as: UTF8.self)
                state.withLock { $0.authentications.append((current.username!, current.password!)) }
                reply("235 2.7.0 Authentication successful")
            } else if upper.hasPrefix("MAIL FROM:") {
                if mode == .refuse {
                    reply("451 4.3.0 Try again later")
                    continue
                }
                current.mailFrom = address(line)
                current.recipients = []
                reply("250 2.1.0 OK")
            } else if upper.hasPrefix("RCPT TO:") {
                if case .rejectRecipient(let answer) = mode {
                    reply(answer)
                    continue
                }
                current.recipients.append(address(line))
                reply("250 2.1.5 OK")
            } else if upper == "DATA" {
                reply("354 End data with <CR><LF>.<CR><LF>")
                var lines: [String] = []
                var complete = false
                while let dataLine = reader.readLine() {
                    if dataLine == "." {
                        complete = true
                        break
                    }
                    lines.append(dataLine.hasPrefix(".") ? String(dataLine.dropFirst()) : dataLine)
                }
                guard complete else { return }
                if case .rejectData(let answer) = mode {
                    reply(answer)
                    continue
                }
                current.data = lines.map { $0 + "\r\n" }.joined()
                let message = current
                state.withLock { $0.received.append(message) }
                reply("250 2.0.0 Queued")
            } else if upper == "RSET" {
                current.mailFrom = ""
                current.recipients = []
                reply("250 2.0.0 OK")
            } else if upper == "NOOP" {
                reply("250 2.0.0 OK")
            } else if upper == "QUIT" {
                reply("221 2.0.0 Bye")
                return
            } else {
                reply("502 5.5.2 Command not recognized")
            }
        }
    }
}

/// Reads CRLF-terminated lines from a socket.
private struct LineReader {
    let fd: Int32
    private var buffer: [UInt8] = []

    init(fd: Int32) { self.fd = fd }

    mutating func readLine() -> String? {
        while true {
            if let end = buffer.indices.dropLast().first(where: { buffer[$0] == 0x0D && buffer[$0 + 1] == 0x0A }) {
                let line = String(decoding: buffer[..<end], as: UTF8.self)
                buffer.removeFirst(end + 2)
                return line
            }
            var chunk = [UInt8](repeating: 0, count: 4096)
            let n = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress!, $0.count, 0) }
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else { return nil }
            buffer += chunk[..<n]
        }
    }
}
