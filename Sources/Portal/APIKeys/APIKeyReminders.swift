import Jobs

/// The job that mails the members who manage keys 30, 7 and 1 days before a key expires and
/// records its expiry (``APIKeys/remind(id:)``). One job per key is waiting at a time: each
/// run enqueues the next check. Idempotent: the row's bookkeeping sends each mail once.
struct APIKeyReminders: JobHandler {
    let keys: APIKeys

    func run(_ job: Job) throws {
        guard let id = Int64(job.payload) else { throw JobError.permanent("payload is not an API key id") }
        try keys.remind(id: id)
    }
}
