import Jobs

/// The job that prunes the API request log (rows after the retention, bodies of failures
/// after theirs), then schedules its next run an interval later. Idempotent: a run twice
/// over deletes nothing the second time.
struct APILogPruning: JobHandler {
    let logs: APILogs
    let jobs: JobWorker

    func run(_ job: Job) throws {
        try logs.prune()
        try logs.schedulePruning(on: jobs, at: logs.clock.now() + APILogs.pruneInterval)
    }
}
