/// The catalogue of API products an app subscribes to, and the `/v1` scopes each grants. An
/// OAuth client may ask only for scopes its app's subscriptions grant.
///
/// | product | grants | notes |
/// |---|---|---|
/// | Balances | `balances:read` | the balance of each account |
/// | Transactions | `transactions:read`, `transactions:write` | list and read transactions, request cancellations |
/// | Payouts | `payouts:read`, `payouts:write` | list payouts, create them (authorization stays with people) |
/// | Account Information (PSD2) | `balances:read`, `transactions:read` | regulated: needs an approved PSD2 licence |
/// | Payment Initiation (PSD2) | `payouts:read`, `payouts:write` | regulated: needs an approved PSD2 licence |
struct AppProduct: Sendable, Equatable {
    let id: String
    let title: String
    let description: String
    let scopes: [String]
    /// Needs the organization's approved PSD2 licence.
    let regulated: Bool

    static let catalogue: [AppProduct] = [
        AppProduct(id: "balances", title: "Balances", description: "Read the balance of each of your accounts.",
                   scopes: ["balances:read"], regulated: false),
        AppProduct(id: "transactions", title: "Transactions",
                   description: "List and read transactions, and request the cancellation of one.",
                   scopes: ["transactions:read", "transactions:write"], regulated: false),
        AppProduct(id: "payouts", title: "Payouts", description: "List payouts and create new ones; people still authorize them.",
                   scopes: ["payouts:read", "payouts:write"], regulated: false),
        AppProduct(id: "psd2_ais", title: "Account Information (PSD2)",
                   description: "Account information for a licensed third party: balances and transactions of accounts whose owner consented.",
                   scopes: ["balances:read", "transactions:read"], regulated: true),
        AppProduct(id: "psd2_pis", title: "Payment Initiation (PSD2)",
                   description: "Payment initiation for a licensed third party: start payments the account owner consented to.",
                   scopes: ["payouts:read", "payouts:write"], regulated: true),
    ]

    static func named(_ id: String) -> AppProduct? { catalogue.first { $0.id == id } }

    /// Every scope the products grant, sorted and without repeats.
    static func scopes(of products: [String]) -> [String] {
        Array(Set(products.compactMap(named).flatMap(\.scopes))).sorted()
    }
}
