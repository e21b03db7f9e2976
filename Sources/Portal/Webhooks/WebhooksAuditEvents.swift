/// The audit actions of webhooks. The subject is the endpoint's public id; details: `url`,
/// `events`, `description`, `overlap_ends` (a rotation's), `reason` (a disable's), `delivery`
/// and `count` (replays). Never a secret.
enum WebhooksAuditEvents {
    static let fields = [("url", "URL"), ("events", "Events"), ("description", "Description"), ("overlap_ends", "Old secret works until"),
                         ("reason", "Reason"), ("delivery", "Delivery"), ("count", "Deliveries"), ("since", "Since")]

    static func endpoint(_ p: AuditSentenceParts) -> String {
        "webhook endpoint \(p.subjectOrSomeone)" + (p.text("url").map { " (\($0))" } ?? "")
    }

    static let created = AuditAction("webhook.endpoint_created", title: "Webhook endpoint added", fields: fields) { p in
        "\(p.actor) added \(endpoint(p))"
    }
    static let updated = AuditAction("webhook.endpoint_updated", title: "Webhook endpoint changed", fields: fields) { p in
        "\(p.actor) changed \(endpoint(p))"
    }
    static let disabled = AuditAction("webhook.endpoint_disabled", title: "Webhook endpoint disabled", fields: fields) { p in
        "\(p.actor) disabled \(endpoint(p))" + (p.text("reason").map { ": \($0)" } ?? "")
    }
    static let enabled = AuditAction("webhook.endpoint_enabled", title: "Webhook endpoint enabled", fields: fields) { p in
        "\(p.actor) enabled \(endpoint(p))"
    }
    static let deleted = AuditAction("webhook.endpoint_deleted", title: "Webhook endpoint deleted", fields: fields) { p in
        "\(p.actor) deleted \(endpoint(p))"
    }
    static let secretRevealed = AuditAction("webhook.secret_revealed", title: "Webhook signing secret revealed", fields: fields) { p in
        "\(p.actor) revealed the signing secret of \(endpoint(p))"
    }
    static let secretRotated = AuditAction("webhook.secret_rotated", title: "Webhook signing secret rotated", fields: fields) { p in
        "\(p.actor) rotated the signing secret of \(endpoint(p))"
    }
    static let replayed = AuditAction("webhook.replayed", title: "Webhook deliveries replayed", fields: fields) { p in
        "\(p.actor) replayed " + (p.text("count").map { "\($0) deliveries" } ?? "a delivery") + " to \(endpoint(p))"
    }
    static let testSent = AuditAction("webhook.test_sent", title: "Webhook test event sent", fields: fields) { p in
        "\(p.actor) sent a test event to \(endpoint(p))"
    }

    static let families = [AuditLog.Family(key: "webhooks", title: "Webhooks", prefixes: ["webhook."])]

    static let all = [created, updated, disabled, enabled, deleted, secretRevealed, secretRotated, replayed, testSent]
}
