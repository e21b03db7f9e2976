import Database
import Foundation
import Logging
import Mail

/// Organizations: creating one, finding a member's access, and the requests that change an
/// organization only after support reviews them (details, name, offboarding, Production
/// access), plus the Owner's transfer of ownership.
final class Organizations: Sendable {
    let database: Database
    let clock: PortalClock
    let audit: Audit
    let accounts: Accounts
    let countries: Countries
    let store = OrganizationsStore()
    /// What ``accessAndOthers(user:organization:)`` read, by user and organization, as
    /// ``VerifiedCredentials`` remembers it: a change to a membership or an organization is a
    /// write, and forgets it.
    private let rememberedAccess: VerifiedCredentials<AccessKey, [(OrganizationRecord, MembershipRecord)]>
    private struct AccessKey: Hashable, Sendable {
        let userID: Int64
        let organization: String
    }
    /// Support's queue, where the requests below are filed in our transactions.
    let supportQueue = SupportQueue()
    let logger: Logger

    /// How many organizations one person may create (each one is reviewed work for support).
    static let maximumOwned = 20
    static let touchInterval: Int64 = 60

    init(database: Database, clock: PortalClock, accounts: Accounts, countries: Countries, logger: Logger) {
        self.database = database
        self.clock = clock
        self.audit = Audit(clock: clock)
        self.accounts = accounts
        self.countries = countries
        self.logger = logger
        self.rememberedAccess = VerifiedCredentials(database: database)
    }

    // MARK: - access

    /// The user's access to the organization with this public id. An unknown, closed or foreign
    /// organization is ``OrgProblem/notFound``; a disabled membership is refused with a reason.
    func access(user: UserRecord, organization publicID: String) throws -> OrgAccess {
        guard PublicID.isWellFormed(publicID, prefix: "org") else { throw OrgProblem.notFound }
        return try access(user: user, found: try database.read({ try store.access(userID: user.id, organizationPublicID: publicID, on: $0) }))
    }

    /// ``access(user:organization:)`` and ``organizations(for:)`` together, read in one
    /// statement: what ``OrgGate`` needs on every organization page.
    func accessAndOthers(user: UserRecord, organization publicID: String) throws -> (OrgAccess, [(OrganizationRecord, MembershipRecord)]) {
        guard PublicID.isWellFormed(publicID, prefix: "org") else { throw OrgProblem.notFound }
        var list = try rememberedAccess.record(AccessKey(userID: user.id, organization: publicID)) {
            let list = try database.read { try store.organizationsAndAccess(userID: user.id, organizationPublicID: publicID, on: $0) }
            return list.contains { $0.0.publicID == publicID } ? list : nil // a guess is not remembered
        } ?? []
        let found = list.first { $0.0.publicID == publicID }
        if let found, !(found.0.isActive && found.1.isActive) { list.removeLast() }
        return (try access(user: user, found: found), list)
    }

    private func access(user: UserRecord, found: (OrganizationRecord, MembershipRecord)?) throws -> OrgAccess {
        guard let (org, member) = found, org.isActive else { throw OrgProblem.notFound }
        guard member.isActive else {
            throw OrgProblem.forbidden("Your access to \(org.displayName) has been disabled by one of its administrators.")
        }
        let now = clock.now()
        if now - (member.lastActiveAt ?? 0) >= Self.touchInterval {
            try database.write { try store.touchMembership(id: member.id, now: now, on: $0) }
        }
        return OrgAccess(org: org, member: member, user: user)
    }

    /// The organizations the user can open, by name.
    func organizations(for user: UserRecord) throws -> [(OrganizationRecord, MembershipRecord)] {
        try database.read { try store.organizations(forUser: user.id, on: $0) }
    }

    // MARK: - creating

    static let detailFields = ["legal_name", "trading_name", "country", "registration_number", "address", "website", "industry", "compliance_email"]
    static let nameFields = ["legal_name", "trading_name"]
    /// Each detail's limits (see ``TextField``); the address alone has several lines.
    static let textFields: [String: TextField] = [
        "legal_name": TextField(maximumCharacters: 200), "trading_name": TextField(maximumCharacters: 200),
        "registration_number": TextField(maximumCharacters: 50), "address": TextField(maximumCharacters: 500, multiline: true),
        "website": TextField(maximumCharacters: 200), "compliance_email": TextField(maximumCharacters: 254),
    ]

    /// Checks and tidies submitted organization details; returns the clean values or throws
    /// ``OrgProblem/invalid`` with a message per field.
    func validate(_ raw: [String: String], fields: [String] = Organizations.detailFields) throws -> [String: String] {
        var clean: [String: String] = [:]
        var errors: [String: String] = [:]
        for field in fields {
            let value = (raw[field] ?? "").trimmingCharacters(in: .whitespacesAndNewlines)
            // Characters, size and control/bidi characters first, for every field.
            if let p = (Self.textFields[field] ?? TextField(maximumCharacters: 200)).problem(value) { errors[field] = p; continue }
            switch field {
            case "legal_name":
                if value.count < 2 { errors[field] = "Enter the organization's registered legal name." }
            case "trading_name":
                break // optional; its limits are the TextField's
            case "country":
                if !countries.contains(value) { errors[field] = "Choose the country where the organization is registered." }
            case "registration_number":
                if value.isEmpty { errors[field] = "Enter the company registration number." }
                else if !value.unicodeScalars.allSatisfy({ CharacterSet.alphanumerics.contains($0) || " -./".unicodeScalars.contains($0) }) {
                    errors[field] = "Use letters, digits, spaces, dots, dashes and slashes (at most 50)."
                }
            case "address":
                if value.count < 5 { errors[field] = "Enter the registered address." }
            case "website":
                if let url = Self.normalizeWebsite(value) { clean[field] = url; continue }
                errors[field] = value.isEmpty ? "Enter the organization's website." : "Enter a web address like https://example.com."
            case "industry":
                if !Industries.all.contains(value) { errors[field] = "Choose the industry closest to what the organization does." }
            case "compliance_email":
                let email = Accounts.normalizeEmail(value)
                if let p = Accounts.emailProblem(email) { errors[field] = p } else { clean[field] = email; continue }
            default:
                continue
            }
            if errors[field] == nil { clean[field] = value }
        }
        guard errors.isEmpty else { throw OrgProblem.invalid(errors) }
        return clean
    }

    /// `https://example.com` from `example.com` or `http(s)://example.com/…`; nil when it is
    /// not a web address.
    static func normalizeWebsite(_ raw: String) -> String? {
        var s = raw
        if !s.lowercased().hasPrefix("http://") && !s.lowercased().hasPrefix("https://") { s = "https://" + s }
        guard s.count <= 200, !s.contains(where: { $0.isWhitespace }),
              let url = URL(string: s), let scheme = url.scheme?.lowercased(), scheme == "http" || scheme == "https",
              let host = url.host, host.contains("."), !host.hasPrefix("."), !host.hasSuffix("."), url.user == nil
        else { return nil }
        return s
    }

    /// Creates an organization with the user as its Owner; Sandbox is usable at once.
    func create(_ raw: [String: String], by user: UserRecord, actor: Actor) throws -> OrganizationRecord {
        guard !user.isStaff else { throw OrgProblem.forbidden("Staff accounts cannot create organizations.") }
        let details = try validate(raw)
        let now = clock.now()
        let id = try database.write { db -> Int64 in
            let owned = try store.ownedCount(userID: user.id, on: db)
            guard owned < Self.maximumOwned else {
                throw OrgProblem.invalid(["legal_name": "You already own \(owned) organizations, the most one person may create. Contact support for more."])
            }
            return try createOwned(details: details, ownerID: user.id, by: actor, now: now, on: db).id
        }
        guard let org = try database.read({ try store.organization(id: id, on: $0) }) else { throw OrgProblem.notFound }
        return org
    }

    /// The fields of details and requests as people read them.
    static let fieldTitles: [String: String] = [
        "legal_name": "Legal name", "trading_name": "Trading name", "country": "Country", "registration_number": "Registration number",
        "address": "Registered address", "website": "Website", "industry": "Industry", "compliance_email": "Compliance contact",
        "status": "Status", "production": "Production",
    ]

    /// A detail as people read it: the country with its name, "—" for nothing.
    func display(_ field: String, _ value: String) -> String {
        if field == "country" { return countries.name(value).map { "\($0) (\(value))" } ?? value }
        return value.isEmpty ? "—" : value
    }

    /// The details as label/value rows, in the form's order.
    func detailRows(_ details: [String: String]) -> [[String: String]] {
        Self.detailFields.map { ["label": Self.fieldTitles[$0] ?? $0, "value": display($0, details[$0] ?? "")] }
    }

    // MARK: - requests reviewed by support

    /// The organization's support requests, newest first. They carry the Owner's reasons and
    /// support's answers: the settings page lists them for the Owner only; other members'
    /// pages use no more than their kinds and whether they are open (the dashboard, the
    /// Production page).
    func requests(_ access: OrgAccess) throws -> [SupportRequestRecord] {
        try database.read { try supportQueue.requests(organizationID: access.org.id, on: $0) }
    }

    /// Asks support to change the details or the name. Only changed fields are kept; a
    /// reason is required; one open request of a kind at a time.
    func requestChange(_ access: OrgAccess, kind: SupportRequestRecord.Kind, proposed raw: [String: String], reason rawReason: String,
                       actor: Actor) throws {
        try access.requireOwner("ask for changes to the organization")
        precondition(kind == .orgDetails || kind == .orgName)
        let fields = kind == .orgName ? Self.nameFields : Self.detailFields.filter { !Self.nameFields.contains($0) }
        let reason = rawReason.trimmingCharacters(in: .whitespacesAndNewlines)
        var errors: [String: String] = [:]
        var clean: [String: String] = [:]
        do { clean = try validate(raw, fields: fields) } catch OrgProblem.invalid(let e) { errors = e }
        if reason.isEmpty { errors["reason"] = "Tell support why this change is needed." } else if let p = TextField.note.problem(reason) { errors["reason"] = p }
        guard errors.isEmpty else { throw OrgProblem.invalid(errors) }
        let current = access.org.details
        let changes = clean.filter { current[$0.key] != $0.value }
        guard !changes.isEmpty else { throw OrgProblem.invalid(["form": "Nothing is different from the current details. Change at least one field."]) }
        var details = AuditDetails()
        for f in Self.detailFields { if let v = changes[f] { details[f] = .change(before: current[f] ?? "", after: v) } }
        try fileRequest(access, kind: kind, note: reason, changes: changes, actor: actor, auditDetails: details)
    }

    /// Asks support to close the organization for good. The Owner types the organization's
    /// name to confirm.
    func requestOffboarding(_ access: OrgAccess, reason rawReason: String, confirmation: String, actor: Actor) throws {
        try access.requireOwner("ask to close the organization")
        let reason = rawReason.trimmingCharacters(in: .whitespacesAndNewlines)
        var errors: [String: String] = [:]
        if reason.isEmpty { errors["reason"] = "Tell support why the organization is leaving." } else if let p = TextField.note.problem(reason) { errors["reason"] = p }
        if confirmation.trimmingCharacters(in: .whitespaces) != access.org.displayName {
            errors["confirmation"] = "Type the organization's name, \(access.org.displayName), to confirm."
        }
        guard errors.isEmpty else { throw OrgProblem.invalid(errors) }
        try fileRequest(access, kind: .offboarding, note: reason, changes: ["status": "closed"], actor: actor, auditDetails: AuditDetails())
    }

    /// Asks support to open Production; they check the compliance details first.
    func requestProduction(_ access: OrgAccess, note rawNote: String, actor: Actor) throws {
        try access.requireOwner("request Production access")
        guard !access.org.hasProduction else { throw OrgProblem.conflict("Production is already enabled for \(access.org.displayName).") }
        let note = rawNote.trimmingCharacters(in: .whitespacesAndNewlines)
        if note.isEmpty { throw OrgProblem.invalid(["note": "Describe what you will use Production for (products, expected volumes, go-live date)."]) }
        if let p = TextField.note.problem(note) { throw OrgProblem.invalid(["note": p]) }
        try fileRequest(access, kind: .productionAccess, note: note, changes: ["production": "enabled"], actor: actor, auditDetails: AuditDetails())
    }

    private func fileRequest(_ access: OrgAccess, kind: SupportRequestRecord.Kind, note: String, changes: [String: String],
                             actor: Actor, auditDetails: AuditDetails) throws {
        let now = clock.now()
        try database.write { db in
            if try supportQueue.openRequest(organizationID: access.org.id, kind: kind, on: db) != nil {
                throw OrgProblem.conflict("A “\(kind.title)” request is already waiting for support. You will get an e-mail when it is decided.")
            }
            let (_, id) = try supportQueue.file(kind: kind, by: access.user, organizationID: access.org.id, note: note, changes: changes,
                                                now: now, on: db)
            try audit.record(kind.filed, by: actor, organization: access.org.id,
                             environment: kind.environment, subject: id, details: auditDetails, on: db)
        }
    }

    // MARK: - ownership

    /// The members ownership can go to: every other active member.
    func transferCandidates(_ access: OrgAccess) throws -> [MemberRow] {
        try access.requireOwner("transfer ownership")
        return try database.read { try store.members(organizationID: access.org.id, on: $0) }
            .filter { $0.member.isActive && $0.member.id != access.member.id }
    }

    /// The Owner hands the organization to another active member, confirming with password
    /// and authenticator code; the old Owner becomes an Admin.
    func transferOwnership(_ access: OrgAccess, to memberPublicID: String, password: String, code: String, actor: Actor) throws {
        try access.requireOwner("transfer ownership")
        let target = try database.read { try store.membership(publicID: memberPublicID, organizationID: access.org.id, on: $0) }
        guard let target, target.id != access.member.id, target.isActive else {
            throw OrgProblem.invalid(["member": "Choose an active member of \(access.org.displayName)."])
        }
        do {
            try accounts.reauthenticate(user: access.user, password: password, code: code, actor: actor)
        } catch Accounts.Problem.invalid(let errors) {
            throw OrgProblem.invalid(errors)
        } catch Accounts.Problem.throttled(let seconds) {
            throw OrgProblem.throttled(seconds: seconds)
        }
        let now = clock.now()
        try database.write { db in
            guard let newOwner = try accounts.user(id: target.userID, on: db),
                  try store.transferOwnership(from: access.member, to: target, now: now, on: db) else {
                throw OrgProblem.conflict("The team changed while you were confirming. Check the members and try again.")
            }
            try audit.record(OrganizationsAuditEvents.ownerChanged, by: actor, organization: access.org.id, subject: newOwner.email,
                             details: ["from": .text(access.user.email), "to": .text(newOwner.email), "previous_owner_now": .text(Role.admin.title)],
                             on: db)
        }
    }

    // MARK: - time zone

    /// The Owner sets the zone the organization's months begin and end in: the Reports page's
    /// months and every time in its CSV files follow it. Owner only, as the other settings:
    /// moving the months changes which transactions a month's report holds (closed months get
    /// new checksums in the new zone). The zone comes from the list the profile page offers.
    func setTimeZone(_ access: OrgAccess, to raw: String, actor: Actor) throws {
        try access.requireOwner("change the organization's time zone")
        let zone = raw.trimmingCharacters(in: .whitespaces)
        guard PageTime.zones.contains(zone), TimeZone(identifier: zone) != nil else {
            throw OrgProblem.invalid(["time_zone": "Choose a time zone from the list."])
        }
        guard zone != access.org.timeZone else { return }
        let now = clock.now()
        try database.write { db in
            try store.setTimeZone(organizationID: access.org.id, zone: zone, now: now, on: db)
            try audit.record(OrganizationsAuditEvents.timeZoneChanged, by: actor, organization: access.org.id,
                             details: ["time_zone": .change(before: access.org.timeZone, after: zone)], on: db)
        }
    }

    // MARK: - withdrawing a request

    /// The Owner takes back an open request of the organization before support decides it:
    /// it becomes `withdrawn`, support sees that and can no longer decide it.
    func withdraw(_ access: OrgAccess, request publicID: String, actor: Actor) throws -> SupportRequestRecord {
        try access.requireOwner("withdraw requests to support")
        guard Support.isPlausibleID(publicID) else { throw OrgProblem.notFound }
        let now = clock.now()
        return try database.write { db -> SupportRequestRecord in
            guard let r = try supportQueue.request(publicID: publicID, on: db), r.organizationID == access.org.id else { throw OrgProblem.notFound }
            guard r.isOpen, try supportQueue.withdraw(r, now: now, on: db) else {
                throw OrgProblem.conflict("This request was already \(r.isOpen ? "decided" : r.status), so it cannot be withdrawn.")
            }
            try audit.record(OrganizationsAuditEvents.withdrew, by: actor, organization: access.org.id, environment: r.kind.environment,
                             subject: r.publicID, details: ["kind": .text(r.kind.rawValue)], on: db)
            try r.kind.behaviour?.withdrawn(SupportCase(request: r, organization: access.org, requester: access.user, organizations: self),
                                            by: actor, now: now, on: db)
            return r
        }
    }
}
