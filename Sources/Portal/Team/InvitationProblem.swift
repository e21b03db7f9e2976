/// What went wrong with an invitation link or an answer to one (outside any organization
/// the person belongs to yet).
enum InvitationProblem: Error, Equatable {
    /// No such invitation, or (addressed by id) not one for the signed-in person.
    case notFound
    /// The invitation was answered, revoked or has expired, or its organization is closed.
    case gone(InvitationState)
    /// Signed in with another address than the invited one.
    case wrongAccount(invited: String, signedIn: String)
    /// The answer cannot be taken (staff account, already a member).
    case refused(String)
    /// Field → message for the sign-up form.
    case invalid([String: String])
    case throttled
}
