/// Proof Key for Code Exchange (RFC 7636), S256 only: OAuth 2.1 drops `plain`.
///
/// The client keeps a random `code_verifier` (43–128 characters of `[A-Za-z0-9-._~]`) and sends
/// `code_challenge = base64url(SHA-256(ASCII(code_verifier)))` with the authorization request;
/// the token request must then present the verifier. The comparison runs in constant time.
public enum PKCE {
    /// The shortest and longest verifiers RFC 7636 §4.1 allows.
    public static let verifierLengths = 43...128
    /// A S256 challenge is the base64url of 32 bytes without padding: 43 characters.
    public static let challengeLength = 43

    /// Whether `verifier` has the syntax of RFC 7636 §4.1: 43 to 128 unreserved characters.
    public static func isValidVerifier(_ verifier: String) -> Bool {
        let bytes = verifier.utf8
        guard verifierLengths.contains(bytes.count) else { return false }
        return bytes.allSatisfy(isUnreserved)
    }

    /// Whether `challenge` can be a S256 challenge: 43 base64url characters that decode to 32 bytes.
    public static func isValidChallenge(_ challenge: String) -> Bool {
        challenge.utf8.count == challengeLength && Base64URL.decode(challenge)?.count == 32
    }

    /// The S256 challenge for `verifier`.
    public static func challengeS256(verifier: String) -> String {
        Base64URL.encode(Digest.sha256(Array(verifier.utf8)))
    }

    /// Whether `verifier` is well formed and hashes to `challenge` (compared in constant time).
    public static func verify(verifier: String, challenge: String) -> Bool {
        guard isValidVerifier(verifier) else { return false }
        return Digest.constantTimeEquals(challengeS256(verifier: verifier), challenge)
    }

    private static func isUnreserved(_ c: UInt8) -> Bool {
        switch c {
        case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"),
             UInt8(ascii: "0")...UInt8(ascii: "9"),
             UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "_"), UInt8(ascii: "~"):
            true
        default:
            false
        }
    }
}
