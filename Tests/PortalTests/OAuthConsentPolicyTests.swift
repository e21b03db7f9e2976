import Testing
@testable import Portal

/// The consent page's `form-action` must name the client's redirect origin, or a browser stops
/// the approve/deny redirect (the browser journey caught Chromium doing so); and nothing in a
/// registered URI may widen the policy beyond that origin.
@Suite("OAuth consent page: the redirect's origin in form-action, and nothing more")
struct OAuthConsentPolicyTests {
    @Test(arguments: [
        ("http://127.0.0.1:8765/callback", "http://127.0.0.1:8765"),
        ("http://[::1]:9000/cb?x=1", "http://[::1]:9000"),
        ("https://app.example.com/oauth/cb", "https://app.example.com"),
        ("https://app.example.com:8443/cb", "https://app.example.com:8443"),
        ("com.example.app:/callback", "com.example.app:"),
    ])
    func originOfARegisteredURI(uri: String, source: String) {
        #expect(OAuthConsentController.formActionSource(uri) == source)
    }

    @Test(arguments: ["https://a.example.com;script-src *", "https://a.example.com 'unsafe-inline'/", "not a uri at all ;", "ht tp://x/"])
    func nothingThatCouldBendThePolicy(uri: String) {
        let source = OAuthConsentController.formActionSource(uri)
        #expect(source == nil || (!source!.contains(";") && !source!.contains(" ") && !source!.contains("'")), "\(source ?? "nil")")
    }
}
