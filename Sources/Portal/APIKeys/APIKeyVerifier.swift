import HTTP
import Security
import Web

/// Recognises API keys in the `Authorization` header: `Bearer sk_…`, or HTTP Basic with the
/// key as the user name (`curl -u sk_…:`), as Stripe accepts.
///
/// Every way a key can be wrong (none in a Basic header, not a key at all, a bad checksum,
/// unknown, revoked, expired, past its roll's overlap) answers nil, so the pipeline gives the
/// one `invalid_credentials` 401 for all of them: a caller learns nothing about which keys
/// exist. The checksum is checked first and costs no lookup, so random guesses are turned
/// away without touching the database. A known key is found by the SHA-256 of the secret
/// (a unique index) and the hashes compared again in constant time. A usable key sent from an
/// address outside its allowlist is a 403 `ip_not_allowed`: that caller holds the secret.
struct APIKeyVerifier: APICredentialVerifier {
    /// The key whose secret hashes to the given SHA-256, if any (``APIKeys/key(sha256:)``).
    let lookup: @Sendable ([UInt8]) throws -> APIKeyRecord?
    let now: @Sendable () -> Int64

    init(keys: APIKeys) {
        self.init(lookup: { try keys.key(sha256: $0) }, now: { keys.clock.now() })
    }

    init(lookup: @escaping @Sendable ([UInt8]) throws -> APIKeyRecord?, now: @escaping @Sendable () -> Int64) {
        self.lookup = lookup
        self.now = now
    }

    func verify(scheme: String, token: String, request: Request) throws -> (any APICredential)? {
        try credential(scheme: scheme, token: token, remoteAddress: request.remoteAddress)
    }

    /// The credential for a header's `scheme` (lower-cased) and `token`, from `remoteAddress`.
    func credential(scheme: String, token: String, remoteAddress: String) throws -> APIKeyCredential? {
        guard let text = Self.secretText(scheme: scheme, token: token), let secret = APIKeySecret.parse(text) else { return nil }
        let hash = secret.sha256
        guard let key = try lookup(hash),
              // The index found it by equality; compare again without an early exit anyway,
              // so no later change to the lookup can make the time depend on the secret.
              Digest.constantTimeEquals(key.secretSHA256, hash),
              key.environment == secret.environment, key.isUsable(now: now()) else { return nil }
        guard key.allows(remoteAddress) else {
            throw HTTPError(.forbidden, "This API key may only be used from the addresses in its IP allowlist, and \(remoteAddress) is not one of them.",
                            code: "ip_not_allowed")
        }
        return APIKeyCredential(key)
    }

    /// The key's text in a Bearer token or a Basic user name; nil for anything else.
    static func secretText(scheme: String, token: String) -> String? {
        switch scheme {
        case "bearer":
            return token
        case "basic":
            // base64("sk_…:"), the password ignored (Stripe's convention: none is sent).
            guard let decoded = Base64.decode(token), let colon = decoded.firstIndex(of: UInt8(ascii: ":")) else { return nil }
            return String(decoding: decoded[..<colon], as: UTF8.self)
        default:
            return nil
        }
    }
}
