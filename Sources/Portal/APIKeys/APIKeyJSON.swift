import Foundation

/// An API key as the API and its events show it (`"object": "api_key"`): never the secret,
/// only its masked form. Times are ISO 8601 UTC.
struct APIKeyJSON: Encodable {
    let object = "api_key"
    let id: String
    let name: String
    let environment: String
    let masked_secret: String
    let restrictions: [String: String]?
    let ip_allowlist: [String]?
    let status: String
    let created: String
    let expires_at: String?
    let revoked_at: String?
    let replaced_by: String?
    let overlap_ends_at: String?

    init(_ k: APIKeyRecord, now: Int64) {
        id = k.publicID
        name = k.name
        environment = k.environment.rawValue
        masked_secret = k.masked
        restrictions = k.restrictions.levels.map { l in Dictionary(uniqueKeysWithValues: APIResource.allCases.map { ($0.rawValue, (l[$0] ?? .none).rawValue) }) }
        ip_allowlist = k.ipAllowlist?.map(\.description)
        status = k.status(now: now).rawValue
        created = PageTime.iso8601(k.createdAt)
        expires_at = k.expiresAt.map { PageTime.iso8601($0) }
        revoked_at = k.revokedAt.map { PageTime.iso8601($0) }
        replaced_by = k.replacedByPublicID
        overlap_ends_at = k.endsAt.map { PageTime.iso8601($0) }
    }

    enum CodingKeys: String, CodingKey {
        case object, id, name, environment, masked_secret, restrictions, ip_allowlist, status, created, expires_at, revoked_at, replaced_by, overlap_ends_at
    }

    func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(object, forKey: .object)
        try c.encode(id, forKey: .id)
        try c.encode(name, forKey: .name)
        try c.encode(environment, forKey: .environment)
        try c.encode(masked_secret, forKey: .masked_secret)
        // Explicit nulls: a consumer reads "unrestricted", "any address", "never".
        try c.encode(restrictions, forKey: .restrictions)
        try c.encode(ip_allowlist, forKey: .ip_allowlist)
        try c.encode(status, forKey: .status)
        try c.encode(created, forKey: .created)
        try c.encode(expires_at, forKey: .expires_at)
        try c.encode(revoked_at, forKey: .revoked_at)
        try c.encode(replaced_by, forKey: .replaced_by)
        try c.encode(overlap_ends_at, forKey: .overlap_ends_at)
    }
}
