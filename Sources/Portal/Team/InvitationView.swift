/// An invitation as its pages show it: the organization, who sent it, and its state now.
struct InvitationView: Sendable {
    let invitation: InvitationRecord
    let org: OrganizationRecord
    let inviterName: String?
    let state: InvitationState
    /// The invited address already has an account (it should log in, not sign up).
    let hasAccount: Bool

    /// Whether it can still be answered.
    var isLive: Bool { state == .pending && org.isActive }
}
