import Web

// The view models of the organization pages: one per page, filled by
// ``OrganizationsController``. Forms carry a ``FormState``; times come from ``PageTime``.

/// `/orgs`: the organizations the person belongs to.
struct OrgListPage: ViewModel {
    let orgs: [Item]
    let isStaff: Bool

    init(_ orgs: [(OrganizationRecord, MembershipRecord)], isStaff: Bool) {
        self.orgs = orgs.map { Item(org: $0.0, member: $0.1) }
        self.isStaff = isStaff
    }

    func child(named name: String) -> Any? {
        switch name {
        case "title": "Your organizations"
        case "orgs": orgs
        case "isEmpty": orgs.isEmpty
        case "isStaff": isStaff
        default: nil
        }
    }

    struct Item: ViewModel {
        let org: OrganizationRecord
        let member: MembershipRecord

        func child(named name: String) -> Any? {
            switch name {
            case "name": org.displayName
            case "legalName": org.legalName
            case "url": "/orgs/\(org.publicID)"
            case "role": member.role.title
            case "hasProduction": org.hasProduction
            default: nil
            }
        }
    }
}

/// The organization's details as a form (`orgs/_fields`), for creating an organization and
/// for asking support to change its details or name.
struct OrgDetailsForm: ViewModel {
    let title: String
    let form: FormState
    let countries: [Choice]
    let industries: [Choice]
    let showName: Bool
    let showDetails: Bool

    init(_ title: String, organizations: Organizations, form: FormState, showName: Bool, showDetails: Bool) {
        self.title = title
        self.form = form
        let country = form.values["country"] ?? ""
        let industry = form.values["industry"] ?? ""
        countries = organizations.countries.all.map { Choice(value: $0.code, label: $0.name, selected: $0.code == country) }
        industries = Industries.all.map { Choice(value: $0, label: $0, selected: $0 == industry) }
        self.showName = showName
        self.showDetails = showDetails
    }

    func child(named name: String) -> Any? {
        switch name {
        case "title": title
        case "countries": countries
        case "industries": industries
        case "showName": showName
        case "showDetails": showDetails
        default: form.child(named: name)
        }
    }
}

/// `/orgs/new`.
struct NewOrgPage: ViewModel {
    let fields: OrgDetailsForm
    let firstOrganization: Bool

    func child(named name: String) -> Any? {
        name == "firstOrganization" ? firstOrganization : fields.child(named: name)
    }
}

/// `/orgs/:org/settings/details` and `/orgs/:org/settings/name`: a change for support to review.
struct ChangeRequestPage: ViewModel {
    let access: OrgAccess
    let fields: OrgDetailsForm
    let isName: Bool

    func child(named name: String) -> Any? {
        let base = "/orgs/\(access.org.publicID)"
        switch name {
        case "base": return base
        case "isName": return isName
        case "action": return "\(base)/settings/\(isName ? "name" : "details")"
        default: return fields.child(named: name)
        }
    }
}

/// `/orgs/:org`: the organization's dashboard.
struct DashboardPage: ViewModel {
    let access: OrgAccess
    let open: [SupportRequestRecord]
    let permissions: [PermissionItem]

    init(access: OrgAccess, requests: [SupportRequestRecord]) {
        self.access = access
        self.open = requests.filter(\.isOpen)
        self.permissions = access.permissions.sorted().map(PermissionItem.init)
    }

    func child(named name: String) -> Any? {
        switch name {
        case "title", "orgName": return access.org.displayName
        case "role": return access.member.role.title
        case "isOwner": return access.isOwner
        case "base": return "/orgs/\(access.org.publicID)"
        case "hasProduction": return access.org.hasProduction
        case "productionRequested": return open.contains { $0.kind == .productionAccess }
        case "permissions": return permissions
        case "hasPermissions": return !permissions.isEmpty
        case "canTeam": return access.can(.rolesRead)
        case "canLogs": return access.can(.logsRead)
        case "hasOpenRequests": return !open.isEmpty
        case "openRequests":
            let zone = access.user.timeZone
            return open.map { r in TextRow(["title": r.kind.title, "since": PageTime.full(r.createdAt, zone: zone)]) }
        default: return nil
        }
    }
}

/// `/orgs/:org/settings`: the details, and for the Owner the requests to support.
struct SettingsPage: ViewModel {
    let access: OrgAccess
    let details: [TextRow]
    let requests: [RequestItem]
    /// The time-zone form (the Owner's) and its `<option>`s, rendered apart and kept.
    let zoneForm: FormState
    let timeZoneOptions: String

    init(access: OrgAccess, organizations: Organizations, requests: [SupportRequestRecord], zoneForm: FormState = .empty, timeZoneOptions: String = "") {
        self.access = access
        self.zoneForm = zoneForm
        self.timeZoneOptions = timeZoneOptions
        self.details = organizations.detailRows(access.org.details).map(TextRow.init)
        let zone = access.user.timeZone
        self.requests = requests.map { r in
            RequestItem(request: r, zone: zone, settings: "/orgs/\(access.org.publicID)/settings", changes: r.changes.keys.sorted().map { k in
                TextRow(["label": Organizations.fieldTitles[k] ?? k, "before": organizations.display(k, access.org.details[k] ?? ""),
                     "after": organizations.display(k, r.changes[k] ?? "")])
            })
        }
    }

    func child(named name: String) -> Any? {
        let org = access.org
        let zone = access.user.timeZone
        switch name {
        case "title": return "Settings · \(org.displayName)"
        case "base": return "/orgs/\(org.publicID)"
        case "isOwner": return access.isOwner
        case "details": return details
        case "publicId": return org.publicID
        case "hasProduction": return org.hasProduction
        case "created": return PageTime.full(org.createdAt, zone: zone)
        case "productionSince": return org.productionEnabledAt.map { PageTime.full($0, zone: zone) } ?? ""
        case "requests": return requests
        case "hasRequests": return !requests.isEmpty
        case "timeZone": return org.timeZone.replacingOccurrences(of: "_", with: " ")
        case "timeZoneOptions": return timeZoneOptions
        case "zoneForm": return zoneForm
        default: return nil
        }
    }

    /// A request to support as its Owner sees it: the reasons and support's answer.
    struct RequestItem: ViewModel {
        let request: SupportRequestRecord
        let created: String
        let resolved: String
        /// `/orgs/:org/settings`, under which a request can be withdrawn.
        let settings: String
        let changes: [TextRow]

        init(request r: SupportRequestRecord, zone: String, settings: String, changes: [TextRow]) {
            request = r
            self.settings = settings
            created = PageTime.compact(r.createdAt, zone: zone)
            resolved = r.resolvedAt.map { PageTime.compact($0, zone: zone) } ?? ""
            self.changes = changes
        }

        func child(named name: String) -> Any? {
            let r = request
            switch name {
            case "title": return r.kind.title
            case "status": return r.status.capitalized
            case "isOpen": return r.isOpen
            case "isApproved": return r.status == "approved"
            case "isRejected": return r.status == "rejected"
            case "note": return r.note
            case "created": return created
            case "resolved": return resolved
            case "resolution": return r.resolutionNote ?? ""
            case "hasResolution": return !(r.resolutionNote ?? "").isEmpty
            case "isWithdrawn": return r.status == "withdrawn"
            case "withdrawUrl": return "\(settings)/requests/\(r.publicID)/withdraw"
            case "changes": return changes
            default: return nil
            }
        }
    }
}

/// `/orgs/:org/settings/production`: the Owner asks support to open Production.
struct ProductionRequestPage: ViewModel {
    let access: OrgAccess
    let form: FormState
    let details: [TextRow]

    func child(named name: String) -> Any? {
        switch name {
        case "title": "Request Production access"
        case "base": "/orgs/\(access.org.publicID)"
        case "hasProduction": access.org.hasProduction
        case "details": details
        default: form.child(named: name)
        }
    }
}

/// `/orgs/:org/settings/offboarding`: the Owner asks support to close the organization.
struct OffboardingPage: ViewModel {
    let access: OrgAccess
    let form: FormState

    func child(named name: String) -> Any? {
        switch name {
        case "title": "Close \(access.org.displayName)"
        case "base": "/orgs/\(access.org.publicID)"
        case "orgName": access.org.displayName
        default: form.child(named: name)
        }
    }
}

/// `/orgs/:org/settings/owner`: the Owner hands the organization to another member.
struct OwnerTransferPage: ViewModel {
    let access: OrgAccess
    let form: FormState
    let candidates: [Candidate]

    func child(named name: String) -> Any? {
        switch name {
        case "title": "Transfer ownership"
        case "base": "/orgs/\(access.org.publicID)"
        case "orgName": access.org.displayName
        case "candidates": candidates
        case "hasCandidates": !candidates.isEmpty
        default: form.child(named: name)
        }
    }

    struct Candidate: ViewModel {
        let row: MemberRow
        let selected: Bool

        func child(named name: String) -> Any? {
            switch name {
            case "id": row.member.publicID
            case "name": row.name
            case "email": row.email
            case "role": row.member.role.title
            case "selected": selected
            default: nil
            }
        }
    }
}

/// Fixed label/value pairs (a detail row, a change, an open request): a dictionary that
/// answers without reflection.
struct TextRow: ViewModel {
    let values: [String: String]
    init(_ values: [String: String]) { self.values = values }
    func child(named name: String) -> Any? { values[name] }
}
