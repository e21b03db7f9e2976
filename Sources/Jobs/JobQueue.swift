import Database

/// Enqueueing: a job is a row written **on the caller's connection**, so it exists if and
/// only if the caller's transaction commits (a sign-up that rolls back sends no mail, a
/// payout that rolls back calls no webhook).
///
/// ```swift
/// try database.write { conn in
///     let eventID = try store.insertEvent(…, on: conn)
///     try JobQueue.enqueue("webhook.deliver", payload: String(eventID), now: clock.now(), on: conn)
/// }
/// jobs.notify() // or use JobWorker.enqueue(_:payload:on:), which notifies itself
/// ```
public enum JobQueue {
    /// Inserts a queued job of `kind`, due at `runAt` (default: `now`); returns its id.
    /// Kinds without a registered handler wait until a worker that knows them runs.
    @discardableResult
    public static func enqueue(_ kind: String, payload: String, runAt: Int64? = nil, now: Int64, on conn: Connection) throws -> Int64 {
        precondition(!kind.isEmpty, "a job needs a kind")
        return try JobStore.insert(kind: kind, payload: payload, runAt: runAt ?? now, now: now, on: conn)
    }

    /// Like ``enqueue(_:payload:runAt:now:on:)``, unless a job of the same kind and payload is
    /// already queued (nil then): for work that schedules its next run itself (a daily sweep),
    /// so a restart, a second process or a re-run after a lost lease never doubles it. A job
    /// still running does not count: it is the one scheduling its successor.
    @discardableResult
    public static func enqueueUnlessQueued(_ kind: String, payload: String, runAt: Int64? = nil, now: Int64, on conn: Connection) throws -> Int64? {
        precondition(!kind.isEmpty, "a job needs a kind")
        return try JobStore.insertUnlessQueued(kind: kind, payload: payload, runAt: runAt ?? now, now: now, on: conn)
    }
}
