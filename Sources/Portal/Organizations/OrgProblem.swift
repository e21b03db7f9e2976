/// What went wrong in an organization-scoped action.
enum OrgProblem: Error, Equatable {
    /// No such organization or object, or one the user does not belong to: the same answer.
    case notFound
    /// A member without the permission (the message says which).
    case forbidden(String)
    /// Field → message; the form is shown again with what was typed.
    case invalid([String: String])
    /// Someone changed the object since the form was shown, or a request is already open.
    case conflict(String)
    /// Too many wrong passwords or codes lately (a re-authentication): wait this long.
    case throttled(seconds: Int64)
}
