import Database

/// The queue of requests that wait for a person at the operator, as the features that file
/// them see it. A feature files a request inside its own transaction (`on db:`), with its own
/// audit event; only ``Support`` (the back-office) decides them. The support_requests table is
/// Support's: nothing outside this folder touches it but through here.
struct SupportQueue: Sendable {
    let store = SupportStore()

    /// Files a request and returns its row id and public id.
    @discardableResult
    func file(kind: SupportRequestRecord.Kind, by user: UserRecord, organizationID: Int64?, note: String,
              changes: [String: String] = [:], now: Int64, on db: Connection) throws -> (id: Int64, publicID: String) {
        try file(kind: kind, userID: user.id, email: user.email, organizationID: organizationID, note: note, changes: changes, now: now, on: db)
    }

    /// The same for a requester who may not be a person (an API key: `userID` nil, and the
    /// e-mail support answers to).
    func file(kind: SupportRequestRecord.Kind, userID: Int64?, email: String, organizationID: Int64?, note: String,
              changes: [String: String] = [:], now: Int64, on db: Connection) throws -> (id: Int64, publicID: String) {
        let publicID = PublicID.make("req")
        let id = try store.insert(publicID: publicID, kind: kind, userID: userID, email: email, note: note,
                                  organizationID: organizationID, changes: changes, now: now, on: db)
        return (id, publicID)
    }

    /// The organization's open request of a kind (there is at most one), if any.
    func openRequest(organizationID: Int64, kind: SupportRequestRecord.Kind, on db: Connection) throws -> SupportRequestRecord? {
        try store.openRequest(organizationID: organizationID, kind: kind, on: db)
    }

    /// How many open requests of a kind the user has (requests that name no organization).
    func openCount(userID: Int64, kind: SupportRequestRecord.Kind, on db: Connection) throws -> Int {
        try store.openCount(userID: userID, kind: kind, on: db)
    }

    /// The organization's open requests, oldest first.
    func openRequests(organizationID: Int64, on db: Connection) throws -> [SupportRequestRecord] {
        try store.openRequests(organizationID: organizationID, on: db)
    }

    /// The organization's requests, newest first.
    func requests(organizationID: Int64, on db: Connection) throws -> [SupportRequestRecord] {
        try store.requests(organizationID: organizationID, on: db)
    }

    func request(publicID: String, on db: Connection) throws -> SupportRequestRecord? {
        try store.request(publicID: publicID, on: db)
    }

    /// Marks an open request withdrawn by its requester; false if it was decided first.
    func withdraw(_ r: SupportRequestRecord, now: Int64, on db: Connection) throws -> Bool {
        try store.withdraw(id: r.id, now: now, on: db)
    }
}
