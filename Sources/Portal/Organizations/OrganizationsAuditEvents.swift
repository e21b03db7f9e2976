/// The organizations' audit actions: creation, ownership, the changes support applies, and
/// the requests the Owner files. Details name the organization's fields (`legal_name`…),
/// changed ones as before/after pairs.
enum OrganizationsAuditEvents {
    static let fields: [(String, String)] = Organizations.detailFields.map { ($0, Organizations.fieldTitles[$0] ?? $0) }
        + [("status", "Status"), ("production", "Production"), ("members_lost_access", "Members who lost access"),
           ("invitations_revoked", "Pending invitations revoked"), ("request", "Request"), ("from", "From"), ("to", "To"),
           ("previous_owner_now", "Previous Owner is now"), ("kind", "Request"), ("time_zone", "Time zone")]

    static func action(_ id: String, _ title: String, sentence: @escaping @Sendable (AuditSentenceParts) -> String) -> AuditAction {
        AuditAction(id, title: title, fields: fields, sentence: sentence, format: { key, value in
            key == "kind" ? (SupportRequestRecord.Kind(rawValue: value)?.title ?? value) : value
        })
    }

    static let created = action("org.created", "Organization created") { p in
        p.subject.isEmpty ? "\(p.actor) created the organization" : "\(p.actor) created the organization \(p.subject)"
    }
    static let ownerChanged = action("org.owner_changed", "Ownership transferred") { p in "\(p.actor) made \(p.who) the Owner" }
    static let detailsChanged = action("org.details_changed", "Details changed") { p in "\(p.actor) changed the organization's details" }
    static let nameChanged = action("org.name_changed", "Name changed") { p in
        let to = [p.text("legal_name"), p.text("trading_name")].compactMap { $0 }.first { !$0.isEmpty }
        return to.map { "\(p.actor) changed the organization's name to \($0)" } ?? "\(p.actor) changed the organization's name"
    }
    static let closed = AuditAction("org.closed", title: "Organization closed", fields: fields, sentence: { p in "\(p.actor) closed the organization" },
                                    text: { d in
        // "status: active → closed; 3 members lost access; 1 pending invitations revoked (request req_…)"
        var parts: [String] = []
        if let s = d["status"] { parts.append("status: \(s.text())") }
        if let m = d["members_lost_access"] { parts.append("\(m.after) members lost access") }
        if let i = d["invitations_revoked"] { parts.append("\(i.after) pending invitations revoked") }
        if let n = d["note"] { parts.append(n.after) }
        return parts.joined(separator: "; ") + (d["request"].map { " (request \($0.after))" } ?? "")
    })
    static let timeZoneChanged = action("org.time_zone_changed", "Time zone changed") { p in
        p.text("time_zone").map { "\(p.actor) set the organization's time zone to \($0)" } ?? "\(p.actor) changed the organization's time zone"
    }
    static let productionEnabled = action("org.production_enabled", "Production enabled") { p in "\(p.actor) enabled Production" }
    static let requestedDetails = action("request.org_details", "Change of details requested") { p in
        "\(p.actor) asked support to change the organization's details"
    }
    static let requestedName = action("request.org_name", "Name change requested") { p in
        "\(p.actor) asked support to change the organization's name"
    }
    static let requestedOffboarding = action("request.offboarding", "Offboarding requested") { p in
        "\(p.actor) asked support to close the organization"
    }
    static let requestedProduction = action("request.production_access", "Production access requested") { p in
        "\(p.actor) asked support for Production access"
    }
    static let withdrew = action("request.withdrawn", "Request withdrawn") { p in
        "\(p.actor) withdrew \(p.text("kind").flatMap(SupportRequestRecord.Kind.init(rawValue:))?.phrase ?? "a request to support")"
    }

    static let families = [AuditLog.Family(key: "organization", title: "Organization changes", prefixes: ["org."])]

    static let all = [created, ownerChanged, detailsChanged, nameChanged, timeZoneChanged, closed, productionEnabled, requestedDetails, requestedName,
                      requestedOffboarding, requestedProduction, withdrew]
}
