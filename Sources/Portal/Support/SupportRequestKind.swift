import Database

/// A change that needs a person at the operator before it happens (an organization's new
/// details, offboarding, Production access, a lost authenticator…). Each kind is a type owned
/// by the feature whose data it changes, and knows how to describe, check and apply itself
/// through that feature's service; ``Support`` keeps only the queue and finds a request's kind
/// in the registry the composition root builds (``SupportRequestRecord/Kind/registered``).
protocol SupportRequestKind: Sendable {
    /// The identity stored in `support_requests.kind`, with its title.
    var kind: SupportRequestRecord.Kind { get }
    /// What support reads before deciding: each field's value now and after approval, and
    /// what else approval does.
    func review(_ c: SupportCase, on db: Connection) throws -> (changes: [SupportChange], consequences: [String])
    /// Throws ``SupportProblem/conflict`` with the reason when approving cannot work now.
    func check(_ c: SupportCase, on db: Connection) throws
    /// Applies the approved change, with its own audit events, in the decision's transaction.
    func apply(_ c: SupportCase, by actor: Actor, now: Int64, on db: Connection) throws
    /// What else rejecting does, in the decision's transaction (most kinds: nothing).
    func rejected(_ c: SupportCase, reason: String, by actor: Actor, now: Int64, on db: Connection) throws
    /// What else withdrawing does, in the withdrawal's transaction (most kinds: nothing).
    func withdrawn(_ c: SupportCase, by actor: Actor, now: Int64, on db: Connection) throws
    /// What the decision mail says happened, and where its link goes.
    func outcome(_ c: SupportCase, approved: Bool) -> SupportOutcome
    /// Approving it closes the organization: the organization's other open requests can no
    /// longer happen, and ``Support`` refuses them in the same decision.
    var closesOrganization: Bool { get }
}

extension SupportRequestKind {
    var closesOrganization: Bool { false }
}

extension SupportRequestKind {
    func rejected(_ c: SupportCase, reason: String, by actor: Actor, now: Int64, on db: Connection) throws {}
    func withdrawn(_ c: SupportCase, by actor: Actor, now: Int64, on db: Connection) throws {}
}

/// One request under review or being decided, with what it touches as it is now and the
/// services a kind may call. Read in the caller's transaction.
struct SupportCase {
    let request: SupportRequestRecord
    let organization: OrganizationRecord?
    /// The requester's account as it is now (nil if it was deleted).
    let requester: UserRecord?
    let organizations: Organizations
    var accounts: Accounts { organizations.accounts }
    var audit: Audit { organizations.audit }
}

/// The decision mail's words for an approved or rejected request.
struct SupportOutcome {
    let what: String
    let path: String
    let linkText: String
}

extension SupportRequestRecord {
    /// A kind's identity: the stored value and the words people read. Features declare
    /// theirs beside the kind's type (`static let orgDetails = Kind(…)`); the registry
    /// (`Kind.registered`, built in `App/`) lists every kind the portal knows.
    struct Kind: Hashable, Sendable, CustomStringConvertible {
        let rawValue: String
        /// "Change organization details".
        let title: String
        /// How a sentence names the request: "the change of details".
        let phrase: String
        /// The environment its audit events name ("production" or "").
        let environment: String
        /// The audit action that records filing one (declared by the owning feature).
        let filed: AuditAction

        init(_ rawValue: String, title: String, phrase: String, environment: String = "", filed: AuditAction) {
            self.rawValue = rawValue
            self.title = title
            self.phrase = phrase
            self.environment = environment
            self.filed = filed
        }

        /// A kind the registry knows, or nil.
        init?(rawValue: String) {
            guard let known = Self.allCases.first(where: { $0.rawValue == rawValue }) else { return nil }
            self = known
        }

        /// Stored, but no longer registered: shown by its identifier, never decided.
        static func unknown(_ rawValue: String) -> Kind {
            Kind(rawValue, title: rawValue, phrase: "the request “\(rawValue)”", filed: AuditAction("request.\(rawValue)", title: rawValue))
        }

        static var allCases: [Kind] { registered.map(\.kind) }

        /// The kind's behaviour, if registered.
        var behaviour: (any SupportRequestKind)? { Self.registered.first { $0.kind.rawValue == rawValue } }

        var description: String { rawValue }

        static func == (a: Kind, b: Kind) -> Bool { a.rawValue == b.rawValue }
        func hash(into h: inout Hasher) { h.combine(rawValue) }
    }
}
