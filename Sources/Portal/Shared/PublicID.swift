import Security

/// Random ids for URLs: a short type prefix and 80 random bits in lower-case base32,
/// e.g. `org_k3v9q2m7x4c1b8n5`.
enum PublicID {
    private static let alphabet = Array("abcdefghijkmnpqrstuvwxyz23456789")

    static func make(_ prefix: String) -> String {
        prefix + "_" + SecureRandom.string(length: 16, alphabet: alphabet)
    }

    /// Whether `s` could be an id with this prefix (cheap check before a lookup).
    static func isWellFormed(_ s: String, prefix: String) -> Bool {
        let p = prefix + "_"
        guard s.hasPrefix(p), s.utf8.count == p.utf8.count + 16 else { return false }
        return s.dropFirst(p.count).allSatisfy { alphabet.contains($0) }
    }
}
