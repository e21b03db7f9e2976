import HTTP
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
        scopes = t.scopes
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

    func missingScope(_ resource: APIResource, _ level: APIAccessLevel) -> String? { OAuthScope.name(resource, level) }
}

/// Recognises OAuth access tokens (`Authorization: Bearer oat_…`) for the API pipeline.
/// An unknown, expired or revoked token answers nil: the pipeline's one 401.
struct OAuthTokenVerifier: APICredentialVerifier {
    let oauth: OAuth

    func verify(scheme: String, token: String, request: Request) throws -> (any APICredential)? {
        guard scheme == "bearer", token.hasPrefix(OAuth.accessTokenPrefix), let t = try oauth.activeAccessToken(token) else { return nil }
        return OAuthTokenCredential(t)
    }
}
