import Database
import Foundation

/// The SQL of the `outbox` table (see `Migrations/0003_mail_outbox.sql`), and nothing else.
/// Times are integer Unix seconds. Every function runs on the connection it is given, so the
/// caller decides the transaction.
enum OutboxStore {
    /// A row taken for sending by ``claimNext(now:lease:on:)``.
    struct Claimed: Sendable {
        let id: Int64
        let sender: String
        let mail: OutgoingMail
        let createdAt: Int64
        /// The attempt count including this one; it doubles as the claim's token.
        let attempts: Int
    }

    static func insert(_ mail: OutgoingMail, sender: String, messageID: String, now: Int64, on conn: Connection) throws -> Int64 {
        try conn.execute("""
            INSERT INTO outbox(sender, recipient, subject, text_body, html_body, message_id, created_at, attempts, next_attempt_at)
            VALUES (?, ?, ?, ?, ?, ?, ?, 0, ?)
            """, sender, mail.to, mail.subject, mail.text, mail.html, messageID, now, now)
        return conn.lastInsertRowID
    }

    /// The oldest due row, claimed: its attempt count goes up by one and its next attempt
    /// moves `lease` seconds ahead, so no other worker takes it while it is being sent. If
    /// the worker dies, the row is due again when the lease ends. Run inside a write
    /// transaction so that the select and the update are one step.
    static func claimNext(now: Int64, lease: Int64, on conn: Connection) throws -> Claimed? {
        guard let row = try conn.queryOne("""
            SELECT id, sender, recipient, subject, text_body, html_body, message_id, created_at, attempts
            FROM outbox
            WHERE sent_at IS NULL AND failed_at IS NULL AND next_attempt_at <= ?
            ORDER BY id LIMIT 1
            """, now)
        else { return nil }
        let id = try row.int64("id")
        let attempts = try row.int("attempts") + 1
        try conn.execute("UPDATE outbox SET attempts = ?, next_attempt_at = ? WHERE id = ?", attempts, now + lease, id)
        let createdAt = try row.int64("created_at")
        let mail = OutgoingMail(
            to: try row.string("recipient"), subject: try row.string("subject"),
            text: try row.string("text_body"), html: try row.optionalString("html_body"),
            messageID: try row.string("message_id"), date: Date(timeIntervalSince1970: TimeInterval(createdAt)))
        return Claimed(id: id, sender: try row.string("sender"), mail: mail, createdAt: createdAt, attempts: attempts)
    }

    /// Records a delivery. A success always counts, even if the claim had expired meanwhile.
    static func markSent(id: Int64, at time: Int64, on conn: Connection) throws {
        try conn.execute("UPDATE outbox SET sent_at = ? WHERE id = ? AND sent_at IS NULL", time, id)
    }

    /// Records a failed attempt and when to try again. Ignored if another worker has claimed
    /// the row since (`attempts` moved on) or it was delivered meanwhile.
    static func reschedule(id: Int64, attempts: Int, nextAttempt: Int64, error: String, on conn: Connection) throws {
        try conn.execute("""
            UPDATE outbox SET next_attempt_at = ?, last_error = ?
            WHERE id = ? AND attempts = ? AND sent_at IS NULL AND failed_at IS NULL
            """, nextAttempt, error, id, attempts)
    }

    /// Gives up on a row: it keeps its content and history, with `failed_at` set.
    static func markFailed(id: Int64, attempts: Int, at time: Int64, error: String, on conn: Connection) throws {
        try conn.execute("""
            UPDATE outbox SET failed_at = ?, last_error = ?
            WHERE id = ? AND attempts = ? AND sent_at IS NULL AND failed_at IS NULL
            """, time, error, id, attempts)
    }
}
