import HTTP
import Web

/// The outermost middleware of `/v1`: every response, refusals included, carries
/// `Request-Id` (the id of the log line and of the error's `request_id`) and the
/// `RateLimit-*` headers. A call refused before the rate limit (a bad key: 401) counts
/// against its client address, so guessing keys is limited as well.
struct APIResponseHeaders: Middleware {
    let limiter: RateLimiter

    func handle(_ req: Request, next: (Request) throws -> HTTPResponse) throws -> HTTPResponse {
        var res: HTTPResponse
        do {
            res = try next(req)
        } catch {
            res = (req.errorResponder ?? JSONErrors()).response(for: error, request: req)
        }
        let d = req.storage[RateLimitDecisionKey.self] ?? limiter.take("address:" + req.remoteAddress)
        res.headers.set("RateLimit-Limit", String(d.limit))
        res.headers.set("RateLimit-Remaining", String(d.remaining))
        res.headers.set("RateLimit-Reset", String(d.reset))
        res.headers.set("Request-Id", req.id)
        return res
    }
}
