import Foundation
import Synchronization
import Testing
import Web
@testable import Portal

/// A credential the test makes up (until API keys exist on this branch, and for access levels
/// and creators a key would take several pages to set): the API sees only the
/// ``APICredential`` contract, which real keys fulfil the same way.
struct TestAPIKey: APICredential {
    let publicID: String
    let organizationID: Int64
    let environment: Environment
    let levels: [APIResource: APIAccessLevel]
    let createdByUserID: Int64?
    var logName: String { publicID }
    func access(to resource: APIResource) -> APIAccessLevel { levels[resource] ?? .none }
}

final class TestAPIKeys: APICredentialVerifier, Sendable {
    private let keys = Mutex<[String: TestAPIKey]>([:])

    func verify(scheme: String, token: String, request: Request) throws -> (any APICredential)? {
        guard scheme == "bearer" else { return nil }
        return keys.withLock { $0[token] }
    }

    /// A new token for a credential of `org` in `env`.
    func make(org: Int64, env: Environment = .sandbox, levels: [APIResource: APIAccessLevel] = [.balances: .write, .transactions: .write, .payouts: .write],
              createdBy: Int64? = nil) -> String {
        let token = "sk_test_" + UUID().uuidString.replacingOccurrences(of: "-", with: "")
        keys.withLock { $0[token] = TestAPIKey(publicID: PublicID.make("key"), organizationID: org, environment: env, levels: levels, createdByUserID: createdBy) }
        return token
    }
}

/// An API response: status, headers and the body as JSON, already checked against the
/// OpenAPI document (its status is documented for the operation and its body matches the
/// schema); `problems` lists what did not.
struct APIResponse {
    let raw: TestResponse
    let json: JSONValue
    var status: Int { raw.status }
    subscript(_ name: String) -> String? { raw[name] }
    subscript(path path: String) -> JSONValue? { json.at(path) }
    func string(_ path: String) -> String? { if case .string(let s)? = json.at(path) { return s }; return nil }
    func int(_ path: String) -> Int64? { if case .integer(let i)? = json.at(path) { return i }; return nil }
    var errorCode: String? { string("error.code") }
    var errorParam: String? { string("error.param") }
    var ids: [String] {
        guard case .array(let items)? = json.at("data") else { return [] }
        return items.compactMap { if case .string(let s)? = $0.at("id") { return s }; return nil }
    }
}

extension JSONValue {
    /// The value at a dotted path (`error.code`, `data.0.id`).
    func at(_ path: String) -> JSONValue? {
        var v: JSONValue? = self
        for part in path.split(separator: ".") {
            switch v {
            case .object(let o)?: v = o[String(part)]
            case .array(let a)?: v = Int(part).flatMap { $0 < a.count ? a[$0] : nil }
            default: return nil
            }
        }
        return v
    }
}

/// A portal whose API accepts ``TestAPIKeys``, with a signed-in Owner of one organization.
struct APITestPortal {
    let portal: TestPortal
    let keys: TestAPIKeys
    let owner: TestUser
    let ownerBrowser: Browser
    let org: String
    let orgID: Int64
    static let document: OpenAPISchemaCheck = try! OpenAPISchemaCheck(file: repoRoot + "/Public/openapi.json")

    init(configure: (inout PortalConfig) -> Void = { _ in }) throws {
        let keys = TestAPIKeys()
        portal = try TestPortal { config in
            config.apiVerifiers = [keys]
            configure(&config)
        }
        self.keys = keys
        ownerBrowser = Browser(portal)
        owner = try TestUser.enrolled(portal, ownerBrowser)
        org = try owner.createOrganization(portal, ownerBrowser)
        orgID = try portal.orgRowID(org)
    }

    var ownerID: Int64 {
        get throws { try portal.app.database.read { try $0.scalar("SELECT id FROM users WHERE email = ?", owner.email, as: Int64.self) }! }
    }

    func key(_ env: Environment = .sandbox, _ levels: [APIResource: APIAccessLevel] = [.balances: .write, .transactions: .write, .payouts: .write],
             createdBy: Int64? = nil, org: Int64? = nil) -> String {
        keys.make(org: org ?? orgID, env: env, levels: levels, createdBy: createdBy)
    }

    /// One call; the response is checked against the OpenAPI document (an `#expect` fails
    /// for a status or body the document does not describe).
    @discardableResult
    func call(_ method: String, _ path: String, key: String?, body: String? = nil, headers: [String: String] = [:],
              sourceLocation: SourceLocation = #_sourceLocation) throws -> APIResponse {
        var h = headers
        if let key { h["Authorization"] = "Bearer \(key)" }
        if body != nil, h["Content-Type"] == nil { h["Content-Type"] = "application/json" }
        let r = try portal.request(method, path, headers: h, body: body)
        let json = r.body.isEmpty ? JSONValue.null : try JSONBody.decode(JSONValue.self, from: r.body)
        let problems = Self.document.check(method: method, path: path, status: r.status, body: json)
        #expect(problems.isEmpty, "\(method) \(path) → \(r.status): \(problems) \(r.text.prefix(300))", sourceLocation: sourceLocation)
        return APIResponse(raw: r, json: json)
    }

    func transactionCount() throws -> Int {
        try portal.app.database.read { try $0.scalar("SELECT count(*) FROM transactions WHERE organization_id = ?", orgID, as: Int.self) } ?? 0
    }
}
