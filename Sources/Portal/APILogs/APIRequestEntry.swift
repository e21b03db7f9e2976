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

/// What the flusher reads of a request to group, summarize and note it (its element holds the
/// rest): the same for a record and for a batch's item.
struct APIRequestFacts: Sendable {
    var createdAt: Int64
    /// The unix second the request id begins with (``APILogsStore/second(of:)``), else createdAt.
    var second: Int64
    var organizationID: Int64?
    var environment: Environment?
    /// The credential's id, name and label, shared with every request made with it.
    var credential: APICredentialLogIdentity?
    var ip: String
    var status: Int
    var requestBody: String?
    var responseBody: String?

    var credentialID: String? { credential?.publicID }
    var credentialName: String? { credential?.name }
    var credentialLabel: String? { credential?.label }
}

/// An entry as the request's thread hands it to the buffer: its element of a segment already
/// encoded, plus its facts (`record.status` reads them).
///
/// Encoded on the request's thread, while the entry's strings are still in the core's cache,
/// and those strings freed by the thread that made them. The flusher used to walk 500
/// entries' fifteen strings each, cold, to encode them, and free them from another thread.
@dynamicMemberLookup
struct APIRequestRecord: Sendable {
    var requestID: String
    var facts: APIRequestFacts
    /// The request's element of a segment: the JSON array of its ``APILogSegment`` fields,
    /// kept in the writer that wrote it (no copy into an array of its own).
    var element: JSONWriter

    subscript<T>(dynamicMember fact: KeyPath<APIRequestFacts, T>) -> T { facts[keyPath: fact] }
}

extension APIRequestRecord {
    init(_ e: APIRequestEntry) {
        requestID = e.requestID
        let credential = e.credentialID == nil && e.credentialName == nil && e.credentialLabel == nil ? nil
            : APICredentialLogIdentity(publicID: e.credentialID, name: e.credentialName, label: e.credentialLabel)
        facts = APIRequestFacts(createdAt: e.createdAt, second: APILogsStore.second(of: e.requestID) ?? e.createdAt,
                                organizationID: e.organizationID, environment: e.environment, credential: credential,
                                ip: e.ip, status: e.status, requestBody: e.requestBody, responseBody: e.responseBody)
        element = APILogSegment.element(e, credential: credential)
    }
}

/// Records as the buffer holds them and hands them to the flusher: each one's facts, and the
/// bytes of every element back to back in one array.
///
/// A record's own element (a writer's storage) is copied in and freed by the request's thread
/// that made it; what crosses to the flusher's thread is the facts, whose strings are the
/// credential's (shared, not freed there) but for the bodies of failures. With an element per
/// record, the flusher freed 500 blocks a batch that the request threads' malloc had made, and
/// glibc's malloc then served the requests from its slow paths.
struct APILogBatch: Sendable {
    @dynamicMemberLookup
    struct Item: Sendable {
        /// Where its element lies in ``APILogBatch/bytes``.
        var start: Int, end: Int
        var facts: APIRequestFacts

        subscript<T>(dynamicMember fact: KeyPath<APIRequestFacts, T>) -> T { facts[keyPath: fact] }
    }

    private(set) var bytes: [UInt8] = []
    private(set) var items: [Item] = []

    init() {}

    init(_ records: some Sequence<APIRequestRecord>) {
        for r in records { append(r) }
    }

    var count: Int { items.count }
    var isEmpty: Bool { items.isEmpty }

    mutating func append(_ r: APIRequestRecord) {
        let start = bytes.count
        r.element.withBytes { bytes.append(contentsOf: $0) }
        items.append(Item(start: start, end: bytes.count, facts: r.facts))
    }

    /// The element of item `i`, read in place.
    func withElement<R>(_ i: Int, _ body: (UnsafeBufferPointer<UInt8>) throws -> R) rethrows -> R {
        try bytes.withUnsafeBufferPointer { try body(UnsafeBufferPointer(rebasing: $0[items[i].start..<items[i].end])) }
    }

    /// Forgets the first `n` items (their bytes stay until ``removeAll()``: they are no one's).
    mutating func dropFirst(_ n: Int) {
        items.removeFirst(n)
    }

    /// Keeps only the items from `n` on, their bytes moved to the front: what a buffer that
    /// dropped `n` of its oldest does so that what it holds stays bounded.
    mutating func compact(droppingFirst n: Int) {
        guard n > 0 else { return }
        guard n < items.count else { removeAll(); return }
        let shift = items[n].start
        bytes.removeFirst(shift)
        items.removeFirst(n)
        for i in items.indices {
            items[i].start -= shift
            items[i].end -= shift
        }
    }

    /// Empties it, keeping the arrays' capacity for the next batch.
    mutating func removeAll() {
        bytes.removeAll(keepingCapacity: true)
        items.removeAll(keepingCapacity: true)
    }
}
