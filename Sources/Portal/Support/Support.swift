import Database
import Foundation
import Logging
import Mail
import Security

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
    let logger: Logger

    static let pageSize = 25
    static let historyLimit = 50
    static let setupLinkLifetime: Int64 = 72 * 3600

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
        let now = clock.now()
        return try database.write { db -> (String, Bool) in
            let userID: Int64
            let reissued: Bool
            if let existing = try accounts.user(email: email, on: db) {
                guard existing.isStaff else {
                    throw SupportProblem.invalid(["email": "\(email) already has a Portal account that is not staff. Staff accounts need their own address."])
                }
                guard try !accounts.hasUsedLink(userID: existing.id, purpose: "staff_setup", on: db) else {
                    throw SupportProblem.conflict("\(email) is already a staff account and has set its password. They can reset it from the login page.")
                }
                userID = existing.id
                reissued = true
                try audit.record(SupportAuditEvents.staffLinkReissued, by: actor, subject: email,
                                 details: ["note": .text("the earlier setup link no longer works")], on: db)
            } else {
                userID = try accounts.createUser(email: email, name: name, passwordHash: unusable, verified: true, staff: true, now: now, on: db)
                reissued = false
                try audit.record(SupportAuditEvents.staffCreated, by: actor, subject: email, details: ["name": .text(name)], on: db)
            }
            // The new link voids any earlier one.
            return (try accounts.issueLink(userID: userID, purpose: "staff_setup", lifetime: Self.setupLinkLifetime, now: now, on: db), reissued)
        }
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
        let t: UserToken
        let user: UserRecord
        do { (t, user) = try accounts.checkLink(token, purpose: "staff_setup") } catch Accounts.Problem.linkInvalid { throw SupportProblem.linkInvalid }
        guard user.isStaff else { throw SupportProblem.linkInvalid }
        if let p = accounts.policy.check(password, context: [user.email, user.name]) { throw SupportProblem.invalid(["password": p.message]) }
        let hash = try accounts.hashNew(password)
        let now = clock.now()
        return try database.write { db -> String in
            guard try accounts.consumeLink(t, now: now, on: db) else { throw SupportProblem.linkInvalid }
            try accounts.setPassword(userID: user.id, hash: hash, now: now, on: db)
            try audit.record(SupportAuditEvents.staffSetupCompleted, by: actor.with(userID: user.id), subject: user.email, on: db)
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
                let c = try supportCase(r, on: db)
                let (changes, consequences) = try r.kind.behaviour?.review(c, on: db) ?? ([], [])
                let org = c.organization, requester = c.requester
                var history: [SupportHistoryEvent] = []
                if let org {
                    history = try audit.history(organizationID: org.id, limit: Self.historyLimit, on: db)
                } else if let requester {
                    history = try audit.history(userID: requester.id, email: requester.email, limit: Self.historyLimit, on: db)
                }
                // A withdrawn request was ended by its requester, not by staff.
                let decidedBy = r.status == "withdrawn" ? r.email : try r.resolvedBy.flatMap { try accounts.user(id: $0, on: db)?.email }
                var blocked: String?
                if r.isOpen {
                    do { try approvable(c, on: db) } catch SupportProblem.conflict(let why) { blocked = why }
                }
                return SupportReview(request: r, organization: org, requester: requester, changes: changes, consequences: consequences,
                                     history: history, decidedBy: decidedBy, approvalBlocked: blocked,
                                     isOwnRequest: r.userID == staff.id)
            }
        }
    }

    /// The request with what it touches as it is now, read in `db`'s transaction.
    func supportCase(_ r: SupportRequestRecord, on db: Connection) throws -> SupportCase {
        SupportCase(request: r, organization: try r.organizationID.flatMap { try organizations.organization(id: $0, on: db) },
                    requester: try r.userID.flatMap { try accounts.user(id: $0, on: db) }, organizations: organizations)
    }

    /// Throws ``SupportProblem/conflict`` with the reason when approving cannot work now.
    func approvable(_ c: SupportCase, on db: Connection) throws {
        guard let kind = c.request.kind.behaviour else {
            throw SupportProblem.conflict("Requests of the kind “\(c.request.kind.rawValue)” can no longer be approved. Reject it.")
        }
        try kind.check(c, on: db)
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
        if let p = TextField.note.problem(reason) { throw SupportProblem.invalid(["reason": p]) }
        let now = clock.now()
        return try database.write { db -> SupportRequestRecord in
            guard let r = try store.request(publicID: requestID, on: db) else { throw SupportProblem.notFound }
            guard r.isOpen else {
                if r.status == "withdrawn" {
                    throw SupportProblem.conflict("\(r.email) withdrew this request, so it can no longer be decided.")
                }
                let by = try r.resolvedBy.flatMap { try accounts.user(id: $0, on: db)?.email }.map { " by \($0)" } ?? ""
                let when = r.resolvedAt.map { " on \(PageTime.full($0, zone: staff.timeZone))" } ?? ""
                throw SupportProblem.conflict("This request was already \(r.status)\(by)\(when). A decided request cannot be decided again.")
            }
            guard r.userID != staff.id else {
                throw SupportProblem.forbidden("This is your own request. Another member of staff has to decide it.")
            }
            let c = try supportCase(r, on: db)
            if approve {
                try approvable(c, on: db)
                try r.kind.behaviour?.apply(c, by: actor, now: now, on: db)
            } else {
                try r.kind.behaviour?.rejected(c, reason: reason, by: actor, now: now, on: db)
            }
            let status = approve ? "approved" : "rejected"
            guard try store.resolve(id: r.id, status: status, by: staff.id, note: reason, now: now, on: db) else {
                throw SupportProblem.conflict("Someone decided this request a moment ago. Reload the page to see the decision.")
            }
            try audit.record(approve ? SupportAuditEvents.approved : SupportAuditEvents.rejected, by: actor, organization: r.organizationID,
                             environment: r.kind.environment, subject: r.publicID,
                             details: ["kind": .text(r.kind.rawValue), "reason": .text(reason)], on: db)
            try mailRequester(c, approved: approve, reason: reason, on: db)
            if approve, r.kind.behaviour?.closesOrganization == true, let orgID = r.organizationID {
                try refuseOtherRequests(organizationID: orgID, closedBy: r, staff: staff, actor: actor, now: now, on: db)
            }
            return SupportRequestRecord(id: r.id, publicID: r.publicID, kind: r.kind, userID: r.userID, email: r.email, note: r.note,
                                        organizationID: r.organizationID, changes: r.changes, status: status, createdAt: r.createdAt,
                                        resolvedAt: now, resolvedBy: staff.id, resolutionNote: reason)
        }
    }

    /// Refuses the open requests of an organization that `closing` has just closed: nothing
    /// they ask can happen to a closed organization, and left open they would wait in the
    /// queue for a decision that can only be "no". Each is rejected by the staff member who
    /// approved the closure, with a reason naming it, audited and mailed like any decision.
    private func refuseOtherRequests(organizationID: Int64, closedBy closing: SupportRequestRecord, staff: UserRecord, actor: Actor,
                                     now: Int64, on db: Connection) throws {
        for other in try store.openRequests(organizationID: organizationID, on: db) where other.id != closing.id {
            let c = try supportCase(other, on: db)
            let name = c.organization?.displayName ?? "The organization"
            let reason = "\(name) was closed when its offboarding was approved (request \(closing.publicID)), so this request can no longer be carried out."
            guard try store.resolve(id: other.id, status: "rejected", by: staff.id, note: reason, now: now, on: db) else { continue }
            try audit.record(SupportAuditEvents.rejected, by: actor, organization: organizationID, environment: other.kind.environment,
                             subject: other.publicID, details: ["kind": .text(other.kind.rawValue), "reason": .text(reason)], on: db)
            try mailRequester(c, approved: false, reason: reason, on: db)
        }
    }

    /// The decision mail: what was asked, the decision, support's reason, and where to look.
    private func mailRequester(_ c: SupportCase, approved: Bool, reason: String, on db: Connection) throws {
        let r = c.request, org = c.organization, requester = c.requester
        let to = requester?.email ?? r.email
        let outcome = r.kind.behaviour?.outcome(c, approved: approved)
            ?? SupportOutcome(what: "Nothing was changed.", path: "/orgs", linkText: "Your organizations")
        let (what, path, linkText) = (outcome.what, outcome.path, outcome.linkText)
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
