import Jobs

/// The job kind `reports.checksum`: payload "<organization id> <environment>".
struct ReportChecksumJob: JobHandler {
    let reports: Reports

    func run(_ job: Job) throws {
        let parts = job.payload.split(separator: " ")
        guard parts.count == 2, let id = Int64(parts[0]), let env = Environment(rawValue: String(parts[1])) else {
            throw JobError.permanent("payload is not \"<organization id> <environment>\"")
        }
        try reports.computeChecksums(organizationID: id, environment: env)
    }
}

/// The job kind `reports.sweep`: the daily round of checksums (``Reports/sweep()``).
struct ReportSweepJob: JobHandler {
    let reports: Reports

    func run(_ job: Job) throws {
        try reports.sweep()
    }
}
