import Foundation
import Testing
import TestSupport
import Web
@testable import Portal

/// Authlib (PyPI `Authlib`, Tests/OAuth/requirements.txt), a client written by others, drives
/// the token endpoint, introspection and revocation over real sockets.
@Suite("OAuth: Authlib as the client")
struct OAuthAuthlibTests {
    static func runPython(_ args: [String]) throws -> (status: Int32, out: String, err: String) {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = ["python3"] + args
        let out = Pipe(), err = Pipe()
        p.standardOutput = out
        p.standardError = err
        try p.run()
        let o = out.fileHandleForReading.readDataToEndOfFile()
        let e = err.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        return (p.terminationStatus, String(decoding: o, as: UTF8.self), String(decoding: e, as: UTF8.self))
    }

    @Test func authlibClientCredentialsIntrospectRevoke() throws {
        let s = try OAuthTests.Setup(products: ["balances"])
        let r = try Self.runPython([repoRoot + "/Tests/OAuth/authlib_client.py", "http://127.0.0.1:\(s.portal.port)", s.clientID, s.secret])
        #expect(r.status == 0, "authlib_client.py failed (pip install -r Tests/OAuth/requirements.txt): \(r.err.suffix(1500))")
        let json = try JSONBody.decode(JSONValue.self, from: Array(r.out.utf8))
        let out = APIResponse(raw: try TestResponse(parsing: Array("HTTP/1.1 200 OK\r\n\r\n".utf8), headRequest: false), json: json)
        #expect(out.string("basic.token_type") == "Bearer" && out.string("basic.scope") == "balances:read" && out.int("basic.expires_in") == 3600)
        #expect(out.int("basic_balances") == 200)
        #expect(out.string("post.token_type") == "Bearer" && out.string("post.scope") == "balances:read")
        #expect(out.string("outside") == "invalid_scope")
        #expect(out.string("wrong_secret") == "invalid_client")
        #expect(out.bool("introspect.active") == true && out.string("introspect.client_id") == s.clientID)
        #expect(out.int("revoke_status") == 200)
        #expect(out.int("after_revoke") == 401)
    }
}

extension OAuthAuthlibTests {
    @Test func authlibCodeFlowWithPKCE() throws {
        let f = try OAuthCodeFlowTests.Flow(products: ["balances"])
        let base = "http://127.0.0.1:\(f.s.portal.port)"
        let script = repoRoot + "/Tests/OAuth/authlib_code_flow.py"
        let start = try Self.runPython([script, "start", base, f.s.clientID, f.s.secret, OAuthCodeFlowTests.callback])
        #expect(start.status == 0, "\(start.err.suffix(1500))")
        let started = try JSONBody.decode(JSONValue.self, from: Array(start.out.utf8))
        guard case .string(let url)? = started.at("url"), case .string(let verifier)? = started.at("verifier"),
              case .string(let state)? = started.at("state") else { throw TestFailure("no authorization URL: \(start.out)") }
        #expect(url.contains("code_challenge_method=S256") && url.contains("code_challenge="))
        // The member consents in the browser.
        let path = String(url.dropFirst(base.count))
        let page = try f.s.api.ownerBrowser.get(path)
        #expect(page.status == 200, "\(page.text.prefix(300))")
        let approved = try f.s.api.ownerBrowser.post("/oauth/authorize", OAuthCodeFlowTests.Flow.formFields(page) + [("decision", "approve")], csrfFrom: page)
        let callback = try #require(approved["location"])
        #expect(callback.hasPrefix(OAuthCodeFlowTests.callback))
        let finish = try Self.runPython([script, "finish", base, f.s.clientID, f.s.secret, OAuthCodeFlowTests.callback, verifier, state, callback])
        #expect(finish.status == 0, "\(finish.err.suffix(1500))")
        let json = try JSONBody.decode(JSONValue.self, from: Array(finish.out.utf8))
        let out = APIResponse(raw: try TestResponse(parsing: Array("HTTP/1.1 200 OK\r\n\r\n".utf8), headRequest: false), json: json)
        #expect(out.string("token.token_type") == "Bearer" && out.string("token.scope") == "balances:read")
        #expect(out.bool("has_refresh") == true && out.int("balances") == 200)
        #expect(out.bool("refreshed") == true && out.int("balances_after_refresh") == 200)
        #expect(out.string("reuse") == "invalid_grant")
    }
}
