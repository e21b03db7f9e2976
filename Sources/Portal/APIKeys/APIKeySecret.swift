import Security

/// An API key's secret: `sk_sandbox_…` or `sk_live_…`, then 32 random bytes in base62 (43
/// characters), then a 6-character base62 CRC-32 of everything before it, as GitHub's tokens
/// have. The prefix says the environment and lets secret scanners find leaked keys; the
/// checksum lets them (and ``APIKeyVerifier``) tell a mistyped or made-up key from a real one
/// without a lookup. Pure: it makes and parses, and stores nothing.
struct APIKeySecret: Sendable, Equatable {
    static let randomBytes = 32
    static let bodyLength = Base62.width(forBytes: randomBytes)   // 43
    static let checksumLength = 6

    let environment: Environment
    /// The whole secret, as the integrator sends it.
    let text: String

    static func prefix(_ environment: Environment) -> String {
        environment == .sandbox ? "sk_sandbox_" : "sk_live_"
    }

    /// A new secret from the system's random source.
    static func make(_ environment: Environment) -> APIKeySecret {
        make(environment, random: SecureRandom.bytes(randomBytes))
    }

    /// The secret of `random` (exactly ``randomBytes`` bytes): tests pin it, nothing else should.
    static func make(_ environment: Environment, random: [UInt8]) -> APIKeySecret {
        precondition(random.count == randomBytes, "an API key needs \(randomBytes) random bytes")
        let head = prefix(environment) + Base62.encode(random, width: bodyLength)
        return APIKeySecret(environment: environment, text: head + Base62.encode(CRC32.checksum(head.utf8), width: checksumLength))
    }

    /// The secret in `text` if it has a known prefix, the right length, only base62 after the
    /// prefix, and its checksum matches; nil otherwise. No lookup: a typo costs nothing. Reads
    /// the string's own bytes and allocates nothing until it accepts, so the random keys of a
    /// flood are turned away for the price of one pass over ~60 bytes.
    static func parse(_ text: String) -> APIKeySecret? {
        var text = text
        let environment = text.withUTF8 { bytes -> Environment? in
            for (environment, p) in prefixBytes {
                guard bytes.count == p.count + bodyLength + checksumLength, bytes.starts(with: p) else { continue }
                let split = bytes.count - checksumLength
                var i = p.count
                while i < bytes.count {
                    guard Base62.isDigit(bytes[i]) else { return nil }
                    i += 1
                }
                // Fixed-width base62 is one-to-one below 62⁶, so reading the 6 characters as a
                // number and comparing it with the CRC is the same as comparing the encodings.
                var sent: UInt64 = 0
                for b in bytes[split...] { sent = sent * 62 + UInt64(Base62.value(b)) }
                return sent == UInt64(CRC32.checksum(UnsafeBufferPointer(rebasing: bytes[..<split]))) ? environment : nil
            }
            return nil
        }
        return environment.map { APIKeySecret(environment: $0, text: text) }
    }

    private static let prefixBytes: [(Environment, [UInt8])] = Environment.allCases.map { ($0, Array(prefix($0).utf8)) }

    /// What the database keeps and looks up: the SHA-256 of the whole secret.
    var sha256: [UInt8] { Digest.sha256(text) }

    /// The prefix and the first 4 characters after it, shown with ``last4`` to tell keys apart.
    var displayPrefix: String { String(text.prefix(Self.prefix(environment).count + 4)) }
    var last4: String { String(text.suffix(4)) }
}
