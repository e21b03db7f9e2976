import Foundation

/// The API requests page's query string as typed (`key`, `status`, `path`, `from`, `to`, and
/// the page cursor `before` or `after`) and what it resolves to in the viewer's time zone: the
/// query, and a message beside each field that could not be used (that filter is then left
/// out and the others still apply: bad input is answered, never a 500).
struct APILogFilter: Sendable, Equatable {
    var key = ""
    var status = ""
    var path = ""
    var from = ""
    var to = ""
    var before = ""
    var after = ""

    init(key: String = "", status: String = "", path: String = "", from: String = "", to: String = "", before: String = "", after: String = "") {
        func clean(_ s: String) -> String { String(s.trimmingCharacters(in: .whitespaces).prefix(300)) }
        self.key = clean(key)
        self.status = clean(status)
        self.path = clean(path)
        self.from = clean(from)
        self.to = clean(to)
        self.before = clean(before)
        self.after = clean(after)
    }

    static let statusClasses = [("2xx", "Succeeded (2xx)"), ("4xx", "Refused (4xx)"), ("5xx", "Failed on our side (5xx)")]

    /// The filters (not the cursor) as query pairs, in a fixed order: kept in page links.
    var pairs: [(String, String)] {
        [("key", key), ("status", status), ("path", path), ("from", from), ("to", to)].filter { !$0.1.isEmpty }
    }

    var isFiltered: Bool { !pairs.isEmpty }

    struct Resolved: Sendable {
        var query = APILogsStore.Query()
        var before: Int64?
        var after: Int64?
        var errors: [String: String] = [:]
    }

    static let dateMessage = "Enter a date as YYYY-MM-DD, for example 2027-01-31."

    func resolve(zone: String) -> Resolved {
        var r = Resolved()
        if !key.isEmpty {
            if key.count <= 64, key.utf8.allSatisfy({ ($0 >= 0x30 && $0 <= 0x39) || ($0 >= 0x41 && $0 <= 0x5A) || ($0 >= 0x61 && $0 <= 0x7A) || $0 == 0x5F }) {
                r.query.credentialID = key
            } else {
                r.errors["key"] = "Choose a key from the list."
            }
        }
        if !status.isEmpty {
            switch status {
            case "2xx": r.query.statuses = 200..<300
            case "4xx": r.query.statuses = 400..<500
            case "5xx": r.query.statuses = 500..<600
            default: r.errors["status"] = "Choose 2xx, 4xx or 5xx."
            }
        }
        if !path.isEmpty {
            if path.hasPrefix("/"), path.count <= 200, path.unicodeScalars.allSatisfy({ $0.value > 0x20 && $0.value < 0x7F }) {
                r.query.pathPrefix = path
            } else {
                r.errors["path"] = "A path starts with / and has no spaces, for example /v1/transactions."
            }
        }
        let start = from.isEmpty ? nil : AuditLog.startOfDay(from, zone: zone)
        if !from.isEmpty {
            if let start { r.query.from = start } else { r.errors["from"] = Self.dateMessage }
        }
        if !to.isEmpty {
            if let end = AuditLog.startOfDay(to, zone: zone, addingDays: 1) {
                if let start, end <= start { r.errors["to"] = "The end date is before the start date." } else { r.query.until = end }
            } else {
                r.errors["to"] = Self.dateMessage
            }
        }
        if !before.isEmpty || !after.isEmpty {
            let b = before.isEmpty ? nil : Self.cursor(before), a = after.isEmpty ? nil : Self.cursor(after)
            if (!before.isEmpty && b == nil) || (!after.isEmpty && a == nil) || (b != nil && a != nil) {
                r.errors["page"] = "That page link is not valid, so the list starts again from the newest requests."
            } else {
                r.before = b
                r.after = a
            }
        }
        return r
    }

    /// A page key: a row id, a plain positive integer.
    static func cursor(_ s: String) -> Int64? {
        guard !s.isEmpty, s.count <= 18, s.utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }) else { return nil }
        return Int64(s)
    }
}
