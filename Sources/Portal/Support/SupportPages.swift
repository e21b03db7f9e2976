import Web

// The view models of the support back-office pages, filled by ``SupportController``.

/// `/support`: a page of the queue with its filters.
struct SupportQueuePage: ViewModel {
    let filter: SupportFilter
    let page: Support.QueuePage
    let rows: [Item]
    let kinds: [Choice]
    let statuses: [Choice]

    init(filter: SupportFilter, page: Support.QueuePage, zone: String) {
        self.filter = filter
        self.page = page
        rows = page.rows.map { Item(row: $0, zone: zone) }
        kinds = [Choice(value: "", label: "All types", selected: filter.kind == nil)]
            + SupportRequestRecord.Kind.allCases.map { k in
                let open = page.openCounts[k.rawValue] ?? 0
                return Choice(value: k.rawValue, label: open > 0 ? "\(k.title) (\(open) open)" : k.title, selected: filter.kind == k)
            }
        statuses = SupportFilter.Status.allCases.map { Choice(value: $0.rawValue, label: $0.title, selected: filter.status == $0) }
    }

    var filtered: Bool { filter.status != .open || filter.kind != nil }

    func link(page p: Int) -> String {
        var q = ["status=\(filter.status.rawValue)"]
        if let k = filter.kind { q.append("kind=\(k.rawValue)") }
        if p > 1 { q.append("page=\(p)") }
        return "/support?" + q.joined(separator: "&")
    }

    func child(named name: String) -> Any? {
        switch name {
        case "title": "Support queue"
        case "rows": rows
        case "isEmpty": rows.isEmpty
        case "totalOpen": page.openCounts.values.reduce(0, +)
        case "statuses": statuses
        case "kinds": kinds
        case "filtered": filtered
        case "emptyMessage": filter.page > 1 ? "No more requests on this page." :
            filtered ? "No requests match these filters." : "No open requests. Everything is decided."
        case "page": filter.page
        case "hasPrev": filter.page > 1
        case "hasNext": page.hasNext
        case "prevUrl": link(page: filter.page - 1)
        case "nextUrl": link(page: filter.page + 1)
        case "hasPager": filter.page > 1 || page.hasNext
        default: nil
        }
    }

    /// A row of the queue. Dates are compact, with the full time in a title.
    struct Item: ViewModel {
        let row: SupportQueueRow
        let created: String
        let resolved: String?

        init(row: SupportQueueRow, zone: String) {
            self.row = row
            created = PageTime.compact(row.request.createdAt, zone: zone)
            resolved = row.request.resolvedAt.map { PageTime.compact($0, zone: zone) }
        }

        func child(named name: String) -> Any? {
            let r = row.request
            switch name {
            case "url": return "/support/requests/\(r.publicID)"
            case "id": return r.publicID
            case "kind": return r.kind.title
            case "org": return row.organizationName ?? ""
            case "hasOrg": return row.organizationName != nil
            case "orgId": return row.organizationPublicID ?? ""
            case "requester": return r.email
            case "created": return created
            case "status": return r.status.capitalized
            case "statusClass": return r.status
            case "resolved": return resolved ?? ""
            case "hasResolved": return resolved != nil
            default: return nil
            }
        }
    }
}

/// `/support/requests/:id`: one request, what approving it changes, who asked, and the
/// organization's (or account's) recent history, with the decision form.
struct SupportReviewPage: ViewModel {
    let review: SupportReview
    let zone: String
    let form: FormState
    let details: [TextRow]
    let history: [HistoryItem]

    init(review: SupportReview, zone: String, form: FormState, details: [[String: String]]) {
        self.review = review
        self.zone = zone
        self.form = form
        self.details = details.map(TextRow.init)
        self.history = review.history.map { HistoryItem(event: $0, zone: zone) }
    }

    func child(named name: String) -> Any? {
        let r = review.request
        switch name {
        case "title": return "\(r.kind.title) · Support"
        case "id": return r.publicID
        case "kind": return r.kind.title
        case "status": return r.status.capitalized
        case "statusClass": return r.status
        case "isOpen": return r.isOpen
        case "created": return PageTime.full(r.createdAt, zone: zone)
        case "note": return r.note
        case "requesterName": return review.requester?.name ?? "—"
        case "requesterEmail": return review.requester?.email ?? r.email
        case "requesterGone": return review.requester == nil
        case "changes": return review.changes.map(Change.init)
        case "consequences": return review.consequences
        case "hasConsequences": return !review.consequences.isEmpty
        case "decidedBy": return review.decidedBy ?? ""
        case "resolved": return r.resolvedAt.map { PageTime.full($0, zone: zone) } ?? ""
        case "resolution": return r.resolutionNote ?? ""
        case "hasResolution": return !(r.resolutionNote ?? "").isEmpty
        case "canDecide": return r.isOpen && !review.isOwnRequest
        case "isOwnRequest": return r.isOpen && review.isOwnRequest
        case "canApprove": return review.approvalBlocked == nil
        case "approvalBlocked": return review.approvalBlocked ?? ""
        case "reason": return form.values["reason"] ?? ""
        case "approveUrl": return "/support/requests/\(r.publicID)/approve"
        case "rejectUrl": return "/support/requests/\(r.publicID)/reject"
        case "history": return history
        case "hasHistory": return !history.isEmpty
        case "historyLimit": return Support.historyLimit
        case "historyTitle": return review.organization != nil ? "Organization's audit history" : "Account's recent activity"
        case "account": return r.kind == .mfaReset ? review.requester.map { Account(user: $0, zone: zone) } : nil
        default: break
        }
        if let org = review.organization {
            switch name {
            case "hasOrg": return true
            case "orgName": return org.displayName
            case "orgId": return org.publicID
            case "orgStatus": return org.isActive ? "Active" : "Closed"
            case "orgClosed": return !org.isActive
            case "orgClosedAt": return org.closedAt.map { PageTime.full($0, zone: zone) } ?? ""
            case "orgCreated": return PageTime.full(org.createdAt, zone: zone)
            case "production": return org.productionEnabledAt.map { "Enabled since \(PageTime.full($0, zone: zone))" } ?? "Not enabled"
            case "details": return details
            default: break
            }
        }
        return form.child(named: name)
    }

    struct Change: ViewModel {
        let change: SupportChange
        init(_ change: SupportChange) { self.change = change }
        func child(named name: String) -> Any? {
            switch name {
            case "label": change.label
            case "before": change.before
            case "after": change.after
            case "same": change.before == change.after
            default: nil
            }
        }
    }

    /// An event of the history table: the day, with the full time in a title.
    struct HistoryItem: ViewModel {
        let event: SupportHistoryEvent
        let at: String
        init(event: SupportHistoryEvent, zone: String) {
            self.event = event
            at = PageTime.compact(event.at, zone: zone)
        }
        func child(named name: String) -> Any? {
            switch name {
            case "at": at
            case "actor": event.actorEmail ?? "Portal (command line or system)"
            // What happened in words; the stable identifier beside it, small, for staff who search logs.
            case "what": AuditActions.all.title(event.action)
            case "action": event.action
            case "environment": event.environment
            case "hasEnvironment": !event.environment.isEmpty
            case "subject": event.subject
            case "details": event.details
            default: nil
            }
        }
    }

    /// The requester's account, for a request to remove two-factor authentication.
    struct Account: ViewModel {
        let user: UserRecord
        let zone: String
        func child(named name: String) -> Any? {
            switch name {
            case "created": PageTime.full(user.createdAt, zone: zone)
            case "verified": user.isVerified
            case "hasTOTP": user.hasTOTP
            case "totpSince": user.totpEnabledAt.map { PageTime.full($0, zone: zone) } ?? ""
            case "phone": user.phone
            case "hasPhone": !user.phone.isEmpty
            case "isStaff": user.isStaff
            default: nil
            }
        }
    }
}
