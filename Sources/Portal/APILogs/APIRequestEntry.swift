import Web

/// One API request as the log keeps it, made on the request's worker thread when its response
/// is known and handed to the ``APILogRecorder`` (never written there and then).
/// Nothing in it is a secret: the path is masked, the bodies are masked, the credential is
/// named by its public id and display name.
struct APIRequestEntry: Sendable, Equatable {
    var requestID: String
    var createdAt: Int64
    var organizationID: Int64?
    var environment: Environment?
    var credentialID: String?
    var credentialName: String?
    /// The key's name, when the credential is a key (people name keys: "Checkout server").
    var credentialLabel: String? = nil
    var method: String
    var path: String
    var status: Int
    var durationMicroseconds: Int64
    var ip: String
    var userAgent: String
    var requestHeaders: String
    var responseHeaders: String
    /// Only for failed requests (status ≥ 400): the masked first 4 KB of each body.
    var requestBody: String?
    var responseBody: String?
}

/// An entry as the buffer holds it until the flusher writes it: its element of a segment
/// already encoded, plus the few fields the flusher reads to group, summarize and note.
///
/// Encoded on the request's thread, while the entry's strings are still in the core's cache,
/// and those strings freed by the thread that made them. The flusher used to walk 500
/// entries' fifteen strings each, cold, to encode them, and free them from another thread.
struct APIRequestRecord: Sendable {
    var requestID: String
    var createdAt: Int64
    /// The unix second the request id begins with (``APILogsStore/second(of:)``), else createdAt.
    var second: Int64
    var organizationID: Int64?
    var environment: Environment?
    var credentialID: String?
    var credentialName: String?
    var credentialLabel: String?
    var ip: String
    var status: Int
    var requestBody: String?
    var responseBody: String?
    /// The request's element of a segment: the JSON array of its ``APILogSegment`` fields,
    /// kept in the writer that wrote it (no copy into an array of its own).
    var element: JSONWriter
}

extension APIRequestRecord {
    init(_ e: APIRequestEntry) {
        requestID = e.requestID
        createdAt = e.createdAt
        second = APILogsStore.second(of: e.requestID) ?? e.createdAt
        organizationID = e.organizationID
        environment = e.environment
        credentialID = e.credentialID
        credentialName = e.credentialName
        credentialLabel = e.credentialLabel
        ip = e.ip
        status = e.status
        requestBody = e.requestBody
        responseBody = e.responseBody
        element = APILogSegment.element(e)
    }
}
