import Foundation
import Security

/// A client secret: `cs_` and 32 random bytes in base64url (43 characters). Shown once; the
/// table keeps its SHA-256 and its last 4 characters. High-entropy, so a SHA-256 lookup is
/// enough (no scrypt): the OAuth token endpoint verifies thousands a second.
struct ClientSecret: Sendable, Equatable {
    static let prefix = "cs_"
    let text: String

    static func make() -> ClientSecret {
        ClientSecret(text: prefix + Base64URL.encode(SecureRandom.bytes(32)))
    }

    var sha256: [UInt8] { Digest.sha256(text) }
    var last4: String { String(text.suffix(4)) }

    /// `cs_…wXyZ`, for people.
    static func masked(last4: String) -> String { prefix + "…" + last4 }

    /// The SHA-256 of what someone pasted, after dropping surrounding spaces (a copy often
    /// carries them). Anything is hashed: a malformed value simply matches nothing.
    static func digest(ofPasted raw: String) -> [UInt8] {
        Digest.sha256(raw.trimmingCharacters(in: .whitespacesAndNewlines))
    }
}
