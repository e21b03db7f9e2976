import Database
import HTTP
import Web

/// `GET /healthz`: 200 `ok` once a trivial database read succeeds, else 503.
struct HealthController {
    let database: Database
    let store = HealthStore()
    static let okBody = Array("ok".utf8)

    func register(on router: inout Router) {
        router.get("/healthz") { req in try check(req) }
    }

    func check(_ req: Request) throws -> HTTPResponse {
        let alive: Bool
        do {
            alive = try database.read { try store.alive(on: $0) }
        } catch {
            req.logger.error("health check failed", metadata: ["error": "\(error)"])
            alive = false
        }
        guard alive else {
            return HTTPResponse(status: .serviceUnavailable, headers: ["Content-Type": "text/plain; charset=utf-8", "Cache-Control": "no-store"], body: .bytes(Array("unavailable".utf8)))
        }
        return HTTPResponse(headers: ["Content-Type": "text/plain; charset=utf-8", "Cache-Control": "no-store"], body: .bytes(Self.okBody))
    }
}
