import Foundation

/// An endpoint as stored (its secrets still sealed).
struct WebhookEndpoint: Sendable {
    let id: Int64
    let publicID: String
    let organizationID: Int64
    let environment: Environment
    let url: String
    let description: String
    /// nil: every type of the catalogue (and those added later).
    let eventTypes: [String]?
    let sealedSecret: [UInt8]
    let sealedOldSecret: [UInt8]?
    let oldSecretUntil: Int64?
    let enabled: Bool
    let disabledReason: String?
    let disabledAt: Int64?
    let failingSince: Int64?
    let lastSuccessAt: Int64?
    let createdByName: String
    let createdAt: Int64

    func wants(_ type: String) -> Bool {
        if type == WebhookCatalogue.test { return false }
        return eventTypes.map { $0.contains(type) } ?? true
    }

    var eventsSummary: String {
        eventTypes.map { $0.joined(separator: ", ") } ?? "All events"
    }
}

enum WebhookDeliveryState: String, Sendable, CaseIterable {
    case pending, succeeded, failed

    var title: String {
        switch self {
        case .pending: "Pending"
        case .succeeded: "Succeeded"
        case .failed: "Failed"
        }
    }
}

/// One event for one endpoint: the unit the queue retries.
struct WebhookDelivery: Sendable {
    let id: Int64
    let publicID: String
    let endpointID: Int64
    let eventID: Int64
    let eventPublicID: String
    let eventType: String
    let state: WebhookDeliveryState
    let attempts: Int
    let nextAttemptAt: Int64?
    let lastAttemptAt: Int64?
    let lastStatus: Int?
    let lastError: String?
    let replayOf: Int64?
    let createdAt: Int64
}

/// One POST and what came back.
struct WebhookAttempt: Sendable {
    let id: Int64
    let deliveryID: Int64
    let number: Int
    let at: Int64
    let durationMs: Int
    let url: String
    let requestHeaders: String
    let requestBody: String
    let responseStatus: Int?
    let responseHeaders: String?
    let responseBody: [UInt8]?
    let error: String?
    let nextAttemptAt: Int64?

    var succeeded: Bool { responseStatus.map { (200..<300).contains($0) } ?? false }
}

/// The health the list shows.
struct WebhookHealth: Sendable {
    let lastDeliveryAt: Int64?
    let attempts24h: Int
    let succeeded24h: Int

    var successRate: String {
        attempts24h == 0 ? "—" : "\(Int((Double(succeeded24h) / Double(attempts24h) * 100).rounded())) %"
    }
}

/// The retry schedule the issue publishes: the first attempt at once, then these delays after
/// each failed one, each ±10 % jitter. After the last, the delivery has failed.
enum WebhookSchedule {
    static let delays: [Int64] = [5, 300, 1800, 7200, 18000, 36000, 50400, 72000, 86400]
    static var maximumAttempts: Int { delays.count + 1 }

    /// The delay before the attempt after `attempts` made; nil when none is left.
    static func delay(afterAttempts attempts: Int, jitter: Double = Double.random(in: -0.1...0.1)) -> Int64? {
        guard attempts >= 1, attempts <= delays.count else { return nil }
        let base = Double(delays[attempts - 1])
        return max(1, Int64((base * (1 + jitter)).rounded()))
    }

    /// `Retry-After` in seconds (or an HTTP date), capped at a day; nil if unreadable.
    static func retryAfter(_ value: String, now: Int64) -> Int64? {
        let v = value.trimmingCharacters(in: .whitespacesAndNewlines)
        if let s = Int64(v), s >= 0 { return min(s, 86400) }
        let f = DateFormatter()
        f.locale = Locale(identifier: "en_US_POSIX")
        f.timeZone = TimeZone(identifier: "GMT")
        f.dateFormat = "EEE, dd MMM yyyy HH:mm:ss zzz"
        if let d = f.date(from: v) { return min(max(0, Int64(d.timeIntervalSince1970) - now), 86400) }
        return nil
    }
}
