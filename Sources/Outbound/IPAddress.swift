#if canImport(Glibc)
import Glibc
#endif

/// An IPv4 or IPv6 address, as the outbound client checks it against an ``AddressPolicy``.
public enum IPAddress: Hashable, Sendable, CustomStringConvertible {
    case v4(UInt32)            // host byte order
    case v6([UInt8])           // 16 bytes

    /// Parses a literal host the way resolvers do: dotted quad, also inet_aton forms
    /// ("0x7f.1", "2130706433", "0177.0.0.1", "127.1"), and IPv6 with or without brackets.
    ///
    /// `nil` for anything else (a name, an IPv6 zone id, trailing garbage): such a host is
    /// resolved, and what it resolves to is checked.
    public static func parse(_ host: String) -> IPAddress? {
        var text = Substring(host)
        if text.hasPrefix("[") {
            guard text.hasSuffix("]"), text.count > 2 else { return nil }
            text = text.dropFirst().dropLast()
            return parseV6(String(text))
        }
        if text.contains(":") { return parseV6(String(text)) }
        return parseV4(text)
    }

    /// inet_aton: one to four parts separated by dots, each decimal, octal (leading `0`) or
    /// hexadecimal (`0x`); the last part fills the bytes the others left.
    private static func parseV4(_ text: Substring) -> IPAddress? {
        let parts = text.split(separator: ".", omittingEmptySubsequences: false)
        guard (1...4).contains(parts.count) else { return nil }
        var values: [UInt64] = []
        for part in parts {
            guard let value = number(part) else { return nil }
            values.append(value)
        }
        var result: UInt64 = 0
        for (i, value) in values.dropLast().enumerated() {
            guard value <= 0xFF else { return nil }
            result |= value << UInt64(8 * (3 - i))
        }
        let remainingBits = UInt64(8 * (4 - (values.count - 1)))
        let last = values[values.count - 1]
        guard remainingBits == 32 ? last <= 0xFFFF_FFFF : last < (1 << remainingBits) else { return nil }
        result |= last
        return .v4(UInt32(result))
    }

    private static func number(_ part: Substring) -> UInt64? {
        guard !part.isEmpty, part.count <= 12 else { return nil }
        let lower = part.lowercased()
        if lower.hasPrefix("0x") {
            let digits = lower.dropFirst(2)
            if digits.isEmpty { return 0 } // inet_aton takes a bare "0x" as zero
            return UInt64(digits, radix: 16)
        }
        if lower.count > 1, lower.hasPrefix("0") { return UInt64(lower.dropFirst(), radix: 8) }
        guard lower.allSatisfy({ $0 >= "0" && $0 <= "9" }) else { return nil }
        return UInt64(lower, radix: 10)
    }

    private static func parseV6(_ text: String) -> IPAddress? {
        guard !text.contains("%") else { return nil }
        var storage = in6_addr()
        guard inet_pton(AF_INET6, text, &storage) == 1 else { return nil }
        return .v6(withUnsafeBytes(of: &storage) { Array($0) })
    }

    /// From a socket address (`AF_INET` or `AF_INET6`); `nil` for any other family.
    public init?(sockaddr pointer: UnsafePointer<sockaddr>) {
        switch Int32(pointer.pointee.sa_family) {
        case AF_INET:
            let address = UnsafeRawPointer(pointer).assumingMemoryBound(to: sockaddr_in.self).pointee
            self = .v4(UInt32(bigEndian: address.sin_addr.s_addr))
        case AF_INET6:
            var address = UnsafeRawPointer(pointer).assumingMemoryBound(to: sockaddr_in6.self).pointee
            self = .v6(withUnsafeBytes(of: &address.sin6_addr) { Array($0) })
        default:
            return nil
        }
    }

    /// Dotted quad, or the compressed IPv6 form (`::ffff:10.0.0.1`, `2606:4700::1111`).
    public var description: String {
        switch self {
        case .v4(let value):
            return "\(value >> 24).\(value >> 16 & 0xFF).\(value >> 8 & 0xFF).\(value & 0xFF)"
        case .v6(let bytes):
            guard bytes.count == 16 else { return "invalid" }
            var storage = in6_addr()
            withUnsafeMutableBytes(of: &storage) { $0.copyBytes(from: bytes) }
            var buffer = [CChar](repeating: 0, count: Int(INET6_ADDRSTRLEN))
            guard inet_ntop(AF_INET6, &storage, &buffer, socklen_t(buffer.count)) != nil else { return "invalid" }
            return String(decoding: buffer.prefix(while: { $0 != 0 }).map { UInt8(bitPattern: $0) }, as: UTF8.self)
        }
    }

    /// The form libcurl's `CURLOPT_RESOLVE` and URLs take: IPv6 in brackets.
    var bracketed: String {
        if case .v6 = self { return "[\(description)]" }
        return description
    }
}

/// Which destination addresses the outbound client may connect to.
///
/// ``publicOnly`` refuses loopback, private, link-local (cloud metadata at
/// 169.254.169.254), shared, multicast and reserved ranges, and IPv6 forms that embed such an
/// IPv4 address; ``allowPrivate`` (the `--webhooks-allow-private-networks` flag, for
/// development and tests) allows everything.
public struct AddressPolicy: Sendable {
    public static let publicOnly = AddressPolicy(allowsPrivate: false)
    public static let allowPrivate = AddressPolicy(allowsPrivate: true)   // the --webhooks-allow-private-networks flag
    public let allowsPrivate: Bool

    private init(allowsPrivate: Bool) { self.allowsPrivate = allowsPrivate }

    /// nil when allowed; otherwise a sentence for a person ("127.0.0.1 is a loopback address").
    public func refusal(for address: IPAddress) -> String? {
        guard !allowsPrivate else { return nil }
        switch address {
        case .v4(let value):
            return Self.v4Kind(value).map { "\(address) is \($0)" }
        case .v6(let bytes):
            guard bytes.count == 16 else { return "\(address) is not a valid IPv6 address" }
            if let kind = Self.v6Kind(bytes) { return "\(address) is \(kind)" }
            for (embedded, form) in Self.embeddedV4(bytes) {
                if let kind = Self.v4Kind(embedded) { return "\(address) is \(form) of \(IPAddress.v4(embedded)), \(kind)" }
            }
            return nil
        }
    }

    /// Whether a host name is refused before it is even resolved (`localhost`, `*.localhost`).
    func refusal(forName host: String) -> String? {
        guard !allowsPrivate else { return nil }
        var name = host.lowercased()
        while name.hasSuffix(".") { name.removeLast() }
        if name == "localhost" || name.hasSuffix(".localhost") { return "\(host) names this machine" }
        return nil
    }

    private static let v4Ranges: [(UInt32, Int, String)] = [
        (0x0000_0000, 8, "a \"this network\" address"),
        (0x0A00_0000, 8, "a private network address"),
        (0x6440_0000, 10, "a shared (carrier-grade NAT) address"),
        (0x7F00_0000, 8, "a loopback address"),
        (0xA9FE_0000, 16, "a link-local address (where cloud metadata services answer)"),
        (0xAC10_0000, 12, "a private network address"),
        (0xC000_0000, 24, "an IETF protocol assignment address"),
        (0xC0A8_0000, 16, "a private network address"),
        (0xC612_0000, 15, "a benchmarking address"),
        (0xE000_0000, 4, "a multicast address"),
        (0xFFFF_FFFF, 32, "the broadcast address"),
        (0xF000_0000, 4, "a reserved address"),
    ]

    private static func v4Kind(_ value: UInt32) -> String? {
        for (network, prefix, kind) in v4Ranges {
            let mask: UInt32 = prefix == 0 ? 0 : ~UInt32(0) << UInt32(32 - prefix)
            if value & mask == network { return kind }
        }
        return nil
    }

    private static func hasPrefix(_ bytes: [UInt8], _ prefix: [UInt8]) -> Bool {
        bytes.count >= prefix.count && Array(bytes.prefix(prefix.count)) == prefix
    }

    private static func v6Kind(_ b: [UInt8]) -> String? {
        if b.allSatisfy({ $0 == 0 }) { return "the unspecified address" }
        if b.prefix(15).allSatisfy({ $0 == 0 }) && b[15] == 1 { return "the loopback address" }
        if b[0] & 0xFE == 0xFC { return "a unique local (private network) address" }
        if b[0] == 0xFE && b[1] & 0xC0 == 0x80 { return "a link-local address" }
        if b[0] == 0xFF { return "a multicast address" }
        return nil
    }

    /// The IPv4 addresses that may be inside an IPv4-mapped, IPv4-compatible, NAT64 or 6to4
    /// address. The local-use NAT64 prefix 64:ff9b:1::/48 may be used at /48, /56, /64 or /96
    /// (RFC 6052 §2.2 places the IPv4 address differently for each, skipping byte 8): every
    /// placement is a candidate, and the address is refused if any candidate is.
    private static func embeddedV4(_ b: [UInt8]) -> [(UInt32, String)] {
        func v4(_ i: Int, _ j: Int, _ k: Int, _ l: Int) -> UInt32 {
            UInt32(b[i]) << 24 | UInt32(b[j]) << 16 | UInt32(b[k]) << 8 | UInt32(b[l])
        }
        if b.prefix(10).allSatisfy({ $0 == 0 }) && b[10] == 0xFF && b[11] == 0xFF { return [(v4(12, 13, 14, 15), "the IPv4-mapped form")] }
        if b.prefix(12).allSatisfy({ $0 == 0 }) { return [(v4(12, 13, 14, 15), "the IPv4-compatible form")] }
        if hasPrefix(b, [0x00, 0x64, 0xFF, 0x9B]) && b[4..<12].allSatisfy({ $0 == 0 }) { return [(v4(12, 13, 14, 15), "the NAT64 form")] }
        if hasPrefix(b, [0x00, 0x64, 0xFF, 0x9B, 0x00, 0x01]) {
            return [v4(6, 7, 9, 10), v4(7, 9, 10, 11), v4(9, 10, 11, 12), v4(12, 13, 14, 15)].map { ($0, "the NAT64 form") }
        }
        if hasPrefix(b, [0x20, 0x02]) { return [(v4(2, 3, 4, 5), "the 6to4 form")] }
        return []
    }
}
