/// Time-based one-time passwords (RFC 6238) built on HOTP (RFC 4226), as used by
/// authenticator apps for two-factor login.
///
/// Defaults are what every app understands: HMAC-SHA1, 6 digits, 30-second steps. SHA-256,
/// SHA-512 and 8 digits can be passed explicitly (the RFC test vectors use them); the portal
/// itself uses the defaults.
///
/// Verification rules, and why:
/// - A code is accepted for the current step and `window` steps either side (default ±1,
///   i.e. about ±30 s of clock drift); anything further is rejected.
/// - The matched step must be strictly greater than the last step accepted for this user
///   (`lastAcceptedStep`), so a code seen over someone's shoulder or replayed from a log cannot
///   be used again, nor can an older one. The caller stores the returned step.
/// - Codes are compared in constant time and every candidate step is computed and compared,
///   so timing reveals neither which step matched nor how many digits were right.
/// - The input must be exactly `digits` ASCII digits. Spaces, dashes and other formatting are
///   for the caller to strip (the web layer does it); nothing is guessed here.
public enum TOTP {
    public typealias Algorithm = Digest.Algorithm

    /// The default time step, in seconds.
    public static let defaultPeriod: Int64 = 30
    /// The default number of digits.
    public static let defaultDigits = 6

    /// Length of generated secrets: 20 bytes (160 bits), RFC 4226's recommendation for SHA-1.
    public static let secretLength = 20

    /// A new random secret of `secretLength` bytes from the CSPRNG.
    public static func generateSecret() -> [UInt8] {
        SecureRandom.bytes(secretLength)
    }

    /// The time step containing Unix time `time` (seconds): `floor(time / period)`.
    public static func step(at time: Int64, period: Int64 = defaultPeriod) -> Int64 {
        precondition(period >= 1, "TOTP: period must be positive")
        let q = time / period
        return (time % period < 0) ? q - 1 : q
    }

    /// The code for Unix time `time` (seconds). Times before 1970 use step 0.
    public static func code(secret: [UInt8], at time: Int64, algorithm: Algorithm = .sha1,
                            digits: Int = defaultDigits, period: Int64 = defaultPeriod) -> String {
        hotp(secret: secret, counter: UInt64(max(0, step(at: time, period: period))), algorithm: algorithm, digits: digits)
    }

    /// HOTP (RFC 4226 §5.3): dynamic truncation of HMAC(secret, counter) to `digits` digits.
    ///
    /// - Precondition: `digits` in 6...8 (RFC 4226).
    public static func hotp(secret: [UInt8], counter: UInt64, algorithm: Algorithm = .sha1, digits: Int = defaultDigits) -> String {
        precondition((6...8).contains(digits), "TOTP: digits must be 6...8")
        var message = [UInt8](repeating: 0, count: 8)
        for i in 0..<8 { message[i] = UInt8(truncatingIfNeeded: counter >> UInt64(56 - 8 * i)) }
        let mac = Digest.hmac(algorithm, key: secret, message: message)
        let offset = Int(mac[mac.count - 1] & 0x0F)
        let binary = (UInt32(mac[offset] & 0x7F) << 24)
            | (UInt32(mac[offset + 1]) << 16)
            | (UInt32(mac[offset + 2]) << 8)
            | UInt32(mac[offset + 3])
        var modulus: UInt64 = 1
        for _ in 0..<digits { modulus *= 10 }
        let value = UInt64(binary) % modulus
        let text = String(value)
        return String(repeating: "0", count: max(0, digits - text.count)) + text
    }

    /// What ``check(code:secret:at:window:lastAcceptedStep:algorithm:digits:period:)`` found.
    public enum Outcome: Equatable, Sendable {
        /// The code matched this step, newer than the last accepted one.
        case accepted(step: Int64)
        /// The code is right for a step at or before the last accepted one: it was already
        /// used (a replay, or the same code typed twice). The person should wait for the next.
        case alreadyUsed
        /// The code matches no step in the window (or is not `digits` ASCII digits).
        case wrong
    }

    /// Checks `code` against the steps `current - window ... current + window` and returns
    /// the step it matched, or `nil`.
    ///
    /// A match counts only if its step is strictly greater than `lastAcceptedStep` (replay
    /// protection; pass `nil` if no code was ever accepted). If several steps match, the
    /// earliest acceptable one is returned. `code` must be exactly `digits` ASCII digits.
    ///
    /// - Precondition: `window` in 0...10.
    public static func verify(code: String, secret: [UInt8], at time: Int64, window: Int = 1, lastAcceptedStep: Int64?,
                              algorithm: Algorithm = .sha1, digits: Int = defaultDigits,
                              period: Int64 = defaultPeriod) -> Int64? {
        if case .accepted(let step) = check(code: code, secret: secret, at: time, window: window, lastAcceptedStep: lastAcceptedStep,
                                            algorithm: algorithm, digits: digits, period: period) {
            return step
        }
        return nil
    }

    /// As ``verify(code:secret:at:window:lastAcceptedStep:algorithm:digits:period:)``, but
    /// tells a code that was right and already used from a wrong one, so the person can be
    /// told to wait for the next code instead of "wrong code".
    ///
    /// - Precondition: `window` in 0...10.
    public static func check(code: String, secret: [UInt8], at time: Int64, window: Int = 1, lastAcceptedStep: Int64?,
                             algorithm: Algorithm = .sha1, digits: Int = defaultDigits,
                             period: Int64 = defaultPeriod) -> Outcome {
        precondition((0...10).contains(window), "TOTP: window must be 0...10")
        let given = Array(code.utf8)
        guard given.count == digits,
              given.allSatisfy({ $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") }) else {
            return .wrong
        }
        let current = step(at: time, period: period)
        var matched: Int64?
        var used = false
        for candidate in (current - Int64(window))...(current + Int64(window)) {
            guard candidate >= 0 else { continue }
            // Compare every candidate, match or not, so timing does not depend on which matched.
            let expected = hotp(secret: secret, counter: UInt64(candidate), algorithm: algorithm, digits: digits)
            let equal = Digest.constantTimeEquals(Array(expected.utf8), given)
            let fresh = lastAcceptedStep.map { candidate > $0 } ?? true
            if equal && fresh && matched == nil {
                matched = candidate
            } else if equal && !fresh {
                used = true
            }
        }
        if let matched { return .accepted(step: matched) }
        return used ? .alreadyUsed : .wrong
    }

    /// The `otpauth://` URL an authenticator app reads from a QR code:
    /// `otpauth://totp/<issuer>:<account>?secret=<BASE32>&issuer=<issuer>&algorithm=…&digits=…&period=…`.
    ///
    /// Issuer and account are percent-encoded (everything but RFC 3986 unreserved characters,
    /// so a `:` inside either becomes `%3A`); the colon separating them stays literal, as the
    /// Key URI format requires.
    public static func otpauthURL(secret: [UInt8], account: String, issuer: String, algorithm: Algorithm = .sha1,
                                  digits: Int = defaultDigits, period: Int64 = defaultPeriod) -> String {
        let issuerEncoded = percentEncode(issuer)
        return "otpauth://totp/\(issuerEncoded):\(percentEncode(account))"
            + "?secret=\(Base32.encode(secret))&issuer=\(issuerEncoded)"
            + "&algorithm=\(algorithm.rawValue)&digits=\(digits)&period=\(period)"
    }

    /// `base32` (spaces and padding removed) in groups of four separated by spaces, for
    /// typing into an app by hand: `JBSW Y3DP EHPK 3PXP`.
    public static func groupedSecret(_ base32: String) -> String {
        let chars = base32.filter { $0 != " " && $0 != "=" }
        var groups: [Substring] = []
        var index = chars.startIndex
        while index < chars.endIndex {
            let end = chars.index(index, offsetBy: 4, limitedBy: chars.endIndex) ?? chars.endIndex
            groups.append(chars[index..<end])
            index = end
        }
        return groups.joined(separator: " ")
    }

    /// Percent-encodes the UTF-8 bytes of `string`, keeping only RFC 3986 unreserved characters.
    static func percentEncode(_ string: String) -> String {
        let hex = Array("0123456789ABCDEF".utf8)
        var out = [UInt8]()
        for byte in string.utf8 {
            switch byte {
            case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"),
                 UInt8(ascii: "0")...UInt8(ascii: "9"),
                 UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "_"), UInt8(ascii: "~"):
                out.append(byte)
            default:
                out.append(UInt8(ascii: "%"))
                out.append(hex[Int(byte >> 4)])
                out.append(hex[Int(byte & 0x0F)])
            }
        }
        return String(decoding: out, as: UTF8.self)
    }
}
