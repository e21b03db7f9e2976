import Security

/// CSRF tokens as they travel in forms: `base64url(pad ‖ pad⊕secret)` with a fresh pad each
/// time, so the field differs on every page while the secret stays the same.
enum CSRFToken {
    static func mask(_ secret: [UInt8]) -> String {
        // A fresh pad for every page, from the pool: one RAND_bytes call per page was a tenth of a small page's time.
        let pad = SecureRandom.pooledBytes(secret.count)
        return Base64URL.encode(pad + zip(pad, secret).map { $0 ^ $1 })
    }

    static func verify(masked: String, secret: [UInt8]) -> Bool {
        guard let raw = Base64URL.decode(masked), raw.count == secret.count * 2 else { return false }
        let pad = raw[..<secret.count], body = raw[secret.count...]
        let unmasked = zip(pad, body).map { $0 ^ $1 }
        return Digest.constantTimeEquals(unmasked, secret)
    }
}
