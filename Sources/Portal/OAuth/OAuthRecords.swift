/// An access token as stored (its text never is: only its SHA-256).
struct OAuthAccessTokenRecord: Sendable, Equatable {
    let id: Int64
    let publicID: String
    let tokenSHA256: [UInt8]
    let credentialID: Int64
    let clientID: String
    let appID: Int64
    let organizationID: Int64
    let environment: Environment
    let scopes: [String]
    let userID: Int64?
    let grantID: Int64?
    let family: String?
    let thumbprint: String?
    let createdAt: Int64
    let expiresAt: Int64
    let revokedAt: Int64?
    /// The granting member's permissions when the token was read (nil: no member).
    var memberPermissions: Set<Permission>? = nil

    func isActive(now: Int64) -> Bool { revokedAt == nil && expiresAt > now }

    /// The scopes usable now: a member's token loses those the member's role no longer allows.
    var usableScopes: [String] {
        guard let perms = memberPermissions else { return scopes }
        return scopes.filter { s in OAuthScope.permission(for: s).map { !$0.isDisjoint(with: perms) } ?? true }
    }
}

/// A refresh token as stored (hash only).
struct OAuthRefreshTokenRecord: Sendable, Equatable {
    let id: Int64
    let tokenSHA256: [UInt8]
    let family: String
    let grantID: Int64
    let credentialID: Int64
    let appID: Int64
    let scopes: [String]
    let createdAt: Int64
    let expiresAt: Int64
    let usedAt: Int64?
    let revokedAt: Int64?
}

/// The scopes of the `/v1` API, and what each lets a token do.
enum OAuthScope {
    /// Every scope the server knows (the Apps catalogue grants a subset per app).
    static let all: [String] = AppProduct.scopes(of: AppProduct.catalogue.map(\.id))

    /// `balances:read` → (.balances, .read).
    static func parse(_ scope: String) -> (APIResource, APIAccessLevel)? {
        let parts = scope.split(separator: ":", omittingEmptySubsequences: false)
        guard parts.count == 2, let r = APIResource(rawValue: String(parts[0])),
              let l = APIAccessLevel(rawValue: String(parts[1])), l != .none else { return nil }
        return (r, l)
    }

    /// The member permissions any one of which lets a member grant `scope`; nil when every
    /// active member may (balances: every member sees the dashboard).
    static func permission(for scope: String) -> Set<Permission>? {
        switch scope {
        case "balances:read": nil
        case "transactions:read": [.transactionsRead]
        case "transactions:write": [.transactionsCancel]
        case "payouts:read": [.payoutsCreate, .payoutsAuthorize]
        case "payouts:write": [.payoutsCreate]
        default: []
        }
    }

    static func name(_ resource: APIResource, _ level: APIAccessLevel) -> String { "\(resource.rawValue):\(level.rawValue)" }

    /// Splits a `scope` parameter (RFC 6749 §3.3: space-separated); nil when malformed.
    static func split(_ raw: String) -> [String]? {
        let items = raw.split(separator: " ", omittingEmptySubsequences: false).map(String.init)
        guard !items.isEmpty, items.allSatisfy({ !$0.isEmpty && $0.utf8.allSatisfy { $0 > 0x20 && $0 < 0x7F && $0 != 0x22 && $0 != 0x5C } }) else {
            return nil
        }
        return Array(Set(items)).sorted()
    }
}
