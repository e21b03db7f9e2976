import Foundation

/// A block of addresses in an API key's allowlist: `203.0.113.0/24`, `2001:db8::/32`, or one
/// address (`/32`, `/128` implied). IPv4 lives in IPv6's IPv4-mapped range (`::ffff:0:0/96`),
/// so one comparison serves both families, and a client that reaches a dual-stack socket as
/// `::ffff:203.0.113.7` matches `203.0.113.0/24`, as it should.
struct CIDR: Sendable, Hashable, CustomStringConvertible {
    /// The network in 16 bytes (IPv4 as `::ffff:a.b.c.d`).
    let network: [UInt8]
    /// Prefix length in the 128-bit space (an IPv4 `/24` is 120).
    let bits: Int
    let isIPv4: Bool

    /// The normalized text: `203.0.113.0/24`, `2001:db8::/32`.
    var description: String {
        if isIPv4 { return network[12...].map { String($0) }.joined(separator: ".") + "/\(bits - 96)" }
        var addr = in6_addr()
        withUnsafeMutableBytes(of: &addr) { $0.copyBytes(from: network) }
        var buf = [CChar](repeating: 0, count: Int(INET6_ADDRSTRLEN))
        inet_ntop(AF_INET6, &addr, &buf, socklen_t(buf.count))
        let text = buf.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }
        return String(decoding: text, as: UTF8.self) + "/\(bits)"
    }

    /// Why a piece of an allowlist is not a block, in words for the form.
    struct Problem: Error, Equatable {
        let message: String
    }

    /// Parses one block; throws ``Problem`` naming what is wrong (host bits set, a prefix too
    /// long, not an address).
    init(parsing raw: String) throws(Problem) {
        let text = raw.trimmingCharacters(in: .whitespaces)
        let parts = text.split(separator: "/", maxSplits: 1, omittingEmptySubsequences: false)
        let address = String(parts[0])
        // Written as IPv4 or not decides the prefix's range; `::ffff:10.0.0.0/104` is IPv6 text.
        let v4 = !address.contains(":")
        guard let (bytes, _) = Self.address(address) else {
            throw Problem(message: "“\(text)” is not an IPv4 or IPv6 address or block, like 203.0.113.0/24 or 2001:db8::/32.")
        }
        let maximum = v4 ? 32 : 128
        var length = maximum
        if parts.count == 2 {
            guard let n = Int(parts[1]), parts[1].allSatisfy(\.isASCII), parts[1].allSatisfy(\.isNumber), n >= 0, n <= maximum else {
                throw Problem(message: "“\(text)”: the number after / must be from 0 to \(maximum).")
            }
            length = n
        }
        let bits = v4 ? length + 96 : length
        let masked = Self.mask(bytes, bits: bits)
        if masked != bytes {
            let suggestion = CIDR(network: masked, bits: bits, isIPv4: v4)
            throw Problem(message: "“\(text)” has bits set after its first \(length); did you mean \(suggestion)?")
        }
        self.init(network: masked, bits: bits, isIPv4: v4)
    }

    private init(network: [UInt8], bits: Int, isIPv4: Bool) {
        self.network = network
        self.bits = bits
        self.isIPv4 = isIPv4
    }

    /// Whether `address` (as the server reports a peer: `203.0.113.7`, `::1`,
    /// `::ffff:203.0.113.7`) is inside the block. Anything unparsable is outside.
    func contains(_ address: String) -> Bool {
        guard let (bytes, _) = Self.address(address) else { return false }
        return Self.mask(bytes, bits: bits) == network
    }

    /// An address in 16 bytes and whether it is IPv4 (written as one, or IPv4-mapped IPv6).
    static func address(_ text: String) -> ([UInt8], Bool)? {
        guard !text.isEmpty, text.utf8.count <= 64 else { return nil }
        if text.contains(":") {
            var a6 = in6_addr()
            guard inet_pton(AF_INET6, text, &a6) == 1 else { return nil }
            let bytes = withUnsafeBytes(of: &a6) { Array($0) }
            return (bytes, bytes[0..<10].allSatisfy { $0 == 0 } && bytes[10] == 0xFF && bytes[11] == 0xFF)
        }
        var a4 = in_addr()
        // inet_pton's IPv4 is strict dotted-quad (no `1.2.3`, no octal), what people mean.
        guard inet_pton(AF_INET, text, &a4) == 1 else { return nil }
        return ([UInt8](repeating: 0, count: 10) + [0xFF, 0xFF] + withUnsafeBytes(of: &a4) { Array($0) }, true)
    }

    static func mask(_ bytes: [UInt8], bits: Int) -> [UInt8] {
        bytes.enumerated().map { i, b in
            let keep = min(8, max(0, bits - i * 8))
            return keep == 8 ? b : b & UInt8(truncatingIfNeeded: 0xFF << (8 - keep))
        }
    }

    /// An allowlist as typed: blocks separated by commas, spaces or new lines (`\r\n` is one
    /// Character, so whitespace is asked, not listed). Empty: nil
    /// (any address). Duplicates are dropped; each problem is named, the first few at most.
    static func parseList(_ raw: String) throws(Problem) -> [CIDR]? {
        let pieces = raw.split(whereSeparator: { $0 == "," || $0.isWhitespace }).map(String.init)
        if pieces.isEmpty { return nil }
        if pieces.count > maximumBlocks { throw Problem(message: "Enter at most \(maximumBlocks) addresses or blocks.") }
        var out: [CIDR] = []
        var problems: [String] = []
        for piece in pieces {
            do {
                let c = try CIDR(parsing: piece)
                if !out.contains(c) { out.append(c) }
            } catch {
                problems.append(error.message)
            }
        }
        if !problems.isEmpty { throw Problem(message: problems.prefix(3).joined(separator: " ")) }
        return out
    }

    static let maximumBlocks = 50
}
