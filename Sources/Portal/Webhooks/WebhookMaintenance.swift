import Jobs

/// The hourly job on the house worker: disables endpoints failing for 5 days (mailing the
/// members who manage webhooks), prunes deliveries past the retention, then schedules its
/// next run. Idempotent.
struct WebhookMaintenance: JobHandler {
    let webhooks: Webhooks
    let jobs: JobWorker

    func run(_ job: Job) throws {
        try webhooks.maintain()
        try webhooks.scheduleMaintenance(on: jobs, at: webhooks.clock.now() + Webhooks.maintainInterval)
    }
}
