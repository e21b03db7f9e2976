import Foundation
import HTTP
import Web

/// The `/v1` endpoints: reads the query or the JSON body into a ``PublicAPI`` call and the
/// result into JSON (``TransactionJSON``, ``PayoutJSON``: the same objects as the events'
/// `data`). Every POST runs through ``Idempotency``; every refusal is an ``HTTPError`` that
/// names its field.
struct PublicAPIController {
    let api: PublicAPI
    let openAPI: OpenAPIDocument

    /// The endpoints that need a credential, as `METHOD /path` with `{id}` parameters: the
    /// OpenAPI test compares them with the document.
    static let routes = [
        "GET /v1/balances", "GET /v1/transactions", "POST /v1/transactions", "GET /v1/transactions/{id}",
        "POST /v1/transactions/{id}/cancel", "GET /v1/payouts", "POST /v1/payouts", "GET /v1/payouts/{id}",
    ]

    func register(on router: inout Router) {
        router.get("/openapi.json") { [openAPI] _ in openAPI.response }
        router.group("", middleware: [RequireAPICredential()]) { v1 in
            v1.get("/balances") { req in try balances(req) }
            v1.get("/transactions") { req in try transactions(req) }
            v1.post("/transactions", bodyLimit: 64 * 1024) { req in try createTransaction(req) }
            v1.get("/transactions/:id") { req in json(try call { try api.transaction(caller(req), try req.parameters.require("id")) }.json) }
            v1.post("/transactions/:id/cancel", bodyLimit: 16 * 1024) { req in try cancel(req) }
            v1.get("/payouts") { req in try payouts(req) }
            v1.post("/payouts", bodyLimit: 16 * 1024) { req in try createPayout(req) }
            v1.get("/payouts/:id") { req in json(try call { try api.payout(caller(req), try req.parameters.require("id")) }.json) }
        }
    }

    // MARK: - reading

    /// A page of objects: `{"data": […], "has_more": …, "object": "list", "url": …}`.
    struct ListJSON<T: JSONWritable>: JSONWritable {
        let data: [T]
        let has_more: Bool
        let url: StaticString

        func write(to w: inout JSONWriter) {
            w.object { w in
                w.key("data"); w.array(data) { w, item in item.write(to: &w) }
                w.key("has_more"); w.bool(has_more)
                w.key("object"); w.string("list")
                w.key("url"); w.string(url.description)
            }
        }
    }

    struct BalanceJSON: JSONWritable {
        let account: MoneyAccountRecord

        init(_ a: MoneyAccountRecord) { account = a }

        func write(to w: inout JSONWriter) {
            let a = account
            w.object { w in
                w.key("available"); w.integer(a.available)
                w.key("available_decimal"); w.string(a.availableAmount.major)
                w.key("currency"); w.string(a.currency.code)
                w.key("currency_exponent"); w.integer(a.currency.exponent)
                w.key("environment"); w.string(a.scope.environment.rawValue)
                w.key("object"); w.string("balance")
                w.key("pending"); w.integer(a.pending)
                w.key("pending_decimal"); w.string(a.pendingAmount.major)
            }
        }
    }

    func balances(_ req: Request) throws -> HTTPResponse {
        try refuseQuery(req, allowed: [])
        let accounts = try call { try api.balances(caller(req)) }
        return json(ListJSON(data: accounts.map(BalanceJSON.init), has_more: false, url: "/v1/balances"))
    }

    func transactions(_ req: Request) throws -> HTTPResponse {
        try refuseQuery(req, allowed: ["limit", "starting_after", "external_id", "status", "type", "created[gte]", "created[lt]"])
        var f = PublicAPI.TransactionFilter()
        f.limit = try limit(req)
        f.startingAfter = try nonEmpty(req, "starting_after")
        f.externalID = try nonEmpty(req, "external_id")
        if let s = try nonEmpty(req, "status") {
            guard let status = TransactionStatus(rawValue: s) else {
                throw APIBody.invalid("status", "The status must be one of \(TransactionStatus.allCases.map(\.rawValue).joined(separator: ", ")).")
            }
            f.query.status = status
        }
        if let t = try nonEmpty(req, "type") {
            guard let type = TransactionType(rawValue: t) else {
                throw APIBody.invalid("type", "The type must be one of \(TransactionType.allCases.map(\.rawValue).joined(separator: ", ")).")
            }
            f.query.type = type
        }
        f.query.from = try time(req, "created[gte]")
        f.query.until = try time(req, "created[lt]")
        let caller = try caller(req)
        // The list's members in ListJSON's order, `data` written by the service as it reads the rows.
        var w = JSONWriter(capacity: 640 * f.limit + 128)
        try call {
            try w.object { w in
                w.key("data"); let hasMore = try api.writeTransactions(caller, f, to: &w)
                w.key("has_more"); w.bool(hasMore)
                w.key("object"); w.string("list")
                w.key("url"); w.string("/v1/transactions")
            }
        }
        return json(written: w)
    }

    func payouts(_ req: Request) throws -> HTTPResponse {
        try refuseQuery(req, allowed: ["limit", "starting_after"])
        let limit = try limit(req)
        let after = try nonEmpty(req, "starting_after")
        let page = try call { try api.payouts(caller(req), startingAfter: after, limit: limit) }
        return json(ListJSON(data: page.rows.map(PayoutJSON.init), has_more: page.hasMore, url: "/v1/payouts"),
                    capacity: 640 * page.rows.count + 128)
    }

    // MARK: - writing

    func createTransaction(_ req: Request) throws -> HTTPResponse {
        let caller = try caller(req)
        // Refused before the body is read: a read-only key learns that first, whatever it sent.
        try call { try api.require(caller, .transactions, .write) }
        return try api.idempotency.perform(req, credential: caller.credential.publicID) { db in
            let new = try newTransaction(req)
            let t = try call { try api.createTransaction(caller, new, on: db) }
            return json(TransactionJSON(t), status: .created)
        }
    }

    func cancel(_ req: Request) throws -> HTTPResponse {
        let caller = try caller(req)
        // Refused before the body is read: a read-only key learns that first, whatever it sent.
        try call { try api.require(caller, .transactions, .write) }
        let id = try req.parameters.require("id")
        return try api.idempotency.perform(req, credential: caller.credential.publicID) { db in
            var body = try APIBody(optional: req)
            let reason = try body.string("reason")
            try body.refuseUnknown()
            let (c, _) = try call { try api.cancel(caller, id, reason: reason, on: db) }
            return try json(CancellationJSON(c, transaction: id))
        }
    }

    func createPayout(_ req: Request) throws -> HTTPResponse {
        let caller = try caller(req)
        // Refused before the body is read: a read-only key learns that first, whatever it sent.
        try call { try api.require(caller, .payouts, .write) }
        return try api.idempotency.perform(req, credential: caller.credential.publicID) { db in
            var body = try APIBody(req)
            let (amount, currency) = try money(&body)
            guard var b = try body.object("beneficiary", required: true) else { throw HTTPError(.badRequest) }
            var input = Payouts.Input()
            input.beneficiaryName = try b.string("name", required: true) ?? ""
            input.country = try b.string("country", required: true) ?? ""
            input.method = try b.string("method", required: true) ?? ""
            input.account = try b.string("account", required: true) ?? ""
            try b.refuseUnknown()
            input.reference = try body.string("reference", required: true) ?? ""
            try body.refuseUnknown()
            input.amount = Amount.major(amount, currency)
            input.currency = currency.code
            let p = try call { try api.preparePayout(caller, input, on: db) }
            return json(PayoutJSON(p), status: .created)
        }
    }

    /// `amount` (a positive integer of minor units) and `currency` (a known ISO 4217 code).
    private func money(_ body: inout APIBody) throws -> (Int64, Currency) {
        guard let amount = try body.integer("amount", required: true), amount > 0, amount <= Amount.maximumMinor else {
            throw APIBody.invalid("amount", "The amount must be a positive integer of minor units (1050 for 10.50 EUR), at most \(Amount.maximumMinor).")
        }
        let code = try body.string("currency", required: true) ?? ""
        guard let currency = Currency(code: code.uppercased()) else {
            throw APIBody.invalid("currency", "Unknown currency: \(code.prefix(10)). Use one of \(Currency.all.map(\.code).joined(separator: ", ")).",
                                  code: "currency_unknown")
        }
        return (amount, currency)
    }

    private func newTransaction(_ req: Request) throws -> Transactions.NewTransaction {
        var body = try APIBody(req)
        let typeName = try body.string("type", required: true) ?? ""
        guard let type = TransactionType(rawValue: typeName), type == .payin || type == .payout else {
            throw APIBody.invalid("type", "The type must be payin or payout.")
        }
        let (minor, currency) = try money(&body)
        var new = Transactions.NewTransaction(type: type, amount: Amount(minor: minor, currency: currency))
        new.externalID = try body.string("external_id")
        new.metadata = try body.stringMap("metadata") ?? [:]
        if var r = try body.object("recipient", required: type == .payout) {
            let name = try r.string("name", required: true) ?? ""
            let country = (try r.string("country", required: true) ?? "").uppercased()
            let methodName = try r.string("method", required: true) ?? ""
            let account = try r.string("account", required: true) ?? ""
            try r.refuseUnknown()
            if name.trimmingCharacters(in: .whitespaces).isEmpty { throw APIBody.invalid("recipient.name", "Enter the recipient's name.") }
            guard api.countries.contains(country) else {
                throw APIBody.invalid("recipient.country", "The country must be an ISO 3166-1 alpha-2 code, like NG.")
            }
            guard let method = PaymentMethod(rawValue: methodName) else { throw APIBody.invalid("recipient.method", "The method must be bank or mobile.") }
            let normalized: String
            do { normalized = try BeneficiaryAccount.normalize(account, method: method) } catch {
                throw APIBody.invalid("recipient.account", error.message)
            }
            new.recipient = Party(name: name.trimmingCharacters(in: .whitespaces), country: country, method: method, account: normalized)
        }
        try body.refuseUnknown()
        return new
    }

    // MARK: - shared

    func caller(_ req: Request) throws -> PublicAPI.Caller {
        guard let c = req.apiCredential else { throw APICredentialsMiddleware.refusal }
        return PublicAPI.Caller(credential: c, ip: req.remoteAddress, userAgent: req.headers["User-Agent"] ?? "")
    }

    func json<T: Encodable>(_ value: T, status: HTTPStatus = .ok) throws -> HTTPResponse {
        var res = try HTTPResponse.json(value, status: status)
        res.headers.set("Cache-Control", "no-store")
        return res
    }

    func json(_ value: some JSONWritable, status: HTTPStatus = .ok, capacity: Int = 1024) -> HTTPResponse {
        var res = HTTPResponse.json(writing: value, status: status, capacity: capacity)
        res.headers.set("Cache-Control", "no-store")
        return res
    }

    func json(written w: JSONWriter, status: HTTPStatus = .ok) -> HTTPResponse {
        var res = HTTPResponse.json(written: w, status: status)
        res.headers.set("Cache-Control", "no-store")
        return res
    }

    private func refuseQuery(_ req: Request, allowed: Set<String>) throws {
        if let unknown = req.query.first(where: { !allowed.contains($0.name) }) {
            throw HTTPError(.badRequest, "Unknown parameter: \(unknown.name.prefix(40)). Check its spelling against the API reference.",
                            code: "parameter_unknown", param: String(unknown.name.prefix(40)))
        }
    }

    private func nonEmpty(_ req: Request, _ name: String) throws -> String? {
        guard let v = req.query[name] else { return nil }
        if v.isEmpty { throw APIBody.invalid(name, "The parameter \(name) must not be empty.") }
        return v
    }

    private func limit(_ req: Request) throws -> Int {
        guard let raw = req.query["limit"] else { return PublicAPI.defaultPageSize }
        guard let n = Int(raw), (1...PublicAPI.maximumPageSize).contains(n) else {
            throw APIBody.invalid("limit", "The limit must be an integer from 1 to \(PublicAPI.maximumPageSize).")
        }
        return n
    }

    /// A time as unix seconds.
    private func time(_ req: Request, _ name: String) throws -> Int64? {
        guard let raw = req.query[name] else { return nil }
        guard let t = Int64(raw), t >= 0, t < 253_402_300_800 else {
            throw APIBody.invalid(name, "The parameter \(name) must be a time in unix seconds, like 1767225600.")
        }
        return t
    }

    /// Runs a service call, turning its refusals into the API's errors.
    func call<T>(_ body: () throws -> T) throws -> T {
        do { return try body() } catch { throw Self.httpError(error) }
    }

    static func httpError(_ error: any Error) -> any Error {
        switch error {
        case let e as APIProblem:
            switch e {
            case .insufficientPermissions(let resource, let needed):
                return HTTPError(.forbidden, "This key may not \(needed == .write ? "change" : "read") \(resource.rawValue): the call needs \(needed.rawValue) access to \(resource.rawValue), and the key's restrictions do not give it.",
                                 code: "insufficient_permissions")
            case .insufficientScope(let scope):
                return HTTPError(.forbidden, "This access token's scopes do not include \(scope), which the call needs. Ask for it when requesting the token (the app must subscribe to a product that grants it).",
                                 code: "insufficient_scope", param: scope)
            case .sandboxOnly:
                return HTTPError(.forbidden, "Transactions can be created through the API in Sandbox only: in Production, transactions come from real payments. Use a Sandbox key.",
                                 code: "sandbox_only")
            case .notFound(let kind):
                return HTTPError(.notFound, "No such \(kind) in this key's organization and environment.", code: "resource_missing", param: "id")
            case .unknownCursor(let id):
                return HTTPError(.badRequest, "starting_after names no object of this list: \(id.prefix(40)).", code: "parameter_invalid", param: "starting_after")
            }
        case let e as TransactionProblem:
            switch e {
            case .notFound: return HTTPError(.notFound, "No such transaction in this key's organization and environment.", code: "resource_missing", param: "id")
            case .invalid(let fields): return invalid(fields, rename: [:])
            case .duplicateExternalID(let existing):
                return HTTPError(.conflict, "A transaction with this external_id already exists: \(existing).", code: "duplicate_external_id", param: "external_id")
            case .insufficientFunds(let available):
                return HTTPError(.badRequest, "The amount is more than the available balance of \(available.display).", code: "insufficient_funds", param: "amount")
            case .cannotMove(let from, _):
                return HTTPError(.conflict, "The transaction is \(from.rawValue), so it cannot change this way.", code: "transaction_final")
            }
        case let e as CancellationProblem:
            switch e {
            case .notFound: return HTTPError(.notFound, "No such transaction in this key's organization and environment.", code: "resource_missing", param: "id")
            case .invalid(let fields): return invalid(fields, rename: [:])
            case .conflict(let message): return HTTPError(.conflict, message, code: "cancellation_not_possible")
            }
        case let e as OrgProblem:
            switch e {
            case .notFound: return HTTPError(.notFound, code: "resource_missing")
            case .forbidden(let message): return HTTPError(.forbidden, message, code: "insufficient_permissions")
            case .invalid(let fields):
                return invalid(fields, rename: ["beneficiary_name": "beneficiary.name", "method": "beneficiary.method",
                                                "account": "beneficiary.account", "country": "beneficiary.country"])
            case .conflict(let message): return HTTPError(.conflict, message)
            case .throttled(let seconds): return HTTPError(.tooManyRequests, headers: ["Retry-After": String(seconds)])
            }
        default:
            return error
        }
    }

    /// The first field's problem (in name order), with the API's name for the field.
    private static func invalid(_ fields: [String: String], rename: [String: String]) -> HTTPError {
        guard let (field, message) = fields.sorted(by: { $0.key < $1.key }).first else { return HTTPError(.badRequest) }
        let param = rename[field] ?? field
        return HTTPError(.badRequest, "\(param): \(message)", code: "parameter_invalid", param: param)
    }
}

extension TransactionRecord {
    var json: TransactionJSON { TransactionJSON(self) }
}

extension PayoutRecord {
    var json: PayoutJSON { PayoutJSON(self) }
}
