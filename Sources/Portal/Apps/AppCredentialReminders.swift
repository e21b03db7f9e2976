import Jobs

/// The job that mails the members who manage apps 30, 7 and 1 days before client credentials
/// expire (``Apps/remind(credentialID:)``). Each run enqueues the next check; the row's
/// bookkeeping sends each mail once.
struct AppCredentialReminders: JobHandler {
    let apps: Apps

    func run(_ job: Job) throws {
        guard let id = Int64(job.payload) else { throw JobError.permanent("payload is not a credential id") }
        try apps.remind(credentialID: id)
    }
}

/// The job that mails the members who manage apps when a stored certificate comes within 30
/// days of its expiry (``Apps/remindCertificate(id:)``), once.
struct CertificateReminders: JobHandler {
    let apps: Apps

    func run(_ job: Job) throws {
        guard let id = Int64(job.payload) else { throw JobError.permanent("payload is not a certificate id") }
        try apps.remindCertificate(id: id)
    }
}
