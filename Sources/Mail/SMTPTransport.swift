import CCurl
import Foundation
import Logging

/// Sends mail to an SMTP server with libcurl, one connection (and one `CURL` handle) per mail.
///
/// Configured from a URL:
/// - `smtp://user:pass@host:587`: plain SMTP upgraded with STARTTLS **when the server offers
///   it** (`CURLUSESSL_TRY`). Against a server that does not offer STARTTLS the mail, and the
///   AUTH exchange if credentials are given, travel in clear text; that keeps a loopback test
///   server or a local relay working. Pass `requireTLS: true` (`CURLUSESSL_ALL`) to refuse
///   to go on without TLS.
/// - `smtps://user:pass@host:465`: TLS from the first byte (implicit TLS).
///
/// Certificates are verified (libcurl's defaults). The user name and password are
/// percent-decoded from the URL and given to libcurl with `CURLOPT_USERNAME` /
/// `CURLOPT_PASSWORD`; the URL libcurl sees carries no credentials, and ``description``,
/// `debugDescription` and the `Mirror` show the URL with the password replaced by `***`.
/// An optional path (`smtp://host/portal.example.com`) is the name libcurl sends in `EHLO`.
///
/// The message is built by ``MIMEMessage`` and uploaded through a read callback
/// (`CURLOPT_UPLOAD`); libcurl does the SMTP dot-stuffing of the data and sends the final
/// `CRLF.CRLF`. Timeouts: 10 s to connect, 60 s for the whole exchange by default.
/// `send` blocks: call it off the event loop (``MailDelivery`` does).
///
/// With a `logger`, the transport warns once at init when credentials could travel in clear
/// text (opportunistic STARTTLS to a host that is not the loopback) and logs each accepted
/// mail's Message-ID at debug level; it never logs the password or a mail's content.
public struct SMTPTransport: MailTransport, CustomDebugStringConvertible, CustomReflectable {
    /// How the connection is protected.
    public enum Security: String, Sendable {
        /// `smtp://`: STARTTLS if the server offers it, clear text otherwise.
        case startTLSIfOffered = "STARTTLS if offered"
        /// `smtp://` with `requireTLS`: STARTTLS or fail.
        case startTLSRequired = "STARTTLS required"
        /// `smtps://`: TLS from the start.
        case implicitTLS = "implicit TLS"
    }

    /// A malformed SMTP URL, or a failed exchange with the server. The descriptions hold
    /// neither the password nor the mail's content.
    public enum Error: Swift.Error, CustomStringConvertible, Sendable {
        case invalidURL(String)
        /// No answer to go by: libcurl's error code and message (e.g. `Failed to connect to
        /// … port 25`, a timeout, a TLS failure).
        case failed(code: Int, message: String)
        /// The server answered with an error reply: its code (4xx: try again later, 5xx:
        /// refused for good), its last error line, e.g. `550 5.1.1 User unknown`, and the
        /// command it answered (`MAIL`, `RCPT`, `DATA`, `AUTH`, …; `nil` for the greeting).
        case refused(reply: Int, answer: String, command: String?)

        /// Whether the server refused *this mail* for good: a 5xx reply (RFC 5321 §4.2.1) to
        /// `MAIL`, `RCPT` or `DATA`, so sending it again cannot succeed. A 5xx to the greeting,
        /// `EHLO`, `STARTTLS` or `AUTH` is about the connection or our credentials, which an
        /// operator can fix: such mails keep being retried until the deadline.
        public var isPermanent: Bool {
            guard case .refused(let reply, _, let command) = self, (500..<600).contains(reply) else { return false }
            return ["MAIL", "RCPT", "DATA"].contains(command ?? "")
        }

        public var description: String {
            switch self {
            case .invalidURL(let why): "invalid SMTP URL: \(why)"
            case .failed(let code, let message): "SMTP error (curl \(code)): \(message)"
            case .refused(let reply, let answer, let command):
                "SMTP server refused \(command.map { "the \($0) command" } ?? "the connection") (\(reply)): \(answer)"
            }
        }
    }

    public let host: String
    /// The port, or `nil` for the scheme's default (25 for smtp, 465 for smtps).
    public let port: Int?
    /// The percent-decoded user name, or `nil` to send without AUTH.
    public let username: String?
    public let security: Security
    public var connectTimeout: Duration
    public var timeout: Duration
    private let password: String?
    private let logger: Logger?
    /// `scheme://host[:port][/path]`, without credentials: what libcurl is given.
    private let curlURL: String

    /// Parses `smtp://[user[:password]@]host[:port][/ehlo-name]` or `smtps://…`.
    /// Throws ``Error/invalidURL(_:)`` (never quoting the password).
    public init(
        url: String, requireTLS: Bool = false, connectTimeout: Duration = .seconds(10), timeout: Duration = .seconds(60),
        logger: Logger? = nil
    ) throws {
        guard !url.unicodeScalars.contains(where: { $0.value <= 0x20 || $0.value == 0x7F }) else {
            throw Error.invalidURL("spaces and control characters are not allowed")
        }
        guard let schemeEnd = url.range(of: "://") else { throw Error.invalidURL("expected smtp:// or smtps://") }
        let scheme = url[..<schemeEnd.lowerBound].lowercased()
        switch scheme {
        case "smtp": security = requireTLS ? .startTLSRequired : .startTLSIfOffered
        case "smtps": security = .implicitTLS
        default: throw Error.invalidURL("the scheme must be smtp or smtps")
        }
        let rest = url[schemeEnd.upperBound...]
        let authority = rest.prefix { $0 != "/" && $0 != "?" && $0 != "#" }
        let path = rest[authority.endIndex...]
        guard !path.contains("?"), !path.contains("#") else { throw Error.invalidURL("a query or fragment is not allowed") }

        var hostPort = authority[...]
        if let at = authority.lastIndex(of: "@") {
            let userInfo = authority[..<at]
            hostPort = authority[authority.index(after: at)...]
            let colon = userInfo.firstIndex(of: ":")
            let rawUser = colon.map { userInfo[..<$0] } ?? userInfo
            guard let user = String(rawUser).removingPercentEncoding, !user.isEmpty else {
                throw Error.invalidURL("the user name is empty or badly percent-encoded")
            }
            username = user
            if let colon {
                guard let pass = String(userInfo[userInfo.index(after: colon)...]).removingPercentEncoding else {
                    throw Error.invalidURL("the password is badly percent-encoded")
                }
                password = pass
            } else {
                password = nil
            }
        } else {
            username = nil
            password = nil
        }

        var hostPart = hostPort
        var portPart: Substring?
        if hostPort.hasPrefix("[") {
            guard let close = hostPort.firstIndex(of: "]") else { throw Error.invalidURL("unterminated IPv6 address") }
            hostPart = hostPort[...close]
            let after = hostPort[hostPort.index(after: close)...]
            if !after.isEmpty {
                guard after.hasPrefix(":") else { throw Error.invalidURL("unexpected text after the IPv6 address") }
                portPart = after.dropFirst()
            }
        } else if let colon = hostPort.lastIndex(of: ":") {
            hostPart = hostPort[..<colon]
            portPart = hostPort[hostPort.index(after: colon)...]
        }
        guard !hostPart.isEmpty, !hostPart.contains("@"), !hostPart.contains("%") else {
            throw Error.invalidURL("the host is missing or malformed")
        }
        host = String(hostPart)
        if let portPart {
            guard let p = Int(portPart), (1...65535).contains(p) else { throw Error.invalidURL("the port must be 1 to 65535") }
            port = p
        } else {
            port = nil
        }
        self.connectTimeout = connectTimeout
        self.timeout = timeout
        curlURL = "\(scheme)://\(host)\(port.map { ":\($0)" } ?? "")\(path)"
        self.logger = logger
        let loopback = ["localhost", "127.0.0.1", "[::1]"].contains(host.lowercased())
        if security == .startTLSIfOffered, password != nil, !loopback {
            logger?.warning("SMTP credentials are sent in clear text if the server does not offer STARTTLS; require TLS to refuse that",
                            metadata: ["smtp": "\(redactedURL)"])
        }
    }

    /// The URL with the password replaced by `***`: safe to log.
    public var redactedURL: String {
        guard let username else { return curlURL }
        let user = username.addingPercentEncoding(withAllowedCharacters: .urlUserAllowed) ?? "?"
        let (scheme, rest) = curlURL.range(of: "://").map { (curlURL[..<$0.upperBound], curlURL[$0.upperBound...]) }!
        return "\(scheme)\(user)\(password == nil ? "" : ":***")@\(rest)"
    }

    public var description: String { "SMTP \(redactedURL) (\(security.rawValue))" }
    public var debugDescription: String { description }
    public var customMirror: Mirror {
        Mirror(self, children: ["url": redactedURL, "security": security.rawValue], displayStyle: .struct)
    }

    public func send(_ mail: OutgoingMail, from: String) throws {
        try mail.validate()
        let sender = try Sender(from)
        guard Self.curlReady else { throw Error.failed(code: -1, message: "curl_global_init failed") }
        let messageID = mail.messageID ?? "<\(MIMEMessage.randomHex(bytes: 16))@\(sender.domain)>"
        let message = MIMEMessage.build(mail, from: sender, date: mail.date ?? Date(), messageID: messageID, boundary: MIMEMessage.makeBoundary())
        try perform(upload: message, from: sender.address, to: mail.to)
        logger?.debug("SMTP server accepted the mail", metadata: ["message_id": "\(messageID)", "smtp": "\(redactedURL)"])
    }

    private func perform(upload message: [UInt8], from: String, to: String) throws {
        guard let handle = curl_easy_init() else { throw Error.failed(code: -1, message: "curl_easy_init failed") }
        defer { curl_easy_cleanup(handle) }
        let errorBuffer = UnsafeMutablePointer<CChar>.allocate(capacity: Int(CURL_ERROR_SIZE))
        errorBuffer.initialize(repeating: 0, count: Int(CURL_ERROR_SIZE))
        defer { errorBuffer.deallocate() }
        // Envelope addresses were validated (no `<`, `>`, CR or LF): the brackets cannot be escaped from.
        let recipients = curl_slist_append(nil, "<\(to)>")
        defer { curl_slist_free_all(recipients) }
        guard recipients != nil else { throw Error.failed(code: -1, message: "out of memory") }
        let reader = UploadReader(message)
        let replies = ReplyRecorder()

        try withExtendedLifetime((reader, replies)) {
            // Strings are copied by libcurl (since 7.17), so temporaries are fine.
            var code = ccurl_setopt_pointer(handle, CURLOPT_ERRORBUFFER, errorBuffer)
            func check(_ c: CURLcode) { if code == CURLE_OK { code = c } }
            check(ccurl_setopt_string(handle, CURLOPT_URL, curlURL))
            check(ccurl_setopt_string(handle, CURLOPT_PROTOCOLS_STR, "smtp,smtps"))
            check(ccurl_setopt_long(handle, CURLOPT_NOSIGNAL, 1))
            check(ccurl_setopt_long(handle, CURLOPT_CONNECTTIMEOUT_MS, Self.milliseconds(connectTimeout)))
            check(ccurl_setopt_long(handle, CURLOPT_TIMEOUT_MS, Self.milliseconds(timeout)))
            switch security {
            case .startTLSIfOffered: check(ccurl_setopt_long(handle, CURLOPT_USE_SSL, Int(CURLUSESSL_TRY.rawValue)))
            case .startTLSRequired, .implicitTLS: check(ccurl_setopt_long(handle, CURLOPT_USE_SSL, Int(CURLUSESSL_ALL.rawValue)))
            }
            if let username { check(ccurl_setopt_string(handle, CURLOPT_USERNAME, username)) }
            if let password { check(ccurl_setopt_string(handle, CURLOPT_PASSWORD, password)) }
            check(ccurl_setopt_string(handle, CURLOPT_MAIL_FROM, "<\(from)>"))
            check(ccurl_setopt_pointer(handle, CURLOPT_MAIL_RCPT, recipients))
            check(ccurl_setopt_long(handle, CURLOPT_UPLOAD, 1))
            check(ccurl_setopt_read_function(handle) { buffer, size, count, userdata in
                guard let buffer, let userdata else { return 0 }
                return Unmanaged<UploadReader>.fromOpaque(userdata).takeUnretainedValue().read(into: buffer, capacity: size * count)
            })
            check(ccurl_setopt_pointer(handle, CURLOPT_READDATA, Unmanaged.passUnretained(reader).toOpaque()))
            // The server's replies reach the debug callback; only they are kept (never what
            // we send, which holds the AUTH exchange).
            check(ccurl_setopt_long(handle, CURLOPT_VERBOSE, 1))
            check(ccurl_setopt_debug_function(handle) { _, type, data, size, userdata in
                guard let data, let userdata else { return 0 }
                let recorder = Unmanaged<ReplyRecorder>.fromOpaque(userdata).takeUnretainedValue()
                if type == CURLINFO_HEADER_IN { recorder.reply(data, count: size) }
                if type == CURLINFO_HEADER_OUT { recorder.command(data, count: size) }
                return 0
            })
            check(ccurl_setopt_pointer(handle, CURLOPT_DEBUGDATA, Unmanaged.passUnretained(replies).toOpaque()))
            if code == CURLE_OK { code = curl_easy_perform(handle) }
            guard code == CURLE_OK else {
                // CURLINFO_RESPONSE_CODE is the last SMTP reply code, 0 if none came (the
                // connection failed). A reply of 400 or more is the server saying no.
                var reply = 0
                _ = ccurl_getinfo_long(handle, CURLINFO_RESPONSE_CODE, &reply)
                if reply >= 400 {
                    throw Error.refused(reply: reply, answer: replies.lastError ?? String(reply), command: replies.errorCommand)
                }
                var message = String(cString: errorBuffer)
                if message.isEmpty { message = String(cString: curl_easy_strerror(code)) }
                throw Error.failed(code: Int(code.rawValue), message: message)
            }
        }
    }

    private static func milliseconds(_ d: Duration) -> Int {
        max(1, Int(d.components.seconds) * 1000 + Int(d.components.attoseconds / 1_000_000_000_000_000))
    }

    /// `curl_global_init`, once per process (a `static let` is initialised exactly once).
    private static let curlReady: Bool = curl_global_init(Int(CURL_GLOBAL_ALL)) == CURLE_OK
}

/// From libcurl's debug callback: the server's last error reply line (4xx or 5xx) and the
/// command it answered. The line is kept as printable ASCII of at most 200 characters (it
/// goes to the job's `last_error` and the log); later replies, such as the `221` to the
/// `QUIT` that follows a refusal, do not replace it. Of what we send only the command's verb
/// is read — never its arguments, which for `AUTH` hold the credentials. Used by one thread.
private final class ReplyRecorder {
    private(set) var lastError: String?
    private(set) var errorCommand: String?
    private var lastCommand: String?

    func command(_ data: UnsafeMutablePointer<CChar>, count: Int) {
        let bytes = UnsafeRawBufferPointer(start: data, count: count)
        let verb = String(decoding: bytes.prefix(while: { $0 != 0x20 && $0 != 0x0D && $0 != 0x0A }).prefix(9), as: UTF8.self).uppercased()
        // Only known verbs: an AUTH continuation line is base64 of the credentials.
        if Self.verbs.contains(verb) { lastCommand = verb }
    }

    private static let verbs: Set<String> = ["EHLO", "HELO", "STARTTLS", "AUTH", "MAIL", "RCPT", "DATA", "RSET", "NOOP", "QUIT"]

    func reply(_ data: UnsafeMutablePointer<CChar>, count: Int) {
        let bytes = UnsafeRawBufferPointer(start: data, count: count)
        guard bytes.count >= 3, bytes[0] == UInt8(ascii: "4") || bytes[0] == UInt8(ascii: "5"),
              bytes[1...2].allSatisfy({ $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") })
        else { return }
        let line = String(decoding: bytes.prefix(400).map { $0 >= 0x20 && $0 < 0x7F ? $0 : 0x20 }, as: UTF8.self)
            .trimmingCharacters(in: .whitespaces)
        lastError = line.count > 200 ? String(line.prefix(199)) + "…" : line
        errorCommand = lastCommand
    }
}

/// The message bytes handed to libcurl's read callback piece by piece. Used by one thread.
private final class UploadReader {
    private let bytes: [UInt8]
    private var offset = 0

    init(_ bytes: [UInt8]) { self.bytes = bytes }

    func read(into buffer: UnsafeMutablePointer<CChar>, capacity: Int) -> Int {
        let n = min(capacity, bytes.count - offset)
        guard n > 0 else { return 0 }
        bytes.withUnsafeBufferPointer { source in
            UnsafeMutableRawPointer(buffer).copyMemory(from: source.baseAddress! + offset, byteCount: n)
        }
        offset += n
        return n
    }
}
