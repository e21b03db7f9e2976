import Foundation
import Security
@testable import Portal

/// API key helpers: making keys through the real form, reading the secret off the page once,
/// and calling the API with it over a socket.
extension Browser {
    /// Submits the new key form of `env`; the answer is the secret page (201) or the form again.
    func createKey(_ org: String, env: String = "sandbox", name: String = "Checkout server", _ extra: [(String, String)] = []) throws -> TestResponse {
        try submit("/orgs/\(org)/\(env)/api-keys/new", to: "/orgs/\(org)/\(env)/api-keys/new", [("name", name)] + extra)
    }
}

extension TestResponse {
    /// The secret on a page that shows one (the `<p id="secret">`), or nil.
    var shownSecret: String? {
        guard let r = text.range(of: #"id="secret" aria-labelledby="secret-label">(sk_[A-Za-z0-9_]+)</p>"#, options: .regularExpression) else { return nil }
        let m = text[r]
        return String(m[m.range(of: ">")!.upperBound..<m.range(of: "</p>")!.lowerBound])
    }

    /// The JSON error body without its request id, which differs per request.
    var errorWithoutRequestID: String {
        text.replacingOccurrences(of: #""request_id":"[^"]*""#, with: "", options: .regularExpression)
    }
}

extension TestPortal {
    /// `GET /v1/ping` with `Authorization: Bearer <secret>` (or another header), from `source`.
    func ping(_ secret: String, basic: Bool = false, from source: String? = nil) throws -> TestResponse {
        let header = basic ? "Basic " + Base64.encode(Array((secret + ":").utf8)) : "Bearer " + secret
        return try request("GET", "/v1/ping", headers: ["Authorization": header], from: source)
    }

    /// The public id of the key whose secret is `secret`.
    func keyID(_ secret: String) throws -> String {
        try app.database.read { try $0.scalar("SELECT public_id FROM api_keys WHERE secret_sha256 = ?", Digest.sha256(secret), as: String.self) }!
    }
}
