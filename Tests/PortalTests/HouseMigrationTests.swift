import Database
import Foundation
import Testing
import TestSupport
@testable import Portal

/// Migrations 0016–0018 and the one-time details upgrade, run on a database that an older
/// version (migrations up to 0006) filled: nothing is lost and the past reads the same.
@Suite("Feature house: upgrading a database the previous version wrote")
struct HouseMigrationTests {
    @Test func anOlderDatabaseKeepsItsRequestsAndItsLogReadsTheSame() throws {
        let now = Int64(Date().timeIntervalSince1970)
        let older = try OlderDatabase(before: "0007", now: now) { c in
            try c.execute("""
                INSERT INTO audit_events (at, actor_user_id, organization_id, action, subject, details) VALUES
                (?, 1, 1, 'member.invited', 'Victim@Example.com', 'role: Developer; permissions: api_keys.read'),
                (?, 1, 1, 'member.updated', 'bo@example.com', 'role: Employee → Custom; permissions: a, b → b'),
                (?, NULL, 1, 'support.rejected', 'req_x', 'Offboarding: Balance outstanding')
                """, now - 60, now - 30, now)
            try c.execute("""
                INSERT INTO support_requests (public_id, kind, user_id, email, note, organization_id, changes, status, created_at)
                VALUES ('req_bbbbbbbbbbbbbbbb', 'production_access', 1, 'ana@example.com', 'Go live', 1, '{"production":"enabled"}', 'open', ?)
                """, now)
        }
        defer { older.remove() }
        let path = older.path
        let portal = try TestPortal { $0.databasePath = path }
        let rows = try portal.app.database.read { db in
            try db.query("SELECT action, actor_name, actor_email, subject, details FROM audit_events ORDER BY id").map {
                (try $0.string(0), try $0.optionalString(1), try $0.optionalString(2), try $0.string(3), try $0.string(4))
            }
        }
        #expect(rows.count == 3)
        // The actor as they were when upgraded (the best there is for older events).
        #expect(rows[0].1 == "Ana Lovelace" && rows[0].2 == "ana@example.com")
        // Details are JSON now, and read exactly as they did.
        #expect(rows.allSatisfy { $0.4.hasPrefix("{") })
        let says = rows.map { AuditActions.all.describe($0.0, actor: $0.1 ?? "Support", subject: $0.3, details: $0.4, subjectName: nil) }
        #expect(says == ["Ana Lovelace invited Victim@Example.com as Developer",
                         "Ana Lovelace changed bo@example.com's role: Employee → Custom",
                         "Support rejected the request to close the organization"])
        #expect(AuditActions.all.detailLines("support.rejected", details: rows[2].4) == ["Reason: Balance outstanding"])
        // The day's invitation mails moved to their own table, counted by lower-cased address.
        let sends = try portal.app.database.read { try $0.query("SELECT email_key FROM invitation_sends").map { try $0.string(0) } }
        #expect(sends == ["victim@example.com"])
        // The open request survived the table's rebuild and can now be withdrawn.
        let request = try portal.app.database.read { try SupportQueue().request(publicID: "req_bbbbbbbbbbbbbbbb", on: $0) }
        #expect(request?.status == "open" && request?.kind == .productionAccess && request?.changes == ["production": "enabled"])
        let marker = try portal.app.database.read { try $0.scalar("SELECT value FROM app_meta WHERE key = 'audit_details_format'", as: String.self) }
        #expect(marker == "json")
    }

    /// Every kind stored so far is registered, with a behaviour of its own feature.
    @Test func everyRequestKindIsRegisteredWithItsBehaviour() {
        let kinds = SupportRequestRecord.Kind.allCases.map(\.rawValue)
        #expect(kinds == ["mfa_reset", "org_details", "org_name", "offboarding", "production_access", "transaction_cancellation", "api_key_leak", "psd2_licence"])
        for k in SupportRequestRecord.Kind.allCases {
            #expect(k.behaviour?.kind == k)
            #expect(AuditActions.all[k.filed.id] != nil, "\(k.rawValue) files an undeclared action")
        }
        #expect(SupportRequestRecord.Kind(rawValue: "wire_transfer") == nil)
    }
}
