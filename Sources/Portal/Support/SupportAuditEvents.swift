/// The back-office's audit actions: decisions (details: the request's `kind` and support's
/// `reason`) and staff accounts.
enum SupportAuditEvents {
    static func decision(_ id: String, _ title: String, _ verb: String) -> AuditAction {
        AuditAction(id, title: title, fields: [("kind", "Request"), ("reason", "Reason")],
                    sentence: { p in
                        let kind = p.text("kind")
                        let phrase = kind.flatMap(SupportRequestRecord.Kind.init(rawValue:))?.phrase
                            ?? kind.map { $0.isEmpty ? "a request" : "the request “\($0)”" } ?? "a request"
                        return "\(p.actor) \(verb) \(phrase)"
                    },
                    lines: { d in d["reason"].map { $0.after.isEmpty ? [] : ["Reason: \($0.after)"] } ?? [] },
                    // "Change organization name: Matches the register", as the export always read.
                    text: { d in
                        let kind = d["kind"]?.after ?? ""
                        return "\(SupportRequestRecord.Kind(rawValue: kind)?.title ?? kind): \(d["reason"]?.after ?? "")"
                    })
    }

    static let approved = decision("support.approved", "Request approved by support", "approved")
    static let rejected = decision("support.rejected", "Request rejected by support", "rejected")
    static let staffCreated = AuditAction("staff.created", title: "Staff account created", fields: [("name", "Name")]) { p in
        "\(p.actor) created a staff account for \(p.subject)"
    }
    static let staffLinkReissued = AuditAction("staff.setup_link_reissued", title: "Staff setup link sent again") { p in
        "\(p.actor) made a new setup link for the staff account \(p.subject)"
    }
    static let staffSetupCompleted = AuditAction("staff.setup_completed", title: "Staff account set up") { p in
        "\(p.actor) finished setting up a staff account"
    }

    /// Filing a request: each kind's own action (`request.<kind>`), whichever feature owns it.
    static let requestFamilies = [AuditLog.Family(key: "requests", title: "Requests to support", prefixes: ["request."])]
    static let families = [AuditLog.Family(key: "support", title: "Support decisions", prefixes: ["support."])]

    static let all = [approved, rejected, staffCreated, staffLinkReissued, staffSetupCompleted]
}
