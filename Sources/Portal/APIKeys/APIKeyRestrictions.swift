/// What a key may do to each ``APIResource`` (Stripe's restricted keys). Unrestricted, a key
/// has `write` on every resource, those the API adds later included; restricted, exactly the
/// levels chosen, and `none` on a resource added after it was made.
struct APIKeyRestrictions: Sendable, Equatable {
    /// nil: unrestricted.
    let levels: [APIResource: APIAccessLevel]?

    static let unrestricted = APIKeyRestrictions(levels: nil)

    init(levels: [APIResource: APIAccessLevel]?) {
        // Write on everything is no restriction at all: stored as unrestricted.
        if let levels, APIResource.allCases.allSatisfy({ levels[$0] == .write }) { self.levels = nil } else { self.levels = levels }
    }

    var isRestricted: Bool { levels != nil }

    func access(to resource: APIResource) -> APIAccessLevel {
        guard let levels else { return .write }
        return levels[resource] ?? .none
    }

    /// The stored form (`api_keys.restrictions`): nil, or `balances=read payouts=none transactions=write`.
    var stored: String? {
        levels.map { l in l.sorted { $0.key.rawValue < $1.key.rawValue }.map { "\($0.key.rawValue)=\($0.value.rawValue)" }.joined(separator: " ") }
    }

    init(stored: String?) {
        guard let stored else { self.init(levels: nil); return }
        var levels: [APIResource: APIAccessLevel] = [:]
        for word in stored.split(separator: " ") {
            let pair = word.split(separator: "=", maxSplits: 1)
            // A word this version does not know grants nothing.
            if pair.count == 2, let r = APIResource(rawValue: String(pair[0])), let a = APIAccessLevel(rawValue: String(pair[1])) { levels[r] = a }
        }
        self.init(levels: levels)
    }

    /// How people read it: "Full access", or "Balances: read · Transactions: none · Payouts: write".
    var summary: String {
        guard isRestricted else { return "Full access" }
        return APIResource.allCases.map { "\($0.title): \(access(to: $0).rawValue)" }.joined(separator: " · ")
    }
}

extension APIResource {
    var title: String {
        switch self {
        case .balances: "Balances"
        case .transactions: "Transactions"
        case .payouts: "Payouts"
        }
    }
}
