import Database
import Security

/// What other features ask of Accounts, inside their own transactions (`on db:`). The users,
/// tokens and recovery-code tables are Accounts' alone: Team, Support and the CLI's seeding
/// create and change accounts only through here, so the caller's transaction still covers
/// the change and its audit event.
extension Accounts {
    func user(id: Int64, on db: Connection) throws -> UserRecord? { try store.user(id: id, on: db) }

    func user(email: String, on db: Connection) throws -> UserRecord? { try store.user(email: email, on: db) }

    /// The one place an account is made. `passwordHash` comes from ``hashNew(_:)``, computed
    /// before the caller's write began; `verified` when a link already proved the address
    /// (an invitation, a staff setup), `staff` for the operator's support staff.
    func createUser(email: String, name: String, passwordHash: String, verified: Bool, staff: Bool = false, now: Int64,
                    on db: Connection) throws -> Int64 {
        let id = try store.insertUser(email: email, name: name, passwordHash: passwordHash, now: now, on: db)
        if verified { try store.markVerified(userID: id, now: now, on: db) }
        if staff { try store.markStaff(userID: id, now: now, on: db) }
        return id
    }

    /// A new password (hashed by ``hashNew(_:)``) and every session of the account ended.
    func setPassword(userID: Int64, hash: String, now: Int64, on db: Connection) throws {
        try store.setPassword(userID: userID, hash: hash, now: now, on: db)
        try sessions.revokeAll(userID: userID, on: db)
    }

    /// A new single-use link of `purpose` (the user's earlier ones of that purpose stop
    /// working); returns its token, stored only as a hash.
    func issueLink(userID: Int64, purpose: String, lifetime: Int64, now: Int64, on db: Connection) throws -> String {
        let token = SecureRandom.token(bytes: 32)
        try store.voidTokens(userID: userID, purpose: purpose, now: now, on: db)
        try store.insertToken(userID: userID, purpose: purpose, hash: Sessions.hash(token), newEmail: nil, now: now,
                              expiresAt: now + lifetime, on: db)
        return token
    }

    /// Uses a link checked by ``checkLink(_:purpose:)``; false if it was used meanwhile.
    func consumeLink(_ link: UserToken, now: Int64, on db: Connection) throws -> Bool {
        try store.consumeToken(id: link.id, now: now, on: db)
    }

    /// Whether the user ever used a link of this purpose.
    func hasUsedLink(userID: Int64, purpose: String, on db: Connection) throws -> Bool {
        try store.hasUsedToken(userID: userID, purpose: purpose, on: db)
    }

    func remainingRecoveryCodes(userID: Int64, on db: Connection) throws -> Int {
        try store.remainingRecoveryCodes(userID: userID, on: db)
    }

    /// Removes the authenticator and recovery codes and ends every session, so the next
    /// login leads to enrolment. Returns (unused codes removed, sessions ended).
    func resetSecondFactor(userID: Int64, now: Int64, on db: Connection) throws -> (codes: Int, sessions: Int) {
        let codes = try store.removeSecondFactor(userID: userID, now: now, on: db)
        return (codes, try sessions.revokeAll(userID: userID, on: db))
    }

    /// Enrols TOTP with a known secret and recovery codes, for a seeded account.
    func enrolForSeeding(userID: Int64, secret: [UInt8], recoveryCodes: [String], now: Int64, on db: Connection) throws {
        _ = try store.enableTOTP(userID: userID, sealed: try box.seal(secret, associatedData: Self.totpAD(userID)), step: 0, now: now, on: db)
        try store.replaceRecoveryCodes(userID: userID, hashes: recoveryCodes.map { RecoveryCodes.hash(RecoveryCodes.normalize($0)!) },
                                       now: now, on: db)
    }
}
