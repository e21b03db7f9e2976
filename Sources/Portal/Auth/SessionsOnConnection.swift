import Database
import Security

/// What other features ask of sessions, inside their own transactions (`on db:`): the
/// sessions table is Auth's, so Accounts and Support end or read sessions through here,
/// never through ``SessionStore``.
extension Sessions {
    /// Ends one session; false if it had already ended.
    @discardableResult
    func revoke(id: Int64, on db: Connection) throws -> Bool {
        try store.revoke(id: id, now: clock.now(), on: db) == 1
    }

    /// Ends every session of the user (but `keep`); returns how many ended.
    @discardableResult
    func revokeAll(userID: Int64, except keep: Int64? = nil, on db: Connection) throws -> Int {
        try store.revokeAll(userID: userID, except: keep, now: clock.now(), on: db)
    }

    /// The user's live, fully signed-in sessions, most recent first.
    func active(userID: Int64, on db: Connection) throws -> [SessionRecord] {
        try store.active(userID: userID, now: clock.now(), idleTimeout: idleTimeout, on: db)
    }

    func setPendingRecoveryCodes(sessionID: Int64, sealed: [UInt8]?, on db: Connection) throws {
        try store.setPendingRecoveryCodes(id: sessionID, sealed: sealed, on: db)
    }

    func pendingRecoveryCodes(sessionID: Int64, on db: Connection) throws -> [UInt8]? {
        try store.pendingRecoveryCodes(id: sessionID, on: db)
    }

    /// A signed-in session whose cookie token the caller chose (the demo seeding's, for
    /// benchmarks): refused unless the token is 32 bytes in base64url.
    func startActive(userID: Int64, token: String, ip: String, userAgent: String, on db: Connection) throws {
        let now = clock.now()
        _ = try store.insert(tokenHash: Self.hash(token), userID: userID, stage: .active, csrfToken: SecureRandom.token(bytes: 32),
                             ip: ip, userAgent: String(userAgent.prefix(300)), now: now, expiresAt: now + absoluteTimeout, on: db)
    }
}
