import Foundation
import Testing
@testable import Portal

/// Flash messages ride in the session row; visitors without a session get a signed cookie.
@Suite("Flash messages: in the session row, or signed")
struct SessionFlashTests {
    func storedFlash(_ portal: TestPortal, _ browser: Browser) throws -> String? {
        let token = try #require(browser.sessionCookie)
        return try portal.app.database.read { db in
            try db.queryOne("SELECT flash FROM sessions WHERE token_hash = ?", Sessions.hash(token)).map { try $0.optionalString(0) } ?? nil
        }
    }

    @Test func aSignedInUsersMessageWaitsInTheSessionRowNotInACookie() throws {
        let (portal, b, _, _) = try TestPortal.withOwner()
        let saved = try b.post("/account/profile", [("name", "Ada King"), ("phone", ""), ("timeZone", "UTC")], csrfFrom: try b.get("/account"))
        #expect(saved.status == 303)
        #expect(!saved.all("set-cookie").contains { $0.hasPrefix("flash=") })
        #expect(try storedFlash(portal, b)?.contains("Your details are saved.") == true)

        let page = try b.get("/account")
        #expect(page.text.contains("Your details are saved."))
        #expect(try storedFlash(portal, b) == nil)
        #expect(!(try b.get("/account")).text.contains("Your details are saved."))
    }

    @Test func aMessageSetWhileASessionStartsGoesToTheNewSession() throws {
        let portal = try TestPortal()
        let b = Browser(portal)
        let user = try TestUser.enrolled(portal, b)
        try b.post("/logout", [], csrfFrom: try b.get("/account"))
        _ = try b.get("/login")   // shows (and consumes) "You are logged out."
        portal.clock.advance(seconds: 30)
        let password = try b.submit("/login", to: "/login", [("email", user.email), ("password", user.password)])
        #expect(password["Location"]?.hasPrefix("/login/mfa") == true)
        let signedIn = try b.submit("/login/mfa", to: "/login/mfa", [("code", user.recoveryCodes[0])])
        #expect(signedIn.status == 303)
        #expect(!signedIn.all("set-cookie").contains { $0.hasPrefix("flash=") })
        #expect(try storedFlash(portal, b)?.contains("You signed in with a recovery code") == true)
        var page = try b.get("/home")
        while page.status == 302 || page.status == 303, let next = page["Location"] { page = try b.get(next) }
        #expect(page.text.contains("You signed in with a recovery code"))
    }

    @Test func aVisitorWithoutASessionStillSeesTheirMessage() throws {
        let (_, b, _, _) = try TestPortal.withOwner()
        let out = try b.post("/logout", [], csrfFrom: try b.get("/account"))
        #expect(out.status == 303)
        let cookie = try #require(out.all("set-cookie").first { $0.hasPrefix("flash=") })
        #expect(cookie.contains("HttpOnly"))
        let home = try b.get("/")
        #expect(home.text.contains("You are logged out."))
        #expect(!(try b.get("/")).text.contains("You are logged out."))
    }

    @Test func aForgedFlashCookieCannotInjectAMessage() throws {
        let portal = try TestPortal()
        // What the unsigned cookie store used to accept: base64url of the JSON messages.
        let json = #"[{"kind":"error","text":"Your account is locked. Call our fraud line on +1 555 0100."}]"#
        let forged = Data(json.utf8).base64EncodedString().replacingOccurrences(of: "+", with: "-")
            .replacingOccurrences(of: "/", with: "_").replacingOccurrences(of: "=", with: "")
        for value in [forged, forged + ".9999999999.AAAA"] {
            let page = try portal.request("GET", "/login", headers: ["Cookie": "flash=\(value)"])
            #expect(page.status == 200)
            #expect(!page.text.contains("fraud line"))
        }

        // A genuine cookie with its message edited is refused as well.
        let b = Browser(portal)
        _ = try TestUser.enrolled(portal, b)
        let out = try b.post("/logout", [], csrfFrom: try b.get("/account"))
        let genuine = try #require(out.all("set-cookie").first { $0.hasPrefix("flash=") }).split(separator: ";")[0].dropFirst(6)
        let parts = genuine.split(separator: ".")
        #expect(parts.count == 3)
        let edited = forged + "." + parts[1] + "." + parts[2]
        let page = try portal.request("GET", "/login", headers: ["Cookie": "flash=\(edited)"])
        #expect(!page.text.contains("fraud line"))
        #expect(try portal.request("GET", "/login", headers: ["Cookie": "flash=\(genuine)"]).text.contains("You are logged out."))
    }
}
