import Foundation

/// The transactions list's query string as typed (`external_id`, `from`, `to`, `status`,
/// `type`, and the page cursor `before` or `after`), and what it resolves to in the viewer's
/// time zone: the query, and a message beside each field that could not be used (that filter
/// is then left out; the others still apply, so bad input is answered, never a 500).
struct TransactionSearch: Sendable, Equatable {
    var externalID = ""
    var from = ""
    var to = ""
    var status = ""
    var type = ""
    var before = ""
    var after = ""

    init(externalID: String = "", from: String = "", to: String = "", status: String = "", type: String = "", before: String = "", after: String = "") {
        func clean(_ s: String) -> String {
            // Typed values rarely need it: ASCII, not blank at either end, short (Foundation's
            // trimming was 3 % of a search).
            func plain(_ b: UInt8?) -> Bool { b.map { $0 < 0x80 && $0 != 0x20 && $0 != 0x09 } ?? true }
            if s.utf8.count <= 200 && plain(s.utf8.first) && plain(s.utf8.last) { return s }
            return String(s.trimmingCharacters(in: .whitespaces).prefix(200))
        }
        self.externalID = clean(externalID)
        self.from = clean(from)
        self.to = clean(to)
        self.status = clean(status)
        self.type = clean(type)
        self.before = clean(before)
        self.after = clean(after)
    }

    /// The filters (not the cursor) as query pairs, in a fixed order: kept in page links.
    var pairs: [(String, String)] {
        [("external_id", externalID), ("from", from), ("to", to), ("status", status), ("type", type)].filter { !$0.1.isEmpty }
    }

    var isFiltered: Bool { !pairs.isEmpty }

    struct Resolved: Sendable {
        var query = TransactionListStore.Query()
        var externalID: String?
        var before: TransactionListStore.Key?
        var after: TransactionListStore.Key?
        var errors: [String: String] = [:]
    }

    static let dateMessage = "Enter a date as YYYY-MM-DD, for example 2027-01-31."

    func resolve(zone: String) -> Resolved {
        var r = Resolved()
        if !externalID.isEmpty {
            if externalID.count <= Transactions.maximumExternalIDLength, externalID.unicodeScalars.allSatisfy({ $0.value > 0x20 && $0.value < 0x7F }) {
                r.externalID = externalID
            } else {
                r.errors["external_id"] = "An external ID is 1 to \(Transactions.maximumExternalIDLength) visible characters, without spaces."
            }
        }
        let start = from.isEmpty ? nil : AuditLog.startOfDay(from, zone: zone)
        if !from.isEmpty {
            if let start { r.query.from = start } else { r.errors["from"] = Self.dateMessage }
        }
        if !to.isEmpty {
            if let end = AuditLog.startOfDay(to, zone: zone, addingDays: 1) {
                if let start, end <= start {
                    r.errors["to"] = "The end date is before the start date."
                } else {
                    r.query.until = end
                }
            } else {
                r.errors["to"] = Self.dateMessage
            }
        }
        if !status.isEmpty {
            if let s = TransactionStatus(rawValue: status) { r.query.status = s } else { r.errors["status"] = "Choose a status from the list." }
        }
        if !type.isEmpty {
            if let t = TransactionType(rawValue: type) { r.query.type = t } else { r.errors["type"] = "Choose a type from the list." }
        }
        if !before.isEmpty || !after.isEmpty {
            let b = before.isEmpty ? nil : Self.key(before), a = after.isEmpty ? nil : Self.key(after)
            if (!before.isEmpty && b == nil) || (!after.isEmpty && a == nil) || (b != nil && a != nil) {
                r.errors["page"] = "That page link is not valid, so the list starts again from the newest transactions."
            } else {
                r.before = b
                r.after = a
            }
        }
        return r
    }

    /// A cursor: `<created_at>_<id>`, both plain non-negative integers.
    static func key(_ s: String) -> TransactionListStore.Key? {
        let parts = s.split(separator: "_", omittingEmptySubsequences: false)
        guard parts.count == 2, parts.allSatisfy({ !$0.isEmpty && $0.count <= 18 && $0.allSatisfy { $0.isASCII && $0.isNumber } }),
              let c = Int64(parts[0]), let i = Int64(parts[1]) else { return nil }
        return TransactionListStore.Key(createdAt: c, id: i)
    }

    static func cursor(_ k: TransactionListStore.Key) -> String { "\(k.createdAt)_\(k.id)" }
}
