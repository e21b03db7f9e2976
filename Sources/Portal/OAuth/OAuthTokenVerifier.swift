import Foundation
import HTTP
import Security
import Web

/// What a `/v1` request acts as when it carries an OAuth access token: the token's app's
/// organization and environment, limited to the token's scopes. Holds no secret.
struct OAuthTokenCredential: APICredential {
    let publicID: String
    let logName: String
    let organizationID: Int64
    let environment: Environment
    let scopes: [String]
    /// The member who authorized the app (code flow); nil for a client-credentials token.
    let createdByUserID: Int64?

    init(_ t: OAuthAccessTokenRecord) {
        // Rate limits and logs are kept per client: minting more tokens buys no more calls.
        publicID = t.clientID
        logName = "OAuth token \(t.publicID) of \(t.clientID)"
        organizationID = t.organizationID
        environment = t.environment
        scopes = t.usableScopes
        createdByUserID = t.userID
    }

    /// The highest level the scopes give on `resource` (`x:write` includes `x:read`, as an
    /// API key's write restriction does).
    func access(to resource: APIResource) -> APIAccessLevel {
        var level = APIAccessLevel.none
        for s in scopes {
            if let (r, l) = OAuthScope.parse(s), r == resource, l > level { level = l }
        }
        return level
    }

    var actorName: String { logName }

    func missingScope(_ resource: APIResource, _ level: APIAccessLevel) -> String? { OAuthScope.name(resource, level) }
}

/// Recognises OAuth access tokens (`Authorization: Bearer oat_…`) for the API pipeline.
/// An unknown, expired or revoked token answers nil: the pipeline's one 401.
///
/// A token bound to a certificate (RFC 8705 §3) needs, when the operator named trusted TLS
/// terminators, the request to come from one of them with the certificate's SHA-256 in the
/// client-certificate header, equal to the token's `x5t#S256`; otherwise it is the same 401.
/// The header is never believed from any other address.
struct OAuthTokenVerifier: APICredentialVerifier {
    let oauth: OAuth
    var trustedProxies: Set<String> = []
    var certificateHeader = "X-Client-Cert-SHA256"

    func verify(scheme: String, token: String, request: Request) throws -> (any APICredential)? {
        guard scheme == "bearer", token.hasPrefix(OAuth.accessTokenPrefix), let t = try oauth.activeAccessToken(token) else { return nil }
        if let bound = t.thumbprint, !trustedProxies.isEmpty {
            guard trustedProxies.contains(request.remoteAddress), let sent = request.headers[certificateHeader].flatMap(Self.thumbprint),
                  Digest.constantTimeEquals(Array(sent.utf8), Array(bound.utf8)) else { return nil }
        }
        return OAuthTokenCredential(t)
    }

    /// The header's SHA-256 as base64url (RFC 8705's `x5t#S256`): given so, or as 64 hex
    /// digits (with or without colons, as terminators print fingerprints).
    static func thumbprint(_ raw: String) -> String? {
        let v = raw.trimmingCharacters(in: .whitespaces)
        let hex = v.replacingOccurrences(of: ":", with: "")
        if hex.count == 64, hex.allSatisfy(\.isHexDigit) {
            var bytes: [UInt8] = []
            var i = hex.startIndex
            while i < hex.endIndex {
                let j = hex.index(i, offsetBy: 2)
                guard let b = UInt8(hex[i..<j], radix: 16) else { return nil }
                bytes.append(b)
                i = j
            }
            return Base64URL.encode(bytes)
        }
        guard let bytes = Base64URL.decode(v), bytes.count == 32 else { return nil }
        return Base64URL.encode(bytes)
    }
}
