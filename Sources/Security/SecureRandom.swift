import COpenSSL

/// Cryptographically secure random bytes, tokens and indices.
///
/// Everything here draws from OpenSSL's CSPRNG (`RAND_bytes`), which is seeded from the kernel
/// and reseeds itself; Swift's `SystemRandomNumberGenerator` would do too, but one source for all
/// secrets keeps the audit simple.
///
/// Failure policy: if `RAND_bytes` ever fails, the process traps with a clear message. A
/// secret-generating program that silently continues without randomness would hand out guessable
/// keys, tokens and nonces; there is no sensible recovery for a caller, so none is offered.
///
/// Indices are drawn by rejection sampling, so every symbol of an alphabet is exactly equally
/// likely (`random % n` would favour the first `2^64 mod n` values).
public enum SecureRandom {
    /// Returns `count` bytes from the CSPRNG. Traps if OpenSSL cannot produce them.
    public static func bytes(_ count: Int) -> [UInt8] {
        precondition(count >= 0, "SecureRandom.bytes: negative count")
        guard count > 0 else { return [] }
        var result = [UInt8](repeating: 0, count: count)
        result.withUnsafeMutableBufferPointer { fill($0) }
        return result
    }

    /// Fills `buffer` from the CSPRNG. Traps if OpenSSL cannot (see the failure policy above).
    static func fill(_ buffer: UnsafeMutableBufferPointer<UInt8>) {
        // RAND_bytes takes an Int32 length; ask in chunks so any Int count works.
        var offset = 0
        while offset < buffer.count {
            let chunk = min(buffer.count - offset, Int(Int32.max))
            guard RAND_bytes(buffer.baseAddress! + offset, Int32(chunk)) == 1 else {
                fatalError("SecureRandom: OpenSSL RAND_bytes failed (\(OpenSSLError.lastMessage())); refusing to continue without a CSPRNG")
            }
            offset += chunk
        }
    }

    /// A random token of `bytes` random bytes, encoded base64url without padding
    /// (43 characters for the default 32 bytes, i.e. 256 bits).
    public static func token(bytes count: Int = 32) -> String {
        Base64URL.encode(bytes(count))
    }

    /// A uniformly distributed integer in `0..<upperBound`, without modulo bias.
    ///
    /// Draws 64-bit values and rejects the top partial range (`2^64 mod upperBound` values),
    /// so each result is equally likely.
    public static func index(below upperBound: Int) -> Int {
        precondition(upperBound > 0, "SecureRandom.index: upperBound must be positive")
        let bound = UInt64(upperBound)
        // Values below `threshold` would make the low residues more likely; throw them away.
        // threshold = 2^64 mod bound, computed without overflow.
        let threshold = (0 &- bound) % bound
        while true {
            let value = uint64()
            if value >= threshold {
                return Int(value % bound)
            }
        }
    }

    /// A random element of `alphabet`, chosen uniformly.
    public static func element<C: RandomAccessCollection>(of alphabet: C) -> C.Element {
        precondition(!alphabet.isEmpty, "SecureRandom.element: empty alphabet")
        let offset = index(below: alphabet.count)
        return alphabet[alphabet.index(alphabet.startIndex, offsetBy: offset)]
    }

    /// A random string of `length` characters drawn uniformly from `alphabet`.
    public static func string(length: Int, alphabet: [Character]) -> String {
        precondition(length >= 0)
        precondition(!alphabet.isEmpty, "SecureRandom.string: empty alphabet")
        if alphabet.count <= 256, alphabet.allSatisfy(\.isASCII) {
            return string(length: length, ascii: alphabet.map { $0.asciiValue! })
        }
        var result = ""
        result.reserveCapacity(length)
        for _ in 0..<length { result.append(element(of: alphabet)) }
        return result
    }

    /// A random string of `length` bytes drawn uniformly from `alphabet`, at most 256 ASCII
    /// letters.
    ///
    /// The bytes come from one draw (and a refill only when rejections use it up): a byte at
    /// or above the largest multiple of the alphabet's size under 256 is thrown away, the
    /// others pick `byte % size`, so every letter stays exactly equally likely. One
    /// `RAND_bytes` call per string, not one per letter: the public id of every new row is
    /// one of these.
    public static func string(length: Int, ascii alphabet: [UInt8]) -> String {
        precondition(length >= 0)
        precondition(!alphabet.isEmpty && alphabet.count <= 256 && alphabet.allSatisfy { $0 < 0x80 },
                     "SecureRandom.string: the alphabet must be 1 to 256 ASCII letters")
        let size = alphabet.count
        let limit = 256 - 256 % size // bytes from `limit` up would favour the first letters
        return String(unsafeUninitializedCapacity: length) { buffer in
            var filled = 0
            while filled < length {
                let needed = length - filled
                // With rejections possible, ask for a little more than needed.
                for byte in bytes(limit == 256 ? needed : needed + needed / 2 + 4) where Int(byte) < limit && filled < length {
                    buffer[filled] = alphabet[Int(byte) % size]
                    filled += 1
                }
            }
            return length
        }
    }

    static func uint64() -> UInt64 {
        bytes(8).reduce(0) { ($0 << 8) | UInt64($1) }
    }
}

/// A `RandomNumberGenerator` backed by OpenSSL's CSPRNG, for APIs such as
/// `Array.shuffled(using:)` or `Int.random(in:using:)` (which are themselves unbiased).
public struct SecureRandomNumberGenerator: RandomNumberGenerator, Sendable {
    public init() {}
    public mutating func next() -> UInt64 { SecureRandom.uint64() }
}
