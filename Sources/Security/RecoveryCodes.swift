/// One-time recovery codes, the way back into an account when the authenticator is lost.
///
/// Alphabet: the digits 2–9 and the letters A–Z except I and O — 32 symbols. Both members of
/// each classic look-alike pair are left out (0/O, 1/I), so every symbol that remains reads
/// unambiguously (L has no partner left once 1 and I are gone). Because no look-alike is in the
/// alphabet, `normalize` maps nothing: a code typed with 0, O, 1 or I is rejected rather than
/// guessed at.
///
/// A code is 10 symbols shown as `XXXXX-XXXXX`: 10 · log2(32) = 50 bits, drawn uniformly from
/// the CSPRNG.
///
/// Storage: `hash` is plain SHA-256 (hex) of the normalised code. A slow, salted hash exists
/// to protect *low-entropy*, human-chosen passwords from guessing; a uniformly random 50-bit
/// code has no dictionary to try, online guessing is rate-limited by the login flow (and the
/// password must be known first), and an offline attacker who stole the table would still need
/// on the order of 2^49 hashes per code while already holding everything else in the database.
/// A plain digest also lets the caller find a code with one indexed lookup.
/// Each code must be deleted (or marked used) when it is accepted.
public enum RecoveryCodes {
    /// The 32-symbol alphabet described above.
    public static let alphabet: [Character] = Array("23456789ABCDEFGHJKLMNPQRSTUVWXYZ")
    /// Symbols per code (without the dash).
    public static let length = 10
    /// Codes per set.
    public static let count = 10

    private static let allowed: Set<UInt8> = Set(alphabet.map { $0.asciiValue! })

    /// `count` distinct new codes, each formatted `XXXXX-XXXXX`.
    public static func generate(count: Int = RecoveryCodes.count) -> [String] {
        var seen = Set<String>()
        var codes: [String] = []
        while codes.count < count {
            let raw = SecureRandom.string(length: length, alphabet: alphabet)
            if seen.insert(raw).inserted {
                codes.append(format(raw))
            }
        }
        return codes
    }

    /// A normalised code (10 symbols) formatted for display as `XXXXX-XXXXX`.
    public static func format(_ normalized: String) -> String {
        let half = normalized.index(normalized.startIndex, offsetBy: length / 2, limitedBy: normalized.endIndex) ?? normalized.endIndex
        return "\(normalized[..<half])-\(normalized[half...])"
    }

    /// The code a person typed, upper-cased with spaces and dashes removed, or `nil` if the
    /// result is not exactly 10 symbols of the alphabet.
    public static func normalize(_ input: String) -> String? {
        guard input.utf8.count <= 64 else { return nil }
        var symbols: [UInt8] = []
        for byte in input.utf8 {
            switch byte {
            case UInt8(ascii: " "), UInt8(ascii: "-"), UInt8(ascii: "\t"):
                continue
            case UInt8(ascii: "a")...UInt8(ascii: "z"):
                symbols.append(byte - 32)
            default:
                symbols.append(byte)
            }
        }
        guard symbols.count == length, symbols.allSatisfy(allowed.contains) else { return nil }
        return String(decoding: symbols, as: UTF8.self)
    }

    /// SHA-256 hex of a normalised code, for storage and lookup (see the type's notes).
    public static func hash(_ normalized: String) -> String {
        Digest.sha256Hex(normalized)
    }
}
