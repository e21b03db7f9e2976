import Jobs

/// The job that expires a payout nobody authorized within 7 days and releases its hold;
/// enqueued when the payout is prepared, due at its expiry. Idempotent: a payout decided
/// meanwhile (or expired by an earlier run) is left as it is.
struct PayoutExpiry: JobHandler {
    static let kind = "payout.expire"

    let payouts: Payouts

    func run(_ job: Job) throws {
        guard let id = Int64(job.payload) else { throw JobError.permanent("payload is not a payout id") }
        try payouts.expire(id: id)
    }
}
