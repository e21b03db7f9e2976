import Foundation

/// Every event type an endpoint can ask for, what it means and a sample of its payload (the
/// envelope every delivery carries, with the object as the `/v1` API renders it).
enum WebhookCatalogue {
    static let test = "webhook.test"

    struct EventType: Sendable {
        let type: String
        let summary: String
        let sampleObject: String
    }

    static let transactionSample = """
        {"amount":150000,"amount_decimal":"1500.00","created_at":"2026-03-01T09:30:00Z","currency":"KES","currency_exponent":2,"environment":"sandbox","id":"txn_3kT9cWq0Zb1YfLr2","metadata":{},"object":"transaction","status":"%STATUS%","type":"collection"}
        """
    static let payoutSample = """
        {"amount":500000,"amount_decimal":"5000.00","created_at":"2026-03-01T09:30:00Z","currency":"KES","currency_exponent":2,"environment":"sandbox","id":"pay_8Hq2mVx1Rt6YbPz0","object":"payout","status":"%STATUS%"}
        """
    static let keySample = """
        {"created":"2026-03-01T09:30:00Z","environment":"sandbox","id":"key_5Dn7pQs2Wx9LaKe1","masked_secret":"sk_sandbox_Ab3x…wXyZ","name":"Checkout server","object":"api_key","status":"%STATUS%"}
        """

    static let all: [EventType] = [
        EventType(type: "transaction.created", summary: "A transaction was created (through the API or the portal).",
                  sampleObject: transactionSample.replacingOccurrences(of: "%STATUS%", with: "pending")),
        EventType(type: "transaction.updated", summary: "A transaction's status changed, whatever the new status.",
                  sampleObject: transactionSample.replacingOccurrences(of: "%STATUS%", with: "processing")),
        EventType(type: "transaction.paid", summary: "A transaction was paid.", sampleObject: transactionSample.replacingOccurrences(of: "%STATUS%", with: "paid")),
        EventType(type: "transaction.failed", summary: "A transaction failed; `error` says why.",
                  sampleObject: transactionSample.replacingOccurrences(of: "%STATUS%", with: "failed")),
        EventType(type: "transaction.cancelled", summary: "A transaction was cancelled.",
                  sampleObject: transactionSample.replacingOccurrences(of: "%STATUS%", with: "cancelled")),
        EventType(type: "payout.created", summary: "A payout was requested and waits for authorization.",
                  sampleObject: payoutSample.replacingOccurrences(of: "%STATUS%", with: "pending")),
        EventType(type: "payout.authorized", summary: "A payout was authorized.", sampleObject: payoutSample.replacingOccurrences(of: "%STATUS%", with: "authorized")),
        EventType(type: "payout.rejected", summary: "A payout was rejected.", sampleObject: payoutSample.replacingOccurrences(of: "%STATUS%", with: "rejected")),
        EventType(type: "payout.expired", summary: "A payout was not authorized in time and expired.",
                  sampleObject: payoutSample.replacingOccurrences(of: "%STATUS%", with: "expired")),
        EventType(type: "report.ready", summary: "A closed month's report has its checksum: the file can be downloaded and checked.",
                  sampleObject: #"{"bytes":48211,"computed_at":"2026-04-01T00:20:00Z","kind":"transactions","month":"2026-03","object":"report","rows":412,"sha256":"9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"}"#),
        EventType(type: "api_key.created", summary: "An API key was created.", sampleObject: keySample.replacingOccurrences(of: "%STATUS%", with: "active")),
        EventType(type: "api_key.rolled", summary: "An API key was rolled; the old one works until its overlap ends.",
                  sampleObject: keySample.replacingOccurrences(of: "%STATUS%", with: "rolling")),
        EventType(type: "api_key.revoked", summary: "An API key was revoked.", sampleObject: keySample.replacingOccurrences(of: "%STATUS%", with: "revoked")),
        EventType(type: "api_key.expiring", summary: "An API key expires in 7 days.", sampleObject: keySample.replacingOccurrences(of: "%STATUS%", with: "active")),
        EventType(type: test, summary: "Sent by “Send test event” on an endpoint's page; never sent otherwise.",
                  sampleObject: #"{"endpoint":"we_2Lm8Qz4Tn6XcVb0","message":"This is a test event from Portal.","object":"webhook_test"}"#),
    ]

    static let types = all.map(\.type)
    /// What an endpoint may subscribe to (the test event goes to whoever asks for it).
    static let subscribable = types.filter { $0 != test }

    /// The body every delivery POSTs: `data` is the stored JSON, as is.
    static func envelope(id: String, type: String, created: Int64, environment: Environment, data: String) -> String {
        var s = "{\"id\":\"\(id)\",\"type\":\"\(type)\",\"created\":\"\(PageTime.iso8601(created))\",\"environment\":\"\(environment.rawValue)\",\"data\":{\"object\":"
        s += data
        s += "}}"
        return s
    }

    static func sample(_ t: EventType) -> String {
        envelope(id: "evt_7Yw3Kq9Xp2Mb5Nc1", type: t.type, created: 1_772_357_400, environment: .sandbox, data: t.sampleObject)
    }
}
