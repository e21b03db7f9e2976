import Database
import Foundation
import HTTP
import Logging
import Mail
import Security
import Web

/// The identity rules: sign-up, e-mail verification, login with a mandatory second factor,
/// TOTP enrolment, recovery codes, password reset, account settings, sessions.
///
/// Every change and every authentication event is audited in the same transaction as the
/// change. Passwords are hashed on the hasher's idle-priority threads while the worker waits
/// (``HTTPServer/waiting(_:)``), at most two at a time (the hasher's limit), never inside a
/// write transaction. Answers never tell whether an address is registered: an unknown address
/// costs the same hash as a known one and gets the same words.
final class Accounts: Sendable {
    let database: Database
    let clock: PortalClock
    let sessions: Sessions
    let audit: Audit
    let mailer: Mailer
    let hasher: PasswordHasher
    let policy: PasswordPolicy
    let box: SecretBox
    /// Derives per-session enrolment secrets, so showing the QR code writes nothing.
    let enrolmentKey: [UInt8]
    let issuer: String
    let store = AccountsStore()
    /// Where a lost authenticator is reported: support's queue, in our transaction.
    let supportQueue = SupportQueue()
    /// Per account and network for passwords (per account for second factors): delays,
    /// then locks.
    let accountThrottle = Throttle()
    /// Looser per address: many people may share one.
    let ipThrottle = Throttle(freeFailures: 20, lockAfter: 100)
    /// Per account, whatever the network: only slows down, so nobody can lock an account
    /// they do not hold just by knowing its address.
    let accountSlowdown = Slowdown()
    let logger: Logger

    static let signupLimit = Throttle(freeFailures: 10, lockAfter: 10, lockSeconds: 3600)
    static let verifyLinkLifetime: Int64 = 48 * 3600
    static let resetLinkLifetime: Int64 = 3600
    static let emailChangeLifetime: Int64 = 24 * 3600

    init(database: Database, clock: PortalClock, sessions: Sessions, mailer: Mailer, hasher: PasswordHasher,
         policy: PasswordPolicy, box: SecretBox, enrolmentKey: [UInt8], issuer: String, logger: Logger) {
        self.database = database
        self.clock = clock
        self.sessions = sessions
        self.audit = Audit(clock: clock)
        self.mailer = mailer
        self.hasher = hasher
        self.policy = policy
        self.box = box
        self.enrolmentKey = enrolmentKey
        self.issuer = issuer
        self.logger = logger
    }

    // MARK: - errors

    /// What went wrong, in words for the person at the form.
    enum Problem: Error, Equatable {
        /// Field name → message; the form is shown again with what was typed.
        case invalid([String: String])
        /// The same words for an unknown address and a wrong password.
        case badCredentials
        case badCode
        /// A right TOTP code that was already used (this step or a newer one was accepted).
        case codeAlreadyUsed
        case throttled(seconds: Int64)
        /// The account (not this network) had many failures lately: every requester waits
        /// its turn, at most a minute.
        case slowed(seconds: Int64)
        case linkInvalid
        /// The account got an authenticator from another session meanwhile.
        case enrolmentSuperseded
        /// Too many password checks are waiting; try again shortly.
        case busy
    }

    // MARK: - sign-up and verification

    struct SignUp {
        var name: String
        var email: String
        var password: String
    }

    /// Creates the account and mails a verification link. When the address is already
    /// registered, its owner gets a mail saying so instead; the caller shows the same page
    /// either way.
    func signUp(_ input: SignUp, by actor: Actor) throws {
        let name = input.name.trimmingCharacters(in: .whitespacesAndNewlines)
        let email = Self.normalizeEmail(input.email)
        // A network may start a few sign-ups an hour (each one mails someone), whether or
        // not the addresses exist or the form is right. Counted first, in its own write, so
        // that nothing later (a refusal, a rollback) gives the attempt back.
        let now = clock.now()
        try Self.claimSignUp(network: actor.network, now: now, database: database)

        var problems: [String: String] = [:]
        if name.isEmpty { problems["name"] = "Enter your name." } else if let p = TextField.personName.problem(name) { problems["name"] = p }
        if let p = Self.emailProblem(email) { problems["email"] = p }
        if let p = policy.check(input.password, context: [email, name])?.message { problems["password"] = p }
        guard problems.isEmpty else { throw Problem.invalid(problems) }

        // Hash before looking, whatever happens next, so a known address costs the same time.
        let hash = try hashNew(input.password)
        try database.write { db in
            if let existing = try store.user(email: email, on: db) {
                try mailer.enqueue(template: "account_exists", to: existing.email, subject: "You already have a Portal account",
                                   context: ["name": existing.name, "loginLink": mailer.url(path: "/login"),
                                             "resetLink": mailer.url(path: "/forgot-password")], on: db)
                try audit.record(AccountsAuditEvents.signupExistingAddress, by: actor.with(userID: existing.id), subject: existing.email, on: db)
                return
            }
            let userID = try createUser(email: email, name: name, passwordHash: hash, verified: false, now: now, on: db)
            try audit.record(AccountsAuditEvents.signup, by: actor.with(userID: userID), subject: email, on: db)
            try sendVerification(userID: userID, email: email, name: name, now: now, on: db)
        }
    }

    /// Counts one sign-up (with or without an invitation) against the network's hourly
    /// limit, in its own committed write, before any expensive or failing work; throws
    /// ``Problem/throttled(seconds:)`` once the limit is reached.
    static func claimSignUp(network: String, now: Int64, database: Database) throws {
        let key = "signup:ip:\(network)"
        let allowed = try database.write { db -> Bool in
            guard try signupLimit.check([key], now: now, on: db) == .allowed else { return false }
            try signupLimit.fail([key], now: now, on: db)
            return true
        }
        if !allowed { throw Problem.throttled(seconds: 3600) }
    }

    private func sendVerification(userID: Int64, email: String, name: String, now: Int64, on db: Connection) throws {
        let token = SecureRandom.token(bytes: 32)
        try store.voidTokens(userID: userID, purpose: "verify_email", now: now, on: db)
        try store.insertToken(userID: userID, purpose: "verify_email", hash: Sessions.hash(token), newEmail: nil,
                              now: now, expiresAt: now + Self.verifyLinkLifetime, on: db)
        try mailer.enqueue(template: "verify_email", to: email, subject: "Confirm your e-mail address",
                           context: ["name": name, "link": mailer.url(path: "/verify-email?token=\(token)")], on: db)
    }

    /// Sends a new verification link to a signed-in but unverified user (at most a few an hour).
    func resendVerification(user: UserRecord, by actor: Actor) throws {
        guard !user.isVerified else { return }
        let now = clock.now()
        let key = "verify-mail:acct:\(user.id)"
        try database.write { db in
            let limit = Throttle(freeFailures: 3, lockAfter: 10, lockSeconds: 3600)
            guard try limit.check([key], now: now, on: db) == .allowed else { throw Problem.throttled(seconds: 60) }
            try limit.fail([key], now: now, on: db)
            try sendVerification(userID: user.id, email: user.email, name: user.name, now: now, on: db)
            try audit.record(AccountsAuditEvents.verificationResent, by: actor, subject: user.email, on: db)
        }
    }

    /// The account a verification link is for, if the link is still good (read only).
    func checkLink(_ token: String, purpose: String) throws -> (UserToken, UserRecord) {
        let now = clock.now()
        guard token.utf8.count == 43,
              let found = try database.read({ db -> (UserToken, UserRecord)? in
                  guard let t = try store.token(hash: Sessions.hash(token), purpose: purpose, on: db),
                        let u = try store.user(id: t.userID, on: db) else { return nil }
                  return (t, u)
              }),
              found.0.usedAt == nil, found.0.expiresAt > now
        else { throw Problem.linkInvalid }
        return found
    }

    /// Confirms the address. Returns the user; the caller moves a matching `verify` session on.
    func verifyEmail(token: String, by actor: Actor) throws -> UserRecord {
        let (t, user) = try checkLink(token, purpose: "verify_email")
        let now = clock.now()
        try database.write { db in
            guard try store.consumeToken(id: t.id, now: now, on: db) else { throw Problem.linkInvalid }
            try store.markVerified(userID: user.id, now: now, on: db)
            try audit.record(AccountsAuditEvents.emailVerified, by: actor.with(userID: user.id), subject: user.email, on: db)
        }
        return user
    }

    /// The browser that logged in before verifying moves on to TOTP set-up, with a new
    /// session id like every other step up.
    func continueAfterVerification(session: SessionRecord, user: UserRecord, by actor: Actor) throws -> String {
        try database.write { db in
            try audit.record(AccountsAuditEvents.continuedAfterVerification, by: actor, subject: user.email, on: db)
            return try sessions.start(userID: user.id, stage: .enrol, ip: actor.ip, userAgent: actor.userAgent,
                                      replacing: session, on: db).token
        }
    }

    // MARK: - login

    enum Next: Equatable {
        case verifyEmail, enrol, secondFactor, done
    }

    /// Checks e-mail and password. On success starts a session one step short of signed in
    /// (verify, enrol or mfa) and returns its cookie token.
    func logIn(email rawEmail: String, password: String, current: SessionRecord?, by actor: Actor) throws -> (token: String, next: Next) {
        let email = Self.normalizeEmail(rawEmail)
        // Locks count per account *and* network: an attacker locks out only their own
        // network. Account-wide, failures only slow everyone down (``Slowdown``), and the
        // owner from their own network gets in after at most a minute's wait.
        let account = Self.passwordKey(email: email)
        let accountKey = "\(account):net:\(actor.network)"
        let slowdown = (account: account, requester: "\(account):wait:\(actor.network)")
        let ipKey = "pw:ip:\(actor.network)"
        let now = clock.now()
        try claimAttempt(accountKey: accountKey, ipKey: ipKey, slowdown: slowdown, now: now, action: AccountsAuditEvents.loginThrottled, subject: email, actor: actor)

        let user = try database.read { try store.user(email: email, on: $0) }
        let ok: Bool
        if let user {
            ok = try passwordMatches(password, user.passwordHash, accountKey: accountKey, ipKey: ipKey, slowdown: slowdown)
        } else {
            HTTPServer.waiting { hasher.dummyVerify() }
            ok = false
        }
        guard ok, let user else {
            try recordFailure(action: AccountsAuditEvents.loginFailed, subject: email, actor: actor.with(userID: user?.id))
            throw Problem.badCredentials
        }
        let next: Next = !user.isVerified ? .verifyEmail : !user.hasTOTP ? .enrol : .secondFactor
        let stage: SessionRecord.Stage = next == .verifyEmail ? .verify : next == .enrol ? .enrol : .mfa
        let token = try database.write { db -> String in
            try attemptSucceeded(accountKey: accountKey, ipKey: ipKey, slowdown: slowdown, on: db)
            try audit.record(AccountsAuditEvents.passwordAccepted, by: actor.with(userID: user.id), subject: user.email, on: db)
            return try sessions.start(userID: user.id, stage: stage, ip: actor.ip, userAgent: actor.userAgent,
                                      replacing: current, on: db).token
        }
        return (token, next)
    }

    /// The second step: a TOTP code or a recovery code. Returns the new, fully signed-in token.
    func completeSecondFactor(session: SessionRecord, user: UserRecord, code rawCode: String, by actor: Actor) throws -> (token: String, usedRecoveryCode: Bool) {
        let accountKey = "mfa:acct:\(user.id)"
        let ipKey = "mfa:ip:\(actor.network)"
        let now = clock.now()
        try claimAttempt(accountKey: accountKey, ipKey: ipKey, now: now, action: AccountsAuditEvents.mfaThrottled, subject: user.email, actor: actor)

        let digits = rawCode.filter { !$0.isWhitespace }
        let outcome: TOTP.Outcome
        if digits.count == 6, digits.allSatisfy(\.isASCII), digits.allSatisfy(\.isNumber),
           let sealed = user.totpSecret, let secret = try? box.open(sealed, associatedData: Self.totpAD(user.id)) {
            outcome = TOTP.check(code: digits, secret: secret, at: now, window: 1, lastAcceptedStep: user.totpLastStep)
        } else {
            outcome = .wrong
        }
        if case .alreadyUsed = outcome {
            try recordFailure(action: AccountsAuditEvents.mfaFailed, subject: user.email, actor: actor)
            throw Problem.codeAlreadyUsed
        }
        if case .accepted(let step) = outcome {
            let token = try database.write { db -> String? in
                // The step is recorded only if newer than the last one: a code raced twice works once.
                guard try store.advanceTOTPStep(userID: user.id, step: step, on: db) else { return nil }
                try attemptSucceeded(accountKey: accountKey, ipKey: ipKey, on: db)
                try audit.record(AccountsAuditEvents.loginSucceeded, by: actor, subject: user.email, details: ["method": .text("totp")], on: db)
                return try sessions.start(userID: user.id, stage: .active, ip: actor.ip, userAgent: actor.userAgent,
                                          replacing: session, on: db).token
            }
            if let token { return (token, false) }
            // Another request took this step first (the same code sent twice at once).
            try recordFailure(action: AccountsAuditEvents.mfaFailed, subject: user.email, actor: actor)
            throw Problem.codeAlreadyUsed
        } else if let normalized = RecoveryCodes.normalize(rawCode) {
            let hash = RecoveryCodes.hash(normalized)
            let token = try database.write { db -> String? in
                guard try store.useRecoveryCode(userID: user.id, hash: hash, now: now, on: db) else { return nil }
                try attemptSucceeded(accountKey: accountKey, ipKey: ipKey, on: db)
                let left = try store.remainingRecoveryCodes(userID: user.id, on: db)
                try audit.record(AccountsAuditEvents.loginSucceeded, by: actor, subject: user.email, details: ["method": .text("recovery code"), "recovery_codes_left": .text("\(left)")], on: db)
                if left <= 3 {
                    try mailer.enqueue(template: "security_alert", to: user.email, subject: "A recovery code was used",
                                       context: ["name": user.name, "what": "A recovery code was used to sign in. \(left) remain.",
                                                 "when": PageTime.full(now, zone: user.timeZone), "ip": actor.ip], on: db)
                }
                return try sessions.start(userID: user.id, stage: .active, ip: actor.ip, userAgent: actor.userAgent,
                                          replacing: session, on: db).token
            }
            if let token { return (token, true) }
        }
        try recordFailure(action: AccountsAuditEvents.mfaFailed, subject: user.email, actor: actor)
        throw Problem.badCode
    }

    func logOut(session: SessionRecord, by actor: Actor) throws {
        try database.write { db in
            try sessions.revoke(id: session.id, on: db)
            try audit.record(AccountsAuditEvents.logout, by: actor, on: db)
        }
    }

    /// Claims an attempt for these keys: refuses (and audits) when either is throttled,
    /// otherwise counts it as a failure *before* the secret is checked, in the same write,
    /// so a burst of parallel guesses cannot all slip past one check. A success gives it
    /// back with ``attemptSucceeded``.
    ///
    /// With a `slowdown` (the account-wide key and this requester's), the account's recent
    /// failures from anywhere also make this requester wait its turn (bounded; never a lock).
    private func claimAttempt(accountKey: String, ipKey: String, slowdown: (account: String, requester: String)? = nil,
                              now: Int64, action: AuditAction, subject: String, actor: Actor) throws {
        let refusal = try database.write { db -> Problem? in
            let a = try accountThrottle.check([accountKey], now: now, on: db)
            let i = try ipThrottle.check([ipKey], now: now, on: db)
            let slowed = try slowdown.flatMap {
                try accountSlowdown.check(account: $0.account, requester: $0.requester, now: now, on: db)
            }
            for verdict in [a, i] {
                switch verdict {
                case .allowed: continue
                case .wait(let s), .locked(let s):
                    try audit.record(action, by: actor, subject: subject, details: ["retry_in_seconds": .text("\(s)")], on: db)
                    return .throttled(seconds: s)
                }
            }
            if let slowed {
                try audit.record(action, by: actor, subject: subject, details: ["slowed": .text("account"), "retry_in_seconds": .text("\(slowed)")], on: db)
                return .slowed(seconds: slowed)
            }
            if let slowdown { try accountSlowdown.claim(account: slowdown.account, requester: slowdown.requester, now: now, on: db) }
            let locked = try accountThrottle.fail([accountKey], now: now, on: db)
            let ipLocked = try ipThrottle.fail([ipKey], now: now, on: db)
            if locked || ipLocked {
                try audit.record(AccountsAuditEvents.locked, by: actor, subject: subject, details: ["locked": .text(locked ? "account" : "address")], on: db)
            }
            return nil
        }
        if let refusal { throw refusal }
    }

    /// Checks a password. A hasher too busy to take it is not the person's fault: the
    /// claimed attempt is given back and they are asked to retry. A stored hash that cannot
    /// be read counts as a mismatch.
    private func passwordMatches(_ password: String, _ encoded: String, accountKey: String, ipKey: String,
                                 slowdown: (account: String, requester: String)? = nil) throws -> Bool {
        do {
            return try HTTPServer.waiting { try hasher.verify(password, encoded: encoded) }
        } catch PasswordHasherError.busy {
            try database.write { db in
                try accountThrottle.refund(accountKey, on: db)
                try ipThrottle.refund(ipKey, on: db)
                if let slowdown { try accountSlowdown.refund(account: slowdown.account, on: db) }
            }
            throw Problem.busy
        } catch {
            logger.error("unreadable password hash", metadata: ["error": "\(error)"])
            return false
        }
    }

    /// The claimed attempt was right: the account's count starts again, and the address
    /// gets its attempt back.
    private func attemptSucceeded(accountKey: String, ipKey: String, slowdown: (account: String, requester: String)? = nil,
                                  on db: Connection) throws {
        try accountThrottle.clear(accountKey, on: db)
        try ipThrottle.refund(ipKey, on: db)
        if let slowdown { try accountSlowdown.succeeded(account: slowdown.account, requester: slowdown.requester, on: db) }
    }

    /// The account-wide password throttle key; its per-network keys extend it.
    static func passwordKey(email: String) -> String { "pw:acct:\(email.lowercased())" }

    /// The claimed attempt was wrong: it is already counted, so only the audit remains.
    private func recordFailure(action: AuditAction, subject: String, actor: Actor) throws {
        try database.write { try audit.record(action, by: actor, subject: subject, on: $0) }
    }

    // MARK: - TOTP enrolment

    /// The secret shown while enrolling: derived from the session, so it stays the same
    /// across page loads and the confirming POST, and nothing is written until then.
    func enrolmentSecret(session: SessionRecord) -> [UInt8] {
        Array(Digest.hmacSHA256(key: enrolmentKey, message: Array("totp-enrol:\(session.id):\(session.csrfToken)".utf8)).prefix(20))
    }

    struct Enrolment {
        let otpauthURL: String
        let groupedSecret: String
        let qrSVG: String
    }

    func enrolment(session: SessionRecord, user: UserRecord) throws -> Enrolment {
        let secret = enrolmentSecret(session: session)
        let url = TOTP.otpauthURL(secret: secret, account: user.email, issuer: issuer)
        return Enrolment(otpauthURL: url, groupedSecret: TOTP.groupedSecret(Base32.encode(secret)), qrSVG: try QRCode.svg(for: url))
    }

    /// Confirms enrolment with a current code: stores the secret sealed, makes 10 recovery
    /// codes and starts a fully signed-in session that holds them (sealed) until shown.
    func confirmEnrolment(session: SessionRecord, user: UserRecord, code: String, by actor: Actor) throws -> (token: String, codes: [String]) {
        let secret = enrolmentSecret(session: session)
        let digits = code.filter { !$0.isWhitespace }
        let now = clock.now()
        guard let step = TOTP.verify(code: digits, secret: secret, at: now, window: 1, lastAcceptedStep: nil) else {
            try database.write { try audit.record(AccountsAuditEvents.mfaEnrolFailed, by: actor, subject: user.email, on: $0) }
            throw Problem.invalid(["code": "That code did not match. Check the time on your device and enter the current code."])
        }
        let codes = RecoveryCodes.generate()
        let sealedSecret = try box.seal(secret, associatedData: Self.totpAD(user.id))
        let sealedCodes = try box.seal(Array(codes.joined(separator: "\n").utf8), associatedData: Self.codesAD(user.id))
        let token = try database.write { db -> String in
            guard try store.enableTOTP(userID: user.id, sealed: sealedSecret, step: step, now: now, on: db) else {
                throw Problem.enrolmentSuperseded
            }
            try store.replaceRecoveryCodes(userID: user.id, hashes: codes.map { RecoveryCodes.hash(RecoveryCodes.normalize($0)!) }, now: now, on: db)
            let started = try sessions.start(userID: user.id, stage: .active, ip: actor.ip, userAgent: actor.userAgent, replacing: session, on: db)
            try sessions.setPendingRecoveryCodes(sessionID: started.session.id, sealed: sealedCodes, on: db)
            // Any other half-finished sign-in of this account ends with the enrolment.
            try sessions.revokeAll(userID: user.id, except: started.session.id, on: db)
            try audit.record(AccountsAuditEvents.mfaEnrolled, by: actor, subject: user.email, on: db)
            return started.token
        }
        return (token, codes)
    }

    /// Recovery codes waiting to be shown in this session, if any.
    func pendingRecoveryCodes(session: SessionRecord) throws -> [String]? {
        guard let sealed = try database.read({ try sessions.pendingRecoveryCodes(sessionID: session.id, on: $0) }) else { return nil }
        let plain = try box.open(sealed, associatedData: Self.codesAD(session.userID))
        return String(decoding: plain, as: UTF8.self).split(separator: "\n").map(String.init)
    }

    func dismissRecoveryCodes(session: SessionRecord) throws {
        try database.write { try sessions.setPendingRecoveryCodes(sessionID: session.id, sealed: nil, on: $0) }
    }

    /// New recovery codes (the old ones stop working), after password and TOTP.
    func regenerateRecoveryCodes(session: SessionRecord, user: UserRecord, password: String, code: String, by actor: Actor) throws {
        try reauthenticate(user: user, password: password, code: code, actor: actor)
        let codes = RecoveryCodes.generate()
        let sealed = try box.seal(Array(codes.joined(separator: "\n").utf8), associatedData: Self.codesAD(user.id))
        let now = clock.now()
        try database.write { db in
            try store.replaceRecoveryCodes(userID: user.id, hashes: codes.map { RecoveryCodes.hash(RecoveryCodes.normalize($0)!) }, now: now, on: db)
            try sessions.setPendingRecoveryCodes(sessionID: session.id, sealed: sealed, on: db)
            try audit.record(AccountsAuditEvents.recoveryCodesRegenerated, by: actor, subject: user.email, on: db)
        }
    }

    func remainingRecoveryCodes(user: UserRecord) throws -> Int {
        try database.read { try store.remainingRecoveryCodes(userID: user.id, on: $0) }
    }

    /// Password and a current TOTP code, for changes that need both. Throttled like login.
    func reauthenticate(user: UserRecord, password: String, code: String, actor: Actor) throws {
        let accountKey = "reauth:acct:\(user.id)"
        let ipKey = "pw:ip:\(actor.network)"
        let now = clock.now()
        try claimAttempt(accountKey: accountKey, ipKey: ipKey, now: now, action: AccountsAuditEvents.reauthThrottled, subject: user.email, actor: actor)
        let passwordOK = try passwordMatches(password, user.passwordHash, accountKey: accountKey, ipKey: ipKey)
        let digits = code.filter { !$0.isWhitespace }
        var step: Int64?
        if let sealed = user.totpSecret, let secret = try? box.open(sealed, associatedData: Self.totpAD(user.id)) {
            step = TOTP.verify(code: digits, secret: secret, at: now, window: 1, lastAcceptedStep: user.totpLastStep)
        }
        // One message for either factor: a stolen session cannot test password guesses alone.
        if !passwordOK || step == nil {
            let problems = ["password": "Your password or authenticator code is not right."]
            try recordFailure(action: AccountsAuditEvents.reauthFailed, subject: user.email, actor: actor)
            throw Problem.invalid(problems)
        }
        let fresh = try database.write { db -> Bool in
            try attemptSucceeded(accountKey: accountKey, ipKey: ipKey, on: db)
            return try store.advanceTOTPStep(userID: user.id, step: step!, on: db)
        }
        guard fresh else { throw Problem.invalid(["code": "That code was already used. Wait for the next one."]) }
    }

    /// A fresh authenticator code alone, for an action the signed-in person confirms (a
    /// payout's authorization): the same throttle as ``reauthenticate`` (wrong codes here and
    /// there count together), and a code is accepted once, so a replay is refused.
    func confirmCode(user: UserRecord, code: String, actor: Actor) throws {
        let accountKey = "reauth:acct:\(user.id)"
        let ipKey = "mfa:ip:\(actor.network)"
        let now = clock.now()
        try claimAttempt(accountKey: accountKey, ipKey: ipKey, now: now, action: AccountsAuditEvents.reauthThrottled, subject: user.email, actor: actor)
        let digits = code.filter { !$0.isWhitespace }
        var outcome = TOTP.Outcome.wrong
        if digits.count == 6, digits.allSatisfy({ $0.isASCII && $0.isNumber }),
           let sealed = user.totpSecret, let secret = try? box.open(sealed, associatedData: Self.totpAD(user.id)) {
            outcome = TOTP.check(code: digits, secret: secret, at: now, window: 1, lastAcceptedStep: user.totpLastStep)
        }
        guard case .accepted(let step) = outcome else {
            try recordFailure(action: AccountsAuditEvents.reauthFailed, subject: user.email, actor: actor)
            throw Problem.invalid(["code": outcome == .alreadyUsed ? "That code was already used. Wait for the next one."
                                       : "That code is not right. Enter the current code from your authenticator app."])
        }
        let fresh = try database.write { db -> Bool in
            // Recorded only if newer than the last accepted step: the same code sent twice at once works once.
            guard try store.advanceTOTPStep(userID: user.id, step: step, on: db) else { return false }
            try attemptSucceeded(accountKey: accountKey, ipKey: ipKey, on: db)
            return true
        }
        guard fresh else {
            try recordFailure(action: AccountsAuditEvents.reauthFailed, subject: user.email, actor: actor)
            throw Problem.invalid(["code": "That code was already used. Wait for the next one."])
        }
    }

    // MARK: - lost authenticator

    func reportLostAuthenticator(user: UserRecord, note rawNote: String, by actor: Actor) throws {
        let note = rawNote.trimmingCharacters(in: .whitespacesAndNewlines)
        guard !note.isEmpty else { throw Problem.invalid(["note": "Tell us how we can confirm it is you."]) }
        if let p = TextField.note.problem(note) { throw Problem.invalid(["note": p]) }
        let now = clock.now()
        try database.write { db in
            guard try supportQueue.openCount(userID: user.id, kind: .mfaReset, on: db) < 3 else {
                throw Problem.invalid(["note": "You already have open requests; our support team will contact you."])
            }
            let (id, _) = try supportQueue.file(kind: .mfaReset, by: user, organizationID: nil, note: note, now: now, on: db)
            try audit.record(SupportRequestRecord.Kind.mfaReset.filed, by: actor, subject: "support_request:\(id)", on: db)
            // Whoever holds the password asked; the owner of the address hears of it at once,
            // before support decides, and can object.
            try mailer.enqueue(template: "security_alert", to: user.email, subject: "Someone asked to remove your two-factor authentication",
                               context: ["name": user.name,
                                         "what": "Someone who knows your password asked our support team to remove two-factor authentication from your account, saying the authenticator was lost. If this was not you, change your password now and reply to this mail: support will not approve the request.",
                                         "when": PageTime.full(now, zone: user.timeZone), "ip": actor.ip], on: db)
        }
    }

    // MARK: - forgotten password

    /// Mails a reset link if the address has an account. Same answer, and nearly the same
    /// work (a write), either way.
    func requestPasswordReset(email rawEmail: String, by actor: Actor) throws {
        let email = Self.normalizeEmail(rawEmail)
        guard Self.emailProblem(email) == nil else { throw Problem.invalid(["email": "Enter a valid e-mail address."]) }
        let now = clock.now()
        let limit = Throttle(freeFailures: 3, lockAfter: 10, lockSeconds: 3600)
        try database.write { db in
            let keys = ["reset-mail:\(email.lowercased())", "reset-mail:ip:\(actor.network)"]
            let allowed = try limit.check(keys, now: now, on: db) == .allowed
            try limit.fail(keys, now: now, on: db)
            guard allowed, let user = try store.user(email: email, on: db) else { return }
            let token = SecureRandom.token(bytes: 32)
            try store.voidTokens(userID: user.id, purpose: "reset_password", now: now, on: db)
            try store.insertToken(userID: user.id, purpose: "reset_password", hash: Sessions.hash(token), newEmail: nil,
                                  now: now, expiresAt: now + Self.resetLinkLifetime, on: db)
            try mailer.enqueue(template: "reset_password", to: user.email, subject: "Reset your Portal password",
                               context: ["name": user.name, "link": mailer.url(path: "/reset-password?token=\(token)"), "expiresIn": "1 hour"], on: db)
            try audit.record(AccountsAuditEvents.resetRequested, by: actor.with(userID: user.id), subject: user.email, on: db)
        }
    }

    /// Sets a new password from a reset link; every session of the account ends.
    func resetPassword(token: String, password: String, by actor: Actor) throws {
        let (t, user) = try checkLink(token, purpose: "reset_password")
        if let p = policy.check(password, context: [user.email, user.name])?.message { throw Problem.invalid(["password": p]) }
        let hash = try hashNew(password)
        let now = clock.now()
        try database.write { db in
            guard try store.consumeToken(id: t.id, now: now, on: db) else { throw Problem.linkInvalid }
            try store.setPassword(userID: user.id, hash: hash, now: now, on: db)
            try sessions.revokeAll(userID: user.id, on: db)
            // The account is no longer slowed down; the network that asked for the link may try again.
            let account = Self.passwordKey(email: user.email)
            try accountSlowdown.succeeded(account: account, requester: "\(account):wait:\(actor.network)", on: db)
            try accountThrottle.clear("\(account):net:\(actor.network)", on: db)
            try audit.record(AccountsAuditEvents.passwordReset, by: actor.with(userID: user.id), subject: user.email, on: db)
            try mailer.enqueue(template: "security_alert", to: user.email, subject: "Your Portal password was changed",
                               context: ["name": user.name, "what": "Your password was reset and every session was signed out.",
                                         "when": PageTime.full(now, zone: user.timeZone), "ip": actor.ip], on: db)
        }
    }

    // MARK: - account settings

    struct Profile {
        var name: String
        var phone: String
        var timeZone: String
    }

    func updateProfile(user: UserRecord, _ p: Profile, by actor: Actor) throws {
        let name = p.name.trimmingCharacters(in: .whitespacesAndNewlines)
        let phone = p.phone.trimmingCharacters(in: .whitespacesAndNewlines)
        var problems: [String: String] = [:]
        if name.isEmpty { problems["name"] = "Enter your name." } else if let p = TextField.personName.problem(name) { problems["name"] = p }
        if let p = TextField(maximumCharacters: 30).problem(phone) { problems["phone"] = p }
        else if !phone.isEmpty && (phone.count > 30 || !phone.allSatisfy({ $0.isNumber || " +-().".contains($0) }) || phone.filter(\.isNumber).count < 5) {
            problems["phone"] = "Enter a phone number with digits, spaces, +, - or brackets."
        }
        if TimeZone(identifier: p.timeZone) == nil || !PageTime.zones.contains(p.timeZone) { problems["timeZone"] = "Choose a time zone from the list." }
        guard problems.isEmpty else { throw Problem.invalid(problems) }
        try database.write { db in
            try store.updateProfile(userID: user.id, name: name, phone: phone, timeZone: p.timeZone, now: clock.now(), on: db)
            try audit.record(AccountsAuditEvents.profileUpdated, by: actor, subject: user.email,
                             details: AccountsAuditEvents.changes([("name", user.name, name), ("phone", user.phone, phone), ("time_zone", user.timeZone, p.timeZone)]), on: db)
        }
    }

    func updatePreferences(user: UserRecord, productNews: Bool, reportReady: Bool, by actor: Actor) throws {
        try database.write { db in
            try store.updatePreferences(userID: user.id, productNews: productNews, reportReady: reportReady, now: clock.now(), on: db)
            try audit.record(AccountsAuditEvents.preferencesUpdated, by: actor, subject: user.email,
                             details: ["product_news": .text(productNews ? "on" : "off"), "report_ready": .text(reportReady ? "on" : "off")], on: db)
        }
    }

    /// Changes the password (the current one is required); other sessions end.
    func changePassword(session: SessionRecord, user: UserRecord, current: String, new: String, by actor: Actor) throws {
        let accountKey = "reauth:acct:\(user.id)"
        let ipKey = "pw:ip:\(actor.network)"
        let now = clock.now()
        try claimAttempt(accountKey: accountKey, ipKey: ipKey, now: now, action: AccountsAuditEvents.reauthThrottled, subject: user.email, actor: actor)
        guard try passwordMatches(current, user.passwordHash, accountKey: accountKey, ipKey: ipKey) else {
            try recordFailure(action: AccountsAuditEvents.passwordChangeFailed, subject: user.email, actor: actor)
            throw Problem.invalid(["currentPassword": "That is not your current password."])
        }
        if let p = policy.check(new, context: [user.email, user.name])?.message { throw Problem.invalid(["newPassword": p]) }
        let hash = try hashNew(new)
        try database.write { db in
            try store.setPassword(userID: user.id, hash: hash, now: now, on: db)
            let ended = try sessions.revokeAll(userID: user.id, except: session.id, on: db)
            try attemptSucceeded(accountKey: accountKey, ipKey: ipKey, on: db)
            try audit.record(AccountsAuditEvents.passwordChanged, by: actor, subject: user.email, details: ["other_sessions_ended": .text("\(ended)")], on: db)
            try mailer.enqueue(template: "security_alert", to: user.email, subject: "Your Portal password was changed",
                               context: ["name": user.name, "what": "Your password was changed and your other sessions were signed out.",
                                         "when": PageTime.full(now, zone: user.timeZone), "ip": actor.ip], on: db)
        }
    }

    /// Starts an e-mail change (password and TOTP required): the new address gets a link,
    /// the old one a warning.
    func requestEmailChange(user: UserRecord, newEmail rawEmail: String, password: String, code: String, by actor: Actor) throws {
        let newEmail = Self.normalizeEmail(rawEmail)
        if let p = Self.emailProblem(newEmail) { throw Problem.invalid(["newEmail": p]) }
        if newEmail.lowercased() == user.email.lowercased() { throw Problem.invalid(["newEmail": "That is already your address."]) }
        try reauthenticate(user: user, password: password, code: code, actor: actor)
        let now = clock.now()
        try database.write { db in
            let token = SecureRandom.token(bytes: 32)
            try store.voidTokens(userID: user.id, purpose: "change_email", now: now, on: db)
            try store.insertToken(userID: user.id, purpose: "change_email", hash: Sessions.hash(token), newEmail: newEmail,
                                  now: now, expiresAt: now + Self.emailChangeLifetime, on: db)
            try mailer.enqueue(template: "verify_new_email", to: newEmail, subject: "Confirm your new e-mail address",
                               context: ["name": user.name, "link": mailer.url(path: "/account/email/confirm?token=\(token)")], on: db)
            try mailer.enqueue(template: "email_changed_alert", to: user.email, subject: "Your Portal e-mail address is being changed",
                               context: ["name": user.name, "newEmail": newEmail], on: db)
            try audit.record(AccountsAuditEvents.emailChangeRequested, by: actor, subject: user.email, details: ["to": .text(newEmail)], on: db)
        }
    }

    /// Completes an e-mail change from the link sent to the new address.
    func confirmEmailChange(token: String, by actor: Actor) throws -> UserRecord {
        let (t, user) = try checkLink(token, purpose: "change_email")
        guard let newEmail = t.newEmail else { throw Problem.linkInvalid }
        let now = clock.now()
        try database.write { db in
            guard try store.consumeToken(id: t.id, now: now, on: db) else { throw Problem.linkInvalid }
            if try store.user(email: newEmail, on: db) != nil {
                throw Problem.invalid(["email": "That address now belongs to another account."])
            }
            try store.setEmail(userID: user.id, email: newEmail, now: now, on: db)
            try audit.record(AccountsAuditEvents.emailChanged, by: actor.with(userID: user.id), subject: newEmail, details: ["from": .text(user.email)], on: db)
            try mailer.enqueue(template: "security_alert", to: user.email, subject: "Your Portal e-mail address was changed",
                               context: ["name": user.name, "what": "The e-mail address of your account is now \(newEmail).",
                                         "when": PageTime.full(now, zone: user.timeZone), "ip": actor.ip], on: db)
        }
        return user
    }

    // MARK: - sessions

    /// Ends one of the user's own sessions; false if it is not theirs (or already over).
    func revokeSession(id: Int64, user: UserRecord, by actor: Actor) throws -> Bool {
        try database.write { db -> Bool in
            guard let s = try sessions.active(userID: user.id, on: db)
                .first(where: { $0.id == id }) else { return false }
            try sessions.revoke(id: s.id, on: db)
            try audit.record(AccountsAuditEvents.sessionRevoked, by: actor, subject: "session:\(id)", details: ["ip": .text(s.ip), "device": .text(s.userAgent)], on: db)
            return true
        }
    }

    func revokeOtherSessions(current: SessionRecord, user: UserRecord, by actor: Actor) throws -> Int {
        try database.write { db -> Int in
            let n = try sessions.revokeAll(userID: user.id, except: current.id, on: db)
            try audit.record(AccountsAuditEvents.otherSessionsRevoked, by: actor, subject: user.email, details: ["sessions_ended": .text("\(n)")], on: db)
            return n
        }
    }

    /// What the account's security page shows, read in one transaction (one consistent snapshot).
    func securityOverview(user: UserRecord) throws -> (sessions: [SessionRecord], recoveryCodesLeft: Int, events: [AuditEvent]) {
        let now = clock.now()
        return try database.read { db in
            try db.transaction(.deferred) {
                (try sessions.active(userID: user.id, on: db),
                 try store.remainingRecoveryCodes(userID: user.id, on: db),
                 try audit.recent(forUser: user.id, limit: 10, on: db))
            }
        }
    }

    // MARK: - helpers

    /// A hash for a new password. The worker only waits for it (the hasher's own threads
    /// compute it), so it lets the server hand queued requests to another worker meanwhile.
    func hashNew(_ password: String) throws -> String {
        do { return try HTTPServer.waiting { try hasher.hash(password) } } catch PasswordHasherError.busy { throw Problem.busy }
    }

    static func totpAD(_ userID: Int64) -> [UInt8] { Array("totp:\(userID)".utf8) }
    static func codesAD(_ userID: Int64) -> [UInt8] { Array("recovery-codes:\(userID)".utf8) }

    /// An address as the portal stores and compares it: trimmed, its domain lower-cased
    /// (domains have no case); the local part keeps its case but is compared without it.
    static func normalizeEmail(_ s: String) -> String {
        let t = s.trimmingCharacters(in: .whitespacesAndNewlines)
        guard let at = t.lastIndex(of: "@") else { return t }
        return String(t[..<at]) + t[at...].lowercased()
    }

    /// The portal's one address check (``EmailField``: the mailer's rules), so no form
    /// accepts an address the outbox would refuse.
    static func emailProblem(_ email: String) -> String? {
        EmailField.problem(email)
    }
}
