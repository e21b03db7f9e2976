import Database
import Synchronization
import Foundation
import Jobs
import Mail
import Security

/// API keys: the secrets that open the `/v1` API for one organization and one environment.
///
/// The rules, all checked here whatever the pages show:
/// - `api_keys.read` lists keys (never a secret); `api_keys.write` creates, rolls and revokes.
/// - A secret exists only in the answer to the request that made it (``Created``): the table
///   keeps its SHA-256, a display prefix and the last 4 characters.
/// - A Production key (made or rolled) needs a fresh authenticator code; Production itself
///   must be open (an ``EnvAccess`` cannot exist otherwise).
/// - A roll makes a new key with the same name, restrictions and allowlist, and a lifetime as
///   long as the old one's; the old one keeps working until the chosen overlap ends.
/// - Revoking is at once. Every change is audited and leaves an event row (`api_key.created`,
///   `.rolled`, `.revoked`; `api_key.expiring` from the reminders) in the same transaction.
final class APIKeys: Sendable {
    let database: Database
    let clock: PortalClock
    let organizations: Organizations
    let jobs: JobWorker?
    let store = APIKeysStore()
    let audit: Audit
    let events: Events
    let supportQueue = SupportQueue()

    static let remindKind = "api_key.remind"
    static let expiryChoices = [30, 90, 365]
    static let overlapChoices: [Int64] = [0, 3600, 86400, 604800]
    static let reminderDays = [30, 7, 1]
    static let nameField = TextField(maximumCharacters: 100)
    /// The furthest expiry date one may choose.
    static let maximumLifetime: Int64 = 3 * 366 * 86400
    /// "Not used for 90 days" on the list.
    static let idleAfter: Int64 = 90 * 86400
    /// "Expires soon" on the list.
    static let soonWithin: Int64 = 7 * 86400

    private let verified: VerifiedCredentials<[UInt8], APIKeyRecord>
    var accounts: Accounts { organizations.accounts }
    var mailer: Mailer { accounts.mailer }

    init(database: Database, clock: PortalClock, organizations: Organizations, jobs: JobWorker?) {
        self.database = database
        self.clock = clock
        self.organizations = organizations
        self.jobs = jobs
        audit = Audit(clock: clock)
        events = Events(clock: clock)
        verified = VerifiedCredentials(database: database)
    }

    // MARK: - who may do what

    func mayView(_ env: EnvAccess) -> Bool { env.can(.apiKeysRead) || env.can(.apiKeysWrite) }
    func mayChange(_ env: EnvAccess) -> Bool { env.can(.apiKeysWrite) }

    func requireView(_ env: EnvAccess) throws {
        if !mayView(env) { try env.require(.apiKeysRead) }
    }

    // MARK: - reading

    /// The environment's keys, newest first (revoked and ended ones too: their history shows).
    func list(_ env: EnvAccess) throws -> [APIKeyRecord] {
        try requireView(env)
        return try database.read { try store.list(organizationID: env.org.id, environment: env.environment, on: $0) }
    }

    /// A key of this organization and environment; any other id is ``OrgProblem/notFound``.
    func key(_ env: EnvAccess, _ publicID: String) throws -> APIKeyRecord {
        try requireView(env)
        return try database.read { try find(env, publicID, on: $0) }
    }

    private func find(_ env: EnvAccess, _ publicID: String, on db: Connection) throws -> APIKeyRecord {
        guard PublicID.isWellFormed(publicID, prefix: "key"),
              let k = try store.key(publicID: publicID, organizationID: env.org.id, environment: env.environment, on: db) else {
            throw OrgProblem.notFound
        }
        return k
    }

    /// The key whose secret hashes to `sha256` (``APIKeyVerifier``'s one lookup, on a reader);
    /// nil for a key of a closed organization.
    ///
    /// A key found is remembered as ``VerifiedCredentials`` says (at most a second, and not
    /// past any write): the lookup was an eighth of a `/v1/balances` call.
    func key(sha256: [UInt8]) throws -> APIKeyRecord? {
        try verified.record(sha256) { try database.read { try store.key(sha256: sha256, on: $0) } }
    }

    /// Whether the organization has a key in `environment` (the getting-started step).
    func hasKey(organizationID: Int64, environment: Environment, on db: Connection) throws -> Bool {
        try store.exists(organizationID: organizationID, environment: environment, on: db)
    }

    // MARK: - creating

    struct Input: Sendable {
        var name = ""
        /// "" (never), "30", "90", "365", or "date" with ``expiresOn``.
        var expiresInDays = ""
        /// `YYYY-MM-DD` in the member's time zone: the key works until the end of that day.
        var expiresOn = ""
        var ipAllowlist = ""
        /// Resource → "none", "read" or "write" (absent: write).
        var restrict: [APIResource: String] = [:]
        var code = ""
    }

    /// A new key and its secret: the only time the secret exists outside the caller's hands.
    struct Created: Sendable {
        let key: APIKeyRecord
        let secret: APIKeySecret
        /// For a roll, the old key as it is now (with its overlap end).
        let replaced: APIKeyRecord?
    }

    /// Checks the input; throws ``OrgProblem/invalid`` with a message per field.
    func check(_ env: EnvAccess, _ input: Input) throws -> (name: String, expiresAt: Int64?, restrictions: APIKeyRestrictions, allowlist: [CIDR]?) {
        try env.require(.apiKeysWrite)
        var errors: [String: String] = [:]
        let name = input.name.trimmingCharacters(in: .whitespacesAndNewlines)
        if name.isEmpty { errors["name"] = "Give the key a name that says where it is used, like “Checkout server”." }
        else if let p = Self.nameField.problem(name) { errors["name"] = p }

        let now = clock.now()
        var expiresAt: Int64?
        let choice = input.expiresInDays.trimmingCharacters(in: .whitespaces)
        let date = input.expiresOn.trimmingCharacters(in: .whitespaces)
        switch choice {
        // A date typed with "Never" still chosen (no script ticks the radio for you) means the date.
        case "date", "" where !date.isEmpty:
            do { expiresAt = try Self.endOfDay(date, zone: env.user.timeZone, now: now) } catch { errors["expires_on"] = error.message }
        case "", "never":
            expiresAt = nil
        default:
            if let d = Int(choice), Self.expiryChoices.contains(d) {
                if date.isEmpty { expiresAt = now + Int64(d) * 86400 }
                else { errors["expires_on"] = "You chose \(d) days and a date: clear the date, or choose “On a date”." }
            } else if choice.count == 10, choice.split(separator: "-").count == 3 {
                // A program that sends the date itself in expires_in_days.
                do { expiresAt = try Self.endOfDay(choice, zone: env.user.timeZone, now: now) } catch { errors["expires_in_days"] = error.message }
            } else {
                errors["expires_in_days"] = "Choose never, 30, 90 or 365 days, or a date."
            }
        }

        var levels: [APIResource: APIAccessLevel] = [:]
        for r in APIResource.allCases {
            let raw = input.restrict[r]?.trimmingCharacters(in: .whitespaces) ?? ""
            if raw.isEmpty { levels[r] = .write } else if let level = APIAccessLevel(rawValue: raw) { levels[r] = level }
            else { errors["restrict_\(r.rawValue)"] = "Choose none, read or write." }
        }
        if errors.isEmpty && !levels.values.contains(where: { $0 != .none }) {
            errors["restrict_balances"] = "A key with no access to anything opens nothing: allow at least one resource."
        }

        var allowlist: [CIDR]?
        do { allowlist = try CIDR.parseList(input.ipAllowlist) } catch { errors["ip_allowlist"] = error.message }

        guard errors.isEmpty else { throw OrgProblem.invalid(errors) }
        return (name, expiresAt, APIKeyRestrictions(levels: levels), allowlist)
    }

    /// Creates a key: checks the input (and for Production the member's fresh authenticator
    /// code), then in one transaction stores its hash, audits it, writes `api_key.created` and
    /// schedules its expiry reminders. Returns the key with its secret.
    func create(_ env: EnvAccess, _ input: Input, actor: Actor) throws -> Created {
        let checked: (name: String, expiresAt: Int64?, restrictions: APIKeyRestrictions, allowlist: [CIDR]?)
        do {
            checked = try check(env, input)
        } catch OrgProblem.invalid(var errors) {
            // Say at once that the code is missing, but never spend a code on a form that fails.
            if env.isProduction && input.code.filter({ !$0.isWhitespace }).isEmpty { errors["code"] = Self.codeMissing }
            throw OrgProblem.invalid(errors)
        }
        try confirmForProduction(env, code: input.code, actor: actor)
        return try database.write { db -> Created in
            try insert(organizationID: env.org.id, environment: env.environment, name: checked.name, restrictions: checked.restrictions,
                       allowlist: checked.allowlist, expiresAt: checked.expiresAt, user: env.user, actor: actor, on: db)
        }
    }

    /// Stores a new key on `db`, audited and announced, its reminders scheduled. `portal
    /// seed-demo --api-key` calls it too, in the seed's transaction.
    func insert(organizationID: Int64, environment: Environment, name: String, restrictions: APIKeyRestrictions = .unrestricted,
                allowlist: [CIDR]? = nil, expiresAt: Int64? = nil, user: UserRecord, actor: Actor, on db: Connection) throws -> Created {
        let secret = APIKeySecret.make(environment)
        let id = try store.insert(APIKeysStore.NewKey(
            publicID: PublicID.make("key"), organizationID: organizationID, environment: environment, name: name, secret: secret,
            restrictions: restrictions, ipAllowlist: allowlist, createdBy: user.id, createdByName: user.name,
            createdAt: clock.now(), expiresAt: expiresAt, rolledFrom: nil), on: db)
        guard let key = try store.key(id: id, on: db) else { throw APIKeysError("key not found after insert") }
        try record(APIKeysAuditEvents.created, event: "api_key.created", key, by: actor.with(userID: user.id), on: db)
        try scheduleReminders(key, on: db)
        return Created(key: key, secret: secret, replaced: nil)
    }

    static let codeMissing = "Enter the current code from your authenticator app: Production keys need it."

    /// A Production key is made only with the member's fresh authenticator code (single use,
    /// throttled as every confirmation is).
    private func confirmForProduction(_ env: EnvAccess, code: String, actor: Actor) throws {
        guard env.isProduction else { return }
        if code.filter({ !$0.isWhitespace }).isEmpty { throw OrgProblem.invalid(["code": Self.codeMissing]) }
        try accounts.confirmCode(for: env, code: code, actor: actor)
    }

    /// The instant a chosen expiry date ends in the member's zone, refused unless it is after
    /// today and within 3 years.
    static func endOfDay(_ raw: String, zone: String, now: Int64) throws(APIKeysInputProblem) -> Int64 {
        let text = raw.trimmingCharacters(in: .whitespaces)
        let parts = text.split(separator: "-")
        guard parts.count == 3, parts[0].count == 4, parts[1].count == 2, parts[2].count == 2,
              let y = Int(parts[0]), let m = Int(parts[1]), let d = Int(parts[2]) else {
            throw APIKeysInputProblem(message: text.isEmpty ? "Enter the date the key stops working, like 2027-06-30." : "Enter the date as year-month-day, like 2027-06-30.")
        }
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = PageTime.timeZone(zone)
        let components = DateComponents(year: y, month: m, day: d)
        guard components.isValidDate(in: calendar), let start = calendar.date(from: components),
              let next = calendar.date(byAdding: .day, value: 1, to: start) else {
            throw APIKeysInputProblem(message: "\(text) is not a date on the calendar.")
        }
        let end = Int64(next.timeIntervalSince1970)
        if end <= now + 86400 { throw APIKeysInputProblem(message: "Choose a date after today.") }
        if end > now + maximumLifetime { throw APIKeysInputProblem(message: "Choose a date within 3 years; you can roll the key before then.") }
        return end
    }

    // MARK: - rolling

    /// Everything a roll checks, without rolling (the form's own check, before a code is spent).
    @discardableResult
    func checkRoll(_ env: EnvAccess, _ publicID: String, overlap raw: String) throws -> (APIKeyRecord, Int64) {
        try env.require(.apiKeysWrite)
        guard let overlap = Int64(raw.trimmingCharacters(in: .whitespaces)), Self.overlapChoices.contains(overlap) else {
            throw OrgProblem.invalid(["overlap": "Choose how long the old secret keeps working: not at all, 1 hour, 24 hours or 7 days."])
        }
        let old = try database.read { try find(env, publicID, on: $0) }
        try Self.requireRollable(old, now: clock.now())
        return (old, overlap)
    }

    static func requireRollable(_ k: APIKeyRecord, now: Int64) throws {
        switch k.status(now: now) {
        case .active: return
        case .rolling, .ended: throw OrgProblem.conflict("This key was already rolled into \(k.replacedByPublicID ?? "a new key"); roll that one instead.")
        case .revoked: throw OrgProblem.conflict("This key is revoked; create a new key instead.")
        case .expired: throw OrgProblem.conflict("This key has expired; create a new key instead.")
        }
    }

    /// Rolls a key: a new secret with the same settings, and the old one working until `overlap`
    /// seconds from now (0: it stops at once). Of two rolls at once, one wins; the other is
    /// ``OrgProblem/conflict``.
    func roll(_ env: EnvAccess, _ publicID: String, overlap raw: String, code: String, actor: Actor) throws -> Created {
        let (before, overlap) = try checkRoll(env, publicID, overlap: raw)
        try confirmForProduction(env, code: code, actor: actor)
        let now = clock.now()
        let secret = APIKeySecret.make(env.environment)
        let who = actor.with(userID: env.user.id)
        return try database.write { db -> Created in
            // Same lifetime as the old key was given, from now: a roll is not a way to lose an expiry.
            let expiresAt = before.expiresAt.map { now + max(86400, $0 - before.createdAt) }
            let id = try store.insert(APIKeysStore.NewKey(
                publicID: PublicID.make("key"), organizationID: before.organizationID, environment: before.environment, name: before.name,
                secret: secret, restrictions: before.restrictions, ipAllowlist: before.ipAllowlist, createdBy: env.user.id,
                createdByName: env.user.name, createdAt: now, expiresAt: expiresAt, rolledFrom: before.id), on: db)
            guard try store.markRolled(id: before.id, replacedBy: id, endsAt: now + overlap, on: db) else {
                guard let meanwhile = try store.key(id: before.id, on: db) else { throw OrgProblem.notFound }
                try Self.requireRollable(meanwhile, now: now)
                throw OrgProblem.conflict("Someone changed this key meanwhile; look at the list again.")
            }
            guard let key = try store.key(id: id, on: db), let old = try store.key(id: before.id, on: db) else {
                throw APIKeysError("key not found after roll")
            }
            try record(APIKeysAuditEvents.rolled, event: "api_key.rolled", old, by: who,
                       extra: ["new_key": .text(key.publicID), "overlap_ends": .text(PageTime.iso8601(now + overlap))], on: db)
            try record(APIKeysAuditEvents.created, event: "api_key.created", key, by: who, on: db)
            try scheduleReminders(key, on: db)
            return Created(key: key, secret: secret, replaced: old)
        }
    }

    // MARK: - revoking

    /// The key, if `env`'s member may revoke it now (the confirmation step asks this first).
    func checkRevoke(_ env: EnvAccess, _ publicID: String) throws -> APIKeyRecord {
        try env.require(.apiKeysWrite)
        let k = try database.read { try find(env, publicID, on: $0) }
        if k.revokedAt != nil { throw OrgProblem.conflict("This key is already revoked.") }
        return k
    }

    /// Revokes a key at once: the next request with it is a 401.
    func revoke(_ env: EnvAccess, _ publicID: String, actor: Actor) throws -> APIKeyRecord {
        let before = try checkRevoke(env, publicID)
        let now = clock.now()
        return try database.write { db -> APIKeyRecord in
            guard try store.revoke(id: before.id, by: env.user.name, at: now, on: db) else {
                throw OrgProblem.conflict("This key is already revoked.")
            }
            guard let key = try store.key(id: before.id, on: db) else { throw APIKeysError("key vanished") }
            try record(APIKeysAuditEvents.revoked, event: "api_key.revoked", key, by: actor.with(userID: env.user.id), on: db)
            return key
        }
    }

    /// Support confirmed a leak (``APIKeyLeakRequest``): the key is revoked in the decision's
    /// transaction, audited as support's act.
    func revokeForSupport(_ k: APIKeyRecord, by actor: Actor, request: String, on db: Connection) throws {
        guard try store.revoke(id: k.id, by: "Support", at: clock.now(), on: db), let key = try store.key(id: k.id, on: db) else { return }
        try record(APIKeysAuditEvents.revoked, event: "api_key.revoked", key, by: actor, extra: ["request": .text(request)], on: db)
    }

    /// Tells support that a key may have leaked: files an ``APIKeyLeakRequest`` naming it, so
    /// the operator can look for its misuse. Returns the request's public id; while one about
    /// the key is open, that one (a second click files nothing more).
    func reportLeak(_ env: EnvAccess, _ publicID: String, actor: Actor) throws -> String {
        try env.require(.apiKeysWrite)
        let now = clock.now()
        return try database.write { db -> String in
            let k = try find(env, publicID, on: db)
            if let open = try supportQueue.openRequests(organizationID: env.org.id, on: db)
                .first(where: { $0.kind == .apiKeyLeak && $0.changes["key"] == k.publicID }) {
                return open.publicID
            }
            let note = "The key \(k.publicID) (“\(k.name)”, \(k.masked)) of \(env.environment.title) may have leaked. "
                + (k.revokedAt != nil ? "It is revoked. " : "It is not revoked yet. ")
                + "Please look for requests made with it that we did not make."
            let (_, requestID) = try supportQueue.file(kind: .apiKeyLeak, by: env.user, organizationID: env.org.id, note: note,
                                                       changes: ["key": k.publicID, "name": k.name, "environment": env.environment.rawValue,
                                                                 "masked": k.masked], now: now, on: db)
            try audit.record(APIKeysAuditEvents.leakReported, by: actor.with(userID: env.user.id), organization: env.org.id,
                             environment: env.environment.rawValue, subject: k.publicID,
                             details: ["name": .text(k.name), "key": .text(k.masked), "request": .text(requestID)], on: db)
            return requestID
        }
    }

    /// A key of the organization by public id, in any environment (support's review).
    func key(publicID: String, organizationID: Int64, on db: Connection) throws -> APIKeyRecord? {
        for env in Environment.allCases {
            if let k = try store.key(publicID: publicID, organizationID: organizationID, environment: env, on: db) { return k }
        }
        return nil
    }

    // MARK: - last use

    /// Moves the key's "last used" to `at` from `ip`, if that is newer than what is recorded.
    /// The API request log calls this from its batched flush, on its open connection: the
    /// request path itself never writes.
    @discardableResult
    func recordUse(publicID: String, at time: Int64, ip: String, on db: Connection) throws -> Bool {
        try store.recordUse(publicID: publicID, at: time, ip: ip, on: db)
    }

    // MARK: - reminders and expiry

    /// Enqueues the key's next reminder check (nothing for a key that never expires).
    private func scheduleReminders(_ key: APIKeyRecord, on db: Connection) throws {
        guard let jobs, let next = Self.nextCheck(key, after: clock.now()) else { return }
        try jobs.enqueue(Self.remindKind, payload: String(key.id), runAt: next, on: db)
    }

    /// The time a reminder is due for (`days` before the expiry), or nil if the key was made
    /// after that time (someone who chose a 5-day key needs no "30 days left" mail).
    static func reminderTime(_ key: APIKeyRecord, days: Int) -> Int64? {
        guard let e = key.expiresAt else { return nil }
        let t = e - Int64(days) * 86400
        return t > key.createdAt ? t : nil
    }

    /// The next moment after `now` something is due: a reminder or the expiry itself.
    static func nextCheck(_ key: APIKeyRecord, after now: Int64) -> Int64? {
        guard let e = key.expiresAt else { return nil }
        let times = reminderDays.compactMap { reminderTime(key, days: $0) }.filter { $0 > now } + [e]
        return max(now, times.min() ?? e)
    }

    /// What a reminder run did.
    enum ReminderOutcome: Equatable {
        case nothing
        case reminded(days: Int)
        case expired
    }

    /// The job ``APIKeyReminders`` runs for a key: mails the members with `api_keys.write`
    /// once per threshold passed (30, 7, 1 days before the expiry; when several passed
    /// together, only the nearest is mailed), writes `api_key.expiring` with the 7-day one,
    /// records the expiry once it has come (`api_key.expired`), and schedules the next check.
    /// Revoked and rolled keys get nothing more. Running it twice is harmless.
    @discardableResult
    func remind(id: Int64) throws -> ReminderOutcome {
        let now = clock.now()
        return try database.write { db -> ReminderOutcome in
            guard let key = try store.key(id: id, on: db), key.revokedAt == nil, key.replacedBy == nil, let expiresAt = key.expiresAt else {
                return .nothing
            }
            if expiresAt <= now {
                guard try store.markExpired(id: id, at: now, on: db) else { return .nothing }
                try audit.record(APIKeysAuditEvents.expired, by: Actor(userID: nil, ip: "", userAgent: "API key expiry"),
                                 organization: key.organizationID, environment: key.environment.rawValue, subject: key.publicID,
                                 details: ["name": .text(key.name), "key": .text(key.masked), "expires": .text(PageTime.iso8601(expiresAt))], on: db)
                return .expired
            }
            var outcome = ReminderOutcome.nothing
            let due = Self.reminderDays.filter { d in Self.reminderTime(key, days: d).map { $0 <= now } ?? false }
            var marked: [Int] = []
            for d in due where try store.markReminded(id: id, days: d, at: now, on: db) { marked.append(d) }
            if let nearest = marked.min() {
                try mailReminder(key, days: nearest, expiresAt: expiresAt, on: db)
                outcome = .reminded(days: nearest)
            }
            if marked.contains(7), let current = try store.key(id: id, on: db) {
                try events.record("api_key.expiring", objectID: key.publicID, data: APIKeyJSON(current, now: now),
                                  organizationID: key.organizationID, environment: key.environment, on: db)
            }
            if let jobs, let next = Self.nextCheck(key, after: now) {
                try jobs.enqueue(Self.remindKind, payload: String(id), runAt: next, on: db)
            }
            return outcome
        }
    }

    private func mailReminder(_ key: APIKeyRecord, days: Int, expiresAt: Int64, on db: Connection) throws {
        guard let org = try organizations.organization(id: key.organizationID, on: db), org.isActive else { return }
        let members = try organizations.members(organizationID: org.id, on: db)
            .filter { $0.member.isActive && $0.member.effectivePermissions.contains(.apiKeysWrite) }
        let left = days == 1 ? "1 day" : "\(days) days"
        for m in members {
            let zone = try accounts.user(id: m.member.userID, on: db)?.timeZone ?? "UTC"
            do {
                try mailer.enqueue(
                    template: "api_key_expiring", to: m.email,
                    subject: Team.subject("API key “\(key.name)” expires in \(left)"),
                    context: ["name": m.name, "keyName": key.name, "masked": key.masked, "left": left, "orgName": org.displayName,
                              "environment": key.environment.title, "expires": PageTime.full(expiresAt, zone: zone),
                              "link": mailer.url(path: "/orgs/\(org.publicID)/\(key.environment.rawValue)/api-keys")],
                    on: db)
            } catch let error as MailError {
                organizations.logger.warning("api key reminder not sent", metadata: ["error": "\(error)"])
            }
        }
    }

    // MARK: - shared steps

    private func record(_ action: AuditAction, event: String, _ k: APIKeyRecord, by actor: Actor, extra: AuditDetails = AuditDetails(),
                        on db: Connection) throws {
        var details: AuditDetails = ["name": .text(k.name), "key": .text(k.masked), "restrictions": .text(k.restrictions.summary),
                                     "ip_allowlist": .text(k.ipAllowlist.map { $0.map(\.description).joined(separator: ", ") } ?? "any address"),
                                     "expires": .text(k.expiresAt.map { PageTime.iso8601($0) } ?? "never")]
        for f in extra.fields { details[f.key] = f.value }
        try audit.record(action, by: actor, organization: k.organizationID, environment: k.environment.rawValue, subject: k.publicID,
                         details: details, on: db)
        try events.record(event, objectID: k.publicID, data: APIKeyJSON(k, now: clock.now()), organizationID: k.organizationID,
                          environment: k.environment, on: db)
    }
}

/// A field of the key form that cannot be read, in words for the form.
struct APIKeysInputProblem: Error {
    let message: String
}

/// A state the API keys' own writes should never leave (a row gone right after its insert).
struct APIKeysError: Error, CustomStringConvertible {
    let description: String
    init(_ d: String) { description = d }
}
