import Database

/// The SQL for users, recovery codes and e-mail tokens, and nothing else.
struct AccountsStore {
    // MARK: users

    func user(id: Int64, on db: Connection) throws -> UserRecord? {
        try db.queryOne("SELECT \(UserRecord.columns) FROM users WHERE id = ?", id).map { try UserRecord.decode($0) }
    }

    func user(email: String, on db: Connection) throws -> UserRecord? {
        try db.queryOne("SELECT \(UserRecord.columns) FROM users WHERE email = ?", email).map { try UserRecord.decode($0) }
    }

    func insertUser(email: String, name: String, passwordHash: String, now: Int64, on db: Connection) throws -> Int64 {
        try db.scalar(
            "INSERT INTO users (email, name, password_hash, created_at, updated_at) VALUES (?, ?, ?, ?, ?) RETURNING id",
            email, name, passwordHash, now, now, as: Int64.self)!
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

    func markStaff(userID: Int64, now: Int64, on db: Connection) throws {
        try db.execute("UPDATE users SET is_staff = 1, updated_at = ? WHERE id = ?", now, userID)
    }

    /// Removes the authenticator and every recovery code, so the next login leads to
    /// enrolment. Returns how many unused recovery codes were removed.
    func removeSecondFactor(userID: Int64, now: Int64, on db: Connection) throws -> Int {
        let unused = try remainingRecoveryCodes(userID: userID, on: db)
        try db.execute(
            "UPDATE users SET totp_secret = NULL, totp_enabled_at = NULL, totp_last_step = NULL, updated_at = ? WHERE id = ?",
            now, userID)
        try db.execute("DELETE FROM recovery_codes WHERE user_id = ?", userID)
        return unused
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

    func insertToken(userID: Int64, purpose: String, hash: String, newEmail: String?, now: Int64, expiresAt: Int64, on db: Connection) throws {
        try db.execute(
            "INSERT INTO user_tokens (user_id, purpose, token_hash, new_email, created_at, expires_at) VALUES (?, ?, ?, ?, ?, ?)",
            userID, purpose, hash, newEmail, now, expiresAt)
    }

    func token(hash: String, purpose: String, on db: Connection) throws -> UserToken? {
        try db.queryOne(
            "SELECT id, user_id, purpose, new_email, expires_at, used_at FROM user_tokens WHERE token_hash = ? AND purpose = ?",
            hash, purpose
        ).map { r in
            UserToken(id: try r.int64(0), userID: try r.int64(1), purpose: try r.string(2), newEmail: try r.optionalString(3),
                  expiresAt: try r.int64(4), usedAt: try r.optionalInt64(5))
        }
    }

    /// Uses a token once: false if it was already used (or does not exist).
    func consumeToken(id: Int64, now: Int64, on db: Connection) throws -> Bool {
        try db.execute("UPDATE user_tokens SET used_at = ? WHERE id = ? AND used_at IS NULL", now, id) == 1
    }

    /// Whether the user ever used a link of this purpose (a staff member who set up their account).
    func hasUsedToken(userID: Int64, purpose: String, on db: Connection) throws -> Bool {
        try db.scalar("SELECT EXISTS (SELECT 1 FROM user_tokens WHERE user_id = ? AND purpose = ? AND used_at IS NOT NULL)",
                      userID, purpose, as: Bool.self) ?? false
    }

    /// Voids the user's other unused tokens of a purpose (a new link replaces the old).
    func voidTokens(userID: Int64, purpose: String, now: Int64, on db: Connection) throws {
        try db.execute("UPDATE user_tokens SET used_at = ? WHERE user_id = ? AND purpose = ? AND used_at IS NULL", now, userID, purpose)
    }
}
