/// An app of one organization's environment (an OAuth client), as stored.
struct AppRecord: Sendable, Equatable {
    let id: Int64
    let publicID: String
    let organizationID: Int64
    let environment: Environment
    let name: String
    let certificateID: Int64?
    let createdByName: String
    let createdAt: Int64
}

/// One set of client credentials of an app. The secret itself is never here.
struct AppCredentialRecord: Sendable, Equatable {
    let id: Int64
    let appID: Int64
    let clientID: String
    let name: String
    let secretSHA256: [UInt8]
    let last4: String
    let previousSHA256: [UInt8]?
    let previousEndsAt: Int64?
    let createdByName: String
    let createdAt: Int64
    let resetAt: Int64?
    let lastUsedAt: Int64?
    let lastUsedIP: String?
    let expiresAt: Int64?

    var masked: String { ClientSecret.masked(last4: last4) }

    func isExpired(now: Int64) -> Bool { expiresAt.map { $0 <= now } ?? false }

    /// Unused for 90 days: last used more than 90 days ago, or never used and made more
    /// than 90 days ago.
    func isIdle(now: Int64) -> Bool { (lastUsedAt ?? createdAt) < now - Apps.idleAfter }

    /// Whether the secret before the last reset still works at `now`.
    func previousWorks(now: Int64) -> Bool {
        previousSHA256 != nil && (previousEndsAt ?? 0) > now
    }
}

/// A certificate of the organization's store (public data only: never a key).
struct CertificateRecord: Sendable, Equatable {
    let id: Int64
    let publicID: String
    let organizationID: Int64
    let sha256: [UInt8]
    let subject: String
    let issuer: String
    let serial: String
    let keyType: String
    let notBefore: Int64
    let notAfter: Int64
    let altNames: String
    let createdByName: String
    let createdAt: Int64

    var fingerprint: String { sha256.map { String($0, radix: 16, uppercase: true).leftPadded(2) }.joined(separator: ":") }
}

struct AppRedirectURIRecord: Sendable, Equatable {
    let id: Int64
    let publicID: String
    let appID: Int64
    let uri: String
    let createdAt: Int64
}

struct AppSubscriptionRecord: Sendable, Equatable {
    let appID: Int64
    let product: String
    let createdByName: String
    let createdAt: Int64
}

extension String {
    fileprivate func leftPadded(_ width: Int) -> String {
        count >= width ? self : String(repeating: "0", count: width - count) + self
    }
}
