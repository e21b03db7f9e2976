import Security
import Web

// The view models of the app pages, filled by ``AppsController``. None holds a secret but
// ``AppSecretPage``.

/// The heading every app page shares.
private func envChild(_ env: EnvAccess, _ name: String) -> Any? {
    switch name {
    case "environment": env.environment.title
    case "isProduction": env.isProduction
    case "orgName": env.org.displayName
    case "listURL": AppsController.base(env)
    case "newURL": "\(AppsController.base(env))/new"
    case "certificatesURL": "/orgs/\(env.org.publicID)/certificates"
    default: nil
    }
}

private func credentialItem(_ c: AppCredentialRecord, health: Apps.CredentialHealth, appURL: String, zone: String, now: Int64) -> [String: Any] {
    let url = "\(appURL)/credentials/\(c.clientID)"
    return ["name": c.name, "clientID": c.clientID, "masked": c.masked, "createdBy": c.createdByName,
            "created": PageTime.full(c.createdAt, zone: zone), "hasReset": c.resetAt != nil,
            "reset": c.resetAt.map { PageTime.full($0, zone: zone) } ?? "",
            "previousWorks": c.previousWorks(now: now), "previousEnds": c.previousEndsAt.map { PageTime.full($0, zone: zone) } ?? "",
            "expires": c.expiresAt.map { PageTime.full($0, zone: zone) } ?? "Never", "isExpired": c.isExpired(now: now),
            "expiresSoon": !c.isExpired(now: now) && (c.expiresAt.map { $0 - now <= 7 * 86400 } ?? false),
            "hasLastUse": c.lastUsedAt != nil, "lastUsed": c.lastUsedAt.map { PageTime.full($0, zone: zone) } ?? "Never used",
            "lastUsedIP": c.lastUsedIP ?? "", "isIdle": c.isIdle(now: now),
            "tokensIssued": String(health.tokensIssued), "failedAuthentications": String(health.failedAuthentications),
            "hasFailures": health.failedAuthentications > 0,
            "renameURL": "\(url)/rename", "verifyURL": "\(url)/verify", "resetURL": "\(url)/reset"]
}

/// The reset form's overlap choices, `chosen` ticked.
private func overlapChoices(_ chosen: String) -> [[String: Any]] {
    [("0", "Stop it now"), ("3600", "1 hour"), ("86400", "24 hours")].map { v, l in
        ["value": v, "label": l, "checked": v == chosen] as [String: Any]
    }
}

/// The expiry choices of the register and add-credentials forms, `chosen` selected.
private func expiryChoices(_ chosen: String) -> [[String: Any]] {
    [("", "Never"), ("30", "30 days"), ("90", "90 days"), ("365", "365 days")].map { v, l in
        ["value": v, "label": l, "selected": v == chosen] as [String: Any]
    }
}

private func certificateItem(_ c: CertificateRecord, zone: String, now: Int64) -> [String: Any] {
    ["id": c.publicID, "x5t": Base64URL.encode(c.sha256), "subject": c.subject, "issuer": c.issuer, "serial": c.serial, "fingerprint": c.fingerprint, "keyType": c.keyType,
     "notBefore": PageTime.full(c.notBefore, zone: zone), "notAfter": PageTime.full(c.notAfter, zone: zone),
     "altNames": c.altNames.isEmpty ? "—" : c.altNames, "expiresSoon": c.notAfter - now <= 30 * 86400, "expired": c.notAfter <= now,
     "createdBy": c.createdByName, "created": PageTime.full(c.createdAt, zone: zone)]
}

/// `/orgs/:org/:env/apps`: the environment's apps by name.
struct AppsListPage: ViewModel {
    let env: EnvAccess
    let apps: [Apps.Summary]
    let mayChange: Bool

    func child(named name: String) -> Any? {
        switch name {
        case "title": return "Apps · \(env.environment.title) · \(env.org.displayName)"
        case "mayChange": return mayChange
        case "hasApps": return !apps.isEmpty
        case "apps":
            return apps.map { s -> [String: Any] in
                ["name": s.app.name, "id": s.app.publicID, "url": "\(AppsController.base(env))/\(s.app.publicID)", "credentials": s.credentials,
                 "created": PageTime.full(s.app.createdAt, zone: env.user.timeZone), "createdBy": s.app.createdByName]
            }
        default: return envChild(env, name)
        }
    }
}

/// `/orgs/:org/:env/apps/new`: the app's name.
struct NewAppPage: ViewModel {
    let env: EnvAccess
    let form: FormState

    func child(named name: String) -> Any? {
        switch name {
        case "title": return "Register an app · \(env.environment.title) · \(env.org.displayName)"
        case "action": return "\(AppsController.base(env))/new"
        case "expiryChoices": return expiryChoices(form.values["expires_in_days"] ?? "")
        default: return envChild(env, name) ?? form.child(named: name)
        }
    }
}

/// The answer to the POST that made credentials or reset their secret: the one page that
/// ever holds the secret.
struct AppSecretPage: ViewModel {
    let env: EnvAccess
    let created: Apps.Created
    let isNewApp: Bool
    let isReset: Bool

    func child(named name: String) -> Any? {
        let zone = env.user.timeZone
        switch name {
        case "title": return "Client secret · \(created.app.name) · \(env.org.displayName)"
        case "appName": return created.app.name
        case "appURL": return "\(AppsController.base(env))/\(created.app.publicID)"
        case "credentialName": return created.credential.name
        case "clientID": return created.credential.clientID
        case "secret": return created.secret.text
        case "isNewApp": return isNewApp
        case "isReset": return isReset
        case "oldStillWorks": return created.previousEndsAt != nil
        case "oldEnds": return created.previousEndsAt.map { PageTime.full($0, zone: zone) } ?? ""
        default: return envChild(env, name)
        }
    }
}

/// `/orgs/:org/:env/apps/:app`: credentials, subscriptions, certificate, redirect URIs, and
/// the rename and delete forms. `form` carries one form's state (which one: its field names).
struct AppPage: ViewModel {
    let env: EnvAccess
    let detail: Apps.Detail
    let mayChange: Bool
    let now: Int64
    var form: FormState = .empty
    /// The credentials a form's message is about (verify, rename, reset), if any.
    var formClientID: String?
    /// "It matches" / "It does not match" after a verification.
    var verifyResult: (clientID: String, matched: Bool)?
    var licence: PSD2Licences.Licence?
    var licencePending: String?

    var appURL: String { "\(AppsController.base(env))/\(detail.app.publicID)" }

    func child(named name: String) -> Any? {
        let zone = env.user.timeZone
        let app = detail.app
        switch name {
        case "title": return "\(app.name) · Apps · \(env.org.displayName)"
        case "mayChange": return mayChange
        case "name": return app.name
        case "id": return app.publicID
        case "created": return PageTime.full(app.createdAt, zone: zone)
        case "createdBy": return app.createdByName
        case "renameURL": return "\(appURL)/rename"
        case "deleteURL": return "\(appURL)/delete"
        case "credentialsURL": return "\(appURL)/credentials"
        case "subscriptionsURL": return "\(appURL)/subscriptions"
        case "redirectURIsURL": return "\(appURL)/redirect-uris"
        case "certificateURL": return "\(appURL)/certificate"
        case "credentials":
            return detail.credentials.map { c -> [String: Any] in
                var item = credentialItem(c, health: detail.health[c.id] ?? Apps.CredentialHealth(), appURL: appURL, zone: zone, now: now)
                let isForm = formClientID == c.clientID
                item["formErrors"] = isForm ? form.errors : [String: String]()
                item["formValues"] = isForm ? form.values : [String: String]()
                item["overlaps"] = overlapChoices(isForm ? form.values["overlap"] ?? "3600" : "3600")
                if let r = verifyResult, r.clientID == c.clientID {
                    item["verified"] = true
                    item["matched"] = r.matched
                }
                return item
            }
        case "scopes": return detail.scopes.joined(separator: " ")
        case "hasScopes": return !detail.scopes.isEmpty
        case "subscriptions":
            return detail.subscriptions.compactMap { s -> [String: Any]? in
                guard let p = AppProduct.named(s.product) else { return nil }
                return ["title": p.title, "scopes": p.scopes.joined(separator: " "), "removeURL": "\(appURL)/subscriptions/\(p.id)/remove",
                        "since": PageTime.full(s.createdAt, zone: zone), "by": s.createdByName]
            }
        case "hasSubscriptions": return !detail.subscriptions.isEmpty
        case "catalogue":
            let have = Set(detail.subscriptions.map(\.product))
            return AppProduct.catalogue.map { p -> [String: Any] in
                let locked = p.regulated && !detail.psd2Licensed
                return ["id": p.id, "title": p.title, "description": p.description, "scopes": p.scopes.joined(separator: " "),
                        "subscribed": have.contains(p.id), "locked": locked, "lockedReason": locked ? PSD2Licences.lockedReason(p) : "",
                        "available": !have.contains(p.id) && !locked]
            }
        case "psd2Licensed": return detail.psd2Licensed
        case "licence": return licence.map { ["number": $0.number, "authority": $0.authority, "registerURL": $0.registerURL] }
        case "licencePending": return licencePending
        case "isOwner": return env.access.isOwner
        case "licenceURL": return "/orgs/\(env.org.publicID)/psd2-licence"
        case "redirectURIs":
            return detail.redirectURIs.map { u -> [String: Any] in
                ["id": u.publicID, "uri": u.uri, "changeURL": "\(appURL)/redirect-uris/\(u.publicID)",
                 "removeURL": "\(appURL)/redirect-uris/\(u.publicID)/remove"]
            }
        case "hasRedirectURIs": return !detail.redirectURIs.isEmpty
        case "mayAddRedirectURI": return mayChange && detail.redirectURIs.count < Apps.maximumRedirectURIs
        case "maxRedirectURIs": return Apps.maximumRedirectURIs
        case "certificate": return detail.certificate.map { certificateItem($0, zone: zone, now: now) }
        case "certificates":
            return detail.certificates.map { c -> [String: Any] in
                ["id": c.publicID, "label": "\(c.subject) — \(c.fingerprint.prefix(23))…", "selected": c.id == detail.certificate?.id]
            }
        case "hasCertificates": return !detail.certificates.isEmpty
        case "expiryChoices": return expiryChoices(form.values["expires_in_days"] ?? "")
        default: return envChild(env, name) ?? form.child(named: name)
        }
    }
}

/// The confirmation before removing a subscription.
struct AppUnsubscribePage: ViewModel {
    let env: EnvAccess
    let app: AppRecord
    let product: AppProduct

    func child(named name: String) -> Any? {
        switch name {
        case "title": return "Unsubscribe · \(app.name) · \(env.org.displayName)"
        case "appName": return app.name
        case "appURL": return "\(AppsController.base(env))/\(app.publicID)"
        case "product": return product.title
        case "scopes": return product.scopes.joined(separator: " ")
        case "action": return "\(AppsController.base(env))/\(app.publicID)/subscriptions/\(product.id)/remove"
        default: return envChild(env, name)
        }
    }
}

/// `/orgs/:org/certificates`: the organization's certificate store and the upload form.
struct CertificatesPage: ViewModel {
    let access: OrgAccess
    let certificates: [CertificateRecord]
    let mayChange: Bool
    let now: Int64
    var form: FormState = .empty
    var duplicate: CertificateRecord?

    func child(named name: String) -> Any? {
        switch name {
        case "title": return "Certificates · \(access.org.displayName)"
        case "orgName": return access.org.displayName
        case "action": return "/orgs/\(access.org.publicID)/certificates"
        case "mayChange": return mayChange
        case "certificates": return certificates.map { certificateItem($0, zone: access.user.timeZone, now: now) }
        case "hasCertificates": return !certificates.isEmpty
        case "duplicate": return duplicate.map { certificateItem($0, zone: access.user.timeZone, now: now) }
        case "appsURL": return "/orgs/\(access.org.publicID)/sandbox/apps"
        default: return form.child(named: name)
        }
    }
}
