import Foundation
import Testing
import TestSupport
@testable import Portal

/// A token mailed in a link is a key: it must not reach a log line, whether the path was
/// typed right (a route hides it), mistyped (no route, a 404), or refused by the HTTP layer
/// before routing (a 413 logs the path it refused).
extension TeamTests {
    @Test func noMistypedSecretPathWritesItsTokenToTheLog() throws {
        let capture = LogCapture()
        let portal = try TestPortal(logger: capture.logger)
        let a = Browser(portal)
        let ana = try TestUser.enrolled(portal, a)
        let org = try ana.createOrganization(portal, a)
        #expect(try invite(portal, a, org: org, email: "bo@example.com", role: "employee").status == 303)
        let link = try invitationLink(portal, "bo@example.com")
        let token = String(link.dropFirst("/invitations/".count))
        let b = Browser(portal)
        // The link as mailed, and its sign-up form: routes that hide the token themselves.
        #expect(try b.get(link).status == 200)
        #expect(try b.get(link + "/signup").status == 200)
        // A real token with a sub-path no route has, and tokens where a mail client mangled
        // the `?token=` of a reset, verification or setup link into a path segment.
        #expect(try b.get(link + "/signupp").status == 404)
        #expect(try b.get(link + "/accept/\(token)").status == 404)
        #expect(try b.get("/reset-password/\(token)").status == 404)
        #expect(try b.get("/verify-email/\(token)").status == 404)
        #expect(try b.get("/setup-account/\(token)").status == 404)
        #expect(try b.get("/account/email/confirm/\(token)").status == 404)
        // Refused before routing, with the path in the refusal's log line.
        let big = try portal.request("POST", link + "/signup", headers: ["Content-Length": "999999999"])
        #expect(big.status == 413)
        // The development mail transport logs the mail itself, link and all (never in
        // production); every other line is what an operator keeps.
        let lines = capture.lines.filter { !$0.message.hasPrefix("mail not sent") }.map(\.rendered)
        #expect(!lines.contains { $0.contains(token) }, "\(lines.filter { $0.contains(token) })")
        // The log still says what was asked for, without the secret (an unknown word under
        // a secret path is masked too: it may be a token in an unexpected place).
        #expect(lines.contains { $0.contains("path=/invitations/[token]/[token]") && $0.contains("status=404") })
        #expect(lines.contains { $0.contains("path=/reset-password/[token]") })
        #expect(lines.contains { $0.contains("path=/invitations/[token]/signup") && $0.contains("status=200") })
        #expect(lines.contains { $0.contains("path=/invitations/[token]/signup") && $0.contains("status=413") })
    }
}
