/// The audit actions of apps. The subject is the app's public id (`app_…`), or the
/// certificate's (`cert_…`) for an upload; details: `name`, `client_id`, `credential`
/// (its name), `result` (a verification's), `overlap_ends`, `product`, `uri`, `certificate`
/// (its fingerprint), `from` (the name before a rename).
enum AppsAuditEvents {
    static let fields = [("name", "Name"), ("from", "Previous name"), ("client_id", "Client id"), ("credential", "Credentials"),
                         ("result", "Result"), ("overlap_ends", "Old secret works until"), ("product", "Product"), ("uri", "Redirect URI"),
                         ("previous_uri", "Previous redirect URI"), ("certificate", "Certificate"), ("subject", "Subject"),
                         ("expires", "Expires")]

    static func app(_ p: AuditSentenceParts) -> String {
        "app \(p.subjectOrSomeone)" + (p.text("name").map { " (“\($0)”)" } ?? "")
    }

    static func credential(_ p: AuditSentenceParts) -> String {
        "credentials " + (p.text("client_id") ?? "") + (p.text("credential").map { " (“\($0)”)" } ?? "")
    }

    static let created = AuditAction("app.created", title: "App registered", fields: fields) { p in
        "\(p.actor) registered \(app(p))"
    }
    static let renamed = AuditAction("app.renamed", title: "App renamed", fields: fields) { p in
        "\(p.actor) renamed \(app(p))" + (p.text("from").map { " from “\($0)”" } ?? "")
    }
    static let deleted = AuditAction("app.deleted", title: "App deleted", fields: fields) { p in
        "\(p.actor) deleted \(app(p)) and revoked its credentials"
    }
    static let credentialCreated = AuditAction("app.credential_created", title: "App credentials added", fields: fields) { p in
        "\(p.actor) added \(credential(p)) to \(app(p))"
    }
    static let credentialRenamed = AuditAction("app.credential_renamed", title: "App credentials renamed", fields: fields) { p in
        "\(p.actor) renamed \(credential(p)) of \(app(p))" + (p.text("from").map { " from “\($0)”" } ?? "")
    }
    static let secretVerified = AuditAction("app.secret_verified", title: "Client secret verified", fields: fields) { p in
        "\(p.actor) checked a client secret against \(credential(p)) of \(app(p))" + (p.text("result").map { ": \($0)" } ?? "")
    }
    static let secretReset = AuditAction("app.secret_reset", title: "Client secret reset", fields: fields) { p in
        "\(p.actor) reset the client secret of \(credential(p)) of \(app(p))"
    }
    static let subscribed = AuditAction("app.subscribed", title: "App subscribed to a product", fields: fields) { p in
        "\(p.actor) subscribed \(app(p)) to \(p.text("product") ?? "a product")"
    }
    static let unsubscribed = AuditAction("app.unsubscribed", title: "App unsubscribed from a product", fields: fields) { p in
        "\(p.actor) unsubscribed \(app(p)) from \(p.text("product") ?? "a product")"
    }
    static let redirectURIAdded = AuditAction("app.redirect_uri_added", title: "Redirect URI added", fields: fields) { p in
        "\(p.actor) added the redirect URI \(p.text("uri") ?? "") to \(app(p))"
    }
    static let redirectURIChanged = AuditAction("app.redirect_uri_changed", title: "Redirect URI changed", fields: fields) { p in
        "\(p.actor) changed a redirect URI of \(app(p)) to \(p.text("uri") ?? "")"
    }
    static let redirectURIRemoved = AuditAction("app.redirect_uri_removed", title: "Redirect URI removed", fields: fields) { p in
        "\(p.actor) removed the redirect URI \(p.text("uri") ?? "") from \(app(p))"
    }
    static let certificateUploaded = AuditAction("certificate.uploaded", title: "Certificate uploaded", fields: fields) { p in
        "\(p.actor) uploaded the certificate \(p.subjectOrSomeone)" + (p.text("subject").map { " (\($0))" } ?? "")
    }
    static let certificateSelected = AuditAction("app.certificate_selected", title: "App certificate chosen", fields: fields) { p in
        p.text("certificate").map { "\(p.actor) chose the certificate \($0) for \(app(p))" } ?? "\(p.actor) removed the certificate of \(app(p))"
    }

    static let licenceFiled = AuditAction("app.psd2_licence_filed", title: "PSD2 licence filed with support", fields: fields + [("licence_number", "Licence number"), ("authority", "Competent authority"), ("request", "Support request")]) { p in
        "\(p.actor) filed the PSD2 licence \(p.text("licence_number") ?? "") with support"
    }

    static let families = [AuditLog.Family(key: "apps", title: "Apps", prefixes: ["app.", "certificate."])]

    static let all = [created, renamed, deleted, credentialCreated, credentialRenamed, secretVerified, secretReset, subscribed, unsubscribed,
                      redirectURIAdded, redirectURIChanged, redirectURIRemoved, certificateUploaded, certificateSelected, licenceFiled]
}
