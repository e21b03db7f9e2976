#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif
import HTTP
import Logging

/// Writes one structured log line per request, after the response is known:
/// `request` with metadata `request-id`, `method`, `path` (percent-encoded, never the
/// query), `status`, `bytes` (body bytes, `0` for HEAD, absent when streamed) and
/// `duration_ms`. Query strings, cookies, headers and form values are never logged, and
/// path segments that may be secrets are masked (``PathRedaction``).
///
/// Put it first (outermost) so the status is the final one, error pages included.
public struct RequestLogMiddleware: Middleware {
    public var level: Logger.Level
    /// Masks tokens in paths, for a route's path and an unmatched one alike.
    public var redaction: PathRedaction

    public init(level: Logger.Level = .info, redaction: PathRedaction = PathRedaction()) {
        self.level = level
        self.redaction = redaction
    }

    public func handle(_ req: Request, next: (Request) throws -> HTTPResponse) throws -> HTTPResponse {
        let start = Monotonic.nanoseconds()
        do {
            let res = try next(req)
            log(req, status: res.status, body: res.body, start: start)
            return res
        } catch {
            // Only reached when nothing inside turned the error into a page.
            log(req, status: .internalServerError, body: nil, start: start)
            throw error
        }
    }

    private func log(_ req: Request, status: HTTPStatus, body: HTTPBody?, start: UInt64) {
        guard req.logger.logLevel <= level else { return }  // don't build metadata for nothing
        let elapsed = Monotonic.nanoseconds() &- start
        var metadata: Logger.Metadata = [
            "method": .string(req.method.rawValue),
            "path": .string(redaction.apply(req.loggedPath ?? req.path)),
            "status": .stringConvertible(status.code),
            "duration_ms": .string(Self.milliseconds(elapsed)),
        ]
        if req.method == .HEAD {
            metadata["bytes"] = "0"
        } else if case .bytes(let b) = body {
            metadata["bytes"] = .stringConvertible(b.count)
        }
        req.logger.log(level: level, "request", metadata: metadata)
    }

    /// Nanoseconds as milliseconds with three decimals: `1.234`.
    static func milliseconds(_ ns: UInt64) -> String {
        let us = ns / 1000
        let frac = us % 1000
        let pad = frac < 10 ? "00" : frac < 100 ? "0" : ""
        return "\(us / 1000).\(pad)\(frac)"
    }
}

/// A cheap monotonic clock.
enum Monotonic {
    static func nanoseconds() -> UInt64 {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return UInt64(ts.tv_sec) &* 1_000_000_000 &+ UInt64(ts.tv_nsec)
    }

    /// Nanoseconds from the coarse monotonic clock (a few ms resolution, very cheap).
    static func coarseNanoseconds() -> UInt64 {
        var ts = timespec()
        #if os(Linux)
        clock_gettime(CLOCK_MONOTONIC_COARSE, &ts)
        #else
        clock_gettime(CLOCK_MONOTONIC, &ts)
        #endif
        return UInt64(ts.tv_sec) &* 1_000_000_000 &+ UInt64(ts.tv_nsec)
    }
}
