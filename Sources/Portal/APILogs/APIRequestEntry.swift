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
