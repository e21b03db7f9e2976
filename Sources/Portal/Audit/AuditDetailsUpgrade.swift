import Database
import Logging

/// Reads audit details written before they were JSON ("role: Employee → Custom; permissions:
/// a, b") into ``AuditDetails``, and rewrites the stored rows once, at start, in batches.
/// Idempotent: a row already holding JSON is never read again.
enum AuditDetailsUpgrade {
    static let metaKey = "audit_details_format"

    /// Converts every legacy row unless a previous start already did.
    static func runOnce(_ database: Database, logger: Logger) throws {
        let store = AuditStore()
        guard try database.read({ try store.meta(metaKey, on: $0) }) != "json" else { return }
        let converted = try convertAll(database)
        try database.write { try store.setMeta(metaKey, "json", on: $0) }
        if converted > 0 { logger.info("audit details converted to JSON", metadata: ["events": "\(converted)"]) }
    }

    /// Converts the legacy rows there are now; returns how many.
    @discardableResult
    static func convertAll(_ database: Database) throws -> Int {
        let store = AuditStore()
        var last: Int64 = 0
        var total = 0
        while true {
            let n = try database.write { db -> Int in
                let rows = try store.legacyDetails(after: last, limit: 500, on: db)
                for r in rows {
                    try store.setDetails(id: r.id, json: parse(action: r.action, details: r.details).json, on: db)
                    last = r.id
                }
                return rows.count
            }
            total += n
            if n < 500 { return total }
        }
    }

    /// The fields of a legacy details string, as the services used to write it.
    static func parse(action: String, details: String) -> AuditDetails {
        var d = AuditDetails()
        guard !details.isEmpty else { return d }
        if action == "support.approved" || action == "support.rejected" {
            // "<kind title>: <reason>"
            guard let r = details.range(of: ": ") else { d["note"] = .text(details); return d }
            let title = String(details[..<r.lowerBound])
            d["kind"] = .text(SupportRequestRecord.Kind.allCases.first { $0.title == title }?.rawValue ?? title)
            d["reason"] = .text(String(details[r.upperBound...]))
            return d
        }
        var notes: [String] = []
        for part in details.components(separatedBy: "; ") {
            guard let r = part.range(of: ": ") else { notes.append(part); continue }
            let key = String(part[..<r.lowerBound]).replacingOccurrences(of: " ", with: "_")
            let value = String(part[r.upperBound...])
            if let arrow = value.range(of: " → ") {
                func clean(_ s: Substring) -> String { s == "—" ? "" : String(s) }
                d[key] = .change(before: clean(value[..<arrow.lowerBound]), after: clean(value[arrow.upperBound...]))
            } else {
                d[key] = .text(value)
            }
        }
        if !notes.isEmpty { d["note"] = .text(notes.joined(separator: "; ")) }
        return d
    }
}
