import CCurl
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// POSTs to URLs that people typed (webhook endpoints) without letting them reach the
/// machine's own network (SSRF): loopback, private ranges, cloud metadata.
///
/// Every request is checked three times over:
/// 1. the URL is parsed by libcurl's own URL parser (so what is checked is what is fetched):
///    `http`/`https` only, no user name or password, a host;
/// 2. the host is refused by name (`localhost`, `*.localhost`) or resolved, and *every*
///    address it resolves to must pass the ``AddressPolicy``; the transfer is then pinned to
///    those addresses (`CURLOPT_RESOLVE`), so a second DNS answer (rebinding) is never used;
/// 3. libcurl's `CURLOPT_OPENSOCKETFUNCTION` checks the address of every socket it is about
///    to connect and refuses the ones the policy refuses (defence in depth).
///
/// No proxy is used, whatever the environment says (`http_proxy`, `ALL_PROXY`…); redirects
/// are not followed (a 3xx is just a response); only the first `maxResponseBody` bytes of the
/// answer are kept. Easy handles — and with them libcurl's open connections — are kept in a
/// small pool, so successive posts to one receiver reuse a keep-alive connection.
///
/// ``check(url:)`` and ``post(_:)`` block (DNS, network): call them from a worker thread,
/// never from the socket event loop.
public final class OutboundClient: Sendable {
    /// Host name → its addresses (getaddrinfo by default). Tests give their own.
    public typealias Resolver = @Sendable (String) throws(OutboundError) -> [IPAddress]

    public let policy: AddressPolicy
    private let userAgent: String
    private let maxIdleHandles: Int
    private let resolver: Resolver
    private let checksBeforeConnecting: Bool
    private let caFile: String?
    private let idle = Mutex<[EasyHandle]>([])

    public convenience init(policy: AddressPolicy, userAgent: String, maxIdleHandles: Int = 32) {
        self.init(policy: policy, userAgent: userAgent, maxIdleHandles: maxIdleHandles, resolver: OutboundClient.systemResolver)
    }

    /// With a resolver of one's own (tests: a name that resolves to 127.0.0.1 without DNS).
    public convenience init(policy: AddressPolicy, userAgent: String, maxIdleHandles: Int = 32, resolver: @escaping Resolver) {
        self.init(policy: policy, userAgent: userAgent, maxIdleHandles: maxIdleHandles, resolver: resolver, checksBeforeConnecting: true)
    }

    /// `checksBeforeConnecting: false` (tests only) skips the address check before the
    /// transfer, to show that the socket-level check alone refuses the connection.
    /// `caFile` (tests only) replaces the system's trusted certificate authorities.
    init(policy: AddressPolicy, userAgent: String, maxIdleHandles: Int, resolver: @escaping Resolver, checksBeforeConnecting: Bool,
         caFile: String? = nil) {
        self.caFile = caFile
        self.policy = policy
        self.userAgent = userAgent
        self.maxIdleHandles = max(0, maxIdleHandles)
        self.resolver = resolver
        self.checksBeforeConnecting = checksBeforeConnecting
    }

    deinit {
        for handle in idle.withLock({ $0 }) { curl_easy_cleanup(handle.raw) }
    }

    /// For saving an endpoint: URL syntax (http/https only, no userinfo, host present), resolve,
    /// refuse if ANY resolved address is refused by the policy. Returns the checked addresses.
    public func check(url: String) throws(OutboundError) -> [IPAddress] {
        let target = try resolve(url)
        return target.addresses
    }

    /// Blocking POST (call from a worker thread, never the event loop): validates + resolves +
    /// checks like `check`, then pins the connection to the checked address (CURLOPT_RESOLVE)
    /// and also refuses in CURLOPT_OPENSOCKETFUNCTION any address the policy refuses (defence
    /// in depth), no proxies, no redirects (a 3xx is just a response), connect timeout, total
    /// timeout, response body truncated to maxResponseBody, keep-alive through pooled handles.
    public func post(_ request: OutboundRequest) throws(OutboundError) -> OutboundResponse {
        guard Self.curlReady else { throw .other("libcurl could not be initialised") }
        for (name, value) in request.headers {
            guard Self.isToken(name) else { throw .other("the header name \"\(Self.printable(name))\" is not valid") }
            guard !value.utf8.contains(where: { $0 == 0x0D || $0 == 0x0A || $0 == 0 }) else {
                throw .other("the value of header \(name) holds a line break")
            }
        }
        let target = try resolve(request.url, checking: checksBeforeConnecting)
        guard let handle = checkout() else { throw .other("libcurl could not create a handle") }
        var healthy = true
        defer { checkin(handle, keep: healthy) }
        do {
            return try perform(request, target: target, handle: handle.raw)
        } catch {
            // A handle whose transfer failed oddly is not kept (its connections go with it).
            if case .other = error { healthy = false }
            throw error
        }
    }

    // MARK: - The transfer

    private func perform(_ request: OutboundRequest, target: Target, handle: UnsafeMutableRawPointer) throws(OutboundError) -> OutboundResponse {
        let transfer = Transfer(policy: policy, maxBody: max(0, request.maxResponseBody))
        let errorBuffer = UnsafeMutablePointer<CChar>.allocate(capacity: Int(CURL_ERROR_SIZE))
        errorBuffer.initialize(repeating: 0, count: Int(CURL_ERROR_SIZE))
        defer { errorBuffer.deallocate() }

        var headerList: UnsafeMutablePointer<curl_slist>?
        defer { curl_slist_free_all(headerList) }
        for (name, value) in request.headers { headerList = curl_slist_append(headerList, "\(name): \(value)") }
        // No `Expect: 100-continue` round trip for larger bodies.
        headerList = curl_slist_append(headerList, "Expect:")
        var resolveList: UnsafeMutablePointer<curl_slist>?
        defer { curl_slist_free_all(resolveList) }
        if !target.isLiteral {
            let addresses = target.addresses.map(\.bracketed).joined(separator: ",")
            resolveList = curl_slist_append(nil, "\(target.host.lowercased()):\(target.port):\(addresses)")
        }
        guard headerList != nil, target.isLiteral || resolveList != nil else { throw .other("out of memory") }
        // COPYPOSTFIELDS copies `POSTFIELDSIZE` bytes; an empty body still needs a pointer.
        let body = request.body.isEmpty ? [0] : request.body

        let context = Unmanaged.passRetained(transfer)
        defer { context.release() }
        var code = ccurl_setopt_pointer(handle, CURLOPT_ERRORBUFFER, errorBuffer)
        func set(_ c: CURLcode) { if code == CURLE_OK { code = c } }
        set(ccurl_setopt_pointer(handle, CURLOPT_CURLU, UnsafeMutableRawPointer(target.url.handle)))
        set(ccurl_setopt_string(handle, CURLOPT_PROTOCOLS_STR, "http,https"))
        set(ccurl_setopt_string(handle, CURLOPT_REDIR_PROTOCOLS_STR, "http,https"))
        set(ccurl_setopt_long(handle, CURLOPT_FOLLOWLOCATION, 0))
        set(ccurl_setopt_long(handle, CURLOPT_NOSIGNAL, 1))
        // "" disables proxies, including those named in the environment.
        set(ccurl_setopt_string(handle, CURLOPT_PROXY, ""))
        set(ccurl_setopt_string(handle, CURLOPT_NOPROXY, "*"))
        set(ccurl_setopt_long(handle, CURLOPT_CONNECTTIMEOUT_MS, Self.milliseconds(request.connectTimeout)))
        set(ccurl_setopt_long(handle, CURLOPT_TIMEOUT_MS, Self.milliseconds(request.totalTimeout)))
        set(ccurl_setopt_long(handle, CURLOPT_TCP_KEEPALIVE, 1))
        set(ccurl_setopt_string(handle, CURLOPT_USERAGENT, userAgent))
        if let caFile { set(ccurl_setopt_string(handle, CURLOPT_CAINFO, caFile)) }
        set(ccurl_setopt_pointer(handle, CURLOPT_HTTPHEADER, headerList))
        if let resolveList { set(ccurl_setopt_pointer(handle, CURLOPT_RESOLVE, resolveList)) }
        set(ccurl_setopt_long(handle, CURLOPT_POST, 1))
        set(ccurl_setopt_off_t(handle, CURLOPT_POSTFIELDSIZE_LARGE, curl_off_t(request.body.count)))
        body.withUnsafeBytes { bytes in
            set(ccurl_setopt_pointer(handle, CURLOPT_COPYPOSTFIELDS, UnsafeMutableRawPointer(mutating: bytes.baseAddress!)))
        }
        set(ccurl_setopt_opensocket_function(handle) { clientp, purpose, address in
            guard let clientp, let address, purpose == CURLSOCKTYPE_IPCXN else { return CURL_SOCKET_BAD }
            let transfer = Unmanaged<Transfer>.fromOpaque(clientp).takeUnretainedValue()
            return transfer.openSocket(address)
        })
        set(ccurl_setopt_pointer(handle, CURLOPT_OPENSOCKETDATA, context.toOpaque()))
        set(ccurl_setopt_header_function(handle) { data, size, count, userdata in
            guard let userdata else { return 0 }
            let transfer = Unmanaged<Transfer>.fromOpaque(userdata).takeUnretainedValue()
            if let data { transfer.header(UnsafeRawBufferPointer(start: data, count: size * count)) }
            return size * count
        })
        set(ccurl_setopt_pointer(handle, CURLOPT_HEADERDATA, context.toOpaque()))
        set(ccurl_setopt_write_function(handle) { data, size, count, userdata in
            guard let userdata else { return 0 }
            let transfer = Unmanaged<Transfer>.fromOpaque(userdata).takeUnretainedValue()
            guard let data else { return size * count }
            return transfer.write(UnsafeRawBufferPointer(start: data, count: size * count)) ? size * count : 0
        })
        set(ccurl_setopt_pointer(handle, CURLOPT_WRITEDATA, context.toOpaque()))
        guard code == CURLE_OK else {
            throw .other("libcurl refused an option: \(String(cString: curl_easy_strerror(code)))")
        }

        code = withExtendedLifetime(target) { curl_easy_perform(handle) }
        let completed = code == CURLE_OK || (code == CURLE_WRITE_ERROR && transfer.abortedLongBody)
        guard completed else { throw error(code, handle: handle, transfer: transfer, errorBuffer: errorBuffer, target: target) }

        var status = 0
        _ = ccurl_getinfo_long(handle, CURLINFO_RESPONSE_CODE, &status)
        var seconds = 0.0
        _ = ccurl_getinfo_double(handle, CURLINFO_TOTAL_TIME, &seconds)
        var ip: UnsafeMutablePointer<CChar>?
        _ = ccurl_getinfo_string(handle, CURLINFO_PRIMARY_IP, &ip)
        let remote = ip.map { String(cString: $0) } ?? ""
        return OutboundResponse(status: status, headers: transfer.headers, body: transfer.body, duration: seconds, remoteAddress: remote)
    }

    private func error(_ code: CURLcode, handle: UnsafeMutableRawPointer, transfer: Transfer,
                       errorBuffer: UnsafeMutablePointer<CChar>, target: Target) -> OutboundError {
        if let (address, reason) = transfer.refused {
            return .refusedAddress(host: target.host, address: address.description, reason: reason)
        }
        var detail = String(cString: errorBuffer)
        if detail.isEmpty { detail = String(cString: curl_easy_strerror(code)) }
        switch code {
        case CURLE_COULDNT_CONNECT:
            var osErrno = 0
            _ = ccurl_getinfo_long(handle, CURLINFO_OS_ERRNO, &osErrno)
            if osErrno == Int(ECONNREFUSED) || osErrno == 0 { return .connectionRefused }
            return .other("could not connect: \(String(cString: strerror(Int32(osErrno))))")
        case CURLE_OPERATION_TIMEDOUT:
            var connectTime: curl_off_t = 0
            _ = ccurl_getinfo_off_t(handle, CURLINFO_CONNECT_TIME_T, &connectTime)
            return connectTime == 0 ? .connectTimeout : .timeout
        case CURLE_COULDNT_RESOLVE_HOST:
            return .dnsFailure(host: target.host)
        case CURLE_PEER_FAILED_VERIFICATION, CURLE_SSL_CONNECT_ERROR, CURLE_SSL_CERTPROBLEM, CURLE_SSL_CIPHER,
             CURLE_SSL_CACERT_BADFILE, CURLE_SSL_ISSUER_ERROR, CURLE_SSL_PINNEDPUBKEYNOTMATCH, CURLE_SSL_INVALIDCERTSTATUS:
            var verify = 0
            _ = ccurl_getinfo_long(handle, CURLINFO_SSL_VERIFYRESULT, &verify)
            return .tls(Self.tlsMessage(verifyResult: verify, detail: detail))
        case CURLE_GOT_NOTHING:
            return .other("the server closed the connection without answering")
        case CURLE_RECV_ERROR, CURLE_SEND_ERROR:
            return .other("the connection failed: \(Self.printable(detail))")
        case CURLE_TOO_MANY_REDIRECTS, CURLE_UNSUPPORTED_PROTOCOL, CURLE_URL_MALFORMAT:
            return .invalidURL(Self.printable(detail))
        default:
            return .other(Self.printable(detail))
        }
    }

    /// OpenSSL's X509_V_ERR_* codes as a sentence.
    private static func tlsMessage(verifyResult: Int, detail: String) -> String {
        switch verifyResult {
        case 9: return "TLS certificate is not yet valid"
        case 10: return "TLS certificate has expired"
        case 18: return "TLS certificate is self-signed"
        case 19: return "TLS certificate chain has a self-signed certificate"
        case 20, 21: return "TLS certificate is not signed by a trusted authority"
        case 23: return "TLS certificate has been revoked"
        case 62: return "TLS certificate does not match the host name"
        default:
            let lower = detail.lowercased()
            if lower.contains("subject name") || lower.contains("does not match") { return "TLS certificate does not match the host name" }
            return "TLS error: \(printable(detail))"
        }
    }

    // MARK: - URL and addresses

    /// A URL parsed by libcurl, its host and port, and the addresses allowed for it.
    private final class Target {
        let url: ParsedURL
        let host: String            // without brackets
        let port: Int
        let isLiteral: Bool
        let addresses: [IPAddress]

        init(url: ParsedURL, host: String, port: Int, isLiteral: Bool, addresses: [IPAddress]) {
            self.url = url
            self.host = host
            self.port = port
            self.isLiteral = isLiteral
            self.addresses = addresses
        }
    }

    private func resolve(_ text: String, checking: Bool = true) throws(OutboundError) -> Target {
        let url = try ParsedURL(text)
        if checking, let reason = policy.refusal(forName: url.host) {
            throw .refusedAddress(host: url.host, address: url.host, reason: reason)
        }
        let literal = IPAddress.parse(url.host)
        let addresses: [IPAddress]
        if let literal { addresses = [literal] } else { addresses = try resolver(url.host) }
        guard !addresses.isEmpty else { throw .dnsFailure(host: url.host) }
        for address in addresses where checking {
            if let reason = policy.refusal(for: address) {
                throw .refusedAddress(host: url.host, address: address.description, reason: reason)
            }
        }
        return Target(url: url, host: url.host, port: url.port, isLiteral: literal != nil, addresses: addresses)
    }

    /// getaddrinfo, every address (IPv4 and IPv6), in the resolver's order, without repeats.
    public static let systemResolver: Resolver = { (host: String) throws(OutboundError) -> [IPAddress] in
        var hints = addrinfo()
        hints.ai_family = AF_UNSPEC
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        var result: UnsafeMutablePointer<addrinfo>?
        guard getaddrinfo(host, nil, &hints, &result) == 0, let first = result else { throw .dnsFailure(host: host) }
        defer { freeaddrinfo(first) }
        var addresses: [IPAddress] = []
        var next: UnsafeMutablePointer<addrinfo>? = first
        while let entry = next {
            if let sa = entry.pointee.ai_addr, let address = IPAddress(sockaddr: sa), !addresses.contains(address) {
                addresses.append(address)
            }
            next = entry.pointee.ai_next
        }
        guard !addresses.isEmpty else { throw .dnsFailure(host: host) }
        return addresses
    }

    // MARK: - Handle pool

    private func checkout() -> EasyHandle? {
        if let handle = idle.withLock({ $0.popLast() }) {
            curl_easy_reset(handle.raw) // options back to defaults; connections and DNS cache stay
            return handle
        }
        return curl_easy_init().map(EasyHandle.init)
    }

    private func checkin(_ handle: EasyHandle, keep: Bool) {
        let kept = keep && idle.withLock { handles -> Bool in
            guard handles.count < maxIdleHandles else { return false }
            handles.append(handle)
            return true
        }
        if !kept { curl_easy_cleanup(handle.raw) }
    }

    // MARK: - Helpers

    private static func milliseconds(_ seconds: Double) -> Int {
        guard seconds.isFinite, seconds > 0 else { return 1 }
        return max(1, Int(min(seconds, 86_400) * 1000))
    }

    private static func isToken(_ name: String) -> Bool {
        !name.isEmpty && name.utf8.allSatisfy { c in
            (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5A) || (c >= 0x61 && c <= 0x7A) || "!#$%&'*+-.^_`|~".utf8.contains(c)
        }
    }

    static func printable(_ text: String) -> String {
        let cleaned = String(decoding: text.utf8.prefix(300).map { $0 >= 0x20 && $0 < 0x7F ? $0 : 0x20 }, as: UTF8.self)
        return cleaned.trimmingCharacters(in: " .\n")
    }

    /// `curl_global_init`, once per process (a `static let` is initialised exactly once).
    private static let curlReady: Bool = curl_global_init(Int(CURL_GLOBAL_ALL)) == CURLE_OK
}

/// A `CURL *` moved between threads: used by one thread at a time (the pool hands it out).
private struct EasyHandle: @unchecked Sendable {
    let raw: UnsafeMutableRawPointer
}

/// libcurl's URL parser (`CURLU`): the URL is checked and fetched in the same parsed form.
final class ParsedURL {
    let handle: OpaquePointer
    let scheme: String
    let host: String     // IPv6 without brackets
    let port: Int

    init(_ text: String) throws(OutboundError) {
        guard text.utf8.count <= 2048 else { throw .invalidURL("the URL is longer than 2048 characters") }
        guard let handle = curl_url() else { throw .other("out of memory") }
        self.handle = handle
        let rc = curl_url_set(handle, CURLUPART_URL, text, 0)
        guard rc == CURLUE_OK else {
            curl_url_cleanup(handle)
            throw .invalidURL("this is not a valid URL (\(String(cString: curl_url_strerror(rc))))")
        }
        func part(_ which: CURLUPart, _ flags: UInt32 = 0) -> String? {
            var out: UnsafeMutablePointer<CChar>?
            guard curl_url_get(handle, which, &out, flags) == CURLUE_OK, let out else { return nil }
            defer { curl_free(out) }
            return String(cString: out)
        }
        let scheme = part(CURLUPART_SCHEME)?.lowercased() ?? ""
        guard scheme == "http" || scheme == "https" else {
            curl_url_cleanup(handle)
            throw .invalidURL("only http and https URLs can be used")
        }
        // libcurl reads "http:///x" as host "x": refused, as a person meant no such thing.
        let bytes = Array(text.utf8)
        if let i = bytes.indices.dropLast(3).first(where: { bytes[$0] == 0x3A && bytes[$0 + 1] == 0x2F && bytes[$0 + 2] == 0x2F }),
           bytes[i + 3] == 0x2F {
            curl_url_cleanup(handle)
            throw .invalidURL("the URL has no host")
        }
        guard part(CURLUPART_USER) == nil, part(CURLUPART_PASSWORD) == nil, part(CURLUPART_OPTIONS) == nil else {
            curl_url_cleanup(handle)
            throw .invalidURL("a URL with a user name or password is not accepted")
        }
        guard var host = part(CURLUPART_HOST), !host.isEmpty, host != "[]" else {
            curl_url_cleanup(handle)
            throw .invalidURL("the URL has no host")
        }
        guard part(CURLUPART_ZONEID) == nil, !host.contains("%") else {
            curl_url_cleanup(handle)
            throw .invalidURL("an IPv6 zone id is not accepted")
        }
        if host.hasPrefix("["), host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        guard let portText = part(CURLUPART_PORT, UInt32(CURLU_DEFAULT_PORT)), let port = Int(portText), (1...65535).contains(port) else {
            curl_url_cleanup(handle)
            throw .invalidURL("the URL's port is not valid")
        }
        self.scheme = scheme
        self.host = host
        self.port = port
    }

    deinit { curl_url_cleanup(handle) }
}

/// One transfer's state, reached from libcurl's callbacks. Used by one thread.
private final class Transfer {
    let policy: AddressPolicy
    let maxBody: Int
    private(set) var headers: [(String, String)] = []
    private(set) var body: [UInt8] = []
    private var received = 0
    /// The body went on past ``readLimit``: the transfer was cut and the response kept.
    private(set) var abortedLongBody = false
    /// The address refused in `openSocket`, with why.
    private(set) var refused: (IPAddress, String)?

    /// How much of a long body is read (and dropped) to keep the connection reusable before
    /// the transfer is cut.
    private static let readLimit = 1 << 20

    init(policy: AddressPolicy, maxBody: Int) {
        self.policy = policy
        self.maxBody = maxBody
    }

    func openSocket(_ address: UnsafeMutablePointer<curl_sockaddr>) -> curl_socket_t {
        let family = address.pointee.family
        let offset = MemoryLayout<curl_sockaddr>.offset(of: \curl_sockaddr.addr)!
        let sa = (UnsafeRawPointer(address) + offset).assumingMemoryBound(to: sockaddr.self)
        guard let ip = IPAddress(sockaddr: sa) else {
            refused = (.v4(0), "only IPv4 and IPv6 connections are made")
            return CURL_SOCKET_BAD
        }
        if let reason = policy.refusal(for: ip) {
            refused = (ip, reason)
            return CURL_SOCKET_BAD
        }
        let fd = socket(family, address.pointee.socktype | Int32(SOCK_CLOEXEC.rawValue), address.pointee.protocol)
        return fd < 0 ? CURL_SOCKET_BAD : fd
    }

    func header(_ line: UnsafeRawBufferPointer) {
        var end = line.count
        while end > 0, line[end - 1] == 0x0A || line[end - 1] == 0x0D { end -= 1 }
        let text = String(decoding: line.prefix(end), as: UTF8.self)
        if text.hasPrefix("HTTP/") {
            headers = [] // a new response (after a 1xx): only the final one's headers are kept
            return
        }
        guard !text.isEmpty, headers.count < 200 else { return }
        if text.first == " " || text.first == "\t", !headers.isEmpty {
            let last = headers.count - 1
            headers[last].1 += " " + text.trimmingCharacters(in: " \t")
            return
        }
        guard let colon = text.firstIndex(of: ":") else { return }
        headers.append((String(text[..<colon]), String(text[text.index(after: colon)...]).trimmingCharacters(in: " \t")))
    }

    /// Keeps the first `maxBody` bytes; `false` to cut the transfer.
    func write(_ chunk: UnsafeRawBufferPointer) -> Bool {
        if body.count < maxBody { body += chunk.prefix(maxBody - body.count) }
        received += chunk.count
        if received > Self.readLimit {
            abortedLongBody = true
            return false
        }
        return true
    }
}

extension String {
    fileprivate func trimmingCharacters(in set: String) -> String {
        let drop = Set(set)
        var s = Substring(self)
        while let c = s.first, drop.contains(c) { s.removeFirst() }
        while let c = s.last, drop.contains(c) { s.removeLast() }
        return String(s)
    }
}
