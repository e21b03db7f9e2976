import Database
import Foundation
import Synchronization
import Web

/// An organization's audit log as its members read it: filtered by actor, action and dates
/// (in the reader's time zone), newest first, a page at a time, each event in words, and the
/// same list as a CSV export. Needs `logs.read`.
final class AuditLog: Sendable {
    let database: Database
    let clock: PortalClock
    let store = AuditStore()

    static let pageSize = 50
    /// The most rows one export holds; the page says so, and narrower dates get the rest.
    static let exportLimit = 100_000
    /// Rows read per database read while exporting (no reader is held while the client reads).
    static let exportBatch = 1_000

    init(database: Database, clock: PortalClock) {
        self.database = database
        self.clock = clock
    }

    // MARK: - filters

    /// What the reader asked for, as typed (kept in the form and in page links).
    struct Filter: Sendable, Equatable {
        var actor = ""
        var action = ""
        var from = ""
        var to = ""

        init(actor: String = "", action: String = "", from: String = "", to: String = "") {
            func clean(_ s: String) -> String { String(s.trimmingCharacters(in: .whitespaces).prefix(200)) }
            self.actor = clean(actor)
            self.action = clean(action)
            self.from = clean(from)
            self.to = clean(to)
        }

        var isEmpty: Bool { actor.isEmpty && action.isEmpty && from.isEmpty && to.isEmpty }

        /// The non-empty filters as query pairs, in a fixed order.
        var pairs: [(String, String)] {
            [("actor", actor), ("action", action), ("from", from), ("to", to)].filter { !$0.1.isEmpty }
        }
    }

    /// A group of actions offered in the filter.
    struct Family: Sendable {
        let key: String
        let title: String
        let prefixes: [String]
    }

    /// The families the features declare (``AuditActions/families``), in the filter's order.
    static var families: [Family] { AuditActions.families }

    /// The value of the "Support staff" choice in the actor filter.
    static let staffChoice = "support"

    /// The filter resolved against the organization: the query, and a message per field that
    /// could not be used (that field is then ignored; the others still apply).
    struct Resolved: Sendable {
        var query: AuditQuery
        var errors: [String: String] = [:]
        /// The filters that were applied (invalid ones left out), for the export link.
        var applied: Filter
    }

    func resolve(_ filter: Filter, organizationID: Int64, people: [AuditPerson], zone: String) -> Resolved {
        var query = AuditQuery(organizationID: organizationID)
        var errors: [String: String] = [:]
        var applied = Filter()
        if !filter.actor.isEmpty {
            if filter.actor == Self.staffChoice {
                query.actor = .staff
                applied.actor = filter.actor
            } else if let person = people.first(where: { !$0.isStaff && $0.email.caseInsensitiveCompare(filter.actor) == .orderedSame }) {
                // Only people of this organization's log can be chosen: an address from
                // elsewhere is refused the same way whether or not it has an account.
                query.actor = .user(person.userID)
                applied.actor = filter.actor
            } else {
                errors["actor"] = "Choose someone from the list."
            }
        }
        if !filter.action.isEmpty {
            if let family = Self.families.first(where: { $0.key == filter.action }) {
                query.action = .prefixes(family.prefixes)
                applied.action = filter.action
            } else if Self.isActionName(filter.action) {
                query.action = .exact(filter.action)
                applied.action = filter.action
            } else {
                errors["action"] = "Choose an action from the list."
            }
        }
        let from = filter.from.isEmpty ? nil : Self.startOfDay(filter.from, zone: zone)
        if !filter.from.isEmpty {
            if let from { query.from = from; applied.from = filter.from } else { errors["from"] = Self.dateMessage }
        }
        if !filter.to.isEmpty {
            if let start = Self.startOfDay(filter.to, zone: zone), let end = Self.startOfDay(filter.to, zone: zone, addingDays: 1) {
                if let from, start < from {
                    errors["to"] = "The end date is before the start date."
                } else {
                    query.until = end
                    applied.to = filter.to
                }
            } else {
                errors["to"] = Self.dateMessage
            }
        }
        return Resolved(query: query, errors: errors, applied: applied)
    }

    static let dateMessage = "Enter a date as YYYY-MM-DD, for example 2027-01-31."

    /// Lower-case words, digits and underscores separated by dots: `member.invited`.
    static func isActionName(_ s: String) -> Bool {
        guard s.count <= 100, s.contains("."), !s.hasPrefix("."), !s.hasSuffix("."), !s.contains("..") else { return false }
        return s.unicodeScalars.allSatisfy { ("a"..."z").contains($0) || ("0"..."9").contains($0) || $0 == "_" || $0 == "." }
    }

    /// The UTC time at which the day `yyyy-mm-dd` (plus `addingDays`) starts in `zone`;
    /// nil for anything that is not a real calendar date between 1970 and 9999.
    static func startOfDay(_ s: String, zone: String, addingDays: Int = 0) -> Int64? {
        // `yyyy-mm-dd`, read from the bytes (split into substrings and checked a Character at a
        // time, the parse cost more than the rest of the look-up).
        guard let (y, m, d) = Self.ymd(s), (1970...9999).contains(y), (1...12).contains(m), (1...31).contains(d) else { return nil }
        // Most days: arithmetic on the zone's offset, which needs no calendar (a Calendar and
        // its three computations were a tenth of a date-filtered list's time). Near a change
        // of offset around midnight, where the day may start at 01:00 or twice, the calendar decides.
        let leap = y % 4 == 0 && (y % 100 != 0 || y % 400 == 0)
        let lengths = [31, leap ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31]
        guard d <= lengths[m - 1] else { return nil }
        let day = daysFromCivil(y, m, d) + Int64(addingDays)
        // A date-filtered list asks for the same two days on every page, each four offset
        // look-ups in the zone's rules (a fortieth of the page's time): the days the offset
        // arithmetic decides are kept, per zone a person may choose. Days it leaves to the
        // calendar are not: there the answer also depends on the date asked for (Samoa skipped
        // 2011-12-30, which is nil, though the day after 2011-12-29 is not).
        let key = DayStartKey(zone: zone, day: day)
        if let start = dayStarts.withLock({ $0[key] }) { return start }
        let tz = PageTime.timeZone(zone)
        func offset(_ t: Int64) -> Int64 { Int64(tz.secondsFromGMT(for: Date(timeIntervalSince1970: TimeInterval(t)))) }
        let midnight = day * 86_400
        let start = midnight - offset(midnight - offset(midnight))
        if offset(start - 7_200) == offset(start + 7_200) && start + offset(start) == midnight {
            if PageTime.zones.contains(zone) {
                dayStarts.withLock {
                    if $0.count >= 4_096 { $0.removeAll(keepingCapacity: true) }
                    $0[key] = start
                }
            }
            return start
        }
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = tz
        // The date must exist: 2027-02-30 would otherwise roll over to March.
        guard let date = calendar.date(from: DateComponents(year: y, month: m, day: d)),
              calendar.dateComponents([.year, .month, .day], from: date) == DateComponents(year: y, month: m, day: d),
              let shifted = calendar.date(byAdding: .day, value: addingDays, to: date)
        else { return nil }
        return Int64(calendar.startOfDay(for: shifted).timeIntervalSince1970)
    }

    private struct DayStartKey: Hashable {
        let zone: String
        let day: Int64
    }

    /// Starts of days decided by the offset arithmetic, by zone and day (days since 1970-01-01).
    private static let dayStarts = Mutex<[DayStartKey: Int64]>([:])

    /// The year, month and day of exactly `dddd-dd-dd` (ASCII digits), else nil.
    static func ymd(_ s: String) -> (Int, Int, Int)? {
        var y = 0, m = 0, d = 0, i = 0
        for c in s.utf8 {
            if i == 4 || i == 7 {
                guard c == UInt8(ascii: "-") else { return nil }
            } else {
                guard c >= UInt8(ascii: "0") && c <= UInt8(ascii: "9"), i < 10 else { return nil }
                let v = Int(c - UInt8(ascii: "0"))
                if i < 4 { y = y * 10 + v } else if i < 7 { m = m * 10 + v } else { d = d * 10 + v }
            }
            i += 1
        }
        return i == 10 ? (y, m, d) : nil
    }

    /// Days from 1970-01-01 to a proleptic Gregorian date (Howard Hinnant's `days_from_civil`).
    static func daysFromCivil(_ y0: Int, _ m: Int, _ d: Int) -> Int64 {
        let y = Int64(m <= 2 ? y0 - 1 : y0)
        let era = (y >= 0 ? y : y - 399) / 400
        let yoe = y - era * 400
        let mp = Int64(m > 2 ? m - 3 : m + 9)
        let doy = (153 * mp + 2) / 5 + Int64(d) - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        return era * 146_097 + doe - 719_468
    }

    // MARK: - the page

    /// One page of the log with what the filter form needs.
    struct Page: Sendable {
        let entries: [DescribedEvent]
        let resolved: Resolved
        let people: [AuditPerson]
        let actions: [String]
        /// The id to pass as `after` for newer events, when there are any.
        let newerCursor: Int64?
        /// The id to pass as `before` for older events, when there are any.
        let olderCursor: Int64?
        /// Whether this is not the newest page (newer events exist).
        let isPaged: Bool
        /// Whether the organization has no event at all.
        let logIsEmpty: Bool
    }

    /// A page of the organization's events matching `filter`: the newest, or those older
    /// than the event `before`, or those just newer than the event `after`.
    func page(_ access: OrgAccess, filter: Filter, before rawBefore: String? = nil, after rawAfter: String? = nil) throws -> Page {
        try access.require(.logsRead)
        let before = rawBefore.flatMap { Int64($0) }.flatMap { $0 > 0 ? $0 : nil }
        let after = before == nil ? rawAfter.flatMap { Int64($0) }.flatMap { $0 >= 0 ? $0 : nil } : nil
        let orgID = access.org.id
        let size = Self.pageSize
        return try database.read { db in
            let people = try store.organizationPeople(orgID, on: db)
            let actions = try store.organizationActions(orgID, on: db)
            let resolved = resolve(filter, organizationID: orgID, people: people, zone: access.user.timeZone)
            let q = resolved.query
            var rows: [OrgAuditEntry]
            if let after {
                let newer = try store.organizationEvents(q, after: after, limit: size + 1, on: db)
                // Fewer than a page of newer events: show the newest page instead.
                rows = newer.count > size ? Array(newer.prefix(size).reversed())
                                          : try store.organizationEvents(q, limit: size + 1, on: db)
            } else {
                rows = try store.organizationEvents(q, before: before, limit: size + 1, on: db)
            }
            let hasOlder = rows.count > size
            rows = Array(rows.prefix(size))
            // Newer events than this page, if any (a page past the end points back at them).
            var newerCursor: Int64?
            if let first = rows.first {
                if try store.hasOrganizationEvents(q, after: first.id, on: db) { newerCursor = first.id }
            } else if let before, try store.hasOrganizationEvents(q, after: before - 1, on: db) {
                newerCursor = before - 1
            }
            let names = Self.memberNames(people)
            let zone = access.user.timeZone
            return Page(
                entries: rows.map { DescribedEvent($0, zone: zone, memberNames: names) }, resolved: resolved, people: people,
                actions: actions, newerCursor: newerCursor, olderCursor: hasOlder ? rows.last?.id : nil, isPaged: newerCursor != nil,
                logIsEmpty: actions.isEmpty)
        }
    }

    /// Lower-cased e-mail → name of the organization's people (not staff), to name the
    /// subject of team events.
    static func memberNames(_ people: [AuditPerson]) -> [String: String] {
        var names: [String: String] = [:]
        for p in people where !p.isStaff && !p.name.isEmpty { names[p.email.lowercased()] = p.name }
        return names
    }

    // MARK: - the export

    static let csvColumns = ["time_utc", "actor_email", "actor_name", "action", "description", "environment", "subject", "details",
                             "ip", "user_agent"]

    /// What the export needs once the response has started: the rows are read in batches
    /// while they are sent, so no reader is held while the client reads and the list is
    /// never all in memory.
    struct Export: Sendable {
        let filename: String
        let log: AuditLog
        let query: AuditQuery
        let memberNames: [String: String]
        let limit: Int

        func write(_ emit: ([UInt8]) throws -> Void) throws {
            var csv = CSVWriter()
            csv.append(AuditLog.csvColumns)
            try emit(csv.takeBytes())
            var cursor: Int64?
            var written = 0
            while written < limit {
                let want = min(AuditLog.exportBatch, limit - written)
                var count = 0
                var last: Int64?
                try log.database.read { db in
                    try log.store.forEachOrganizationEvent(query, before: cursor, limit: want, on: db) { e in
                        csv.append(AuditLog.csvRow(e, memberNames: memberNames))
                        count += 1
                        last = e.id
                    }
                }
                if !csv.isEmpty { try emit(csv.takeBytes()) }
                written += count
                guard count == want, let last else { break }
                cursor = last
            }
        }
    }

    /// The export of the organization's events matching `filter`. A filter that cannot be
    /// used is refused (an export must not quietly hold more than was asked for).
    func export(_ access: OrgAccess, filter: Filter) throws -> Export {
        try access.require(.logsRead)
        let (resolved, people) = try database.read { db in
            let people = try store.organizationPeople(access.org.id, on: db)
            return (resolve(filter, organizationID: access.org.id, people: people, zone: access.user.timeZone), people)
        }
        guard resolved.errors.isEmpty else { throw OrgProblem.invalid(resolved.errors) }
        let date = String(PageTime.iso8601(clock.now(), zone: access.user.timeZone).prefix(10))
        return Export(filename: "\(Self.slug(access.org.displayName, fallback: access.org.publicID))-audit-log-\(date).csv", log: self,
                      query: resolved.query, memberNames: Self.memberNames(people), limit: Self.exportLimit)
    }

    static func csvRow(_ e: OrgAuditEntry, memberNames: [String: String]) -> [String] {
        let d = DescribedEvent(e, zone: "UTC", memberNames: memberNames)
        return [PageTime.iso8601(e.at), d.actorEmail, d.actor, e.action, d.description, e.environment, e.subject,
                AuditActions.all.detailText(e.action, details: e.details), d.ip, d.userAgent]
    }

    /// `acme-payments` from "Acme Payments!": ASCII letters and digits joined by dashes.
    static func slug(_ name: String, fallback: String) -> String {
        var out = ""
        var dash = false
        for scalar in name.lowercased().unicodeScalars {
            if scalar.isASCII, ("a"..."z").contains(scalar) || ("0"..."9").contains(scalar) {
                if dash && !out.isEmpty { out += "-" }
                out.unicodeScalars.append(scalar)
                dash = false
            } else {
                dash = true
            }
        }
        return out.isEmpty ? fallback : String(out.prefix(60))
    }
}

// MARK: - events in words

/// An event as a person reads it: who, what, when, where, and the before/after details.
struct DescribedEvent: Sendable {
    let id: Int64
    let time: String
    let timeUTC: String
    /// "Ana Lovelace", "Support (Sam Staff)", "Portal".
    let actor: String
    /// The actor's address (empty for staff and the Portal itself).
    let actorEmail: String
    let description: String
    let action: String
    let environment: String
    let details: [String]
    let ip: String
    let userAgent: String

    init(_ e: OrgAuditEntry, zone: String, memberNames: [String: String]) {
        id = e.id
        time = PageTime.full(e.at, zone: zone)
        timeUTC = PageTime.iso8601(e.at)
        actor = Self.actorLabel(e)
        actorEmail = e.actorIsStaff ? "" : (e.actorEmail ?? "")
        action = e.action
        environment = e.environment
        // Where the operator's staff work from is not the organization's business.
        ip = e.actorIsStaff ? "" : e.ip
        userAgent = e.actorIsStaff ? "" : e.userAgent
        description = AuditActions.all.describe(e.action, actor: actor, subject: e.subject, details: e.details,
                                                subjectName: memberNames[e.subject.lowercased()])
        details = AuditActions.all.detailLines(e.action, details: e.details)
    }

    static func actorLabel(_ e: OrgAuditEntry) -> String {
        guard e.actorUserID != nil, let email = e.actorEmail else {
            // A change made through the API names its key (its user agent reads
            // "API key sk_sandbox_AbCd…wXyZ · <client>"), not the portal.
            if e.userAgent.hasPrefix("API key ") { return String(e.userAgent.prefix { $0 != "·" }).trimmingCharacters(in: .whitespaces) }
            return e.action.hasPrefix("support.") || e.action.hasSuffix("_by_support") ? "Support" : "Portal"
        }
        let name = (e.actorName ?? "").isEmpty ? email : e.actorName!
        return e.actorIsStaff ? "Support (\(name))" : name
    }
}
