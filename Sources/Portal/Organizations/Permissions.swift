import Synchronization
import Security

/// What a member may do in an organization. The raw values are stable identifiers (stored in
/// `memberships.permissions` and used by every feature); people see `title` and `explanation`.
/// The Dashboard and Reports need none: every active member sees them.
enum Permission: String, CaseIterable, Sendable, Comparable {
    case webhooksRead = "webhooks.read"
    case webhooksWrite = "webhooks.write"
    case statisticsRead = "statistics.read"
    case logsRead = "logs.read"
    case apiKeysRead = "api_keys.read"
    case apiKeysWrite = "api_keys.write"
    case rolesRead = "roles.read"
    case rolesWrite = "roles.write"
    case appsRead = "apps.read"
    case appsWrite = "apps.write"
    case transactionsRead = "transactions.read"
    case transactionsCancel = "transactions.cancel"
    case payoutsCreate = "payouts.create"
    case payoutsAuthorize = "payouts.authorize"

    static func < (a: Permission, b: Permission) -> Bool { a.rawValue < b.rawValue }

    /// The permissions that move money out: never held by a Developer, whatever is stored.
    static let payouts: Set<Permission> = [.payoutsCreate, .payoutsAuthorize]
    /// Every permission: what the Owner holds.
    static let all = Set(allCases)

    var title: String {
        switch self {
        case .webhooksRead: "View webhooks"
        case .webhooksWrite: "Manage webhooks"
        case .statisticsRead: "View statistics"
        case .logsRead: "View logs"
        case .apiKeysRead: "View API keys"
        case .apiKeysWrite: "Manage API keys"
        case .rolesRead: "View team"
        case .rolesWrite: "Manage team"
        case .appsRead: "View apps"
        case .appsWrite: "Manage apps"
        case .transactionsRead: "View transactions"
        case .transactionsCancel: "Cancel transactions"
        case .payoutsCreate: "Create payouts"
        case .payoutsAuthorize: "Authorize payouts"
        }
    }

    var explanation: String {
        switch self {
        case .webhooksRead: "See the webhook endpoints and their delivery attempts."
        case .webhooksWrite: "Add, change and remove webhook endpoints."
        case .statisticsRead: "See balances and volume statistics."
        case .logsRead: "Read the organization's audit log and API request logs, and export them."
        case .apiKeysRead: "See the API keys (never their secrets after creation)."
        case .apiKeysWrite: "Create, roll and revoke API keys."
        case .rolesRead: "See the members, their permissions and the invitations."
        case .rolesWrite: "Invite, edit, disable and remove members (never beyond their own permissions)."
        case .appsRead: "See the apps and their client ids."
        case .appsWrite: "Create and change apps and their credentials."
        case .transactionsRead: "See transactions and their details."
        case .transactionsCancel: "Cancel transactions that have not been paid out."
        case .payoutsCreate: "Prepare payouts, which someone must then authorize."
        case .payoutsAuthorize: "Authorize payouts, so that money leaves the account."
        }
    }

    /// The permissions in a stored or submitted list; unknown words are dropped.
    static func parse(_ words: some Sequence<some StringProtocol>) -> Set<Permission> {
        Set(words.compactMap { Permission(rawValue: String($0)) })
    }

    /// Stored lists are few (the presets, and the Custom sets in use), and every signed-in
    /// organization page reads one or more memberships: parsing each time (split, a
    /// `rawValue` match per word, a set) was about 7 % of a dashboard view.
    static func parse(stored: String) -> Set<Permission> {
        if let known = parsedLists.withLock({ $0[stored] }) { return known }
        let set = parse(stored.split(separator: " "))
        parsedLists.withLock { lists in
            if lists.count >= 1024 { lists.removeAll(keepingCapacity: true) }
            lists[stored] = set
        }
        return set
    }

    private static let parsedLists = Mutex<[String: Set<Permission>]>([:])

    /// The stored form: sorted identifiers separated by spaces.
    static func store(_ set: Set<Permission>) -> String { set.sorted().map(\.rawValue).joined(separator: " ") }
}

/// A member's role: a named preset of permissions. Presets are applied as they are; "Custom"
/// takes the permissions chosen one by one. The Owner holds every permission and can be
/// neither edited, disabled nor removed; there is exactly one.
enum Role: String, CaseIterable, Sendable {
    case owner, admin, manager, employee, developer, custom

    /// The roles one can give when inviting or editing (ownership only moves by a transfer).
    static let assignable: [Role] = [.admin, .manager, .employee, .developer, .custom]

    var title: String {
        switch self {
        case .owner: "Owner"
        case .admin: "Admin"
        case .manager: "Manager"
        case .employee: "Employee"
        case .developer: "Developer"
        case .custom: "Custom"
        }
    }

    var explanation: String {
        switch self {
        case .owner: "Every permission; the only one who can transfer ownership and make organization requests."
        case .admin: "Every permission."
        case .manager: "Transactions and cancellations, creating and authorizing payouts, logs, and seeing the team."
        case .employee: "Sees transactions and prepares payouts."
        case .developer: "API keys, apps, webhooks, logs and transactions; never moves money."
        case .custom: "Exactly the permissions ticked below."
        }
    }

    /// The preset's permissions (nil for Custom, which has none of its own).
    var preset: Set<Permission>? {
        switch self {
        case .owner, .admin: Set(Permission.allCases)
        case .manager: [.transactionsRead, .transactionsCancel, .payoutsCreate, .payoutsAuthorize, .logsRead, .rolesRead]
        case .employee: [.transactionsRead, .payoutsCreate]
        case .developer: [.apiKeysRead, .apiKeysWrite, .appsRead, .appsWrite, .webhooksRead, .webhooksWrite, .logsRead, .transactionsRead]
        case .custom: nil
        }
    }

    /// The permissions a member with this role gets: the preset, or for Custom the `chosen` ones.
    func permissions(chosen: Set<Permission>) -> Set<Permission> { preset ?? chosen }
}
