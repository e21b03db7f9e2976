/// One POST to send.
public struct OutboundRequest: Sendable {
    public var url: String
    /// Sent as given, in order. A name or value holding CR, LF or NUL is refused
    /// (``OutboundError/other(_:)``), never sent.
    public var headers: [(String, String)]
    public var body: [UInt8]
    public var connectTimeout: Double = 5      // seconds
    public var totalTimeout: Double = 15
    public var maxResponseBody: Int = 4096      // keep only the first N bytes

    public init(url: String, headers: [(String, String)], body: [UInt8]) {
        self.url = url
        self.headers = headers
        self.body = body
    }
}

/// What the receiver answered. Any status is a response, 3xx included (redirects are not
/// followed).
public struct OutboundResponse: Sendable {
    public let status: Int
    public let headers: [(String, String)]   // as received, in order
    public let body: [UInt8]                  // first maxResponseBody bytes
    public let duration: Double               // seconds
    public let remoteAddress: String

    public init(status: Int, headers: [(String, String)], body: [UInt8], duration: Double, remoteAddress: String) {
        self.status = status
        self.headers = headers
        self.body = body
        self.duration = duration
        self.remoteAddress = remoteAddress
    }
}

public enum OutboundError: Error, Sendable, Equatable {
    case invalidURL(String)                       // reason
    case refusedAddress(host: String, address: String, reason: String)
    case dnsFailure(host: String)
    case connectionRefused, connectTimeout, timeout
    case tls(String)                              // e.g. "TLS certificate expired"
    case other(String)

    /// One sentence for the delivery log ("connection refused", "TLS certificate has expired").
    public var message: String {
        switch self {
        case .invalidURL(let reason): reason
        case .refusedAddress(let host, let address, let reason):
            host == address || reason.hasPrefix(host) ? reason : "\(host) resolves to \(address): \(reason)"
        case .dnsFailure(let host): "\(host) could not be resolved"
        case .connectionRefused: "connection refused"
        case .connectTimeout: "connection timed out"
        case .timeout: "no complete answer in time"
        case .tls(let message): message
        case .other(let message): message
        }
    }
}
