/// What went wrong in the back-office.
enum SupportProblem: Error, Equatable {
    /// No such request, or the person is not staff: the same answer (the back-office is not
    /// shown to anyone else).
    case notFound
    /// Field → message; the form is shown again with what was typed.
    case invalid([String: String])
    /// The request was decided already, or its organization changed so it cannot be applied.
    case conflict(String)
    /// A staff member may not decide this one (their own request).
    case forbidden(String)
    /// A setup link that is unknown, used or expired.
    case linkInvalid
}
