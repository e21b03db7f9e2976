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

    var isVerified: Bool { emailVerifiedAt != nil }
    var hasTOTP: Bool { totpSecret != nil && totpEnabledAt != nil }
}

/// The SQL for users, recovery codes, e-mail tokens and support requests.
struct AccountsStore {
    static let userColumns = """
        id, email, name, password_hash, email_verified_at, phone, time_zone, pref_product_news, pref_report_ready,
        totp_secret, totp_enabled_at, totp_last_step, created_at, is_staff
        """

    static func user(_ r: some RowReading, offset o: Int = 0) throws -> UserRecord {
        UserRecord(
            id: try r.int64(o), email: try r.string(o + 1), name: try r.string(o + 2), passwordHash: try r.string(o + 3),
            emailVerifiedAt: try r.optionalInt64(o + 4), phone: try r.string(o + 5), timeZone: try r.string(o + 6),
            productNews: try r.bool(o + 7), reportReady: try r.bool(o + 8), totpSecret: try r.optionalBlob(o + 9),
            totpEnabledAt: try r.optionalInt64(o + 10), totpLastStep: try r.optionalInt64(o + 11), createdAt: try r.int64(o + 12),
            isStaff: try r.bool(o + 13))
    }

    // MARK: users

    func user(id: Int64, on db: Connection) throws -> UserRecord? {
        try db.queryOne("SELECT \(Self.userColumns) FROM users WHERE id = ?", id).map { try Self.user($0) }
    }

    func user(email: String, on db: Connection) throws -> UserRecord? {
        try db.queryOne("SELECT \(Self.userColumns) FROM users WHERE email = ?", email).map { try Self.user($0) }
    }

    func insertUser(email: String, name: String, passwordHash: String, now: Int64, on db: Connection) throws -> Int64 {
        try db.execute(
            "INSERT INTO users (email, name, password_hash, created_at, updated_at) VALUES (?, ?, ?, ?, ?)",
            email, name, passwordHash, now, now)
        return db.lastInsertRowID
    }

    func markVerified(userID: Int64, now: Int64, on db: Connection) throws {
        try db.execute("UPDATE users SET email_verified_at = coalesce(email_verified_at, ?), updated_at = ? WHERE id = ?", now, now, userID)
    }

    func setPassword(userID: Int64, hash: String, now: Int64, on db: Connection) throws {
        try db.execute("UPDATE users SET password_hash = ?, updated_at = ? WHERE id = ?", hash, now, userID)
    }

    /// Turns TOTP on, only if it is not on yet: false means the account already has an
    /// authenticator, and a stale enrolment session must not replace it.
    func enableTOTP(userID: Int64, sealed: [UInt8], step: Int64, now: Int64, on db: Connection) throws -> Bool {
        try db.execute(
            """
            UPDATE users SET totp_secret = ?, totp_enabled_at = ?, totp_last_step = ?, updated_at = ?
            WHERE id = ? AND totp_enabled_at IS NULL
            """, sealed, now, step, now, userID) == 1
    }

    /// Records an accepted TOTP step, only if it is newer than the last one: false means
    /// another request used this step (or a later one) first, so the code is a replay.
    func advanceTOTPStep(userID: Int64, step: Int64, on db: Connection) throws -> Bool {
        try db.execute(
            "UPDATE users SET totp_last_step = ? WHERE id = ? AND (totp_last_step IS NULL OR totp_last_step < ?)",
            step, userID, step) == 1
    }

    func updateProfile(userID: Int64, name: String, phone: String, timeZone: String, now: Int64, on db: Connection) throws {
        try db.execute("UPDATE users SET name = ?, phone = ?, time_zone = ?, updated_at = ? WHERE id = ?",
                       name, phone, timeZone, now, userID)
    }

    func updatePreferences(userID: Int64, productNews: Bool, reportReady: Bool, now: Int64, on db: Connection) throws {
        try db.execute("UPDATE users SET pref_product_news = ?, pref_report_ready = ?, updated_at = ? WHERE id = ?",
                       productNews, reportReady, now, userID)
    }

    func setEmail(userID: Int64, email: String, now: Int64, on db: Connection) throws {
        try db.execute("UPDATE users SET email = ?, email_verified_at = ?, updated_at = ? WHERE id = ?", email, now, now, userID)
    }

    // MARK: recovery codes

    func replaceRecoveryCodes(userID: Int64, hashes: [String], now: Int64, on db: Connection) throws {
        try db.execute("DELETE FROM recovery_codes WHERE user_id = ?", userID)
        for h in hashes {
            try db.execute("INSERT INTO recovery_codes (user_id, code_hash, created_at) VALUES (?, ?, ?)", userID, h, now)
        }
    }

    /// Marks an unused code as used; false when no unused code has this hash.
    func useRecoveryCode(userID: Int64, hash: String, now: Int64, on db: Connection) throws -> Bool {
        try db.execute(
            "UPDATE recovery_codes SET used_at = ? WHERE user_id = ? AND code_hash = ? AND used_at IS NULL",
            now, userID, hash) == 1
    }

    func remainingRecoveryCodes(userID: Int64, on db: Connection) throws -> Int {
        try db.scalar("SELECT count(*) FROM recovery_codes WHERE user_id = ? AND used_at IS NULL", userID, as: Int.self) ?? 0
    }

    // MARK: e-mail tokens

    struct Token: Sendable {
        let id: Int64
        let userID: Int64
        let purpose: String
        let newEmail: String?
        let expiresAt: Int64
        let usedAt: Int64?
    }

    func insertToken(userID: Int64, purpose: String, hash: String, newEmail: String?, now: Int64, expiresAt: Int64, on db: Connection) throws {
        try db.execute(
            "INSERT INTO user_tokens (user_id, purpose, token_hash, new_email, created_at, expires_at) VALUES (?, ?, ?, ?, ?, ?)",
            userID, purpose, hash, newEmail, now, expiresAt)
    }

    func token(hash: String, purpose: String, on db: Connection) throws -> Token? {
        try db.queryOne(
            "SELECT id, user_id, purpose, new_email, expires_at, used_at FROM user_tokens WHERE token_hash = ? AND purpose = ?",
            hash, purpose
        ).map { r in
            Token(id: try r.int64(0), userID: try r.int64(1), purpose: try r.string(2), newEmail: try r.optionalString(3),
                  expiresAt: try r.int64(4), usedAt: try r.optionalInt64(5))
        }
    }

    /// Uses a token once: false if it was already used (or does not exist).
    func consumeToken(id: Int64, now: Int64, on db: Connection) throws -> Bool {
        try db.execute("UPDATE user_tokens SET used_at = ? WHERE id = ? AND used_at IS NULL", now, id) == 1
    }

    /// Voids the user's other unused tokens of a purpose (a new link replaces the old).
    func voidTokens(userID: Int64, purpose: String, now: Int64, on db: Connection) throws {
        try db.execute("UPDATE user_tokens SET used_at = ? WHERE user_id = ? AND purpose = ? AND used_at IS NULL", now, userID, purpose)
    }

    // MARK: support requests

    func insertSupportRequest(kind: String, userID: Int64?, email: String, note: String, now: Int64, on db: Connection) throws -> Int64 {
        try db.execute(
            "INSERT INTO support_requests (public_id, kind, user_id, email, note, created_at) VALUES (?, ?, ?, ?, ?, ?)",
            PublicID.make("req"), kind, userID, email, note, now)
        return db.lastInsertRowID
    }

    func openSupportRequests(userID: Int64, kind: String, on db: Connection) throws -> Int {
        try db.scalar("SELECT count(*) FROM support_requests WHERE user_id = ? AND kind = ? AND status = 'open'", userID, kind, as: Int.self) ?? 0
    }
}
