import Database
import Foundation

/// A session row as the rest of the portal sees it.
struct SessionRecord: Sendable {
    enum Stage: String, Sendable {
        /// Signed up, e-mail address not verified yet.
        case verify
        /// Must set up TOTP before anything else.
        case enrol
        /// Password accepted; the second factor is pending.
        case mfa
        /// Fully signed in.
        case active
    }

    let id: Int64
    let userID: Int64
    let stage: Stage
    let csrfToken: String
    let ip: String
    let userAgent: String
    let createdAt: Int64
    let lastSeenAt: Int64
    let expiresAt: Int64
    /// The flash messages waiting for this session's next page (a JSON array), as read
    /// with the session by ``SessionStore/findWithUser(tokenHash:now:idleTimeout:on:)``.
    var flash: String? = nil
}

/// The SQL for sessions, and nothing else.
struct SessionStore {
    static let columns = "id, user_id, stage, csrf_token, ip, user_agent, created_at, last_seen_at, expires_at"

    static func record(_ row: some RowReading, offset o: Int = 0) throws -> SessionRecord {
        SessionRecord(
            id: try row.int64(o), userID: try row.int64(o + 1),
            stage: SessionRecord.Stage(rawValue: try row.string(o + 2)) ?? .mfa,
            csrfToken: try row.string(o + 3), ip: try row.string(o + 4), userAgent: try row.string(o + 5),
            createdAt: try row.int64(o + 6), lastSeenAt: try row.int64(o + 7), expiresAt: try row.int64(o + 8))
    }

    /// The live session and its user in one statement (one read lock, not two): the
    /// lookup every signed-in request starts with.
    func findWithUser(tokenHash: String, now: Int64, idleTimeout: Int64, on db: Connection) throws -> (SessionRecord, UserRecord)? {
        try db.queryOne(Self.findWithUserSQL, tokenHash, now, now - idleTimeout)
            .map { row in
                var session = try Self.record(row)
                session.flash = try row.optionalString(9 + Self.userColumnCount)
                return (session, try UserRecord.decode(row, offset: 9))
            }
    }

    static let userColumnCount = UserRecord.columns.split(separator: ",").count

    /// Built once: the session's columns, then the user's, from one join.
    static let findWithUserSQL: String = {
        func qualified(_ columns: String, _ table: String) -> String {
            columns.split(separator: ",").map { "\(table)." + $0.trimmingCharacters(in: .whitespacesAndNewlines) }.joined(separator: ", ")
        }
        return """
            SELECT \(qualified(columns, "s")), \(qualified(UserRecord.columns, "u")), s.flash
            FROM sessions s JOIN users u ON u.id = s.user_id
            WHERE s.token_hash = ? AND s.revoked_at IS NULL AND s.expires_at > ? AND s.last_seen_at > ?
            """
    }()

    func insert(tokenHash: String, userID: Int64, stage: SessionRecord.Stage, csrfToken: String, ip: String,
                userAgent: String, now: Int64, expiresAt: Int64, on db: Connection) throws -> Int64 {
        try db.execute(
            """
            INSERT INTO sessions (token_hash, user_id, stage, csrf_token, ip, user_agent, created_at, last_seen_at, expires_at)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
            """,
            tokenHash, userID, stage.rawValue, csrfToken, ip, userAgent, now, now, expiresAt)
        return db.lastInsertRowID
    }

    func touch(id: Int64, now: Int64, on db: Connection) throws {
        try db.execute("UPDATE sessions SET last_seen_at = ? WHERE id = ?", now, id)
    }

    @discardableResult
    func revoke(id: Int64, now: Int64, on db: Connection) throws -> Int {
        try db.execute("UPDATE sessions SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL", now, id)
    }

    /// Ends every session of a user, optionally keeping one.
    @discardableResult
    func revokeAll(userID: Int64, except keep: Int64? = nil, now: Int64, on db: Connection) throws -> Int {
        try db.execute(
            "UPDATE sessions SET revoked_at = ? WHERE user_id = ? AND revoked_at IS NULL AND id != ?",
            now, userID, keep ?? -1)
    }

    /// The user's live sessions, most recent first.
    func active(userID: Int64, now: Int64, idleTimeout: Int64, on db: Connection) throws -> [SessionRecord] {
        try db.query(
            """
            SELECT \(Self.columns) FROM sessions
            WHERE user_id = ? AND revoked_at IS NULL AND stage = 'active' AND expires_at > ? AND last_seen_at > ?
            ORDER BY last_seen_at DESC, id DESC
            """,
            userID, now, now - idleTimeout
        ).map { try Self.record($0) }
    }

    func setPendingRecoveryCodes(id: Int64, sealed: [UInt8]?, on db: Connection) throws {
        try db.execute("UPDATE sessions SET pending_recovery_codes = ? WHERE id = ?", sealed, id)
    }

    func pendingRecoveryCodes(id: Int64, on db: Connection) throws -> [UInt8]? {
        try db.scalar("SELECT pending_recovery_codes FROM sessions WHERE id = ?", id, as: [UInt8].self)
    }

    /// The id and waiting flash of a live (not revoked) session, by id or by token hash.
    func flash(id: Int64, on db: Connection) throws -> (id: Int64, flash: String?)? {
        try db.queryOne("SELECT id, flash FROM sessions WHERE id = ? AND revoked_at IS NULL", id)
            .map { (try $0.int64(0), try $0.optionalString(1)) }
    }

    func flash(tokenHash: String, on db: Connection) throws -> (id: Int64, flash: String?)? {
        try db.queryOne("SELECT id, flash FROM sessions WHERE token_hash = ? AND revoked_at IS NULL", tokenHash)
            .map { (try $0.int64(0), try $0.optionalString(1)) }
    }

    func setFlash(id: Int64, _ flash: String?, on db: Connection) throws {
        try db.execute("UPDATE sessions SET flash = ? WHERE id = ?", flash, id)
    }

    /// Removes a user's rows that can no longer be used (ended more than a day ago), so
    /// the table does not grow with every sign-in. Uses the per-user index.
    @discardableResult
    func purge(userID: Int64, now: Int64, on db: Connection) throws -> Int {
        let cutoff = now - 86_400
        return try db.execute("DELETE FROM sessions WHERE user_id = ? AND (expires_at < ? OR revoked_at < ?)", userID, cutoff, cutoff)
    }}
