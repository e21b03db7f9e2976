import Database
import Foundation
import Logging
import Mail
import Security

/// What went wrong in the back-office.
enum SupportProblem: Error, Equatable {
    /// No such request, or the person is not staff: the same answer (the back-office is not
    /// shown to anyone else).
    case notFound
    /// Field → message; the form is shown again with what was typed.
    case invalid([String: String])
    /// The request was decided already, or its organization changed so it cannot be applied.
    case conflict(String)
    /// A staff member may not decide this one (their own request).
    case forbidden(String)
    /// A setup link that is unknown, used or expired.
    case linkInvalid
}

/// Which part of the queue to show: status (open by default), type, page.
struct SupportFilter: Equatable, Sendable {
    enum Status: String, CaseIterable, Sendable {
        case open, approved, rejected, all
        var title: String { self == .all ? "All statuses" : rawValue.capitalized }
    }

    var status: Status = .open
    var kind: SupportRequestRecord.Kind?
    var page: Int = 1

    init(status: Status = .open, kind: SupportRequestRecord.Kind? = nil, page: Int = 1) {
        self.status = status
        self.kind = kind
        self.page = max(1, page)
    }

    /// From the queue's query string; anything unknown falls back to the default.
    init(status: String?, kind: String?, page: String?) {
        self.init(status: status.flatMap(Status.init(rawValue:)) ?? .open,
                  kind: kind.flatMap(SupportRequestRecord.Kind.init(rawValue:)),
                  page: page.flatMap { Int($0) }.map { min(max($0, 1), 100_000) } ?? 1)
    }
}

/// One row of "what would change": a field, its value now and after approval.
struct SupportChange: Sendable {
    let label: String
    let before: String
    let after: String
}

/// Everything the review page shows about one request, read in one snapshot.
struct SupportReview: Sendable {
    let request: SupportRequestRecord
    let organization: OrganizationRecord?
    /// The requester's account as it is now (nil if it was deleted).
    let requester: UserRecord?
    let changes: [SupportChange]
    /// What else approval does, in words.
    let consequences: [String]
    let history: [SupportHistoryEvent]
    /// The staff member who decided it, if decided.
    let decidedBy: String?
    /// Why approval is impossible now (the request can still be rejected), if it is.
    let approvalBlocked: String?
    /// Whether this staff member may decide it at all (not their own request).
    let isOwnRequest: Bool
}

/// The support back-office: staff accounts made from the command line, the queue of
/// requests that need a person, their review, and decisions that apply the requested change
/// in the same transaction as the decision, its audit events and the mail to the requester.
///
/// Only staff get anywhere: every method takes the signed-in user and answers
/// ``SupportProblem/notFound`` to anyone else, whatever the routes in front of it do.
final class Support: Sendable {
    let database: Database
    let clock: PortalClock
    let audit: Audit
    let accounts: Accounts
    let organizations: Organizations
    let store = SupportStore()
    let orgStore = OrganizationsStore()
    let logger: Logger

    static let pageSize = 25
    static let historyLimit = 50
    static let setupLinkLifetime: Int64 = 72 * 3600
    static let maximumReason = 2000

    init(organizations: Organizations, logger: Logger) {
        self.database = organizations.database
        self.clock = organizations.clock
        self.audit = Audit(clock: organizations.clock)
        self.accounts = organizations.accounts
        self.organizations = organizations
        self.logger = logger
    }

    func requireStaff(_ user: UserRecord) throws {
        guard user.isStaff else { throw SupportProblem.notFound }
    }

    // MARK: - staff accounts

    /// Creates a staff account (verified, with a random password nobody knows) and returns
    /// the token of its single-use setup link, valid 72 hours.
    ///
    /// An address that already has an account is refused: an integrator's account never
    /// becomes staff, and a staff account that finished its setup is left alone. A staff
    /// account that has not set its password yet gets a fresh link (the old one stops
    /// working), so an expired link is not a dead end.
    func createStaff(email rawEmail: String, name rawName: String, actor: Actor) throws -> (token: String, reissued: Bool) {
        let email = Accounts.normalizeEmail(rawEmail)
        let name = rawName.trimmingCharacters(in: .whitespacesAndNewlines)
        var errors: [String: String] = [:]
        if let p = Accounts.emailProblem(email) { errors["email"] = p }
        if name.isEmpty { errors["name"] = "Enter the staff member's name." } else if let p = TextField.personName.problem(name) { errors["name"] = p }
        guard errors.isEmpty else { throw SupportProblem.invalid(errors) }

        // A hash of 32 random bytes that are then forgotten: no password opens it.
        let unusable = try accounts.hashNew(SecureRandom.token(bytes: 32))
        let token = SecureRandom.token(bytes: 32)
        let now = clock.now()
        let reissued = try database.write { db -> Bool in
            let userID: Int64
            let reissued: Bool
            if let existing = try accounts.store.user(email: email, on: db) {
                guard existing.isStaff else {
                    throw SupportProblem.invalid(["email": "\(email) already has a Portal account that is not staff. Staff accounts need their own address."])
                }
                guard try !store.hasCompletedSetup(userID: existing.id, on: db) else {
                    throw SupportProblem.conflict("\(email) is already a staff account and has set its password. They can reset it from the login page.")
                }
                userID = existing.id
                reissued = true
                try accounts.store.voidTokens(userID: userID, purpose: "staff_setup", now: now, on: db)
                try audit.record("staff.setup_link_reissued", by: actor, subject: email, details: "the earlier setup link no longer works", on: db)
            } else {
                userID = try accounts.store.insertUser(email: email, name: name, passwordHash: unusable, now: now, on: db)
                try accounts.store.markVerified(userID: userID, now: now, on: db)
                try store.markStaff(userID: userID, now: now, on: db)
                reissued = false
                try audit.record("staff.created", by: actor, subject: email, details: "name: \(name)", on: db)
            }
            try accounts.store.insertToken(userID: userID, purpose: "staff_setup", hash: Sessions.hash(token), newEmail: nil,
                                           now: now, expiresAt: now + Self.setupLinkLifetime, on: db)
            return reissued
        }
        return (token, reissued)
    }

    /// The staff account a setup link is for, if the link still works.
    func setupAccount(token: String) throws -> UserRecord {
        let user: UserRecord
        do { (_, user) = try accounts.checkLink(token, purpose: "staff_setup") } catch Accounts.Problem.linkInvalid { throw SupportProblem.linkInvalid }
        guard user.isStaff else { throw SupportProblem.linkInvalid }
        return user
    }

    /// Sets the staff member's first password from the setup link (used up here) and starts
    /// a session one step short of signed in: like everyone, they enrol TOTP next. Returns
    /// the session's cookie token. `current` (whatever session the browser had) ends.
    func completeSetup(token: String, password: String, current: SessionRecord?, actor: Actor) throws -> String {
        let t: AccountsStore.Token
        let user: UserRecord
        do { (t, user) = try accounts.checkLink(token, purpose: "staff_setup") } catch Accounts.Problem.linkInvalid { throw SupportProblem.linkInvalid }
        guard user.isStaff else { throw SupportProblem.linkInvalid }
        if let p = accounts.policy.check(password, context: [user.email, user.name]) { throw SupportProblem.invalid(["password": p.message]) }
        let hash = try accounts.hashNew(password)
        let now = clock.now()
        return try database.write { db -> String in
            guard try accounts.store.consumeToken(id: t.id, now: now, on: db) else { throw SupportProblem.linkInvalid }
            try accounts.store.setPassword(userID: user.id, hash: hash, now: now, on: db)
            try accounts.sessions.store.revokeAll(userID: user.id, now: now, on: db)
            try audit.record("staff.setup_completed", by: actor.with(userID: user.id), subject: user.email, on: db)
            return try accounts.sessions.start(userID: user.id, stage: user.hasTOTP ? .mfa : .enrol, ip: actor.ip,
                                               userAgent: actor.userAgent, replacing: current, on: db).token
        }
    }

    // MARK: - the queue

    struct QueuePage: Sendable {
        let rows: [SupportQueueRow]
        let hasNext: Bool
        let openCounts: [String: Int]
    }

    /// A page of the queue, newest first.
    func queue(staff: UserRecord, filter: SupportFilter) throws -> QueuePage {
        try requireStaff(staff)
        return try database.read { db in
            try db.transaction(.deferred) {
                let rows = try store.queue(status: filter.status == .all ? nil : filter.status.rawValue, kind: filter.kind,
                                           limit: Self.pageSize, offset: (filter.page - 1) * Self.pageSize, on: db)
                return QueuePage(rows: Array(rows.prefix(Self.pageSize)), hasNext: rows.count > Self.pageSize,
                                 openCounts: try store.openCounts(on: db))
            }
        }
    }

    /// Public ids are `req_…`; requests filed before they had that prefix have hex ids.
    static func isPlausibleID(_ s: String) -> Bool {
        !s.isEmpty && s.utf8.count <= 40 && s.utf8.allSatisfy { ($0 >= 48 && $0 <= 57) || ($0 >= 97 && $0 <= 122) || $0 == 95 }
    }

    // MARK: - reviewing

    func review(staff: UserRecord, requestID: String) throws -> SupportReview {
        try requireStaff(staff)
        guard Self.isPlausibleID(requestID) else { throw SupportProblem.notFound }
        return try database.read { db in
            try db.transaction(.deferred) {
                guard let r = try store.request(publicID: requestID, on: db) else { throw SupportProblem.notFound }
                let org = try r.organizationID.flatMap { try orgStore.organization(id: $0, on: db) }
                let requester = try r.userID.flatMap { try accounts.store.user(id: $0, on: db) }
                var changes: [SupportChange] = []
                var consequences: [String] = []
                var history: [SupportHistoryEvent] = []
                switch r.kind {
                case .orgDetails, .orgName:
                    let current = org?.details ?? [:]
                    changes = Organizations.detailFields.filter { r.changes[$0] != nil }.map { f in
                        SupportChange(label: Organizations.fieldTitles[f] ?? f, before: organizations.display(f, current[f] ?? ""),
                                      after: organizations.display(f, r.changes[f] ?? ""))
                    }
                case .offboarding:
                    changes = [SupportChange(label: "Status", before: org?.status ?? "—", after: "closed")]
                    if let org, r.isOpen {
                        let members = try store.memberCount(organizationID: org.id, on: db)
                        let invitations = try store.pendingInvitationCount(organizationID: org.id, on: db)
                        consequences = [
                            "\(members) active \(members == 1 ? "member loses" : "members lose") access to \(org.displayName) at once.",
                            "\(invitations) pending \(invitations == 1 ? "invitation is" : "invitations are") revoked.",
                            "The organization leaves every member's list. This cannot be undone.",
                        ]
                    }
                case .productionAccess:
                    changes = [SupportChange(label: "Production", before: org?.hasProduction == true ? "enabled" : "not enabled", after: "enabled")]
                    if r.isOpen { consequences = ["Check the compliance details below before approving."] }
                case .mfaReset:
                    changes = [SupportChange(label: "Two-factor authentication", before: requester?.hasTOTP == true ? "authenticator and recovery codes" : "none",
                                             after: "authenticator and recovery codes removed; the user enrols again at next login")]
                    if let requester, r.isOpen {
                        let codes = try accounts.store.remainingRecoveryCodes(userID: requester.id, on: db)
                        consequences = [
                            "\(codes) unused recovery \(codes == 1 ? "code is" : "codes are") deleted.",
                            "Every session of \(requester.email) is signed out.",
                            "Confirm who is asking (the note says how) before approving: this gives the account to whoever knows its password.",
                        ]
                    }
                }
                if let org {
                    history = try store.history(organizationID: org.id, limit: Self.historyLimit, on: db)
                } else if let requester {
                    history = try store.history(userID: requester.id, email: requester.email, limit: Self.historyLimit, on: db)
                }
                let decidedBy = try r.resolvedBy.flatMap { try store.email(userID: $0, on: db) }
                var blocked: String?
                if r.isOpen {
                    do { try approvable(r, organization: org, requester: requester, on: db) } catch SupportProblem.conflict(let why) { blocked = why }
                }
                return SupportReview(request: r, organization: org, requester: requester, changes: changes, consequences: consequences,
                                     history: history, decidedBy: decidedBy, approvalBlocked: blocked,
                                     isOwnRequest: r.userID == staff.id)
            }
        }
    }

    /// Throws ``SupportProblem/conflict`` with the reason when approving `r` cannot work now.
    func approvable(_ r: SupportRequestRecord, organization org: OrganizationRecord?, requester: UserRecord?, on db: Connection) throws {
        switch r.kind {
        case .orgDetails, .orgName, .offboarding, .productionAccess:
            guard let org else { throw SupportProblem.conflict("The organization of this request no longer exists. Reject the request.") }
            guard org.isActive else {
                throw SupportProblem.conflict("\(org.displayName) was closed, so this request can no longer be approved. Reject it with a reason.")
            }
            // Only the Owner may ask for these; one who has since handed the organization on
            // (or left it) no longer speaks for it.
            guard let owner = try orgStore.owner(organizationID: org.id, on: db), owner.isActive, owner.userID == r.userID else {
                throw SupportProblem.conflict("\(r.email) is no longer the Owner of \(org.displayName), so this request can no longer be approved. Reject it; the current Owner can ask again.")
            }
        case .mfaReset:
            guard let requester else { throw SupportProblem.conflict("The account of this request no longer exists. Reject the request.") }
            if let enabled = requester.totpEnabledAt, enabled > r.createdAt {
                throw SupportProblem.conflict("\(requester.email) set up a new authenticator after this request was sent, so it is out of date. Reject it.")
            }
        }
    }

    // MARK: - deciding

    /// Approves (applying the change) or rejects a request, with a reason the requester
    /// reads. The change, the decision, the audit events and the mail to the requester are
    /// one transaction. A decided request stays decided.
    func decide(staff: UserRecord, requestID: String, approve: Bool, reason rawReason: String, actor: Actor) throws -> SupportRequestRecord {
        try requireStaff(staff)
        guard Self.isPlausibleID(requestID) else { throw SupportProblem.notFound }
        let reason = rawReason.trimmingCharacters(in: .whitespacesAndNewlines)
        if reason.isEmpty {
            throw SupportProblem.invalid(["reason": "Give a reason: the requester reads it in the e-mail and on their settings page."])
        }
        if let p = TextField(maximumCharacters: Self.maximumReason, multiline: true).problem(reason) { throw SupportProblem.invalid(["reason": p]) }
        let now = clock.now()
        return try database.write { db -> SupportRequestRecord in
            guard let r = try store.request(publicID: requestID, on: db) else { throw SupportProblem.notFound }
            guard r.isOpen else {
                let by = try r.resolvedBy.flatMap { try store.email(userID: $0, on: db) }.map { " by \($0)" } ?? ""
                let when = r.resolvedAt.map { " on \(Accounts.formatTime($0, zone: staff.timeZone))" } ?? ""
                throw SupportProblem.conflict("This request was already \(r.status)\(by)\(when). A decided request cannot be decided again.")
            }
            guard r.userID != staff.id else {
                throw SupportProblem.forbidden("This is your own request. Another member of staff has to decide it.")
            }
            let org = try r.organizationID.flatMap { try orgStore.organization(id: $0, on: db) }
            let requester = try r.userID.flatMap { try accounts.store.user(id: $0, on: db) }
            if approve {
                try approvable(r, organization: org, requester: requester, on: db)
                try apply(r, organization: org, requester: requester, actor: actor, now: now, on: db)
            }
            let status = approve ? "approved" : "rejected"
            guard try store.resolve(id: r.id, status: status, by: staff.id, note: reason, now: now, on: db) else {
                throw SupportProblem.conflict("Someone decided this request a moment ago. Reload the page to see the decision.")
            }
            try audit.record("support.\(status)", by: actor, organization: r.organizationID,
                             environment: r.kind == .productionAccess ? Environment.production.rawValue : "",
                             subject: r.publicID, details: "\(r.kind.title): \(reason)", on: db)
            try mailRequester(r, organization: org, requester: requester, approved: approve, reason: reason, on: db)
            return SupportRequestRecord(id: r.id, publicID: r.publicID, kind: r.kind, userID: r.userID, email: r.email, note: r.note,
                                        organizationID: r.organizationID, changes: r.changes, status: status, createdAt: r.createdAt,
                                        resolvedAt: now, resolvedBy: staff.id, resolutionNote: reason)
        }
    }

    /// Applies an approved request's change, in the decision's transaction.
    private func apply(_ r: SupportRequestRecord, organization: OrganizationRecord?, requester: UserRecord?, actor: Actor, now: Int64,
                       on db: Connection) throws {
        switch r.kind {
        case .orgDetails, .orgName:
            guard let org = organization else { throw SupportProblem.conflict("The organization no longer exists.") }
            let allowed = r.kind == .orgName ? Organizations.nameFields : Organizations.detailFields.filter { !Organizations.nameFields.contains($0) }
            let proposed = r.changes.filter { allowed.contains($0.key) }
            // Checked again with today's rules: what was valid when asked must still be.
            let clean: [String: String]
            do { clean = try organizations.validate(proposed, fields: allowed.filter { proposed[$0] != nil }) } catch OrgProblem.invalid(let e) {
                throw SupportProblem.conflict("The proposed values are not valid any more (\(e.sorted { $0.key < $1.key }.map(\.value).joined(separator: " "))). Reject the request.")
            }
            let current = org.details
            let differing = clean.filter { current[$0.key] != $0.value }
            try orgStore.updateDetails(organizationID: org.id, changes: differing, now: now, on: db)
            let summary = differing.isEmpty ? "no change: the details were already as requested"
                : Organizations.detailFields.filter { differing[$0] != nil }.map { "\($0): \(current[$0] ?? "") → \(differing[$0]!)" }.joined(separator: "; ")
            try audit.record(r.kind == .orgName ? "org.name_changed" : "org.details_changed", by: actor, organization: org.id,
                             subject: differing["legal_name"] ?? org.legalName, details: "\(summary) (request \(r.publicID))", on: db)
        case .offboarding:
            guard let org = organization else { throw SupportProblem.conflict("The organization no longer exists.") }
            let members = try store.memberCount(organizationID: org.id, on: db)
            let revoked = try closeOrganization(id: org.id, now: now, on: db)
            try audit.record("org.closed", by: actor, organization: org.id, subject: org.legalName,
                             details: "status: active → closed; \(members) members lost access; \(revoked) pending invitations revoked (request \(r.publicID))",
                             on: db)
        case .productionAccess:
            guard let org = organization else { throw SupportProblem.conflict("The organization no longer exists.") }
            try orgStore.enableProduction(organizationID: org.id, now: now, on: db)
            try audit.record("org.production_enabled", by: actor, organization: org.id, environment: Environment.production.rawValue,
                             subject: org.legalName,
                             details: org.hasProduction ? "Production: already enabled (request \(r.publicID))"
                                 : "Production: not enabled → enabled (request \(r.publicID))", on: db)
        case .mfaReset:
            guard let user = requester else { throw SupportProblem.conflict("The account no longer exists.") }
            let codes = try store.removeSecondFactor(userID: user.id, now: now, on: db)
            let sessions = try accounts.sessions.store.revokeAll(userID: user.id, now: now, on: db)
            try audit.record("mfa.reset_by_support", by: actor, subject: user.email,
                             details: "authenticator and \(codes) unused recovery codes removed; \(sessions) sessions signed out; enrols again at next login (request \(r.publicID))",
                             on: db)
        }
    }

    /// Everything closing an organization does, in the caller's transaction: the
    /// organization is closed (``OrgGate`` refuses every member from the next request on, so
    /// their sessions for it end) and its pending invitations are revoked. Returns how many
    /// invitations were revoked. Revoking the organization's API keys and app credentials
    /// belongs here too, once those exist.
    @discardableResult
    func closeOrganization(id: Int64, now: Int64, on db: Connection) throws -> Int {
        try orgStore.close(organizationID: id, now: now, on: db)
        return try store.revokePendingInvitations(organizationID: id, now: now, on: db)
    }

    /// The decision mail: what was asked, the decision, support's reason, and where to look.
    private func mailRequester(_ r: SupportRequestRecord, organization org: OrganizationRecord?, requester: UserRecord?, approved: Bool,
                               reason: String, on db: Connection) throws {
        let to = requester?.email ?? r.email
        let path: String
        let linkText: String
        switch (r.kind, approved) {
        case (.mfaReset, _):
            path = "/login"
            linkText = approved ? "Log in and set up your new authenticator" : "Log in"
        case (.offboarding, true):
            path = "/orgs"
            linkText = "Your organizations"
        default:
            path = org.map { "/orgs/\($0.publicID)/settings" } ?? "/orgs"
            linkText = "Your organization's settings"
        }
        let what: String
        switch (r.kind, approved) {
        case (.orgDetails, true): what = "The organization's details are updated."
        case (.orgName, true): what = "The organization's name is updated."
        case (.offboarding, true): what = "The organization is closed: its members no longer have access to it."
        case (.productionAccess, true): what = "Production is now enabled for the organization."
        case (.mfaReset, true): what = "Your authenticator and recovery codes were removed. Log in with your password and you will be asked to set up a new authenticator."
        case (_, false): what = "Nothing was changed."
        }
        let mailer = accounts.mailer
        try mailer.enqueue(
            template: "support_decision", to: to,
            subject: "Your request was \(approved ? "approved" : "not approved"): \(r.kind.title)",
            context: [
                "name": requester?.name ?? "", "hasName": !(requester?.name ?? "").isEmpty, "kindTitle": r.kind.title, "approved": approved,
                "decision": approved ? "approved" : "rejected", "reason": reason, "what": what,
                "orgName": org?.displayName ?? "", "hasOrg": org != nil, "link": mailer.url(path: path), "linkText": linkText,
            ], on: db)
    }
}

// MARK: - the command line's way in

/// Why `portal create-staff` could not create the account, in words for the terminal.
public struct StaffSetupError: Error, CustomStringConvertible {
    public let description: String
}

extension PortalApp {
    /// Creates a staff account and returns the absolute URL of its single-use setup link
    /// (valid 72 hours), made with the configured base URL. For an address that is already
    /// a staff account which has not set its password, a new link replaces the old one; any
    /// other existing address is refused.
    public func createStaff(email: String, name: String) throws -> String {
        let support = Support(organizations: organizations, logger: logger)
        let actor = Actor(userID: nil, ip: "127.0.0.1", userAgent: "portal create-staff")
        do {
            let (token, _) = try support.createStaff(email: email, name: name, actor: actor)
            return accounts.mailer.url(path: "/setup-account?token=\(token)")
        } catch SupportProblem.invalid(let errors) {
            throw StaffSetupError(description: errors.sorted { $0.key < $1.key }.map(\.value).joined(separator: " "))
        } catch SupportProblem.conflict(let message) {
            throw StaffSetupError(description: message)
        }
    }
}
