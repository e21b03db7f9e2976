import Security

/// Random ids for URLs: a short type prefix and 80 random bits in lower-case base32,
/// e.g. `org_k3v9q2m7x4c1b8n5`.
enum PublicID {
    private static let alphabet = Array("abcdefghijkmnpqrstuvwxyz23456789".utf8)
    /// Which bytes are letters of the alphabet (for ``isWellFormed``, without building Characters).
    private static let inAlphabet: [Bool] = {
        var table = [Bool](repeating: false, count: 256)
        for c in alphabet { table[Int(c)] = true }
        return table
    }()

    static func make(_ prefix: String) -> String {
        prefix + "_" + SecureRandom.string(length: 16, ascii: alphabet)
    }

    /// The same letters in ASCII order: digits of a time that sorts as text.
    private static let sortedAlphabet = alphabet.sorted()
    /// Letters after the prefix and `_` of a ``makeOrdered(_:micros:)`` id.
    static let orderedLength = 27

    /// An id that sorts by creation time, for rows inserted at a high rate: the prefix, `_`,
    /// 11 letters of microseconds since 1970 (big-endian base32 in ASCII order: good until the
    /// year 3084) and 16 random letters (80 bits). Inserts then land at the right edge of
    /// the id's index instead of on a random page of it. Tells anyone who sees it when the
    /// row was made, so only for rows whose time is no secret (access tokens).
    static func makeOrdered(_ prefix: String, micros: UInt64) -> String {
        var time = [UInt8](repeating: 0, count: 11)
        var n = micros
        for i in (0..<11).reversed() {
            time[i] = sortedAlphabet[Int(n & 31)]
            n >>= 5
        }
        return prefix + "_" + String(decoding: time, as: UTF8.self) + SecureRandom.string(length: 16, ascii: alphabet)
    }

    /// Whether `s` could be an id with this prefix (cheap check before a lookup).
    static func isWellFormed(_ s: String, prefix: String) -> Bool {
        let utf8 = s.utf8, p = prefix.utf8
        guard utf8.count == p.count + 17, utf8.starts(with: p), utf8[utf8.index(utf8.startIndex, offsetBy: p.count)] == UInt8(ascii: "_") else {
            return false
        }
        return utf8.dropFirst(p.count + 1).allSatisfy { inAlphabet[Int($0)] }
    }
}
