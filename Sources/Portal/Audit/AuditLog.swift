import Database
import Foundation
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

    static let families: [Family] = [
        Family(key: "team", title: "Team: members and invitations", prefixes: ["member.", "invitation."]),
        Family(key: "requests", title: "Requests to support", prefixes: ["request."]),
        Family(key: "organization", title: "Organization changes", prefixes: ["org."]),
        Family(key: "support", title: "Support decisions", prefixes: ["support."]),
    ]

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
        let parts = s.split(separator: "-", omittingEmptySubsequences: false)
        guard parts.count == 3, parts[0].count == 4, parts[1].count == 2, parts[2].count == 2,
              parts.allSatisfy({ $0.allSatisfy(\.isASCII) && $0.allSatisfy(\.isNumber) }),
              let y = Int(parts[0]), let m = Int(parts[1]), let d = Int(parts[2]),
              (1970...9999).contains(y), (1...12).contains(m), (1...31).contains(d)
        else { return nil }
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = Accounts.timeZone(zone)
        // The date must exist: 2027-02-30 would otherwise roll over to March.
        guard let date = calendar.date(from: DateComponents(year: y, month: m, day: d)),
              calendar.dateComponents([.year, .month, .day], from: date) == DateComponents(year: y, month: m, day: d),
              let shifted = calendar.date(byAdding: .day, value: addingDays, to: date)
        else { return nil }
        return Int64(calendar.startOfDay(for: shifted).timeIntervalSince1970)
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
        let date = String(DescribedEvent.iso8601(clock.now(), zone: access.user.timeZone).prefix(10))
        return Export(filename: "\(Self.slug(access.org.displayName, fallback: access.org.publicID))-audit-log-\(date).csv", log: self,
                      query: resolved.query, memberNames: Self.memberNames(people), limit: Self.exportLimit)
    }

    static func csvRow(_ e: OrgAuditEntry, memberNames: [String: String]) -> [String] {
        let d = DescribedEvent(e, zone: "UTC", memberNames: memberNames)
        return [DescribedEvent.iso8601(e.at), d.actorEmail, d.actor, e.action, d.description, e.environment, e.subject, e.details,
                d.ip, d.userAgent]
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
        time = Accounts.formatTime(e.at, zone: zone)
        timeUTC = Self.iso8601(e.at)
        actor = Self.actorLabel(e)
        actorEmail = e.actorIsStaff ? "" : (e.actorEmail ?? "")
        action = e.action
        environment = e.environment
        // Where the operator's staff work from is not the organization's business.
        ip = e.actorIsStaff ? "" : e.ip
        userAgent = e.actorIsStaff ? "" : e.userAgent
        description = AuditDescriber.describe(action: e.action, actor: actor, subject: e.subject, details: e.details,
                                              subjectName: memberNames[e.subject.lowercased()])
        details = AuditDescriber.detailLines(action: e.action, details: e.details)
    }

    static func actorLabel(_ e: OrgAuditEntry) -> String {
        guard e.actorUserID != nil, let email = e.actorEmail else {
            return e.action.hasPrefix("support.") || e.action.hasSuffix("_by_support") ? "Support" : "Portal"
        }
        let name = (e.actorName ?? "").isEmpty ? email : e.actorName!
        return e.actorIsStaff ? "Support (\(name))" : name
    }

    /// `2027-01-12T14:05:09Z`, or in `zone` with its offset (`2027-01-12T15:05:09+01:00`).
    static func iso8601(_ t: Int64, zone: String = "UTC") -> String {
        let offset = zone == "UTC" ? 0 : Int64(Accounts.timeZone(zone).secondsFromGMT(for: Date(timeIntervalSince1970: TimeInterval(t))))
        var local = time_t(t + offset)
        var tm = tm()
        gmtime_r(&local, &tm)
        func pad(_ n: Int32, _ w: Int = 2) -> String { let s = String(n); return String(repeating: "0", count: max(0, w - s.count)) + s }
        let date = "\(pad(tm.tm_year + 1900, 4))-\(pad(tm.tm_mon + 1))-\(pad(tm.tm_mday))T\(pad(tm.tm_hour)):\(pad(tm.tm_min)):\(pad(tm.tm_sec))"
        guard offset != 0 else { return date + "Z" }
        let a = abs(offset)
        return date + (offset < 0 ? "-" : "+") + pad(Int32(a / 3600)) + ":" + pad(Int32(a % 3600 / 60))
    }
}

/// Sentences for audit events. Matches on the action, its subject and its details as the
/// services write them; an action it does not know still reads as words.
enum AuditDescriber {
    /// The title of an action, for the filter's list.
    static func title(_ action: String) -> String {
        switch action {
        case "org.created": "Organization created"
        case "org.owner_changed": "Ownership transferred"
        case "org.details_changed": "Details changed"
        case "org.name_changed": "Name changed"
        case "org.closed": "Organization closed"
        case "org.production_enabled": "Production enabled"
        case "request.org_details": "Change of details requested"
        case "request.org_name": "Name change requested"
        case "request.offboarding": "Offboarding requested"
        case "request.production_access": "Production access requested"
        case "member.invited": "Member invited"
        case "member.updated": "Member's role or permissions changed"
        case "member.disabled": "Member disabled"
        case "member.enabled": "Member enabled"
        case "member.removed": "Member removed"
        case "invitation.resent": "Invitation sent again"
        case "invitation.revoked": "Invitation revoked"
        case "invitation.accepted": "Invitation accepted"
        case "invitation.declined": "Invitation declined"
        case "support.approved": "Request approved by support"
        case "support.rejected": "Request rejected by support"
        case "mfa.reset_by_support": "Two-factor authentication reset by support"
        case "staff.created": "Staff account created"
        case "staff.setup_completed": "Staff account set up"
        default: humanize(action)
        }
    }

    /// "api_keys.created" → "Api keys created".
    static func humanize(_ action: String) -> String {
        let words = action.replacingOccurrences(of: ".", with: " ").replacingOccurrences(of: "_", with: " ")
        return words.prefix(1).uppercased() + words.dropFirst()
    }

    /// `key: value` parts of a details string ("role: Developer; permissions: a, b").
    static func fields(_ details: String) -> [(key: String, value: String)] {
        details.components(separatedBy: "; ").compactMap { part in
            guard let r = part.range(of: ": ") else { return nil }
            return (String(part[..<r.lowerBound]), String(part[r.upperBound...]))
        }
    }

    static func field(_ name: String, in details: String) -> String? {
        fields(details).first { $0.key == name }?.value
    }

    /// "developer" or "Developer" → "Developer"; anything else as written.
    static func roleTitle(_ s: String) -> String {
        Role(rawValue: s.trimmingCharacters(in: .whitespaces).lowercased())?.title ?? s
    }

    /// What a support request kind's title reads as in a sentence.
    static func requestPhrase(kindTitle: String) -> String {
        switch kindTitle {
        case SupportRequestRecord.Kind.orgDetails.title: "the change of details"
        case SupportRequestRecord.Kind.orgName.title: "the name change"
        case SupportRequestRecord.Kind.offboarding.title: "the request to close the organization"
        case SupportRequestRecord.Kind.productionAccess.title: "Production access"
        case SupportRequestRecord.Kind.mfaReset.title: "the two-factor reset"
        default: kindTitle.isEmpty ? "a request" : "the request “\(kindTitle)”"
        }
    }

    /// The sentence for one event. `subjectName` is the subject's name when the subject is
    /// the address of one of the organization's people.
    static func describe(action: String, actor: String, subject: String, details: String, subjectName: String? = nil) -> String {
        let who = subjectName ?? (subject.isEmpty ? "a member" : subject)
        switch action {
        case "org.created":
            return subject.isEmpty ? "\(actor) created the organization" : "\(actor) created the organization \(subject)"
        case "org.owner_changed":
            return "\(actor) made \(who) the Owner"
        case "org.details_changed":
            return "\(actor) changed the organization's details"
        case "org.name_changed":
            let to = field("legal_name", in: details).flatMap(Self.after) ?? field("trading_name", in: details).flatMap(Self.after)
            return to.map { "\(actor) changed the organization's name to \($0)" } ?? "\(actor) changed the organization's name"
        case "org.closed":
            return "\(actor) closed the organization"
        case "org.production_enabled":
            return "\(actor) enabled Production"
        case "request.org_details":
            return "\(actor) asked support to change the organization's details"
        case "request.org_name":
            return "\(actor) asked support to change the organization's name"
        case "request.offboarding":
            return "\(actor) asked support to close the organization"
        case "request.production_access":
            return "\(actor) asked support for Production access"
        case "member.invited":
            let role = field("role", in: details).map(roleTitle)
            return "\(actor) invited \(subject.isEmpty ? "someone" : subject)" + (role.map { " as \($0)" } ?? "")
        case "invitation.resent":
            return "\(actor) sent the invitation to \(subject.isEmpty ? "someone" : subject) again"
        case "invitation.revoked":
            return "\(actor) revoked the invitation to \(subject.isEmpty ? "someone" : subject)"
        case "invitation.accepted":
            let role = field("role", in: details).map(roleTitle)
            return "\(actor == "Portal" ? who : actor) accepted the invitation and joined" + (role.map { " as \($0)" } ?? " the team")
        case "invitation.declined":
            return "\(actor == "Portal" ? who : actor) declined the invitation"
        case "member.updated":
            let role = field("role", in: details)
            if let role, role.contains("→") {
                let parts = role.components(separatedBy: "→").map { roleTitle($0.trimmingCharacters(in: .whitespaces)) }
                return "\(actor) changed \(possessive(who)) role: \(parts.joined(separator: " → "))"
            }
            if field("permissions", in: details) != nil { return "\(actor) changed \(possessive(who)) permissions" }
            return "\(actor) changed \(possessive(who)) role and permissions"
        case "member.disabled":
            return "\(actor) disabled \(possessive(who)) access"
        case "member.enabled":
            return "\(actor) enabled \(possessive(who)) access again"
        case "member.removed":
            return "\(actor) removed \(who) from the organization"
        case "support.approved", "support.rejected":
            let kind = details.range(of: ": ").map { String(details[..<$0.lowerBound]) } ?? details
            return "\(actor) \(action == "support.approved" ? "approved" : "rejected") \(requestPhrase(kindTitle: kind))"
        case "mfa.reset_by_support":
            return "\(actor) reset two-factor authentication for \(who)"
        case "staff.created":
            return "\(actor) created a staff account for \(subject)"
        case "staff.setup_completed":
            return "\(actor) finished setting up a staff account"
        default:
            return "\(actor): \(title(action).prefix(1).lowercased() + title(action).dropFirst())" + (subject.isEmpty ? "" : " (\(subject))")
        }
    }

    /// The value after the arrow of "before → after", or the value itself.
    static func after(_ value: String) -> String? {
        let v = value.components(separatedBy: " → ").last?.trimmingCharacters(in: .whitespaces) ?? value
        return v.isEmpty ? nil : v
    }

    static func possessive(_ name: String) -> String { name + "'s" }

    static let fieldTitles = Organizations.fieldTitles.merging(["role": "Role", "permissions": "Permissions"]) { a, _ in a }

    /// The details as lines for the page, field names in words: "Role: Employee → Custom".
    static func detailLines(action: String, details: String) -> [String] {
        guard !details.isEmpty else { return [] }
        if action == "support.approved" || action == "support.rejected" {
            guard let r = details.range(of: ": ") else { return [details] }
            let reason = String(details[r.upperBound...])
            return reason.isEmpty ? [] : ["Reason: \(reason)"]
        }
        return details.components(separatedBy: "; ").map { part in
            guard let r = part.range(of: ": "), let title = fieldTitles[String(part[..<r.lowerBound])] else { return part }
            let value = String(part[r.upperBound...])
            if title == "Role" {
                return "Role: " + value.components(separatedBy: " → ").map(roleTitle).joined(separator: " → ")
            }
            return "\(title): \(value)"
        }
    }
}
