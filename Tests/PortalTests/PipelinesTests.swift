import Foundation
import HTTP
import Testing
import Web
@testable import Portal

/// The two pipelines on the real server: pages for people, JSON for programs.
@Suite("Pipelines: pages for people, JSON for programs")
struct PipelinesTests {
    func jsonError(_ r: TestResponse) throws -> [String: String] {
        #expect(r["content-type"] == "application/json")
        let obj = try #require(try JSONSerialization.jsonObject(with: Data(r.body)) as? [String: Any])
        return try #require(obj["error"] as? [String: Any]).compactMapValues { $0 as? String }
    }

    @Test func pingAnswersWithoutCredentials() throws {
        let portal = try TestPortal()
        let r = try portal.request("GET", "/v1/ping")
        #expect(r.status == 200)
        #expect(r["content-type"] == "application/json")
        #expect(r.text == #"{"ok":true}"#)
        #expect(r["x-request-id"] != nil)
        #expect(r["x-content-type-options"] == "nosniff")
        // No cookie is set by the API, not even a visitor's CSRF cookie.
        #expect(r.all("set-cookie").isEmpty)
        let head = try portal.request("HEAD", "/v1/ping")
        #expect(head.status == 200 && head.body.isEmpty && head["content-length"] == "11")
    }

    @Test func apiErrorsAreJSONAndPagesErrorsArePages() throws {
        let portal = try TestPortal()
        let missing = try portal.request("GET", "/v1/nope")
        #expect(missing.status == 404)
        #expect(try jsonError(missing)["code"] == "resource_missing")
        #expect(try jsonError(missing)["request_id"] == missing["x-request-id"])
        // /oauth answers in RFC 6749's shape, not /v1's: a GET of the token endpoint is a 405.
        let oauth = try portal.request("GET", "/oauth/token")
        #expect(oauth.status == 405 && oauth["content-type"] == "application/json")
        let oauthError = try #require(try JSONSerialization.jsonObject(with: Data(oauth.body)) as? [String: Any])
        #expect(oauthError["error"] as? String == "invalid_request" && oauthError["error_description"] is String)

        let wrong = try portal.request("DELETE", "/v1/ping")
        #expect(wrong.status == 405)
        #expect(wrong["allow"] == "GET, HEAD")
        #expect(try jsonError(wrong)["type"] == "invalid_request_error")

        let page = try portal.request("GET", "/nope")
        #expect(page.status == 404)
        #expect(page["content-type"] == "text/html; charset=utf-8")
        #expect(page.text.contains("<html"))
        let pageWrong = try portal.request("DELETE", "/login")
        #expect(pageWrong.status == 405)
        #expect(pageWrong["content-type"] == "text/html; charset=utf-8")
    }

    @Test func bodyTooLargeIsJSONUnderTheAPIAndAPageElsewhere() throws {
        let portal = try TestPortal()
        // Refused by the HTTP layer from the declared length, before any routing.
        let api = try portal.raw("POST /v1/ping HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 50000000\r\n\r\n")
        #expect(api.status == 413)
        #expect(try jsonError(api)["code"] == "body_too_large")
        let page = try portal.raw("POST /login HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 50000000\r\n\r\n")
        #expect(page.status == 413)
        #expect(page["content-type"] == "text/html; charset=utf-8")
    }

    @Test func apiPostsAreNotRefusedForCSRFButPagePostsStillAre() throws {
        let portal = try TestPortal()
        // A cross-site POST with no cookie and no form token reaches the API's router: the
        // answer is about the route (405), not "your form expired".
        let api = try portal.request("POST", "/v1/ping", headers: ["Content-Type": "application/json", "Origin": "https://evil.example",
                                                                   "Sec-Fetch-Site": "cross-site"], body: "{}")
        #expect(api.status == 405)
        #expect(try jsonError(api)["code"] == "method_not_allowed")
        // The same POST to a page is refused for CSRF, with a page.
        let page = try portal.request("POST", "/login", headers: ["Content-Type": "application/x-www-form-urlencoded"], body: "email=a%40b.c&password=x")
        #expect(page.status == 403)
        #expect(page["content-type"] == "text/html; charset=utf-8")
        #expect(page.text.contains("form expired"))
        let crossSite = try portal.request("POST", "/login", headers: ["Content-Type": "application/x-www-form-urlencoded", "Sec-Fetch-Site": "cross-site"],
                                           body: "email=a%40b.c&password=x")
        #expect(crossSite.status == 403)
    }

    /// CSRF runs only for a routed request: a form POSTed to nowhere is the 404 page, and
    /// the router is asked once (``Request/isRouted``), not twice.
    @Test func aPagePostToNoRouteIsA404NotACSRFRefusal() throws {
        let portal = try TestPortal()
        let r = try portal.request("POST", "/no-such-form", headers: ["Content-Type": "application/x-www-form-urlencoded"], body: "a=b")
        #expect(r.status == 404)
        #expect(r["content-type"] == "text/html; charset=utf-8")
        let wrongMethod = try portal.request("PUT", "/login", headers: ["Content-Type": "application/x-www-form-urlencoded"], body: "a=b")
        #expect(wrongMethod.status == 405)
    }

    @Test func theAPIReadsNoSessionCookie() throws {
        let (portal, b, _, _) = try TestPortal.withOwner()
        let cookie = try #require(b.sessionCookie)
        // A signed-in browser's cookie gives the API nothing: no session, no no-store from
        // the pages pipeline, no cookie back.
        let r = try portal.request("GET", "/v1/ping", headers: ["Cookie": "portal_session=\(cookie)"])
        #expect(r.status == 200)
        #expect(r.all("set-cookie").isEmpty)
        #expect(r["cache-control"] == nil)
    }

    @Test(arguments: ["Bearer", "Bearer a b", "Basic ???", "Bearer " + String(repeating: "a", count: 5000)])
    func malformedAuthorizationIs401JSON(header: String) throws {
        let portal = try TestPortal()
        let r = try portal.request("GET", "/v1/ping", headers: ["Authorization": header])
        #expect(r.status == 401)
        #expect(r["www-authenticate"] == "Bearer realm=\"portal\"")
        let e = try jsonError(r)
        #expect(e["type"] == "authentication_error")
        #expect(e["code"] == "invalid_credentials")
    }

    /// The header's parts as RFC 9110 §11.4 reads them, whatever the spacing; everything else nil.
    @Test func authorizationHeadersSplitIntoSchemeAndToken() {
        func parts(_ h: String) -> [String]? { APICredentialsMiddleware.parse(h).map { [$0.scheme, $0.token] } }
        #expect(parts("Bearer sk_sandbox_abc") == ["bearer", "sk_sandbox_abc"])
        #expect(parts("  BASIC   dXNlcjo=  ") == ["basic", "dXNlcjo="])
        #expect(parts("X-Custom-Scheme a.b~c+/=") == ["x-custom-scheme", "a.b~c+/="])
        for bad in ["", " ", "Bearer", "Bearer ", " sk_x", "Bearer a b", "Bearer\tabc", "Bearer ab\u{301}c", "Béarer abc",
                    "Bearer sk_\u{0}x", "Bear_er abc", "Bearer " + String(repeating: "a", count: 4097), "Bearer \u{301}abc"] {
            #expect(APICredentialsMiddleware.parse(bad) == nil, "\(bad.debugDescription)")
        }
        #expect(APICredentialsMiddleware.parse("Bearer " + String(repeating: "a", count: 4096))?.token.utf8.count == 4096)
    }

    @Test func anUnknownCredentialIs401NotIgnored() throws {
        let portal = try TestPortal()
        let r = try portal.request("GET", "/v1/ping", headers: ["Authorization": "Bearer sk_test_unknown"])
        #expect(r.status == 401)
        #expect(try jsonError(r)["code"] == "invalid_credentials")
        #expect(!r.text.contains("sk_test_unknown"))
    }

    /// The extension point the API-key issue plugs into.
    struct TestKey: APICredential {
        let logName: String
        var publicID: String { "key_test" }
        var organizationID: Int64 { 1 }
        var environment: Environment { .sandbox }
        func access(to resource: APIResource) -> APIAccessLevel { .read }
    }
    struct TestVerifier: APICredentialVerifier {
        func verify(scheme: String, token: String, request: Request) throws -> (any APICredential)? {
            scheme == "bearer" && token == "good" ? TestKey(logName: "key_…good") : nil
        }
    }

    @Test func verifiersDecideTheCredentialAndRoutesMayRequireOne() throws {
        var router = Router()
        router.group("/v1", middleware: [APICredentialsMiddleware(verifiers: [TestVerifier()])], errors: JSONErrors()) { v1 in
            v1.get("/open") { req in .text(req.apiCredential?.logName ?? "anonymous") }
            v1.group("", middleware: [RequireAPICredential()]) { keyed in
                keyed.get("/me") { req in .text(req.apiCredential?.logName ?? "-") }
                keyed.get("/boom") { _ in throw CocoaError(.fileNoSuchFile) }
            }
        }
        let app = WebApplication(router: router)
        func get(_ path: String, _ auth: String? = nil) -> HTTPResponse {
            app.respond(to: HTTPRequest(head: HTTPRequestHead(method: .GET, target: path, headers: HTTPHeaders(auth.map { [("Authorization", $0)] } ?? [])), body: []))
        }
        #expect(String(decoding: get("/v1/open").bufferedBody ?? [], as: UTF8.self) == "anonymous")
        #expect(String(decoding: get("/v1/me", "bearer good").bufferedBody ?? [], as: UTF8.self) == "key_…good")
        let anonymous = get("/v1/me")
        #expect(anonymous.status == .unauthorized)
        #expect(String(decoding: anonymous.bufferedBody ?? [], as: UTF8.self).contains("invalid_credentials"))
        #expect(get("/v1/me", "Bearer bad").status == .unauthorized)
        // An unexpected error under the API is a JSON 500 that says nothing of the error.
        let boom = get("/v1/boom", "Bearer good")
        #expect(boom.status == .internalServerError)
        #expect(boom.headers["Content-Type"] == "application/json")
        let text = String(decoding: boom.bufferedBody ?? [], as: UTF8.self)
        #expect(text.contains("\"internal_error\"") && !text.contains("NSCocoaErrorDomain") && !text.contains("fileNoSuchFile"))
    }

    /// The pages pipeline reads the session before the 404, so the page can send a
    /// signed-in person to their organizations rather than to the public home page.
    @Test func theNotFoundPageLinksASignedInUserToTheirOrganizations() throws {
        let (portal, b, _, _) = try TestPortal.withOwner()
        let signedIn = try b.get("/no-such-page")
        #expect(signedIn.status == 404)
        #expect(signedIn.text.contains("<a class=\"button secondary\" href=\"/orgs\">Back to your organizations</a>"))
        #expect(!signedIn.text.contains("Back to the home page"))
        let otherOrg = try b.get("/orgs/999999/team")
        #expect(otherOrg.status == 404)
        #expect(otherOrg.text.contains("Back to your organizations"))

        let visitor = try portal.request("GET", "/no-such-page")
        #expect(visitor.status == 404)
        #expect(visitor.text.contains("<a class=\"button secondary\" href=\"/\">Back to the home page</a>"))
        #expect(!visitor.text.contains("Back to your organizations"))
    }
}
