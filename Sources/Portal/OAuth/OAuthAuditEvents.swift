/// The audit actions of the OAuth server. The subject is the app's public id (`app_…`);
/// details: `client_id`, `token` (the access token's public id), `scope`, `reason`.
///
/// Issuing a token is not audited one by one (it is the use of a credential, like a call
/// with an API key, and the request log keeps it); what changes someone's access is.
enum OAuthAuditEvents {
    static let fields = [("client_id", "Client id"), ("token", "Token"), ("scope", "Scopes"), ("reason", "Reason"), ("grant", "Grant")]

    static let tokenRevoked = AuditAction("oauth.token_revoked", title: "OAuth token revoked", fields: fields) { p in
        "\(p.actor) revoked an OAuth token of app \(p.subjectOrSomeone)" + (p.text("client_id").map { " (client \($0))" } ?? "")
    }
    static let familyRevoked = AuditAction("oauth.family_revoked", title: "OAuth tokens revoked after a reuse", fields: fields) { p in
        "The OAuth server revoked tokens of app \(p.subjectOrSomeone)" + (p.text("reason").map { ": \($0)" } ?? "")
    }
    static let granted = AuditAction("oauth.granted", title: "App authorized", fields: fields) { p in
        "\(p.actor) authorized app \(p.subjectOrSomeone)" + (p.text("scope").map { " for \($0)" } ?? "")
    }
    static let grantRevoked = AuditAction("oauth.grant_revoked", title: "App authorization revoked", fields: fields) { p in
        "\(p.actor) revoked the authorization of app \(p.subjectOrSomeone)"
    }

    static let all = [tokenRevoked, familyRevoked, granted, grantRevoked]
}

extension OAuthAuditEvents {
    static let families = [AuditLog.Family(key: "oauth", title: "OAuth", prefixes: ["oauth."])]
}
