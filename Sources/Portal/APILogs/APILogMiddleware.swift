import Foundation
import HTTP
import Web

/// The API pipelines' outermost middleware: records every request under `/v1` and `/oauth`
/// in the request log, after its final status is known.
///
/// It runs outside the credentials check, so a 401 for a bad key, a 403, a 404 for no route
/// and a 429 are recorded like any answer. Errors thrown further in are turned into their
/// JSON response here, by the pipeline's own responder (what ``WebApplication`` would do one
/// step later), so the log holds the status and body the caller got. The entry goes to the
/// ``APILogRecorder``'s buffer: no database write on the request path.
struct APILogMiddleware: Middleware {
    let recorder: APILogRecorder
    let clock: PortalClock
    let redaction: PathRedaction

    static let userAgentLimit = 256
    static let pathLimit = 512
    static let requestHeaderNames = ["Content-Type", "Content-Length", "Accept", "Idempotency-Key", "Stripe-Version"]
    static let responseHeaderNames = ["Content-Type", "Retry-After", "RateLimit-Limit", "RateLimit-Remaining", "RateLimit-Reset",
                                      "Idempotent-Replayed", "WWW-Authenticate"]
    /// The names above looked up together, in one pass over a message's fields.
    static let requestNames = HTTPHeaders.Names(["Authorization"] + requestHeaderNames)
    static let responseNames = HTTPHeaders.Names(responseHeaderNames)
    /// Each summary line's start, `Name: `, made once: a piece fewer per line.
    static let requestLineStarts = requestHeaderNames.map { LineStart(name: $0) }
    static let responseLineStarts = responseHeaderNames.map { LineStart(name: $0) }
    static let bearerLineStart = LineStart(text: "Authorization: Bearer "), basicLineStart = LineStart(text: "Authorization: Basic ")
    static let authorizationLineStart = LineStart(text: "Authorization: ")

    func handle(_ req: Request, next: (Request) throws -> HTTPResponse) throws -> HTTPResponse {
        let start = DispatchTime.now().uptimeNanoseconds
        let res: HTTPResponse
        do {
            res = try next(req)
        } catch {
            // Outside a pipeline there is no responder: leave the error to the app (not reached
            // under /v1 or /oauth, which are pipelines).
            guard let responder = req.errorResponder else { throw error }
            res = responder.response(for: error, request: req)
        }
        let elapsed = DispatchTime.now().uptimeNanoseconds &- start
        let micros = Int64(elapsed / 1000)
        if res.status.code < 400 {
            recorder.record(record(req, res, micros: micros))
        } else {
            recorder.record(entry(req, res, micros: micros))
        }
        return res
    }

    /// The record of a request answered below 400, its element written straight from the
    /// request and the response: the same bytes as ``entry(_:_:micros:)`` encoded (a test
    /// holds them equal), without first making the entry's strings. Nearly every request
    /// takes this way; failures, which mask their path and keep their bodies, take the entry's.
    func record(_ req: Request, _ res: HTTPResponse, micros: Int64) -> APIRequestRecord {
        let (credential, organizationID, environment) = Self.credentialFacts(req)
        let now = clock.now()
        let path = redaction.apply(req.loggedPath ?? req.path)
        let userAgent = req.headers["User-Agent"] ?? ""
        // Characters, as the entry's `prefix` counts them: no more bytes than the limit means no more characters.
        let element = APILogSegment.element(
            requestID: req.id, createdAt: now, credential: credential,
            method: req.method.rawValue, path: path.utf8.count <= Self.pathLimit ? path : String(path.prefix(Self.pathLimit)),
            status: res.status.code, durationMicroseconds: micros, ip: req.remoteAddress,
            userAgent: userAgent.utf8.count <= Self.userAgentLimit ? userAgent : String(userAgent.prefix(Self.userAgentLimit)),
            capacity: 384, requestHeaders: { requestHeaders(req, credentialName: credential?.name, into: &$0) },
            responseHeaders: { responseHeaders(req, res, into: &$0) })
        return APIRequestRecord(requestID: req.id,
                                facts: APIRequestFacts(createdAt: now, second: APILogsStore.second(of: req.id) ?? now,
                                                       organizationID: organizationID, environment: environment, credential: credential,
                                                       ip: req.remoteAddress, status: res.status.code, requestBody: nil, responseBody: nil),
                                element: element)
    }

    func entry(_ req: Request, _ res: HTTPResponse, micros: Int64) -> APIRequestEntry {
        let (credential, organizationID, environment) = Self.credentialFacts(req)
        let status = res.status.code
        var e = APIRequestEntry(
            requestID: req.id, createdAt: clock.now(),
            organizationID: organizationID, environment: environment,
            credentialID: credential?.publicID, credentialName: credential?.name,
            method: req.method.rawValue, path: String(redaction.apply(req.loggedPath ?? req.path).prefix(Self.pathLimit)),
            status: status, durationMicroseconds: micros, ip: req.remoteAddress,
            userAgent: String((req.headers["User-Agent"] ?? "").prefix(Self.userAgentLimit)),
            requestHeaders: requestHeaders(req, credentialName: credential?.name), responseHeaders: responseHeaders(req, res))
        // A key's name is on the credential already: free to keep, and what people recognise.
        e.credentialLabel = credential?.label
        if status >= 400 {
            // A key pasted into the URL by mistake (`/v1/sk_live_…`) is a 404: masked like a body.
            e.path = BodyMasking.mask(e.path)
            e.requestBody = BodyMasking.keep(req.body) ?? ""
            if case .bytes(let b) = res.body { e.responseBody = BodyMasking.keep(b) ?? "" } else { e.responseBody = "" }
        }
        return e
    }

    /// The request's credential as the log names it, and its organization and environment,
    /// read at once (each optional chain copied the existential).
    static func credentialFacts(_ req: Request) -> (APICredentialLogIdentity?, Int64?, Environment?) {
        guard let c = req.apiCredential else { return (nil, nil, nil) }
        return (c.logIdentity, c.organizationID, c.environment)
    }

    /// A few headers a developer debugging a call wants, one per line. The Authorization
    /// header shows its scheme and the credential's display name, never its value.
    func requestHeaders(_ req: Request, credentialName: String?) -> String {
        var lines = ""
        lines.reserveCapacity(64)
        requestHeaders(req, credentialName: credentialName, into: &lines)
        return lines
    }

    /// The same, line by line into a string or straight into the JSON being written (no
    /// interpolation or `split`: it runs for every logged request).
    func requestHeaders<Out: SummaryPieces>(_ req: Request, credentialName: String?, into out: inout Out) {
        req.headers.firstValues(of: Self.requestNames) { n, value in
            if n > 0 {
                out.line(Self.requestLineStarts[n - 1], BodyMasking.mask(Self.limited(value)))
                return
            }
            let shown = credentialName ?? BodyMasking.masked
            // The scheme: the bytes before the first space among the first 16. Bearer and Basic,
            // nearly every request, go with the line's start in one piece.
            var auth = value
            let scheme = auth.withUTF8 { b -> (known: LineStart?, bytes: [UInt8]) in
                let head = UnsafeBufferPointer(rebasing: b[..<min(16, b.count)])
                let cut = head.firstIndex(of: UInt8(ascii: " ")) ?? head.count
                let s = UnsafeBufferPointer(rebasing: head[..<cut])
                if s.count == 6, memcmp(s.baseAddress!, "Bearer", 6) == 0 { return (Self.bearerLineStart, []) }
                if s.count == 5, memcmp(s.baseAddress!, "Basic", 5) == 0 { return (Self.basicLineStart, []) }
                return (nil, Array(s))
            }
            if let known = scheme.known {
                out.line(known, shown)
            } else {
                // A cut inside a character is repaired, not kept.
                out.line(Self.authorizationLineStart, String(decoding: scheme.bytes, as: UTF8.self) + " " + shown)
            }
        }
    }

    func responseHeaders(_ req: Request, _ res: HTTPResponse) -> String {
        var lines = ""
        lines.reserveCapacity(192)
        responseHeaders(req, res, into: &lines)
        return lines
    }

    /// Without `Request-Id`, which the request's page shows from the request's own id (kept
    /// once per request, not twice).
    func responseHeaders<Out: SummaryPieces>(_ req: Request, _ res: HTTPResponse, into out: inout Out) {
        res.headers.firstValues(of: Self.responseNames) { n, value in out.line(Self.responseLineStarts[n], Self.limited(value)) }
    }

    /// A header's value as the summary keeps it: its first 200 characters.
    static func limited(_ v: String) -> String { v.utf8.count <= 200 ? v : String(v.prefix(200)) }
}

/// A summary line's start, `Name: ` (ASCII: nothing in it to escape), as text and as bytes.
/// A class: a line takes one reference from its table, not a string's and an array's.
final class LineStart: Sendable {
    let text: String
    let bytes: [UInt8]

    init(text: String) {
        self.text = text
        bytes = Array(text.utf8)
    }

    convenience init(name: String) { self.init(text: name + ": ") }
}

/// Where a header summary's lines go: a `String` (the entry), or the JSON string being written
/// (the record), the value escaped there as it comes and the line written in one piece.
protocol SummaryPieces {
    /// A line: its start, the value, the end of the line.
    mutating func line(_ start: LineStart, _ value: String)
}

extension String: SummaryPieces {
    mutating func line(_ start: LineStart, _ value: String) {
        self += start.text
        self += value
        self += "\n"
    }
}

extension JSONWriter: SummaryPieces {
    mutating func line(_ start: LineStart, _ value: String) {
        start.bytes.withUnsafeBufferPointer { stringPiece(prefix: $0, value, suffix: "\\n") }
    }
}
