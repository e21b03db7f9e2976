import Web

// The view models of the payout pages, filled by ``PayoutsController``.

/// A payout as a row of the list or the head of its page.
struct PayoutItem: ViewModel {
    init(payout: PayoutRecord, url: String, zone: String, now: Int64, countries: Countries) {
        self.payout = payout
        self.url = url
        self.zone = zone
        self.now = now
        countryName = countries.name(payout.beneficiaryCountry).map { "\($0) (\(payout.beneficiaryCountry))" } ?? payout.beneficiaryCountry
    }

    let payout: PayoutRecord
    let url: String
    let zone: String
    let now: Int64
    /// "United Kingdom (GB)", or the code alone if the list does not know it.
    let countryName: String

    /// A waiting payout past its 7 days reads "Expired" even before the expiry job has run.
    var statusTitle: String { payout.status == .pendingAuthorization && payout.expiresAt <= now ? PayoutStatus.expired.title : payout.status.title }
    var statusClass: String {
        switch payout.status {
        case .pendingAuthorization: payout.expiresAt <= now ? "rejected" : "open"
        case .authorized: "approved"
        case .rejected, .expired: "rejected"
        }
    }

    func child(named name: String) -> Any? {
        let p = payout
        switch name {
        case "id": return p.publicID
        case "url": return url
        case "amount": return p.amount.display
        case "beneficiary": return p.beneficiaryName
        case "country": return countryName
        case "method": return p.method.title
        case "account": return p.maskedAccount
        case "reference": return p.reference
        case "status": return statusTitle
        case "statusClass": return statusClass
        case "isWaiting": return p.isDecidable(now: now)
        case "createdBy": return p.createdByName
        case "created": return PageTime.full(p.createdAt, zone: zone)
        case "expires": return PageTime.full(p.expiresAt, zone: zone)
        case "decidedBy": return p.decidedByName ?? ""
        case "decided": return p.decidedAt.map { PageTime.full($0, zone: zone) } ?? ""
        case "hasDecision": return p.decidedAt != nil
        case "hasDecider": return p.decidedByName != nil
        case "rejectReason": return p.rejectReason ?? ""
        case "isRejected": return p.status == .rejected
        case "isExpired": return p.status == .expired
        case "isAuthorized": return p.status == .authorized
        default: return nil
        }
    }
}

/// `/orgs/:org/:env/payouts`: waiting payouts first, then the decided ones, 25 a page.
struct PayoutsListPage: ViewModel {
    let env: EnvAccess
    let page: Payouts.Page
    let mayCreate: Bool
    let items: [PayoutItem]

    init(env: EnvAccess, page: Payouts.Page, mayCreate: Bool, now: Int64, countries: Countries) {
        self.env = env
        self.page = page
        self.mayCreate = mayCreate
        let base = PayoutsController.base(env)
        items = page.payouts.map { PayoutItem(payout: $0, url: "\(base)/\($0.publicID)", zone: env.user.timeZone, now: now, countries: countries) }
    }

    func child(named name: String) -> Any? {
        let base = PayoutsController.base(env)
        switch name {
        case "title": return "Payouts · \(env.environment.title) · \(env.org.displayName)"
        case "environment": return env.environment.title
        case "isProduction": return env.isProduction
        case "orgName": return env.org.displayName
        case "newURL": return "\(base)/new"
        case "mayCreate": return mayCreate
        case "payouts": return items
        case "hasPayouts": return !items.isEmpty
        // A page number past the end (an old link): not "no payouts yet".
        case "isPastEnd": return items.isEmpty && page.total > 0
        case "firstURL": return base
        case "total": return String(page.total)
        case "isPaged": return page.page > 1 || page.hasNext
        case "hasPrevious": return page.page > 1
        case "previousURL": return page.page == 2 ? base : "\(base)?page=\(page.page - 1)"
        case "hasNext": return page.hasNext
        case "nextURL": return "\(base)?page=\(page.page + 1)"
        case "pageNumber": return String(page.page)
        default: return nil
        }
    }
}

/// `/orgs/:org/:env/payouts/new`: the form, with each account's balances beside it.
struct NewPayoutPage: ViewModel {
    let env: EnvAccess
    let balances: [MoneyAccountRecord]
    let form: FormState
    let countries: [Countries.Country]
    let noOtherAuthorizer: Bool

    func child(named name: String) -> Any? {
        let chosenCountry = form.values["country"] ?? ""
        let chosenCurrency = form.values["currency"] ?? ""
        switch name {
        case "title": return "New payout · \(env.environment.title) · \(env.org.displayName)"
        case "environment": return env.environment.title
        case "isProduction": return env.isProduction
        case "orgName": return env.org.displayName
        case "listURL": return PayoutsController.base(env)
        case "action": return "\(PayoutsController.base(env))/new"
        case "balances": return balances.map { ["currency": $0.currency.code, "name": $0.currency.name,
                                                "available": $0.availableAmount.display, "pending": $0.pendingAmount.display] }
        case "hasBalances": return !balances.isEmpty
        case "noOtherAuthorizer": return noOtherAuthorizer
        case "isBank": return (form.values["method"] ?? "bank") != "mobile"
        case "isMobile": return form.values["method"] == "mobile"
        case "countries": return countries.map { ["code": $0.code, "name": $0.name, "selected": $0.code == chosenCountry] }
        case "currencies": return Currency.all.map { c in
            ["code": c.code, "name": c.name, "selected": c.code == chosenCurrency,
             "available": balances.first { $0.currency == c }?.availableAmount.display ?? ""] }
        default: return form.child(named: name)
        }
    }
}

/// `/orgs/:org/:env/payouts/:payout`: the payout, who prepared and decided it, its transaction,
/// and for an authorizer the authorize and reject forms (or why they cannot use them).
struct PayoutPage: ViewModel {
    let env: EnvAccess
    let detail: Payouts.Detail
    let mayDecide: Bool
    let item: PayoutItem
    let form: FormState
    /// Set on the confirmation step of a rejection: the reason to confirm.
    let reviewReason: String?

    init(env: EnvAccess, detail: Payouts.Detail, mayDecide: Bool, now: Int64, form: FormState, reviewReason: String?, countries: Countries) {
        self.env = env
        self.detail = detail
        self.mayDecide = mayDecide
        self.form = form
        self.reviewReason = reviewReason
        let base = PayoutsController.base(env)
        item = PayoutItem(payout: detail.payout, url: "\(base)/\(detail.payout.publicID)", zone: env.user.timeZone, now: now, countries: countries)
    }

    func child(named name: String) -> Any? {
        let p = detail.payout
        let base = PayoutsController.base(env)
        let waiting = p.isDecidable(now: item.now)
        let isCreator = p.createdBy == env.user.id
        switch name {
        case "title": return "Payout \(p.amount.display) · \(env.environment.title) · \(env.org.displayName)"
        case "environment": return env.environment.title
        case "isProduction": return env.isProduction
        case "orgName": return env.org.displayName
        case "listURL": return base
        case "payout": return item
        case "authorizeURL": return "\(base)/\(p.publicID)/authorize"
        case "rejectURL": return "\(base)/\(p.publicID)/reject"
        // The forms: for a member who may decide, on a waiting payout they did not prepare.
        case "canDecide": return waiting && mayDecide && !isCreator
        case "isOwnPayout": return waiting && isCreator
        case "isWaiting": return waiting
        case "isReview": return reviewReason != nil
        case "reviewReason": return reviewReason ?? ""
        // The four-eyes rule cannot be met when nobody else may authorize: say so.
        case "noOtherAuthorizer": return waiting && detail.otherAuthorizers == 0
        case "hasTransaction": return detail.transaction != nil
        case "transactionID": return detail.transaction?.publicID ?? ""
        case "transactionStatus": return detail.transaction?.status.title ?? ""
        case "transactionURL": return detail.transaction.map { "/orgs/\(env.org.publicID)/\(env.environment.rawValue)/transactions/\($0.publicID)" } ?? ""
        default: return form.child(named: name)
        }
    }
}
