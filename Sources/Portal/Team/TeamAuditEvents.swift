/// The team's audit actions: invitations and members. Details: `role` (a title, or a
/// before/after pair), `permissions` (identifiers, comma-separated), and for a refreshed
/// invitation the one it `replaces`.
enum TeamAuditEvents {
    static let fields = [("role", "Role"), ("permissions", "Permissions"), ("replaces", "Replaces")]

    /// "developer" or "Developer" → "Developer"; anything else as written.
    @Sendable static func format(_ key: String, _ value: String) -> String {
        key == "role" ? (Role(rawValue: value.trimmingCharacters(in: .whitespaces).lowercased())?.title ?? value) : value
    }

    static func action(_ id: String, _ title: String, sentence: @escaping @Sendable (AuditSentenceParts) -> String) -> AuditAction {
        AuditAction(id, title: title, fields: fields, sentence: sentence, format: format)
    }

    /// " as Developer", when the details name the role.
    static func asRole(_ p: AuditSentenceParts) -> String? { p.text("role").map { " as \(format("role", $0))" } }

    static let invited = action("member.invited", "Member invited") { p in
        "\(p.actor) invited \(p.subjectOrSomeone)" + (asRole(p) ?? "")
    }
    static let resent = action("invitation.resent", "Invitation sent again") { p in
        "\(p.actor) sent the invitation to \(p.subjectOrSomeone) again"
    }
    static let revoked = action("invitation.revoked", "Invitation revoked") { p in
        "\(p.actor) revoked the invitation to \(p.subjectOrSomeone)"
    }
    static let accepted = action("invitation.accepted", "Invitation accepted") { p in
        "\(p.actor == "Portal" ? p.who : p.actor) accepted the invitation and joined" + (asRole(p) ?? " the team")
    }
    static let declined = action("invitation.declined", "Invitation declined") { p in
        "\(p.actor == "Portal" ? p.who : p.actor) declined the invitation"
    }
    static let updated = action("member.updated", "Member's role or permissions changed") { p in
        if case .change(let b, let a)? = p.details["role"] {
            return "\(p.actor) changed \(p.who)'s role: \(format("role", b)) → \(format("role", a))"
        }
        if p.details["permissions"] != nil { return "\(p.actor) changed \(p.who)'s permissions" }
        return "\(p.actor) changed \(p.who)'s role and permissions"
    }
    static let disabled = action("member.disabled", "Member disabled") { p in "\(p.actor) disabled \(p.who)'s access" }
    static let enabled = action("member.enabled", "Member enabled") { p in "\(p.actor) enabled \(p.who)'s access again" }
    static let removed = action("member.removed", "Member removed") { p in "\(p.actor) removed \(p.who) from the organization" }

    static let families = [AuditLog.Family(key: "team", title: "Team: members and invitations", prefixes: ["member.", "invitation."])]

    static let all = [invited, resent, revoked, accepted, declined, updated, disabled, enabled, removed]

    /// `role` and `permissions` of a membership or invitation.
    static func details(_ role: Role, _ permissions: Set<Permission>) -> AuditDetails {
        ["role": .text(role.title), "permissions": .text(list(permissions))]
    }

    /// Only what changed of the role (always named) and the permissions.
    static func change(from old: (Role, Set<Permission>), to new: (Role, Set<Permission>)) -> AuditDetails {
        var d: AuditDetails = ["role": old.0 == new.0 ? .text(new.0.title) : .change(before: old.0.title, after: new.0.title)]
        if old.1 != new.1 { d["permissions"] = .change(before: list(old.1), after: list(new.1)) }
        return d
    }

    static func list(_ p: Set<Permission>) -> String { p.isEmpty ? "none" : p.sorted().map(\.rawValue).joined(separator: ", ") }
}
