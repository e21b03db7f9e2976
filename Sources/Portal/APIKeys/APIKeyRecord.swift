/// An API key as stored (never its secret): who made it, what it may do, from where, until
/// when, and what became of it.
struct APIKeyRecord: Sendable {
    let id: Int64
    let publicID: String
    let organizationID: Int64
    let environment: Environment
    let name: String
    let secretSHA256: [UInt8]
    let displayPrefix: String
    let last4: String
    let restrictions: APIKeyRestrictions
    /// nil: any address.
    let ipAllowlist: [CIDR]?
    let createdBy: Int64?
    let createdByName: String
    let createdAt: Int64
    let expiresAt: Int64?
    let revokedAt: Int64?
    let revokedByName: String?
    let rolledFrom: Int64?
    let replacedBy: Int64?
    /// The public id of the key that replaced this one.
    let replacedByPublicID: String?
    /// A rolled key's overlap end.
    let endsAt: Int64?
    let lastUsedAt: Int64?
    let lastUsedIP: String?
    let reminded30At: Int64?
    let reminded7At: Int64?
    let reminded1At: Int64?
    let expiredAt: Int64?
    /// `sk_sandbox_Ab3x…wXyZ`: enough to tell keys apart, nothing to use (``masking(_:_:)``).
    /// Made once with the record: every API request's credential and log entry name the key by it.
    let masked: String
    /// How the request log names the key, made with the record (``APICredentialLogIdentity``).
    let logIdentity: APICredentialLogIdentity

    static func masking(_ displayPrefix: String, _ last4: String) -> String { "\(displayPrefix)…\(last4)" }

    enum Status: String, Sendable {
        case active, rolling, revoked, expired, ended

        var title: String {
            switch self {
            case .active: "Active"
            case .rolling: "Rolled, still working"
            case .revoked: "Revoked"
            case .expired: "Expired"
            case .ended: "Rolled, ended"
            }
        }
    }

    /// The status at `now`, by the clock alone: an expiry or an overlap end takes effect at
    /// that second, whether or not the job that records it has run.
    func status(now: Int64) -> Status {
        if revokedAt != nil { return .revoked }
        if let e = expiresAt, e <= now { return .expired }
        if replacedBy != nil { return (endsAt ?? 0) <= now ? .ended : .rolling }
        return .active
    }

    /// Whether a request may be made with it at `now`.
    func isUsable(now: Int64) -> Bool {
        let s = status(now: now)
        return s == .active || s == .rolling
    }

    /// Whether `address` may use it (always, without an allowlist).
    func allows(_ address: String) -> Bool {
        guard let ipAllowlist else { return true }
        return ipAllowlist.contains { $0.contains(address) }
    }
}
