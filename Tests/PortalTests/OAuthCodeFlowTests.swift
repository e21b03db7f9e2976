import Database
import Foundation
import Security
import Testing
import TestSupport
import Web
@testable import Portal

/// The authorization code flow with PKCE over real sockets: consent page, approve and deny,
/// code exchange (wrong verifier, reused code, other redirect URI), refresh rotation and reuse
/// detection, unknown clients and unregistered redirect URIs (an error page, never a
/// redirect), permissions, and the member revoking the grant.
@Suite("OAuth: authorization code flow with PKCE, refresh rotation")
struct OAuthCodeFlowTests {
    static let callback = "https://client.example.com/cb"

    struct Flow {
        let s: OAuthTests.Setup
        let verifier = Base64URL.encode(SecureRandom.bytes(32))
        var challenge: String { Base64URL.encode(Digest.sha256(verifier)) }

        init(products: [String] = ["balances", "transactions"]) throws {
            s = try OAuthTests.Setup(products: products)
            let r = try AppsTests.post(s.api.ownerBrowser, s.api.org, s.app, "/redirect-uris", [("uri", OAuthCodeFlowTests.callback)])
            #expect(r.status == 303, "add redirect URI: \(r.status)")
        }

        func authorizeQuery(scope: String = "balances:read", redirect: String = OAuthCodeFlowTests.callback, state: String = "xyz 1",
                            clientID: String? = nil, method: String = "S256") -> String {
            let pairs = [("response_type", "code"), ("client_id", clientID ?? s.clientID), ("redirect_uri", redirect), ("scope", scope),
                         ("state", state), ("code_challenge", challenge), ("code_challenge_method", method)]
            return "/oauth/authorize?" + pairs.map { "\(URLEncodedFormTestEncoding.encode($0.0))=\(URLEncodedFormTestEncoding.encode($0.1))" }.joined(separator: "&")
        }

        /// The consent form's hidden fields and the first choice, as a browser would send them.
        static func formFields(_ page: TestResponse) -> [(String, String)] {
            let re = try! NSRegularExpression(pattern: #"<input type="(?:hidden|radio)" name="([a-z_]+)" value="([^"]*)""#)
            let text = page.text
            var out: [(String, String)] = []
            for m in re.matches(in: text, range: NSRange(text.startIndex..., in: text)) {
                guard let n = Range(m.range(at: 1), in: text), let v = Range(m.range(at: 2), in: text), text[n] != "_csrf" else { continue }
                let name = String(text[n])
                if !out.contains(where: { $0.0 == name }) { out.append((name, Self.unescape(String(text[v])))) }
            }
            return out
        }

        static func unescape(_ s: String) -> String {
            s.replacingOccurrences(of: "&quot;", with: "\"").replacingOccurrences(of: "&#39;", with: "'").replacingOccurrences(of: "&lt;", with: "<")
                .replacingOccurrences(of: "&gt;", with: ">").replacingOccurrences(of: "&#x2F;", with: "/").replacingOccurrences(of: "&#x3D;", with: "=")
                .replacingOccurrences(of: "&#x60;", with: "`").replacingOccurrences(of: "&amp;", with: "&")
        }

        static func query(_ location: String) -> [String: String] {
            guard let q = location.split(separator: "?", maxSplits: 1).last, location.contains("?") else { return [:] }
            var out: [String: String] = [:]
            for p in URLEncodedForm.parseQuery(String(q)) { out[p.name] = p.value }
            return out
        }

        /// Consent approved by the Owner; the redirect's parameters.
        func approve(scope: String = "balances:read", decision: String = "approve", browser: Browser? = nil) throws -> (status: Int, location: String, params: [String: String]) {
            let b = browser ?? s.api.ownerBrowser
            let page = try b.get(authorizeQuery(scope: scope))
            #expect(page.status == 200, "\(page.text.prefix(400))")
            let r = try b.post("/oauth/authorize", Self.formFields(page) + [("decision", decision)], csrfFrom: page)
            let location = r["location"] ?? ""
            return (r.status, location, Self.query(location))
        }

        func exchange(_ code: String, verifier: String? = nil, redirect: String = OAuthCodeFlowTests.callback) throws -> APIResponse {
            try s.post("/oauth/token", [("grant_type", "authorization_code"), ("code", code), ("redirect_uri", redirect),
                                        ("code_verifier", verifier ?? self.verifier)], basic: (s.clientID, s.secret))
        }

        func refresh(_ token: String) throws -> APIResponse {
            try s.post("/oauth/token", [("grant_type", "refresh_token"), ("refresh_token", token)], basic: (s.clientID, s.secret))
        }
    }

    @Test func approveExchangeCallRefreshEndToEnd() throws {
        let f = try Flow()
        let page = try f.s.api.ownerBrowser.get(f.authorizeQuery(scope: "balances:read transactions:read"))
        #expect(page.status == 200)
        #expect(page.text.contains("Authorize Checkout") && page.text.contains("balances:read") && page.text.contains("transactions:read"))
        #expect(page.text.contains(OAuthCodeFlowTests.callback))
        let (status, location, params) = try f.approve(scope: "balances:read transactions:read")
        #expect(status == 303 && location.hasPrefix(OAuthCodeFlowTests.callback + "?"))
        #expect(params["state"] == "xyz 1")
        let code = try #require(params["code"])
        // The code is stored hashed; state is not stored at all.
        let dump = try f.s.portal.app.database.read { try $0.query("SELECT * FROM oauth_codes") }.map { "\($0)" }.joined()
        #expect(!dump.contains(code) && !dump.contains("xyz"))

        let t = try f.exchange(code)
        #expect(t.status == 200, "\(t.raw.text)")
        #expect(t.string("scope") == "balances:read transactions:read" && t.string("token_type") == "Bearer")
        let access = try #require(t.string("access_token")), refresh = try #require(t.string("refresh_token"))
        #expect(try f.s.api.call("GET", "/v1/transactions", key: access).status == 200)
        let payouts = try f.s.api.call("GET", "/v1/payouts", key: access)
        #expect(payouts.status == 403 && payouts.errorParam == "payouts:read")

        // Refresh rotates: a new pair; the old access token keeps its hour, the old refresh token is spent.
        let r1 = try f.refresh(refresh)
        #expect(r1.status == 200, "\(r1.raw.text)")
        let access2 = try #require(r1.string("access_token")), refresh2 = try #require(r1.string("refresh_token"))
        #expect(refresh2 != refresh && access2 != access)
        #expect(try f.s.api.call("GET", "/v1/balances", key: access2).status == 200)
        // Reusing the spent refresh token revokes the whole family, the new tokens included.
        OAuthTests.expectRFCError(try f.refresh(refresh), 400, "invalid_grant")
        #expect(try f.s.api.call("GET", "/v1/balances", key: access2).status == 401)
        #expect(try f.s.api.call("GET", "/v1/balances", key: access).status == 401)
        OAuthTests.expectRFCError(try f.refresh(refresh2), 400, "invalid_grant")
        #expect(try f.s.portal.audit(of: f.s.app).contains("oauth.family_revoked"))
        #expect(try f.s.portal.audit(of: f.s.app).contains("oauth.granted"))
    }

    @Test func wrongVerifierReusedCodeAndOtherRedirectAreRefused() throws {
        let f = try Flow()
        let code = try #require(try f.approve().params["code"])
        OAuthTests.expectRFCError(try f.exchange(code, verifier: Base64URL.encode(SecureRandom.bytes(32))), 400, "invalid_grant")
        OAuthTests.expectRFCError(try f.exchange(code, redirect: "https://client.example.com/other"), 400, "invalid_grant")
        OAuthTests.expectRFCError(try f.exchange(code, verifier: "short"), 400, "invalid_request")
        // The right one still works (refusals did not spend it)…
        let first = try f.exchange(code)
        #expect(first.status == 200)
        let access = try #require(first.string("access_token"))
        #expect(try f.s.api.call("GET", "/v1/balances", key: access).status == 200)
        // …once: a second use is refused and revokes what the first gave.
        OAuthTests.expectRFCError(try f.exchange(code), 400, "invalid_grant")
        #expect(try f.s.api.call("GET", "/v1/balances", key: access).status == 401)
        OAuthTests.expectRFCError(try f.refresh(try #require(first.string("refresh_token"))), 400, "invalid_grant")
        // An expired code.
        let late = try #require(try f.approve().params["code"])
        f.s.portal.clock.advance(seconds: 301)
        OAuthTests.expectRFCError(try f.exchange(late), 400, "invalid_grant")
        // Another client cannot use this app's code.
        let (_, otherID, otherSecret) = try AppsTests.register(f.s.api.ownerBrowser, f.s.api.org, "Other")
        let mine = try #require(try f.approve().params["code"])
        let stolen = try f.s.post("/oauth/token", [("grant_type", "authorization_code"), ("code", mine), ("redirect_uri", OAuthCodeFlowTests.callback),
                                                    ("code_verifier", f.verifier)], basic: (otherID, otherSecret))
        OAuthTests.expectRFCError(stolen, 400, "invalid_grant")
    }

    @Test func unknownClientOrUnregisteredRedirectIsAnErrorPageNeverARedirect() throws {
        let f = try Flow()
        let b = f.s.api.ownerBrowser
        let evil = try b.get(f.authorizeQuery(redirect: "https://evil.example.com/cb"))
        #expect(evil.status == 400 && evil["location"] == nil && evil.text.contains("has not registered"))
        #expect(!evil.text.contains("evil.example.com/cb?"))
        // A registered loopback URI matches on any port, but only on loopback.
        #expect(try AppsTests.post(b, f.s.api.org, f.s.app, "/redirect-uris", [("uri", "http://127.0.0.1:8765/cb")]).status == 303)
        #expect(try b.get(f.authorizeQuery(redirect: "http://127.0.0.1:49152/cb")).status == 200)
        #expect(try b.get(f.authorizeQuery(redirect: "http://127.0.0.1:49152/other")).status == 400)
        #expect(try b.get(f.authorizeQuery(redirect: "https://client.example.com/cb/")).status == 400)
        let unknown = try b.get(f.authorizeQuery(clientID: "client_abcdefghijkmnpqr"))
        #expect(unknown.status == 400 && unknown["location"] == nil)
        // The consent form re-checks: a tampered redirect_uri in the POST is an error page too.
        let page = try b.get(f.authorizeQuery())
        let fields = Flow.formFields(page).map { $0.0 == "redirect_uri" ? ($0.0, "https://evil.example.com/cb") : $0 }
        let tampered = try b.post("/oauth/authorize", fields + [("decision", "approve")], csrfFrom: page)
        #expect(tampered.status == 400 && tampered["location"] == nil)
        // Without PKCE, or another response_type: back to the (registered) client with an error and the state.
        let plain = try b.get(f.authorizeQuery(method: "plain"))
        #expect(plain.status == 303 && Flow.query(plain["location"] ?? "")["error"] == "invalid_request" && Flow.query(plain["location"] ?? "")["state"] == "xyz 1")
        let scope = try b.get(f.authorizeQuery(scope: "payouts:write"))
        #expect(scope.status == 303 && Flow.query(scope["location"] ?? "")["error"] == "invalid_scope")
        // Signed out: to the login page, which is told to come back to the request.
        let anonymous = try Browser(f.s.portal).get(f.authorizeQuery())
        #expect(anonymous.status == 303 && (anonymous["location"] ?? "").hasPrefix("/login?next=%2Foauth%2Fauthorize"), "\(anonymous["location"] ?? "")")
        // Nothing was granted by any of it.
        #expect(try f.s.portal.app.database.read { try $0.scalar("SELECT count(*) FROM oauth_grants", as: Int.self) } == 0)
    }

    @Test func aMembersTokenFollowsTheirRoleAndMembership() throws {
        let f = try Flow()
        let code = try #require(try f.approve(scope: "balances:read transactions:read").params["code"])
        let access = try #require(try f.exchange(code).string("access_token"))
        #expect(try f.s.api.call("GET", "/v1/transactions", key: access).status == 200)
        // The member's role changes (as an administrator would do it) to one without "View transactions".
        let userID = try f.s.api.ownerID
        try f.s.portal.app.database.write { _ = try $0.execute("UPDATE memberships SET role = 'custom', permissions = '' WHERE user_id = ?", userID) }
        let refused = try f.s.api.call("GET", "/v1/transactions", key: access)
        #expect(refused.status == 403 && refused.errorParam == "transactions:read")
        #expect(try f.s.api.call("GET", "/v1/balances", key: access).status == 200)
        // Disabled in the organization: the token stops.
        try f.s.portal.app.database.write { _ = try $0.execute("UPDATE memberships SET status = 'disabled' WHERE user_id = ?", userID) }
        #expect(try f.s.api.call("GET", "/v1/balances", key: access).status == 401)
    }

    @Test func denyGoesBackWithAccessDenied() throws {
        let f = try Flow()
        let (status, _, params) = try f.approve(decision: "deny")
        #expect(status == 303 && params["error"] == "access_denied" && params["state"] == "xyz 1" && params["code"] == nil)
        #expect(try f.s.portal.app.database.read { try $0.scalar("SELECT count(*) FROM oauth_codes", as: Int.self) } == 0)
    }

    @Test func aMemberCanOnlyGrantWhatTheirRoleAllowsAndRevokesTheirGrant() throws {
        let f = try Flow(products: ["balances", "transactions"])
        // Another user, with no organization of their own where the role allows transactions:read? An Owner
        // has every permission, so check the choice is limited to the member's own organizations.
        let stranger = Browser(f.s.portal)
        _ = try TestUser.enrolled(f.s.portal, stranger)
        let page = try stranger.get(f.authorizeQuery(scope: "transactions:read"))
        #expect(page.status == 200 && !page.text.contains(f.s.api.org) && page.text.contains("None of your organizations"))
        // Forging the Owner's organization as the choice is refused.
        let forged = try stranger.post("/oauth/authorize", Flow.formFields(page) + [("choice", "\(f.s.api.org):sandbox"), ("decision", "approve")], csrfFrom: page)
        #expect(forged.status == 422 && forged["location"] == nil)

        // The Owner grants, then revokes the grant on the security page: the tokens stop.
        let code = try #require(try f.approve().params["code"])
        let access = try #require(try f.exchange(code).string("access_token"))
        #expect(try f.s.api.call("GET", "/v1/balances", key: access).status == 200)
        let security = try f.s.api.ownerBrowser.get("/account/security")
        #expect(security.text.contains("Checkout"))
        let grant = try #require(try f.s.portal.app.database.read { try $0.scalar("SELECT public_id FROM oauth_grants", as: String.self) })
        // Another member cannot revoke it (404).
        #expect(try stranger.post("/account/security/grants/\(grant)/revoke", [], csrfFrom: try stranger.get("/account/security")).status == 404)
        let revoked = try f.s.api.ownerBrowser.post("/account/security/grants/\(grant)/revoke", [], csrfFrom: security)
        #expect(revoked.status == 303)
        #expect(try f.s.api.call("GET", "/v1/balances", key: access).status == 401)
        #expect(!(try f.s.api.ownerBrowser.get("/account/security")).text.contains("grants/\(grant)/revoke"))
        #expect(try f.s.portal.audit(of: f.s.app).contains("oauth.grant_revoked"))
    }
}
