import Database
import Foundation
import Security
import Testing
import TestSupport
import Web
@testable import Portal

/// The OAuth server over real sockets: the token endpoint (client credentials, by HTTP Basic
/// and by form fields), its RFC 6749 errors, scopes limited by the app's subscriptions, /v1
/// with the token inside and outside its scopes, revocation, introspection and metadata.
@Suite("OAuth: token endpoint, /v1 with access tokens, revoke, introspect")
struct OAuthTests {
    /// A portal with an Owner, and an app subscribed to `products` in Sandbox.
    struct Setup {
        let api: APITestPortal
        let app: String
        let clientID: String
        let secret: String
        var portal: TestPortal { api.portal }

        init(products: [String] = ["balances"], configure: (inout PortalConfig) -> Void = { _ in }) throws {
            api = try APITestPortal(configure: configure)
            let (_, clientID, secret) = try AppsTests.register(api.ownerBrowser, api.org, "Checkout")
            app = try #require(try AppsTests.appID(api.portal, named: "Checkout"))
            for p in products {
                let r = try AppsTests.post(api.ownerBrowser, api.org, app, "/subscriptions", [("product", p)])
                #expect(r.status == 303, "subscribe \(p): \(r.status)")
            }
            self.clientID = clientID
            self.secret = secret
        }

        /// HTTP Basic per RFC 6749 §2.3.1: id and secret form-urlencoded, then base64.
        static func basic(_ id: String, _ secret: String) -> String {
            let enc = { (s: String) in URLEncodedFormTestEncoding.encode(s) }
            return "Basic " + Base64.encode(Array("\(enc(id)):\(enc(secret))".utf8))
        }

        func post(_ path: String, _ fields: [(String, String)], basic: (String, String)? = nil,
                  contentType: String = "application/x-www-form-urlencoded") throws -> APIResponse {
            var h = ["Content-Type": contentType]
            if let (id, s) = basic { h["Authorization"] = Self.basic(id, s) }
            let body = fields.map { URLEncodedFormTestEncoding.encode($0.0) + "=" + URLEncodedFormTestEncoding.encode($0.1) }.joined(separator: "&")
            let r = try portal.request("POST", path, headers: h, body: body)
            let json = r.body.isEmpty ? JSONValue.null : try JSONBody.decode(JSONValue.self, from: r.body)
            return APIResponse(raw: r, json: json)
        }

        func token(scope: String? = nil, basic: Bool = true) throws -> APIResponse {
            var f = [("grant_type", "client_credentials")]
            if let scope { f.append(("scope", scope)) }
            return basic ? try post("/oauth/token", f, basic: (clientID, secret))
                : try post("/oauth/token", f + [("client_id", clientID), ("client_secret", secret)])
        }
    }

    static func expectRFCError(_ r: APIResponse, _ status: Int, _ code: String, sourceLocation: SourceLocation = #_sourceLocation) {
        #expect(r.status == status, "\(r.raw.text)", sourceLocation: sourceLocation)
        #expect(r.string("error") == code, "\(r.raw.text)", sourceLocation: sourceLocation)
        #expect(r.string("error_description")?.isEmpty == false, sourceLocation: sourceLocation)
        // Not the /v1 shape: the error is a string, no nested object.
        #expect(r.string("error.code") == nil, sourceLocation: sourceLocation)
        #expect(r["cache-control"] == "no-store" && r["pragma"] == "no-cache", sourceLocation: sourceLocation)
    }

    @Test func clientCredentialsByBasicAndByPostReachV1() throws {
        let s = try Setup(products: ["balances", "transactions"])
        for basic in [true, false] {
            let r = try s.token(basic: basic)
            #expect(r.status == 200, "\(r.raw.text)")
            #expect(r["cache-control"] == "no-store" && r["pragma"] == "no-cache")
            #expect(r.string("token_type") == "Bearer" && r.int("expires_in") == 3600)
            // Omitted scope: everything the subscriptions grant.
            #expect(r.string("scope") == "balances:read transactions:read transactions:write")
            let token = try #require(r.string("access_token"))
            #expect(token.hasPrefix("oat_") && token.count >= 4 + 43)
            // Stored as SHA-256 only.
            let stored = try s.portal.app.database.read {
                try $0.scalar("SELECT count(*) FROM oauth_access_tokens WHERE token_sha256 = ?", Digest.sha256(token), as: Int.self)
            }
            #expect(stored == 1)
            let dump = try s.portal.app.database.read { try $0.query("SELECT * FROM oauth_access_tokens") }.map { "\($0)" }.joined()
            #expect(!dump.contains(token))
            // /v1 answers with the token's organization and environment.
            let balances = try s.api.call("GET", "/v1/balances", key: token)
            #expect(balances.status == 200)
            // The same answer as a Sandbox key of the organization gives.
            #expect(balances.raw.text == (try s.api.call("GET", "/v1/balances", key: s.api.key(.sandbox))).raw.text)
            #expect(try s.api.call("GET", "/v1/transactions", key: token).status == 200)
        }
    }

    @Test func wrongSecretsAndMalformedRequestsAnswerRFC6749Errors() throws {
        let s = try Setup()
        // Wrong secret by Basic: 401 with the Basic challenge.
        let wrong = try s.post("/oauth/token", [("grant_type", "client_credentials")], basic: (s.clientID, s.secret + "x"))
        Self.expectRFCError(wrong, 401, "invalid_client")
        #expect(wrong["www-authenticate"]?.hasPrefix("Basic realm=") == true)
        // Wrong secret by post: 401 invalid_client.
        Self.expectRFCError(try s.post("/oauth/token", [("grant_type", "client_credentials"), ("client_id", s.clientID), ("client_secret", "cs_nope")]),
                            401, "invalid_client")
        // An unknown client, no client at all.
        Self.expectRFCError(try s.post("/oauth/token", [("grant_type", "client_credentials")], basic: ("client_unknown2345678", s.secret)), 401, "invalid_client")
        Self.expectRFCError(try s.post("/oauth/token", [("grant_type", "client_credentials")]), 401, "invalid_client")
        // Both ways at once, a repeated parameter, no grant_type, a JSON body.
        Self.expectRFCError(try s.post("/oauth/token", [("grant_type", "client_credentials"), ("client_secret", s.secret)], basic: (s.clientID, s.secret)),
                            400, "invalid_request")
        Self.expectRFCError(try s.post("/oauth/token", [("grant_type", "client_credentials"), ("grant_type", "client_credentials")], basic: (s.clientID, s.secret)),
                            400, "invalid_request")
        Self.expectRFCError(try s.post("/oauth/token", [("scope", "balances:read")], basic: (s.clientID, s.secret)), 400, "invalid_request")
        Self.expectRFCError(try s.post("/oauth/token", [], basic: (s.clientID, s.secret), contentType: "application/json"), 400, "invalid_request")
        Self.expectRFCError(try s.post("/oauth/token", [("grant_type", "password")], basic: (s.clientID, s.secret)), 400, "unsupported_grant_type")
        // An unknown path under /oauth keeps the RFC shape too.
        let missing = try s.post("/oauth/nothing", [("grant_type", "client_credentials")])
        #expect(missing.status == 404 && missing.string("error") == "invalid_request")
        // No token was issued by any of these.
        #expect(try s.portal.app.database.read { try $0.scalar("SELECT count(*) FROM oauth_access_tokens", as: Int.self) } == 0)
    }

    @Test func basicCredentialsAreFormURLEncoded() throws {
        // RFC 6749 §2.3.1: a client encodes id and secret before base64; a secret with
        // characters that need encoding (here `-` stays, but we check `%2D` decodes) works.
        let s = try Setup()
        let encodedSecret = s.secret.replacingOccurrences(of: "_", with: "%5F")
        let h = ["Content-Type": "application/x-www-form-urlencoded",
                 "Authorization": "Basic " + Base64.encode(Array("\(s.clientID.replacingOccurrences(of: "_", with: "%5F")):\(encodedSecret)".utf8))]
        let r = try s.portal.request("POST", "/oauth/token", headers: h, body: "grant_type=client_credentials")
        #expect(r.status == 200, "\(r.text)")
    }

    @Test func scopesAreLimitedToTheSubscriptions() throws {
        let s = try Setup(products: ["balances"])
        let ok = try s.token(scope: "balances:read")
        #expect(ok.status == 200 && ok.string("scope") == "balances:read")
        Self.expectRFCError(try s.token(scope: "balances:read payouts:write"), 400, "invalid_scope")
        Self.expectRFCError(try s.token(scope: "admin"), 400, "invalid_scope")
        Self.expectRFCError(try s.token(scope: "balances:read  balances:read"), 400, "invalid_scope")
        // An app with no subscription gets no token at all.
        let bare = try Setup(products: [])
        Self.expectRFCError(try bare.token(), 400, "invalid_scope")
    }

    @Test func aCallOutsideTheTokensScopesIs403NamingTheScope() throws {
        let s = try Setup(products: ["balances", "transactions"])
        let token = try #require(try s.token(scope: "transactions:read").string("access_token"))
        #expect(try s.api.call("GET", "/v1/transactions", key: token).status == 200)
        let balances = try s.api.call("GET", "/v1/balances", key: token)
        #expect(balances.status == 403 && balances.errorCode == "insufficient_scope" && balances.errorParam == "balances:read")
        #expect(balances.string("error.message")?.contains("balances:read") == true)
        let body = #"{"type":"payin","amount":1050,"currency":"EUR","external_id":"order-1"}"#
        let create = try s.api.call("POST", "/v1/transactions", key: token, body: body)
        #expect(create.status == 403 && create.errorParam == "transactions:write")
        #expect(try s.api.transactionCount() == 0)
        // With the write scope, the transaction lands in the app's organization and environment.
        let writer = try #require(try s.token(scope: "transactions:write").string("access_token"))
        #expect(try s.api.call("POST", "/v1/transactions", key: writer, body: body).status == 201)
        let env = try s.portal.app.database.read {
            try $0.scalar("SELECT environment FROM transactions WHERE organization_id = ?", s.api.orgID, as: String.self)
        }
        #expect(env == "sandbox")
        // The audit log names the token and its client, not an API key.
        let actors = try s.portal.app.database.read { try $0.query("SELECT user_agent FROM audit_events WHERE organization_id = ? ORDER BY id DESC LIMIT 1", s.api.orgID).map { try $0.string(0) } }
        #expect(actors.first?.hasPrefix("OAuth token tok_") == true, "\(actors)")
    }

    @Test func expiredRevokedAndUnknownTokensGetTheSame401() throws {
        let s = try Setup()
        let token = try #require(try s.token().string("access_token"))
        #expect(try s.api.call("GET", "/v1/balances", key: token).status == 200)
        let unknown = try s.api.call("GET", "/v1/balances", key: "oat_" + String(repeating: "A", count: 43))
        #expect(unknown.status == 401 && unknown.errorCode == "invalid_credentials")
        // The token names its row (its public id's letters) before its secret: a real token's
        // selector with another secret, or its secret under another selector, is refused the same.
        let selector = token.dropFirst(4).prefix(27), secret = token.suffix(43)
        let forgedSecret = "oat_" + selector + Base64URL.encode(SecureRandom.bytes(32))
        let otherToken = try #require(try s.token().string("access_token"))
        let movedSecret = "oat_" + otherToken.dropFirst(4).prefix(27) + secret
        for forged in [forgedSecret, movedSecret] {
            let refused = try s.api.call("GET", "/v1/balances", key: forged)
            #expect(refused.status == 401 && refused.string("error.message") == unknown.string("error.message"), "\(forged)")
        }
        #expect(try s.api.call("GET", "/v1/balances", key: token).status == 200)
        s.portal.clock.advance(seconds: 3601)
        let expired = try s.api.call("GET", "/v1/balances", key: token)
        #expect(expired.status == 401 && expired.string("error.message") == unknown.string("error.message"))
    }

    @Test func revokeIsClientAuthenticatedAndOnlyForTheAppsOwnTokens() throws {
        let s = try Setup()
        let token = try #require(try s.token().string("access_token"))
        // Another app of the same organization cannot revoke it (200, but nothing happens).
        let (_, otherID, otherSecret) = try AppsTests.register(s.api.ownerBrowser, s.api.org, "Other")
        let foreign = try s.post("/oauth/revoke", [("token", token)], basic: (otherID, otherSecret))
        #expect(foreign.status == 200)
        #expect(try s.api.call("GET", "/v1/balances", key: token).status == 200)
        // Without a valid client: 401.
        Self.expectRFCError(try s.post("/oauth/revoke", [("token", token)], basic: (s.clientID, "cs_wrong")), 401, "invalid_client")
        // An unknown token: 200.
        #expect(try s.post("/oauth/revoke", [("token", "oat_nothing")], basic: (s.clientID, s.secret)).status == 200)
        // The owner revokes a token just used (so remembered as verified): it stops working at
        // once, and the revocation is audited.
        #expect(try s.api.call("GET", "/v1/balances", key: token).status == 200)
        let r = try s.post("/oauth/revoke", [("token", token), ("token_type_hint", "access_token")], basic: (s.clientID, s.secret))
        #expect(r.status == 200 && r["cache-control"] == "no-store")
        let after = try s.api.call("GET", "/v1/balances", key: token)
        #expect(after.status == 401)
        #expect(try s.portal.audit(of: s.app).contains("oauth.token_revoked"))
    }

    @Test func introspectionAnswersForTheAppsOwnTokensOnly() throws {
        let s = try Setup(products: ["balances", "payouts"])
        let issued = try s.token(scope: "payouts:read")
        let token = try #require(issued.string("access_token"))
        let i = try s.post("/oauth/introspect", [("token", token)], basic: (s.clientID, s.secret))
        #expect(i.status == 200 && i.bool("active") == true)
        #expect(i.string("scope") == "payouts:read" && i.string("client_id") == s.clientID && i.string("token_type") == "Bearer")
        let exp = try #require(i.int("exp")), iat = try #require(i.int("iat"))
        #expect(exp - iat == 3600)
        #expect(i.json.at("cnf") == nil && i.string("environment") == "sandbox")
        // Another app sees nothing.
        let (_, otherID, otherSecret) = try AppsTests.register(s.api.ownerBrowser, s.api.org, "Other")
        let foreign = try s.post("/oauth/introspect", [("token", token)], basic: (otherID, otherSecret))
        #expect(foreign.status == 200 && foreign.bool("active") == false && foreign.string("scope") == nil)
        // Revoked: inactive.
        _ = try s.post("/oauth/revoke", [("token", token)], basic: (s.clientID, s.secret))
        let revoked = try s.post("/oauth/introspect", [("token", token)], basic: (s.clientID, s.secret))
        #expect(revoked.bool("active") == false)
        // Without client authentication: 401.
        Self.expectRFCError(try s.post("/oauth/introspect", [("token", token)]), 401, "invalid_client")
    }

    @Test func aTokenOfAnAppWithACertificateIsBoundToIt() throws {
        let s = try Setup()
        let (cert, _) = try AppsTests.makeCertificate()
        let up = try AppsTests.upload(s.api.ownerBrowser, s.api.org, file: cert)
        #expect(up.status == 303 || up.status == 201 || up.status == 200, "upload: \(up.status)")
        let certID = try #require(try s.portal.app.database.read { try $0.scalar("SELECT public_id FROM certificates", as: String.self) })
        let sha = try #require(try s.portal.app.database.read { try $0.scalar("SELECT sha256 FROM certificates", as: [UInt8].self) })
        let sel = try AppsTests.post(s.api.ownerBrowser, s.api.org, s.app, "/certificate", [("certificate", certID)])
        #expect(sel.status == 303)
        let token = try #require(try s.token().string("access_token"))
        let i = try s.post("/oauth/introspect", [("token", token)], basic: (s.clientID, s.secret))
        #expect(i.string("cnf.x5t#S256") == Base64URL.encode(sha))
    }

    @Test func aBoundTokenNeedsItsCertificateFromATrustedProxy() throws {
        let s = try Setup { $0.trustedProxies = ["127.0.0.2"] }
        let plain = try #require(try s.token().string("access_token"))
        let (cert, _) = try AppsTests.makeCertificate()
        _ = try AppsTests.upload(s.api.ownerBrowser, s.api.org, file: cert)
        let certID = try #require(try s.portal.app.database.read { try $0.scalar("SELECT public_id FROM certificates", as: String.self) })
        let sha = try #require(try s.portal.app.database.read { try $0.scalar("SELECT sha256 FROM certificates", as: [UInt8].self) })
        #expect(try AppsTests.post(s.api.ownerBrowser, s.api.org, s.app, "/certificate", [("certificate", certID)]).status == 303)
        let bound = try #require(try s.token().string("access_token"))
        func call(_ token: String, from source: String?, header: String?) throws -> Int {
            var h = ["Authorization": "Bearer \(token)"]
            if let header { h["X-Client-Cert-SHA256"] = header }
            return try s.portal.request("GET", "/v1/balances", headers: h, body: nil, from: source).status
        }
        let thumb = Base64URL.encode(sha)
        let hex = sha.map { String(format: "%02X", $0) }.joined(separator: ":")
        // The token issued before the certificate was selected is not bound.
        #expect(try call(plain, from: nil, header: nil) == 200)
        // Bound: no certificate, or a header from an address that is not the trusted proxy, is the 401.
        #expect(try call(bound, from: nil, header: nil) == 401)
        #expect(try call(bound, from: nil, header: thumb) == 401)
        #expect(try call(bound, from: "127.0.0.2", header: nil) == 401)
        #expect(try call(bound, from: "127.0.0.2", header: Base64URL.encode(Digest.sha256("another certificate"))) == 401)
        // The trusted proxy vouching for the right certificate, as base64url or as a hex fingerprint.
        #expect(try call(bound, from: "127.0.0.2", header: thumb) == 200)
        #expect(try call(bound, from: "127.0.0.2", header: hex) == 200)
    }

    @Test func failedTokenRequestsKeepNoSecretInTheRequestLog() throws {
        let s = try Setup()
        s.portal.app.apiLogRecorder?.pause()
        let code = "oac_" + Base64URL.encode(SecureRandom.bytes(32)) + "-x_Y"
        let verifier = Base64URL.encode(SecureRandom.bytes(32))
        let refresh = "ort_" + Base64URL.encode(SecureRandom.bytes(32))
        _ = try s.post("/oauth/token", [("grant_type", "authorization_code"), ("code", code), ("redirect_uri", "https://a.example/cb"),
                                        ("code_verifier", verifier), ("client_id", s.clientID), ("client_secret", s.secret)])
        _ = try s.post("/oauth/token", [("grant_type", "refresh_token"), ("refresh_token", refresh)], basic: (s.clientID, s.secret + "-wrong"))
        s.portal.app.apiLogRecorder?.flush()
        let bodies = try s.portal.app.database.read { try $0.query("SELECT * FROM api_request_bodies") }.map { "\($0)" }.joined()
        #expect(!bodies.isEmpty)
        for secret in [code, String(code.suffix(8)), verifier, refresh, s.secret, String(s.secret.dropFirst(3).prefix(20))] {
            #expect(!bodies.contains(secret), "the request log kept \(secret.prefix(6))…")
        }
    }

    @Test func expiredTokensArePrunedADayLater() throws {
        let s = try Setup()
        let old = try #require(try s.token().string("access_token"))
        s.portal.clock.advance(seconds: 3600 + 86400 + 1)
        let fresh = try #require(try s.token().string("access_token"))
        #expect(try s.portal.app.oauth.prune() == 1)
        let left = try s.portal.app.database.read { try $0.query("SELECT token_sha256 FROM oauth_access_tokens").map { try $0.blob(0) } }
        #expect(left == [Digest.sha256(fresh)] && !left.contains(Digest.sha256(old)))
        #expect(try s.api.call("GET", "/v1/balances", key: fresh).status == 200)
        // The job is queued by the serving process.
        #expect(try s.portal.app.database.read { try $0.scalar("SELECT count(*) FROM jobs WHERE kind = 'oauth.prune'", as: Int.self) } == 1)
    }

    @Test func theTokenEndpointIsRateLimitedPerClient() throws {
        let s = try Setup { $0.apiRequestsPerSecond = 0.01; $0.apiBurst = 2 }
        #expect(try s.token().status == 200)
        #expect(try s.token().status == 200)
        let limited = try s.token()
        #expect(limited.status == 429 && limited["retry-after"] != nil && limited.string("error") == "invalid_request", "\(limited.raw.text)")
        #expect(limited["cache-control"] == "no-store")
        // Another client has its own bucket.
        let (_, otherID, otherSecret) = try AppsTests.register(s.api.ownerBrowser, s.api.org, "Other")
        _ = try AppsTests.post(s.api.ownerBrowser, s.api.org, try #require(try AppsTests.appID(s.portal, named: "Other")), "/subscriptions", [("product", "balances")])
        #expect(try s.post("/oauth/token", [("grant_type", "client_credentials")], basic: (otherID, otherSecret)).status == 200)
    }

    @Test func metadataDescribesTheEndpoints() throws {
        let s = try Setup()
        let r = try s.portal.request("GET", "/.well-known/oauth-authorization-server")
        #expect(r.status == 200 && r["content-type"]?.hasPrefix("application/json") == true)
        let json = try JSONBody.decode(JSONValue.self, from: r.body)
        let m = APIResponse(raw: r, json: json)
        let issuer = try #require(m.string("issuer"))
        #expect(m.string("token_endpoint") == issuer + "/oauth/token")
        #expect(m.string("revocation_endpoint") == issuer + "/oauth/revoke")
        #expect(m.string("introspection_endpoint") == issuer + "/oauth/introspect")
        #expect(r.text.contains("\"client_credentials\"") && r.text.contains("\"client_secret_basic\"") && r.text.contains("\"balances:read\""))
    }
}

/// RFC 6749 §2.3.1 / HTML form encoding of one value, for the tests' own requests.
enum URLEncodedFormTestEncoding {
    static func encode(_ s: String) -> String {
        var out = ""
        for b in s.utf8 {
            switch b {
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
                 UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "_"), UInt8(ascii: "*"):
                out.append(Character(UnicodeScalar(b)))
            case UInt8(ascii: " "): out.append("+")
            default: out += String(format: "%%%02X", b)
            }
        }
        return out
    }
}

extension APIResponse {
    func bool(_ path: String) -> Bool? { if case .bool(let b)? = json.at(path) { return b }; return nil }
}
