/// The audit actions of cancellation requests. The subject is the transaction's public id.
/// Details: `reason` (the member's), `request` (the support request, in Production),
/// `cancellation` (its public id), `why` (why it was refused).
enum CancellationAuditEvents {
    static let fields = [("reason", "Reason"), ("cancellation", "Cancellation"), ("request", "Support request"), ("why", "Why")]

    static let requested = AuditAction("cancellation.requested", title: "Cancellation requested", fields: fields) { p in
        "\(p.actor) asked to cancel \(p.subjectOrSomeone)"
    }
    static let applied = AuditAction("cancellation.applied", title: "Cancellation applied", fields: fields) { p in
        "\(p.actor) cancelled \(p.subjectOrSomeone) as requested"
    }
    static let refused = AuditAction("cancellation.refused", title: "Cancellation refused", fields: fields) { p in
        "\(p.actor) refused the cancellation of \(p.subjectOrSomeone)"
    }

    static let all = [requested, applied, refused]
}
