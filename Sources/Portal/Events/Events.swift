import Database
import Foundation
import Web

/// What changed, for the integrator's systems: one row per change, written in the same
/// transaction as the change, carrying the object as the API shows it at that moment. The
/// webhooks feature delivers these rows; nothing has to be rebuilt from the audit log.
struct Events {
    let store = EventsStore()
    let clock: PortalClock

    /// Records `type` (e.g. `transaction.updated`) about the object `objectID`, with `data` its
    /// JSON. Returns the event's public id (`evt_…`).
    @discardableResult
    func record(_ type: String, objectID: String, data: some Encodable, organizationID: Int64, environment: Environment, on db: Connection) throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        let json = String(decoding: try encoder.encode(data), as: UTF8.self)
        let id = PublicID.make("evt")
        try store.insert(publicID: id, organizationID: organizationID, environment: environment.rawValue, type: type,
                         objectID: objectID, data: json, at: clock.now(), on: db)
        return id
    }

    /// The same, for objects that write their own JSON (transactions, payouts: the API's own
    /// writer, so an event's `data` is exactly what `/v1` returns).
    @discardableResult
    func record(_ type: String, objectID: String, data: some JSONWritable, organizationID: Int64, environment: Environment, on db: Connection) throws -> String {
        var w = JSONWriter(capacity: 768)
        data.write(to: &w)
        let id = PublicID.make("evt")
        try store.insert(publicID: id, organizationID: organizationID, environment: environment.rawValue, type: type,
                         objectID: objectID, data: String(decoding: w.bytes, as: UTF8.self), at: clock.now(), on: db)
        return id
    }

    /// Every organization's events after the row `id`, oldest first (the webhooks' fan-out).
    func after(id: Int64, limit: Int, on db: Connection) throws -> [EventRecord] {
        try store.after(id: id, limit: limit, on: db)
    }

    func event(publicID: String, on db: Connection) throws -> EventRecord? {
        try store.event(publicID: publicID, on: db)
    }

    func event(id: Int64, on db: Connection) throws -> EventRecord? {
        try store.event(id: id, on: db)
    }

    /// The newest events of an environment, newest first.
    func recent(organizationID: Int64, environment: Environment, limit: Int, on db: Connection) throws -> [EventRecord] {
        try store.recent(organizationID: organizationID, environment: environment.rawValue, limit: limit, on: db)
    }
}

struct EventRecord: Sendable {
    let id: Int64
    let publicID: String
    let organizationID: Int64
    let environment: Environment
    let type: String
    let objectID: String
    let data: String
    let createdAt: Int64
}
