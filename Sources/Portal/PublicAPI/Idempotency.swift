import Database
import Foundation
import HTTP
import Jobs
import Security
import Web

/// `Idempotency-Key` for every `/v1` POST (Stripe's rules): the first response to a key is
/// recorded in the same write transaction as the change it reports, so a crash cannot keep
/// one without the other; a retry with the same key from the same credential within 24
/// hours gets that response again (status and body) with `Idempotent-Replayed: true`; the
/// same key with another body (or another endpoint) is a 409.
///
/// Concurrent duplicates never both run: the lookup, the change and the record happen in one
/// transaction on the single writer, so the second one finds the first one's row.
/// Refusals (4xx) are recorded too, as Stripe does, so a retry cannot turn a refused request
/// into an accepted one by the state changing in between; a 5xx is never recorded.
final class Idempotency: Sendable {
    let database: Database
    let clock: PortalClock
    let jobs: JobWorker?
    let store = IdempotencyStore()

    static let window: Int64 = 24 * 3600
    static let maximumKeyLength = 255
    static let header = "Idempotency-Key"
    static let pruneKind = "idempotency.prune"

    init(database: Database, clock: PortalClock, jobs: JobWorker?) {
        self.database = database
        self.clock = clock
        self.jobs = jobs
    }

    /// The key a request sent, checked: nil when none was sent.
    static func key(of req: Request) throws -> String? {
        guard let raw = req.headers[header] else { return nil }
        guard !raw.isEmpty, raw.utf8.count <= maximumKeyLength, raw.unicodeScalars.allSatisfy({ $0.value >= 0x20 && $0.value < 0x7F }) else {
            throw HTTPError(.badRequest, "The Idempotency-Key header must be 1 to \(maximumKeyLength) printable ASCII characters.",
                            code: "idempotency_key_invalid", param: header)
        }
        return raw
    }

    /// Runs `change` in one write transaction and answers with what it returned, recording the
    /// answer under the request's `Idempotency-Key` (if it sent one) in that transaction.
    /// `change` throws an ``HTTPError`` to refuse; with a key, a 4xx refusal is recorded and
    /// answered like a response (the change's own writes are undone by a savepoint).
    func perform(_ req: Request, credential: String, _ change: (Connection) throws -> HTTPResponse) throws -> HTTPResponse {
        let key = try Self.key(of: req)
        guard let key else { return try database.write { db in try change(db) } }
        let hash = Digest.sha256Hex(Array("\(req.method.rawValue) \(req.path)\n".utf8) + req.body)
        return try database.write { db -> HTTPResponse in
            let now = clock.now()
            if let row = try store.find(credential: credential, key: key, since: now - Self.window, on: db) {
                guard row.requestHash == hash else {
                    throw HTTPError(.conflict, "This Idempotency-Key was already used with a different request (\(row.method) \(row.path) or another body) in the last 24 hours. Use a new key for a new request.",
                                    code: "idempotency_key_reused", param: Self.header)
                }
                var replay = HTTPResponse(status: HTTPStatus(row.status), headers: ["Content-Type": JSONBody.contentType], body: .bytes(row.body))
                replay.headers.set("Idempotent-Replayed", "true")
                replay.headers.set("Cache-Control", "no-store")
                return replay
            }
            try store.forget(credential: credential, key: key, before: now - Self.window, on: db)
            var response: HTTPResponse
            do {
                response = try db.transaction { try change(db) }
            } catch let error as HTTPError where error.status.code >= 400 && error.status.code < 500 {
                response = JSONErrors().response(error, requestID: req.id)
            }
            guard case .bytes(let body) = response.body else { throw HTTPError(.internalServerError, "idempotent response is not buffered") }
            let id = try store.insert(credential: credential, key: key, method: req.method.rawValue, path: req.path, requestHash: hash,
                                      status: response.status.code, body: body, at: now, on: db)
            try jobs?.enqueue(Self.pruneKind, payload: String(id), runAt: now + Self.window, on: db)
            return response
        }
    }

    /// Deletes the records older than the window (the job runs one day after each record).
    @discardableResult
    func prune() throws -> Int {
        let before = clock.now() - Self.window
        return try database.write { try store.prune(before: before, on: $0) }
    }
}
