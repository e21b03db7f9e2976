import COpenSSL

/// One-shot hashes, HMACs and constant-time comparison, from OpenSSL.
///
/// - SHA-256 fingerprints high-entropy secrets (API keys, recovery codes, tokens): for values
///   that are already unguessable a fast hash is enough, and it lets the database store no
///   secret at all.
/// - HMAC-SHA1 / -SHA256 / -SHA512 serve TOTP (RFC 6238 uses all three) and webhook signatures.
/// - `constantTimeEquals` compares secrets without revealing, through timing, how many leading
///   bytes matched. Lengths are compared first: a length is not secret for our fixed-size digests
///   and codes, and `CRYPTO_memcmp` needs equal lengths.
public enum Digest {
    /// The hash functions offered here.
    public enum Algorithm: String, Sendable, CaseIterable {
        case sha1 = "SHA1"
        case sha256 = "SHA256"
        case sha512 = "SHA512"

        /// The digest length in bytes.
        public var outputLength: Int {
            switch self {
            case .sha1: 20
            case .sha256: 32
            case .sha512: 64
            }
        }

        /// The digest, fetched from OpenSSL's provider once for the process. The legacy
        /// `EVP_sha256()` objects are fetched again inside every digest (OpenSSL 3's implicit
        /// fetch, which its own documentation calls slow): a session cookie's SHA-256 cost
        /// 7,000 instructions, most of them looking the algorithm up.
        var evp: OpaquePointer {
            switch self {
            case .sha1: Self.sha1MD
            case .sha256: Self.sha256MD
            case .sha512: Self.sha512MD
            }
        }

        // EVP_MD objects are immutable once fetched and may be shared between threads; these
        // are never freed.
        nonisolated(unsafe) private static let sha1MD = fetch("SHA1")
        nonisolated(unsafe) private static let sha256MD = fetch("SHA256")
        nonisolated(unsafe) private static let sha512MD = fetch("SHA512")

        private static func fetch(_ name: String) -> OpaquePointer {
            guard let md = EVP_MD_fetch(nil, name, nil) else { fatalError("OpenSSL has no \(name) digest: \(OpenSSLError.lastMessage())") }
            return md
        }
    }

    /// SHA-256 of `bytes` (32 bytes).
    public static func sha256(_ bytes: [UInt8]) -> [UInt8] {
        hash(.sha256, bytes)
    }

    /// SHA-256 of the UTF-8 bytes of `string` (32 bytes).
    public static func sha256(_ string: String) -> [UInt8] {
        hash(.sha256, Array(string.utf8))
    }

    /// SHA-256 of `bytes` as 64 lower-case hex digits.
    public static func sha256Hex(_ bytes: [UInt8]) -> String {
        Hex.encode(sha256(bytes))
    }

    /// SHA-256 of the UTF-8 bytes of `string` as 64 lower-case hex digits.
    public static func sha256Hex(_ string: String) -> String {
        Hex.encode(sha256(string))
    }

    /// The digest of `bytes` under `algorithm`.
    public static func hash(_ algorithm: Algorithm, _ bytes: [UInt8]) -> [UInt8] {
        var ok: Int32 = 0
        // The digest is written where it stays (one array, not a 64-byte one and its prefix).
        let output = [UInt8](unsafeUninitializedCapacity: Int(EVP_MAX_MD_SIZE)) { out, count in
            var length: UInt32 = 0
            ok = bytes.withNonEmptyPointer { data, n in EVP_Digest(data, n, out.baseAddress, &length, algorithm.evp, nil) }
            count = ok == 1 ? Int(length) : 0
        }
        guard ok == 1, output.count == algorithm.outputLength else {
            fatalError("Digest: EVP_Digest(\(algorithm.rawValue)) failed: \(OpenSSLError.lastMessage())")
        }
        return output
    }

    /// HMAC-SHA1 of `message` under `key` (20 bytes). For TOTP/HOTP only; not for new designs.
    public static func hmacSHA1(key: [UInt8], message: [UInt8]) -> [UInt8] {
        hmac(.sha1, key: key, message: message)
    }

    /// HMAC-SHA256 of `message` under `key` (32 bytes).
    public static func hmacSHA256(key: [UInt8], message: [UInt8]) -> [UInt8] {
        hmac(.sha256, key: key, message: message)
    }

    /// HMAC-SHA512 of `message` under `key` (64 bytes).
    public static func hmacSHA512(key: [UInt8], message: [UInt8]) -> [UInt8] {
        hmac(.sha512, key: key, message: message)
    }

    /// HMAC of `message` under `key` with `algorithm`.
    public static func hmac(_ algorithm: Algorithm, key: [UInt8], message: [UInt8]) -> [UInt8] {
        precondition(key.count <= Int(Int32.max), "HMAC key too long")
        var output = [UInt8](repeating: 0, count: Int(EVP_MAX_MD_SIZE))
        var length: UInt32 = 0
        let result = key.withNonEmptyPointer { keyPointer, keyCount in
            message.withNonEmptyPointer { messagePointer, messageCount in
                HMAC(algorithm.evp, keyPointer, Int32(keyCount),
                     messagePointer.assumingMemoryBound(to: UInt8.self), messageCount,
                     &output, &length)
            }
        }
        guard result != nil, Int(length) == algorithm.outputLength else {
            fatalError("Digest: HMAC(\(algorithm.rawValue)) failed: \(OpenSSLError.lastMessage())")
        }
        return Array(output.prefix(Int(length)))
    }

    /// Whether `a` and `b` are equal, in time that depends only on their lengths.
    ///
    /// Unequal lengths return `false` at once; equal lengths are compared with
    /// `CRYPTO_memcmp`, which reads every byte whatever the differences.
    public static func constantTimeEquals(_ a: [UInt8], _ b: [UInt8]) -> Bool {
        guard a.count == b.count else { return false }
        guard !a.isEmpty else { return true }
        return a.withUnsafeBytes { pa in
            b.withUnsafeBytes { pb in
                CRYPTO_memcmp(pa.baseAddress!, pb.baseAddress!, a.count) == 0
            }
        }
    }

    /// `constantTimeEquals` on the UTF-8 bytes of two strings.
    public static func constantTimeEquals(_ a: String, _ b: String) -> Bool {
        constantTimeEquals(Array(a.utf8), Array(b.utf8))
    }
}

extension Array where Element == UInt8 {
    /// Calls `body` with a pointer that is never null (a one-byte dummy for an empty array:
    /// some OpenSSL functions treat a null pointer specially even with a zero length).
    func withNonEmptyPointer<R>(_ body: (UnsafeRawPointer, Int) throws -> R) rethrows -> R {
        if isEmpty {
            let dummy: [UInt8] = [0]
            return try dummy.withUnsafeBytes { try body($0.baseAddress!, 0) }
        }
        return try withUnsafeBytes { try body($0.baseAddress!, count) }
    }
}
