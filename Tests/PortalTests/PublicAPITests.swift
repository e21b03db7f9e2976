import Foundation
import Synchronization
import Testing
import Web
@testable import Portal

/// The `/v1` API over real sockets, every response checked against the OpenAPI document.
@Suite("Public API: /v1 endpoints, idempotency, rate limits, OpenAPI")
struct PublicAPITests {
    static let payout = #"{"type":"payout","amount":2500,"currency":"EUR","external_id":"po-1","recipient":{"name":"Ada Obi","country":"GB","method":"bank","account":"GB82 WEST 1234 5698 7654 32"}}"#

    @Test func balancesAndTransactionsReadWithAKey() throws {
        let t = try APITestPortal()
        try t.portal.fund(t.org, "100.00")
        let key = t.key()
        let b = try t.call("GET", "/v1/balances", key: key)
        #expect(b.status == 200)
        #expect(b.string("object") == "list" && b.string("url") == "/v1/balances")
        #expect(b.string("data.0.object") == "balance" && b.string("data.0.currency") == "EUR")
        #expect(b.int("data.0.available") == 10000 && b.int("data.0.pending") == 0 && b.string("data.0.available_decimal") == "100.00")
        // Every response: the request id, the rate-limit headers, no caching.
        #expect(b["request-id"] != nil && b["request-id"] == b["x-request-id"])
        #expect(b["ratelimit-limit"] == "200" && b["ratelimit-remaining"] != nil && b["ratelimit-reset"] != nil)
        #expect(b["cache-control"] == "no-store")

        let list = try t.call("GET", "/v1/transactions", key: key)
        #expect(list.status == 200 && list.ids.count == 1 && list.string("data.0.object") == "transaction")
        #expect(list.string("data.0.status") == "paid" && list.int("data.0.amount") == 10000 && list.string("data.0.currency") == "EUR")
        let id = try #require(list.ids.first)
        let one = try t.call("GET", "/v1/transactions/\(id)", key: key)
        #expect(one.status == 200 && one.string("id") == id && one.string("created_at")?.hasSuffix("Z") == true)

        // No key: 401 JSON with the same request id in the body and the header.
        let anonymous = try t.call("GET", "/v1/balances", key: nil)
        #expect(anonymous.status == 401 && anonymous.errorCode == "credentials_required")
        #expect(anonymous.string("error.request_id") == anonymous["request-id"])
        #expect(anonymous["ratelimit-remaining"] != nil, "refusals carry the rate-limit headers too")
        let unknown = try t.call("GET", "/v1/balances", key: "sk_test_nobody")
        #expect(unknown.status == 401 && unknown.string("error.request_id") == unknown["request-id"])
    }

    @Test func creatingATransactionAndEveryRefusalNamesItsField() throws {
        let t = try APITestPortal()
        let key = t.key()
        let created = try t.call("POST", "/v1/transactions", key: key, body: #"{"type":"payin","amount":1050,"currency":"EUR","external_id":"order-1","metadata":{"order":"1"}}"#)
        #expect(created.status == 201)
        #expect(created.string("object") == "transaction" && created.string("status") == "pending" && created.string("type") == "payin")
        #expect(created.int("amount") == 1050 && created.string("amount_decimal") == "10.50" && created.string("external_id") == "order-1")
        #expect(created.string("metadata.order") == "1")
        let id = try #require(created.string("id"))
        #expect(try t.portal.audit(of: id) == ["transaction.created"])
        #expect(try t.portal.events(of: id) == ["transaction.created"])
        #expect(try t.portal.balance(t.org) == (0, 1050), "a pay-in is pending until paid")

        // A duplicate external id: 409 naming the existing transaction.
        let dup = try t.call("POST", "/v1/transactions", key: key, body: #"{"type":"payin","amount":5,"currency":"EUR","external_id":"order-1"}"#)
        #expect(dup.status == 409 && dup.errorCode == "duplicate_external_id" && dup.errorParam == "external_id")
        #expect(dup.string("error.message")?.contains(id) == true)

        let refusals: [(String, String, String)] = [
            (#"{"type":"payin","amount":0,"currency":"EUR"}"#, "amount", "parameter_invalid"),
            (#"{"type":"payin","amount":-5,"currency":"EUR"}"#, "amount", "parameter_invalid"),
            (#"{"type":"payin","amount":10.5,"currency":"EUR"}"#, "amount", "parameter_invalid"),
            (#"{"type":"payin","amount":"10","currency":"EUR"}"#, "amount", "parameter_invalid"),
            (#"{"type":"payin","currency":"EUR"}"#, "amount", "parameter_missing"),
            (#"{"type":"payin","amount":100,"currency":"XYZ"}"#, "currency", "currency_unknown"),
            (#"{"type":"payin","amount":100,"currency":"EUR","ammount":3}"#, "ammount", "parameter_unknown"),
            (#"{"type":"fee","amount":100,"currency":"EUR"}"#, "type", "parameter_invalid"),
            (#"{"type":"payout","amount":100,"currency":"EUR"}"#, "recipient", "parameter_missing"),
            (#"{"type":"payout","amount":100,"currency":"EUR","recipient":{"name":"A","country":"GB","method":"bank","account":"GB00 0000"}}"#, "recipient.account", "parameter_invalid"),
            (#"{"type":"payout","amount":100,"currency":"EUR","recipient":{"name":"A","country":"ZZ","method":"bank","account":"GB82 WEST 1234 5698 7654 32"}}"#, "recipient.country", "parameter_invalid"),
            (#"{"type":"payout","amount":100,"currency":"EUR","recipient":{"name":"A","country":"GB","method":"bank","account":"GB82 WEST 1234 5698 7654 32","iban":"x"}}"#, "recipient.iban", "parameter_unknown"),
            (#"{"type":"payin","amount":100,"currency":"EUR","metadata":{"a":1}}"#, "metadata.a", "parameter_invalid"),
            (#"{"type":"payin","amount":100,"currency":"EUR","external_id":"has space"}"#, "external_id", "parameter_invalid"),
        ]
        for (body, param, code) in refusals {
            let r = try t.call("POST", "/v1/transactions", key: key, body: body)
            #expect(r.status == 400 && r.errorParam == param && r.errorCode == code, "\(body) → \(r.raw.text)")
        }
        // Not JSON at all: 415 and 400, never a 500.
        #expect(try t.call("POST", "/v1/transactions", key: key, body: "type=payin", headers: ["Content-Type": "application/x-www-form-urlencoded"]).status == 415)
        #expect(try t.call("POST", "/v1/transactions", key: key, body: "[1,2]").errorCode == "invalid_json")
        #expect(try t.call("POST", "/v1/transactions", key: key, body: "{").status == 400)
        // A payout beyond the balance is refused and leaves nothing behind.
        let broke = try t.call("POST", "/v1/transactions", key: key, body: Self.payout)
        #expect(broke.status == 400 && broke.errorCode == "insufficient_funds" && broke.errorParam == "amount")
        #expect(try t.transactionCount() == 1)
    }

    @Test func productionKeysCannotCreateAndEnvironmentsNeverMix() throws {
        let t = try APITestPortal()
        let sandbox = t.key(.sandbox), production = t.key(.production)
        let refused = try t.call("POST", "/v1/transactions", key: production, body: #"{"type":"payin","amount":100,"currency":"EUR"}"#)
        #expect(refused.status == 403 && refused.errorCode == "sandbox_only" && refused.string("error.type") == "permission_error")
        #expect(try t.transactionCount() == 0)

        let s = try #require(try t.call("POST", "/v1/transactions", key: sandbox, body: #"{"type":"payin","amount":100,"currency":"EUR","external_id":"same"}"#).string("id"))
        let scope = MoneyScope(organizationID: t.orgID, environment: .production)
        let p = try t.portal.app.database.write { db in
            try t.portal.app.transactions.create(.init(type: .payin, amount: Amount(minor: 700, currency: Currency(code: "USD")!), externalID: "same"),
                                                 in: scope, by: .operator, on: db).publicID
        }
        #expect(try t.call("GET", "/v1/transactions/\(p)", key: sandbox).status == 404)
        #expect(try t.call("GET", "/v1/transactions/\(s)", key: production).status == 404)
        #expect(try t.call("GET", "/v1/transactions", key: sandbox).ids == [s])
        #expect(try t.call("GET", "/v1/transactions", key: production).ids == [p])
        #expect(try t.call("GET", "/v1/transactions?external_id=same", key: production).ids == [p])
        #expect(try t.call("GET", "/v1/balances", key: sandbox).string("data.0.currency") == "EUR")
        #expect(try t.call("GET", "/v1/balances", key: production).string("data.0.currency") == "USD")
        #expect(try t.call("POST", "/v1/transactions/\(p)/cancel", key: sandbox).status == 404)
    }

    @Test func anotherOrganizationsIdsAre404() throws {
        let t = try APITestPortal()
        let otherOrg = try MoneyBench.makeOrganization(t.portal.app.database, name: "Other")
        let theirs = t.key(org: otherOrg)
        let txn = try #require(try t.call("POST", "/v1/transactions", key: theirs, body: #"{"type":"payin","amount":100,"currency":"EUR"}"#).string("id"))
        let mine = t.key()
        let r = try t.call("GET", "/v1/transactions/\(txn)", key: mine)
        #expect(r.status == 404 && r.errorCode == "resource_missing")
        #expect(try t.call("POST", "/v1/transactions/\(txn)/cancel", key: mine).status == 404)
        #expect(try t.call("GET", "/v1/transactions?starting_after=\(txn)", key: mine).errorParam == "starting_after")
        #expect(try t.call("GET", "/v1/payouts/po_0000000000000000", key: mine).status == 404)
        #expect(try t.call("GET", "/v1/transactions/nonsense", key: mine).status == 404)
    }

    @Test func restrictionsPerResource() throws {
        let t = try APITestPortal()
        let readOnly = t.key(.sandbox, [.balances: .read, .transactions: .read, .payouts: .read])
        let r = try t.call("POST", "/v1/transactions", key: readOnly, body: #"{"type":"payin","amount":100,"currency":"EUR"}"#)
        #expect(r.status == 403 && r.errorCode == "insufficient_permissions")
        #expect(r.string("error.message")?.contains("write access to transactions") == true)
        #expect(try t.call("POST", "/v1/payouts", key: readOnly, body: "{}").errorCode == "insufficient_permissions")
        #expect(try t.call("GET", "/v1/transactions", key: readOnly).status == 200)

        let noBalances = t.key(.sandbox, [.balances: .none, .transactions: .write])
        let b = try t.call("GET", "/v1/balances", key: noBalances)
        #expect(b.status == 403 && b.string("error.message")?.contains("read access to balances") == true)
        #expect(try t.call("GET", "/v1/payouts", key: noBalances).status == 403)
        #expect(try t.call("GET", "/v1/transactions", key: noBalances).status == 200)
        #expect(try t.transactionCount() == 0)
    }

    @Test func cursorPaginationWalksEveryTransactionOnceNewestFirst() throws {
        let t = try APITestPortal()
        let scope = MoneyScope(organizationID: t.orgID, environment: .sandbox)
        var made: [String] = []
        for i in 0..<23 {
            // Some share a second: the cursor's tie-break (the id) keeps them apart.
            if i % 3 == 0 { t.portal.clock.advance(seconds: 1) }
            let txn = try t.portal.app.database.write { db in
                try t.portal.app.transactions.create(.init(type: .payin, amount: Amount(minor: Int64(100 + i), currency: Currency(code: "EUR")!),
                                                           externalID: "ext-\(i)"), in: scope, by: .operator, on: db)
            }
            if i % 2 == 1 { _ = try t.portal.app.database.write { db in try t.portal.app.transactions.move(txn, to: .failed, by: .operator, on: db) } }
            made.append(txn.publicID)
        }
        let key = t.key()
        var seen: [String] = []
        var after: String?
        var pages = 0
        repeat {
            let page = try t.call("GET", "/v1/transactions?limit=5" + (after.map { "&starting_after=\($0)" } ?? ""), key: key)
            #expect(page.status == 200)
            seen += page.ids
            after = page.ids.last
            pages += 1
            if case .bool(let more)? = page[path: "has_more"], !more { break }
        } while pages < 10
        let all = try t.call("GET", "/v1/transactions?limit=100", key: key).ids
        #expect(seen == all && Set(seen).count == seen.count, "each once, in the same order as one big page")
        #expect(seen.count == all.count && pages == (all.count + 4) / 5)
        #expect(all.first == made.last, "newest first")

        #expect(try t.call("GET", "/v1/transactions?status=failed&limit=100", key: key).ids.count == all.count - 12)
        #expect(try t.call("GET", "/v1/transactions?type=payin&limit=100", key: key).ids == all)
        #expect(try t.call("GET", "/v1/transactions?type=refund", key: key).ids.isEmpty)
        #expect(try t.call("GET", "/v1/transactions?external_id=ext-4", key: key).ids == [made[4]])
        #expect(try t.call("GET", "/v1/transactions?external_id=ext-4&status=failed", key: key).ids.isEmpty)
        let now = t.portal.clock.now
        #expect(try t.call("GET", "/v1/transactions?created%5Bgte%5D=\(now + 1)", key: key).ids.isEmpty)
        #expect(try t.call("GET", "/v1/transactions?created%5Blt%5D=\(now + 1)&limit=100", key: key).ids == all)
        for bad in ["limit=0", "limit=101", "limit=ten", "status=done", "type=gift", "created%5Bgte%5D=yesterday", "colour=red", "starting_after=txn_nope"] {
            let r = try t.call("GET", "/v1/transactions?\(bad)", key: key)
            #expect(r.status == 400 && r.errorParam != nil, "\(bad)")
        }
    }

    @Test func idempotentRetriesReplayAndADifferentBodyConflicts() throws {
        let t = try APITestPortal()
        let key = t.key()
        let body = #"{"type":"payin","amount":300,"currency":"EUR"}"#
        let first = try t.call("POST", "/v1/transactions", key: key, body: body, headers: ["Idempotency-Key": "k-1"])
        #expect(first.status == 201 && first["idempotent-replayed"] == nil)
        let again = try t.call("POST", "/v1/transactions", key: key, body: body, headers: ["Idempotency-Key": "k-1"])
        #expect(again.status == 201 && again["idempotent-replayed"] == "true" && again.raw.body == first.raw.body)
        #expect(try t.transactionCount() == 1)
        let other = try t.call("POST", "/v1/transactions", key: key, body: #"{"type":"payin","amount":301,"currency":"EUR"}"#, headers: ["Idempotency-Key": "k-1"])
        #expect(other.status == 409 && other.errorCode == "idempotency_key_reused")
        // Keys are per credential: another key's k-1 is its own.
        #expect(try t.call("POST", "/v1/transactions", key: t.key(), body: body, headers: ["Idempotency-Key": "k-1"])["idempotent-replayed"] == nil)
        #expect(try t.transactionCount() == 2)
        // A refusal is replayed too, with the first request's id.
        let refused = try t.call("POST", "/v1/transactions", key: key, body: #"{"type":"payin","amount":0,"currency":"EUR"}"#, headers: ["Idempotency-Key": "k-2"])
        let refusedAgain = try t.call("POST", "/v1/transactions", key: key, body: #"{"type":"payin","amount":0,"currency":"EUR"}"#, headers: ["Idempotency-Key": "k-2"])
        #expect(refused.status == 400 && refusedAgain.status == 400 && refusedAgain.raw.body == refused.raw.body && refusedAgain["idempotent-replayed"] == "true")
        #expect(try t.call("POST", "/v1/transactions", key: key, body: body, headers: ["Idempotency-Key": String(repeating: "x", count: 256)]).errorParam == "Idempotency-Key")
        // After 24 hours the key is forgotten (the prune job runs then) and a retry runs afresh.
        t.portal.clock.advance(seconds: 24 * 3600 + 1)
        #expect(try t.portal.runJobs { try t.portal.app.database.read { try $0.scalar("SELECT count(*) FROM api_idempotency_keys", as: Int.self) } == 0 })
        #expect(try t.call("POST", "/v1/transactions", key: key, body: body, headers: ["Idempotency-Key": "k-1"])["idempotent-replayed"] == nil)
    }

    @Test func concurrentDuplicatesRunOnce() throws {
        let t = try APITestPortal()
        let key = t.key()
        let results = Mutex<[TestResponse]>([])
        let portal = t.portal
        let threads = (0..<8).map { _ in
            Thread {
                if let r = try? portal.request("POST", "/v1/transactions", headers: ["Authorization": "Bearer \(key)", "Content-Type": "application/json",
                                                                                      "Idempotency-Key": "same-moment"],
                                                 body: #"{"type":"payin","amount":999,"currency":"EUR"}"#) {
                    results.withLock { $0.append(r) }
                }
            }
        }
        threads.forEach { $0.start() }
        for _ in 0..<200 where results.withLock({ $0.count }) < 8 { Thread.sleep(forTimeInterval: 0.05) }
        let all = results.withLock { $0 }
        #expect(all.count == 8 && all.allSatisfy { $0.status == 201 })
        #expect(Set(all.map(\.body)).count == 1, "every caller got the first response")
        #expect(all.filter { $0["idempotent-replayed"] == nil }.count == 1)
        #expect(try t.transactionCount() == 1)
    }

    @Test func rateLimitHeadersAndA429() throws {
        let t = try APITestPortal { $0.apiRequestsPerSecond = 0.01; $0.apiBurst = 3 }
        let key = t.key()
        let remaining = try (0..<3).map { _ in try t.call("GET", "/v1/balances", key: key)["ratelimit-remaining"] }
        #expect(remaining == ["2", "1", "0"])
        let limited = try t.call("GET", "/v1/balances", key: key)
        #expect(limited.status == 429 && limited.errorCode == "rate_limited" && limited.string("error.type") == "rate_limit_error")
        #expect(limited["retry-after"].flatMap(Int.init).map { $0 >= 1 } == true)
        #expect(limited["ratelimit-limit"] == "3" && limited["ratelimit-remaining"] == "0" && limited["request-id"] != nil)
        // Another key has its own bucket.
        #expect(try t.call("GET", "/v1/balances", key: t.key()).status == 200)
    }

    @Test func cancellingInSandboxAtOnceAndInProductionThroughSupport() throws {
        let t = try APITestPortal()
        let key = t.key()
        let id = try #require(try t.call("POST", "/v1/transactions", key: key, body: #"{"type":"payin","amount":400,"currency":"EUR"}"#).string("id"))
        let c = try t.call("POST", "/v1/transactions/\(id)/cancel", key: key, body: #"{"reason":"Customer changed their mind"}"#)
        #expect(c.status == 200 && c.string("object") == "cancellation" && c.string("status") == "applied" && c.string("transaction") == id)
        #expect(try t.call("GET", "/v1/transactions/\(id)", key: key).string("status") == "cancelled")
        #expect(try t.portal.balance(t.org) == (0, 0))
        let again = try t.call("POST", "/v1/transactions/\(id)/cancel", key: key)
        #expect(again.status == 409)

        let scope = MoneyScope(organizationID: t.orgID, environment: .production)
        let p = try t.portal.app.database.write { db in
            try t.portal.app.transactions.create(.init(type: .payin, amount: Amount(minor: 700, currency: Currency(code: "EUR")!)), in: scope, by: .operator, on: db).publicID
        }
        let prod = t.key(.production, createdBy: try t.ownerID)
        let requested = try t.call("POST", "/v1/transactions/\(p)/cancel", key: prod)
        #expect(requested.status == 200 && requested.string("status") == "requested")
        #expect(try t.call("GET", "/v1/transactions/\(p)", key: prod).string("status") == "pending", "support decides in Production")
        let filed = try t.portal.app.database.read { try $0.scalar("SELECT email FROM support_requests WHERE kind = 'transaction_cancellation'", as: String.self) }
        #expect(filed == t.owner.email)
    }

    @Test func payoutsThroughTheAPIStillNeedAPersonWithTheirAuthenticator() throws {
        let t = try APITestPortal()
        try t.portal.fund(t.org, "100.00")
        let (manager, mb) = try t.portal.member(of: t.org, role: .manager)
        // The Owner's key prepares the payout: the Owner is its creator.
        let key = t.key(createdBy: try t.ownerID)
        let body = #"{"amount":2500,"currency":"EUR","reference":"INV-7","beneficiary":{"name":"Ada Obi","country":"GB","method":"bank","account":"GB82 WEST 1234 5698 7654 32"}}"#
        let created = try t.call("POST", "/v1/payouts", key: key, body: body)
        #expect(created.status == 201 && created.string("object") == "payout" && created.string("status") == "pending_authorization")
        #expect(created.string("beneficiary.account_last4") == "5432" && !created.raw.text.contains("GB82WEST"))
        let id = try #require(created.string("id"))
        #expect(try t.portal.balance(t.org) == (7500, 2500), "held at once")
        #expect(try t.portal.events(of: id) == ["payout.created"])
        #expect(try t.call("GET", "/v1/payouts", key: key).ids == [id])
        #expect(try t.call("GET", "/v1/payouts/\(id)", key: key).string("status") == "pending_authorization")
        // There is no way to authorize through the API.
        #expect(try t.portal.request("POST", "/v1/payouts/\(id)/authorize", headers: ["Authorization": "Bearer \(key)"]).status == 404)
        #expect(try t.portal.lastMail(to: manager.email)?.subject.contains("waits for your authorization") == true)

        // The Owner made the key, so the Owner cannot authorize what it prepared.
        let base = "/orgs/\(t.org)/sandbox/payouts/\(id)"
        let ownerPage = try t.ownerBrowser.get(base)
        t.portal.clock.advance(seconds: 30)
        #expect(try t.ownerBrowser.post("\(base)/authorize", [("code", t.owner.code(t.portal))], csrfFrom: ownerPage).status == 403)
        // The Manager can, with their authenticator code.
        let page = try mb.get(base)
        #expect(page.text.contains("name=\"code\""))
        #expect(try mb.post("\(base)/authorize", [("code", manager.code(t.portal))], csrfFrom: page).status == 303)
        #expect(try t.call("GET", "/v1/payouts/\(id)", key: key).string("status") == "authorized")

        // Refusals name their field; beyond the balance is the amount's.
        let cases: [(String, String)] = [
            (#"{"amount":2500,"currency":"EUR","reference":"R","beneficiary":{"name":"A","country":"GB","method":"mobile","account":"12"}}"#, "beneficiary.account"),
            (#"{"amount":2500,"currency":"EUR","beneficiary":{"name":"A","country":"GB","method":"bank","account":"GB82 WEST 1234 5698 7654 32"}}"#, "reference"),
            (#"{"amount":999999,"currency":"EUR","reference":"R","beneficiary":{"name":"A","country":"GB","method":"bank","account":"GB82 WEST 1234 5698 7654 32"}}"#, "amount"),
            (#"{"amount":1,"currency":"EUR","reference":"R","authorize":true,"beneficiary":{"name":"A","country":"GB","method":"bank","account":"GB82 WEST 1234 5698 7654 32"}}"#, "authorize"),
        ]
        for (b, param) in cases {
            let r = try t.call("POST", "/v1/payouts", key: key, body: b)
            #expect(r.status == 400 && r.errorParam == param, "\(b) → \(r.raw.text)")
        }
    }

    /// The same calls with real API keys (made as `seed-demo --api-key` makes them, and a
    /// restricted one through the keys' service): the endpoints see only the credential.
    @Test func realAPIKeysOpenTheAPIAndTheirRestrictionsHold() throws {
        let t = try APITestPortal()
        try t.portal.fund(t.org, "50.00")
        let secret = try t.portal.app.seeding.write { try $0.createSandboxAPIKey(organizationPublicID: t.org) }
        #expect(secret.hasPrefix("sk_sandbox_"))
        #expect(try t.call("GET", "/v1/balances", key: secret).int("data.0.available") == 5000)
        let made = try t.call("POST", "/v1/transactions", key: secret, body: #"{"type":"payin","amount":100,"currency":"EUR"}"#)
        #expect(made.status == 201)
        let actor = try t.portal.app.database.read { try $0.scalar("SELECT user_agent FROM audit_events WHERE subject = ?", made.string("id")!, as: String.self) }
        #expect(actor?.hasPrefix("API key ") == true, "the audit log names the key, not a person")
        let logs = try t.ownerBrowser.get("/orgs/\(t.org)/logs")
        #expect(logs.text.contains("API key sk_sandbox_"), "the Logs page shows which key made the change")
        #expect(!logs.text.contains(secret))
        // A payout prepared with the Owner's key is the Owner's: they cannot authorize it.
        let po = try t.call("POST", "/v1/payouts", key: secret,
                            body: #"{"amount":100,"currency":"EUR","reference":"R-1","beneficiary":{"name":"Ada","country":"KE","method":"mobile","account":"+254712345678"}}"#)
        #expect(po.status == 201)
        let creator = try t.portal.app.database.read { try $0.scalar("SELECT created_by FROM payouts WHERE public_id = ?", po.string("id")!, as: Int64.self) }
        #expect(creator == (try t.ownerID))

        let restricted = try t.portal.app.database.write { db -> String in
            let user = try #require(try t.portal.app.accounts.user(id: try t.ownerID, on: db))
            return try t.portal.app.apiKeys.insert(organizationID: t.orgID, environment: .sandbox, name: "Read transactions",
                                                   restrictions: APIKeyRestrictions(levels: [.transactions: .read]), user: user,
                                                   actor: Actor(userID: user.id, ip: "", userAgent: "test"), on: db).secret.text
        }
        #expect(try t.call("GET", "/v1/transactions", key: restricted).status == 200)
        #expect(try t.call("GET", "/v1/balances", key: restricted).errorCode == "insufficient_permissions")
        #expect(try t.call("POST", "/v1/transactions", key: restricted, body: "{}").errorCode == "insufficient_permissions")
    }

    /// Found by Schemathesis: a method the HTTP layer does not know (`QUERY`) was a 501 whose
    /// JSON said "something went wrong on our side". For a resource that exists it is a 405
    /// naming the methods it has; elsewhere a 404; pages the same.
    @Test func anUnknownMethodIsTheClientsMistakeNotAServerError() throws {
        let t = try APITestPortal()
        let r = try t.portal.raw("QUERY /v1/balances HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        #expect(r.status == 405 && r["allow"] == "GET, HEAD" && r["content-type"] == "application/json")
        #expect(r.text.contains("\"method_not_allowed\""))
        #expect(try t.portal.raw("BREW /v1/nowhere HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").status == 404)
        let page = try t.portal.raw("QUERY /login HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        #expect(page.status == 405 && page["content-type"] == "text/html; charset=utf-8")
    }

    /// The reference page is made from the same document: every operation, its fields and a
    /// curl example with the environment's key prefix, never a key.
    @Test func theReferencePageIsRenderedFromTheDocument() throws {
        let t = try APITestPortal()
        let secret = try t.portal.app.seeding.write { try $0.createSandboxAPIKey(organizationPublicID: t.org) }
        let (_, developer) = try t.portal.member(of: t.org, role: .developer)
        let page = try developer.get("/orgs/\(t.org)/sandbox/api-reference")
        #expect(page.status == 200)
        for route in APITestPortal.document.routes {
            let parts = route.split(separator: " ")
            #expect(page.text.contains("<code>\(parts[0]) \(parts[1])</code>"), "\(route) is on the page")
        }
        #expect(page.text.contains("Authorization: Bearer sk_sandbox_…"))
        #expect(page.text.contains("<code>external_id</code>") && page.text.contains("<code>beneficiary.account</code>"))
        #expect(page.text.contains("<caption>Parameters</caption>") && page.text.contains("<caption>Body (JSON)</caption>"))
        #expect(page.text.contains("no key can ever authorize a payout"))
        #expect(!page.text.contains(secret) && !page.text.contains(String(secret.prefix(16))), "never a secret")
        #expect(page.text.contains("href=\"/orgs/\(t.org)/sandbox/api-reference\""), "in the organization's menu")
        let outsider = try Browser(t.portal).get("/orgs/\(t.org)/sandbox/api-reference")
        #expect(outsider.status != 200)
        let docs = try t.portal.request("GET", "/docs/api")
        #expect(docs.status == 200 && docs.text.contains("POST /v1/payouts") && docs.text.contains("sk_sandbox_…"))
    }

    @Test func theOpenAPIDocumentDescribesExactlyTheRoutes() throws {
        let t = try APITestPortal()
        let served = try t.call("GET", "/v1/openapi.json", key: nil)
        #expect(served.status == 200 && served.string("openapi") == "3.1.0")
        #expect(served.raw.body == Array(try Data(contentsOf: URL(fileURLWithPath: repoRoot + "/Public/openapi.json"))))
        // Every /v1 route the router holds is in the document, and every operation is routed.
        let routed = Set(t.portal.app.web.router.routeList.filter { $0.split(separator: " ")[1].hasPrefix("/v1/") })
        #expect(routed == APITestPortal.document.routes)
        #expect(Set(PublicAPIController.routes).isSubset(of: routed))
        // The currencies it lists are the ones the server accepts.
        for schema in ["NewTransaction", "NewPayout"] {
            guard case .array(let codes)? = APITestPortal.document.root.at("components.schemas.\(schema).properties.currency.enum") else {
                Issue.record("no currency enum in \(schema)"); continue
            }
            #expect(codes.compactMap { if case .string(let c) = $0 { return c }; return nil } == Currency.all.map(\.code))
        }
    }
}

/// The token bucket by itself, on instants the test chooses (no waiting, no timing).
@Suite("Rate limiter: token buckets per key")
struct RateLimiterTests {
    @Test func aBucketEmptiesRefillsAndKeepsKeysApart() {
        let limiter = RateLimiter(policy: .init(rate: 2, burst: 3))
        let t0 = ContinuousClock.now
        let first = (0..<3).map { _ in limiter.take("a", now: t0) }
        #expect(first.map(\.allowed) == [true, true, true] && first.map(\.remaining) == [2, 1, 0])
        let refused = limiter.take("a", now: t0)
        #expect(!refused.allowed && refused.retryAfter == 1 && refused.limit == 3 && refused.reset == 2)
        #expect(limiter.take("b", now: t0).allowed, "another key has its own bucket")
        // Half a second at 2 a second gives one token back; never more than the burst.
        #expect(limiter.take("a", now: t0 + .milliseconds(500)).allowed)
        #expect(!limiter.take("a", now: t0 + .milliseconds(500)).allowed)
        #expect(limiter.take("a", now: t0 + .seconds(60)).remaining == 2)
    }
}
