import Web

// The view models of the API key pages, filled by ``APIKeysController``. None holds a secret
// but ``APIKeySecretPage``.

/// A key as a row of the list or the head of its page.
struct APIKeyItem: ViewModel {
    let key: APIKeyRecord
    let url: String
    let zone: String
    let now: Int64

    var status: APIKeyRecord.Status { key.status(now: now) }
    var isUsable: Bool { key.isUsable(now: now) }
    /// Usable and expiring within 7 days.
    var expiresSoon: Bool { isUsable && key.expiresAt.map { $0 - now <= APIKeys.soonWithin } ?? false }
    /// Usable, and no request with it for 90 days (since it was made, if never).
    var isIdle: Bool { isUsable && (key.lastUsedAt ?? key.createdAt) <= now - APIKeys.idleAfter }

    func child(named name: String) -> Any? {
        let k = key
        switch name {
        case "id": return k.publicID
        case "url": return url
        case "name": return k.name
        case "masked": return k.masked
        case "restrictions": return k.restrictions.summary
        case "isRestricted": return k.restrictions.isRestricted
        case "allowlist": return k.ipAllowlist.map { $0.map(\.description).joined(separator: ", ") } ?? "Any address"
        case "createdBy": return k.createdByName
        case "created": return PageTime.compact(k.createdAt, zone: zone)
        case "createdFull": return PageTime.full(k.createdAt, zone: zone)
        case "expires": return k.expiresAt.map { PageTime.full($0, zone: zone) } ?? "Never"
        case "hasLastUse": return k.lastUsedAt != nil
        case "lastUsed": return k.lastUsedAt.map { PageTime.full($0, zone: zone) } ?? "Never"
        case "lastUsedIP": return k.lastUsedIP ?? ""
        case "status": return status.title
        case "statusClass":
            switch status {
            case .active: return "approved"
            case .rolling: return "open"
            case .revoked, .expired, .ended: return "rejected"
            }
        case "isUsable": return isUsable
        case "isRolling": return status == .rolling
        case "isActive": return status == .active
        case "endsAt": return k.endsAt.map { PageTime.full($0, zone: zone) } ?? ""
        case "replacedBy": return k.replacedByPublicID ?? ""
        case "expiresSoon": return expiresSoon
        case "isIdle": return isIdle
        case "isRevoked": return k.revokedAt != nil
        case "revokedBy": return k.revokedByName ?? ""
        case "revoked": return k.revokedAt.map { PageTime.full($0, zone: zone) } ?? ""
        default: return nil
        }
    }
}

/// The heading every API key page shares.
private func envChild(_ env: EnvAccess, _ name: String) -> Any? {
    switch name {
    case "environment": env.environment.title
    case "isProduction": env.isProduction
    case "orgName": env.org.displayName
    case "listURL": APIKeysController.base(env)
    case "newURL": "\(APIKeysController.base(env))/new"
    default: nil
    }
}

/// `/orgs/:org/:env/api-keys`: the environment's keys, newest first.
struct APIKeysListPage: ViewModel {
    let env: EnvAccess
    let mayChange: Bool
    let items: [APIKeyItem]

    init(env: EnvAccess, keys: [APIKeyRecord], mayChange: Bool, now: Int64) {
        self.env = env
        self.mayChange = mayChange
        let base = APIKeysController.base(env)
        items = keys.map { APIKeyItem(key: $0, url: "\(base)/\($0.publicID)", zone: env.user.timeZone, now: now) }
    }

    func child(named name: String) -> Any? {
        switch name {
        case "title": return "API keys · \(env.environment.title) · \(env.org.displayName)"
        case "mayChange": return mayChange
        case "keys": return items
        case "hasKeys": return !items.isEmpty
        default: return envChild(env, name)
        }
    }
}

/// `/orgs/:org/:env/api-keys/new`: name, expiry, restrictions, allowlist (and in Production
/// the authenticator code).
struct NewAPIKeyPage: ViewModel {
    let env: EnvAccess
    let form: FormState

    func child(named name: String) -> Any? {
        let expiry = form.values["expires_in_days"] ?? ""
        switch name {
        case "title": return "New API key · \(env.environment.title) · \(env.org.displayName)"
        case "action": return "\(APIKeysController.base(env))/new"
        case "expiryChoices":
            return [("", "Never"), ("30", "30 days"), ("90", "90 days"), ("365", "365 days"), ("date", "On a date")].map { value, label in
                ["value": value, "label": label, "checked": expiry == value || (value == "" && expiry == "never"), "id": "expires_\(value.isEmpty ? "never" : value)"]
            }
        case "resources":
            return APIResource.allCases.map { r -> [String: Any] in
                let field = "restrict_\(r.rawValue)"
                let chosen = form.values[field].flatMap { $0.isEmpty ? nil : $0 } ?? "write"
                return ["field": field, "title": r.title, "error": form.errors[field] ?? "", "hasError": form.errors[field] != nil,
                        "levels": APIAccessLevel.allCases.map { l in ["value": l.rawValue, "label": Self.levelTitle(l), "selected": l.rawValue == chosen] }]
            }
        default: return envChild(env, name) ?? form.child(named: name)
        }
    }

    static func levelTitle(_ l: APIAccessLevel) -> String {
        switch l {
        case .none: "None"
        case .read: "Read"
        case .write: "Read and write"
        }
    }
}

/// The answer to a create or a roll: the secret, once, with a copy button.
struct APIKeySecretPage: ViewModel {
    let env: EnvAccess
    let created: APIKeys.Created
    let item: APIKeyItem
    let replaced: APIKeyItem?

    init(env: EnvAccess, created: APIKeys.Created, now: Int64) {
        self.env = env
        self.created = created
        let base = APIKeysController.base(env)
        item = APIKeyItem(key: created.key, url: "\(base)/\(created.key.publicID)", zone: env.user.timeZone, now: now)
        replaced = created.replaced.map { APIKeyItem(key: $0, url: "\(base)/\($0.publicID)", zone: env.user.timeZone, now: now) }
    }

    func child(named name: String) -> Any? {
        switch name {
        case "title": return "Your new API key · \(env.environment.title) · \(env.org.displayName)"
        case "secret": return created.secret.text
        case "key": return item
        case "isRoll": return replaced != nil
        case "replaced": return replaced as Any
        case "oldStillWorks": return replaced?.isUsable ?? false
        default: return envChild(env, name)
        }
    }
}

/// `/orgs/:org/:env/api-keys/:key`: the key, and for a member who manages keys its roll and
/// revoke forms. Also the revoke confirmation.
struct APIKeyPage: ViewModel {
    let env: EnvAccess
    let item: APIKeyItem
    let mayChange: Bool
    let form: FormState

    init(env: EnvAccess, key: APIKeyRecord, mayChange: Bool, now: Int64, form: FormState) {
        self.env = env
        self.mayChange = mayChange
        self.form = form
        item = APIKeyItem(key: key, url: "\(APIKeysController.base(env))/\(key.publicID)", zone: env.user.timeZone, now: now)
    }

    func child(named name: String) -> Any? {
        let url = item.url
        let overlap = form.values["overlap"] ?? "3600"
        switch name {
        case "title": return "API key “\(item.key.name)” · \(env.environment.title) · \(env.org.displayName)"
        case "key": return item
        case "mayChange": return mayChange
        case "canRoll": return mayChange && item.status == .active
        case "canRevoke": return mayChange && item.key.revokedAt == nil
        case "rollURL": return "\(url)/roll"
        case "revokeURL": return "\(url)/revoke"
        case "reportURL": return "\(url)/report"
        case "overlaps":
            return [("0", "Stop the old secret now"), ("3600", "1 hour"), ("86400", "24 hours"), ("604800", "7 days")].map { value, label in
                ["value": value, "label": label, "checked": value == overlap, "id": "overlap_\(value)"]
            }
        default: return envChild(env, name) ?? form.child(named: name)
        }
    }
}

/// After a revocation: roll the other keys if the secret leaked with them, and tell support.
struct APIKeyRevokedPage: ViewModel {
    let env: EnvAccess
    let item: APIKeyItem
    let others: [APIKeyItem]
    let mayChange: Bool

    init(env: EnvAccess, key: APIKeyRecord, others: [APIKeyRecord], mayChange: Bool, now: Int64) {
        self.env = env
        self.mayChange = mayChange
        let base = APIKeysController.base(env)
        item = APIKeyItem(key: key, url: "\(base)/\(key.publicID)", zone: env.user.timeZone, now: now)
        self.others = others.map { APIKeyItem(key: $0, url: "\(base)/\($0.publicID)", zone: env.user.timeZone, now: now) }
    }

    func child(named name: String) -> Any? {
        switch name {
        case "title": return "API key revoked · \(env.environment.title) · \(env.org.displayName)"
        case "key": return item
        case "others": return others
        case "hasOthers": return !others.isEmpty
        case "mayChange": return mayChange
        case "reportURL": return "\(item.url)/report"
        default: return envChild(env, name)
        }
    }
}
