import Database

/// A user as the portal works with it. Secrets stay sealed here; the service opens them.
struct UserRecord: Sendable {
    let id: Int64
    let email: String
    let name: String
    let passwordHash: String
    let emailVerifiedAt: Int64?
    let phone: String
    let timeZone: String
    let productNews: Bool
    let reportReady: Bool
    let totpSecret: [UInt8]?
    let totpEnabledAt: Int64?
    let totpLastStep: Int64?
    let createdAt: Int64
    /// Support staff of the operator: they review requests and belong to no organization.
    let isStaff: Bool

    /// The columns ``decode(_:offset:)`` reads, in order (for the stores that join users).
    static let columns = """
        id, email, name, password_hash, email_verified_at, phone, time_zone, pref_product_news, pref_report_ready,
        totp_secret, totp_enabled_at, totp_last_step, created_at, is_staff
        """

    static func decode(_ r: some RowReading, offset o: Int = 0) throws -> UserRecord {
        UserRecord(
            id: try r.int64(o), email: try r.string(o + 1), name: try r.string(o + 2), passwordHash: try r.string(o + 3),
            emailVerifiedAt: try r.optionalInt64(o + 4), phone: try r.string(o + 5), timeZone: try r.string(o + 6),
            productNews: try r.bool(o + 7), reportReady: try r.bool(o + 8), totpSecret: try r.optionalBlob(o + 9),
            totpEnabledAt: try r.optionalInt64(o + 10), totpLastStep: try r.optionalInt64(o + 11), createdAt: try r.int64(o + 12),
            isStaff: try r.bool(o + 13))
    }

    var isVerified: Bool { emailVerifiedAt != nil }
    var hasTOTP: Bool { totpSecret != nil && totpEnabledAt != nil }
}

/// A single-use link sent by e-mail, as stored (its token only as a hash).
struct UserToken: Sendable {
    let id: Int64
    let userID: Int64
    let purpose: String
    let newEmail: String?
    let expiresAt: Int64
    let usedAt: Int64?
}
