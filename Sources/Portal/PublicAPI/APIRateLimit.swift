import HTTP
import Web

enum RateLimitDecisionKey: RequestStorageKey { typealias Value = RateLimiter.Decision }

/// The API pipeline's rate limit, after the credentials: one bucket per credential (by its
/// public id), or per client address for calls without one (`/v1/openapi.json`, `/v1/ping`).
/// An empty bucket is a 429 with `Retry-After`, before any work.
struct APIRateLimit: Middleware {
    let limiter: RateLimiter

    func handle(_ req: Request, next: (Request) throws -> HTTPResponse) throws -> HTTPResponse {
        let key = req.apiCredential.map { "credential:" + $0.publicID } ?? "address:" + req.remoteAddress
        let decision = limiter.take(key)
        req.storage[RateLimitDecisionKey.self] = decision
        guard decision.allowed else {
            throw HTTPError(.tooManyRequests,
                            "Too many requests: this key may make \(Int(limiter.policy.rate)) requests a second (bursts of \(decision.limit)). Retry after \(decision.retryAfter) s.",
                            headers: ["Retry-After": String(decision.retryAfter)], code: "rate_limited")
        }
        return try next(req)
    }
}
