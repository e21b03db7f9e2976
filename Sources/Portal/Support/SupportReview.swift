/// Everything the review page shows about one request, read in one snapshot.
struct SupportReview: Sendable {
    let request: SupportRequestRecord
    let organization: OrganizationRecord?
    /// The requester's account as it is now (nil if it was deleted).
    let requester: UserRecord?
    let changes: [SupportChange]
    /// What else approval does, in words.
    let consequences: [String]
    let history: [SupportHistoryEvent]
    /// The staff member who decided it, if decided.
    let decidedBy: String?
    /// Why approval is impossible now (the request can still be rejected), if it is.
    let approvalBlocked: String?
    /// Whether this staff member may decide it at all (not their own request).
    let isOwnRequest: Bool
}
