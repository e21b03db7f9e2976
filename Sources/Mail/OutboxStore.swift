import Database
import Foundation

/// The SQL of the `outbox` table (see `Migrations/0003_mail_outbox.sql` and `0010_jobs.sql`),
/// and nothing else. A row is one mail as it will be sent; its delivery is a `mail.send` job
/// (see ``MailDelivery``). Times are integer Unix seconds. Every function runs on the
/// connection it is given, so the caller decides the transaction.
enum OutboxStore {
    /// A mail read back for sending.
    struct Queued: Sendable {
        let id: Int64
        let sender: String
        let mail: OutgoingMail
    }

    static func insert(_ mail: OutgoingMail, sender: String, messageID: String, now: Int64, on conn: Connection) throws -> Int64 {
        guard let id = try conn.scalar("""
            INSERT INTO outbox(sender, recipient, subject, text_body, html_body, message_id, created_at)
            VALUES (?, ?, ?, ?, ?, ?, ?)
            RETURNING id
            """, sender, mail.to, mail.subject, mail.text, mail.html, messageID, now, as: Int64.self)
        else { throw MailError.invalidMessage("the outbox row was not written") }
        return id
    }

    static func load(id: Int64, on conn: Connection) throws -> Queued? {
        guard let row = try conn.queryOne("""
            SELECT id, sender, recipient, subject, text_body, html_body, message_id, created_at
            FROM outbox WHERE id = ?
            """, id)
        else { return nil }
        let mail = OutgoingMail(
            to: try row.string("recipient"), subject: try row.string("subject"),
            text: try row.string("text_body"), html: try row.optionalString("html_body"),
            messageID: try row.string("message_id"), date: Date(timeIntervalSince1970: TimeInterval(try row.int64("created_at"))))
        return Queued(id: id, sender: try row.string("sender"), mail: mail)
    }
}
