import Database
import Foundation
import Logging
import Security
import Web

/// Server-side sessions: creating, rotating, finding and ending them.
///
/// The cookie carries a 256-bit random token; the table keeps only its SHA-256, so a leaked
/// database does not hand out live sessions. A session has a stage (see
/// ``SessionRecord/Stage``) that decides what it may reach; every step up (password
/// accepted, second factor accepted, TOTP enrolled) gets a new token, so a token seen before
/// login is worthless after it. Sessions end after `idleTimeout` without a request and
/// `absoluteTimeout` after they began. `last_seen_at` is written at most once a minute per
/// session, so reading a page costs no write.
final class Sessions: Sendable {
    let database: Database
    let clock: PortalClock
    let idleTimeout: Int64
    let absoluteTimeout: Int64
    /// The session cookie: `__Host-` prefixed and `Secure` behind TLS.
    let cookieName: String
    let secureCookies: Bool
    let store = SessionStore()
    static let touchInterval: Int64 = 60
    /// Sessions found, by token hash, as ``VerifiedCredentials`` remembers them: a page asks
    /// for its session first, and a sign-out or any other write forgets them all.
    private let remembered: VerifiedCredentials<String, (SessionRecord, UserRecord)>

    init(database: Database, clock: PortalClock, idleTimeout: Int64, absoluteTimeout: Int64, secureCookies: Bool) {
        self.database = database
        self.clock = clock
        self.idleTimeout = idleTimeout
        self.absoluteTimeout = absoluteTimeout
        self.secureCookies = secureCookies
        self.cookieName = secureCookies ? "__Host-portal_session" : "portal_session"
        self.remembered = VerifiedCredentials(database: database)
    }

    static func hash(_ token: String) -> String { Digest.sha256Hex(Array(token.utf8)) }

    /// The live session for a cookie token and its user, or nil.
    func find(token: String) throws -> (SessionRecord, UserRecord)? {
        guard token.utf8.count == 43 else { return nil } // 32 bytes, base64url
        let now = clock.now()
        let hash = Self.hash(token)
        guard let found = try remembered.record(hash, read: {
            try database.read { try store.findWithUser(tokenHash: hash, now: now, idleTimeout: idleTimeout, on: $0) }
        }) else { return nil }
        // Remembered for up to a second: the times are checked again, as the query does.
        guard found.0.expiresAt > now, found.0.lastSeenAt > now - idleTimeout else { return nil }
        if now - found.0.lastSeenAt >= Self.touchInterval {
            try database.write { try store.touch(id: found.0.id, now: now, on: $0) }
        }
        return found
    }

    /// Starts a session (ending `replacing`, if given, in the same transaction) and returns
    /// the token for the cookie. Runs inside the caller's write transaction.
    func start(userID: Int64, stage: SessionRecord.Stage, ip: String, userAgent: String,
               replacing old: SessionRecord?, on db: Connection) throws -> (token: String, session: SessionRecord) {
        let now = clock.now()
        if let old { try store.revoke(id: old.id, now: now, on: db) }
        try store.purge(userID: userID, now: now, on: db)
        let token = SecureRandom.token(bytes: 32)
        let csrf = SecureRandom.token(bytes: 32)
        // A step up keeps the original start, so the absolute lifetime is not extended.
        let expires = (old?.userID == userID ? old?.expiresAt : nil) ?? now + absoluteTimeout
        let agent = String(userAgent.prefix(300))
        let id = try store.insert(tokenHash: Self.hash(token), userID: userID, stage: stage, csrfToken: csrf,
                                  ip: ip, userAgent: agent, now: now, expiresAt: expires, on: db)
        return (token, SessionRecord(id: id, userID: userID, stage: stage, csrfToken: csrf, ip: ip, userAgent: agent,
                                     createdAt: now, lastSeenAt: now, expiresAt: expires))
    }

    /// The cookie that hands `token` to the browser (a browser-session cookie: the server
    /// decides when the session ends).
    func cookie(_ token: String) -> SetCookie {
        SetCookie(name: cookieName, value: token, path: "/", secure: secureCookies, httpOnly: true, sameSite: .lax)
    }

    /// The cookie that removes the session cookie.
    var clearingCookie: SetCookie { SetCookie.expired(cookieName, path: "/", secure: secureCookies) }
}
