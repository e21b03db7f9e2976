import Jobs

/// The job that forgets idempotency records after their 24 hours.
struct IdempotencyPrune: JobHandler {
    let idempotency: Idempotency
    func run(_ job: Job) throws { try idempotency.prune() }
}
