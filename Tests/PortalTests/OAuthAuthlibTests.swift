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
