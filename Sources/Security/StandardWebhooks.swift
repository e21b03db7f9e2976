/// Webhook signatures as the Standard Webhooks specification defines them
/// (https://www.standardwebhooks.com, `webhook-id`, `webhook-timestamp`, `webhook-signature`).
///
/// The signed content is `"{id}.{timestamp}.{body}"`, signed with HMAC-SHA256 under the
/// secret's key; the header holds `v1,<base64 signature>` entries separated by spaces, one per
/// secret (two while a secret is being rotated). A secret is written `whsec_<base64 key>`.
public enum StandardWebhooks {
    /// Key sizes the specification allows (24 to 64 bytes).
    static let keySizes = 24...64

    /// "whsec_" + base64(32 random bytes)
    public static func makeSecret() -> String {
        "whsec_" + Base64.encode(SecureRandom.bytes(32))
    }

    /// The key inside a `whsec_…` secret; nil if the secret is malformed.
    static func key(_ secret: String) -> [UInt8]? {
        guard secret.hasPrefix("whsec_"), let key = Base64.decode(String(secret.dropFirst(6))),
              keySizes.contains(key.count) else { return nil }
        return key
    }

    /// "v1,<base64 HMAC-SHA256(key, "{id}.{timestamp}.{body}")>"; key = base64-decoded part after
    /// "whsec_" (nil if the secret is malformed).
    public static func signature(secret: String, id: String, timestamp: Int64, body: [UInt8]) -> String? {
        guard let key = key(secret) else { return nil }
        return "v1," + Base64.encode(mac(key: key, id: id, timestamp: String(timestamp), body: body))
    }

    private static func mac(key: [UInt8], id: String, timestamp: String, body: [UInt8]) -> [UInt8] {
        Digest.hmacSHA256(key: key, message: Array("\(id).\(timestamp).".utf8) + body)
    }

    /// Space-separated signatures, one per secret.
    /// (A malformed secret contributes no entry.)
    public static func header(secrets: [String], id: String, timestamp: Int64, body: [UInt8]) -> String {
        secrets.compactMap { signature(secret: $0, id: id, timestamp: timestamp, body: body) }.joined(separator: " ")
    }

    public enum Verdict: Equatable, Sendable {
        case valid
        /// `missingHeaders`: the id, timestamp or signature header is empty, or the timestamp is
        /// not a whole number of seconds.
        case malformedSecret, missingHeaders, malformedSignatureHeader
        case timestampTooOld(seconds: Int64), timestampInFuture(seconds: Int64) // outside ±5 min
        case noMatch   // the secret or the body differs
    }

    /// Verifies like the reference libraries: constant-time compare against every v1 entry.
    ///
    /// Entries of other versions (`v1a,…`) are skipped; a header with no `version,signature`
    /// entry at all is ``Verdict/malformedSignatureHeader``.
    public static func verify(secret: String, id: String, timestamp: String, signatureHeader: String,
                              body: [UInt8], now: Int64, tolerance: Int64 = 300) -> Verdict {
        guard let key = key(secret) else { return .malformedSecret }
        guard !id.isEmpty, !timestamp.isEmpty, !signatureHeader.isEmpty else { return .missingHeaders }
        guard timestamp.utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }), let seconds = Int64(timestamp) else { return .missingHeaders }
        if now - seconds > tolerance { return .timestampTooOld(seconds: now - seconds) }
        if seconds - now > tolerance { return .timestampInFuture(seconds: seconds - now) }
        let entries = signatureHeader.split(separator: " ").compactMap { entry -> (Substring, Substring)? in
            guard let comma = entry.firstIndex(of: ",") else { return nil }
            return (entry[..<comma], entry[entry.index(after: comma)...])
        }
        guard !entries.isEmpty else { return .malformedSignatureHeader }
        let expected = Array(Base64.encode(mac(key: key, id: id, timestamp: timestamp, body: body)).utf8)
        var matched = false
        for (version, signature) in entries where version == "v1" {
            // Every entry is compared (no early exit), each in constant time.
            if Digest.constantTimeEquals(expected, Array(signature.utf8)) { matched = true }
        }
        return matched ? .valid : .noMatch
    }
}
