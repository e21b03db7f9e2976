import Database
import Foundation
import Jobs
import Mail

/// Payouts with four eyes: one member prepares a payout, another authorizes it with a fresh
/// authenticator code, and only then does money leave, as a `payout` transaction.
///
/// The rules, all checked here whatever the pages show:
/// - `payouts.create` prepares; `payouts.authorize` authorizes or rejects; a Developer never
///   does either (their preset never holds the permissions, and a Developer-role member is
///   refused here even if the stored permissions said otherwise).
/// - Nobody decides a payout they prepared, the Owner included (the table's CHECK says it too).
/// - Preparing holds the amount (available → pending) in the same transaction, refused beyond
///   the available balance by the ledger's guarded update, so concurrent payouts never
///   overdraw. Rejection and expiry (7 days, by the job ``PayoutExpiry``) release the hold;
///   authorization hands it to the payout transaction (``Transactions/create``, `payoutID`).
/// - Every step is audited, leaves an event row (`payout.created`, `.authorized`,
///   `.rejected`, `.expired`) and is mailed to the member who prepared the payout.
final class Payouts: Sendable {
    let transactions: Transactions
    let organizations: Organizations
    let store = PayoutsStore()
    let money = MoneyStore()
    let audit: Audit
    let events: Events

    /// A payout not decided within this long expires and its hold is released.
    static let lifetime: Int64 = 7 * 24 * 3600
    static let pageSize = 25
    static let maximumNameCharacters = 140
    static let maximumReferenceCharacters = 35
    static let reason = TextField(maximumCharacters: 500, multiline: true)

    var database: Database { transactions.database }
    var clock: PortalClock { transactions.clock }
    var accounts: Accounts { organizations.accounts }
    var mailer: Mailer { accounts.mailer }
    var countries: Countries { organizations.countries }

    init(transactions: Transactions, organizations: Organizations) {
        self.transactions = transactions
        self.organizations = organizations
        self.audit = Audit(clock: transactions.clock)
        self.events = Events(clock: transactions.clock)
    }

    // MARK: - who may do what

    /// The list and the payout pages: whoever sees transactions or takes part in payouts.
    func mayView(_ env: EnvAccess) -> Bool {
        env.can(.transactionsRead) || mayCreate(env) || mayDecide(env)
    }

    func mayCreate(_ env: EnvAccess) -> Bool { env.can(.payoutsCreate) && env.member.role != .developer }

    func mayDecide(_ env: EnvAccess) -> Bool { env.can(.payoutsAuthorize) && env.member.role != .developer }

    func requireView(_ env: EnvAccess) throws {
        guard mayView(env) else {
            throw OrgProblem.forbidden("Your role in \(env.org.displayName) does not include seeing payouts. Ask an administrator if you need it.")
        }
    }

    func requireCreate(_ env: EnvAccess) throws {
        try Self.refuseDeveloper(env)
        try env.require(.payoutsCreate)
    }

    func requireDecide(_ env: EnvAccess) throws {
        try Self.refuseDeveloper(env)
        try env.require(.payoutsAuthorize)
    }

    static func refuseDeveloper(_ env: EnvAccess) throws {
        if env.member.role == .developer {
            throw OrgProblem.forbidden("Developers never create or authorize payouts. An administrator can change your role if you need to.")
        }
    }

    // MARK: - reading

    struct Page: Sendable {
        let payouts: [PayoutRecord]
        let page: Int
        let hasNext: Bool
        let total: Int
    }

    /// One page of the environment's payouts (1-based), waiting ones first.
    func list(_ env: EnvAccess, page: Int) throws -> Page {
        try requireView(env)
        // Any number a URL holds: no page is below 1, and none so far that its offset overflows.
        let page = min(max(1, page), 1_000_000)
        return try database.read { db in
            try db.transaction(.deferred) {
                let rows = try store.list(env.scope, limit: Self.pageSize + 1, offset: (page - 1) * Self.pageSize, on: db)
                return Page(payouts: Array(rows.prefix(Self.pageSize)), page: page, hasNext: rows.count > Self.pageSize,
                            total: try store.count(env.scope, on: db))
            }
        }
    }

    /// A payout with what its page shows beside it.
    struct Detail: Sendable {
        let payout: PayoutRecord
        let transaction: TransactionRecord?
        /// Active members other than the one who prepared it who may authorize it.
        let otherAuthorizers: Int
    }

    /// A payout of this organization and environment; any other id (another organization's
    /// included) is ``OrgProblem/notFound``.
    func detail(_ env: EnvAccess, _ publicID: String) throws -> Detail {
        try requireView(env)
        return try database.read { db in
            try db.transaction(.deferred) {
                let p = try find(env, publicID, on: db)
                let txn = try p.transactionID.flatMap { try transactions.find(id: $0, on: db) }
                return Detail(payout: p, transaction: txn, otherAuthorizers: try authorizers(env, except: p.createdBy, on: db))
            }
        }
    }

    private func find(_ env: EnvAccess, _ publicID: String, on db: Connection) throws -> PayoutRecord {
        guard PublicID.isWellFormed(publicID, prefix: "po"), let p = try store.payout(publicID: publicID, in: env.scope, on: db) else {
            throw OrgProblem.notFound
        }
        return p
    }

    /// The API's reads, for a caller that checked its own permission: a payout of `scope`
    /// (nil for any other id, another organization's included), and a page newest first.
    func find(_ publicID: String, in scope: MoneyScope, on db: Connection) throws -> PayoutRecord? {
        guard PublicID.isWellFormed(publicID, prefix: "po") else { return nil }
        return try store.payout(publicID: publicID, in: scope, on: db)
    }

    func page(_ scope: MoneyScope, olderThan key: (createdAt: Int64, id: Int64)?, limit: Int, on db: Connection) throws -> [PayoutRecord] {
        try store.newest(scope, olderThan: key, limit: limit, on: db)
    }

    /// How many active members, other than `userID`, hold `payouts.authorize` (never a Developer).
    private func authorizers(_ env: EnvAccess, except userID: Int64?, on db: Connection) throws -> Int {
        try organizations.members(organizationID: env.org.id, on: db).filter { m in
            m.member.isActive && m.member.userID != userID && m.member.role != .developer && m.member.effectivePermissions.contains(.payoutsAuthorize)
        }.count
    }

    /// The environment's accounts, for the new payout form's balances, and how many other
    /// members could authorize what this member prepares (none: the form warns before).
    func form(_ env: EnvAccess) throws -> (balances: [MoneyAccountRecord], otherAuthorizers: Int) {
        try requireCreate(env)
        return try database.read { db in
            try db.transaction(.deferred) {
                (try transactions.accounts(env.scope, on: db), try authorizers(env, except: env.user.id, on: db))
            }
        }
    }

    // MARK: - preparing

    struct Input: Sendable {
        var beneficiaryName = ""
        var method = ""
        var account = ""
        var country = ""
        var amount = ""
        var currency = ""
        var reference = ""
    }

    /// A payout's details once checked: what ``hold(_:in:by:on:)`` records.
    struct Checked: Sendable {
        let name: String
        let method: PaymentMethod
        let account: String
        let country: String
        let amount: Amount
        let reference: String
    }

    /// Who prepares a payout: a member on the page, or an API credential (``PublicAPI``). The
    /// member in `userID` is the payout's creator: mailed at each step and never its decider
    /// (for a key, the member who made the key, so a key cannot be one person's second pair
    /// of eyes). Without one, the members who may authorize are mailed instead.
    struct Preparer: Sendable {
        let userID: Int64?
        let name: String
        let actor: Actor
    }

    /// Checks and records a payout, holds its amount, audits it, writes `payout.created`,
    /// mails the member who prepared it and schedules its expiry. Throws
    /// ``OrgProblem/invalid`` with a message per field (the amount's when it is above the
    /// available balance, naming that balance).
    @discardableResult
    func prepare(_ env: EnvAccess, _ input: Input, actor: Actor) throws -> PayoutRecord {
        try requireCreate(env)
        let checked = try check(input)
        let preparer = Preparer(userID: env.user.id, name: env.user.name, actor: actor.with(userID: env.user.id))
        return try database.write { db in try hold(checked, in: env.scope, by: preparer, on: db) }
    }

    /// The same for a caller that has checked its own permission (the API: a key that may
    /// write payouts), inside the caller's transaction.
    @discardableResult
    func prepare(_ input: Input, in scope: MoneyScope, by preparer: Preparer, on db: Connection) throws -> PayoutRecord {
        try hold(try check(input), in: scope, by: preparer, on: db)
    }

    /// Every field's problem, or the checked payout. The account is an IBAN or an E.164 number
    /// (``BeneficiaryAccount``), the country one of the ISO 3166 list.
    func check(_ input: Input) throws -> Checked {
        var errors: [String: String] = [:]
        let name = input.beneficiaryName.trimmingCharacters(in: .whitespacesAndNewlines)
        if name.isEmpty { errors["beneficiary_name"] = "Enter the beneficiary's name, as their bank or mobile-money provider knows it." }
        else if let p = TextField(maximumCharacters: Self.maximumNameCharacters).problem(name) { errors["beneficiary_name"] = p }
        let method = PaymentMethod(rawValue: input.method)
        var account = ""
        if let method {
            do { account = try BeneficiaryAccount.normalize(input.account, method: method) } catch { errors["account"] = error.message }
        } else {
            errors["method"] = "Choose a bank account or mobile money."
        }
        let country = input.country.trimmingCharacters(in: .whitespaces).uppercased()
        if !countries.contains(country) { errors["country"] = "Choose the beneficiary's country from the list." }
        let currency = Currency(code: input.currency)
        var amount: Amount?
        if let currency {
            do { amount = try Amount.parse(input.amount, currency: currency) } catch { errors["amount"] = error.message }
        } else {
            errors["currency"] = "Choose a currency from the list."
            if input.amount.trimmingCharacters(in: .whitespaces).isEmpty { errors["amount"] = AmountProblem.empty.message }
        }
        let reference = input.reference.trimmingCharacters(in: .whitespacesAndNewlines)
        if reference.isEmpty { errors["reference"] = "Enter a reference the beneficiary will see, like an invoice number." }
        else if let p = TextField(maximumCharacters: Self.maximumReferenceCharacters).problem(reference) { errors["reference"] = p }
        guard errors.isEmpty, let method, let amount else { throw OrgProblem.invalid(errors) }
        return Checked(name: name, method: method, account: account, country: country, amount: amount, reference: reference)
    }

    /// Records the checked payout and holds its amount in the caller's transaction (a
    /// savepoint: refused beyond the balance, nothing stays).
    private func hold(_ c: Checked, in scope: MoneyScope, by preparer: Preparer, on db: Connection) throws -> PayoutRecord {
        let now = clock.now()
        let amount = c.amount
        return try db.transaction { () -> PayoutRecord in
            let acct = try transactions.openAccount(scope, currency: amount.currency, on: db)
            let id = try store.insert(PayoutsStore.NewPayout(
                publicID: PublicID.make("po"), scope: scope, accountID: acct.id, amount: amount, beneficiaryName: c.name,
                beneficiaryCountry: c.country, method: c.method, beneficiaryAccount: c.account, reference: c.reference,
                createdBy: preparer.userID, createdByName: preparer.name, createdAt: now, expiresAt: now + Self.lifetime), on: db)
            // The guarded update refuses (and the whole write rolls back) beyond the balance,
            // whoever else is preparing a payout at the same moment.
            guard try money.post(accountID: acct.id, available: -amount.minor, pending: amount.minor, transactionID: nil, payoutID: id,
                                 reason: "payout.hold", at: now, on: db) else {
                let available = try transactions.account(scope, currency: amount.currency, on: db)?.availableAmount
                    ?? Amount(minor: 0, currency: amount.currency)
                throw OrgProblem.invalid(["amount": "This is more than the available balance of \(available.display) in \(scope.environment.title). "
                    + "Enter at most \(available.display), or wait for incoming money to settle."])
            }
            guard let payout = try store.payout(id: id, on: db) else { throw MoneyStoreError("payout not found after insert") }
            try record(PayoutsAuditEvents.created, "payout.created", payout, by: preparer.actor, on: db)
            if let org = try organizations.organization(id: scope.organizationID, on: db) {
                let what = "The amount is held from the available balance until another member authorizes it with their authenticator code, or rejects it. If nobody authorizes it within 7 days, it expires and the amount is released."
                if preparer.actor.userID != nil {
                    try mail(payout, orgPublicID: org.publicID, orgName: org.displayName, subject: "You prepared a payout of \(amount.display)",
                             what: "You prepared a payout of \(amount.display) to \(c.name) (\(payout.maskedAccount)). " + what, on: db)
                } else {
                    try mail(payout, orgPublicID: org.publicID, orgName: org.displayName, subject: "A payout of \(amount.display) was prepared through the API",
                             what: "\(preparer.name) prepared a payout of \(amount.display) to \(c.name) (\(payout.maskedAccount)). " + what, on: db)
                    try mailAuthorizers(payout, orgPublicID: org.publicID, orgName: org.displayName, preparedBy: preparer.name, on: db)
                }
            }
            if let jobs = transactions.jobs {
                try jobs.enqueue(PayoutExpiry.kind, payload: String(id), runAt: payout.expiresAt, on: db)
            }
            return payout
        }
    }

    /// Tells the members who may authorize a payout prepared through the API that it waits
    /// for one of them (the creator excepted): nobody is looking at a page when a program prepares it.
    private func mailAuthorizers(_ p: PayoutRecord, orgPublicID: String, orgName: String, preparedBy: String, on db: Connection) throws {
        let members = try organizations.members(organizationID: p.scope.organizationID, on: db).filter { m in
            m.member.isActive && m.member.userID != p.createdBy && m.member.role != .developer
                && m.member.effectivePermissions.contains(.payoutsAuthorize)
        }
        for m in members {
            do {
                try mailer.enqueue(
                    template: "payout_update", to: m.email, subject: Team.subject("A payout of \(p.amount.display) waits for your authorization"),
                    context: ["name": m.name, "orgName": orgName, "environment": p.scope.environment.title,
                              "what": "\(preparedBy) prepared a payout of \(p.amount.display) to \(p.beneficiaryName) (\(p.maskedAccount)) through the API. A key can never authorize a payout: it waits for a member to authorize it with their authenticator code, or to reject it, within 7 days.",
                              "amount": p.amount.display, "beneficiary": "\(p.beneficiaryName) (\(p.maskedAccount))", "reference": p.reference,
                              "status": p.status.title,
                              "link": mailer.url(path: "/orgs/\(orgPublicID)/\(p.scope.environment.rawValue)/payouts/\(p.publicID)")],
                    on: db)
            } catch let error as MailError {
                organizations.logger.warning("payout mail not sent", metadata: ["error": "\(error)"])
            }
        }
    }

    // MARK: - deciding

    /// Authorizes the payout with the authorizer's fresh authenticator code: the payout becomes
    /// a `payout` transaction that takes over its hold. Of two authorizers at once, one wins;
    /// the other gets ``OrgProblem/conflict``.
    @discardableResult
    func authorize(_ env: EnvAccess, _ publicID: String, code: String, actor: Actor) throws -> PayoutRecord {
        try requireDecide(env)
        let before = try database.read { try decidable(env, publicID, on: $0) }
        try accounts.confirmCode(for: env, code: code, actor: actor)
        let now = clock.now()
        let who = actor.with(userID: env.user.id)
        return try database.write { db -> PayoutRecord in
            guard try store.decide(id: before.id, to: .authorized, by: env.user.id, name: env.user.name, reason: nil, at: now, on: db) else {
                throw try decidedMeanwhile(before.id, on: db)
            }
            let txn = try transactions.create(
                Transactions.NewTransaction(type: .payout, amount: before.amount, recipient: before.beneficiary,
                                            metadata: ["payout": before.publicID, "reference": before.reference], payoutID: before.id),
                in: env.scope, by: .member(env, actor), on: db)
            try store.setTransaction(id: before.id, transactionID: txn.id, on: db)
            guard let payout = try store.payout(id: before.id, on: db) else { throw MoneyStoreError("payout vanished") }
            try record(PayoutsAuditEvents.authorized, "payout.authorized", payout, by: who, extra: ["transaction": .text(txn.publicID)], on: db)
            try mail(payout, env: env, subject: "\(env.user.name) authorized your payout of \(payout.amount.display)",
                     what: "\(env.user.name) authorized your payout of \(payout.amount.display) to \(payout.beneficiaryName) (\(payout.maskedAccount)). It is now transaction \(txn.publicID) and follows the transaction's lifecycle until it is paid.",
                     on: db)
            return payout
        }
    }

    /// Rejects the payout with a reason and releases its hold.
    @discardableResult
    func reject(_ env: EnvAccess, _ publicID: String, reason raw: String, actor: Actor) throws -> PayoutRecord {
        let (before, reason) = try checkReject(env, publicID, reason: raw)
        let now = clock.now()
        return try database.write { db -> PayoutRecord in
            guard try store.decide(id: before.id, to: .rejected, by: env.user.id, name: env.user.name, reason: reason, at: now, on: db) else {
                throw try decidedMeanwhile(before.id, on: db)
            }
            try release(before, reason: "payout.rejected", at: now, on: db)
            guard let payout = try store.payout(id: before.id, on: db) else { throw MoneyStoreError("payout vanished") }
            try record(PayoutsAuditEvents.rejected, "payout.rejected", payout, by: actor.with(userID: env.user.id),
                       extra: ["reason": .text(reason)], on: db)
            try mail(payout, env: env, subject: "\(env.user.name) rejected your payout of \(payout.amount.display)",
                     what: "\(env.user.name) rejected your payout of \(payout.amount.display) to \(payout.beneficiaryName) (\(payout.maskedAccount)), saying: “\(reason)”. The amount is back in the available balance.",
                     on: db)
            return payout
        }
    }

    /// Everything a rejection checks, without rejecting: the confirmation step asks it first,
    /// so the confirming page is shown only for a rejection that would go through.
    @discardableResult
    func checkReject(_ env: EnvAccess, _ publicID: String, reason raw: String) throws -> (PayoutRecord, String) {
        try requireDecide(env)
        let reason = raw.trimmingCharacters(in: .whitespacesAndNewlines)
        let before = try database.read { try decidable(env, publicID, on: $0) }
        if reason.isEmpty { throw OrgProblem.invalid(["reason": "Say why you reject the payout: the member who prepared it reads this."]) }
        if let p = Self.reason.problem(reason) { throw OrgProblem.invalid(["reason": p]) }
        return (before, reason)
    }

    /// The payout, if `env`'s member may decide it now: waiting, not expired, not their own.
    private func decidable(_ env: EnvAccess, _ publicID: String, on db: Connection) throws -> PayoutRecord {
        let p = try find(env, publicID, on: db)
        if p.createdBy == env.user.id {
            throw OrgProblem.forbidden("You prepared this payout, so another member must authorize or reject it: payouts always need two people.")
        }
        guard p.isDecidable(now: clock.now()) else { throw Self.closed(p, now: clock.now()) }
        return p
    }

    private func decidedMeanwhile(_ id: Int64, on db: Connection) throws -> OrgProblem {
        guard let p = try store.payout(id: id, on: db) else { return .notFound }
        return Self.closed(p, now: clock.now())
    }

    static func closed(_ p: PayoutRecord, now: Int64) -> OrgProblem {
        switch p.status {
        case .authorized: .conflict("\(p.decidedByName ?? "Another member") already authorized this payout.")
        case .rejected: .conflict("\(p.decidedByName ?? "Another member") already rejected this payout.")
        case .expired, .pendingAuthorization: .conflict("This payout expired: nobody authorized it within 7 days, so its amount was released. Prepare it again if it is still needed.")
        }
    }

    // MARK: - expiry

    /// Expires the payout if it is still waiting at its expiry (the job ``PayoutExpiry`` calls
    /// this); nothing happens otherwise, so running it twice is harmless. Returns whether it expired.
    @discardableResult
    func expire(id: Int64) throws -> Bool {
        let now = clock.now()
        return try database.write { db -> Bool in
            guard let before = try store.payout(id: id, on: db), before.status == .pendingAuthorization else { return false }
            // Run early (a clock set back, a job moved by hand): come back at the expiry.
            if before.expiresAt > now {
                try transactions.jobs?.enqueue(PayoutExpiry.kind, payload: String(id), runAt: before.expiresAt, on: db)
                return false
            }
            guard try store.expire(id: id, at: now, on: db) else { return false }
            try release(before, reason: "payout.expired", at: now, on: db)
            guard let payout = try store.payout(id: id, on: db) else { throw MoneyStoreError("payout vanished") }
            try record(PayoutsAuditEvents.expired, "payout.expired", payout, by: MoneyActor.system("Payout expiry").audit, on: db)
            if let org = try organizations.organization(id: payout.scope.organizationID, on: db) {
                try mail(payout, orgPublicID: org.publicID, orgName: org.displayName,
                         subject: "Your payout of \(payout.amount.display) expired",
                         what: "Nobody authorized your payout of \(payout.amount.display) to \(payout.beneficiaryName) (\(payout.maskedAccount)) within 7 days, so it expired and the amount is back in the available balance. Prepare it again if it is still needed.",
                         on: db)
            }
            return true
        }
    }

    // MARK: - shared steps

    /// Gives a waiting payout's hold back to the available balance.
    private func release(_ p: PayoutRecord, reason: String, at now: Int64, on db: Connection) throws {
        guard try money.post(accountID: p.accountID, available: p.amount.minor, pending: -p.amount.minor, transactionID: nil, payoutID: p.id,
                             reason: reason, at: now, on: db) else {
            // A waiting payout's hold is always in pending; if not, the ledger is wrong: stop.
            throw MoneyStoreError("ledger of account \(p.accountID) cannot release \(p.publicID)")
        }
    }

    private func record(_ action: AuditAction, _ event: String, _ p: PayoutRecord, by actor: Actor, extra: AuditDetails = AuditDetails(),
                        on db: Connection) throws {
        var details: AuditDetails = ["amount": .text(p.amount.display), "beneficiary": .text("\(p.beneficiaryName) (\(p.maskedAccount))"),
                                     "reference": .text(p.reference)]
        for f in extra.fields { details[f.key] = f.value }
        try audit.record(action, by: actor, organization: p.scope.organizationID, environment: p.scope.environment.rawValue,
                         subject: p.publicID, details: details, on: db)
        try events.record(event, objectID: p.publicID, data: PayoutJSON(p), organizationID: p.scope.organizationID,
                          environment: p.scope.environment, on: db)
    }

    private func mail(_ p: PayoutRecord, env: EnvAccess, subject: String, what: String, on db: Connection) throws {
        try mail(p, orgPublicID: env.org.publicID, orgName: env.org.displayName, subject: subject, what: what, on: db)
    }

    /// Tells the member who prepared the payout what happened to it. A mail that cannot be
    /// built (an address the mail system refuses) does not stop the change.
    private func mail(_ p: PayoutRecord, orgPublicID: String, orgName: String, subject: String, what: String, on db: Connection) throws {
        guard let creatorID = p.createdBy, let creator = try accounts.user(id: creatorID, on: db) else { return }
        do {
            try mailer.enqueue(
                template: "payout_update", to: creator.email, subject: Team.subject(subject),
                context: ["name": creator.name, "what": what, "orgName": orgName, "environment": p.scope.environment.title,
                          "amount": p.amount.display, "beneficiary": "\(p.beneficiaryName) (\(p.maskedAccount))", "reference": p.reference,
                          "status": p.status.title,
                          "link": mailer.url(path: "/orgs/\(orgPublicID)/\(p.scope.environment.rawValue)/payouts/\(p.publicID)")],
                on: db)
        } catch let error as MailError {
            organizations.logger.warning("payout mail not sent", metadata: ["error": "\(error)"])
        }
    }
}
