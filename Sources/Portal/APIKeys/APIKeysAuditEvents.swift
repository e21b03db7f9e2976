/// The audit actions of API keys. The subject is the key's public id; details: `name`, `key`
/// (the masked secret, `sk_sandbox_Ab3x…wXyZ`), `restrictions`, `ip_allowlist`, `expires`,
/// `new_key` and `overlap_ends` (a roll's), `request` (a leak report's support request).
enum APIKeysAuditEvents {
    static let fields = [("name", "Name"), ("key", "Key"), ("restrictions", "Restrictions"), ("ip_allowlist", "IP allowlist"),
                         ("expires", "Expires"), ("new_key", "New key"), ("overlap_ends", "Old key works until"), ("request", "Support request")]

    static func key(_ p: AuditSentenceParts) -> String {
        "API key \(p.subjectOrSomeone)" + (p.text("name").map { " (“\($0)”)" } ?? "")
    }

    static let created = AuditAction("api_key.created", title: "API key created", fields: fields) { p in
        "\(p.actor) created \(key(p))"
    }
    static let rolled = AuditAction("api_key.rolled", title: "API key rolled", fields: fields) { p in
        "\(p.actor) rolled \(key(p))" + (p.text("new_key").map { " into \($0)" } ?? "")
    }
    static let revoked = AuditAction("api_key.revoked", title: "API key revoked", fields: fields) { p in
        "\(p.actor) revoked \(key(p))"
    }
    static let expired = AuditAction("api_key.expired", title: "API key expired", fields: fields) { p in
        "\(key(p)) expired"
    }
    static let leakReported = AuditAction("api_key.leak_reported", title: "API key leak reported to support", fields: fields) { p in
        "\(p.actor) told support that \(key(p)) may have leaked"
    }

    static let families = [AuditLog.Family(key: "api_keys", title: "API keys", prefixes: ["api_key."])]

    static let all = [created, rolled, revoked, expired, leakReported]
}
