import Testing
@testable import Portal

/// The redirect URI rules of OAuth 2.1 and RFC 8252, as a table of URIs an app might register.
@Suite("Apps: redirect URI rules")
struct RedirectURITests {
    static let good: [(String, RedirectURI.Kind)] = [
        ("https://app.example.com/oauth/callback", .web),
        ("https://app.example.com", .web),
        ("https://app.example.com:8443/cb?tenant=42&x=%20y", .web),
        ("https://xn--bcher-kva.example/cb", .web),
        ("https://203.0.113.7/cb", .web),
        ("https://[2001:db8::1]:443/cb", .web),
        ("http://127.0.0.1/cb", .loopback),
        ("http://127.0.0.1:51004/oauth2redirect", .loopback),
        ("http://[::1]:8080/", .loopback),
        ("http://[::1]", .loopback),
        ("com.example.app:/oauth2redirect/example-provider", .privateUse),
        ("com.example.app:/cb", .privateUse),
        ("nl.bank.mobile-app:/callback?x=1", .privateUse),
    ]

    static let bad: [(String, RedirectURIProblem)] = [
        ("", .empty),
        ("/oauth/callback", .notAbsolute),
        ("app.example.com/callback", .notAbsolute),
        ("https:/app.example.com/cb", .notAbsolute),
        ("HTTPS://app.example.com/cb", .notAbsolute),
        ("https://app.example.com/cb#frag", .fragment),
        ("https://app.example.com/cb#", .fragment),
        ("http://app.example.com/cb", .httpNotLoopback),
        ("http://10.0.0.1/cb", .httpNotLoopback),
        ("http://127.0.0.2/cb", .httpNotLoopback),
        ("http://localhost:8080/cb", .localhost),
        ("http://LOCALHOST/cb", .localhost),
        ("https://*.example.com/cb", .wildcard),
        ("https://app.*/cb", .wildcard),
        ("http://127.0.0.*/cb", .wildcard),
        ("https://user:pass@app.example.com/cb", .userinfo),
        ("https://user@app.example.com/cb", .userinfo),
        ("http://evil@127.0.0.1/cb", .userinfo),
        ("com.example.app://user@host/cb", .userinfo),
        ("javascript:alert(1)", .scheme),
        ("data:text/html,hi", .scheme),
        ("file:///etc/passwd", .scheme),
        ("ftp://example.com/cb", .scheme),
        ("myapp:/cb", .scheme),
        ("com.example.app:", .notAbsolute),
        ("https://app.example.com/c b", .invalidCharacters),
        ("https://app.example.com/<script>", .invalidCharacters),
        ("https://app.example.com/cb\n", .invalidCharacters),
        ("https://app.exämple.com/cb", .invalidCharacters),
        ("https://app.example.com\\@evil.com/", .invalidCharacters),
        ("https:///cb", .badHost),
        ("https://-bad-.example.com/cb", .badHost),
        ("https://app..example.com/cb", .badHost),
        ("https://app.example.com:0/cb", .badPort),
        ("https://app.example.com:65536/cb", .badPort),
        ("https://app.example.com:http/cb", .badPort),
        ("http://127.0.0.1:/cb", .badPort),
        ("https://app.example.com/" + String(repeating: "a", count: 2000), .tooLong),
    ]

    @Test(arguments: good)
    func accepted(uri: String, kind: RedirectURI.Kind) throws {
        let parsed = try RedirectURI.parse(uri)
        #expect(parsed.kind == kind)
        #expect(parsed.value == uri)
        #expect(parsed.matches(uri))
    }

    @Test(arguments: bad)
    func refused(uri: String, problem: RedirectURIProblem) {
        #expect(throws: problem) { try RedirectURI.parse(uri) }
        #expect(!problem.message.isEmpty)
    }

    @Test func matchingIsExactExceptTheLoopbackPort() throws {
        let web = try RedirectURI.parse("https://app.example.com/cb")
        for other in ["https://app.example.com/cb/", "https://app.example.com/CB", "https://APP.example.com/cb",
                      "https://app.example.com:443/cb", "https://app.example.com/cb?x=1", "https://app.example.com/cb#x",
                      "http://app.example.com/cb", "https://app.example.com.evil.com/cb", "https://app.example.com/cb/../cb"] {
            #expect(!web.matches(other), "\(other)")
        }
        let loopback = try RedirectURI.parse("http://127.0.0.1:8000/cb")
        // RFC 8252 §7.3: the native app picks its port when it starts.
        #expect(loopback.matches("http://127.0.0.1:51234/cb"))
        #expect(loopback.matches("http://127.0.0.1/cb"))
        for other in ["http://127.0.0.1:51234/cb2", "http://127.0.0.1:51234/cb?x", "http://[::1]:8000/cb", "https://127.0.0.1:8000/cb",
                      "http://localhost:8000/cb", "http://127.0.0.1:99999/cb", "http://127.0.0.1:8000@evil.com/cb", "http://127.0.0.1:x/cb"] {
            #expect(!loopback.matches(other), "\(other)")
        }
        let v6 = try RedirectURI.parse("http://[::1]/cb")
        #expect(v6.matches("http://[::1]:4000/cb"))
        #expect(!v6.matches("http://127.0.0.1:4000/cb"))
        let native = try RedirectURI.parse("com.example.app:/cb")
        #expect(native.matches("com.example.app:/cb"))
        #expect(!native.matches("com.example.app:/cb2"))
        #expect(!native.matches("com.example.app://cb"))
    }
}
